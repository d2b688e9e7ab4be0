package sim

import (
	"testing"
	"time"

	"jiaofu/calendar"
	"jiaofu/workflows"
)

// TestPairingRungsFollowTheCheckRead checks the pairing rule by the check's reads, without the
// service: a record made after the month's end but before the read that decides a rung counts
// (however late that read came), one made after it expects the rung, and one within the guard
// of it is too close to call. The check reads once when the sweep starts it and again before
// each rung instant (the first of those, not the sweep's, decides the first rung).
func TestPairingRungsFollowTheCheckRead(t *testing.T) {
	u := 3 * time.Second
	offsets := []time.Duration{0, 6 * u, 8 * u}
	var ladder []Rung
	for i, target := range []string{"teacher", "school_leader", "superior"} {
		ladder = append(ladder, Rung{TaskKind: PairingDeadlineKind, Rung: i + 1, After: offsets[i].String(), Target: target})
	}
	rules := Rules{Ladders: map[string][]Rung{PairingDeadlineKind: ladder}, Calendar: calendar.Default(), Guard: u / 3}
	tm := timingsFor(u, DefaultDutyMonth)
	start, _ := pairingPeriod(time.Date(2026, 11, 2, 0, 0, 0, 0, calendar.CST), tm.PairingMonth)
	end := func(n int) time.Time { return start.Add(tm.PairingMonth * time.Duration(n)) }
	after := func(n int, d time.Duration) *span { // a record's request, d after month n's end
		return &span{Sent: end(n).Add(d), Done: end(n).Add(d + 50*time.Millisecond)}
	}
	read := func(n int, d time.Duration) checkRead { // a read scheduled d after month n's end, 200 ms long
		return checkRead{Scheduled: end(n).Add(d), Started: end(n).Add(d + 10*time.Millisecond), Done: end(n).Add(d + 200*time.Millisecond)}
	}
	const unit = "JS-T01-M01"
	months := []*MonthObs{
		{N: 1, Recorded: after(1, 3*u)},   // after rung 1's offset, before a check that first read 5u late: counted
		{N: 2, Recorded: after(2, 3*u)},   // after the reads before rung 1: r1
		{N: 3, Recorded: after(3, 3*u)},   // as the read before rung 1 starts: too close to call
		{N: 4, Recorded: after(4, 3*u/2)}, // between the sweep's read and the one before rung 1: counted
		{N: 5, Recorded: after(5, 7*u)},   // after rung 2's offset, before its read came 2.5u late: r1 only
		{N: 7, Recorded: after(7, 9*u)},   // a check that started 8u late: after rung 1's read, before rung 2's own: r1 only
		{N: 6},                            // never: r1–r3
	}
	reads := map[string][]checkRead{
		checkKey(unit, end(1)): {read(1, 5*u)}, // the record came first: nothing missing, no read before a rung
		checkKey(unit, end(2)): {read(2, u/2), read(2, u), read(2, 6*u)},
		checkKey(unit, end(3)): {read(3, u), read(3, 3*u), read(3, 6*u)}, // not counted at the second read: r1 fired, the third cleared it
		checkKey(unit, end(4)): {read(4, u), read(4, 2*u)},
		checkKey(unit, end(5)): {read(5, u/2), read(5, u), read(5, 8*u+5*u/2)},
		checkKey(unit, end(6)): {read(6, u/2), read(6, u), read(6, 6*u), read(6, 8*u)},
		checkKey(unit, end(7)): {read(7, 8*u), read(7, 8*u+u/10), read(7, 8*u+2*u)}, // the rungs overdue: r2's read after r1's escalation
	}
	for _, m := range months {
		m.Start, m.End = end(m.N-1), end(m.N)
	}
	p := &PairingObs{CaseID: "pairing-1", Unit: unit, Township: "T01", Created: start.Add(-tm.PairingMonth / 2), Months: months}
	o, err := Expect(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.expectPairings(rules, []*PairingObs{p}, tm.PairingCheckLag, reads); err != nil {
		t.Fatal(err)
	}
	key := func(n, rung int, target string) string {
		return Expected{Process: PairingProcess, CaseID: "pairing-1", TaskID: periodKey(n), Label: rungLabel(rung, target)}.key()
	}
	want := []string{key(2, 1, "teacher"), key(5, 1, "teacher"), key(6, 1, "teacher"), key(6, 2, "school_leader"), key(6, 3, "superior"),
		key(7, 1, "teacher")}
	for _, k := range want {
		if _, ok := o.Expected[k]; !ok {
			t.Errorf("oracle does not expect %s", k)
		}
	}
	if len(o.Expected) != len(want) {
		t.Errorf("oracle expects %d rungs, want %d: %v", len(o.Expected), len(want), o.Expected)
	}
	if !o.Ambiguous[key(3, 1, "teacher")] || len(o.Ambiguous) != 1 {
		t.Errorf("ambiguous = %v, want month 3's first rung only", o.Ambiguous)
	}
	// The rung's instant is its deciding read's span: the first rung of month 2 the read before it
	// (not the sweep's), the last of month 6 the read at its offset.
	if ex := o.Expected[key(2, 1, "teacher")]; !ex.At.Equal(read(2, u).Started) || !ex.Latest.Equal(read(2, u).Done) {
		t.Errorf("month 2 r1 instant = [%s, %s], want the second read's span", ex.At, ex.Latest)
	}
	if ex := o.Expected[key(6, 3, "superior")]; !ex.At.Equal(read(6, 8*u).Started) {
		t.Errorf("month 6 r3 instant = %s, want the read at 8u", ex.At)
	}
	if o.pairingRead != 7 || o.pairingLag != 0 {
		t.Errorf("months judged by reads %d, by the lag rule %d; want 7 and 0", o.pairingRead, o.pairingLag)
	}

	// Without the histories the lag rule judges: month 1's record, 3u after the month's end, is
	// past the 2u the rule allows the check, so it expects the rung the service rightly did not
	// raise — the 1,407-case run's silent misses.
	lag, err := Expect(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lag.expectPairings(rules, []*PairingObs{p}, tm.PairingCheckLag, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := lag.Expected[key(1, 1, "teacher")]; !ok || lag.pairingLag != 7 {
		t.Errorf("the lag rule does not expect month 1's r1 (or judged %d months by it, want 7)", lag.pairingLag)
	}
}

// TestDecidingReadIsTheFirstAfterTheInstant checks which read decides rung k: the first of the
// reads before rungs, from the k-th on, made at or after its instant (each rung has a read of its
// own, so one that fired late after the check started past two instants is decided by its own
// read, not the previous rung's); when the check read no more, its last read (where the deadline
// ended, or where the sweep's read found nothing missing).
func TestDecidingReadIsTheFirstAfterTheInstant(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := func(s int) checkRead {
		return checkRead{Scheduled: t0.Add(time.Duration(s) * time.Second), Started: t0.Add(time.Duration(s) * time.Second)}
	}
	for _, c := range []struct {
		name  string
		reads []checkRead
		at, k int
		want  int // seconds of the deciding read's schedule, -1 for none
	}{
		{"first rung: the read before it, not the sweep's", []checkRead{r(1), r(2), r(18)}, 0, 1, 2},
		{"first rung, nothing missing at the sweep's read", []checkRead{r(1)}, 0, 1, 1},
		{"later rung: the read at its instant", []checkRead{r(1), r(2), r(18), r(25)}, 18, 2, 18},
		{"later rung read late", []checkRead{r(1), r(2), r(21)}, 18, 2, 21},
		{"a check started past two rungs: each its own read", []checkRead{r(20), r(21), r(22)}, 18, 2, 22},
		{"a check started past two rungs: the first rung's", []checkRead{r(20), r(21), r(22)}, 0, 1, 21},
		{"cleared before the rung: the last read", []checkRead{r(1), r(2)}, 18, 2, 2},
		{"nothing missing at the sweep's read, a later rung", []checkRead{r(1)}, 18, 3, 1},
		{"no reads", nil, 0, 1, -1},
	} {
		got, ok := decidingRead(c.reads, t0.Add(time.Duration(c.at)*time.Second), c.k)
		switch {
		case c.want < 0 && ok:
			t.Errorf("%s: deciding read at %s, want none", c.name, got.Scheduled.Sub(t0))
		case c.want >= 0 && (!ok || !got.Scheduled.Equal(t0.Add(time.Duration(c.want)*time.Second))):
			t.Errorf("%s: deciding read at %s (%v), want %ds", c.name, got.Scheduled.Sub(t0), ok, c.want)
		}
	}
}

// TestCheckIDsAreTheServices holds the harness's copy of the checks' workflow ids (the oracle's
// files import no workflows) to the service's.
func TestCheckIDsAreTheServices(t *testing.T) {
	end := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	for _, unit := range []string{"JS-T01-M01", "JS-T02-L01", "学校 1/x"} {
		if got, want := checkID(pairingCheckPrefix, unit, end), workflows.PairingCheckWorkflowID(unit, end); got != want {
			t.Errorf("pairing check of %q = %q, the service names it %q", unit, got, want)
		}
		if got, want := checkID(dutyCheckPrefix, unit, end), workflows.DutyCheckWorkflowID(unit, end); got != want {
			t.Errorf("duty check of %q = %q, the service names it %q", unit, got, want)
		}
	}
}

// TestContactOwedFromTheCheckRead checks the duty rule by the check's read, without the service:
// a 包保 responsibility set after the period's end but before the unit's check read it (later
// than the lag rule allows) owes the period that just ended a contact; one set after the read
// does not; one within the guard of it is too close to call.
func TestContactOwedFromTheCheckRead(t *testing.T) {
	u := 3 * time.Second
	tm := timingsFor(u, DefaultDutyMonth)
	ladder := []Rung{{TaskKind: ContactDutyKind, Rung: 1, After: "0s", Target: "remind"}, {TaskKind: ContactDutyKind, Rung: 2, After: (4 * u).String(), Target: "superior"}}
	rules := Rules{Ladders: map[string][]Rung{ContactDutyKind: ladder}, Calendar: calendar.Default(), Guard: u / 3}
	start, _ := pairingPeriod(time.Date(2026, 11, 2, 0, 0, 0, 0, calendar.CST), tm.DutyMonth)
	end := func(n int) time.Time { return start.Add(tm.DutyMonth * time.Duration(n)) }
	judgedBy := end(1).Add(4 * u)
	for _, c := range []struct {
		name             string
		set              time.Duration // after period 1's end
		read             time.Duration // the check's first read, after period 1's end
		expected, unsure int           // of period 1's two rungs
	}{
		{"set before a late read", 4 * u, 7 * u, 2, 0},
		{"set after the read", 4 * u, 2 * u, 0, 0},
		{"set as the read ran", 4 * u, 4 * u, 0, 2},
	} {
		since := span{Sent: end(1).Add(c.set), Done: end(1).Add(c.set + 50*time.Millisecond)}
		d := &DutyObs{CaseID: "contact-JS-T01-M01", Kind: ContactDutyKind, Unit: "JS-T01-M01", Township: "T01", Since: since}
		reads := map[string][]checkRead{checkKey(d.Unit, end(1)): {{Scheduled: end(1).Add(c.read), Started: end(1).Add(c.read + 10*time.Millisecond),
			Done: end(1).Add(c.read + 200*time.Millisecond)}}}
		o, err := Expect(rules, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.expectDuties(rules, []*DutyObs{d}, tm.DutyCheckLag, tm.DutyMonth, judgedBy, judgedBy, reads); err != nil {
			t.Fatal(err)
		}
		if len(o.Expected) != c.expected || len(o.Ambiguous) != c.unsure {
			t.Errorf("%s: expected %d, ambiguous %d; want %d, %d: %v", c.name, len(o.Expected), len(o.Ambiguous), c.expected, c.unsure, o.Expected)
		}
		// Without the check's history the lag rule (2u) judges the first: set 4u after the end, nothing owed.
		if c.read == 7*u {
			lag, _ := Expect(rules, nil, nil)
			if err := lag.expectDuties(rules, []*DutyObs{d}, tm.DutyCheckLag, tm.DutyMonth, judgedBy, judgedBy, nil); err != nil {
				t.Fatal(err)
			}
			if len(lag.Expected) != 0 {
				t.Errorf("the lag rule expects %d rungs of a unit set owing 4u after the end, want 0", len(lag.Expected))
			}
		}
	}
}
