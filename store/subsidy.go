package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"jiaofu/access"
	"jiaofu/casework"

	"github.com/jmoiron/sqlx"
)

// Programme stages, fixed names that clients use.
var Stages = []string{"preschool", "primary", "junior", "senior", "vocational"}

// StageOf is the stage of a student at a unit of the given kind in the given grade, as the
// student register keeps them: a kindergarten's pupils (its classes are grades 1–3) are
// preschool; at a school, grades 1–6 are primary, 7–9 junior secondary (初中) and 10–12 senior
// secondary (普通高中) — the 6-3-3 system of Hubei, so a nine-year school (九年一贯制) or a
// complete secondary school needs no kind of its own. The register has no vocational schools
// (中职 is run by the city), so no student here is of stage "vocational" and a vocational
// programme fits nobody until such a unit kind exists.
func StageOf(unitKind string, grade int) string {
	switch {
	case unitKind == KindKindergarten:
		return "preschool"
	case grade >= 1 && grade <= 6:
		return "primary"
	case grade >= 7 && grade <= 9:
		return "junior"
	case grade >= 10 && grade <= 12:
		return "senior"
	}
	return ""
}

// Stage is the student's stage (StageOf).
func (st Student) Stage() string { return StageOf(st.UnitKind, st.Grade) }

// Programme is a subsidy programme with its standard amount; the amount of an application always
// comes from here, never from the form.
type Programme struct {
	ID        string `db:"id" json:"id"`
	Code      string `db:"code" json:"code"`
	Name      string `db:"name" json:"name"`
	AmountFen int64  `db:"amount_fen" json:"amount_fen"`
	Stage     string `db:"stage" json:"stage"`
	// ExclusiveGroup: a student holds at most one programme of a group per term (the living
	// allowances: "living"); empty for a programme that stacks with any other.
	ExclusiveGroup string    `db:"exclusive_group" json:"exclusive_group"`
	Active         bool      `db:"active" json:"active"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

const programmeCols = `id, code, name, amount_fen, stage, exclusive_group, active, created_at`

// CreateProgramme adds a programme.
func (s *Store) CreateProgramme(ctx context.Context, p Programme) (Programme, error) {
	p.ID, p.Active, p.CreatedAt = NewID("pg"), true, now()
	_, err := s.exec(ctx, s.db, `INSERT INTO subsidy_programmes (id, code, name, amount_fen, stage, exclusive_group, active, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.Code, p.Name, p.AmountFen, p.Stage, p.ExclusiveGroup, p.Active, p.CreatedAt)
	return p, err
}

// ProgrammeByCode finds a programme.
func (s *Store) ProgrammeByCode(ctx context.Context, code string) (Programme, error) {
	var p Programme
	err := s.get(ctx, s.db, &p, `SELECT `+programmeCols+` FROM subsidy_programmes WHERE code = ?`, code)
	return p, err
}

// Programmes lists all programmes.
func (s *Store) Programmes(ctx context.Context) ([]Programme, error) {
	var ps []Programme
	err := s.sel(ctx, s.db, &ps, `SELECT `+programmeCols+` FROM subsidy_programmes ORDER BY stage, code`)
	return ps, err
}

// Application is the projection of a subsidy application workflow.
type Application struct {
	ID            string    `db:"id" json:"id"`
	StudentID     string    `db:"student_id" json:"student_id"`
	StudentName   string    `db:"student_name" json:"student_name"`
	Grade         int       `db:"grade" json:"grade"`
	Class         string    `db:"class" json:"class"`
	ProgrammeCode string    `db:"programme_code" json:"programme"`
	ProgrammeName string    `db:"programme_name" json:"programme_name"`
	Term          string    `db:"term" json:"term"`
	UnitID        string    `db:"unit_id" json:"unit_id"`
	UnitCode      string    `db:"unit_code" json:"unit_code"`
	UnitName      string    `db:"unit_name" json:"unit_name"`
	UnitPath      string    `db:"unit_path" json:"unit_path"`
	ApplicantID   string    `db:"applicant_id" json:"applicant_id"`
	AmountFen     int64     `db:"amount_fen" json:"amount_fen"`
	Priority      bool      `db:"priority" json:"priority"`
	EvidenceNote  string    `db:"evidence_note" json:"evidence_note,omitempty"`
	State         string    `db:"state" json:"status" schema:"CaseState.subsidy.app"`
	BatchID       string    `db:"batch_id" json:"batch_id,omitempty"`
	BatchState    string    `db:"batch_state" json:"batch_state,omitempty"` // its batch's (batchState): what an entry still in_publicity after the period waits for
	ReviewerID    string    `db:"reviewer_id" json:"reviewer_id,omitempty"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time `db:"updated_at" json:"updated_at"`
}

// Subject names an application for people: the student and the programme (张三 · 义务教育生活补助).
// Review tasks are titled with it, and the console finds the entry a title names by it.
func (a Application) Subject() string { return a.StudentName + " · " + a.ProgrammeName }

const appCols = `a.id, a.student_id, s.name AS student_name, s.grade, s.class, a.programme_code, COALESCE(p.name, a.programme_code) AS programme_name,
	a.term, a.unit_id, o.code AS unit_code, o.name AS unit_name, o.path AS unit_path, a.applicant_id, a.amount_fen, a.priority,
	a.evidence_note, a.state, a.batch_id, COALESCE((SELECT ` + batchState + ` FROM publicity_batches b WHERE b.id = a.batch_id), '') AS batch_state,
	a.reviewer_id, a.created_at, a.updated_at`
const appFrom = ` FROM subsidy_applications a JOIN students s ON s.id = a.student_id JOIN org_units o ON o.id = a.unit_id
	LEFT JOIN subsidy_programmes p ON p.code = a.programme_code `

// NewApplication is an application to record with the audit entry of whoever applied. The entry's
// EventKey must identify the application (AppliedEventKey): the API and the workflow's first
// activity both write the pair, and whichever comes second changes nothing.
type NewApplication struct {
	App     Application
	Applied AuditEntry
}

// Applied is what an application's "applied" audit entry says.
type Applied struct {
	ApplicationID, StudentID, Programme, Term string
	Applicant                                 access.Actor
	At                                        time.Time
}

// AppliedEntry is the applicant's audit entry of a new application in the given workflow run. The
// API writes it with the row right after starting the workflow and the workflow's registry check
// writes it too, built here alike for both, under one key: whichever comes second finds it on record.
func AppliedEntry(a Applied, runID, schoolCode string) AuditEntry {
	after, _ := json.Marshal(map[string]any{"student_id": a.StudentID, "programme": a.Programme, "term": a.Term})
	return AuditEntry{EventKey: AppliedEventKey(a.ApplicationID, runID), At: a.At,
		ActorID: a.Applicant.UserID, ActorName: a.Applicant.DisplayName, Role: casework.RoleSchoolStaff, UnitCode: schoolCode,
		Action: "subsidy.applied", Process: casework.ProcessSubsidy, CaseID: a.ApplicationID, After: string(after)}
}

// AppliedEventKey is the key of an application's "applied" audit entry (its workflow run).
func AppliedEventKey(applicationID, runID string) string {
	return "subsidy.applied/" + applicationID + "/" + runID
}

// InsertApplications records new applications and their applicants' entries in one transaction:
// all or none, and one commit for a whole semester-start request instead of one per application
// (the store's one writer bounds a burst: docs/benchmarks.md, workload 4). Rows and entries
// already on record are left as they are.
func (s *Store) InsertApplications(ctx context.Context, news []NewApplication) error {
	if len(news) == 0 {
		return nil
	}
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		for _, n := range news {
			if err := s.insertApplication(ctx, tx, n.App); err != nil {
				return err
			}
			if err := s.appendTx(ctx, tx, n.Applied); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenApplication is the subsidy workflow's first write, in one transaction: the row and the
// applicant's entry, if the API has not written them yet (so a crash between starting the
// workflow and the API's write loses neither), and the registry check's verdict. applied is nil
// for workflows started before entries had keys; the API wrote theirs.
func (s *Store) OpenApplication(ctx context.Context, a Application, applied *AuditEntry, check casework.ApplicationUpdate) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.insertApplication(ctx, tx, a); err != nil {
			return err
		}
		if applied != nil {
			if err := s.appendTx(ctx, tx, *applied); err != nil {
				return err
			}
		}
		return s.updateApplication(ctx, tx, a.ID, check)
	})
}

func (s *Store) insertApplication(ctx context.Context, db q, a Application) error {
	t := now()
	_, err := s.exec(ctx, db, `INSERT INTO subsidy_applications (id, student_id, programme_code, term, unit_id, applicant_id, amount_fen,
		priority, evidence_note, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		a.ID, a.StudentID, a.ProgrammeCode, a.Term, a.UnitID, a.ApplicantID, a.AmountFen, a.Priority, a.EvidenceNote, a.State, t, t)
	return err
}

// UpdateApplication applies a workflow step to the projection.
func (s *Store) UpdateApplication(ctx context.Context, id string, u casework.ApplicationUpdate) error {
	return s.updateApplication(ctx, s.db, id, u)
}

func (s *Store) updateApplication(ctx context.Context, db q, id string, u casework.ApplicationUpdate) error {
	set, args := "updated_at = ?", []any{now()}
	if u.State != "" {
		set += ", state = ?"
		args = append(args, u.State)
	}
	if u.AmountFen != nil {
		set += ", amount_fen = ?"
		args = append(args, *u.AmountFen)
	}
	if u.Priority != nil {
		set += ", priority = ?"
		args = append(args, *u.Priority)
	}
	if u.EvidenceNote != nil {
		set += ", evidence_note = ?"
		args = append(args, *u.EvidenceNote)
	}
	if u.BatchID != nil {
		set += ", batch_id = ?"
		args = append(args, *u.BatchID)
	}
	if u.ReviewerID != "" {
		set += ", reviewer_id = ?"
		args = append(args, u.ReviewerID)
	}
	res, err := s.exec(ctx, db, `UPDATE subsidy_applications SET `+set+` WHERE id = ?`, append(args, id)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("application %s: %w", id, ErrNotFound)
	}
	return nil
}

// ApplicationByID reads one application.
func (s *Store) ApplicationByID(ctx context.Context, id string) (Application, error) {
	var a Application
	err := s.get(ctx, s.db, &a, `SELECT `+appCols+appFrom+`WHERE a.id = ?`, id)
	return a, err
}

// ApplicationFilter narrows an application list.
type ApplicationFilter struct {
	ScopePaths []string // nil: everything
	UnitID     string
	Term       string
	State      string
	BatchID    string
	Limit      int
}

// Applications lists applications.
func (s *Store) Applications(ctx context.Context, f ApplicationFilter) ([]Application, error) {
	query, args := `SELECT `+appCols+appFrom+`WHERE 1=1`, []any{}
	scope, scopeArgs := s.underAnyPath("o.path", f.ScopePaths)
	query, args = query+" AND "+scope, append(args, scopeArgs...)
	for col, v := range map[string]string{"a.unit_id": f.UnitID, "a.term": f.Term, "a.state": f.State, "a.batch_id": f.BatchID} {
		if v != "" {
			query += " AND " + col + " = ?"
			args = append(args, v)
		}
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 500
	}
	var as []Application
	err := s.sel(ctx, s.db, &as, query+` ORDER BY s.grade, s.class, s.name, a.id LIMIT `+itoa(f.Limit), args...)
	return as, err
}

// Holding is an application a student holds for a term: one in any state but rejected (a
// rejected or withdrawn application holds nothing).
type Holding struct {
	ApplicationID  string `db:"id" json:"application_id"`
	StudentID      string `db:"student_id" json:"student_id"`
	Term           string `db:"term" json:"term"`
	ProgrammeCode  string `db:"programme_code" json:"programme"`
	ProgrammeName  string `db:"programme_name" json:"programme_name"`
	ExclusiveGroup string `db:"exclusive_group" json:"exclusive_group,omitempty"`
	State          string `db:"state" json:"status"`
}

// Holdings lists what each of the students holds, for one term (or every term when term is
// empty), by student id: one read for a whole semester-start request.
func (s *Store) Holdings(ctx context.Context, studentIDs []string, term string) (map[string][]Holding, error) {
	out := map[string][]Holding{}
	const chunk = 500 // well under every driver's limit on bound parameters
	for lo := 0; lo < len(studentIDs); lo += chunk {
		part := studentIDs[lo:min(lo+chunk, len(studentIDs))]
		args := []any{casework.AppRejected}
		for _, id := range part {
			args = append(args, id)
		}
		query := `SELECT a.id, a.student_id, a.term, a.programme_code, COALESCE(p.name, a.programme_code) AS programme_name,
			COALESCE(p.exclusive_group, '') AS exclusive_group, a.state
			FROM subsidy_applications a LEFT JOIN subsidy_programmes p ON p.code = a.programme_code
			WHERE a.state <> ? AND a.student_id IN (` + placeholders(len(part)) + `)`
		if term != "" {
			query += ` AND a.term = ?`
			args = append(args, term)
		}
		var hs []Holding
		if err := s.sel(ctx, s.db, &hs, query+` ORDER BY a.student_id, a.term, a.programme_code`, args...); err != nil {
			return nil, err
		}
		for _, h := range hs {
			out[h.StudentID] = append(out[h.StudentID], h)
		}
	}
	return out, nil
}

// Batch states written before issue 15, which rows of older batches (and workers of before it,
// during a deploy) still hold: publicizing for in_publicity, closed for any batch whose period
// was over until its sign-off.
const (
	batchOpenBefore   = "publicizing"
	batchClosedBefore = casework.BatchClosed
)

// BatchStates lists every batch state, for the list filter: the names of issue 15, then the old
// publicizing, which keeps working (closed keeps its old meaning there, see BatchStateFilter).
var BatchStates = []string{casework.BatchOpen, casework.BatchAwaitingObjections, casework.BatchAwaitingSignoff, casework.BatchSignedOff, casework.BatchClosed, batchOpenBefore}

// BatchStateFilter is the states a list filter value selects: an old name the states it stood for
// (closed: every batch whose period is over and that is not signed off, as before issue 15).
func BatchStateFilter(state string) []string {
	switch state {
	case batchOpenBefore:
		return []string{casework.BatchOpen}
	case batchClosedBefore:
		return []string{casework.BatchAwaitingObjections, casework.BatchAwaitingSignoff, casework.BatchClosed}
	}
	return []string{state}
}

// batchState is a batch's state as read, from its row and, once its period is over, from its
// objections and entries: the row of a batch opened before issue 15 says closed from the end of
// the period to the sign-off, and no row says when the last objection was decided.
const batchState = `CASE
	WHEN b.state IN ('` + casework.BatchOpen + `', '` + batchOpenBefore + `') THEN '` + casework.BatchOpen + `'
	WHEN b.state = '` + casework.BatchSignedOff + `' THEN '` + casework.BatchSignedOff + `'
	WHEN EXISTS (SELECT 1 FROM objections x WHERE x.batch_id = b.id AND x.state = 'open') THEN '` + casework.BatchAwaitingObjections + `'
	WHEN EXISTS (SELECT 1 FROM subsidy_applications m WHERE m.batch_id = b.id AND m.state = '` + casework.AppInPublicity + `') THEN '` + casework.BatchAwaitingSignoff + `'
	ELSE '` + casework.BatchClosed + `' END`

// Batch is one publicity (公示) list of a school for a term.
type Batch struct {
	ID       string     `db:"id" json:"id"`
	UnitID   string     `db:"unit_id" json:"unit_id"`
	UnitCode string     `db:"unit_code" json:"school_unit"`
	UnitName string     `db:"unit_name" json:"school_name"`
	UnitPath string     `db:"unit_path" json:"unit_path"`
	Term     string     `db:"term" json:"term"`
	State    string     `db:"state" json:"state" schema:"CaseState.subsidy.batch"`
	OpenedBy string     `db:"opened_by" json:"opened_by"`
	OpenedAt time.Time  `db:"opened_at" json:"opened_at"`
	EndsAt   *time.Time `db:"ends_at" json:"ends_at,omitempty"`
	ClosedAt *time.Time `db:"closed_at" json:"closed_at,omitempty"`
}

const batchCols = `b.id, b.unit_id, o.code AS unit_code, o.name AS unit_name, o.path AS unit_path, b.term, ` + batchState + ` AS state, b.opened_by, b.opened_at, b.ends_at, b.closed_at`

// ClaimForBatch creates a batch and moves the given reviewed applications into it, in one
// transaction; applications already in another batch or no longer reviewed are skipped. It is
// idempotent per batch id (a retried activity returns the same members).
func (s *Store) ClaimForBatch(ctx context.Context, b Batch, appIDs []string) ([]string, error) {
	var claimed []string
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO publicity_batches (id, unit_id, term, state, opened_by, opened_at, ends_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, b.ID, b.UnitID, b.Term, casework.BatchOpen, b.OpenedBy, utc(b.OpenedAt), b.EndsAt); err != nil {
			return err
		}
		for _, id := range appIDs {
			if _, err := s.exec(ctx, tx, `UPDATE subsidy_applications SET batch_id = ?, state = ?, updated_at = ?
				WHERE id = ? AND batch_id = '' AND state = ?`, b.ID, casework.AppInPublicity, now(), id, casework.AppReviewed); err != nil {
				return err
			}
		}
		return s.sel(ctx, tx, &claimed, `SELECT id FROM subsidy_applications WHERE batch_id = ? ORDER BY id`, b.ID)
	})
	return claimed, err
}

// SetBatchState moves a batch on; closed_at is when its period ended.
func (s *Store) SetBatchState(ctx context.Context, id, state string) error {
	var closed any
	if state != casework.BatchOpen && state != batchOpenBefore {
		closed = now()
	}
	_, err := s.exec(ctx, s.db, `UPDATE publicity_batches SET state = ?, closed_at = COALESCE(closed_at, ?) WHERE id = ?`, state, closed, id)
	return err
}

// BatchByID reads a batch.
func (s *Store) BatchByID(ctx context.Context, id string) (Batch, error) {
	var b Batch
	err := s.get(ctx, s.db, &b, `SELECT `+batchCols+` FROM publicity_batches b JOIN org_units o ON o.id = b.unit_id WHERE b.id = ?`, id)
	return b, err
}

// Batches lists batches within scopes (nil: all).
func (s *Store) Batches(ctx context.Context, scopes []string, state string) ([]Batch, error) {
	query, args := `SELECT `+batchCols+` FROM publicity_batches b JOIN org_units o ON o.id = b.unit_id WHERE 1=1`, []any{}
	scope, scopeArgs := s.underAnyPath("o.path", scopes)
	query, args = query+" AND "+scope, append(args, scopeArgs...)
	if state != "" {
		states := BatchStateFilter(state)
		query += " AND " + batchState + " IN (" + placeholders(len(states)) + ")"
		for _, st := range states {
			args = append(args, st)
		}
	}
	var bs []Batch
	err := s.sel(ctx, s.db, &bs, query+" ORDER BY b.opened_at DESC LIMIT 200", args...)
	return bs, err
}

// CountBatches counts a school's batches for a term (to number the next one).
func (s *Store) CountBatches(ctx context.Context, unitID, term string) (int, error) {
	var n int
	err := s.get(ctx, s.db, &n, `SELECT COUNT(*) FROM publicity_batches WHERE unit_id = ? AND term = ?`, unitID, term)
	return n, err
}

// UpsertObjection records an objection or its decision.
func (s *Store) UpsertObjection(ctx context.Context, o casework.Objection) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO objections (id, batch_id, application_id, reason, contact, state, decision, created_at, decided_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, decision = excluded.decision,
		decided_at = excluded.decided_at`, o.ID, o.BatchID, o.ApplicationID, o.Reason, o.Contact, o.State, o.Decision, utc(o.CreatedAt), o.DecidedAt)
	return err
}

// Objections lists a batch's objections.
func (s *Store) Objections(ctx context.Context, batchID string) ([]casework.Objection, error) {
	var os []casework.Objection
	err := s.sel(ctx, s.db, &os, `SELECT id, batch_id, application_id, reason, contact, state, decision, created_at, decided_at
		FROM objections WHERE batch_id = ? ORDER BY created_at, id`, batchID)
	return os, err
}

// Disbursement is the one payment of an application.
type Disbursement struct {
	ApplicationID string    `db:"application_id" json:"application_id"`
	AmountFen     int64     `db:"amount_fen" json:"amount_fen"`
	Channel       string    `db:"channel" json:"channel"`
	DisbursedAt   time.Time `db:"disbursed_at" json:"disbursed_at"`
}

// Disburse records the payment exactly once: a second call returns the first record unchanged.
func (s *Store) Disburse(ctx context.Context, d Disbursement) (Disbursement, error) {
	if err := s.insertDisbursement(ctx, s.db, d); err != nil {
		return d, err
	}
	return s.DisbursementOf(ctx, d.ApplicationID)
}

// insertDisbursement records d unless the application was paid already.
func (s *Store) insertDisbursement(ctx context.Context, db q, d Disbursement) error {
	_, err := s.exec(ctx, db, `INSERT INTO disbursements (application_id, amount_fen, channel, disbursed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (application_id) DO NOTHING`, d.ApplicationID, d.AmountFen, d.Channel, utc(d.DisbursedAt))
	return err
}

// SignOffAndDisburse records the county's sign-off of an application and the payment it orders in
// one transaction: the sign-off's update and entry, the payment once (the application id is the
// key: a retry finds the first record and pays nothing more), the application disbursed and the
// payment's entry, built by paid from the payment on record. One transaction, so that a retry
// after a partial run never moves a disbursed application back to signed_off, and a reader never
// sees the sign-off without its payment.
func (s *Store) SignOffAndDisburse(ctx context.Context, signOff casework.ApplicationUpdate, signedOff AuditEntry, d Disbursement,
	paid func(Disbursement) AuditEntry) (Disbursement, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.updateApplication(ctx, tx, d.ApplicationID, signOff); err != nil {
			return err
		}
		if err := s.appendTx(ctx, tx, signedOff); err != nil {
			return err
		}
		if err := s.insertDisbursement(ctx, tx, d); err != nil {
			return err
		}
		var err error
		if d, err = s.disbursementOf(ctx, tx, d.ApplicationID); err != nil {
			return err
		}
		if err := s.updateApplication(ctx, tx, d.ApplicationID, casework.ApplicationUpdate{State: casework.AppDisbursed}); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, paid(d))
	})
	return d, err
}

// DisbursementOf reads an application's disbursement.
func (s *Store) DisbursementOf(ctx context.Context, appID string) (Disbursement, error) {
	return s.disbursementOf(ctx, s.db, appID)
}

func (s *Store) disbursementOf(ctx context.Context, db q, appID string) (Disbursement, error) {
	var d Disbursement
	err := s.get(ctx, db, &d, `SELECT application_id, amount_fen, channel, disbursed_at FROM disbursements WHERE application_id = ?`, appID)
	return d, err
}

// DisbursementChannels lists the channels a sign-off may pay through, in the admin's order.
func (s *Store) DisbursementChannels(ctx context.Context) ([]string, error) {
	var names []string
	err := s.sel(ctx, s.db, &names, `SELECT name FROM disbursement_channels ORDER BY position, name`)
	return names, err
}

// SetDisbursementChannels replaces the list of channels in one transaction: a reader sees the old
// list or the new one, never a part. Payments already recorded keep the channel they were made
// through.
func (s *Store) SetDisbursementChannels(ctx context.Context, names []string) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM disbursement_channels`); err != nil {
			return err
		}
		for i, n := range names {
			if _, err := s.exec(ctx, tx, `INSERT INTO disbursement_channels (name, position) VALUES (?, ?)`, n, i+1); err != nil {
				return err
			}
		}
		return nil
	})
}

// Omissions lists poverty-registered, enrolled students within scopes who have no application
// for the term that the school has approved (none, or only ones still in review or rejected).
func (s *Store) Omissions(ctx context.Context, scopes []string, term string) ([]Student, error) {
	query := `SELECT ` + studentCols + studentFrom + `WHERE s.poverty_registered = ? AND s.enrolled = ?
		AND NOT EXISTS (SELECT 1 FROM subsidy_applications a WHERE a.student_id = s.id AND a.term = ? AND a.state IN (?, ?, ?, ?))`
	args := []any{true, true, term, casework.AppReviewed, casework.AppInPublicity, casework.AppSignedOff, casework.AppDisbursed}
	scope, scopeArgs := s.underAnyPath("o.path", scopes)
	query, args = query+" AND "+scope, append(args, scopeArgs...)
	var sts []Student
	err := s.sel(ctx, s.db, &sts, query+` ORDER BY o.path, s.grade, s.class, s.name`, args...)
	return sts, err
}

// UpdateProgramme changes a programme's name, standard amount, stage or active flag. Applications
// already checked keep the amount they were given; new ones take the new standard.
func (s *Store) UpdateProgramme(ctx context.Context, p Programme) (Programme, error) {
	res, err := s.exec(ctx, s.db, `UPDATE subsidy_programmes SET name = ?, amount_fen = ?, stage = ?, exclusive_group = ?, active = ? WHERE code = ?`,
		p.Name, p.AmountFen, p.Stage, p.ExclusiveGroup, p.Active, p.Code)
	if err != nil {
		return p, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return p, ErrNotFound
	}
	return s.ProgrammeByCode(ctx, p.Code)
}
