package store

import (
	"context"
	"time"

	"jiaofu/casework"
)

// The ledgers (台账) as the exports read them: whole lists in a scope, without the list routes'
// page limits, each row with the student's numbers (the API masks them per caller) and its unit.

// LedgerFilter narrows a ledger: the caller's scopes (nil: all), a unit subtree, a term.
type LedgerFilter struct {
	Scopes   []string
	UnitPath string
	Term     string
}

// where is the ledger's condition on a unit path column (and a term column, when given).
func (s *Store) where(f LedgerFilter, pathCol, termCol string) (string, []any) {
	scope, args := s.underAnyPath(pathCol, f.Scopes)
	under, underArgs := s.underPath(pathCol, f.UnitPath)
	cond := scope + " AND " + under
	args = append(args, underArgs...)
	if f.Term != "" && termCol != "" {
		cond += " AND " + termCol + " = ?"
		args = append(args, f.Term)
	}
	return cond, args
}

// StudentNumbers are a student's numbers beside a ledger row.
type StudentNumbers struct {
	StudentNo string `db:"student_no"`
	IDCardNo  string `db:"id_card_no"`
}

// ApplicationLedgerRow is an application with its student's numbers and its disbursement.
type ApplicationLedgerRow struct {
	Application
	StudentNumbers
	Channel     *string    `db:"channel"`
	PaidFen     *int64     `db:"paid_fen"`
	DisbursedAt *time.Time `db:"disbursed_at"`
}

// ApplicationLedger lists applications with their disbursements.
func (s *Store) ApplicationLedger(ctx context.Context, f LedgerFilter) ([]ApplicationLedgerRow, error) {
	cond, args := s.where(f, "o.path", "a.term")
	var rows []ApplicationLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+appCols+`, s.student_no, s.id_card_no, d.channel, d.amount_fen AS paid_fen, d.disbursed_at`+appFrom+`
		LEFT JOIN disbursements d ON d.application_id = a.id WHERE `+cond+` ORDER BY o.path, a.term, s.grade, s.class, s.name, a.id`, args...)
	return rows, err
}

// BatchLedgerRow is a publicity batch with its counts.
type BatchLedgerRow struct {
	Batch
	Entries    int `db:"entries"`
	Objections int `db:"objection_count"`
}

// BatchLedger lists publicity batches.
func (s *Store) BatchLedger(ctx context.Context, f LedgerFilter) ([]BatchLedgerRow, error) {
	cond, args := s.where(f, "o.path", "b.term")
	var rows []BatchLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+batchCols+`, (SELECT COUNT(*) FROM subsidy_applications m WHERE m.batch_id = b.id) AS entries,
		(SELECT COUNT(*) FROM objections x WHERE x.batch_id = b.id) AS objection_count
		FROM publicity_batches b JOIN org_units o ON o.id = b.unit_id WHERE `+cond+` ORDER BY o.path, b.opened_at`, args...)
	return rows, err
}

// ObjectionLedgerRow is an objection with its batch's school and the entry's student.
type ObjectionLedgerRow struct {
	casework.Objection
	UnitCode    string `db:"unit_code"`
	UnitPath    string `db:"unit_path"`
	StudentName string `db:"student_name"`
}

// ObjectionLedger lists the objections of the batches in the filter.
func (s *Store) ObjectionLedger(ctx context.Context, f LedgerFilter) ([]ObjectionLedgerRow, error) {
	cond, args := s.where(f, "o.path", "b.term")
	var rows []ObjectionLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT x.id, x.batch_id, x.application_id, x.reason, x.contact, x.state, x.decision, x.created_at, x.decided_at,
		o.code AS unit_code, o.path AS unit_path, COALESCE(st.name, '') AS student_name
		FROM objections x JOIN publicity_batches b ON b.id = x.batch_id JOIN org_units o ON o.id = b.unit_id
		LEFT JOIN subsidy_applications a ON a.id = x.application_id LEFT JOIN students st ON st.id = a.student_id
		WHERE `+cond+` ORDER BY o.path, x.created_at, x.id`, args...)
	return rows, err
}

// DropoutLedgerRow is a dropout case with the student's numbers.
type DropoutLedgerRow struct {
	DropoutCase
	StudentNumbers
	Grade int    `db:"grade"`
	Class string `db:"class"`
}

// DropoutLedger lists dropout cases (a term: the cases opened in it).
func (s *Store) DropoutLedger(ctx context.Context, f LedgerFilter) ([]DropoutLedgerRow, error) {
	cond, args := s.where(f, "c.unit_path", "")
	var rows []DropoutLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+dropoutCols+`, s.student_no, s.id_card_no, s.grade, s.class`+dropoutFrom+`WHERE `+cond+
		` ORDER BY c.unit_path, c.created_at, c.id`, args...)
	return filterTerm(rows, f.Term, func(r DropoutLedgerRow) time.Time { return r.CreatedAt }), err
}

// AttemptLedger lists the attempts of the given cases.
func (s *Store) AttemptLedger(ctx context.Context, caseIDs []string) ([]DropoutAttempt, error) {
	return selectIn[DropoutAttempt](ctx, s, `SELECT id, case_id, method, notes, visitors, by_user, at FROM dropout_attempts WHERE case_id IN (%s) ORDER BY case_id, at, id`, caseIDs)
}

// SendHomeLedgerRow is a send-home plan with the student's numbers.
type SendHomeLedgerRow struct {
	SendHomePlan
	StudentNumbers
}

// SendHomeLedger lists send-home plans (a term: the plans opened in it or still running).
func (s *Store) SendHomeLedger(ctx context.Context, f LedgerFilter) ([]SendHomeLedgerRow, error) {
	cond, args := s.where(f, "p.unit_path", "")
	var rows []SendHomeLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+sendHomeCols+`, s.student_no, s.id_card_no`+sendHomeFrom+`WHERE `+cond+` ORDER BY p.unit_path, p.created_at, p.id`, args...)
	return rows, err
}

// VisitLedger lists the visits of the given plans.
func (s *Store) VisitLedger(ctx context.Context, planIDs []string) ([]SendHomeVisit, error) {
	return selectIn[SendHomeVisit](ctx, s, `SELECT id, plan_id, term_no, period_no, visited_on, minutes, content, evidence_note, teacher_ids,
		assessment, by_user, at FROM send_home_visits WHERE plan_id IN (%s) ORDER BY plan_id, at, id`, planIDs)
}

// PairingLedgerRow is a pairing with the teacher's username and the student's numbers.
type PairingLedgerRow struct {
	Pairing
	StudentNumbers
	TeacherUsername string `db:"teacher_username"`
}

// PairingLedger lists pairings.
func (s *Store) PairingLedger(ctx context.Context, f LedgerFilter) ([]PairingLedgerRow, error) {
	cond, args := s.where(f, "p.unit_path", "")
	var rows []PairingLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+pairingCols+`, s.student_no, s.id_card_no, t.username AS teacher_username`+pairingFrom+`WHERE `+cond+
		` ORDER BY p.unit_path, p.class, s.name, p.created_at`, args...)
	return rows, err
}

// PairingRecordLedger lists the duty records of the given pairings.
func (s *Store) PairingRecordLedger(ctx context.Context, pairingIDs []string) ([]PairingRecord, error) {
	return selectIn[PairingRecord](ctx, s, `SELECT id, pairing_id, kind, done_on, done_at, content, evidence_note, by_user, recorded_at
		FROM pairing_records WHERE pairing_id IN (%s) ORDER BY pairing_id, done_at, id`, pairingIDs)
}

// FindingLedgerRow is a finding with its round's term.
type FindingLedgerRow struct {
	Finding
	Term string `db:"term"`
}

// FindingLedger lists findings and their rectification.
func (s *Store) FindingLedger(ctx context.Context, f LedgerFilter) ([]FindingLedgerRow, error) {
	cond, args := s.where(f, "f.unit_path", "r.term")
	var rows []FindingLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+findingCols+`, r.term`+findingFrom+`JOIN inspection_rounds r ON r.id = f.round_id WHERE `+cond+
		` ORDER BY f.unit_path, f.created_at, f.id`, args...)
	return rows, err
}

// AccountabilityLedger lists accountability records.
func (s *Store) AccountabilityLedger(ctx context.Context, f LedgerFilter) ([]AccountabilityRecord, error) {
	cond, args := s.where(f, "a.unit_path", "a.term")
	var rows []AccountabilityRecord
	err := s.sel(ctx, s.db, &rows, `SELECT `+accCols+accFrom+`WHERE `+cond+` ORDER BY a.unit_path, a.opened_at, a.id`, args...)
	return rows, err
}

// StudentLedger lists students (the roster, 学生花名册).
func (s *Store) StudentLedger(ctx context.Context, f LedgerFilter) ([]Student, error) {
	cond, args := s.where(f, "o.path", "")
	var rows []Student
	err := s.sel(ctx, s.db, &rows, `SELECT `+studentCols+studentFrom+`WHERE `+cond+` ORDER BY o.path, s.grade, s.class, s.student_no`, args...)
	return rows, err
}

// filterTerm keeps the rows whose instant falls in term (all when term is "").
func filterTerm[T any](rows []T, term string, at func(T) time.Time) []T {
	if term == "" {
		return rows
	}
	var out []T
	for _, r := range rows {
		if TermOf(at(r)) == term {
			out = append(out, r)
		}
	}
	return out
}

// HardshipGrantLedgerRow is a hardship grant with its student's numbers and its payment.
type HardshipGrantLedgerRow struct {
	Grant
	StudentNumbers
	Channel     *string    `db:"channel"`
	PaidFen     *int64     `db:"paid_fen"`
	DisbursedAt *time.Time `db:"disbursed_at"`
}

// HardshipGrantLedger lists hardship grants with their payments (the term by when each was
// applied for).
func (s *Store) HardshipGrantLedger(ctx context.Context, f LedgerFilter) ([]HardshipGrantLedgerRow, error) {
	cond, args := s.where(LedgerFilter{Scopes: f.Scopes, UnitPath: f.UnitPath}, "g.unit_path", "")
	var rows []HardshipGrantLedgerRow
	err := s.sel(ctx, s.db, &rows, `SELECT `+grantCols+`, s.student_no, s.id_card_no, p.channel, p.amount_fen AS paid_fen, p.disbursed_at`+grantFrom+`
		LEFT JOIN hardship_disbursements p ON p.grant_id = g.id WHERE `+cond+` ORDER BY g.unit_path, g.created_at, g.id`, args...)
	return filterTerm(rows, f.Term, func(r HardshipGrantLedgerRow) time.Time { return r.CreatedAt }), err
}

// HardshipDonationLedger lists the fund's donations and reversals, oldest first (the term by
// when each was recorded). The fund is the county's: it has no unit to scope by.
func (s *Store) HardshipDonationLedger(ctx context.Context, term string) ([]Donation, error) {
	var ds []Donation
	err := s.sel(ctx, s.db, &ds, `SELECT `+donationCols+` FROM hardship_donations ORDER BY created_at, id`)
	return filterTerm(ds, term, func(d Donation) time.Time { return d.CreatedAt }), err
}

// HardshipFundLedger lists the fund's movements with running balances, in order (the term by
// when each happened).
func (s *Store) HardshipFundLedger(ctx context.Context, term string) ([]LedgerEntry, error) {
	es, err := s.Ledger(ctx, time.Time{}, time.Time{})
	return filterTerm(es, term, func(e LedgerEntry) time.Time { return e.At }), err
}
