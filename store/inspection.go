package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// InspectionRound is one inspection round (督查): a term's visit of the inspecting unit (督导办,
// or a township's central school for its own schools) to a list of units.
type InspectionRound struct {
	ID           string    `db:"id" json:"id"`
	Term         string    `db:"term" json:"term"`
	Kind         string    `db:"kind" json:"kind"`
	PlannedOn    string    `db:"planned_on" json:"planned_on"`
	UnitID       string    `db:"unit_id" json:"-"`
	UnitCode     string    `db:"unit_code" json:"unit_code"`
	UnitName     string    `db:"unit_name" json:"unit_name"`
	UnitPath     string    `db:"unit_path" json:"-"`
	ReviewerRole string    `db:"reviewer_role" json:"reviewer_role"`
	State        string    `db:"state" json:"state"`
	CreatedBy    string    `db:"created_by" json:"created_by"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	Units        []Unit    `db:"-" json:"units"`
}

const roundCols = `r.id, r.term, r.kind, r.planned_on, r.unit_id, o.code AS unit_code, o.name AS unit_name, r.unit_path,
	r.reviewer_role, r.state, r.created_by, r.created_at`
const roundFrom = ` FROM inspection_rounds r JOIN org_units o ON o.id = r.unit_id `

// CreateInspectionRound writes a round with its units, in one transaction.
func (s *Store) CreateInspectionRound(ctx context.Context, r InspectionRound) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO inspection_rounds (id, term, kind, planned_on, unit_id, unit_path, reviewer_role, state,
			created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Term, r.Kind, r.PlannedOn, r.UnitID, r.UnitPath,
			r.ReviewerRole, r.State, r.CreatedBy, utc(r.CreatedAt)); err != nil {
			return err
		}
		for _, u := range r.Units {
			if _, err := s.exec(ctx, tx, `INSERT INTO inspection_round_units (round_id, unit_id, unit_path) VALUES (?, ?, ?)
				ON CONFLICT (round_id, unit_id) DO NOTHING`, r.ID, u.ID, u.Path); err != nil {
				return err
			}
		}
		return nil
	})
}

// InspectionRoundByID reads one round with its units.
func (s *Store) InspectionRoundByID(ctx context.Context, id string) (InspectionRound, error) {
	var r InspectionRound
	if err := s.get(ctx, s.db, &r, `SELECT `+roundCols+roundFrom+`WHERE r.id = ?`, id); err != nil {
		return r, err
	}
	err := s.sel(ctx, s.db, &r.Units, `SELECT `+unitCols+` FROM inspection_round_units ru JOIN org_units u ON u.id = ru.unit_id
		LEFT JOIN org_units p ON p.id = u.parent_id WHERE ru.round_id = ? ORDER BY u.code`, id)
	return r, err
}

// InspectionRounds lists the rounds an actor with scopes sees (nil: all): rounds of an
// inspecting unit in scope, and rounds that visit a unit in scope; term "" for every term.
func (s *Store) InspectionRounds(ctx context.Context, scopes []string, term string) ([]InspectionRound, error) {
	own, ownArgs := s.underAnyPath("r.unit_path", scopes)
	visited, visitedArgs := s.underAnyPath("ru.unit_path", scopes)
	query := `SELECT ` + roundCols + roundFrom + `WHERE (` + own + ` OR EXISTS (SELECT 1 FROM inspection_round_units ru
		WHERE ru.round_id = r.id AND ` + visited + `))`
	args := append(ownArgs, visitedArgs...)
	if term != "" {
		query += ` AND r.term = ?`
		args = append(args, term)
	}
	var rs []InspectionRound
	err := s.sel(ctx, s.db, &rs, query+` ORDER BY r.created_at DESC LIMIT 500`, args...)
	return rs, err
}

// Finding is one finding (问题清单) of a round: what is wrong at a unit, by when it must be
// rectified, and where its rectification stands.
type Finding struct {
	ID            string     `db:"id" json:"id"`
	RoundID       string     `db:"round_id" json:"round_id"`
	WorkflowID    string     `db:"workflow_id" json:"-"`
	UnitID        string     `db:"unit_id" json:"-"`
	UnitCode      string     `db:"unit_code" json:"unit_code"`
	UnitName      string     `db:"unit_name" json:"unit_name"`
	UnitPath      string     `db:"unit_path" json:"-"`
	Area          string     `db:"area" json:"area"`
	Severity      string     `db:"severity" json:"severity"`
	Description   string     `db:"description" json:"description"`
	ResponsibleID string     `db:"responsible_id" json:"responsible_id,omitempty"`
	RectifyBy     time.Time  `db:"rectify_by" json:"rectify_by"`
	State         string     `db:"state" json:"state" schema:"CaseState.inspection.finding"`
	Attempts      int        `db:"attempts" json:"attempts"`
	Summary       string     `db:"summary" json:"summary,omitempty"`
	EvidenceNote  string     `db:"evidence_note" json:"evidence_note,omitempty"`
	ReviewNote    string     `db:"review_note" json:"review_note,omitempty"`
	CreatedBy     string     `db:"created_by" json:"created_by"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at" json:"updated_at"`
	ClosedAt      *time.Time `db:"closed_at" json:"closed_at,omitempty"`
}

const findingCols = `f.id, f.round_id, f.workflow_id, f.unit_id, o.code AS unit_code, o.name AS unit_name, f.unit_path, f.area,
	f.severity, f.description, f.responsible_id, f.rectify_by, f.state, f.attempts, f.summary, f.evidence_note, f.review_note,
	f.created_by, f.created_at, f.updated_at, f.closed_at`
const findingFrom = ` FROM inspection_findings f JOIN org_units o ON o.id = f.unit_id `

// UpsertFinding writes a finding's row (idempotent: activities retry); the fields a finding is
// recorded with never change.
func (s *Store) UpsertFinding(ctx context.Context, f Finding) error {
	t := now()
	var closed *time.Time
	if f.ClosedAt != nil {
		c := utc(*f.ClosedAt)
		closed = &c
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO inspection_findings (id, round_id, workflow_id, unit_id, unit_path, area, severity,
		description, responsible_id, rectify_by, state, attempts, summary, evidence_note, review_note, created_by, created_at,
		updated_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET rectify_by = excluded.rectify_by, state = excluded.state, attempts = excluded.attempts,
		summary = excluded.summary, evidence_note = excluded.evidence_note, review_note = excluded.review_note,
		updated_at = excluded.updated_at, closed_at = excluded.closed_at`,
		f.ID, f.RoundID, f.WorkflowID, f.UnitID, f.UnitPath, f.Area, f.Severity, f.Description, f.ResponsibleID, utc(f.RectifyBy),
		f.State, f.Attempts, f.Summary, f.EvidenceNote, f.ReviewNote, f.CreatedBy, t, t, closed)
	return err
}

// FindingByID reads one finding.
func (s *Store) FindingByID(ctx context.Context, id string) (Finding, error) {
	var f Finding
	err := s.get(ctx, s.db, &f, `SELECT `+findingCols+findingFrom+`WHERE f.id = ?`, id)
	return f, err
}

// FindingsOfRound lists a round's findings in the order they were recorded.
func (s *Store) FindingsOfRound(ctx context.Context, roundID string) ([]Finding, error) {
	var fs []Finding
	err := s.sel(ctx, s.db, &fs, `SELECT `+findingCols+findingFrom+`WHERE f.round_id = ? ORDER BY f.created_at, f.id`, roundID)
	return fs, err
}

// Findings lists findings at units within scopes (nil: all), optionally of one state, soonest
// deadline first.
func (s *Store) Findings(ctx context.Context, scopes []string, state string) ([]Finding, error) {
	scope, args := s.underAnyPath("f.unit_path", scopes)
	query := `SELECT ` + findingCols + findingFrom + `WHERE ` + scope
	if state != "" {
		query += ` AND f.state = ?`
		args = append(args, state)
	}
	var fs []Finding
	err := s.sel(ctx, s.db, &fs, query+` ORDER BY f.rectify_by, f.id LIMIT 500`, args...)
	return fs, err
}

// FindingsOfTerm lists the findings of every round of a term at units within scopes (nil: all),
// for the term's evaluation.
func (s *Store) FindingsOfTerm(ctx context.Context, scopes []string, term string) ([]Finding, error) {
	scope, args := s.underAnyPath("f.unit_path", scopes)
	var fs []Finding
	err := s.sel(ctx, s.db, &fs, `SELECT `+findingCols+findingFrom+`JOIN inspection_rounds r ON r.id = f.round_id
		WHERE r.term = ? AND `+scope+` ORDER BY f.created_at, f.id`, append([]any{term}, args...)...)
	return fs, err
}
