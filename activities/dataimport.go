package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"jiaofu/dataio"
	"jiaofu/store"
)

// RunImport checks and applies an uploaded spreadsheet (dataio.Run), heartbeating its progress:
// a worker that dies mid-file stops heartbeating, and the retry reads the file again from the
// store. Applying is one transaction with the import's report, so a retry never writes twice.
func (a *Activities) RunImport(ctx context.Context, importID string) error {
	return dataio.Run(ctx, a.Store, importID, func(p store.ImportProgress) { activity.RecordHeartbeat(ctx, p) })
}

// FailImport marks an import that its job gave up on as failed, with the reason.
func (a *Activities) FailImport(ctx context.Context, importID, reason string) error {
	return a.Store.FailImport(ctx, importID, reason)
}
