package crash

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"jiaofu/store"
)

// Expectation is what the load did, and so what the store must show at the end.
type Expectation struct {
	Term    string
	Subsidy []string // students with one application each, to be disbursed
	Dropout []string // students with one dropout case each, left to climb every rung
	Grants  []string // students with one hardship grant each, to be paid
	// Rungs are the ladders a dropout case left alone climbs (kind → rung numbers), as the
	// service held them.
	Rungs map[string][]int
	// DropoutState is where such a case ends: the county HQ supervising it.
	DropoutState string
	// FindingsClosed are the descriptions of the findings rectified and accepted (closed, 销号,
	// with no escalation: their deadline is a day away); FindingsIgnored those left alone, which
	// stay rectifying with their rectification task open and climb every rung of FindingRungs
	// (the rectification_due ladder as the service held it) once.
	FindingsClosed, FindingsIgnored []string
	FindingRungs                    []int
	// SendHome are the students with one send-home plan each, left unvisited for its first
	// period (every rung of SendHomeRungs, the visit_quota ladder, once) and then ended.
	SendHome      []string
	SendHomeRungs []int
	// PlanTasks are the descriptions of the work plan's tasks, each carried to 销号 (closed) well
	// before its deadline (no escalation).
	PlanTasks []string
}

func (w *world) expectation() Expectation {
	e := Expectation{Term: w.term, Rungs: map[string][]int{}, DropoutState: "county_supervising"}
	for _, sc := range w.schools {
		e.Subsidy = append(e.Subsidy, sc.Subsidy...)
		e.Dropout = append(e.Dropout, sc.Dropout...)
		e.Grants = append(e.Grants, sc.Grant...)
	}
	for _, k := range dropoutLadders {
		e.Rungs[k] = w.ladders[k]
	}
	for _, f := range w.findings {
		if f.Ignored {
			e.FindingsIgnored = append(e.FindingsIgnored, f.Description)
		} else {
			e.FindingsClosed = append(e.FindingsClosed, f.Description)
		}
	}
	e.FindingRungs = w.ladders[rectificationLadder]
	for _, sc := range w.schools {
		e.SendHome = append(e.SendHome, sc.SendHome...)
	}
	e.SendHomeRungs = w.ladders[quotaLadder]
	e.PlanTasks = w.planTasks
	return e
}

// Facts are the store's rows the check reads, after the last stop.
type Facts struct {
	Applications   []Case         // subsidy applications of the term
	Batches        []Batch        // publicity batches of the term
	Disbursements  map[string]int // application id → disbursement rows
	Grants         []Case         // hardship grants
	GrantPayments  map[string]int // grant id → hardship_disbursements rows
	LedgerPayments map[string]int // grant id → the ledger's disbursement entries
	Dropouts       []Case         // dropout cases
	Findings       []Finding      // the findings of the harness's round
	SendHomePlans  []Case         // send-home plans
	PlanTasks      []Finding      // the harness's work plan's tasks (id, description, state)
	Escalations    []Escalation
	OpenTasks      []Task
	Audit          map[string]int // action + " " + case id → audit entries (the disbursements', a finding's recording and closing)
	LedgerProblem  string         // what store.ReconcileHardship said, if anything
}

// Case is one case's row: its id, its student and its state.
type Case struct{ ID, StudentID, State string }

// Finding is one finding's (or work-plan task's) row: the load gives each a description of its
// own, by which the check finds it (the service picks, or derives, the id).
type Finding struct{ ID, Description, State string }

// Batch is one publicity batch's row.
type Batch struct{ ID, UnitID, Term string }

// Escalation is one escalation's row: the case, the ladder's kind and the rung.
type Escalation struct {
	CaseID, Kind string
	Rung         int
}

// Task is one open task's row.
type Task struct{ ID, CaseID, Kind, Assignee, UnitID, Role string }

// Row is one process's line of the report.
type Row struct {
	Process     string `json:"process"`
	Cases       int    `json:"cases"`
	WrongState  int    `json:"wrong_state"`
	Lost        int    `json:"lost"`
	Doubled     int    `json:"doubled"`
	Stray       int    `json:"stray_open_tasks"`
	MissingEsc  int    `json:"missing_escalations"`
	DupEsc      int    `json:"duplicate_escalations"`
	UnexpEsc    int    `json:"unexpected_escalations"`
	Escalations int    `json:"escalations"`
}

func (r Row) defects() int {
	return r.WrongState + r.Lost + r.Doubled + r.Stray + r.MissingEsc + r.DupEsc + r.UnexpEsc
}

// Report is a run's figures and verdict.
type Report struct {
	Seed         uint64 `json:"seed"`
	Unit         string `json:"unit"`
	Kills        int    `json:"kills"`
	Restarts     int    `json:"restarts"`
	MeanDowntime string `json:"mean_downtime,omitempty"` // from a kill to the restarted service's readiness
	Retried      int64  `json:"retried_requests"`
	// ResentWrites are writes sent again after an attempt whose answer a kill lost (or a 5xx); RefusedRepeats
	// those the API answered 409 (the lost attempt had done them).
	ResentWrites   int64 `json:"resent_writes"`
	RefusedRepeats int64 `json:"refused_repeats"`
	// KeyedRepeats are the creates (hardship grants, findings) sent again with their
	// Idempotency-Key after a lost answer and answered with a case.
	KeyedRepeats int64    `json:"keyed_repeats"`
	Rows         []Row    `json:"processes"`
	AuditOK      bool     `json:"audit_ok"`
	AuditEntries int64    `json:"audit_entries"`
	AuditProblem string   `json:"audit_problem,omitempty"`
	Ledger       string   `json:"ledger_problem,omitempty"`
	Defects      []string `json:"defects,omitempty"`     // one line each, naming the case
	LoadErrors   []string `json:"load_errors,omitempty"` // what the load gave up on
	Elapsed      string   `json:"elapsed"`
	Dir          string   `json:"dir,omitempty"` // the data dir and logs, kept after a failed run
}

// Failed reports whether the run found anything wrong.
func (r *Report) Failed() bool {
	for _, row := range r.Rows {
		if row.defects() > 0 {
			return true
		}
	}
	return !r.AuditOK || r.Ledger != "" || len(r.LoadErrors) > 0
}

// Totals adds the rows up.
func (r *Report) Totals() Row {
	t := Row{Process: "total"}
	for _, x := range r.Rows {
		t.Cases += x.Cases
		t.WrongState += x.WrongState
		t.Lost += x.Lost
		t.Doubled += x.Doubled
		t.Stray += x.Stray
		t.MissingEsc += x.MissingEsc
		t.DupEsc += x.DupEsc
		t.UnexpEsc += x.UnexpEsc
		t.Escalations += x.Escalations
	}
	return t
}

// Check compares the store's facts with what the load did. It is pure, so that a test can plant
// a defect in the facts and see it counted.
func Check(e Expectation, f Facts) *Report {
	rep := &Report{Ledger: f.LedgerProblem}
	defect := func(format string, a ...any) { rep.Defects = append(rep.Defects, fmt.Sprintf(format, a...)) }

	audit := func(action, id string) int { return f.Audit[action+" "+id] }
	byStudent := func(cs []Case) map[string][]Case {
		m := map[string][]Case{}
		for _, c := range cs {
			m[c.StudentID] = append(m[c.StudentID], c)
		}
		return m
	}
	escs := map[string][]Escalation{}
	for _, x := range f.Escalations {
		escs[x.CaseID] = append(escs[x.CaseID], x)
	}
	open := map[string][]Task{}
	for _, t := range f.OpenTasks {
		open[t.CaseID] = append(open[t.CaseID], t)
	}
	// doubledTasks counts a case's open tasks beyond the first of each kind for one holder.
	doubledTasks := func(row *Row, id string) {
		seen := map[string]int{}
		for _, t := range open[id] {
			k := t.Kind + "|" + t.Assignee + "|" + t.UnitID + "|" + t.Role
			if seen[k]++; seen[k] == 2 {
				row.Doubled++
				defect("%s: two or more open %s tasks for the same holder", id, t.Kind)
			}
		}
	}
	// A finished case's escalations: none is due (its deadlines are a day long).
	noEscalations := func(row *Row, id string) {
		for _, x := range escs[id] {
			row.Escalations++
			row.UnexpEsc++
			defect("%s: escalation %s rung %d, none due", id, x.Kind, x.Rung)
		}
	}
	// finished checks a case that must have ended in state want, with no open task left.
	finished := func(row *Row, process string, cs []Case, student, want string) (Case, bool) {
		if !onRecord(row, len(cs), process+" of student "+student, defect) {
			return Case{}, false
		}
		c := cs[0]
		if c.State != want {
			row.WrongState++
			defect("%s %s: %s, want %s", process, c.ID, c.State, want)
		}
		for _, cc := range cs {
			doubledTasks(row, cc.ID)
			noEscalations(row, cc.ID)
			if c.State == want {
				for _, t := range open[cc.ID] {
					row.Stray++
					defect("%s %s: %s task %s still open", process, cc.ID, t.Kind, t.ID)
				}
			}
		}
		return c, true
	}
	once := func(row *Row, what, id string, n int) {
		switch {
		case n == 0:
			row.Lost++
			defect("%s: no %s on record", id, what)
		case n > 1:
			row.Doubled += n - 1
			defect("%s: %s recorded %d times", id, what, n)
		}
	}

	sub := Row{Process: "subsidy", Cases: len(e.Subsidy)}
	apps := byStudent(f.Applications)
	for _, st := range e.Subsidy {
		if c, ok := finished(&sub, "application", apps[st], st, "disbursed"); ok && c.State == "disbursed" {
			once(&sub, "disbursement", c.ID, f.Disbursements[c.ID])
			once(&sub, "subsidy.disbursed audit entry", c.ID, audit("subsidy.disbursed", c.ID))
		}
	}
	perUnit := map[string]int{}
	for _, b := range f.Batches {
		if perUnit[b.UnitID+"|"+b.Term]++; perUnit[b.UnitID+"|"+b.Term] == 2 {
			sub.Doubled++
			defect("publicity batch %s: a second batch of its school and term (each school opened one)", b.ID)
		}
	}
	rep.Rows = append(rep.Rows, sub)

	drop := Row{Process: "dropout", Cases: len(e.Dropout)}
	cases := byStudent(f.Dropouts)
	for _, st := range e.Dropout {
		cs := cases[st]
		if !onRecord(&drop, len(cs), "dropout case of student "+st, defect) {
			continue
		}
		c := cs[0]
		if c.State != e.DropoutState {
			drop.WrongState++
			defect("dropout case %s: %s, want %s", c.ID, c.State, e.DropoutState)
		}
		got := map[string]int{}
		for _, x := range escs[c.ID] {
			drop.Escalations++
			got[fmt.Sprintf("%s#%d", x.Kind, x.Rung)]++
		}
		for _, kind := range sortedKeys(e.Rungs) {
			for _, r := range e.Rungs[kind] {
				k := fmt.Sprintf("%s#%d", kind, r)
				switch n := got[k]; {
				case n == 0:
					drop.MissingEsc++
					defect("dropout case %s: escalation %s rung %d missing", c.ID, kind, r)
				case n > 1:
					drop.DupEsc += n - 1
					defect("dropout case %s: escalation %s rung %d recorded %d times", c.ID, kind, r, n)
				}
				delete(got, k)
			}
		}
		for _, k := range sortedKeys(got) {
			drop.UnexpEsc += got[k]
			defect("dropout case %s: escalation %s not on its ladders", c.ID, k)
		}
		// Nobody made first contact: its task stays open, the teacher's, once.
		contact := 0
		for _, t := range open[c.ID] {
			if t.Kind == "dropout_first_contact" {
				contact++
			} else {
				drop.Stray++
				defect("dropout case %s: unexpected open task %s %s", c.ID, t.Kind, t.ID)
			}
		}
		if contact == 0 {
			drop.Lost++
			defect("dropout case %s: its first-contact task is not open", c.ID)
		}
		doubledTasks(&drop, c.ID)
	}
	rep.Rows = append(rep.Rows, drop)

	hard := Row{Process: "hardship", Cases: len(e.Grants)}
	grants := byStudent(f.Grants)
	for _, st := range e.Grants {
		if c, ok := finished(&hard, "grant", grants[st], st, "disbursed"); ok && c.State == "disbursed" {
			once(&hard, "payment", c.ID, f.GrantPayments[c.ID])
			once(&hard, "ledger disbursement entry", c.ID, f.LedgerPayments[c.ID])
			once(&hard, "hardship.disbursed audit entry", c.ID, audit("hardship.disbursed", c.ID))
		}
	}
	rep.Rows = append(rep.Rows, hard)

	if len(e.SendHome) > 0 {
		sh := Row{Process: "sendhome", Cases: len(e.SendHome)}
		plans := byStudent(f.SendHomePlans)
		for _, st := range e.SendHome {
			// Not finished(): a plan's escalations are expected (its first period's rungs).
			cs := plans[st]
			if !onRecord(&sh, len(cs), "send-home plan of student "+st, defect) {
				continue
			}
			c := cs[0]
			if c.State != "ended" {
				sh.WrongState++
				defect("send-home plan %s: %s, want ended", c.ID, c.State)
			} else {
				once(&sh, "sendhome.ended audit entry", c.ID, audit("sendhome.ended", c.ID))
				for _, t := range open[c.ID] {
					sh.Stray++
					defect("send-home plan %s: %s task %s still open", c.ID, t.Kind, t.ID)
				}
			}
			doubledTasks(&sh, c.ID)
			ladderOnce(&sh, "send-home plan "+c.ID, escs[c.ID], quotaLadder, e.SendHomeRungs, defect)
		}
		rep.Rows = append(rep.Rows, sh)
	}
	if len(e.PlanTasks) > 0 {
		pt := Row{Process: "plan", Cases: len(e.PlanTasks)}
		byDesc := map[string][]Finding{}
		for _, x := range f.PlanTasks {
			byDesc[x.Description] = append(byDesc[x.Description], x)
		}
		for _, desc := range e.PlanTasks {
			ts := byDesc[desc]
			if !onRecord(&pt, len(ts), fmt.Sprintf("plan task %q", desc), defect) {
				continue
			}
			x := ts[0]
			if x.State != "closed" {
				pt.WrongState++
				defect("plan task %s: %s, want closed", x.ID, x.State)
			} else {
				once(&pt, "plan.task_closed audit entry", x.ID, audit("plan.task_closed", x.ID))
				for _, t := range open[x.ID] {
					pt.Stray++
					defect("plan task %s: %s task %s still open", x.ID, t.Kind, t.ID)
				}
			}
			doubledTasks(&pt, x.ID)
			noEscalations(&pt, x.ID)
		}
		rep.Rows = append(rep.Rows, pt)
	}
	if len(e.FindingsClosed)+len(e.FindingsIgnored) > 0 {
		rep.Rows = append(rep.Rows, checkFindings(e, f, escs, open, defect, doubledTasks))
	}
	return rep
}

// checkFindings is the inspection row: every finding recorded once (and its
// inspection.finding_recorded audit entry once); a rectified one closed, its closing audit entry
// once, no task open and no escalation; one left alone still rectifying, its rectification task
// open once and nothing else, and every rung of its deadline's ladder on record exactly once.
func checkFindings(e Expectation, f Facts, escs map[string][]Escalation, open map[string][]Task, defect func(string, ...any),
	doubledTasks func(*Row, string)) Row {
	row := Row{Process: "findings", Cases: len(e.FindingsClosed) + len(e.FindingsIgnored)}
	byDesc := map[string][]Finding{}
	for _, x := range f.Findings {
		byDesc[x.Description] = append(byDesc[x.Description], x)
	}
	audited := func(action, id string) {
		switch n := f.Audit[action+" "+id]; {
		case n == 0:
			row.Lost++
			defect("finding %s: no %s audit entry on record", id, action)
		case n > 1:
			row.Doubled += n - 1
			defect("finding %s: %s audit entry recorded %d times", id, action, n)
		}
	}
	one := func(desc string) (Finding, bool) {
		fs := byDesc[desc]
		if !onRecord(&row, len(fs), fmt.Sprintf("finding %q", desc), defect) {
			return Finding{}, false
		}
		audited("inspection.finding_recorded", fs[0].ID)
		return fs[0], true
	}
	for _, desc := range e.FindingsClosed {
		x, ok := one(desc)
		if !ok {
			continue
		}
		if x.State != "closed" {
			row.WrongState++
			defect("finding %s: %s, want closed", x.ID, x.State)
		} else {
			audited("inspection.finding_closed", x.ID)
			for _, t := range open[x.ID] {
				row.Stray++
				defect("finding %s: %s task %s still open", x.ID, t.Kind, t.ID)
			}
		}
		for _, esc := range escs[x.ID] {
			row.Escalations++
			row.UnexpEsc++
			defect("finding %s: escalation %s rung %d, none due", x.ID, esc.Kind, esc.Rung)
		}
	}
	for _, desc := range e.FindingsIgnored {
		x, ok := one(desc)
		if !ok {
			continue
		}
		if x.State != "rectifying" {
			row.WrongState++
			defect("finding %s: %s, want rectifying", x.ID, x.State)
		}
		ladderOnce(&row, "finding "+x.ID, escs[x.ID], rectificationLadder, e.FindingRungs, defect)
		rect := 0
		for _, t := range open[x.ID] {
			if t.Kind == "rectification" {
				rect++
			} else {
				row.Stray++
				defect("finding %s: unexpected open task %s %s", x.ID, t.Kind, t.ID)
			}
		}
		if rect == 0 {
			row.Lost++
			defect("finding %s: its rectification task is not open", x.ID)
		}
		doubledTasks(&row, x.ID)
	}
	return row
}

// onRecord counts a record the load made once: none on record is lost, more than one doubled. It
// tells whether there is one to check further.
func onRecord(row *Row, n int, what string, defect func(string, ...any)) bool {
	switch {
	case n == 0:
		row.Lost++
		defect("%s: none on record", what)
		return false
	case n > 1:
		row.Doubled += n - 1
		defect("%s: %d on record", what, n)
	}
	return true
}

// ladderOnce counts a case's escalations, which must be every rung of one ladder kind exactly
// once: missing, duplicate, or off the ladder (another kind, or a rung it does not have).
func ladderOnce(row *Row, what string, escs []Escalation, kind string, rungs []int, defect func(string, ...any)) {
	got := map[int]int{}
	for _, esc := range escs {
		row.Escalations++
		if esc.Kind != kind {
			row.UnexpEsc++
			defect("%s: escalation %s#%d not on its ladder", what, esc.Kind, esc.Rung)
			continue
		}
		got[esc.Rung]++
	}
	for _, r := range rungs {
		switch n := got[r]; {
		case n == 0:
			row.MissingEsc++
			defect("%s: escalation %s rung %d missing", what, kind, r)
		case n > 1:
			row.DupEsc += n - 1
			defect("%s: escalation %s rung %d recorded %d times", what, kind, r, n)
		}
		delete(got, r)
	}
	for r, n := range got {
		row.UnexpEsc += n
		defect("%s: escalation %s#%d not on its ladder", what, kind, r)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// readFacts reads the rows the check needs from the store.
func readFacts(ctx context.Context, st *store.Store, term, round, plan string) (Facts, error) {
	db := st.DB()
	f := Facts{Disbursements: map[string]int{}, GrantPayments: map[string]int{}, LedgerPayments: map[string]int{}, Audit: map[string]int{}}
	type idCount struct {
		ID string `db:"id"`
		N  int    `db:"n"`
	}
	counts := func(dst map[string]int, q string, args ...any) error {
		var rows []idCount
		if err := db.SelectContext(ctx, &rows, db.Rebind(q), args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		for _, r := range rows {
			dst[r.ID] = r.N
		}
		return nil
	}
	type caseRow struct {
		ID        string `db:"id"`
		StudentID string `db:"student_id"`
		State     string `db:"state"`
	}
	cases := func(dst *[]Case, q string, args ...any) error {
		var rows []caseRow
		if err := db.SelectContext(ctx, &rows, db.Rebind(q), args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		for _, r := range rows {
			*dst = append(*dst, Case(r))
		}
		return nil
	}
	if err := cases(&f.Applications, `SELECT id, student_id, state FROM subsidy_applications WHERE term = ?`, term); err != nil {
		return f, err
	}
	if err := cases(&f.Grants, `SELECT id, student_id, state FROM hardship_grants`); err != nil {
		return f, err
	}
	if err := cases(&f.Dropouts, `SELECT id, student_id, state FROM dropout_cases`); err != nil {
		return f, err
	}
	if err := cases(&f.SendHomePlans, `SELECT id, student_id, state FROM send_home_plans`); err != nil {
		return f, err
	}
	var findings []struct {
		ID          string `db:"id"`
		Description string `db:"description"`
		State       string `db:"state"`
	}
	if err := db.SelectContext(ctx, &findings, db.Rebind(`SELECT id, description, state FROM inspection_findings WHERE round_id = ?`), round); err != nil {
		return f, err
	}
	for _, x := range findings {
		f.Findings = append(f.Findings, Finding(x))
	}
	var planTasks []struct {
		ID          string `db:"id"`
		Description string `db:"description"`
		State       string `db:"state"`
	}
	if err := db.SelectContext(ctx, &planTasks, db.Rebind(`SELECT id, description, state FROM plan_tasks WHERE plan_id = ?`), plan); err != nil {
		return f, err
	}
	for _, x := range planTasks {
		f.PlanTasks = append(f.PlanTasks, Finding(x))
	}
	var batches []struct {
		ID     string `db:"id"`
		UnitID string `db:"unit_id"`
		Term   string `db:"term"`
	}
	if err := db.SelectContext(ctx, &batches, db.Rebind(`SELECT id, unit_id, term FROM publicity_batches WHERE term = ?`), term); err != nil {
		return f, err
	}
	for _, b := range batches {
		f.Batches = append(f.Batches, Batch(b))
	}
	if err := counts(f.Disbursements, `SELECT application_id AS id, COUNT(*) AS n FROM disbursements GROUP BY application_id`); err != nil {
		return f, err
	}
	if err := counts(f.GrantPayments, `SELECT grant_id AS id, COUNT(*) AS n FROM hardship_disbursements GROUP BY grant_id`); err != nil {
		return f, err
	}
	if err := counts(f.LedgerPayments, `SELECT ref_id AS id, COUNT(*) AS n FROM hardship_ledger WHERE kind = 'disbursement' GROUP BY ref_id`); err != nil {
		return f, err
	}
	if err := counts(f.Audit, `SELECT action || ' ' || case_id AS id, COUNT(*) AS n FROM audit_log
		WHERE action IN ('subsidy.disbursed', 'hardship.disbursed', 'inspection.finding_recorded', 'inspection.finding_closed', 'sendhome.ended', 'plan.task_closed')
		GROUP BY action, case_id`); err != nil {
		return f, err
	}
	var escs []struct {
		CaseID string `db:"case_id"`
		Kind   string `db:"task_kind"`
		Rung   int    `db:"rung"`
	}
	if err := db.SelectContext(ctx, &escs, `SELECT case_id, task_kind, rung FROM escalations`); err != nil {
		return f, err
	}
	for _, x := range escs {
		f.Escalations = append(f.Escalations, Escalation(x))
	}
	var tasks []struct {
		ID       string `db:"id"`
		CaseID   string `db:"case_id"`
		Kind     string `db:"kind"`
		Assignee string `db:"assignee_id"`
		UnitID   string `db:"unit_id"`
		Role     string `db:"candidate_role"`
	}
	if err := db.SelectContext(ctx, &tasks, `SELECT id, case_id, kind, assignee_id, unit_id, candidate_role FROM tasks WHERE state = 'open'`); err != nil {
		return f, err
	}
	for _, t := range tasks {
		f.OpenTasks = append(f.OpenTasks, Task(t))
	}
	return f, nil
}

// Print writes the report as a table and the defects, one a line.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\njiaofu crash — seed %d, unit %s — %d kills (SIGKILL), %d restarts, mean downtime %s, %s\n",
		r.Seed, r.Unit, r.Kills, r.Restarts, r.MeanDowntime, r.Elapsed)
	fmt.Fprintf(w, "requests retried: %d; writes sent again after a lost answer or a 5xx: %d, of which refused as repeats (409): %d, creates answered by their Idempotency-Key: %d\n",
		r.Retried, r.ResentWrites, r.RefusedRepeats, r.KeyedRepeats)
	fmt.Fprintf(w, "%-9s %6s %6s %5s %7s %6s %8s %8s %8s %6s\n", "process", "cases", "state", "lost", "doubled", "stray", "esc.miss", "esc.dup", "esc.unex", "esc")
	for _, x := range append(append([]Row{}, r.Rows...), r.Totals()) {
		fmt.Fprintf(w, "%-9s %6d %6d %5d %7d %6d %8d %8d %8d %6d\n", x.Process, x.Cases, x.WrongState, x.Lost, x.Doubled, x.Stray,
			x.MissingEsc, x.DupEsc, x.UnexpEsc, x.Escalations)
	}
	audit := fmt.Sprintf("ok (%d entries)", r.AuditEntries)
	if !r.AuditOK {
		audit = "BROKEN: " + r.AuditProblem
	}
	fmt.Fprintf(w, "audit trail: %s\n", audit)
	if r.Ledger != "" {
		fmt.Fprintf(w, "hardship ledger: %s\n", r.Ledger)
	}
	for i, d := range r.Defects {
		if i == 50 {
			fmt.Fprintf(w, "  … and %d more (in the JSON report)\n", len(r.Defects)-50)
			break
		}
		fmt.Fprintf(w, "  defect: %s\n", d)
	}
	for _, e := range r.LoadErrors {
		fmt.Fprintf(w, "  load: %s\n", e)
	}
	verdict := "PASS: every case where it must be; nothing lost or doubled"
	if r.Failed() {
		verdict = "FAIL"
	}
	if r.Dir != "" {
		verdict += "; data dir and logs kept in " + r.Dir
	}
	fmt.Fprintln(w, strings.TrimSpace(verdict))
}
