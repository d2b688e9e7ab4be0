package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"jiaofu/calendar"
)

// Teacher pairings in the simulated term (issue 17's process 6 in issue 21's harness), kept apart
// from the other processes: their own random stream, their own observations, their own oracle
// rules.
//
// County: at each school drawn by -pairing-share the staff register one more student of their
// own, poverty-registered (建档立卡), whom no other process uses — so the other processes' draws
// and cases stay as they were — and pair them with the school's teacher (POST /api/v1/pairings).
//
// Actors: a pairing owes its month's duties (measure, activity) from the first whole month after
// it was made, and, in a month that ends a term it was made before, the term's too (plan,
// home_visit, good_deed, summary): the term is compressed to two months, so both kinds are
// exercised. For each of the first -pairing-months owed months the teacher draws a behaviour from
// the school's profile and records every owed duty, dated inside the month, in the middle of the
// month (on time), after rung k of the pairing_duty ladder (late) or never. After the simulated
// months the teacher records every month on time until the store has been read, so that no later
// month raises anything.
//
// Periods (docs/pairing.md): fixed lengths whose boundaries lie at midnight CST counted from the
// Unix epoch; a month ends a term when its end is a term boundary.
//
// Oracle rules (docs/pairing.md): a pairing short at its month's end gets a case deadline of kind
// pairing_duty at that end; its ladder's rung N falls due at its `after` past the end and fires
// unless every missing duty was recorded before the read that decides it — the school's check
// reads the records when the sweep starts it and again at each rung instant before the rung
// fires, and a late record clears the deadline. Those reads come late under load (the first rung,
// offset 0, is decided by a read that may come many units after the month's end), so the oracle
// takes each rung's instant from its check's Temporal history (checkread.go): a record before the
// deciding read counts, one after it expects the rung, one within the guard of it is too close to
// call. When the history cannot be read, the first rung's instant is taken to lie anywhere in
// [end, end + PairingCheckLag] and the others' at their offsets (the report counts such months).
// Targets: teacher and school_leader the school, superior the township central school.
// The school threshold (pairing_school → supervision office) is set to 0 in the simulation, so it
// never fires: the oracle expects none, and any on record is a false escalation.

// PairingDeadlineKind is the kind of a pairing's duties of a period (its ladder's name).
const PairingDeadlineKind = "pairing_duty"

// PairingSchoolKind is the kind of a school below the pairing threshold (not simulated: never fires).
const PairingSchoolKind = "pairing_school"

// PairingProcess is the pairing process's name in escalations.
const PairingProcess = "pairing"

var (
	pairingMonthDuties = []string{"measure", "activity"}
	pairingTermDuties  = []string{"plan", "home_visit", "good_deed", "summary"}
)

// PairingObs is one pairing as the actors saw it.
type PairingObs struct {
	CaseID, Unit, Township string
	Created                time.Time // as the service reported it
	Months                 []*MonthObs
}

// MonthObs is one owed month of a pairing: its boundaries, the duties it owed, how the teacher
// behaved, and the span from the first to the last of its records (nil: never recorded).
type MonthObs struct {
	N          int
	Start, End time.Time
	Duties     []string
	Behaviour  string
	Recorded   *span
}

// pairingPeriod is the period of the given length that t falls in, [start, end): boundaries at
// midnight CST counted from the Unix epoch (docs/pairing.md).
func pairingPeriod(t time.Time, length time.Duration) (start, end time.Time) {
	base := time.Unix(0, 0).UTC().Add(-8 * time.Hour)
	start = base.Add(t.Sub(base) / length * length)
	return start, start.Add(length)
}

// owedDuties are the duties a pairing made at created owes for the month [start, end).
func (w *world) owedDuties(created, end time.Time) []string {
	duties := append([]string{}, pairingMonthDuties...)
	if tStart, tEnd := pairingPeriod(end.Add(-time.Nanosecond), w.t.PairingTerm); tEnd.Equal(end) && !created.After(tStart) {
		duties = append(duties, pairingTermDuties...)
	}
	return duties
}

// pairings makes one pairing at each of the schools and runs its months; stop ends the on-time
// months that follow the simulated ones.
func (w *world) pairings(ctx context.Context, schools []*school, months int, rng *rand.Rand, stop <-chan struct{}, after *sync.WaitGroup) {
	if months < 1 {
		return
	}
	behaviours := make([][]string, len(schools))
	for i, sc := range schools {
		for range months {
			behaviours[i] = append(behaviours[i], sc.Profile.draw(rng))
		}
	}
	var wg sync.WaitGroup
	for i, sc := range schools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.pairing(ctx, sc, i, behaviours[i], stop, after); err != nil {
				w.j.fail(err)
			}
		}()
	}
	wg.Wait()
}

func (w *world) pairing(ctx context.Context, sc *school, idx int, behaviours []string, stop <-chan struct{}, after *sync.WaitGroup) error {
	var me struct {
		UserID string `json:"user_id"`
	}
	if err := sc.Teacher.Expect(ctx, 200, "GET", "/api/v1/me", nil, &me); err != nil {
		return err
	}
	var st struct{ ID string } // numbered above generate's students
	if err := sc.Staff.Expect(ctx, 201, "POST", "/api/v1/admin/students", map[string]any{
		"student_no": fmt.Sprintf("L%d%06d", w.seed%1000, 900000+idx+1), "name": fmt.Sprintf("模拟帮扶学生%d", idx+1), "sex": "女",
		"birth_date": "2015-05-20", "unit_code": sc.Code, "grade": 5, "class": "1班", "poverty_registered": true}, &st); err != nil {
		return fmt.Errorf("register a poverty-registered student at %s: %w", sc.Code, err)
	}
	var p struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := sc.Staff.Expect(ctx, 201, "POST", "/api/v1/pairings", map[string]string{"teacher_id": me.UserID, "student_id": st.ID}, &p); err != nil {
		return fmt.Errorf("pair at %s: %w", sc.Code, err)
	}
	obs := &PairingObs{CaseID: p.ID, Unit: sc.Code, Township: sc.Township, Created: p.CreatedAt}
	_, first := pairingPeriod(p.CreatedAt, w.t.PairingMonth) // the first whole month after the pairing was made
	for n := range behaviours {
		start := first.Add(time.Duration(n) * w.t.PairingMonth)
		end := start.Add(w.t.PairingMonth)
		obs.Months = append(obs.Months, &MonthObs{N: n + 1, Start: start, End: end, Duties: w.owedDuties(p.CreatedAt, end), Behaviour: behaviours[n]})
	}
	w.j.mu.Lock()
	w.j.pairings = append(w.j.pairings, obs)
	w.j.mu.Unlock()

	rungs := w.rungs[PairingDeadlineKind]
	var wg sync.WaitGroup
	errs := make(chan error, len(obs.Months))
	for _, m := range obs.Months {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.recordMonth(ctx, sc, p.ID, m, rungs); err != nil {
				errs <- err
			}
		}()
	}
	// The months after the simulated ones: on time, until the store has been read.
	after.Add(1)
	go func() {
		defer after.Done()
		for start := obs.Months[len(obs.Months)-1].End; ; start = start.Add(w.t.PairingMonth) {
			m := &MonthObs{Start: start, End: start.Add(w.t.PairingMonth), Behaviour: OnTime}
			m.Duties = w.owedDuties(p.CreatedAt, m.End)
			select {
			case <-stop:
				return
			case <-time.After(time.Until(start.Add(w.t.PairingMonth / 8))):
			}
			if err := w.record(ctx, sc, p.ID, m, start.Add(w.t.PairingMonth/16)); err != nil {
				select {
				case <-stop: // the run is over: the service may be going away
				default:
					w.j.fail(err)
				}
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

// recordMonth records a month's owed duties as its behaviour says: all of them in the middle of
// the month (dated a quarter into it) when on time; after rung k when late (still dated inside
// the month: the service counts a record toward the period its date falls in); never when the
// teacher never does.
func (w *world) recordMonth(ctx context.Context, sc *school, pairingID string, m *MonthObs, rungs []time.Duration) error {
	b := m.Behaviour
	if (b == Late2 && len(rungs) < 2) || (b == Late3 && len(rungs) < 3) {
		b = Late1
	}
	var at time.Time
	switch b {
	case Never:
		return nil
	case OnTime:
		at = m.Start.Add(w.t.PairingMonth / 2)
	default:
		at, _ = actAt(b, m.End, w.u, rungs)
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	return w.record(ctx, sc, pairingID, m, m.Start.Add(w.t.PairingMonth/4))
}

// record posts every duty m owes, dated on, and notes the span from the first request to the
// last answer.
func (w *world) record(ctx context.Context, sc *school, pairingID string, m *MonthObs, on time.Time) error {
	sent := time.Now()
	for _, kind := range m.Duties {
		if err := sc.Teacher.Expect(ctx, 201, "POST", "/api/v1/pairings/"+pairingID+"/records", map[string]any{"kind": kind,
			"done_on": on.UTC().Format(time.RFC3339Nano), "content": "模拟：" + kind, "evidence_note": "学生家长签字"}, nil); err != nil {
			return fmt.Errorf("record %s of pairing %s for the month ending %s: %w", kind, pairingID, m.End.Format(time.TimeOnly), err)
		}
	}
	m.Recorded = &span{Sent: sent, Done: time.Now()}
	return nil
}

// pairingSettled is when the pairings' rules have all fallen due, with three units to spare.
func (w *world) pairingSettled(last time.Time) time.Time {
	ladder := w.t.PairingLadder[len(w.t.PairingLadder)-1]
	for _, p := range w.j.pairings {
		if at := p.Months[len(p.Months)-1].End.Add(ladder + 3*w.u); at.After(last) {
			last = at
		}
	}
	return last
}

// expectPairings adds the pairing rules to the oracle: each owed month climbs the pairing_duty
// ladder from the month's end unless the missing duties were recorded before the read that
// decides the rung. reads holds each school check's reads by checkKey, from its Temporal history
// (checkread.go): a rung's instant is then the span of its deciding read, so a record before it
// counts, one after it expects the rung, and one within the guard of it is too close to call. A
// month whose check's history could not be read falls back to the lag rule: the first rung's
// instant lies anywhere in [end, end + lag], the others' at their offset.
func (o *Oracle) expectPairings(r Rules, pairings []*PairingObs, lag time.Duration, reads map[string][]checkRead) error {
	if o.periods == nil {
		o.periods = map[string][]time.Time{}
	}
	for _, p := range pairings {
		for _, m := range p.Months {
			o.periods[p.CaseID] = append(o.periods[p.CaseID], m.End)
			rs, read := reads[checkKey(p.Unit, m.End)]
			if read {
				o.pairingRead++
			} else {
				o.pairingLag++
			}
			for _, rg := range r.ladder(PairingDeadlineKind) {
				spec, err := calendar.ParseOffset(rg.After)
				if err != nil {
					return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
				}
				unit, err := targetUnit(rg.Target, p.Unit, p.Township)
				if err != nil {
					return err
				}
				e := Expected{Process: PairingProcess, CaseID: p.CaseID, TaskID: periodKey(m.N), Kind: PairingDeadlineKind,
					Label: rungLabel(rg.Rung, rg.Target), Unit: unit, At: spec.Due(r.Calendar, m.End)}
				if d, ok := decidingRead(rs, e.At, rg.Rung); read && ok {
					o.pairingReadLag = max(o.pairingReadLag, d.Done.Sub(e.At))
					e.At, e.Latest = d.Started, d.Done
				} else if !read && e.At.Equal(m.End) { // falls due as the check first reads, after the sweep reaches the school
					e.Latest = m.End.Add(lag)
				}
				o.add(r, e, m.Recorded)
			}
		}
	}
	return nil
}
