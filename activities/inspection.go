package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// FindingRecord is a finding's row as the workflow keeps it (plain, because store.Finding hides
// its ids and paths from JSON, and activity arguments cross the wire as JSON).
type FindingRecord struct {
	ID         string
	RoundID    string
	WorkflowID string
	UnitID     string
	UnitCode   string
	// UnitName names the unit in task titles and escalations (empty in results recorded before
	// it was kept: those name the unit by its code, as they did).
	UnitName      string `json:",omitempty"`
	UnitPath      string
	Area          string
	Severity      string
	Description   string
	ResponsibleID string
	RectifyBy     time.Time
	State         string
	Attempts      int
	Summary       string
	EvidenceNote  string
	ReviewNote    string
	CreatedBy     string
	ClosedAt      *time.Time
}

func (f FindingRecord) row() store.Finding {
	return store.Finding{ID: f.ID, RoundID: f.RoundID, WorkflowID: f.WorkflowID, UnitID: f.UnitID, UnitPath: f.UnitPath, Area: f.Area,
		Severity: f.Severity, Description: f.Description, ResponsibleID: f.ResponsibleID, RectifyBy: f.RectifyBy, State: f.State,
		Attempts: f.Attempts, Summary: f.Summary, EvidenceNote: f.EvidenceNote, ReviewNote: f.ReviewNote, CreatedBy: f.CreatedBy,
		ClosedAt: f.ClosedAt}
}

// OpenFindingInput records a new finding.
type OpenFindingInput struct {
	Finding FindingRecord // UnitCode set; the unit's id and path, and the responsible person, are found here
	By      access.Actor
	Role    string
	At      time.Time
}

// OpenFinding finds the finding's unit and who answers for it on the 包保 chain (the section
// head or bureau leader who 包保 the unit; "" when nobody is set), and writes the finding's row
// and its audit entry.
func (a *Activities) OpenFinding(ctx context.Context, in OpenFindingInput) (FindingRecord, error) {
	f := in.Finding
	u, err := a.Store.UnitByCode(ctx, f.UnitCode)
	if err != nil {
		return f, nonRetryable(fmt.Errorf("finding %s unit %q: %w", f.ID, f.UnitCode, err))
	}
	f.UnitID, f.UnitPath, f.UnitName = u.ID, u.Path, u.Name
	if f.ResponsibleID, err = a.Store.ResponsibleForUnit(ctx, u.ID); errors.Is(err, store.ErrNotFound) {
		f.ResponsibleID, err = "", nil
	}
	if err != nil {
		return f, err
	}
	f.State = casework.FindingRectifying
	if err := a.Store.UpsertFinding(ctx, f.row()); err != nil {
		return f, err
	}
	return f, a.audit(ctx, Audit{Actor: in.By, Role: in.Role, Action: "inspection.finding_recorded", Process: casework.ProcessInspection,
		CaseID: f.ID, After: map[string]any{"round_id": f.RoundID, "unit": f.UnitCode, "area": f.Area, "severity": f.Severity,
			"description": f.Description, "responsible_id": f.ResponsibleID, "rectify_by": f.RectifyBy}, At: in.At}, "")
}

// FindingStep moves a finding's row and puts the step on record.
type FindingStep struct {
	Finding FindingRecord
	Audit   Audit
}

// SetFinding applies a step of a finding's workflow to its row.
func (a *Activities) SetFinding(ctx context.Context, in FindingStep) error {
	if err := a.Store.UpsertFinding(ctx, in.Finding.row()); err != nil {
		return err
	}
	return a.audit(ctx, in.Audit, "")
}

// RectificationDueInput asks when a period started From ends on the installation's calendar.
type RectificationDueInput struct {
	From   time.Time
	Period calendar.Spec
}

// RectificationDue counts a new rectification deadline (after a rejection) on the calendar.
func (a *Activities) RectificationDue(ctx context.Context, in RectificationDueInput) (time.Time, error) {
	cal, err := a.Store.Calendar(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return in.Period.Due(cal, in.From), nil
}
