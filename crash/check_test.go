package crash

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// clean is the facts of a run where everything went right: two applications disbursed once, a
// dropout case with every rung once and its first contact open, a grant paid once, a finding
// closed and one left alone with every rung of its deadline once and its rectification open, a
// send-home plan ended after its first period's rungs, each once, a plan task closed.
func clean() (Expectation, Facts) {
	e := Expectation{Term: "2026-2027-1", Subsidy: []string{"s1", "s2"}, Dropout: []string{"d1"}, Grants: []string{"g1"},
		Rungs: map[string][]int{"dropout_first_contact": {1, 2, 3}, "dropout_return_window": {1, 2}}, DropoutState: "county_supervising",
		FindingsClosed: []string{"问题1"}, FindingsIgnored: []string{"问题2"}, FindingRungs: []int{1, 2, 3},
		SendHome: []string{"h1"}, SendHomeRungs: []int{1, 2, 3, 4}, PlanTasks: []string{"任务1"}}
	f := Facts{
		Applications:   []Case{{"app-1", "s1", "disbursed"}, {"app-2", "s2", "disbursed"}},
		Batches:        []Batch{{"publicity-A-1", "unit-a", "2026-2027-1"}},
		Disbursements:  map[string]int{"app-1": 1, "app-2": 1},
		Grants:         []Case{{"hardship-1", "g1", "disbursed"}},
		GrantPayments:  map[string]int{"hardship-1": 1},
		LedgerPayments: map[string]int{"hardship-1": 1},
		Dropouts:       []Case{{"dropout-1", "d1", "county_supervising"}},
		Escalations: []Escalation{{"dropout-1", "dropout_first_contact", 1}, {"dropout-1", "dropout_first_contact", 2},
			{"dropout-1", "dropout_first_contact", 3}, {"dropout-1", "dropout_return_window", 1}, {"dropout-1", "dropout_return_window", 2},
			{"finding-2", "rectification_due", 1}, {"finding-2", "rectification_due", 2}, {"finding-2", "rectification_due", 3},
			{"sendhome-1", "visit_quota", 1}, {"sendhome-1", "visit_quota", 2}, {"sendhome-1", "visit_quota", 3}, {"sendhome-1", "visit_quota", 4}},
		OpenTasks: []Task{{"t1", "dropout-1", "dropout_first_contact", "teacher", "unit-a", "teacher"},
			{"t4", "finding-2", "rectification", "", "unit-a", "school_leader"}},
		Findings:      []Finding{{"finding-1", "问题1", "closed"}, {"finding-2", "问题2", "rectifying"}},
		SendHomePlans: []Case{{"sendhome-1", "h1", "ended"}},
		PlanTasks:     []Finding{{"plantask-1", "任务1", "closed"}},
		Audit: map[string]int{"subsidy.disbursed app-1": 1, "subsidy.disbursed app-2": 1, "hardship.disbursed hardship-1": 1,
			"inspection.finding_recorded finding-1": 1, "inspection.finding_recorded finding-2": 1, "inspection.finding_closed finding-1": 1,
			"sendhome.ended sendhome-1": 1, "plan.task_closed plantask-1": 1},
	}
	return e, f
}

func TestCheckPassesACleanRun(t *testing.T) {
	e, f := clean()
	rep := Check(e, f)
	rep.AuditOK = true
	if rep.Failed() {
		t.Fatalf("a clean run failed: %+v %v", rep.Totals(), rep.Defects)
	}
	if got := rep.Totals(); got.Cases != 8 || got.Escalations != 12 {
		t.Errorf("totals %+v, want 8 cases and 12 escalations", got)
	}
}

// Every kind of defect the harness looks for, planted one at a time into the clean facts, is
// counted in its column and named in a line.
func TestCheckCountsPlantedDefects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plant   func(*Facts)
		process string
		column  func(Row) int
		want    string
	}{
		{"a doubled escalation", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"dropout-1", "dropout_first_contact", 2})
		}, "dropout", func(r Row) int { return r.DupEsc }, "dropout_first_contact rung 2 recorded 2 times"},
		{"a missing escalation", func(f *Facts) {
			f.Escalations = slices.DeleteFunc(f.Escalations, func(x Escalation) bool { return x == Escalation{"dropout-1", "dropout_return_window", 2} })
		}, "dropout", func(r Row) int { return r.MissingEsc }, "dropout_return_window rung 2 missing"},
		{"an escalation off the ladder", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"dropout-1", "dropout_hq_window", 1})
		}, "dropout", func(r Row) int { return r.UnexpEsc }, "dropout_hq_window#1 not on its ladders"},
		{"a doubled open task", func(f *Facts) {
			f.OpenTasks = append(f.OpenTasks, Task{"t2", "dropout-1", "dropout_first_contact", "teacher", "unit-a", "teacher"})
		}, "dropout", func(r Row) int { return r.Doubled }, "two or more open dropout_first_contact tasks"},
		{"a lost open task", func(f *Facts) { f.OpenTasks = nil }, "dropout", func(r Row) int { return r.Lost }, "first-contact task is not open"},
		{"a doubled disbursement audit entry", func(f *Facts) { f.Audit["subsidy.disbursed app-2"] = 2 },
			"subsidy", func(r Row) int { return r.Doubled }, "app-2: subsidy.disbursed audit entry recorded 2 times"},
		{"a lost disbursement", func(f *Facts) { delete(f.Disbursements, "app-1") },
			"subsidy", func(r Row) int { return r.Lost }, "app-1: no disbursement on record"},
		{"an application stuck", func(f *Facts) { f.Applications[1].State = "in_publicity" },
			"subsidy", func(r Row) int { return r.WrongState }, "application app-2: in_publicity, want disbursed"},
		{"a second publicity batch", func(f *Facts) { f.Batches = append(f.Batches, Batch{"publicity-A-2", "unit-a", "2026-2027-1"}) },
			"subsidy", func(r Row) int { return r.Doubled }, "publicity-A-2: a second batch"},
		{"a task left open on a finished case", func(f *Facts) {
			f.OpenTasks = append(f.OpenTasks, Task{"t3", "app-1", "subsidy_review", "", "unit-a", "school_leader"})
		}, "subsidy", func(r Row) int { return r.Stray }, "subsidy_review task t3 still open"},
		{"a grant applied for twice", func(f *Facts) {
			f.Grants = append(f.Grants, Case{"hardship-2", "g1", "verifying"})
		}, "hardship", func(r Row) int { return r.Doubled }, "grant of student g1: 2 on record"},
		{"a grant paid twice in the ledger", func(f *Facts) { f.LedgerPayments["hardship-1"] = 2 },
			"hardship", func(r Row) int { return r.Doubled }, "ledger disbursement entry recorded 2 times"},
		{"a grant's payment lost", func(f *Facts) { delete(f.GrantPayments, "hardship-1") },
			"hardship", func(r Row) int { return r.Lost }, "hardship-1: no payment on record"},
		{"a dropout case lost", func(f *Facts) { f.Dropouts = nil }, "dropout", func(r Row) int { return r.Lost }, "student d1: none on record"},
		{"a finding recorded twice (a keyed repeat that started a second case)", func(f *Facts) {
			f.Findings = append(f.Findings, Finding{"finding-3", "问题1", "rectifying"})
		}, "findings", func(r Row) int { return r.Doubled }, `finding "问题1": 2 on record`},
		{"a finding lost", func(f *Facts) { f.Findings = f.Findings[1:] }, "findings", func(r Row) int { return r.Lost }, `finding "问题1": none on record`},
		{"a rectified finding not closed", func(f *Facts) { f.Findings[0].State = "reviewing" },
			"findings", func(r Row) int { return r.WrongState }, "finding finding-1: reviewing, want closed"},
		{"a finding left alone closed", func(f *Facts) { f.Findings[1].State = "closed" },
			"findings", func(r Row) int { return r.WrongState }, "finding finding-2: closed, want rectifying"},
		{"a rectification rung fired twice", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"finding-2", "rectification_due", 3})
		}, "findings", func(r Row) int { return r.DupEsc }, "finding finding-2: escalation rectification_due rung 3 recorded 2 times"},
		{"a rectification rung missing", func(f *Facts) {
			f.Escalations = slices.DeleteFunc(f.Escalations, func(x Escalation) bool { return x == Escalation{"finding-2", "rectification_due", 3} })
		}, "findings", func(r Row) int { return r.MissingEsc }, "finding finding-2: escalation rectification_due rung 3 missing"},
		{"an escalation on a finding closed in time", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"finding-1", "rectification_due", 1})
		}, "findings", func(r Row) int { return r.UnexpEsc }, "finding finding-1: escalation rectification_due rung 1, none due"},
		{"a rung off the ladder", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"finding-2", "rectification_due", 4})
		}, "findings", func(r Row) int { return r.UnexpEsc }, "finding finding-2: escalation rectification_due#4 not on its ladder"},
		{"the rectification task lost", func(f *Facts) { f.OpenTasks = f.OpenTasks[:1] },
			"findings", func(r Row) int { return r.Lost }, "finding finding-2: its rectification task is not open"},
		{"the rectification task doubled", func(f *Facts) {
			f.OpenTasks = append(f.OpenTasks, Task{"t5", "finding-2", "rectification", "", "unit-a", "school_leader"})
		}, "findings", func(r Row) int { return r.Doubled }, "two or more open rectification tasks"},
		{"a review left open on a closed finding", func(f *Facts) {
			f.OpenTasks = append(f.OpenTasks, Task{"t6", "finding-1", "rectification_review", "", "unit-d", "inspector"})
		}, "findings", func(r Row) int { return r.Stray }, "finding finding-1: rectification_review task t6 still open"},
		{"a closing audit entry doubled", func(f *Facts) { f.Audit["inspection.finding_closed finding-1"] = 2 },
			"findings", func(r Row) int { return r.Doubled }, "finding finding-1: inspection.finding_closed audit entry recorded 2 times"},
		{"a send-home period's rung fired twice", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"sendhome-1", "visit_quota", 1})
		}, "sendhome", func(r Row) int { return r.DupEsc }, "send-home plan sendhome-1: escalation visit_quota rung 1 recorded 2 times"},
		{"a send-home period's rung missing", func(f *Facts) {
			f.Escalations = slices.DeleteFunc(f.Escalations, func(x Escalation) bool { return x == Escalation{"sendhome-1", "visit_quota", 4} })
		}, "sendhome", func(r Row) int { return r.MissingEsc }, "send-home plan sendhome-1: escalation visit_quota rung 4 missing"},
		{"a send-home plan not ended", func(f *Facts) { f.SendHomePlans[0].State = "assessing" },
			"sendhome", func(r Row) int { return r.WrongState }, "send-home plan sendhome-1: assessing, want ended"},
		{"a second send-home plan", func(f *Facts) { f.SendHomePlans = append(f.SendHomePlans, Case{"sendhome-2", "h1", "assessing"}) },
			"sendhome", func(r Row) int { return r.Doubled }, "send-home plan of student h1: 2 on record"},
		{"a task left open on an ended plan", func(f *Facts) {
			f.OpenTasks = append(f.OpenTasks, Task{"t7", "sendhome-1", "sendhome_evaluation", "", "unit-a", "school_leader"})
		}, "sendhome", func(r Row) int { return r.Stray }, "send-home plan sendhome-1: sendhome_evaluation task t7 still open"},
		{"a plan task added twice", func(f *Facts) { f.PlanTasks = append(f.PlanTasks, Finding{"plantask-2", "任务1", "in_progress"}) },
			"plan", func(r Row) int { return r.Doubled }, `plan task "任务1": 2 on record`},
		{"a plan task lost", func(f *Facts) { f.PlanTasks = nil }, "plan", func(r Row) int { return r.Lost }, `plan task "任务1": none on record`},
		{"a plan task not closed", func(f *Facts) { f.PlanTasks[0].State = "reviewing" },
			"plan", func(r Row) int { return r.WrongState }, "plan task plantask-1: reviewing, want closed"},
		{"a contribution left open on a closed plan task", func(f *Facts) {
			f.OpenTasks = append(f.OpenTasks, Task{"t8", "plantask-1", "plan_task_contribution", "", "unit-z", "section_staff"})
		}, "plan", func(r Row) int { return r.Stray }, "plan task plantask-1: plan_task_contribution task t8 still open"},
		{"an escalation on a plan task closed in time", func(f *Facts) {
			f.Escalations = append(f.Escalations, Escalation{"plantask-1", "plan_task_due", 1})
		}, "plan", func(r Row) int { return r.UnexpEsc }, "plantask-1: escalation plan_task_due rung 1, none due"},
		{"a plan task's closing audit entry doubled", func(f *Facts) { f.Audit["plan.task_closed plantask-1"] = 2 },
			"plan", func(r Row) int { return r.Doubled }, "plantask-1: plan.task_closed audit entry recorded 2 times"},
		{"a recording audit entry lost", func(f *Facts) { delete(f.Audit, "inspection.finding_recorded finding-2") },
			"findings", func(r Row) int { return r.Lost }, "finding finding-2: no inspection.finding_recorded audit entry on record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := clean()
			tc.plant(&f)
			rep := Check(e, f)
			rep.AuditOK = true
			if !rep.Failed() {
				t.Fatalf("the run passed with %s planted", tc.name)
			}
			for _, r := range rep.Rows {
				if r.Process == tc.process && tc.column(r) != 1 {
					t.Errorf("%s row %+v: want 1 in the planted defect's column", r.Process, r)
				}
			}
			if !strings.Contains(strings.Join(rep.Defects, "\n"), tc.want) {
				t.Errorf("defects %q do not say %q", rep.Defects, tc.want)
			}
		})
	}
}

func TestBrokenAuditFails(t *testing.T) {
	e, f := clean()
	rep := Check(e, f)
	rep.AuditOK, rep.AuditProblem = false, "entry 7 does not hash to its successor's prev_hash"
	if !rep.Failed() {
		t.Fatal("a broken audit trail passed")
	}
}

func TestCurrentTerm(t *testing.T) {
	for now, want := range map[string]string{"2026-12-07T06:00:00Z": "2026-2027-1", "2027-03-01T00:00:00Z": "2026-2027-1",
		"2027-08-31T15:59:59Z": "2026-2027-1", "2027-08-31T16:00:00Z": "2027-2028-1"} { // 1 September 00:00 in China
		at, err := time.Parse(time.RFC3339, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := currentTerm(at); got != want {
			t.Errorf("currentTerm(%s) = %s, want %s", now, got, want)
		}
	}
}
