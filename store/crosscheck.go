package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/casework"
)

// Suspect is a child the cross-check (四查三比对) flagged in a township for a term, with why.
type Suspect struct {
	ID           string     `db:"id" json:"id"`
	TownshipCode string     `db:"township_code" json:"township_code"`
	Term         string     `db:"term" json:"term"`
	PersonKey    string     `db:"person_key" json:"-"`
	IDCardNo     string     `db:"id_card_no" json:"id_card_no"`
	StudentID    string     `db:"student_id" json:"student_id,omitempty"`
	Name         string     `db:"name" json:"name"`
	BirthDate    string     `db:"birth_date" json:"birth_date"`
	Village      string     `db:"village" json:"village,omitempty"`
	UnitCode     string     `db:"unit_code" json:"unit_code"`
	UnitPath     string     `db:"unit_path" json:"-"`
	Reasons      string     `db:"reasons" json:"reasons"`
	State        string     `db:"state" json:"state"`
	ClearReason  string     `db:"clear_reason" json:"clear_reason,omitempty"`
	Note         string     `db:"note" json:"note,omitempty"`
	CaseID       string     `db:"case_id" json:"case_id,omitempty"`
	DecidedBy    string     `db:"decided_by" json:"decided_by,omitempty"`
	DecidedAt    *time.Time `db:"decided_at" json:"decided_at,omitempty"`
	CheckID      string     `db:"check_id" json:"check_id"`
	FoundAt      time.Time  `db:"found_at" json:"found_at"`
}

// Suspect states, fixed names that clients use.
const (
	SuspectOpen       = "open"        // to be checked door to door
	SuspectCleared    = "cleared"     // explained (moved away, studying outside the county, deceased)
	SuspectCaseOpened = "case_opened" // turned into a dropout case
	SuspectGone       = "gone"        // a later run no longer finds it (registered since, back in school)
)

// SuspectStates lists them, for the list filter.
var SuspectStates = []string{SuspectOpen, SuspectCleared, SuspectCaseOpened, SuspectGone}

const suspectCols = `id, township_code, term, person_key, id_card_no, student_id, name, birth_date, village, unit_code, unit_path, reasons,
	state, clear_reason, note, case_id, decided_by, decided_at, check_id, found_at`

// CrossCheckInput is what a township's cross-check compares: its roll, the students of its
// schools, the students the roll and the registry name wherever they study, its registry
// members, the term's attendance and the open dropout cases.
type CrossCheckInput struct {
	Roll        []RollChild
	Students    []Student // of the township's schools
	ByIDCard    map[string]Student
	Poor        []PovertyMember
	Attendance  map[string]Attendance // by student id
	OpenDropout map[string]bool       // student ids with a case not closed
}

// CrossCheckInput reads a township's data for a term.
func (s *Store) CrossCheckInputOf(ctx context.Context, townshipCode, term string) (CrossCheckInput, error) {
	var in CrossCheckInput
	if err := s.sel(ctx, s.db, &in.Roll, `SELECT id_card_no, name, sex, birth_date, township_code, village, guardian FROM household_roll
		WHERE township_code = ? ORDER BY village, name`, townshipCode); err != nil {
		return in, err
	}
	if err := s.sel(ctx, s.db, &in.Poor, `SELECT id_card_no, household_id, name, relation, township_code, village FROM poverty_members
		WHERE township_code = ? ORDER BY household_id, id_card_no`, townshipCode); err != nil {
		return in, err
	}
	if err := s.sel(ctx, s.db, &in.Students, `SELECT `+studentCols+studentFrom+`WHERE o.township_code = ? AND s.enrolled = ?
		ORDER BY o.path, s.grade, s.class, s.name`, townshipCode, true); err != nil {
		return in, err
	}
	var ids []string
	for _, c := range in.Roll {
		ids = append(ids, c.IDCardNo)
	}
	for _, m := range in.Poor {
		ids = append(ids, m.IDCardNo)
	}
	var err error
	if _, in.ByIDCard, err = s.StudentsByNumber(ctx, nil, ids); err != nil {
		return in, err
	}
	sids := make([]string, len(in.Students))
	for i, st := range in.Students {
		sids[i] = st.ID
	}
	if in.Attendance, err = s.AttendanceOf(ctx, sids, term); err != nil {
		return in, err
	}
	open, err := selectIn[string](ctx, s, `SELECT DISTINCT student_id FROM dropout_cases WHERE student_id IN (%s) AND state <> ?`, sids, casework.DropoutClosed)
	in.OpenDropout = map[string]bool{}
	for _, id := range open {
		in.OpenDropout[id] = true
	}
	return in, err
}

// CrossCheckRun is one run of a township's cross-check.
type CrossCheckRun struct {
	ID           string    `db:"id" json:"id"`
	TownshipCode string    `db:"township_code" json:"township_code"`
	Term         string    `db:"term" json:"term"`
	RunBy        string    `db:"run_by" json:"run_by"`
	RunAt        time.Time `db:"run_at" json:"run_at"`
	CountsJSON   string    `db:"counts_json" json:"-"`
}

// RecordCrossCheck writes a run and its suspects in one transaction with its audit entry: a
// suspect found before keeps its id, and its decision when it has one (an open one takes the new
// reasons); an open suspect this run no longer finds is gone.
func (s *Store) RecordCrossCheck(ctx context.Context, run CrossCheckRun, found []Suspect, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		run.RunAt = now()
		if _, err := s.exec(ctx, tx, `INSERT INTO cross_checks (id, township_code, term, run_by, run_at, counts_json) VALUES (?, ?, ?, ?, ?, ?)`,
			run.ID, run.TownshipCode, run.Term, run.RunBy, run.RunAt, run.CountsJSON); err != nil {
			return err
		}
		for _, sp := range found {
			if _, err := s.exec(ctx, tx, `INSERT INTO cross_check_suspects (id, township_code, term, person_key, id_card_no, student_id, name, birth_date,
				village, unit_code, unit_path, reasons, state, check_id, found_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (township_code, term, person_key) DO UPDATE SET reasons = excluded.reasons, check_id = excluded.check_id,
				student_id = excluded.student_id, unit_code = excluded.unit_code, unit_path = excluded.unit_path,
				state = CASE WHEN cross_check_suspects.state = 'gone' THEN 'open' ELSE cross_check_suspects.state END
				WHERE cross_check_suspects.state IN ('open', 'gone')`,
				NewID("sus"), run.TownshipCode, run.Term, sp.PersonKey, sp.IDCardNo, sp.StudentID, sp.Name, sp.BirthDate, sp.Village,
				sp.UnitCode, sp.UnitPath, sp.Reasons, SuspectOpen, run.ID, run.RunAt); err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, tx, `UPDATE cross_check_suspects SET state = ? WHERE township_code = ? AND term = ? AND state = ? AND check_id <> ?`,
			SuspectGone, run.TownshipCode, run.Term, SuspectOpen, run.ID); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// SuspectFilter narrows the suspects list.
type SuspectFilter struct {
	Scopes       []string
	TownshipCode string
	Term         string
	State        string
}

// Suspects lists suspects in scope.
func (s *Store) Suspects(ctx context.Context, f SuspectFilter) ([]Suspect, error) {
	scope, args := s.underAnyPath("unit_path", f.Scopes)
	query := `SELECT ` + suspectCols + ` FROM cross_check_suspects WHERE ` + scope
	for _, c := range []struct{ col, v string }{{"township_code", f.TownshipCode}, {"term", f.Term}, {"state", f.State}} {
		if c.v != "" {
			query += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	var out []Suspect
	err := s.sel(ctx, s.db, &out, query+` ORDER BY township_code, term, unit_path, village, name`, args...)
	return out, err
}

// SuspectByID reads one suspect.
func (s *Store) SuspectByID(ctx context.Context, id string) (Suspect, error) {
	var sp Suspect
	err := s.get(ctx, s.db, &sp, `SELECT `+suspectCols+` FROM cross_check_suspects WHERE id = ?`, id)
	return sp, err
}

// DecideSuspect records a suspect's decision (cleared with a reason, or a dropout case opened)
// with its audit entry; a suspect decided already answers ErrConflict.
func (s *Store) DecideSuspect(ctx context.Context, id, state, clearReason, note, caseID, by string, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE cross_check_suspects SET state = ?, clear_reason = ?, note = ?, case_id = ?, decided_by = ?, decided_at = ?
			WHERE id = ? AND state = ?`, state, clearReason, note, caseID, by, now(), id, SuspectOpen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		return s.appendTx(ctx, tx, entry)
	})
}
