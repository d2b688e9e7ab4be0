package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/schema"
)

const taskCols = `t.id, t.workflow_id, t.process, t.kind, t.case_id, t.title, t.candidate_role, t.unit_id, o.code AS unit_code,
	o.name AS unit_name, t.unit_path, t.assignee_id, t.state, t.outcome, t.outcomes, t.due_at, t.escalation_level, t.urge_count,
	t.created_at, t.completed_at, t.completed_by, t.revision, t.delegate_id, t.step_id, t.signing, t.added_to, t.owner_id`
const taskFrom = ` FROM tasks t JOIN org_units o ON o.id = t.unit_id `

// UpsertTask writes a task's projection when it is newer than the row's (see ProjectTask); the
// same write again changes nothing (activities retry).
func (s *Store) UpsertTask(ctx context.Context, t casework.Task) error {
	return s.upsertTask(ctx, s.db, t, false)
}

// ProjectTask writes a task's projection and its audit entry in one transaction: both or neither.
// The projection lands only when it is newer than the row's. Task.Revision is the workflow's
// count of the task's projections (workflows.TaskState.Rev), so "newer" is the workflow's order,
// not the order in which retried, concurrent activities happen to reach the database. Revision
// 0 is a write scheduled by a workflow before revisions existed (an old history's activity
// input, still retrying): such a write is older than any that has a revision, since every
// projection a workflow makes after the upgrade has one; among themselves they land as they
// always did, last one wins, except that none reopens a finished task (a task never reopens).
// A task the write leaves finished closes its reminders and superior escalations (settle).
func (s *Store) ProjectTask(ctx context.Context, t casework.Task, entry AuditEntry) error {
	return s.ProjectTaskCC(ctx, t, entry, nil, "")
}

// ProjectTaskCC is ProjectTask that also copies the task's case to the users cc (抄送), by the
// user by: one copy per person and case, a second one changing nothing. Every write of a task a
// person acted on puts the act on their done list (task_acts) in the same transaction.
func (s *Store) ProjectTaskCC(ctx context.Context, t casework.Task, entry AuditEntry, cc []string, by string) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.upsertTask(ctx, tx, t, false); err != nil {
			return err
		}
		if err := s.settleEscalations(ctx, tx, t.ID); err != nil {
			return err
		}
		if act := doneActs[entry.Action]; act != "" && entry.ActorID != "" && entry.ActorID != access.System.UserID {
			at := entry.At
			if at.IsZero() {
				at = now()
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO task_acts (task_id, user_id, action, at) VALUES (?, ?, ?, ?)
				ON CONFLICT (task_id, user_id) DO UPDATE SET action = excluded.action, at = excluded.at WHERE excluded.at >= task_acts.at`,
				t.ID, entry.ActorID, act, utc(at)); err != nil {
				return err
			}
		}
		for _, u := range cc {
			if _, err := s.exec(ctx, tx, `INSERT INTO case_cc (case_id, user_id, process, task_id, title, unit_path, by_user, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, user_id) DO NOTHING`,
				t.CaseID, u, t.Process, t.ID, t.Title, t.UnitPath, by, utc(entry.At)); err != nil {
				return err
			}
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// doneActs are the audit actions that put a task on its actor's done list, with the act's name.
var doneActs = map[string]string{"task.completed": "completed", "task.resolved": "resolved", "task.delegated": "delegated",
	"task.transferred": "transferred", "task.signers_added": "added_signers"}

// DoneTask is a task on a person's done list: the task as it is now, and what they did to it.
type DoneTask struct {
	casework.Task
	MyAction string    `db:"my_action" json:"my_action"`
	ActedAt  time.Time `db:"acted_at" json:"acted_at"`
}

// DoneList is the tasks the user completed or acted on (已办), the latest act first, with the
// task's state and outcome now: a transferred task is on the list of who transferred it as
// transferred and of who completed it as completed, a delegated one on the delegate's as
// resolved and on the owner's as completed once they complete it.
func (s *Store) DoneList(ctx context.Context, userID string, f TaskFilter) ([]DoneTask, error) {
	where, args := []string{"a.user_id = ?"}, []any{userID}
	for col, v := range map[string]string{"t.process": f.Process, "t.kind": f.Kind, "t.case_id": f.CaseID} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	var ts []DoneTask
	err := s.sel(ctx, s.db, &ts, `SELECT `+taskCols+`, a.action AS my_action, a.at AS acted_at`+taskFrom+
		`JOIN task_acts a ON a.task_id = t.id WHERE `+strings.Join(where, " AND ")+` ORDER BY a.at DESC, t.id LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	return ts, err
}

// CC is a case copied to a person (抄送).
type CC struct {
	CaseID    string     `db:"case_id" json:"case_id"`
	UserID    string     `db:"user_id" json:"user_id"`
	Process   string     `db:"process" json:"process"`
	TaskID    string     `db:"task_id" json:"task_id"`
	Title     string     `db:"title" json:"title"`
	By        string     `db:"by_user" json:"by_user"`
	ByName    string     `db:"by_name" json:"by_name"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	ReadAt    *time.Time `db:"read_at" json:"read_at,omitempty"`
	// Reason is why the case was copied: "" by a person through a task, "auto" by a rule of the
	// registry, "unstaffed" the admins' alert about a task nobody could take at its unit; Label
	// says what the copy is about.
	Reason string `db:"reason" json:"reason,omitempty"`
	Label  string `db:"label" json:"label,omitempty"`
}

// CCs lists the cases copied to the user, newest first: read "unread", "read" or "" (both).
func (s *Store) CCs(ctx context.Context, userID, read string, limit int) ([]CC, error) {
	where := "c.user_id = ?"
	switch read {
	case "unread":
		where += " AND c.read_at IS NULL"
	case "read":
		where += " AND c.read_at IS NOT NULL"
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var cs []CC
	err := s.sel(ctx, s.db, &cs, `SELECT c.case_id, c.user_id, c.process, c.task_id, c.title, c.by_user, COALESCE(u.display_name, c.by_user) AS by_name,
		c.created_at, c.read_at, c.reason, c.label FROM case_cc c LEFT JOIN users u ON u.id = c.by_user WHERE `+where+` ORDER BY c.created_at DESC, c.case_id LIMIT `+itoa(limit), userID)
	return cs, err
}

// CopiedTo reports which of users already have a copy of the case.
func (s *Store) CopiedTo(ctx context.Context, caseID string, users ...string) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	args := []any{caseID}
	for _, u := range users {
		args = append(args, u)
	}
	var got []string
	err := s.sel(ctx, s.db, &got, `SELECT user_id FROM case_cc WHERE case_id = ? AND user_id IN (?`+strings.Repeat(", ?", len(users)-1)+`) ORDER BY user_id`, args...)
	return got, err
}

// MarkCCRead marks the user's copy of the case read (已阅); ErrNotFound when they have none. A
// copy read already stays read as it was.
func (s *Store) MarkCCRead(ctx context.Context, caseID, userID string) (CC, error) {
	if _, err := s.exec(ctx, s.db, `UPDATE case_cc SET read_at = ? WHERE case_id = ? AND user_id = ? AND read_at IS NULL`, now(), caseID, userID); err != nil {
		return CC{}, err
	}
	var c CC
	err := s.get(ctx, s.db, &c, `SELECT c.case_id, c.user_id, c.process, c.task_id, c.title, c.by_user, COALESCE(u.display_name, c.by_user) AS by_name,
		c.created_at, c.read_at, c.reason, c.label FROM case_cc c LEFT JOIN users u ON u.id = c.by_user WHERE c.case_id = ? AND c.user_id = ?`, caseID, userID)
	return c, err
}

// upsertTask is the one write of a task row. onlyOpen is an escalation's copy of an open task: it
// lands only on a row that is still open (see RecordEscalation).
func (s *Store) upsertTask(ctx context.Context, db q, t casework.Task, onlyOpen bool) error {
	if onlyOpen && t.Revision == 0 {
		// A copy without a revision cannot tell whether the row's other columns are newer than its
		// own (a claim that landed first): it only raises the level, of an open row that no
		// write with a revision has passed.
		_, err := s.exec(ctx, db, `UPDATE tasks SET escalation_level = ? WHERE id = ? AND state = ? AND revision = 0
			AND escalation_level < ?`, t.EscalationLevel, t.ID, casework.TaskOpen, t.EscalationLevel)
		return err
	}
	newer := `(excluded.revision > tasks.revision OR (excluded.revision = 0 AND tasks.revision = 0 AND
		(tasks.state = ? OR excluded.state <> ?)))`
	args := []any{t.ID, t.WorkflowID, t.Process, t.Kind, t.CaseID, t.Title, t.CandidateRole, t.UnitID, t.UnitPath, t.AssigneeID, t.State,
		t.Outcome, t.Outcomes, utc(t.DueAt), t.EscalationLevel, t.UrgeCount, utc(t.CreatedAt), t.CompletedAt, t.CompletedBy, t.Revision,
		t.DelegateID, t.StepID, t.Signing, t.AddedTo, t.OwnerID, casework.TaskOpen, casework.TaskOpen}
	if onlyOpen {
		newer += ` AND tasks.state = ?`
		args = append(args, casework.TaskOpen)
	}
	_, err := s.exec(ctx, db, `INSERT INTO tasks (id, workflow_id, process, kind, case_id, title, candidate_role, unit_id, unit_path,
		assignee_id, state, outcome, outcomes, due_at, escalation_level, urge_count, created_at, completed_at, completed_by, revision, delegate_id,
		step_id, signing, added_to, owner_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET assignee_id = excluded.assignee_id, state = excluded.state, outcome = excluded.outcome,
		candidate_role = excluded.candidate_role, unit_id = excluded.unit_id, unit_path = excluded.unit_path,
		due_at = excluded.due_at, escalation_level = excluded.escalation_level, urge_count = excluded.urge_count,
		completed_at = excluded.completed_at, completed_by = excluded.completed_by, revision = excluded.revision,
		delegate_id = excluded.delegate_id, step_id = excluded.step_id, signing = excluded.signing, added_to = excluded.added_to,
		owner_id = excluded.owner_id
		WHERE `+newer, args...)
	return err
}

// TaskByID reads one task projection.
func (s *Store) TaskByID(ctx context.Context, id string) (casework.Task, error) {
	var t casework.Task
	err := s.get(ctx, s.db, &t, `SELECT `+taskCols+taskFrom+`WHERE t.id = ?`, id)
	return t, err
}

// TaskFilter narrows an inbox.
type TaskFilter struct {
	State   string // open (default), done, all
	Process string
	Kind    string
	CaseID  string
	Limit   int
	Offset  int
}

// Inbox lists the tasks the actor may act on: those assigned to them (a delegated one shows its
// delegate_id), those delegated to them, and unclaimed ones whose candidate role they hold at a
// unit covering the task's unit.
//
// The page is found in two steps. First the ids: one branch per way of qualifying (assigned to
// me; each role in its scope), each answered from an index alone (tasks_assignee, tasks_inbox
// carry due_at and id, so no table row is read) and cut to the page's window before the branches
// are merged. Then only the page's rows are read. A single OR query read every qualifying row
// (a township's ~1,200 open tasks at 1,000,000 rows) to sort them and keep 100; see
// docs/benchmarks.md, workload 5.
func (s *Store) Inbox(ctx context.Context, a access.Actor, f TaskFilter) ([]casework.Task, error) {
	query, args := s.inboxQuery(a, f)
	var ts []casework.Task
	err := s.sel(ctx, s.db, &ts, query, args...)
	return ts, err
}

// ExplainInbox runs PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) on the query Inbox would run (for
// the benchmark's report).
func (s *Store) ExplainInbox(ctx context.Context, a access.Actor, f TaskFilter) ([]string, error) {
	if s.dialect != schema.Postgres {
		return nil, fmt.Errorf("ExplainInbox: PostgreSQL only")
	}
	query, args := s.inboxQuery(a, f)
	var plan []string
	err := s.sel(ctx, s.db, &plan, `EXPLAIN (ANALYZE, BUFFERS) `+query, args...)
	return plan, err
}

func (s *Store) inboxQuery(a access.Actor, f TaskFilter) (string, []any) {
	var filters []string
	var filterArgs []any
	if f.State == "" {
		f.State = casework.TaskOpen
	}
	if f.State != "all" {
		filters = append(filters, `state = ?`)
		filterArgs = append(filterArgs, f.State)
	}
	if f.Process != "" {
		filters = append(filters, `process = ?`)
		filterArgs = append(filterArgs, f.Process)
	}
	if f.Kind != "" {
		filters = append(filters, `kind = ?`)
		filterArgs = append(filterArgs, f.Kind)
	}
	if f.CaseID != "" {
		filters = append(filters, `case_id = ?`)
		filterArgs = append(filterArgs, f.CaseID)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	if f.CaseID != "" {
		// One case's tasks are a handful: read them through tasks_case in one query. Split into
		// branches, SQLite (no planner statistics) answered the assigned branch from
		// tasks_assignee — every task the person ever completed — and the read slowed as they
		// worked (benchmark run 8, workload 3).
		ors := []string{`t.assignee_id = ?`, `t.delegate_id = ?`}
		args := []any{a.UserID, a.UserID}
		for _, r := range a.Roles {
			under, underArgs := s.underPath("t.unit_path", r.Scope())
			ors = append(ors, `(t.candidate_role = ? AND `+under+` AND t.assignee_id = '')`)
			args = append(append(args, r.Role), underArgs...)
		}
		where := "(" + strings.Join(ors, " OR ") + ")"
		for _, c := range filters {
			where += " AND t." + c
		}
		args = append(append(args, filterArgs...), f.Limit, f.Offset)
		return `SELECT ` + taskCols + taskFrom + `WHERE ` + where + ` ORDER BY t.due_at, t.id LIMIT ? OFFSET ?`, args
	}
	type branch struct {
		cond string
		args []any
	}
	// "<> ''" names the partial index tasks_assignee (and keeps an empty user id from
	// matching every unclaimed task).
	branches := []branch{{`assignee_id = ? AND assignee_id <> ''`, []any{a.UserID}},
		// A task delegated to me (委派) is in my inbox until I resolve it (tasks_delegate).
		{`delegate_id = ? AND delegate_id <> ''`, []any{a.UserID}}}
	for _, r := range a.Roles {
		under, underArgs := s.underPath("unit_path", r.Scope())
		branches = append(branches, branch{`candidate_role = ? AND ` + under + ` AND assignee_id = ''`, append([]any{r.Role}, underArgs...)})
	}
	var parts []string
	var args []any
	for i, b := range branches {
		// A task may qualify by two roles; UNION keeps it once. Each branch's first
		// offset+limit ids hold every id of the merged page.
		parts = append(parts, fmt.Sprintf(`SELECT * FROM (SELECT id, due_at FROM tasks WHERE %s ORDER BY due_at, id LIMIT ?) b%d`,
			strings.Join(append([]string{b.cond}, filters...), " AND "), i))
		args = append(append(append(args, b.args...), filterArgs...), f.Offset+f.Limit)
	}
	args = append(args, f.Limit, f.Offset)
	return `SELECT ` + taskCols + taskFrom + `WHERE t.id IN (SELECT id FROM (` + strings.Join(parts, " UNION ") +
		`) mine ORDER BY due_at, id LIMIT ? OFFSET ?) ORDER BY t.due_at, t.id`, args
}

// TasksOfCase lists every task of a case, oldest first.
func (s *Store) TasksOfCase(ctx context.Context, caseID string) ([]casework.Task, error) {
	var ts []casework.Task
	err := s.sel(ctx, s.db, &ts, `SELECT `+taskCols+taskFrom+`WHERE t.case_id = ? ORDER BY t.created_at, t.id`, caseID)
	return ts, err
}

// Rung is one step of an escalation ladder: After past the due time, go to Target.
type Rung struct {
	TaskKind string `db:"task_kind" json:"task_kind"`
	Rung     int    `db:"rung" json:"rung"`
	After    string `db:"after" json:"after"`
	Target   string `db:"target" json:"target"`
}

// Ladder returns a task kind's rungs in order, or the "default" ladder when the kind has none.
func (s *Store) Ladder(ctx context.Context, kind string) ([]Rung, error) {
	rs, err := s.OwnLadder(ctx, kind)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 && kind != "default" {
		return s.Ladder(ctx, "default")
	}
	return rs, nil
}

// OwnLadder returns the rungs stored for exactly this kind, none when an admin stored none (a
// case deadline then climbs the ladder its process declares).
func (s *Store) OwnLadder(ctx context.Context, kind string) ([]Rung, error) {
	var rs []Rung
	err := s.sel(ctx, s.db, &rs, `SELECT task_kind, rung, after, target FROM escalation_rungs WHERE task_kind = ? ORDER BY rung`, kind)
	return rs, err
}

// Ladders lists every configured ladder.
func (s *Store) Ladders(ctx context.Context) ([]Rung, error) {
	var rs []Rung
	err := s.sel(ctx, s.db, &rs, `SELECT task_kind, rung, after, target FROM escalation_rungs ORDER BY task_kind, rung`)
	return rs, err
}

// SetLadder replaces a kind's rungs atomically.
func (s *Store) SetLadder(ctx context.Context, kind string, rungs []Rung) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM escalation_rungs WHERE task_kind = ?`, kind); err != nil {
			return err
		}
		for i, r := range rungs {
			if _, err := s.exec(ctx, tx, `INSERT INTO escalation_rungs (task_kind, rung, after, target) VALUES (?, ?, ?, ?)`,
				kind, i+1, r.After, r.Target); err != nil {
				return err
			}
		}
		return nil
	})
}

// Escalation is one rung that fired: a record in the target unit's (and, for supervision, the
// supervision office's) escalation inbox.
type Escalation struct {
	ID         string `db:"id" json:"id"`
	Process    string `db:"process" json:"process"`
	CaseID     string `db:"case_id" json:"case_id"`
	TaskID     string `db:"task_id" json:"task_id,omitempty"`
	TaskKind   string `db:"task_kind" json:"task_kind,omitempty"`
	Rung       int    `db:"rung" json:"rung"`
	Target     string `db:"target" json:"target"`
	UnitID     string `db:"unit_id" json:"unit_id"`
	UnitCode   string `db:"unit_code" json:"unit_code"`
	UnitName   string `db:"unit_name" json:"unit_name"`
	UnitPath   string `db:"unit_path" json:"unit_path"`
	SourceUnit string `db:"source_unit" json:"source_unit"`
	// SourceUnitName is the source unit's name, for people who do not read unit codes.
	SourceUnitName string `db:"source_unit_name" json:"source_unit_name"`
	// ResponsibleID is who answers for the source unit on the 包保 chain ("" when nobody is set);
	// on a teacher's rung the duty's holder, on a school leader's rung the school's leader.
	ResponsibleID   string `db:"responsible_id" json:"responsible_id,omitempty"`
	ResponsibleName string `db:"responsible_name" json:"responsible_name,omitempty"`
	// HolderID is who held the task when its rung fell due (its delegate while delegated, else its
	// assignee; "" for a task nobody had taken, or a case's deadline): a transfer moves the next
	// rungs to the new holder.
	HolderID   string `db:"holder_id" json:"holder_id,omitempty"`
	HolderName string `db:"holder_name" json:"holder_name,omitempty"`
	Reason     string `db:"reason" json:"reason"`
	State      string `db:"state" json:"state"`
	Decision   string `db:"decision" json:"decision,omitempty"`
	// DueAt is when the rung (or the case's deadline) fell due; RecordedAt when the escalation was
	// put on record. They differ by the time the service was down or could not reach the store.
	DueAt      time.Time `db:"due_at" json:"due_at"`
	RecordedAt time.Time `db:"recorded_at" json:"recorded_at"`
	// CreatedAt is due_at under the name the API gave it before due_at and recorded_at were
	// told apart; kept because outside clients read it.
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	ClosedAt  *time.Time `db:"closed_at" json:"closed_at,omitempty"`
	ClosedBy  string     `db:"closed_by" json:"closed_by,omitempty"`
}

const escCols = `e.id, e.process, e.case_id, e.task_id, e.task_kind, e.rung, e.target, e.unit_id, o.code AS unit_code, o.name AS unit_name,
	e.unit_path, e.source_unit, COALESCE(su.name, e.source_unit) AS source_unit_name, e.responsible_id, COALESCE(u.display_name, '') AS responsible_name, e.reason, e.state, e.decision,
	e.due_at, e.recorded_at, e.due_at AS created_at, e.closed_at, e.closed_by, e.holder_id, COALESCE(hu.display_name, '') AS holder_name`
const escFrom = ` FROM escalations e JOIN org_units o ON o.id = e.unit_id LEFT JOIN org_units su ON su.code = e.source_unit
	LEFT JOIN users u ON u.id = e.responsible_id LEFT JOIN users hu ON hu.id = e.holder_id `

// RecordEscalation records an escalation once, with its audit entry, in one transaction: its id
// is derived from the task and rung (or the case's event), so a retried activity writes nothing
// twice. It reports whether the row is new. RecordedAt is the caller's (its audit entry says the
// same instant); zero means now.
//
// task is the escalating activity's copy of the task, taken by the workflow while the task was
// open; nil for a case's escalation. The copy lands only on a row that is still open and not
// newer than it, so a late escalation never reopens a task or undoes a claim. A completion and an
// escalation of the same task may reach the store in either order: both lock the task's row
// first, and whichever commits last closes the reminder or superior escalation of a task that is
// no longer open (settleEscalations).
func (s *Store) RecordEscalation(ctx context.Context, e Escalation, task *casework.Task, entry AuditEntry) (bool, error) {
	if e.RecordedAt.IsZero() {
		e.RecordedAt = now()
	}
	var fresh bool
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if task != nil {
			if err := s.lockTask(ctx, tx, task.ID); err != nil {
				return err
			}
			if err := s.upsertTask(ctx, tx, *task, true); err != nil {
				return err
			}
		}
		res, err := s.exec(ctx, tx, `INSERT INTO escalations (id, process, case_id, task_id, task_kind, rung, target, unit_id, unit_path,
			source_unit, responsible_id, reason, state, due_at, recorded_at, holder_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Process, e.CaseID, e.TaskID, e.TaskKind, e.Rung, e.Target, e.UnitID, e.UnitPath, e.SourceUnit, e.ResponsibleID, e.Reason,
			casework.EscalationOpen, utc(e.DueAt), utc(e.RecordedAt), e.HolderID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		if e.TaskID != "" {
			if err := s.settleEscalations(ctx, tx, e.TaskID); err != nil {
				return err
			}
		}
		if err := s.appendTx(ctx, tx, entry); err != nil {
			return err
		}
		// The supervision office's copy opens its accountability record in the same transaction:
		// the desk is fed by the escalation itself, nobody forwards it (issue 16). A retry finds
		// the record open already and writes nothing.
		if e.Target == casework.TargetSupervision {
			if _, err := s.openAccountabilityTx(ctx, tx, e, access.System, e.RecordedAt); err != nil {
				return err
			}
		}
		return nil
	})
	return fresh, err
}

// lockTask takes the task row's lock for the rest of the transaction on PostgreSQL (SQLite's
// write transactions are serial already). A missing row is not an error.
func (s *Store) lockTask(ctx context.Context, tx *sqlx.Tx, id string) error {
	if s.dialect != schema.Postgres {
		return nil
	}
	var got string
	if err := s.get(ctx, tx, &got, `SELECT id FROM tasks WHERE id = ? FOR UPDATE`, id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// settleEscalations closes the reminders and superior escalations of a task that is no longer
// open: done, they are answered; cancelled, moot. The supervision office's stay open: it decides
// on accountability itself. It runs in every transaction that writes a task's row or one of its
// escalations, after the write, so that the closing does not depend on which lands last.
func (s *Store) settleEscalations(ctx context.Context, tx *sqlx.Tx, taskID string) error {
	var state string
	if err := s.get(ctx, tx, &state, `SELECT state FROM tasks WHERE id = ?`, taskID); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	decision := map[string]string{casework.TaskDone: "task completed", casework.TaskCancelled: "task withdrawn"}[state]
	if decision == "" {
		return nil
	}
	_, err := s.exec(ctx, tx, `UPDATE escalations SET state = ?, decision = ?, closed_at = ?, closed_by = 'system'
		WHERE task_id = ? AND state = ? AND target <> ?`, casework.EscalationClosed, decision, now(), taskID, casework.EscalationOpen, casework.TargetSupervision)
	return err
}

// EscalationFilter narrows the escalation inbox.
type EscalationFilter struct {
	State   string
	Target  string
	Process string
	CaseID  string
	Limit   int
}

// Escalations lists escalations the actor sees: everything for supervision and admins, else those
// addressed to units within the actor's scopes.
func (s *Store) Escalations(ctx context.Context, a access.Actor, f EscalationFilter) ([]Escalation, error) {
	where := []string{"1=1"}
	var args []any
	if scopes := a.Scopes(); !a.ReadsAll() {
		if len(scopes) == 0 {
			return nil, nil
		}
		under, underArgs := s.underAnyPath("e.unit_path", scopes)
		where, args = append(where, under), append(args, underArgs...)
	}
	for col, v := range map[string]string{"e.state": f.State, "e.target": f.Target, "e.process": f.Process, "e.case_id": f.CaseID} {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	var es []Escalation
	err := s.sel(ctx, s.db, &es, `SELECT `+escCols+escFrom+`WHERE `+
		strings.Join(where, " AND ")+` ORDER BY e.due_at DESC, e.id LIMIT `+itoa(f.Limit), args...)
	return es, err
}

// EscalationByID reads one escalation.
func (s *Store) EscalationByID(ctx context.Context, id string) (Escalation, error) {
	var e Escalation
	err := s.get(ctx, s.db, &e, `SELECT `+escCols+escFrom+`WHERE e.id = ?`, id)
	return e, err
}

// CloseEscalation records the decision on an open escalation; a closed one answers ErrConflict.
func (s *Store) CloseEscalation(ctx context.Context, id, decision, by string) error {
	res, err := s.exec(ctx, s.db, `UPDATE escalations SET state = ?, decision = ?, closed_at = ?, closed_by = ? WHERE id = ? AND state = ?`,
		casework.EscalationClosed, decision, now(), by, id, casework.EscalationOpen)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.EscalationByID(ctx, id); err != nil {
			return err
		}
		return ErrConflict
	}
	return nil
}
