package store

import (
	"context"
	"time"
)

// DutyCount is one process's duties at one unit: still open, done, and overdue among the open.
type DutyCount struct {
	Open    int `json:"open"`
	Done    int `json:"done"`
	Overdue int `json:"overdue"`
	// LastClosedAt is the latest 销号 among the done ones, where a process closes duties out one
	// by one (plan tasks).
	LastClosedAt *time.Time `json:"last_closed_at,omitempty"`
}

// DutyCounts are the duties of every process at units, by unit path (each row counts at the
// unit the duty belongs to; the caller rolls them up the tree).
type DutyCounts map[string]map[string]*DutyCount

func (d DutyCounts) add(path, process string, c DutyCount) {
	if d[path] == nil {
		d[path] = map[string]*DutyCount{}
	}
	cur := d[path][process]
	if cur == nil {
		cur = &DutyCount{}
		d[path][process] = cur
	}
	cur.Open, cur.Done, cur.Overdue = cur.Open+c.Open, cur.Done+c.Done, cur.Overdue+c.Overdue
	cur.LastClosedAt = later(cur.LastClosedAt, c.LastClosedAt)
}

// later is the later of two optional instants.
func later(a, b *time.Time) *time.Time {
	if b != nil && (a == nil || b.After(*a)) {
		return b
	}
	return a
}

// DutyMapWindow is what the duty map counts: term narrows subsidy applications and inspection
// rounds; pairing duties are this month's and this term's periods.
type DutyMapWindow struct {
	Term                  string
	MonthStart, TermStart time.Time
	Now                   time.Time
	// The work plan's 包保 contacts count in [DutyMonthStart, DutyMonthEnd), the schools' duties in
	// [DutyTermStart, DutyTermEnd) against their quotas a term.
	DutyMonthStart, DutyMonthEnd time.Time
	DutyTermStart, DutyTermEnd   time.Time
	ArticleQuota, ReportQuota    int
}

type dutyRow struct {
	Path    string `db:"path"`
	Open    int    `db:"open"`
	Done    int    `db:"done"`
	Overdue int    `db:"overdue"`
}

// DutyMap counts every process's open, done and overdue duties under path, by unit path.
func (s *Store) DutyMap(ctx context.Context, path string, w DutyMapWindow) (DutyCounts, error) {
	out := DutyCounts{}
	now := utc(w.Now)
	type part struct {
		process string
		query   string
		args    []any
	}
	under := func(col string) (string, []any) { return s.underPath(col, path) }
	var parts []part
	{ // send-home: visits done this term vs owed so far; overdue = periods missed
		c, a := under("p.unit_path")
		parts = append(parts, part{"sendhome", `SELECT p.unit_path AS path,
			SUM(CASE WHEN p.term_quota > p.term_visits THEN p.term_quota - p.term_visits ELSE 0 END) AS open,
			SUM(p.term_visits) AS done, SUM(p.missed_periods) AS overdue
			FROM send_home_plans p WHERE p.state <> 'ended' AND ` + c + ` GROUP BY p.unit_path`, a})
	}
	{ // pairing: six duties per active pairing this period; done = kinds recorded in the period
		c, a := under("p.unit_path")
		a = append([]any{utc(w.TermStart), utc(w.MonthStart)}, a...)
		parts = append(parts, part{"pairing", `SELECT p.unit_path AS path, 6 * COUNT(*) - SUM(COALESCE(d.n, 0)) AS open,
			SUM(COALESCE(d.n, 0)) AS done, SUM(CASE WHEN e.n > 0 THEN 1 ELSE 0 END) AS overdue
			FROM pairings p
			LEFT JOIN (SELECT pairing_id, COUNT(DISTINCT kind) AS n FROM pairing_records
				WHERE (kind IN ('plan','home_visit','good_deed','summary') AND done_at >= ?) OR (kind IN ('measure','activity') AND done_at >= ?)
				GROUP BY pairing_id) d ON d.pairing_id = p.id
			LEFT JOIN (SELECT case_id, COUNT(*) AS n FROM escalations WHERE process = 'pairing' AND state = 'open' GROUP BY case_id) e ON e.case_id = p.id
			WHERE p.state = 'active' AND ` + c + ` GROUP BY p.unit_path`, a})
	}
	{ // inspection findings: open vs closed (销号); overdue = open with a task past due
		c, a := under("f.unit_path")
		q := `SELECT f.unit_path AS path, SUM(CASE WHEN f.state <> 'closed' THEN 1 ELSE 0 END) AS open,
			SUM(CASE WHEN f.state = 'closed' THEN 1 ELSE 0 END) AS done,
			SUM(CASE WHEN f.state <> 'closed' AND EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = f.id AND t.state = 'open' AND t.due_at < ?) THEN 1 ELSE 0 END) AS overdue
			FROM inspection_findings f JOIN inspection_rounds r ON r.id = f.round_id WHERE ` + c
		a = append([]any{now}, a...)
		if w.Term != "" {
			q += ` AND r.term = ?`
			a = append(a, w.Term)
		}
		parts = append(parts, part{"inspection", q + ` GROUP BY f.unit_path`, a})
	}
	{ // dropout cases: open vs closed; overdue = open cases with an open escalation
		c, a := under("d.unit_path")
		parts = append(parts, part{"dropout", `SELECT d.unit_path AS path, SUM(CASE WHEN d.state <> 'closed' THEN 1 ELSE 0 END) AS open,
			SUM(CASE WHEN d.state = 'closed' THEN 1 ELSE 0 END) AS done,
			SUM(CASE WHEN d.state <> 'closed' AND EXISTS (SELECT 1 FROM escalations e WHERE e.case_id = d.id AND e.state = 'open') THEN 1 ELSE 0 END) AS overdue
			FROM dropout_cases d WHERE ` + c + ` GROUP BY d.unit_path`, a})
	}
	{ // subsidy applications: pending vs decided; overdue = pending with a task past due
		c, a := under("o.path")
		q := `SELECT o.path AS path, SUM(CASE WHEN a.state NOT IN ('signed_off','disbursed','rejected') THEN 1 ELSE 0 END) AS open,
			SUM(CASE WHEN a.state IN ('signed_off','disbursed') THEN 1 ELSE 0 END) AS done,
			SUM(CASE WHEN a.state NOT IN ('signed_off','disbursed','rejected') AND EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = a.id AND t.state = 'open' AND t.due_at < ?) THEN 1 ELSE 0 END) AS overdue
			FROM subsidy_applications a JOIN org_units o ON o.id = a.unit_id WHERE ` + c
		a = append([]any{now}, a...)
		if w.Term != "" {
			q += ` AND a.term = ?`
			a = append(a, w.Term)
		}
		parts = append(parts, part{"subsidy", q + ` GROUP BY o.path`, a})
	}
	{ // plan tasks: open vs closed (销号) at their lead section; overdue = open past 完成时限
		c, a := under("t.lead_unit_path")
		parts = append(parts, part{"plan", `SELECT t.lead_unit_path AS path, SUM(CASE WHEN t.state <> 'closed' THEN 1 ELSE 0 END) AS open,
			SUM(CASE WHEN t.state = 'closed' THEN 1 ELSE 0 END) AS done,
			SUM(CASE WHEN t.state <> 'closed' AND t.due_at < ? THEN 1 ELSE 0 END) AS overdue
			FROM plan_tasks t WHERE ` + c + ` GROUP BY t.lead_unit_path`, append([]any{now}, a...)})
	}
	{ // 包保 contacts: each unit someone answers for owes one this month; overdue = its ladder raised
		c, a := under("o.path")
		contacted := `EXISTS (SELECT 1 FROM contacts ct WHERE ct.unit_id = o.id AND ct.user_id = r.user_id AND ct.contacted_at >= ? AND ct.contacted_at < ?)`
		a = append([]any{utc(w.DutyMonthStart), utc(w.DutyMonthEnd), utc(w.DutyMonthStart), utc(w.DutyMonthEnd)}, a...)
		parts = append(parts, part{"contact", `SELECT o.path AS path, CASE WHEN ` + contacted + ` THEN 0 ELSE 1 END AS open,
			CASE WHEN ` + contacted + ` THEN 1 ELSE 0 END AS done,
			CASE WHEN EXISTS (SELECT 1 FROM escalations e WHERE e.case_id = 'contact-' || o.code AND e.state = 'open') THEN 1 ELSE 0 END AS overdue
			FROM responsibilities r JOIN org_units o ON o.id = r.subject_id
			WHERE r.subject_kind = 'unit' AND o.kind IN ('township_school', 'school', 'kindergarten') AND ` + c, a})
	}
	{ // school duties: each school's kinds of the term, done when at their quota; overdue = raised
		c, a := under("o.path")
		met := func(kind string) string {
			return `CASE WHEN (SELECT COUNT(*) FROM school_duty_records sd WHERE sd.unit_id = o.id AND sd.kind = '` + kind +
				`' AND sd.done_at >= ? AND sd.done_at < ?) >= ? THEN 1 ELSE 0 END`
		}
		q := []any{utc(w.DutyTermStart), utc(w.DutyTermEnd), w.ArticleQuota, utc(w.DutyTermStart), utc(w.DutyTermEnd), w.ReportQuota}
		a = append(append(append([]any{}, q...), q...), a...)
		parts = append(parts, part{"school_duty", `SELECT o.path AS path, 2 - (` + met("article") + `) - (` + met("progress_report") + `) AS open,
			(` + met("article") + `) + (` + met("progress_report") + `) AS done,
			(SELECT COUNT(*) FROM escalations e WHERE e.state = 'open' AND e.case_id IN ('schoolduty-article-' || o.code, 'schoolduty-progress_report-' || o.code)
				AND e.rung = 1) AS overdue
			FROM org_units o WHERE o.kind IN ('school', 'kindergarten') AND ` + c, a})
	}
	{ // hardship grants: pending (under way) vs paid; overdue = pending with a task past due
		c, a := under("g.unit_path")
		a = append([]any{now}, a...)
		parts = append(parts, part{"hardship", `SELECT g.unit_path AS path,
			SUM(CASE WHEN g.state IN ('verifying','approving','insufficient_funds','approved') THEN 1 ELSE 0 END) AS open,
			SUM(CASE WHEN g.state = 'disbursed' THEN 1 ELSE 0 END) AS done,
			SUM(CASE WHEN g.state IN ('verifying','approving','insufficient_funds','approved') AND EXISTS (SELECT 1 FROM tasks t
				WHERE t.case_id = g.id AND t.state = 'open' AND t.due_at < ?) THEN 1 ELSE 0 END) AS overdue
			FROM hardship_grants g WHERE ` + c + ` GROUP BY g.unit_path`, a})
	}
	for _, p := range parts {
		var rows []dutyRow
		if err := s.sel(ctx, s.db, &rows, p.query, p.args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out.add(r.Path, p.process, DutyCount{Open: r.Open, Done: r.Done, Overdue: r.Overdue})
		}
	}
	// The latest 销号 of each section's plan tasks.
	c, a := under("t.lead_unit_path")
	var closed []struct {
		Path     string    `db:"path"`
		ClosedAt time.Time `db:"closed_at"`
	}
	if err := s.sel(ctx, s.db, &closed, `SELECT t.lead_unit_path AS path, t.closed_at FROM plan_tasks t
		WHERE t.state = 'closed' AND t.closed_at IS NOT NULL AND `+c, a...); err != nil {
		return nil, err
	}
	for _, r := range closed {
		at := r.ClosedAt
		out.add(r.Path, "plan", DutyCount{LastClosedAt: &at})
	}
	return out, nil
}
