package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// GrantRecord is a hardship grant's row as its workflow keeps it (plain, because store.Grant
// hides its unit path, tiers and approvers from JSON, and activity arguments cross the wire as
// JSON).
type GrantRecord struct {
	ID           string
	StudentID    string
	UnitID       string
	UnitCode     string // the student's school
	UnitPath     string
	AmountFen    int64
	Reason       string
	HardshipKind string
	SchoolYear   string
	Tiers        []string // the approving roles, in order
	State        string
	ApplicantID  string
	VerifierID   string
	Approvers    []string // who approved each tier so far, in order
	Note         string
	CreatedAt    time.Time
	ApprovedAt   *time.Time
	ClosedAt     *time.Time
}

func (g GrantRecord) row() store.Grant {
	return store.Grant{ID: g.ID, StudentID: g.StudentID, UnitID: g.UnitID, UnitCode: g.UnitCode, UnitPath: g.UnitPath, AmountFen: g.AmountFen,
		Reason: g.Reason, HardshipKind: g.HardshipKind, SchoolYear: g.SchoolYear, Tiers: strings.Join(g.Tiers, ","), State: g.State,
		ApplicantID: g.ApplicantID, VerifierID: g.VerifierID, Approvers: strings.Join(g.Approvers, ","), Note: g.Note, CreatedAt: g.CreatedAt,
		ApprovedAt: g.ApprovedAt, ClosedAt: g.ClosedAt}
}

// OpenGrantInput records a new grant.
type OpenGrantInput struct {
	Grant GrantRecord // UnitCode set; the unit's id and path are found here
	By    access.Actor
	Role  string
	At    time.Time
}

// OpenGrant finds the grant's school and writes the grant's row (verifying) with the
// application's audit entry.
func (a *Activities) OpenGrant(ctx context.Context, in OpenGrantInput) (GrantRecord, error) {
	g := in.Grant
	u, err := a.Store.UnitByCode(ctx, g.UnitCode)
	if err != nil {
		return g, nonRetryable(fmt.Errorf("grant %s unit %q: %w", g.ID, g.UnitCode, err))
	}
	g.UnitID, g.UnitPath, g.State = u.ID, u.Path, casework.GrantVerifying
	return g, a.Store.SetGrant(ctx, g.row(), entry(ctx, Audit{Actor: in.By, Role: in.Role, Action: "hardship.applied", Process: casework.ProcessHardship,
		CaseID: g.ID, After: map[string]any{"student_id": g.StudentID, "amount_fen": g.AmountFen, "hardship_kind": g.HardshipKind,
			"reason": g.Reason, "tiers": g.Tiers, "state": g.State}, At: in.At}, ""))
}

// GrantStep moves a grant's row and puts the step on record.
type GrantStep struct {
	Grant GrantRecord
	Audit Audit
}

// SetGrant applies a step of a grant's workflow to its row.
func (a *Activities) SetGrant(ctx context.Context, in GrantStep) error {
	return a.Store.SetGrant(ctx, in.Grant.row(), entry(ctx, in.Audit, ""))
}

// ReleaseGrant ends a grant that will not be paid (rejected, withdrawn, expired): the reservation
// it may hold goes back to the fund with the step's row and audit entry.
func (a *Activities) ReleaseGrant(ctx context.Context, in GrantStep) error {
	return a.Store.ReleaseGrant(ctx, in.Grant.row(), entry(ctx, in.Audit, ""))
}

// ReserveGrantInput is the final approval of a grant by By, which reserves its amount.
type ReserveGrantInput struct {
	Grant GrantRecord // with the final approver among Approvers
	By    access.Actor
	Role  string
	At    time.Time
}

// Reservation is what ReserveGrant did: reserved, or refused with the available balance it found.
type Reservation struct {
	Reserved     bool
	AvailableFen int64
}

// ReserveGrant reserves the grant's amount in the fund at its final approval (store.ReserveGrant:
// one conditional write with the approval's audit entry), or finds the fund short: then the
// grant is on record as insufficient_funds and nothing is reserved.
func (a *Activities) ReserveGrant(ctx context.Context, in ReserveGrantInput) (Reservation, error) {
	g := in.Grant
	after := func(state string) map[string]any {
		return map[string]any{"amount_fen": g.AmountFen, "tier": len(g.Approvers), "role": in.Role, "state": state}
	}
	// Two keys: a retry after the fund changed writes the entry of what it did then.
	approved := entry(ctx, Audit{Actor: in.By, Role: in.Role, Action: "hardship.approved", Process: casework.ProcessHardship, CaseID: g.ID,
		After: after(casework.GrantApproved), At: in.At}, "/reserved")
	short := entry(ctx, Audit{Actor: in.By, Role: in.Role, Action: "hardship.insufficient_funds", Process: casework.ProcessHardship, CaseID: g.ID,
		After: after(casework.GrantInsufficientFunds), At: in.At}, "/short")
	r, err := a.Store.ReserveGrant(ctx, g.row(), approved, short)
	return Reservation{Reserved: r.Reserved, AvailableFen: r.AvailableFen}, err
}

// DisburseGrantInput is the funds center's payment of an approved grant.
type DisburseGrantInput struct {
	Grant     GrantRecord // in state disbursed, closed
	Channel   string
	Reference string
	By        access.Actor
	Role      string
	At        time.Time
}

// DisburseGrant records the grant's payment exactly once (store.DisburseGrant): the reservation
// is spent and the ledger pays the amount out, with the audit entry.
func (a *Activities) DisburseGrant(ctx context.Context, in DisburseGrantInput) (store.HardshipDisbursement, error) {
	g := in.Grant
	d, err := a.Store.DisburseGrant(ctx, store.HardshipDisbursement{GrantID: g.ID, AmountFen: g.AmountFen, Channel: in.Channel, Reference: in.Reference,
		DisbursedBy: in.By.UserID, DisbursedAt: in.At}, g.row(), entry(ctx, Audit{Actor: in.By, Role: in.Role, Action: "hardship.disbursed",
		Process: casework.ProcessHardship, CaseID: g.ID, After: map[string]any{"amount_fen": g.AmountFen, "channel": in.Channel,
			"reference": in.Reference, "state": casework.GrantDisbursed}, At: in.At}, ""))
	if errors.Is(err, store.ErrConflict) {
		// A grant with no reservation to pay from: no retry can change that.
		return d, temporal.NewNonRetryableApplicationError(err.Error(), "conflict", err)
	}
	return d, err
}

// HardshipDueInput asks when a period started From ends on the installation's calendar.
type HardshipDueInput struct {
	From   time.Time
	Period calendar.Spec
}

// HardshipDue counts a grant's payment deadline or reservation expiry on the calendar.
func (a *Activities) HardshipDue(ctx context.Context, in HardshipDueInput) (time.Time, error) {
	cal, err := a.Store.Calendar(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return in.Period.Due(cal, in.From), nil
}
