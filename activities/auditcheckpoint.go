package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// SignAuditCheckpoint signs a checkpoint of the audit trail's head with the service's key (the
// daily schedule's step). A retry after a lost answer signs one more checkpoint of the same head:
// harmless, each is true.
func (a *Activities) SignAuditCheckpoint(ctx context.Context) error {
	cp, err := a.Store.SignAuditCheckpoint(ctx, a.AuditKey)
	if err != nil {
		return err
	}
	activity.GetLogger(ctx).Info("audit checkpoint signed", "seq", cp.Seq, "hash", cp.Hash)
	return nil
}
