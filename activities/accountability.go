package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"jiaofu/access"
	"jiaofu/store"
)

// HandlingDoneInput records that an accountability decision's organisational handling (组织处理)
// was carried out, as the supervision office said on the handling's task.
type HandlingDoneInput struct {
	RecordID string
	Process  string // the record's case, for the audit entry on its timeline
	CaseID   string
	Note     string // what was done
	By       access.Actor
	Role     string
	At       time.Time
}

// HandlingDone writes the record's handling as carried out with its audit entry. A retry finds
// it written and is done; a record with no handling waiting is a fault of the caller's.
func (a *Activities) HandlingDone(ctx context.Context, in HandlingDoneInput) error {
	e := entry(ctx, Audit{Actor: in.By, Role: in.Role, Action: "accountability.handling_done", Process: in.Process, CaseID: in.CaseID,
		Before: map[string]any{"accountability_id": in.RecordID}, After: map[string]any{"accountability_id": in.RecordID, "note": in.Note},
		At: in.At}, "")
	_, err := a.Store.HandlingDone(ctx, in.RecordID, in.Note, in.At, e)
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	r, rerr := a.Store.AccountabilityByID(ctx, in.RecordID)
	if rerr != nil {
		return rerr
	}
	if r.HandlingDoneAt != nil {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("accountability record %s has no organisational handling waiting", in.RecordID),
		"conflict", err)
}
