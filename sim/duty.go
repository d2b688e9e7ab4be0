package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"jiaofu/apiclient"
	"jiaofu/calendar"
)

// The work plan's periodic duties in the simulated term (docs/plan.md, "包保 contacts" and
// "Schools' duties of a term"), kept apart from the other processes: their own random stream
// (seed, DutyStream), their own observations, their own oracle rules.
//
// Periods: JIAOFU_DUTY_CHECK_EVERY is set to the duty month (-duty-month units), so the Schedule
// plan-duty-check sweeps at every period's end and each period is both a month (包保 contacts) and
// a term (school duties); boundaries as pairingPeriod counts them (the service's DutyPeriods
// counts them as PairingPeriod does).
//
// County: in each township one more township_staff member at the central school
// (sim<seed>-txx-baobao) answers on the 包保 chain for the township's schools drawn by
// -contact-share, and owes each a contact a month (POST /api/v1/contacts). Every school and
// kindergarten owes an article and a progress report a term (POST
// /api/v1/school-duties/{id}/records), whether the harness simulates it or not, so every
// generated school's staff record them: at the schools drawn by -duty-share the first
// -duty-months whole periods follow the school's profile, every other period is on time, until
// the store has been read.
//
// Dates: both records take a date (contacted_on, done_on), and a date of today counts at the
// instant it is recorded (workflows.VisitInstant), so in compressed periods a record counts in
// the period it is made in. An actor late "after rung k" therefore records in a later period: the
// record never clears the period it was owed for (the check reads that period's records before
// each rung) and counts toward the period it falls in. Backdating a late record into the month it
// was owed for, which clears the deadline in calendar months, cannot be simulated with compressed
// periods. A person records one contact a day per unit (duplicate_contact), so each unit gets at
// most one contact in a run: after its simulated month the contact duty climbs its ladder every
// period, which the oracle expects.
//
// Oracle rules (docs/plan.md «The checks»): a period [start, end) is met when a record of its kind
// counts inside it; a period not met gets a case deadline at its end whose rung N falls due at its
// `after` past the end (the first, offset 0, when the unit's check first reads, in [end, end +
// DutyCheckLag]); a record inside the period clears it, a later one does not (records count at
// their own instant, so when the check reads does not change which period a record meets). A
// record whose request spans a boundary is too close to call for both periods. A unit owes a
// period when it was owed its duty before its check at the period's end read it: for a 包保
// contact set near a boundary, that read is taken from the check's Temporal history
// (checkread.go), else from [end, end + DutyCheckLag]. Targets: remind the unit,
// superior its township's central school. Periods whose last rung falls due after the run has
// settled are not judged (the sweeps go on until the service stops): their escalations are read
// and counted under "unjudged", neither expected nor false.

// Kinds of the work plan's periodic duties (their ladders' names).
const (
	ContactDutyKind = "contact_duty"
	SchoolDutyKind  = "school_duty"
)

// DutyStream is the duties' random stream, above every case's own (seed, 2i+1|2i+2).
const DutyStream = 1<<32 + 0x25

var schoolDutyKinds = []string{"article", "progress_report"}

// DutyObs is one unit's duty of a kind as the actors saw it: the records that count toward its
// periods (each the span of its request: the service counts it somewhere inside), and from when
// the unit owes it.
type DutyObs struct {
	CaseID, Kind, Unit, Township string
	Duty                         string    // the school duty kind, "" for a contact
	Since                        span      // the unit owes the duty from then on (the responsibility set, the school created)
	Behaviours                   []string  // the simulated periods', from the first whole period on
	First                        time.Time // the start of the first simulated period
	mu                           sync.Mutex
	Records                      []span
}

func (d *DutyObs) add(s span) {
	d.mu.Lock()
	d.Records = append(d.Records, s)
	d.mu.Unlock()
}

// duties sets up the 包保 contacts and runs every generated school's duties until stop.
func (w *world) duties(ctx context.Context, admin *apiclient.Client, schools []*school, size Size, rng *rand.Rand, stop <-chan struct{}) {
	if size.DutyMonths < 1 {
		return
	}
	type plan struct {
		sc       *school
		contact  *DutyObs
		schoolDs []*DutyObs
	}
	// Draw everything first, in the schools' order, so that the draws do not depend on scheduling.
	var plans []*plan
	for _, sc := range schools {
		p := &plan{sc: sc}
		if rng.Float64() < size.ContactShare {
			p.contact = &DutyObs{CaseID: "contact-" + sc.Code, Kind: ContactDutyKind, Unit: sc.Code, Township: sc.Township,
				Behaviours: []string{sc.Profile.draw(rng)}}
		}
		simulated := rng.Float64() < size.DutyShare
		for _, k := range schoolDutyKinds {
			d := &DutyObs{CaseID: "schoolduty-" + k + "-" + sc.Code, Kind: SchoolDutyKind, Unit: sc.Code, Township: sc.Township, Duty: k}
			for range size.DutyMonths {
				b := OnTime
				if simulated {
					b = sc.Profile.draw(rng)
				}
				d.Behaviours = append(d.Behaviours, b)
			}
			p.schoolDs = append(p.schoolDs, d)
		}
		plans = append(plans, p)
	}
	// One 包保 person a township, at its central school, for the drawn schools.
	people := map[string]*apiclient.Client{}
	for _, p := range plans {
		if p.contact == nil || people[p.sc.Township] != nil {
			continue
		}
		name := lower(fmt.Sprintf("sim%d-%s-baobao", w.seed, p.sc.Township))
		if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/users", map[string]any{"username": name, "password": "sim-password-1",
			"display_name": name, "roles": []map[string]string{{"role": "township_staff", "unit_code": "JS-" + p.sc.Township}}}, nil); err != nil {
			w.j.fail(fmt.Errorf("create the 包保 person of %s: %w", p.sc.Township, err))
			return
		}
		c, err := admin.Login(ctx, name, "sim-password-1")
		if err != nil {
			w.j.fail(err)
			return
		}
		people[p.sc.Township] = c
	}
	var wg sync.WaitGroup
	for _, p := range plans {
		if p.contact != nil {
			var unit struct{ ID string }
			if err := admin.Expect(ctx, 200, "GET", "/api/v1/admin/org-units/"+p.sc.Code, nil, &unit); err != nil {
				w.j.fail(err)
				continue
			}
			sent := time.Now()
			if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/responsibilities", map[string]string{"subject_kind": "unit", "subject_id": unit.ID,
				"username": lower(fmt.Sprintf("sim%d-%s-baobao", w.seed, p.sc.Township))}, nil); err != nil {
				w.j.fail(fmt.Errorf("make the 包保 person answer for %s: %w", p.sc.Code, err))
				continue
			}
			// Owed from the period the responsibility was set in (the sweep at its end sees it); one
			// set across a boundary makes both periods too close to call.
			p.contact.Since = span{Sent: sent, Done: time.Now()}
			_, p.contact.First = pairingPeriod(time.Now(), w.t.DutyMonth)
			w.j.mu.Lock()
			w.j.duties = append(w.j.duties, p.contact)
			w.j.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.contact(ctx, people[p.sc.Township], p.contact)
			}()
		}
		for _, d := range p.schoolDs {
			d.Since = p.sc.Created
			_, d.First = pairingPeriod(time.Now(), w.t.DutyMonth)
			w.j.mu.Lock()
			w.j.duties = append(w.j.duties, d)
			w.j.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.schoolDuty(ctx, p.sc, d, stop)
			}()
		}
	}
	wg.Wait()
}

// dutyAt is when a behaviour records a period's duty: in the middle of the period (on time),
// between the ladder's rungs past its end (late: in a later period), or never (false).
func (w *world) dutyAt(b string, start time.Time, kind string) (time.Time, bool) {
	rungs := w.rungs[kind]
	if (b == Late2 && len(rungs) < 2) || (b == Late3 && len(rungs) < 3) {
		b = Late1
	}
	if b == OnTime {
		return start.Add(w.t.DutyMonth / 2), true
	}
	return actAt(b, start.Add(w.t.DutyMonth), w.u, rungs)
}

// contact records the unit's one contact of the run as its simulated month's behaviour says.
func (w *world) contact(ctx context.Context, person *apiclient.Client, d *DutyObs) {
	at, acts := w.dutyAt(d.Behaviours[0], d.First, ContactDutyKind)
	if !acts {
		return
	}
	if err := sleepUntil(ctx, at); err != nil {
		return
	}
	s, err := timed(func() error {
		return person.Expect(ctx, 201, "POST", "/api/v1/contacts", map[string]string{"unit_code": d.Unit,
			"contacted_on": time.Now().In(calendar.CST).Format("2006-01-02"), "method": "visit", "summary": "模拟：走访了解控辍保学情况",
			"evidence_note": "走访记录 1 份"}, nil)
	})
	if err != nil {
		w.j.fail(fmt.Errorf("record a 包保 contact with %s: %w", d.Unit, err))
		return
	}
	d.add(*s)
}

// schoolDuty records a school's duty of a kind: at once in the period the run starts in (the
// sweep at its end checks every school), as drawn in the simulated periods, on time after them
// until stop.
func (w *world) schoolDuty(ctx context.Context, sc *school, d *DutyObs, stop <-chan struct{}) {
	record := func() error {
		body := map[string]string{"done_on": time.Now().In(calendar.CST).Format("2006-01-02"), "title": "模拟：" + d.Duty,
			"evidence_note": "材料 1 份"}
		if d.Duty == "article" {
			body["outlet"] = "恩施日报"
		}
		s, err := timed(func() error {
			return sc.Staff.Expect(ctx, 201, "POST", "/api/v1/school-duties/"+d.CaseID+"/records", body, nil)
		})
		if err != nil {
			return fmt.Errorf("record %s at %s: %w", d.Duty, sc.Code, err)
		}
		d.add(*s)
		return nil
	}
	if err := record(); err != nil { // the period under way when the run starts
		w.j.fail(err)
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for n, b := range d.Behaviours {
		at, acts := w.dutyAt(b, d.First.Add(time.Duration(n)*w.t.DutyMonth), SchoolDutyKind)
		if !acts {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sleepUntil(ctx, at) == nil {
				if err := record(); err != nil {
					w.j.fail(err)
				}
			}
		}()
	}
	for start := d.First.Add(time.Duration(len(d.Behaviours)) * w.t.DutyMonth); ; start = start.Add(w.t.DutyMonth) {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(w.t.DutyMonth / 2))):
		}
		if err := record(); err != nil {
			select {
			case <-stop: // the run is over: the service may be going away
			default:
				w.j.fail(err)
			}
			return
		}
	}
}

// dutiesSnapshot copies the duties with the records on file now: the on-time records go on
// while the oracle works.
func (j *journal) dutiesSnapshot() []*DutyObs {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]*DutyObs, len(j.duties))
	for i, d := range j.duties {
		d.mu.Lock()
		out[i] = &DutyObs{CaseID: d.CaseID, Kind: d.Kind, Unit: d.Unit, Township: d.Township, Duty: d.Duty, Since: d.Since,
			Behaviours: d.Behaviours, First: d.First, Records: append([]span(nil), d.Records...)}
		d.mu.Unlock()
	}
	return out
}

// dutyHorizon is when the last simulated duty period's last rung has fallen due (the first rung
// may take the sweep's lag): the oracle judges the periods up to it.
func (w *world) dutyHorizon() time.Time {
	var h time.Time
	for _, d := range w.j.dutiesSnapshot() {
		end := d.First.Add(time.Duration(len(d.Behaviours)) * w.t.DutyMonth)
		if at := end.Add(max(w.rungs[d.Kind][len(w.rungs[d.Kind])-1], w.t.DutyCheckLag)); at.After(h) {
			h = at
		}
	}
	return h
}

// dutySettled is when the duties' simulated periods have climbed their ladders, with three units to spare.
func (w *world) dutySettled(last time.Time) time.Time {
	if at := w.dutyHorizon().Add(3 * w.u); at.After(last) {
		return at
	}
	return last
}

// expectDuties adds the duties' rules to the oracle for every period from the one each unit
// began to owe in; periods whose last rung falls due after judgedBy (the last simulated period's,
// dutyHorizon) are unjudged, and periods are named until `until` (past the store's reading) so
// that every escalation on record finds its period.
func (o *Oracle) expectDuties(r Rules, duties []*DutyObs, lag, length time.Duration, judgedBy, until time.Time, reads map[string][]checkRead) error {
	if o.periods == nil {
		o.periods = map[string][]time.Time{}
	}
	for _, d := range duties {
		ladder := r.ladder(d.Kind)
		var offsets []time.Duration
		for _, rg := range ladder {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			offsets = append(offsets, spec.Due(r.Calendar, judgedBy).Sub(judgedBy))
		}
		// A period is owed when the unit was owed its duty before its check at the period's end
		// read the unit (for a contact, whether someone answers for it). That read's span is taken
		// from the check's history when the harness read it (reads, by checkKey: the period that
		// ended last before the duty was set, checkread.go); otherwise it is some time in [end,
		// end + lag]. A unit made owing within the guard of it may or may not be checked for the
		// period that just ended.
		first, _ := pairingPeriod(d.Since.Sent.Add(-lag), length)
		if boundary, _ := pairingPeriod(d.Since.Sent, length); reads[checkKey(d.Unit, boundary)] != nil {
			first = boundary.Add(-length)
		}
		for n, s := 1, first; s.Before(until); n, s = n+1, s.Add(length) {
			e := s.Add(length)
			o.periods[d.CaseID] = append(o.periods[d.CaseID], e)
			earliest, latest := e, e.Add(lag)
			if rs := reads[checkKey(d.Unit, e)]; len(rs) > 0 {
				earliest, latest = rs[0].Started, rs[0].Done
			}
			owed := d.Since.Done.Before(e) || d.Since.Done.Before(earliest.Add(-r.Guard))
			unsure := !owed && !d.Since.Sent.After(latest.Add(r.Guard))
			met := false
			for _, rec := range d.Records {
				switch {
				case !rec.Sent.Before(s) && rec.Done.Before(e):
					met = true
				case rec.Done.Before(s) || !rec.Sent.Before(e):
				default: // the request spans a boundary: counted in one period or the other
					unsure = true
				}
			}
			for i, rg := range ladder {
				unit, err := targetUnit(rg.Target, d.Unit, d.Township)
				if err != nil {
					return err
				}
				ex := Expected{Process: PlanProcess, CaseID: d.CaseID, TaskID: periodKey(n), Kind: d.Kind, Label: rungLabel(rg.Rung, rg.Target),
					Unit: unit, At: e.Add(offsets[i]), Latest: e.Add(offsets[i])}
				if offsets[i] == 0 { // falls due as the unit's check first reads, after the sweep reaches it
					ex.Latest = e.Add(lag)
				}
				judged := !e.Add(max(offsets[len(offsets)-1], lag)).After(judgedBy)
				if i == 0 && judged {
					o.dutyPeriods++
				}
				switch {
				case !judged:
					o.Unjudged[ex.key()] = true
				case met:
				case unsure:
					o.Ambiguous[ex.key()] = true
				case owed:
					o.Expected[ex.key()] = ex
				}
			}
		}
	}
	return nil
}
