package store

import (
	"context"
	"time"

	"jiaofu/casework"
)

// IndicatorStudent is a student as the indicators count them.
type IndicatorStudent struct {
	ID                string `db:"id"`
	IDCardNo          string `db:"id_card_no"`
	TownshipCode      string `db:"township_code"`
	UnitKind          string `db:"unit_kind"`
	Grade             int    `db:"grade"`
	PovertyRegistered bool   `db:"poverty_registered"`
}

// IndicatorCase is a dropout case as the retention indicator counts it.
type IndicatorCase struct {
	StudentID string    `db:"student_id"`
	State     string    `db:"state"`
	Outcome   string    `db:"outcome"`
	CreatedAt time.Time `db:"created_at"`
}

// IndicatorInputs are the records the indicators are computed from (dataio.Indicators).
type IndicatorInputs struct {
	Students []IndicatorStudent
	Roll     []RollChild
	Covered  map[string]bool // students with an application of the term their school approved
	Cases    []IndicatorCase
	Units    []Unit // the township central schools, for names
}

// IndicatorInputsOf reads the county's records for a term.
func (s *Store) IndicatorInputsOf(ctx context.Context, term string) (IndicatorInputs, error) {
	var in IndicatorInputs
	if err := s.sel(ctx, s.db, &in.Students, `SELECT s.id, s.id_card_no, o.township_code, o.kind AS unit_kind, s.grade, s.poverty_registered
		FROM students s JOIN org_units o ON o.id = s.unit_id WHERE s.enrolled = ?`, true); err != nil {
		return in, err
	}
	if err := s.sel(ctx, s.db, &in.Roll, `SELECT id_card_no, name, sex, birth_date, township_code, village, guardian FROM household_roll`); err != nil {
		return in, err
	}
	var covered []string
	if err := s.sel(ctx, s.db, &covered, `SELECT DISTINCT student_id FROM subsidy_applications WHERE term = ? AND state IN (?, ?, ?, ?)`,
		term, casework.AppReviewed, casework.AppInPublicity, casework.AppSignedOff, casework.AppDisbursed); err != nil {
		return in, err
	}
	in.Covered = map[string]bool{}
	for _, id := range covered {
		in.Covered[id] = true
	}
	if err := s.sel(ctx, s.db, &in.Cases, `SELECT student_id, state, outcome, created_at FROM dropout_cases`); err != nil {
		return in, err
	}
	var err error
	in.Units, err = s.UnitsByKind(ctx, KindTownshipSchool, "")
	return in, err
}
