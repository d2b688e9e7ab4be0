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

// RoutineRoundInput opens one routine round from the inspectorate's schedule.
type RoutineRoundInput struct {
	ID               string // round-routine-…, from the scheduled time: a retry or a second run finds it
	Term             string
	PlannedOn        string // 2026-10-10, the scheduled day in China
	InspectorateUnit string // the inspectorate's unit code (督导办)
	At               time.Time
}

// RoutineRoundUnits are the units a routine round of the inspectorate visits (DOMAIN.md process 5:
// "every term the bureau inspects township central schools and county schools"): every township
// central school, and every school or kindergarten directly under the bureau (a county school:
// a county high school, a special-education school). Each township's own schools are the
// township's to inspect (its staff plan those rounds), so they are not in it.
func (a *Activities) RoutineRoundUnits(ctx context.Context) ([]store.Unit, error) {
	bureaus, err := a.Store.UnitsByKind(ctx, store.KindBureau, "")
	if err != nil {
		return nil, err
	}
	out, err := a.Store.UnitsByKind(ctx, store.KindTownshipSchool, "")
	if err != nil {
		return nil, err
	}
	for _, kind := range []string{store.KindSchool, store.KindKindergarten} {
		us, err := a.Store.UnitsByKind(ctx, kind, "")
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			for _, b := range bureaus {
				if u.ParentCode == b.Code {
					out = append(out, u)
				}
			}
		}
	}
	return out, nil
}

// OpenRoutineRound writes the routine round the schedule asked for, with its audit entry, once:
// a round of the same id already written is returned as it is.
func (a *Activities) OpenRoutineRound(ctx context.Context, in RoutineRoundInput) (string, error) {
	if _, err := a.Store.InspectionRoundByID(ctx, in.ID); err == nil {
		return in.ID, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	home, err := a.Store.UnitByCode(ctx, in.InspectorateUnit)
	if err != nil {
		return "", nonRetryable(fmt.Errorf("routine round: the inspectorate %q (JIAOFU_INSPECTORATE_UNIT): %w", in.InspectorateUnit, err))
	}
	units, err := a.RoutineRoundUnits(ctx)
	if err != nil {
		return "", err
	}
	if len(units) == 0 {
		return "", nil // nothing to inspect yet (no township central school on record)
	}
	at := in.At
	if at.IsZero() {
		at = time.Now()
	}
	r := store.InspectionRound{ID: in.ID, Term: in.Term, Kind: casework.RoundRoutine, PlannedOn: in.PlannedOn, UnitID: home.ID,
		UnitPath: home.Path, ReviewerRole: casework.RoleInspector, State: casework.RoundOpen, CreatedBy: access.System.UserID,
		CreatedAt: at, Units: units}
	if err := a.Store.CreateInspectionRound(ctx, r); err != nil {
		if _, again := a.Store.InspectionRoundByID(ctx, in.ID); again == nil {
			return in.ID, nil // written by a concurrent attempt
		}
		return "", err
	}
	codes := make([]string, len(units))
	for i, u := range units {
		codes[i] = u.Code
	}
	return in.ID, a.audit(ctx, Audit{Actor: access.System, Action: "inspection.round_planned", Process: casework.ProcessInspection,
		CaseID: r.ID, After: map[string]any{"term": r.Term, "kind": r.Kind, "planned_on": r.PlannedOn, "units": codes,
			"unit": home.Code, "schedule": true}, At: at}, "")
}

// TermOf is the school term an instant falls in, China time: autumn (…-1) from August to January,
// spring (…-2) from February to July.
func TermOf(at time.Time) string {
	t := at.In(calendar.CST)
	y, m := t.Year(), t.Month()
	switch {
	case m >= time.August:
		return fmt.Sprintf("%d-%d-1", y, y+1)
	case m >= time.February:
		return fmt.Sprintf("%d-%d-2", y-1, y)
	default:
		return fmt.Sprintf("%d-%d-1", y-1, y)
	}
}
