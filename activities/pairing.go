package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// PairingShortfallInput asks which pairings of a school miss a duty of the periods: the month
// [MonthStart, MonthEnd) owes measure and activity; the term [TermStart, TermEnd), when it ends
// with this month (TermEnd set), owes plan, home_visit, good_deed and summary. A pairing owes a
// period that started after it was made only.
type PairingShortfallInput struct {
	SchoolCode           string
	MonthStart, MonthEnd time.Time
	TermStart, TermEnd   time.Time
}

// PairingShort is one pairing with the duties it misses.
type PairingShort struct {
	PairingID string
	TeacherID string
	Teacher   string
	Student   string
	Missing   []string
}

// PairingShortfall is a school's pairings against the periods' duties.
type PairingShortfall struct {
	Owing int            // pairings that owe a duty of the periods
	Short []PairingShort // those with one missing, in pairing order
}

// PairingShortfalls counts a school's active pairings against the duties of the periods.
func (a *Activities) PairingShortfalls(ctx context.Context, in PairingShortfallInput) (PairingShortfall, error) {
	unit, err := a.Store.UnitByCode(ctx, in.SchoolCode)
	if err != nil {
		return PairingShortfall{}, nonRetryable(fmt.Errorf("school %q: %w", in.SchoolCode, err))
	}
	ps, err := a.Store.Pairings(ctx, store.PairingFilter{UnitID: unit.ID, State: casework.PairingActive})
	if err != nil {
		return PairingShortfall{}, err
	}
	from := in.MonthStart
	if !in.TermEnd.IsZero() {
		from = in.TermStart
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	done, err := a.Store.PairingDone(ctx, ids, from, in.MonthEnd)
	if err != nil {
		return PairingShortfall{}, err
	}
	monthDone, err := a.Store.PairingDone(ctx, ids, in.MonthStart, in.MonthEnd)
	if err != nil {
		return PairingShortfall{}, err
	}
	var out PairingShortfall
	for _, p := range ps {
		var missing []string
		if !in.TermEnd.IsZero() && !p.CreatedAt.After(in.TermStart) {
			for _, k := range casework.TermDuties {
				if !slices.Contains(done[p.ID], k) {
					missing = append(missing, k)
				}
			}
		}
		owes := len(missing) > 0 || (!in.TermEnd.IsZero() && !p.CreatedAt.After(in.TermStart))
		if !p.CreatedAt.After(in.MonthStart) {
			owes = true
			for _, k := range casework.MonthDuties {
				if !slices.Contains(monthDone[p.ID], k) {
					missing = append(missing, k)
				}
			}
		}
		if !owes {
			continue
		}
		out.Owing++
		if len(missing) > 0 {
			out.Short = append(out.Short, PairingShort{PairingID: p.ID, TeacherID: p.TeacherID, Teacher: p.TeacherName,
				Student: p.StudentName, Missing: missing})
		}
	}
	return out, nil
}

// PairingSchools lists the schools with active pairings, for the period's sweep.
func (a *Activities) PairingSchools(ctx context.Context) ([]string, error) {
	return a.Store.PairingSchools(ctx)
}
