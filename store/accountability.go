package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
)

// The accountability desk (问责, issue 16): every escalation addressed to the supervision office
// opens one accountability record, in the escalation's own transaction (RecordEscalation), so
// that no one has to forward anything and nothing is lost between the two. The supervision office
// closes a record with a decision: its measures, the persons it concerns, and a written note.

// Accountability record states.
const (
	AccountabilityOpen    = "open"
	AccountabilityDecided = "decided"
)

// MeasureOrganisational is organisational handling (组织处理): carried out within a month of the
// decision (the Party's accountability regulations), so a decision with it has a due date.
const MeasureOrganisational = casework.MeasureOrganisationalHandling

// Person is someone a decision concerns: a user of the service (UserID, with their name), or a
// person named with their post (职务) who has no account.
type Person struct {
	UserID string `json:"user_id,omitempty"`
	Name   string `json:"name"`
	Post   string `json:"post,omitempty"`
}

// AccountabilityRecord is one item of the supervision office's desk.
type AccountabilityRecord struct {
	ID           string `db:"id" json:"id"`
	EscalationID string `db:"escalation_id" json:"escalation_id"`
	Process      string `db:"process" json:"process"`
	CaseID       string `db:"case_id" json:"case_id"`
	TaskKind     string `db:"task_kind" json:"task_kind,omitempty"`
	// Title names the case for people (the student, or the task, and the unit), never by an id.
	Title    string `db:"title" json:"title"`
	UnitCode string `db:"unit_code" json:"unit_code"`
	UnitName string `db:"unit_name" json:"unit_name"`
	UnitPath string `db:"unit_path" json:"unit_path"`
	// ResponsibleID is who answers for the late unit on the 包保 chain ("" when nobody is set).
	ResponsibleID   string     `db:"responsible_id" json:"responsible_id,omitempty"`
	ResponsibleName string     `db:"responsible_name" json:"responsible_name,omitempty"`
	Reason          string     `db:"reason" json:"reason"`
	Term            string     `db:"term" json:"term"`
	State           string     `db:"state" json:"state"`
	DueAt           time.Time  `db:"due_at" json:"due_at"`
	OpenedAt        time.Time  `db:"opened_at" json:"opened_at"`
	OpenedBy        string     `db:"opened_by" json:"opened_by"`
	MeasureList     string     `db:"measures" json:"-"`
	PersonsJSON     string     `db:"persons" json:"-"`
	Note            string     `db:"note" json:"note,omitempty"`
	DecidedBy       string     `db:"decided_by" json:"decided_by,omitempty"`
	DecidedByName   string     `db:"decided_by_name" json:"decided_by_name,omitempty"`
	DecidedAt       *time.Time `db:"decided_at" json:"decided_at,omitempty"`
	HandlingDueAt   *time.Time `db:"handling_due_at" json:"handling_due_at,omitempty"`
	HandlingDoneAt  *time.Time `db:"handling_done_at" json:"handling_done_at,omitempty"`
	HandlingNote    string     `db:"handling_note" json:"handling_note,omitempty"`
}

// Measures are the decision's measures, in the order decided.
func (r AccountabilityRecord) Measures() []string {
	if r.MeasureList == "" {
		return []string{}
	}
	return strings.Split(r.MeasureList, ",")
}

// Persons are the persons the decision concerns.
func (r AccountabilityRecord) Persons() []Person {
	ps := []Person{}
	_ = json.Unmarshal([]byte(r.PersonsJSON), &ps)
	return ps
}

// HandlingOverdue says whether organisational handling is past its month and not carried out.
func (r AccountabilityRecord) HandlingOverdue(at time.Time) bool {
	return r.HandlingDueAt != nil && r.HandlingDoneAt == nil && r.HandlingDueAt.Before(at)
}

// TermOf is the school-year term (YYYY-YYYY-N) an instant falls in, China time: the autumn term
// (1) runs from September to January, the spring term (2) from February to August.
func TermOf(at time.Time) string {
	t := at.In(calendar.CST)
	y, m := t.Year(), t.Month()
	switch {
	case m >= time.September:
		return fmt.Sprintf("%d-%d-1", y, y+1)
	case m == time.January:
		return fmt.Sprintf("%d-%d-1", y-1, y)
	default:
		return fmt.Sprintf("%d-%d-2", y-1, y)
	}
}

// AccountabilityID is the id of the record an escalation opens: one per escalation.
func AccountabilityID(escalationID string) string { return "acc-" + escalationID }

const accCols = `a.id, a.escalation_id, a.process, a.case_id, a.task_kind, a.title, a.unit_code, COALESCE(o.name, a.unit_code) AS unit_name,
	a.unit_path, a.responsible_id, COALESCE(u.display_name, '') AS responsible_name, a.reason, a.term, a.state, a.due_at, a.opened_at,
	a.opened_by, a.measures, a.persons, a.note, a.decided_by, COALESCE(d.display_name, '') AS decided_by_name, a.decided_at,
	a.handling_due_at, a.handling_done_at, a.handling_note`
const accFrom = ` FROM accountability_records a LEFT JOIN org_units o ON o.code = a.unit_code LEFT JOIN users u ON u.id = a.responsible_id
	LEFT JOIN users d ON d.id = a.decided_by `

// openAccountabilityTx opens the record of a supervision escalation inside the caller's
// transaction, with its audit entry on the case's timeline; a record already open for the
// escalation is left as it is. It reports whether the record is new.
func (s *Store) openAccountabilityTx(ctx context.Context, tx *sqlx.Tx, e Escalation, by access.Actor, at time.Time) (bool, error) {
	var unit struct {
		Name string `db:"name"`
		Path string `db:"path"`
	}
	// A unit missing from the register (never, from the escalation function) leaves the record
	// to the readers of everything rather than losing it.
	if err := s.get(ctx, tx, &unit, `SELECT name, path FROM org_units WHERE code = ?`, e.SourceUnit); errors.Is(err, ErrNotFound) {
		unit.Name = e.SourceUnit
	} else if err != nil {
		return false, err
	}
	title, err := s.caseTitle(ctx, tx, e, unit.Name)
	if err != nil {
		return false, err
	}
	due := e.DueAt
	if due.IsZero() {
		due = at
	}
	id := AccountabilityID(e.ID)
	openedBy := by.UserID
	if openedBy == "" {
		openedBy = access.System.UserID
	}
	res, err := s.exec(ctx, tx, `INSERT INTO accountability_records (id, escalation_id, process, case_id, task_kind, title, unit_code,
		unit_path, responsible_id, reason, term, state, due_at, opened_at, opened_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (escalation_id) DO NOTHING`,
		id, e.ID, e.Process, e.CaseID, e.TaskKind, title, e.SourceUnit, unit.Path, e.ResponsibleID, e.Reason, TermOf(due),
		AccountabilityOpen, utc(due), utc(at), openedBy)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	role, unitCode := "", ""
	if len(by.Roles) > 0 {
		role, unitCode = by.Roles[0].Role, by.Roles[0].UnitCode
	}
	after, _ := json.Marshal(map[string]any{"accountability_id": id, "escalation_id": e.ID, "unit": e.SourceUnit,
		"responsible_id": e.ResponsibleID, "reason": e.Reason, "term": TermOf(due)})
	return true, s.appendTx(ctx, tx, AuditEntry{EventKey: "accountability.opened/" + id, At: at, ActorID: openedBy, ActorName: by.DisplayName,
		Role: role, UnitCode: unitCode, Action: "accountability.opened", Process: e.Process, CaseID: e.CaseID, After: string(after)})
}

// caseTitle names a case for the desk: the student of a dropout case or a subsidy application,
// else the late task's title, else the process and the unit.
func (s *Store) caseTitle(ctx context.Context, db q, e Escalation, unitName string) (string, error) {
	label := e.Process
	if p, ok := casework.ProcessNamed(e.Process); ok {
		label = p.Label
	}
	var student string
	err := s.get(ctx, db, &student, `SELECT COALESCE(
		(SELECT st.name FROM dropout_cases d JOIN students st ON st.id = d.student_id WHERE d.id = ?),
		(SELECT st.name FROM subsidy_applications sa JOIN students st ON st.id = sa.student_id WHERE sa.id = ?), '')`, e.CaseID, e.CaseID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	if student != "" {
		return fmt.Sprintf("%s：%s（%s）", label, student, unitName), nil
	}
	// A finding of an inspection names what was found (its description, cut to a title's length).
	var finding string
	if err := s.get(ctx, db, &finding, `SELECT description FROM inspection_findings WHERE id = ?`, e.CaseID); err == nil && finding != "" {
		if r := []rune(finding); len(r) > 40 {
			finding = string(r[:40]) + "…"
		}
		return fmt.Sprintf("%s：%s（%s）", label, finding, unitName), nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	if e.TaskID != "" {
		var title string
		if err := s.get(ctx, db, &title, `SELECT title FROM tasks WHERE id = ?`, e.TaskID); err == nil && title != "" {
			return fmt.Sprintf("%s（%s）", title, unitName), nil
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	return fmt.Sprintf("%s：%s", label, unitName), nil
}

// OpenAccountability opens the record of an escalation to the supervision office by hand (one
// recorded before the desk existed, or one whose record is wanted again): one per escalation, so
// a second call finds the first record. It reports whether the record is new.
func (s *Store) OpenAccountability(ctx context.Context, escalationID string, by access.Actor) (AccountabilityRecord, bool, error) {
	var fresh bool
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var e Escalation
		if err := s.get(ctx, tx, &e, `SELECT `+escCols+escFrom+`WHERE e.id = ?`, escalationID); err != nil {
			return err
		}
		if e.Target != casework.TargetSupervision {
			return fmt.Errorf("escalation %s is addressed to %s: %w", e.ID, e.Target, ErrNotSupervision)
		}
		var err error
		fresh, err = s.openAccountabilityTx(ctx, tx, e, by, now())
		return err
	})
	if err != nil {
		return AccountabilityRecord{}, false, err
	}
	r, err := s.AccountabilityByID(ctx, AccountabilityID(escalationID))
	return r, fresh, err
}

// ErrNotSupervision is an escalation that is not the supervision office's to hold to account.
var ErrNotSupervision = errors.New("not addressed to the supervision office")

// AccountabilityByID reads one record.
func (s *Store) AccountabilityByID(ctx context.Context, id string) (AccountabilityRecord, error) {
	var r AccountabilityRecord
	err := s.get(ctx, s.db, &r, `SELECT `+accCols+accFrom+`WHERE a.id = ?`, id)
	return r, err
}

// AccountabilityFilter narrows the desk.
type AccountabilityFilter struct {
	State    string // open, decided; "" for all
	Process  string
	UnitPath string // the unit and everything under it
	Term     string
	CaseID   string
	Overdue  bool // organisational handling past its month and not carried out
	Limit    int
}

// AccountabilityRecords lists the records the actor sees (everything for the supervision office
// and admins, else those about units in the actor's scopes), the longest-waiting first.
func (s *Store) AccountabilityRecords(ctx context.Context, a access.Actor, f AccountabilityFilter) ([]AccountabilityRecord, error) {
	where := []string{"1=1"}
	var args []any
	if scopes := a.Scopes(); !a.ReadsAll() {
		if len(scopes) == 0 {
			return nil, nil
		}
		under, underArgs := s.underAnyPath("a.unit_path", scopes)
		where, args = append(where, under), append(args, underArgs...)
	}
	for _, c := range []struct{ col, v string }{{"a.state", f.State}, {"a.process", f.Process}, {"a.term", f.Term}, {"a.case_id", f.CaseID}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if f.UnitPath != "" {
		under, underArgs := s.underPath("a.unit_path", f.UnitPath)
		where, args = append(where, under), append(args, underArgs...)
	}
	if f.Overdue {
		where = append(where, "a.handling_done_at IS NULL AND a.handling_due_at IS NOT NULL AND a.handling_due_at < ?")
		args = append(args, now())
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	var rs []AccountabilityRecord
	err := s.sel(ctx, s.db, &rs, `SELECT `+accCols+accFrom+`WHERE `+strings.Join(where, " AND ")+
		` ORDER BY a.opened_at, a.id LIMIT `+itoa(f.Limit), args...)
	return rs, err
}

// AccountabilityDecision is the supervision office's decision on a record.
type AccountabilityDecision struct {
	Measures []string
	Persons  []Person
	Note     string
	By       string
	At       time.Time
	// HandlingDue is when organisational handling, among the measures, must be carried out
	// (JIAOFU_ORGANISATIONAL_HANDLING_DUE from the decision, counted by the caller); a month of
	// calendar days from At when unset.
	HandlingDue time.Time
}

// DecideAccountability records the decision on an open record, closes its escalation with the
// measures, and puts the decision on the audit trail, in one transaction. A record already
// decided answers ErrConflict and changes nothing.
func (s *Store) DecideAccountability(ctx context.Context, id string, d AccountabilityDecision, entry AuditEntry) (AccountabilityRecord, error) {
	if d.At.IsZero() {
		d.At = now()
	}
	persons, err := json.Marshal(orNone(d.Persons))
	if err != nil {
		return AccountabilityRecord{}, err
	}
	var handlingDue *time.Time
	for _, m := range d.Measures {
		if m == MeasureOrganisational {
			due := d.HandlingDue
			if due.IsZero() {
				due = d.At.In(calendar.CST).AddDate(0, 1, 0)
			}
			due = utc(due)
			handlingDue = &due
		}
	}
	err = s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var escID string
		if err := s.get(ctx, tx, &escID, `SELECT escalation_id FROM accountability_records WHERE id = ?`, id); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE accountability_records SET state = ?, measures = ?, persons = ?, note = ?, decided_by = ?,
			decided_at = ?, handling_due_at = ? WHERE id = ? AND state = ?`,
			AccountabilityDecided, strings.Join(d.Measures, ","), string(persons), d.Note, d.By, utc(d.At), handlingDue, id, AccountabilityOpen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		if _, err := s.exec(ctx, tx, `UPDATE escalations SET state = ?, decision = ?, closed_at = ?, closed_by = ? WHERE id = ? AND state = ?`,
			casework.EscalationClosed, strings.Join(d.Measures, ","), utc(d.At), d.By, escID, casework.EscalationOpen); err != nil {
			return err
		}
		if entry.EventKey == "" {
			entry.EventKey = "accountability.decided/" + id
		}
		if entry.At.IsZero() {
			entry.At = d.At
		}
		return s.appendTx(ctx, tx, entry)
	})
	if err != nil {
		return AccountabilityRecord{}, err
	}
	return s.AccountabilityByID(ctx, id)
}

// HandlingDone records that a decision's organisational handling was carried out, with its
// audit entry; a record with none due, or already carried out, answers ErrConflict.
func (s *Store) HandlingDone(ctx context.Context, id, note string, at time.Time, entry AuditEntry) (AccountabilityRecord, error) {
	if at.IsZero() {
		at = now()
	}
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := s.get(ctx, tx, &n, `SELECT COUNT(*) FROM accountability_records WHERE id = ?`, id); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		res, err := s.exec(ctx, tx, `UPDATE accountability_records SET handling_done_at = ?, handling_note = ?
			WHERE id = ? AND handling_due_at IS NOT NULL AND handling_done_at IS NULL`, utc(at), note, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		if entry.EventKey == "" {
			entry.EventKey = "accountability.handling_done/" + id
		}
		if entry.At.IsZero() {
			entry.At = at
		}
		return s.appendTx(ctx, tx, entry)
	})
	if err != nil {
		return AccountabilityRecord{}, err
	}
	return s.AccountabilityByID(ctx, id)
}

// AwaitedHandlings are the decisions whose organisational handling is not carried out yet, the
// oldest first: the service makes sure each has its case (api.StartAwaitedHandlings).
func (s *Store) AwaitedHandlings(ctx context.Context) ([]AccountabilityRecord, error) {
	var rs []AccountabilityRecord
	err := s.sel(ctx, s.db, &rs, `SELECT `+accCols+accFrom+`WHERE a.handling_due_at IS NOT NULL AND a.handling_done_at IS NULL
		ORDER BY a.decided_at, a.id`)
	return rs, err
}

// AccountabilityCount is one cell of the per-term report: how many decisions of the term took a
// measure against (or about) a unit.
type AccountabilityCount struct {
	UnitCode string `json:"unit_code"`
	UnitName string `json:"unit_name"`
	Measure  string `json:"measure"`
	Count    int    `json:"count"`
}

// AccountabilityReport is a term's decisions by unit and measure, with what is still open and
// the organisational handling overdue.
type AccountabilityReport struct {
	Term     string                 `json:"term"`
	Open     int                    `json:"open"`
	Decided  int                    `json:"decided"`
	Rows     []AccountabilityCount  `json:"rows"`
	Measures map[string]int         `json:"measures"`
	Overdue  []AccountabilityRecord `json:"overdue_handling"`
}

// AccountabilityReportOf counts a term's records the actor sees by unit and measure.
func (s *Store) AccountabilityReportOf(ctx context.Context, a access.Actor, term string) (AccountabilityReport, error) {
	rs, err := s.AccountabilityRecords(ctx, a, AccountabilityFilter{Term: term, Limit: 1000})
	if err != nil {
		return AccountabilityReport{}, err
	}
	rep := AccountabilityReport{Term: term, Rows: []AccountabilityCount{}, Measures: map[string]int{}, Overdue: []AccountabilityRecord{}}
	index := map[[2]string]int{}
	at := now()
	for _, r := range rs {
		if r.State == AccountabilityOpen {
			rep.Open++
			continue
		}
		rep.Decided++
		for _, m := range r.Measures() {
			rep.Measures[m]++
			k := [2]string{r.UnitCode, m}
			if i, ok := index[k]; ok {
				rep.Rows[i].Count++
				continue
			}
			index[k] = len(rep.Rows)
			rep.Rows = append(rep.Rows, AccountabilityCount{UnitCode: r.UnitCode, UnitName: r.UnitName, Measure: m, Count: 1})
		}
		if r.HandlingOverdue(at) {
			rep.Overdue = append(rep.Overdue, r)
		}
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		if rep.Rows[i].UnitCode != rep.Rows[j].UnitCode {
			return rep.Rows[i].UnitCode < rep.Rows[j].UnitCode
		}
		return rep.Rows[i].Measure < rep.Rows[j].Measure
	})
	return rep, nil
}

func orNone[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
