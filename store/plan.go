package store

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/casework"
)

// Plan is a work plan (工作方案, such as 建教办〔2019〕18号) whose task list the
// poverty-alleviation office keeps and reviews.
type Plan struct {
	ID        string    `db:"id" json:"id"`
	Year      int       `db:"year" json:"year"`
	Title     string    `db:"title" json:"title"`
	DocNo     string    `db:"doc_no" json:"doc_no"`
	UnitID    string    `db:"unit_id" json:"-"`
	UnitCode  string    `db:"unit_code" json:"unit_code"`
	UnitName  string    `db:"unit_name" json:"unit_name"`
	UnitPath  string    `db:"unit_path" json:"-"`
	CreatedBy string    `db:"created_by" json:"created_by"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// PlanTask is one task of a plan's list (annex 1): its indicators, what is to be done, the lead
// section (牵头股室) and the cooperating ones (配合股室), its deadline (完成时限) and where it stands.
type PlanTask struct {
	ID           string     `db:"id" json:"id"`
	PlanID       string     `db:"plan_id" json:"plan_id"`
	Seq          int        `db:"seq" json:"seq"`
	Level1       string     `db:"level1" json:"level1"`
	Level2       string     `db:"level2" json:"level2"`
	Description  string     `db:"description" json:"description"`
	LeadUnitID   string     `db:"lead_unit_id" json:"-"`
	LeadUnit     string     `db:"lead_unit" json:"lead_unit"`
	LeadUnitName string     `db:"lead_unit_name" json:"lead_unit_name"`
	LeadUnitPath string     `db:"lead_unit_path" json:"-"`
	DueOn        string     `db:"due_on" json:"due_on"`
	DueAt        time.Time  `db:"due_at" json:"due_at"`
	State        string     `db:"state" json:"state"`
	Percent      int        `db:"percent" json:"percent"`
	Attempts     int        `db:"attempts" json:"attempts"`
	Summary      string     `db:"summary" json:"summary,omitempty"`
	EvidenceNote string     `db:"evidence_note" json:"evidence_note,omitempty"`
	ReviewNote   string     `db:"review_note" json:"review_note,omitempty"`
	CreatedBy    string     `db:"created_by" json:"created_by"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
	ClosedAt     *time.Time `db:"closed_at" json:"closed_at,omitempty"`
	Cooperating  []Unit     `db:"-" json:"-"`
}

// PlanTaskReport is a progress report on a task (进展报送), from its lead or a cooperating section.
type PlanTaskReport struct {
	ID           string    `db:"id" json:"id"`
	TaskID       string    `db:"task_id" json:"task_id"`
	UnitID       string    `db:"unit_id" json:"-"`
	UnitCode     string    `db:"unit_code" json:"unit_code"`
	UnitName     string    `db:"unit_name" json:"unit_name"`
	Summary      string    `db:"summary" json:"summary"`
	EvidenceNote string    `db:"evidence_note" json:"evidence_note"`
	Percent      int       `db:"percent" json:"percent"`
	ByUser       string    `db:"by_user" json:"by_user"`
	ByName       string    `db:"by_name" json:"by_name"`
	ReportedAt   time.Time `db:"reported_at" json:"reported_at"`
}

const planCols = `p.id, p.year, p.title, p.doc_no, p.unit_id, o.code AS unit_code, o.name AS unit_name, p.unit_path, p.created_by, p.created_at`
const planFrom = ` FROM plans p JOIN org_units o ON o.id = p.unit_id `

// CreatePlan records a plan with its audit entry.
func (s *Store) CreatePlan(ctx context.Context, p Plan, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO plans (id, year, title, doc_no, unit_id, unit_path, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.Year, p.Title, p.DocNo, p.UnitID, p.UnitPath, p.CreatedBy, utc(p.CreatedAt)); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// PlanByID reads one plan.
func (s *Store) PlanByID(ctx context.Context, id string) (Plan, error) {
	var p Plan
	err := s.get(ctx, s.db, &p, `SELECT `+planCols+planFrom+`WHERE p.id = ?`, id)
	return p, err
}

// Plans lists plans, newest year first; year 0 for every year.
func (s *Store) Plans(ctx context.Context, year int) ([]Plan, error) {
	query, args := `SELECT `+planCols+planFrom, []any{}
	if year > 0 {
		query, args = query+`WHERE p.year = ? `, append(args, year)
	}
	var ps []Plan
	err := s.sel(ctx, s.db, &ps, query+`ORDER BY p.year DESC, p.created_at DESC LIMIT 200`, args...)
	return ps, err
}

const planTaskCols = `t.id, t.plan_id, t.seq, t.level1, t.level2, t.description, t.lead_unit_id, o.code AS lead_unit, o.name AS lead_unit_name,
	t.lead_unit_path, t.due_on, t.due_at, t.state, t.percent, t.attempts, t.summary, t.evidence_note, t.review_note, t.created_by,
	t.created_at, t.updated_at, t.closed_at`
const planTaskFrom = ` FROM plan_tasks t JOIN org_units o ON o.id = t.lead_unit_id `

// InsertPlanTasks records new tasks of a plan (state opening, numbered after the plan's last)
// with their cooperating sections and audit entries, all in one transaction: a list is
// recorded whole or not at all. A task already on record (the same id: the same row imported
// again) is left as it is and not returned. It returns the tasks it recorded.
func (s *Store) InsertPlanTasks(ctx context.Context, ts []PlanTask, entries []AuditEntry) ([]PlanTask, error) {
	var added []PlanTask
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		added = added[:0]
		for i, t := range ts {
			var n int
			if err := s.get(ctx, tx, &n, `SELECT COUNT(*) FROM plan_tasks WHERE id = ?`, t.ID); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			var seq int
			if err := s.get(ctx, tx, &seq, `SELECT COALESCE(MAX(seq), 0) FROM plan_tasks WHERE plan_id = ?`, t.PlanID); err != nil {
				return err
			}
			t.Seq = seq + 1
			at := utc(t.CreatedAt)
			if _, err := s.exec(ctx, tx, `INSERT INTO plan_tasks (id, plan_id, seq, level1, level2, description, lead_unit_id, lead_unit_path,
				due_on, due_at, state, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.ID, t.PlanID, t.Seq, t.Level1, t.Level2, t.Description, t.LeadUnitID, t.LeadUnitPath, t.DueOn, utc(t.DueAt), t.State,
				t.CreatedBy, at, at); err != nil {
				return err
			}
			for pos, u := range t.Cooperating {
				if _, err := s.exec(ctx, tx, `INSERT INTO plan_task_units (task_id, unit_id, unit_path, pos) VALUES (?, ?, ?, ?)`,
					t.ID, u.ID, u.Path, pos); err != nil {
					return err
				}
			}
			if i < len(entries) {
				if err := s.appendTx(ctx, tx, entries[i]); err != nil {
					return err
				}
			}
			added = append(added, t)
		}
		return nil
	})
	return added, err
}

// PlanTaskByID reads one task with its cooperating sections.
func (s *Store) PlanTaskByID(ctx context.Context, id string) (PlanTask, error) {
	var t PlanTask
	if err := s.get(ctx, s.db, &t, `SELECT `+planTaskCols+planTaskFrom+`WHERE t.id = ?`, id); err != nil {
		return t, err
	}
	ts := []PlanTask{t}
	err := s.cooperating(ctx, ts)
	return ts[0], err
}

// PlanTaskFilter narrows a task list.
type PlanTaskFilter struct {
	PlanID string
	State  string
	// UnitPath: tasks led by, or with the cooperation of, the unit at this path.
	UnitPath string
}

// PlanTasks lists tasks in list order, with their cooperating sections.
func (s *Store) PlanTasks(ctx context.Context, f PlanTaskFilter) ([]PlanTask, error) {
	query, args := `SELECT `+planTaskCols+planTaskFrom+`WHERE 1 = 1`, []any{}
	if f.PlanID != "" {
		query, args = query+` AND t.plan_id = ?`, append(args, f.PlanID)
	}
	if f.State != "" {
		query, args = query+` AND t.state = ?`, append(args, f.State)
	}
	if f.UnitPath != "" {
		query += ` AND (t.lead_unit_path = ? OR EXISTS (SELECT 1 FROM plan_task_units u WHERE u.task_id = t.id AND u.unit_path = ?))`
		args = append(args, f.UnitPath, f.UnitPath)
	}
	var ts []PlanTask
	if err := s.sel(ctx, s.db, &ts, query+` ORDER BY t.plan_id, t.seq LIMIT 2000`, args...); err != nil {
		return nil, err
	}
	return ts, s.cooperating(ctx, ts)
}

// OpeningPlanTasks lists tasks recorded whose case has not started yet (the service starts them).
func (s *Store) OpeningPlanTasks(ctx context.Context) ([]PlanTask, error) {
	return s.PlanTasks(ctx, PlanTaskFilter{State: "opening"})
}

func (s *Store) cooperating(ctx context.Context, ts []PlanTask) error {
	if len(ts) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ts))
	const chunk = 500
	for lo := 0; lo < len(ts); lo += chunk {
		part := ts[lo:min(lo+chunk, len(ts))]
		args := make([]any, len(part))
		for i, t := range part {
			args[i], idx[t.ID] = t.ID, lo+i
		}
		var rows []struct {
			TaskID string `db:"task_id"`
			Unit
		}
		if err := s.sel(ctx, s.db, &rows, `SELECT tu.task_id, `+unitCols+` FROM plan_task_units tu JOIN org_units u ON u.id = tu.unit_id
			LEFT JOIN org_units p ON p.id = u.parent_id WHERE tu.task_id IN (`+placeholders(len(part))+`) ORDER BY tu.task_id, tu.pos`, args...); err != nil {
			return err
		}
		for _, r := range rows {
			i := idx[r.TaskID]
			ts[i].Cooperating = append(ts[i].Cooperating, r.Unit)
		}
	}
	return nil
}

// SetPlanTask writes a step of a task's case to its row (idempotent: activities retry). A task
// never goes back to opening, and a closed task stays closed.
func (s *Store) SetPlanTask(ctx context.Context, t PlanTask, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var closed *time.Time
		if t.ClosedAt != nil {
			c := utc(*t.ClosedAt)
			closed = &c
		}
		if _, err := s.exec(ctx, tx, `UPDATE plan_tasks SET state = ?, attempts = ?, summary = ?, evidence_note = ?, review_note = ?,
			due_at = ?, updated_at = ?, closed_at = ? WHERE id = ? AND state <> 'closed'`, t.State, t.Attempts, t.Summary, t.EvidenceNote,
			t.ReviewNote, utc(t.DueAt), now(), closed, t.ID); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// AddPlanTaskReport records a progress report and makes its percent the task's, with its audit
// entry, in one transaction.
func (s *Store) AddPlanTaskReport(ctx context.Context, r PlanTaskReport, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO plan_task_reports (id, task_id, unit_id, summary, evidence_note, percent, by_user, reported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.TaskID, r.UnitID, r.Summary, r.EvidenceNote, r.Percent, r.ByUser, utc(r.ReportedAt)); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE plan_tasks SET percent = ?, updated_at = ? WHERE id = ?`, r.Percent, now(), r.TaskID); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// PlanTaskReports lists a task's progress reports, oldest first.
func (s *Store) PlanTaskReports(ctx context.Context, taskID string) ([]PlanTaskReport, error) {
	var rs []PlanTaskReport
	err := s.sel(ctx, s.db, &rs, `SELECT r.id, r.task_id, r.unit_id, o.code AS unit_code, o.name AS unit_name, r.summary, r.evidence_note,
		r.percent, r.by_user, COALESCE(u.display_name, r.by_user) AS by_name, r.reported_at
		FROM plan_task_reports r JOIN org_units o ON o.id = r.unit_id LEFT JOIN users u ON u.id = r.by_user
		WHERE r.task_id = ? ORDER BY r.reported_at, r.id`, taskID)
	return rs, err
}

// SetUnitAlias records another name a task list may give a unit (资助中心 → 县学生资助管理中心).
func (s *Store) SetUnitAlias(ctx context.Context, alias, unitID string) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO unit_aliases (alias, unit_id) VALUES (?, ?)
		ON CONFLICT (alias) DO UPDATE SET unit_id = excluded.unit_id`, alias, unitID)
	return err
}

// UnitAlias is another name of a unit.
type UnitAlias struct {
	Alias    string `db:"alias" json:"alias"`
	UnitCode string `db:"unit_code" json:"unit_code"`
	UnitName string `db:"unit_name" json:"unit_name"`
}

// UnitAliases lists the other names of units, by name.
func (s *Store) UnitAliases(ctx context.Context) ([]UnitAlias, error) {
	var as []UnitAlias
	err := s.sel(ctx, s.db, &as, `SELECT a.alias, o.code AS unit_code, o.name AS unit_name FROM unit_aliases a
		JOIN org_units o ON o.id = a.unit_id ORDER BY a.alias`)
	return as, err
}

// UnitNamed finds the unit a list names: by its code, its name, or an alias. Several units of
// one name (two townships' 中心幼儿园) answer ErrConflict: the list must give the code.
func (s *Store) UnitNamed(ctx context.Context, name string) (Unit, error) {
	name = strings.TrimSpace(name)
	var us []Unit
	if err := s.sel(ctx, s.db, &us, `SELECT `+unitCols+unitFrom+`WHERE u.code = ? OR u.name = ?
		OR u.id IN (SELECT unit_id FROM unit_aliases WHERE alias = ?) ORDER BY u.path`, name, name, name); err != nil {
		return Unit{}, err
	}
	switch {
	case len(us) == 0:
		return Unit{}, ErrNotFound
	case len(us) > 1 && us[0].Code != name:
		return Unit{}, ErrConflict
	}
	return us[0], nil
}

// OpenTasksOfCases lists the open human tasks of cases, by case id.
func (s *Store) OpenTasksOfCases(ctx context.Context, caseIDs []string) (map[string][]casework.Task, error) {
	out := map[string][]casework.Task{}
	const chunk = 500
	for lo := 0; lo < len(caseIDs); lo += chunk {
		part := caseIDs[lo:min(lo+chunk, len(caseIDs))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		var ts []casework.Task
		if err := s.sel(ctx, s.db, &ts, `SELECT `+taskCols+taskFrom+`WHERE t.state = 'open' AND t.case_id IN (`+placeholders(len(part))+`)
			ORDER BY t.due_at, t.id`, args...); err != nil {
			return nil, err
		}
		for _, t := range ts {
			out[t.CaseID] = append(out[t.CaseID], t)
		}
	}
	return out, nil
}
