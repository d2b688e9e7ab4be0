package sim

import (
	"context"
	"os"
	"slices"
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
	o := Options{Seed: 7, Unit: time.Second, Openers: DefaultOpeners, Size: Size{Townships: 2, Schools: 2, Students: 6, DropoutShare: 0.5, FindingShare: 1,
		SendHomeShare: 1, SendHomePeriods: 2, PlanTasks: 4, PairingShare: 1, PairingMonths: 2, TransferShare: 1, LeaveShare: 1,
		ContactShare: 1, DutyShare: 1, DutyMonths: 2}}
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
	if rep.SendHomePlans != 4 || rep.SendHomePeriods != 4*3 {
		t.Errorf("send-home plans = %d of %d periods, want one at each of the 4 schools, each of 2 periods and the one it ends in",
			rep.SendHomePlans, rep.SendHomePeriods)
	}
	if rep.Pairings != 4 || rep.PairingMonths != 4*2 {
		t.Errorf("pairings = %d of %d owed months, want one at each of the 4 schools, each of 2 months", rep.Pairings, rep.PairingMonths)
	}
	if rep.PairingByLag != 0 {
		t.Errorf("%d pairing months judged by the lag rule, want every month by its check's reads: %v", rep.PairingByLag, rep.PairingUnread)
	}
	if rep.ContactDuties != 4 || rep.SchoolDuties != 4*2 || rep.DutyPeriods == 0 {
		t.Errorf("contact duties = %d, school duties = %d of %d judged periods; want 4 (a contact owed at each school), 8 (two at each), and some periods",
			rep.ContactDuties, rep.SchoolDuties, rep.DutyPeriods)
	}
	if rep.Transfers == 0 {
		t.Error("no review was transferred: the seed must exercise the transfer rules")
	}
	if rep.StandIns != 2*LeaveStudents {
		t.Errorf("stand-in reviews = %d, want %d (a leave school in each of the 2 townships)", rep.StandIns, 2*LeaveStudents)
	}
	if rep.PlanTasks != 4 {
		t.Errorf("plan tasks = %d, want the 4 the PA office added", rep.PlanTasks)
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

// TestSendHomePeriodsAreToldApart checks the send-home rules without the service: each period of
// a plan climbs its own ladder from its own end, the visit that meets the quota stops the rest,
// the plan's end stops a period that had not ended, and a recorded rung counts against the period
// whose end it falls due from (a plan's periods share their case and their rungs' names).
func TestSendHomePeriodsAreToldApart(t *testing.T) {
	u := time.Second
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.CST)
	var ladder []Rung
	for i, target := range []string{"remind", "remind", "superior", "supervision"} {
		ladder = append(ladder, Rung{TaskKind: SendHomeDeadlineKind, Rung: i + 1, After: (2 * u * time.Duration(i)).String(), Target: target})
	}
	rules := Rules{Ladders: map[string][]Rung{SendHomeDeadlineKind: ladder}, Calendar: calendar.Default(), Guard: u / 3}
	at := func(d time.Duration) *span { return &span{Sent: base.Add(d), Done: base.Add(d + 50*time.Millisecond)} }
	end := func(n int) time.Time { return base.Add(8 * u * time.Duration(n)) }
	plan := &SendHomeObs{CaseID: "sendhome-1", Unit: "JS-T01-M01", Township: "T01", Quota: 2, Periods: []*PeriodObs{
		{N: 1, Start: base, End: end(1), Met: at(8*u + 3*u)}, // met after rung 2: r1, r2
		{N: 2, Start: end(1), End: end(2)},                   // never met: r1–r4 (the plan ends after rung 4)
		{N: 3, Start: end(2), End: end(3)},                   // the plan ends before this period does: nothing
	}, Ended: at(16*u + 7*u)}
	o, err := Expect(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.expectSendHome(rules, []*SendHomeObs{plan}); err != nil {
		t.Fatal(err)
	}
	if len(o.Expected) != 2+4 || len(o.Ambiguous) != 0 {
		t.Fatalf("oracle expects %d and finds %d ambiguous, want 6 and 0: %v", len(o.Expected), len(o.Ambiguous), o.Expected)
	}
	rec := func(period, rung int, target, unit string) Recorded {
		return Recorded{Process: SendHomeProcess, CaseID: "sendhome-1", TaskKind: SendHomeDeadlineKind, Rung: rung, Target: target,
			UnitCode: unit, DueAt: end(period).Add(2 * u * time.Duration(rung-1))}
	}
	recorded := []Recorded{
		rec(1, 1, "remind", "JS-T01-M01"), rec(1, 2, "remind", "JS-T01-M01"),
		rec(2, 1, "remind", "JS-T01-M01"), rec(2, 2, "remind", "JS-T01-M01"), rec(2, 4, "supervision", "JS-JCS"), // period 2's rung 3 is missing
		rec(3, 1, "remind", "JS-T01-M01"), // false: the plan ended before period 3 did
		rec(1, 2, "remind", "JS-T01-M01"), // duplicate of period 1's rung 2, not period 2's
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 1 || rep.Duplicates != 1 || rep.WrongUnit != 0 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d; want 1, 1, 1, 0\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Misses)
	}
}

// TestPlanTaskRungsStopAtTheDeclaration checks the plan tasks' rules without the service: a task's
// ladder climbs from its due time until the lead section declares it done (not until the PA
// office accepts it), and a section's rungs go to the section, the bureau (its superior) and the
// supervision office — a school's superior rung at the bureau would be a wrong unit. A
// cooperating section's deadline climbs on its own until its contribution or the close-out, and
// its rungs are told from the lead's by the section they come from.
func TestPlanTaskRungsStopAtTheDeclaration(t *testing.T) {
	u := time.Second
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.CST)
	var ladder []Rung
	for i, target := range []string{"remind", "superior", "supervision"} {
		ladder = append(ladder, Rung{TaskKind: PlanDeadlineKind, Rung: i + 1, After: (2 * u * time.Duration(i)).String(), Target: target})
	}
	coLadder := make([]Rung, len(ladder))
	for i, rg := range ladder {
		rg.TaskKind = PlanContributionKind
		coLadder[i] = rg
	}
	rules := Rules{Ladders: map[string][]Rung{PlanDeadlineKind: ladder, PlanContributionKind: coLadder}, Calendar: calendar.Default(), Guard: u / 3}
	at := func(d time.Duration) *span { return &span{Sent: base.Add(d), Done: base.Add(d + 50*time.Millisecond)} }
	tasks := []*PlanTaskObs{
		// on time: nothing, and the contribution never given is cancelled at the close-out
		{CaseID: "plantask-a", Unit: "JS-JYG", Due: base, Declared: at(-3 * u / 2), Accepted: at(-u), Cooperating: "JS-JCG"},
		{CaseID: "plantask-b", Unit: "JS-RSG", Due: base, Declared: at(u), Accepted: at(7 * u)}, // r1 only: accepted after r3's instant
		// r1–r3; the cooperating section's r1 and r2, then its contribution
		{CaseID: "plantask-c", Unit: "JS-ZB", Due: base, Cooperating: "JS-DJZ", Contributed: at(3 * u)},
	}
	o, err := Expect(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.expectPlan(rules, tasks); err != nil {
		t.Fatal(err)
	}
	if len(o.Expected) != 1+3+2 || len(o.Ambiguous) != 0 {
		t.Fatalf("oracle expects %d and finds %d ambiguous, want 6 and 0: %v", len(o.Expected), len(o.Ambiguous), o.Expected)
	}
	want := map[string]string{"r1:remind": "JS-ZB", "r2:superior": "JS", "r3:supervision": "JS-JCS"}
	for _, e := range o.Expected {
		if e.CaseID == "plantask-c" && e.Kind == PlanDeadlineKind && want[e.Label] != e.Unit {
			t.Errorf("%s goes to %s, want %s", e.Label, e.Unit, want[e.Label])
		}
	}
	rec := func(c string, rung int, target, unit string) Recorded {
		return Recorded{Process: PlanProcess, CaseID: c, TaskKind: PlanDeadlineKind, Rung: rung, Target: target, UnitCode: unit,
			DueAt: base.Add(2 * u * time.Duration(rung-1))}
	}
	co := func(c string, rung int, target, unit string) Recorded {
		e := rec(c, rung, target, unit)
		e.TaskKind, e.SourceUnit = PlanContributionKind, map[string]string{"plantask-a": "JS-JCG", "plantask-c": "JS-DJZ"}[c]
		return e
	}
	recorded := []Recorded{
		rec("plantask-b", 1, "remind", "JS-RSG"),
		rec("plantask-b", 2, "superior", "JS"),                                              // false: declared before rung 2, though accepted after it
		rec("plantask-c", 1, "remind", "JS-ZB"), rec("plantask-c", 2, "superior", "JS-T01"), // wrong unit; r3 missing
		co("plantask-c", 1, "remind", "JS-DJZ"), co("plantask-c", 2, "superior", "JS"), // the cooperating section\'s own
		co("plantask-a", 1, "remind", "JS-JCG"), // false: cancelled at the close-out before it fell due
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 2 || rep.Duplicates != 0 || rep.WrongUnit != 1 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d; want 1, 2, 0, 1\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Misses)
	}
}

// TestPairingMonthsAndTheCheckLag checks the pairing rules without the service: each owed month
// climbs pairing_duty from its own end until its duties are recorded; a record between the
// month's end and the latest the school's check may first read is too close to call for the
// first rung (the check counts it as done when it reads after it), and a later rung; the rungs
// go to the school (teacher, school leader) and the township central school; and a month owes
// the term's duties only when it ends a term that began after the pairing was made.
func TestPairingMonthsAndTheCheckLag(t *testing.T) {
	u := time.Second
	var ladder []Rung
	for i, target := range []string{"teacher", "school_leader", "superior"} {
		ladder = append(ladder, Rung{TaskKind: PairingDeadlineKind, Rung: i + 1, After: ([]time.Duration{0, 6 * u, 8 * u}[i]).String(), Target: target})
	}
	rules := Rules{Ladders: map[string][]Rung{PairingDeadlineKind: ladder}, Calendar: calendar.Default(), Guard: u / 3}
	tm := timingsFor(u, DefaultDutyMonth)
	w := &world{u: u, t: tm}
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, calendar.CST)
	created := base.Add(-tm.PairingMonth / 2)
	start, _ := pairingPeriod(base, tm.PairingMonth)
	at := func(d time.Duration) *span {
		return &span{Sent: start.Add(d), Done: start.Add(d + 50*time.Millisecond)}
	}
	end := func(n int) time.Time { return start.Add(tm.PairingMonth * time.Duration(n)) }
	p := &PairingObs{CaseID: "pairing-1", Unit: "JS-T01-M01", Township: "T01", Created: created, Months: []*MonthObs{
		{N: 1, Start: start, End: end(1), Recorded: at(4 * u)},              // on time: nothing
		{N: 2, Start: end(1), End: end(2), Recorded: at(8*u + 8*u + 3*u)},   // after rung 1: r1
		{N: 3, Start: end(2), End: end(3)},                                  // never: r1–r3
		{N: 4, Start: end(3), End: end(4), Recorded: at(3*8*u + 8*u + 1*u)}, // inside the check's lag: r1 ambiguous, nothing else
	}}
	o, err := Expect(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.expectPairings(rules, []*PairingObs{p}, tm.PairingCheckLag, nil); err != nil {
		t.Fatal(err)
	}
	if len(o.Expected) != 1+3 || len(o.Ambiguous) != 1 {
		t.Fatalf("oracle expects %d and finds %d ambiguous, want 4 and 1: %v", len(o.Expected), len(o.Ambiguous), o.Expected)
	}
	rec := func(month, rung int, target, unit string) Recorded {
		return Recorded{Process: PairingProcess, CaseID: "pairing-1", TaskKind: PairingDeadlineKind, Rung: rung, Target: target,
			UnitCode: unit, DueAt: end(month).Add([]time.Duration{0, 6 * u, 8 * u}[rung-1])}
	}
	recorded := []Recorded{
		rec(2, 1, "teacher", "JS-T01-M01"),
		rec(3, 1, "teacher", "JS-T01-M01"), rec(3, 2, "school_leader", "JS-T01-M01"), rec(3, 3, "superior", "JS-T01-M01"), // superior at the school: wrong unit
		rec(4, 1, "teacher", "JS-T01-M01"),       // ambiguous: counted on neither side
		rec(1, 2, "school_leader", "JS-T01-M01"), // false: month 1 was on time
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 0 || rep.FalseEscalations != 1 || rep.Duplicates != 0 || rep.WrongUnit != 1 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d; want 0, 1, 0, 1\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Misses)
	}
	// Terms are two months, and midnight CST is a term boundary: months 2 and 4 end terms, which
	// a pairing made before month 1 owes; one made inside month 1 does not owe the first.
	var owed []int
	for n := 1; n <= 4; n++ {
		owed = append(owed, len(w.owedDuties(created, end(n))))
	}
	if !slices.Equal(owed, []int{2, 6, 2, 6}) {
		t.Errorf("duties owed by months 1–4 = %v, want [2 6 2 6]", owed)
	}
	if n := len(w.owedDuties(start.Add(u), end(2))); n != 2 {
		t.Errorf("a pairing made inside a term owes %d duties at its end, want 2 (the month's)", n)
	}
}

// TestTransferKeepsTheLadder checks the transfer rules without the service: a transferred review
// keeps its due time and its ladder (a rung before the transfer stays expected, the later ones
// fire at the same instants until the colleague decides), each rung names nobody before the
// transfer and the colleague after it, and its rungs count on rows of their own. Planted: a rung
// missing, one that fired after the colleague's decision, and one naming the old holder.
func TestTransferKeepsTheLadder(t *testing.T) {
	u := time.Second
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.CST)
	rules := Rules{Ladders: map[string][]Rung{"default": {{TaskKind: "default", Rung: 1, After: "1s", Target: "remind"},
		{TaskKind: "default", Rung: 2, After: "3s", Target: "superior"}, {TaskKind: "default", Rung: 3, After: "5s", Target: "supervision"}}},
		Calendar: calendar.Default(), Guard: u / 3}
	at := func(d time.Duration) *span { return &span{Sent: base.Add(d), Done: base.Add(d + 50*time.Millisecond)} }
	const to = "sim1-T01-M01-school_leader2"
	task := func(id string, transferAt, actedAt time.Duration, acts bool) *TaskObs {
		t := &TaskObs{Process: "subsidy", CaseID: "c" + id, TaskID: id, Kind: "subsidy_review", Unit: "JS-T01-M01", Township: "T01", Due: base,
			Transferred: at(transferAt), TransferredTo: to}
		if acts {
			t.Acted = at(actedAt)
		}
		return t
	}
	tasks := []*TaskObs{
		task("t1", -2*u, -u, true),  // at once, decided on time: nothing
		task("t2", -2*u, 4*u, true), // at once, decided after rung 2: r1, r2 naming the colleague
		task("t3", 2*u, 0, false),   // after rung 1, never decided: r1 naming nobody, r2 and r3 the colleague
	}
	o, err := Expect(rules, tasks, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Expected) != 2+3 || len(o.Ambiguous) != 0 {
		t.Fatalf("oracle expects %d and finds %d ambiguous, want 5 and 0: %v", len(o.Expected), len(o.Ambiguous), o.Expected)
	}
	for _, e := range o.Expected {
		want := to
		if e.TaskID == "t3" && e.Label == "r1:remind" {
			want = ""
		}
		if !e.HolderKnown || e.Holder != want || e.Kind != variantKind("subsidy_review", transferVariant) {
			t.Errorf("%s %s expects holder %q (known %v) on row %s, want %q on %s", e.TaskID, e.Label, e.Holder, e.HolderKnown, e.Kind, want,
				variantKind("subsidy_review", transferVariant))
		}
	}
	rec := func(task string, rung int, target, unit, holder string) Recorded {
		return Recorded{Process: "subsidy", CaseID: "c" + task, TaskID: task, TaskKind: "subsidy_review", Rung: rung, Target: target, UnitCode: unit,
			HolderName: holder, DueAt: base.Add([]time.Duration{u, 3 * u, 5 * u}[rung-1])}
	}
	recorded := []Recorded{
		rec("t2", 1, "remind", "JS-T01-M01", to), rec("t2", 2, "superior", "JS-T01", to),
		rec("t2", 3, "supervision", "JS-JCS", to), // false: the colleague decided before rung 3
		rec("t3", 1, "remind", "JS-T01-M01", ""),
		rec("t3", 2, "superior", "JS-T01", ""), // wrong holder: fired after the transfer; t3's rung 3 is missing
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 1 || rep.Duplicates != 0 || rep.WrongUnit != 0 || rep.WrongHolder != 1 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d, wrong holder %d; want 1, 1, 0, 0, 1\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.WrongHolder, rep.Misses)
	}
	for _, r := range rep.Rows {
		if r.Kind != variantKind("subsidy_review", transferVariant) {
			t.Errorf("a transferred review's rung counts on row %s/%s", r.Kind, r.Rung)
		}
	}
	if !rep.Failed() {
		t.Fatal("a report with a wrong holder does not fail")
	}
}

// TestStandInRungsFollowTheCentralSchool checks the leave rules without the service: a review
// whose school's leader is on leave sits at the township's central school, so its rungs go to the
// central school, the bureau (its parent) and the supervision office, on rows of their own.
// Planted: a reminder at the leave school (wrong unit), a rung after the stand-in decided (false)
// and one missing.
func TestStandInRungsFollowTheCentralSchool(t *testing.T) {
	u := time.Second
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.CST)
	rules := Rules{Ladders: map[string][]Rung{"default": {{TaskKind: "default", Rung: 1, After: "1s", Target: "remind"},
		{TaskKind: "default", Rung: 2, After: "3s", Target: "superior"}, {TaskKind: "default", Rung: 3, After: "5s", Target: "supervision"}}},
		Calendar: calendar.Default(), Guard: u / 3}
	at := func(d time.Duration) *span { return &span{Sent: base.Add(d), Done: base.Add(d + 50*time.Millisecond)} }
	tasks := []*TaskObs{
		{Process: "subsidy", CaseID: "c1", TaskID: "s1", Kind: "subsidy_review", Unit: "JS-T02", Due: base, StandInFrom: "JS-T02-L01", Acted: at(2 * u)}, // r1
		{Process: "subsidy", CaseID: "c2", TaskID: "s2", Kind: "subsidy_review", Unit: "JS-T02", Due: base, StandInFrom: "JS-T02-L01"},                   // r1–r3
	}
	o, err := Expect(rules, tasks, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"r1:remind": "JS-T02", "r2:superior": "JS", "r3:supervision": "JS-JCS"}
	if len(o.Expected) != 1+3 {
		t.Fatalf("oracle expects %d, want 4: %v", len(o.Expected), o.Expected)
	}
	for _, e := range o.Expected {
		if e.Unit != want[e.Label] || e.Kind != variantKind("subsidy_review", standInVariant) {
			t.Errorf("%s %s expected at %s on row %s, want %s on the stand-in's row", e.TaskID, e.Label, e.Unit, e.Kind, want[e.Label])
		}
	}
	rec := func(task string, rung int, target, unit string) Recorded {
		return Recorded{Process: "subsidy", CaseID: "c" + task[1:], TaskID: task, TaskKind: "subsidy_review", Rung: rung, Target: target, UnitCode: unit,
			DueAt: base.Add([]time.Duration{u, 3 * u, 5 * u}[rung-1])}
	}
	recorded := []Recorded{
		rec("s1", 1, "remind", "JS-T02-L01"),                             // wrong unit: the task is not at the leave school
		rec("s1", 2, "superior", "JS"),                                   // false: the stand-in decided before rung 2
		rec("s2", 1, "remind", "JS-T02"), rec("s2", 2, "superior", "JS"), // s2's rung 3 is missing
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 1 || rep.WrongUnit != 1 || rep.Duplicates != 0 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d; want 1, 1, 0, 1\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Misses)
	}
}

// TestHandlingClimbsFromItsDueTime checks the organisational handling rules without the service:
// the handling's deadline climbs from handling_due_at (remind the office, then the bureau
// leader at the bureau) until it is recorded, and its rungs are told from the finding's own
// rungs in the same case. Planted: a missing bureau-leader rung, a reminder after the handling
// was recorded, and the bureau leader's rung at the office.
func TestHandlingClimbsFromItsDueTime(t *testing.T) {
	u := time.Second
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.CST)
	rules := Rules{Ladders: map[string][]Rung{
		HandlingKind:        {{TaskKind: HandlingKind, Rung: 1, After: "0s", Target: "remind"}, {TaskKind: HandlingKind, Rung: 2, After: "2s", Target: "bureau_leader"}},
		FindingDeadlineKind: {{TaskKind: FindingDeadlineKind, Rung: 1, After: "1s", Target: "remind"}}},
		Calendar: calendar.Default(), Guard: u / 3}
	at := func(d time.Duration) *span { return &span{Sent: base.Add(d), Done: base.Add(d + 50*time.Millisecond)} }
	finds := []*FindingObs{{CaseID: "f1", Unit: "JS-T01-M01", Township: "T01", RectifyBy: base.Add(-10 * u)}} // its own r1, never rectified
	hs := []*HandlingObs{
		{CaseID: "f1", RecordID: "a1", Office: "JS-JCS", Due: base, Done: at(-3 * u / 2)}, // on time: nothing
		{CaseID: "f2", RecordID: "a2", Office: "JS-JCS", Due: base, Done: at(u)},          // r1
		{CaseID: "f3", RecordID: "a3", Office: "JS-JCS", Due: base},                       // r1, r2
	}
	o, err := Expect(rules, nil, nil, finds...)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.expectHandling(rules, hs); err != nil {
		t.Fatal(err)
	}
	if len(o.Expected) != 1+1+2 || len(o.Ambiguous) != 0 {
		t.Fatalf("oracle expects %d and finds %d ambiguous, want 4 and 0: %v", len(o.Expected), len(o.Ambiguous), o.Expected)
	}
	rec := func(c, kind string, rung int, target, unit string) Recorded {
		return Recorded{Process: "inspection", CaseID: c, TaskKind: kind, Rung: rung, Target: target, UnitCode: unit, DueAt: base}
	}
	recorded := []Recorded{
		rec("f1", FindingDeadlineKind, 1, "remind", "JS-T01-M01"), // the finding's own rung, not the handling's
		rec("f1", HandlingKind, 1, "remind", "JS-JCS"),            // false: recorded on time
		rec("f2", HandlingKind, 1, "remind", "JS-JCS"),
		rec("f3", HandlingKind, 1, "remind", "JS-JCS"),        // f3's bureau leader is missing
		rec("f2", HandlingKind, 2, "bureau_leader", "JS-JCS"), // false: f2 was recorded before rung 2
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 2 || rep.WrongUnit != 0 || rep.Duplicates != 0 {
		t.Fatalf("counts = misses %d, false %d, duplicates %d, wrong unit %d; want 1, 2, 0, 0\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Misses)
	}
	// The bureau leader's rung goes to the bureau: at the office it is a wrong unit.
	rep = &Report{AuditOK: true}
	Compare(o, []Recorded{rec("f1", FindingDeadlineKind, 1, "remind", "JS-T01-M01"), rec("f2", HandlingKind, 1, "remind", "JS-JCS"),
		rec("f3", HandlingKind, 1, "remind", "JS-JCS"), rec("f3", HandlingKind, 2, "bureau_leader", "JS-JCS")}, rep)
	if rep.SilentMisses != 0 || rep.FalseEscalations != 0 || rep.WrongUnit != 1 {
		t.Fatalf("counts = misses %d, false %d, wrong unit %d; want 0, 0, 1\n%v", rep.SilentMisses, rep.FalseEscalations, rep.WrongUnit, rep.Misses)
	}
}

// TestDutyPeriodsCountRecordsWhereTheyFall checks the duty rules without the service: a period
// is met by a record made inside it; a late record (after the period's end) does not clear the
// period it was owed for but meets the one it falls in; a record across a boundary is too close
// to call; a unit made owing after the sweep's lag owes nothing for the period before; periods
// falling due after the store is read are not judged. Planted: a rung of a met period on record
// (false), one missing (silent miss), one recorded twice (duplicate), one at the wrong unit.
func TestDutyPeriodsCountRecordsWhereTheyFall(t *testing.T) {
	u := time.Second
	tm := timingsFor(u, DefaultDutyMonth)
	ladder := []Rung{{TaskKind: ContactDutyKind, Rung: 1, After: "0s", Target: "remind"}, {TaskKind: ContactDutyKind, Rung: 2, After: (4 * u).String(), Target: "superior"}}
	rules := Rules{Ladders: map[string][]Rung{ContactDutyKind: ladder}, Calendar: calendar.Default(), Guard: u / 3}
	start, _ := pairingPeriod(time.Date(2026, 11, 2, 0, 0, 0, 0, calendar.CST), tm.DutyMonth)
	end := func(n int) time.Time { return start.Add(tm.DutyMonth * time.Duration(n)) }
	at := func(d time.Duration) span { return span{Sent: start.Add(d), Done: start.Add(d + 50*time.Millisecond)} }
	d := &DutyObs{CaseID: "contact-JS-T01-M01", Kind: ContactDutyKind, Unit: "JS-T01-M01", Township: "T01",
		Since: at(3 * u), // owed from period 1 (the sweep of the period before had read the units by start + lag)
		Records: []span{
			at(4 * u),       // inside period 1: met
			at(2*8*u + 6*u), // after period 2's end (late after rung 2): meets period 3, not 2
			{Sent: end(4).Add(-u / 10), Done: end(4).Add(u / 10)}, // across the end of period 4: 4 and 5 unsure
		}}
	judgedBy := end(6).Add(4 * u) // period 6's last rung is the last judged
	o, err := Expect(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.expectDuties(rules, []*DutyObs{d}, tm.DutyCheckLag, tm.DutyMonth, judgedBy, judgedBy.Add(2*tm.DutyMonth), nil); err != nil {
		t.Fatal(err)
	}
	// Period 2 (r1, r2) and period 6 (r1, r2) expected; 4 and 5 ambiguous; 7 to 9 unjudged.
	if len(o.Expected) != 4 || len(o.Ambiguous) != 4 || len(o.Unjudged) != 6 || o.dutyPeriods != 6 {
		t.Fatalf("expected %d, ambiguous %d, unjudged %d, judged periods %d; want 4, 4, 6, 6: %v", len(o.Expected), len(o.Ambiguous),
			len(o.Unjudged), o.dutyPeriods, o.Expected)
	}
	if ex, ok := o.Expected[Expected{Process: PlanProcess, CaseID: d.CaseID, TaskID: periodKey(2), Label: "r1:remind"}.key()]; !ok ||
		!ex.Latest.Equal(end(2).Add(tm.DutyCheckLag)) {
		t.Errorf("period 2's first rung: %+v, want due in [its end, end + lag]", ex)
	}
	rec := func(period, rung int, unit string) Recorded {
		target := []string{"remind", "superior"}[rung-1]
		return Recorded{Process: PlanProcess, CaseID: d.CaseID, TaskKind: ContactDutyKind, Rung: rung, Target: target, UnitCode: unit,
			DueAt: end(period).Add([]time.Duration{0, 4 * u}[rung-1])}
	}
	recorded := []Recorded{
		rec(2, 1, "JS-T01-M01"), rec(2, 2, "JS-T01-M01"), // superior at the school itself: wrong unit
		rec(6, 1, "JS-T01-M01"), rec(6, 1, "JS-T01-M01"), // twice: a duplicate; period 6's r2 missing
		rec(3, 1, "JS-T01-M01"), // period 3 was met by the late record: false
		rec(5, 2, "JS-T01"),     // ambiguous: counted on neither side
		rec(7, 1, "JS-T01-M01"), // unjudged
	}
	rep := &Report{AuditOK: true}
	Compare(o, recorded, rep)
	if rep.SilentMisses != 1 || rep.FalseEscalations != 1 || rep.Duplicates != 1 || rep.WrongUnit != 1 || rep.Unjudged != 1 {
		t.Fatalf("misses %d, false %d, duplicates %d, wrong unit %d, unjudged %d; want 1 each\n%v",
			rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.WrongUnit, rep.Unjudged, rep.Misses)
	}
	// A unit made owing after the sweep at period 1's end may have read the units owes nothing for it.
	late := &DutyObs{CaseID: "contact-JS-T01-M02", Kind: ContactDutyKind, Unit: "JS-T01-M02", Township: "T01",
		Since: span{Sent: end(1).Add(tm.DutyCheckLag + u), Done: end(1).Add(tm.DutyCheckLag + u + 50*time.Millisecond)}}
	o2, _ := Expect(rules, nil, nil)
	if err := o2.expectDuties(rules, []*DutyObs{late}, tm.DutyCheckLag, tm.DutyMonth, end(2).Add(4*u), end(2).Add(4*u+2*tm.DutyMonth), nil); err != nil {
		t.Fatal(err)
	}
	if len(o2.Expected) != 2 || len(o2.Ambiguous) != 0 {
		t.Errorf("a unit owing from inside period 2: expected %v, ambiguous %v; want period 2's two rungs only", o2.Expected, o2.Ambiguous)
	}
}
