package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// PlanTaskRecord is a plan task as its case keeps it (plain: activity arguments cross the wire
// as JSON). The list's fields (indicators, description, sections) are written by the API when
// the task is recorded and never change; the case moves the rest.
type PlanTaskRecord struct {
	ID           string
	PlanID       string
	LeadUnit     string   // the lead section's code (牵头股室)
	Cooperating  []string // the cooperating sections' codes (配合股室)
	Title        string   // a short name for task titles and escalations
	DueAt        time.Time
	State        string
	Attempts     int
	Summary      string
	EvidenceNote string
	ReviewNote   string
	ClosedAt     *time.Time
}

// OpenPlanTaskInput starts a recorded task's case.
type OpenPlanTaskInput struct {
	TaskID string
	At     time.Time
}

// OpenPlanTask marks a recorded task in progress (its case has started) and puts it on record;
// a task already past opening is left as it is.
func (a *Activities) OpenPlanTask(ctx context.Context, in OpenPlanTaskInput) error {
	t, err := a.Store.PlanTaskByID(ctx, in.TaskID)
	if err != nil {
		return nonRetryable(fmt.Errorf("plan task %s: %w", in.TaskID, err))
	}
	if t.State != casework.PlanTaskOpening {
		return nil
	}
	t.State = casework.PlanTaskInProgress
	return a.Store.SetPlanTask(ctx, t, entry(ctx, Audit{Actor: access.System, Action: "plan.task_opened", Process: casework.ProcessPlan,
		CaseID: t.ID, After: map[string]any{"state": t.State, "lead_unit": t.LeadUnit, "due_at": t.DueAt}, At: in.At}, ""))
}

// PlanTaskStep moves a task's row and puts the step on record.
type PlanTaskStep struct {
	Task  PlanTaskRecord
	Audit Audit
}

// SetPlanTask applies a step of a task's case to its row, with its audit entry.
func (a *Activities) SetPlanTask(ctx context.Context, in PlanTaskStep) error {
	t := in.Task
	return a.Store.SetPlanTask(ctx, store.PlanTask{ID: t.ID, State: t.State, Attempts: t.Attempts, Summary: t.Summary,
		EvidenceNote: t.EvidenceNote, ReviewNote: t.ReviewNote, DueAt: t.DueAt, ClosedAt: t.ClosedAt}, entry(ctx, in.Audit, ""))
}

// DutyUnitsInput asks which units a period's check looks at (Terms: a term ends with the month).
type DutyUnitsInput struct {
	Terms bool
}

// DutyUnits lists the units a period's check looks at: those owed a 包保 contact, and every school
// and kindergarten when a term ends.
func (a *Activities) DutyUnits(ctx context.Context, in DutyUnitsInput) ([]string, error) {
	return a.Store.DutyUnits(ctx, in.Terms)
}

// DutyShortfallInput asks what a unit misses of a month's contact and (TermEnd set) a term's
// school duties with their quotas.
type DutyShortfallInput struct {
	UnitCode             string
	MonthStart, MonthEnd time.Time
	TermStart, TermEnd   time.Time
	Quotas               map[string]int // school duty kind → how many a term
}

// DutyShortfall is what a unit misses.
type DutyShortfall struct {
	// Responsible answers for the unit on the 包保 chain and owes it a contact a month ("": nobody).
	Responsible     string
	ResponsibleName string
	ContactMissing  bool
	// Missing are the school duty kinds below their quota this term, in SchoolDutyKinds order.
	Missing []string
}

// DutyShortfall reads a unit's contact of the month (by the person who answers for it now) and,
// when a term ends, its school duties of the term against their quotas.
func (a *Activities) DutyShortfall(ctx context.Context, in DutyShortfallInput) (DutyShortfall, error) {
	var out DutyShortfall
	u, err := a.Store.UnitByCode(ctx, in.UnitCode)
	if err != nil {
		return out, nonRetryable(fmt.Errorf("unit %q: %w", in.UnitCode, err))
	}
	if slices.Contains(store.ContactUnitKinds, u.Kind) {
		who, err := a.Store.Responsible(ctx, store.SubjectUnit, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		if who != "" {
			out.Responsible = who
			if p, err := a.Store.UserByID(ctx, who); err == nil {
				out.ResponsibleName = p.DisplayName
			}
			cs, err := a.Store.Contacts(ctx, store.ContactFilter{UnitPath: u.Path, UserID: who, From: in.MonthStart, To: in.MonthEnd})
			if err != nil {
				return out, err
			}
			out.ContactMissing = !slices.ContainsFunc(cs, func(c store.Contact) bool { return c.UnitID == u.ID })
		}
	}
	if !in.TermEnd.IsZero() && (u.Kind == store.KindSchool || u.Kind == store.KindKindergarten) {
		rs, err := a.Store.SchoolDutyRecords(ctx, u.ID, "", in.TermStart, in.TermEnd)
		if err != nil {
			return out, err
		}
		for _, k := range casework.SchoolDutyKinds {
			n := 0
			for _, r := range rs {
				if r.Kind == k.Name {
					n++
				}
			}
			if n < in.Quotas[k.Name] {
				out.Missing = append(out.Missing, k.Name)
			}
		}
	}
	return out, nil
}
