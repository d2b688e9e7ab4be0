// Package activities holds every side effect jiaofu's workflows take: projecting human tasks
// into the store, computing deadlines on the holiday calendar, firing escalation rungs, the audit
// trail, and each process's records. Every write is idempotent, because activities retry.
package activities

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"jiaofu/access"
	"jiaofu/store"
)

// Activities carries the dependencies every activity needs; it is registered as one instance.
type Activities struct {
	Store *store.Store
	// AuditKey signs the audit trail's checkpoints (auditkey.Open: a file outside the database).
	AuditKey ed25519.PrivateKey
}

// Audit is what a workflow step puts on record.
type Audit struct {
	Actor   access.Actor
	Role    string
	Action  string
	Process string
	CaseID  string
	Before  any
	After   any
	At      time.Time
}

// RecordAudit appends to the audit trail; the event key is the activity's identity, so a retry
// does not write twice.
func (a *Activities) RecordAudit(ctx context.Context, in Audit) error {
	return a.audit(ctx, in, "")
}

func (a *Activities) audit(ctx context.Context, in Audit, suffix string) error {
	return a.Store.Append(ctx, entry(ctx, in, suffix))
}

// entry is the audit entry of in, for a store write that appends it in its own transaction.
func entry(ctx context.Context, in Audit, suffix string) store.AuditEntry {
	key := eventKey(ctx) + suffix
	before, after := "{}", "{}"
	if in.Before != nil {
		before = mustJSON(in.Before)
	}
	if in.After != nil {
		after = mustJSON(in.After)
	}
	unit := ""
	for _, r := range in.Actor.Roles {
		if r.Role == in.Role {
			unit = r.UnitCode
			break
		}
	}
	return store.AuditEntry{EventKey: key, At: in.At, ActorID: in.Actor.UserID, ActorName: in.Actor.DisplayName,
		Role: in.Role, UnitCode: unit, Action: in.Action, Process: in.Process, CaseID: in.CaseID, Before: before, After: after}
}

// eventKey identifies one activity execution across its retries. A local activity's id is
// counted apart from the run's activity ids (both start at 1), so its key carries "local-": an
// entry written by one must never be taken for the retry of a regular activity that shares its
// number, and dropped. Keys of regular activities are as they always were.
//
// A local activity's number is the workflow's own count of the local activities it called
// (WithLocalCall, set by the worker's interceptor), not the SDK's id: the SDK retries a failed
// local activity in place while the backoff is short, but after a longer one (beyond the
// workflow task timeout) it waits on a timer and schedules the activity again under a new id —
// and an attempt that had put its entry on record before failing would have it written again.
// The two numbers are the same until such a retry (docs/reliability.md, Limits).
func eventKey(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return store.NewID("ev")
	}
	info := activity.GetInfo(ctx)
	if info.IsLocalActivity {
		id := info.ActivityID
		if n, ok := ctx.Value(localCallKey{}).(int64); ok {
			id = strconv.FormatInt(n, 10)
		}
		return fmt.Sprintf("%s/%s/local-%s", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, id)
	}
	return fmt.Sprintf("%s/%s/%s", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(b)
}

// nonRetryable marks errors that no retry can fix (bad references in the input).
func nonRetryable(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "not_found", err)
	}
	return err
}

type localCallKey struct{}

// WithLocalCall marks ctx as the local activity its workflow run called n-th (counting from 1, in
// the order the workflow called them, retries not counted): the key of its audit entries.
func WithLocalCall(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, localCallKey{}, n)
}
