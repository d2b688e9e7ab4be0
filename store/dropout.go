package store

import (
	"context"
	"time"
)

// DropoutCase is the ledger (台账) row of a dropout persuasion case.
type DropoutCase struct {
	ID              string    `db:"id" json:"id"`
	WorkflowID      string    `db:"workflow_id" json:"workflow_id"`
	StudentID       string    `db:"student_id" json:"student_id"`
	StudentName     string    `db:"student_name" json:"student_name"`
	UnitID          string    `db:"unit_id" json:"unit_id"`
	UnitCode        string    `db:"unit_code" json:"unit_code"`
	UnitName        string    `db:"unit_name" json:"unit_name"`
	UnitPath        string    `db:"unit_path" json:"unit_path"`
	TeacherID       string    `db:"teacher_id" json:"teacher_id"`
	OpenedBy        string    `db:"opened_by" json:"opened_by"`
	Reason          string    `db:"reason" json:"reason"`
	LastAttendedOn  string    `db:"last_attended_on" json:"last_attended_on"`
	State           string    `db:"state" json:"state" schema:"CaseState.dropout.dropout"`
	Outcome         string    `db:"outcome" json:"outcome,omitempty"`
	OutcomeNote     string    `db:"outcome_note" json:"outcome_note,omitempty"`
	EscalationLevel int       `db:"escalation_level" json:"escalation_level"`
	CreatedAt       time.Time `db:"created_at" json:"created_at"`
	UpdatedAt       time.Time `db:"updated_at" json:"updated_at"`
}

const dropoutCols = `c.id, c.workflow_id, c.student_id, s.name AS student_name, c.unit_id, o.code AS unit_code, o.name AS unit_name,
	c.unit_path, c.teacher_id, c.opened_by, c.reason, c.last_attended_on, c.state, c.outcome, c.outcome_note, c.escalation_level,
	c.created_at, c.updated_at`
const dropoutFrom = ` FROM dropout_cases c JOIN students s ON s.id = c.student_id JOIN org_units o ON o.id = c.unit_id `

// UpsertDropoutCase writes the ledger row of a case (idempotent: activities retry).
func (s *Store) UpsertDropoutCase(ctx context.Context, c DropoutCase) error {
	t := now()
	_, err := s.exec(ctx, s.db, `INSERT INTO dropout_cases (id, workflow_id, student_id, unit_id, unit_path, teacher_id, opened_by, reason,
		last_attended_on, state, outcome, outcome_note, escalation_level, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET teacher_id = excluded.teacher_id, state = excluded.state, outcome = excluded.outcome,
		outcome_note = excluded.outcome_note, escalation_level = excluded.escalation_level, updated_at = excluded.updated_at`,
		c.ID, c.WorkflowID, c.StudentID, c.UnitID, c.UnitPath, c.TeacherID, c.OpenedBy, c.Reason, c.LastAttendedOn, c.State,
		c.Outcome, c.OutcomeNote, c.EscalationLevel, t, t)
	return err
}

// DropoutCaseByID reads one case.
func (s *Store) DropoutCaseByID(ctx context.Context, id string) (DropoutCase, error) {
	var c DropoutCase
	err := s.get(ctx, s.db, &c, `SELECT `+dropoutCols+dropoutFrom+`WHERE c.id = ?`, id)
	return c, err
}

// DropoutCases lists the ledger within scopes (nil: all), optionally narrowed to a unit subtree and a state.
func (s *Store) DropoutCases(ctx context.Context, scopes []string, unitPath, state string) ([]DropoutCase, error) {
	query, args := `SELECT `+dropoutCols+dropoutFrom+`WHERE 1=1`, []any{}
	scope, scopeArgs := s.underAnyPath("c.unit_path", scopes)
	under, underArgs := s.underPath("c.unit_path", unitPath)
	query, args = query+" AND "+scope+" AND "+under, append(append(args, scopeArgs...), underArgs...)
	if state != "" {
		query += " AND c.state = ?"
		args = append(args, state)
	}
	var cs []DropoutCase
	err := s.sel(ctx, s.db, &cs, query+" ORDER BY c.created_at DESC LIMIT 500", args...)
	return cs, err
}

// DropoutAttempt is one persuasion attempt (home visit, phone call, …).
type DropoutAttempt struct {
	ID       string    `db:"id" json:"id"`
	CaseID   string    `db:"case_id" json:"case_id"`
	Method   string    `db:"method" json:"method"`
	Notes    string    `db:"notes" json:"notes"`
	Visitors string    `db:"visitors" json:"visitors"`
	ByUser   string    `db:"by_user" json:"by_user"`
	At       time.Time `db:"at" json:"at"`
}

// InsertDropoutAttempt records an attempt once.
func (s *Store) InsertDropoutAttempt(ctx context.Context, a DropoutAttempt) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO dropout_attempts (id, case_id, method, notes, visitors, by_user, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, a.ID, a.CaseID, a.Method, a.Notes, a.Visitors, a.ByUser, utc(a.At))
	return err
}

// DropoutAttempts lists a case's attempts in order.
func (s *Store) DropoutAttempts(ctx context.Context, caseID string) ([]DropoutAttempt, error) {
	var as []DropoutAttempt
	err := s.sel(ctx, s.db, &as, `SELECT id, case_id, method, notes, visitors, by_user, at FROM dropout_attempts WHERE case_id = ? ORDER BY at, id`, caseID)
	return as, err
}
