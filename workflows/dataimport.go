package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
)

func init() { registerServiceWorkflows(ImportJob) }

// ImportJobInput names the import (its file and options are in the store: a file of many
// megabytes has no place in a workflow's history).
type ImportJobInput struct {
	ImportID string
}

// ImportWorkflowID is the job of an import: one per import, so an upload retried after a lost
// answer cannot run twice.
func ImportWorkflowID(importID string) string { return "import-" + importID }

// importAttempts bounds the tries of an import's job: a failure that outlasts them (the store
// down for half an hour, a bug) marks the import failed instead of leaving it running.
const importAttempts = 30

// ImportJob runs a spreadsheet import (docs/data.md): one activity that reads the file from the
// store, checks every row and applies the good ones in one transaction, heartbeating its
// progress. A worker that dies mid-file is noticed by the missing heartbeat and the activity
// runs again on another, from the file; a retry of an import already applied changes nothing.
// A job that never succeeds marks the import failed.
func ImportJob(ctx workflow.Context, in ImportJobInput) error {
	run := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: importAttempts},
	})
	err := workflow.ExecuteActivity(run, (*activities.Activities).RunImport, in.ImportID).Get(ctx, nil)
	if err == nil {
		return nil
	}
	workflow.GetLogger(ctx).Error("import job gave up", "import", in.ImportID, "error", err)
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).FailImport, in.ImportID, "the import could not be completed; it has been logged").Get(ctx, nil)
}
