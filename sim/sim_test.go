package sim

import (
	"context"
	"os"
	"testing"
	"time"

	"jiaofu/calendar"
)

// TestSmallTermHasNoSilentMisses is the CI run: a small county for one compressed term against
// the real service. Any silent miss, false escalation, duplicate, wrong target unit, broken audit
// chain or refused actor action fails it.
func TestSmallTermHasNoSilentMisses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole service and runs for about half a minute")
	}
	o := Options{Seed: 7, Unit: time.Second, Size: Size{Townships: 2, Schools: 2, Students: 6, DropoutShare: 0.5, FindingShare: 1}}
	if testing.Verbose() {
		o.Log = os.Stderr
	}
	rep, err := Simulate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(testWriter{t})
	if rep.Failed() {
		t.Fatalf("the store and the oracle disagree: %d silent misses, %d false escalations, %d duplicates, %d wrong units, audit ok %v, %d actor errors",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.AuditOK, len(rep.ActorErrors))
	}
	// A run in which nothing was expected would prove nothing: the seed must exercise every rule.
	var expected int
	for _, r := range rep.Rows {
		expected += r.Expected
	}
	if rep.Cases < 20 || expected == 0 {
		t.Fatalf("run too small to mean anything: %d cases, %d expected escalations", rep.Cases, expected)
	}
	if rep.Findings != 4 {
		t.Errorf("findings = %d, want one at each of the 4 schools", rep.Findings)
	}
	if rep.HardshipGrants != 4 {
		t.Errorf("hardship grants = %d, want one at each of the 4 schools", rep.HardshipGrants)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestCompareCountsEveryDisagreement checks the comparison itself, without the service: a record
// missing, one too many, one twice and one at the wrong unit are each counted where they belong,
// and an action too close to a rung is neither expected nor counted against the store.
func TestCompareCountsEveryDisagreement(t *testing.T) {
	u := time.Second
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.CST)
	rules := Rules{Ladders: map[string][]Rung{"default": {{TaskKind: "default", Rung: 1, After: "1s", Target: "remind"},
		{TaskKind: "default", Rung: 2, After: "3s", Target: "superior"}, {TaskKind: "default", Rung: 3, After: "5s", Target: "supervision"}}},
		ReturnWindow: mustSpec(t, "12s"), HQWindow: mustSpec(t, "8s"), Calendar: calendar.Default(), Guard: u / 3}
	at := func(d time.Duration) *span { return &span{Sent: base.Add(d), Done: base.Add(d + 50*time.Millisecond)} }
	tasks := []*TaskObs{
		{Process: "subsidy", CaseID: "a1", TaskID: "t1", Kind: "subsidy_review", Unit: "JS-T01-M01", Township: "T01", Due: base, Acted: at(-u)},    // on time: nothing
		{Process: "subsidy", CaseID: "a2", TaskID: "t2", Kind: "subsidy_review", Unit: "JS-T01-M01", Township: "T01", Due: base, Acted: at(4 * u)}, // r1, r2
		{Process: "subsidy", CaseID: "a3", TaskID: "t3", Kind: "subsidy_review", Unit: "JS-T01-M01", Township: "T01", Due: base},                   // r1–r3
		{Process: "subsidy", CaseID: "a4", TaskID: "t4", Kind: "subsidy_review", Unit: "JS-T01-M01", Township: "T01", Due: base, Acted: at(u)},     // on rung 1: ambiguous
	}
	drops := []*DropoutObs{{CaseID: "d1", Unit: "JS-T01-M01", Township: "T01", Opened: *at(0), Returned: at(16 * u)}} // township stage only
	finds := []*FindingObs{
		{CaseID: "f1", Unit: "JS-T01-M01", Township: "T01", RectifyBy: base, Rectified: at(2 * u)}, // r1 only
		{CaseID: "f2", Unit: "JS-T01-M01", Township: "T01", RectifyBy: base},                       // r1–r3
	}
	o, err := Expect(rules, tasks, drops, finds...)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Expected) != 2+3+2+1+3 || len(o.Ambiguous) != 1 {
		t.Fatalf("oracle expects %d and finds %d ambiguous, want 11 and 1: %v", len(o.Expected), len(o.Ambiguous), o.Expected)
	}
	rec := func(c, task string, rung int, target, unit string, due time.Duration) Recorded {
		kind := ""
		if task != "" {
			kind = "subsidy_review"
		}
		p := "subsidy"
		if task == "" {
			p = "dropout"
		}
		return Recorded{Process: p, CaseID: c, TaskID: task, TaskKind: kind, Rung: rung, Target: target, UnitCode: unit, DueAt: base.Add(due)}
	}
	fnd := func(c string, rung int, target, unit string, due time.Duration) Recorded {
		return Recorded{Process: "inspection", CaseID: c, TaskKind: FindingDeadlineKind, Rung: rung, Target: target, UnitCode: unit, DueAt: base.Add(due)}
	}
	recorded := []Recorded{
		rec("a2", "t2", 1, "remind", "JS-T01-M01", u), rec("a2", "t2", 2, "superior", "JS-T01", 3*u),
		rec("a3", "t3", 1, "remind", "JS-T01-M01", u), rec("a3", "t3", 2, "superior", "JS-T01", 3*u), // a3's rung 3 is missing
		rec("a1", "t1", 1, "remind", "JS-T01-M01", u),        // false: a1 was done on time
		rec("a2", "t2", 2, "superior", "JS-T01", 3*u),        // duplicate
		rec("a4", "t4", 1, "remind", "JS-T01-M01", u),        // ambiguous: not counted
		rec("d1", "", 0, "township_gov", "JS-T02-GOV", 12*u), // wrong unit
		rec("d1", "", 0, "supervision", "JS-JCS", 12*u),
		// the findings' deadline rungs, labelled by rung (not as a dropout window's stage)
		fnd("f1", 1, "remind", "JS-T01-M01", u),
		fnd("f2", 1, "remind", "JS-T01-M01", u), fnd("f2", 2, "superior", "JS-T01", 3*u), fnd("f2", 3, "supervision", "JS-JCS", 5*u),
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 1 || rep.Duplicates != 1 || rep.WrongUnit != 1 || rep.Ambiguous != 1 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d, ambiguous %d; want 1 each\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Ambiguous, rep.Misses)
	}
	if !rep.Failed() {
		t.Fatal("a report with disagreements does not fail")
	}
}

func mustSpec(t *testing.T, s string) calendar.Spec {
	t.Helper()
	sp, err := calendar.ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}
