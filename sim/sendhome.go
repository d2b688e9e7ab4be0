package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"jiaofu/calendar"
)

// Send-home plans in the simulated term (issue 17's process 3 in issue 21's harness), kept apart
// from the other processes: their own random stream, their own observations, their own oracle
// rules.
//
// Actors: at each school drawn by -sendhome-share, the staff start a send-home plan for one
// student with the school's teacher on it, a period of SendHomePeriod (a Go duration) and
// SendHomeQuota visits a period. For each of the plan's first -sendhome-periods periods the
// teacher draws a behaviour from the school's profile: log all but one of the period's visits in
// its middle, then the one that meets the quota right away (on time), after rung k of the
// visit_quota ladder (dated inside the period: the service counts a visit toward the period its
// date falls in), or never (the period ends below its quota). The
// period boundaries are read from the plan as the service set them, never assumed. Once the last
// simulated period's rungs have all fallen due, the staff end the plan (moved), in the middle of
// the period that follows.
//
// Oracle rules (README, docs/casework.md, casework/sendhome.go): every period of the plan is a
// case deadline of kind visit_quota at the period's end; its ladder's rung N falls due at its
// `after` past that end and fires while the period's visits are below the quota — the visit that
// meets it stops the rest, and so does the plan's end (a rung already due is on record by then).

// SendHomeDeadlineKind is the kind of a send-home period's quota deadline (its ladder's name).
const SendHomeDeadlineKind = "visit_quota"

// SendHomeProcess is the send-home process's name in escalations.
const SendHomeProcess = "sendhome"

// SendHomeObs is one plan as the actors saw it.
type SendHomeObs struct {
	CaseID, Unit, Township string
	Quota                  int
	Periods                []*PeriodObs
	Ended                  *span // the staff ended the plan
}

// PeriodObs is one period of a plan: its boundaries as the service reported them, how the
// teacher behaved, and the visit that met its quota.
type PeriodObs struct {
	N          int
	Start, End time.Time
	Behaviour  string
	Met        *span // the visit that brought the period to its quota
}

type sendHomeRow struct {
	ID          string    `json:"id"`
	PeriodNo    int       `json:"period_no"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
}

// sendHome runs one plan at each of the schools.
func (w *world) sendHome(ctx context.Context, schools []*school, periods int, rng *rand.Rand) {
	if periods < 1 {
		return
	}
	behaviours := make([][]string, len(schools))
	for i, sc := range schools {
		for range periods {
			behaviours[i] = append(behaviours[i], sc.Profile.draw(rng))
		}
	}
	var wg sync.WaitGroup
	for i, sc := range schools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.sendHomePlan(ctx, sc, behaviours[i]); err != nil {
				w.j.fail(err)
			}
		}()
	}
	wg.Wait()
}

func (w *world) sendHomePlan(ctx context.Context, sc *school, behaviours []string) error {
	var me struct {
		UserID string `json:"user_id"`
	}
	if err := sc.Teacher.Expect(ctx, 200, "GET", "/api/v1/me", nil, &me); err != nil {
		return err
	}
	st := sc.Students[len(sc.Students)-1]
	// 201 with the plan, or 202 with its id while its first record is still being written.
	var created struct{ ID string }
	code, raw, err := sc.Staff.DoRaw(ctx, "POST", "/api/v1/send-home-plans", map[string]any{"student_id": st.ID, "disability_type": "肢体残疾",
		"disability_grade": "一级", "teacher_ids": []string{me.UserID}, "goals": "模拟：生活自理与基础识字", "visits_per_period": w.t.SendHomeQuota,
		"period": w.t.SendHomePeriod.String(), "min_minutes": 60})
	if err == nil && (code != 201 && code != 202 || json.Unmarshal(raw, &created) != nil || created.ID == "") {
		err = fmt.Errorf("start a send-home plan at %s: %d %.300s", sc.Code, code, raw)
	}
	if err != nil {
		return err
	}
	obs := &SendHomeObs{CaseID: created.ID, Unit: sc.Code, Township: sc.Township, Quota: w.t.SendHomeQuota}
	w.j.mu.Lock()
	w.j.sendHome = append(w.j.sendHome, obs)
	w.j.mu.Unlock()

	rungs := w.rungs[SendHomeDeadlineKind]
	var wg sync.WaitGroup
	errs := make(chan error, len(behaviours))
	// The periods that follow the simulated ones run too: the teacher logs nothing in them, and the
	// plan ends in the middle of the first (its rungs, if any, would come after).
	var last *PeriodObs
	for n := 1; ; n++ {
		if last != nil { // the next period starts as this one ends: no need to ask before
			if err := sleepUntil(ctx, last.End); err != nil {
				return err
			}
		}
		per, err := w.awaitPeriod(ctx, sc, obs.CaseID, n)
		if err != nil {
			return err
		}
		obs.Periods = append(obs.Periods, per)
		if n > len(behaviours) {
			break
		}
		per.Behaviour = behaviours[n-1]
		last = per
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.visitPeriod(ctx, sc, me.UserID, obs.CaseID, per, rungs); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	endAt := last.End.Add(w.t.SendHomeLadder[len(w.t.SendHomeLadder)-1] + w.u)
	if err := sleepUntil(ctx, endAt); err != nil {
		return err
	}
	s, err := timed(func() error {
		return sc.Staff.Expect(ctx, 200, "POST", "/api/v1/send-home-plans/"+obs.CaseID+"/end", map[string]string{"reason": "moved",
			"note": "模拟：迁出本县"}, nil)
	})
	if err != nil {
		return fmt.Errorf("end send-home plan %s: %w", obs.CaseID, err)
	}
	obs.Ended = s
	return nil
}

// awaitPeriod waits until the plan has started its period n, and returns its boundaries as the
// service set them.
func (w *world) awaitPeriod(ctx context.Context, sc *school, planID string, n int) (*PeriodObs, error) {
	deadline := time.Now().Add(w.within + w.t.SendHomePeriod)
	for {
		// 404 while a plan answered 202 is still being opened.
		var out struct {
			Plan   sendHomeRow
			Status struct {
				Periods []struct {
					N          int
					Start, End time.Time
				}
			}
		}
		code, raw, err := sc.Staff.DoRaw(ctx, "GET", "/api/v1/send-home-plans/"+planID, nil)
		if err == nil && code == 200 {
			err = json.Unmarshal(raw, &out)
		} else if err == nil && code != 404 {
			err = fmt.Errorf("GET send-home plan %s: %d %.300s", planID, code, raw)
		}
		if err != nil {
			return nil, err
		}
		if out.Plan.PeriodNo == n {
			return &PeriodObs{N: n, Start: out.Plan.PeriodStart, End: out.Plan.PeriodEnd}, nil
		}
		// Seen late (a busy service): the plan's live status lists the term's periods so far.
		for _, per := range out.Status.Periods {
			if per.N == n && out.Plan.PeriodNo > n {
				return &PeriodObs{N: n, Start: per.Start, End: per.End}, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("send-home plan %s: no period %d within %s (at period %d)", planID, n, w.within+w.t.SendHomePeriod, out.Plan.PeriodNo)
		}
		// Each read queries the plan's workflow: ask twice a second, not more, on a busy worker.
		if err := sleepUntil(ctx, time.Now().Add(500*time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

// visitPeriod logs one period's visits as its behaviour says, each dated inside the period: all
// but the last in the middle of the period (the period is below its quota until the last); the
// last, which meets the quota, right after them when on time, after rung k when late, never when
// the teacher never meets it. The middle, not a unit before the end: a busy service answers a
// visit in seconds, and the first rung falls due as the period ends.
func (w *world) visitPeriod(ctx context.Context, sc *school, teacherID, planID string, per *PeriodObs, rungs []time.Duration) error {
	b := per.Behaviour
	if (b == Late2 && len(rungs) < 2) || (b == Late3 && len(rungs) < 3) {
		b = Late1 // after the last rung there is: late is late
	}
	length := per.End.Sub(per.Start)
	quota := w.t.SendHomeQuota
	logVisit := func(i int) (*span, error) {
		visited := per.Start.Add(length * time.Duration(i+1) / time.Duration(2*quota+1))
		s, err := timed(func() error {
			return sc.Teacher.Expect(ctx, 200, "POST", "/api/v1/send-home-plans/"+planID+"/visits", map[string]any{
				"visited_on": visited.UTC().Format(time.RFC3339Nano), "minutes": 90, "content": "模拟：生活技能训练",
				"evidence_note": "家长签字", "teacher_ids": []string{teacherID}}, nil)
		})
		if err != nil {
			return nil, fmt.Errorf("log a visit of period %d on send-home plan %s: %w", per.N, planID, err)
		}
		return s, nil
	}
	if err := sleepUntil(ctx, per.Start.Add(length/2)); err != nil {
		return err
	}
	for i := range quota - 1 {
		if _, err := logVisit(i); err != nil {
			return err
		}
	}
	if b == Never {
		return nil
	}
	if b != OnTime {
		at, _ := actAt(b, per.End, w.u, rungs)
		if err := sleepUntil(ctx, at); err != nil {
			return err
		}
	}
	s, err := logVisit(quota - 1)
	per.Met = s
	return err
}

// sendHomeSettled is when the plans' rules have all fallen due, with three units to spare: each
// plan ends after its last simulated period's last rung.
func (w *world) sendHomeSettled(last time.Time) time.Time {
	for _, p := range w.j.sendHome {
		if p.Ended != nil {
			if at := p.Ended.Done.Add(3 * w.u); at.After(last) {
				last = at
			}
		}
	}
	return last
}

// expectSendHome adds the send-home rules to the oracle: each period's quota deadline climbs its
// ladder from the period's end while the period is below its quota and the plan goes on.
func (o *Oracle) expectSendHome(r Rules, plans []*SendHomeObs) error {
	if o.periods == nil {
		o.periods = map[string][]time.Time{}
	}
	for _, p := range plans {
		for _, per := range p.Periods {
			o.periods[p.CaseID] = append(o.periods[p.CaseID], per.End)
			stop := per.Met
			if stop == nil || (p.Ended != nil && p.Ended.Sent.Before(stop.Sent)) {
				stop = p.Ended
			}
			for _, rg := range r.ladder(SendHomeDeadlineKind) {
				spec, err := calendar.ParseOffset(rg.After)
				if err != nil {
					return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
				}
				unit, err := targetUnit(rg.Target, p.Unit, p.Township)
				if err != nil {
					return err
				}
				o.add(r, Expected{Process: SendHomeProcess, CaseID: p.CaseID, TaskID: periodKey(per.N), Kind: SendHomeDeadlineKind,
					Label: rungLabel(rg.Rung, rg.Target), Unit: unit, At: spec.Due(r.Calendar, per.End)}, stop)
			}
		}
	}
	return nil
}

func periodKey(n int) string { return fmt.Sprintf("period-%d", n) }

// periodOf names the period a recorded send-home rung belongs to: the one whose end, plus the
// rung's offset on the ladder, is nearest the instant the service says the rung fell due. The
// escalation itself names no period; the nearest end is the only reading that does not borrow
// the service's own naming.
func (o *Oracle) periodOf(e Recorded) string {
	r := o.rules
	ends := o.periods[e.CaseID]
	if len(ends) == 0 {
		return ""
	}
	var after time.Duration
	for _, rg := range r.ladder(e.TaskKind) {
		if rg.Rung == e.Rung {
			if spec, err := calendar.ParseOffset(rg.After); err == nil {
				after = spec.Due(r.Calendar, ends[0]).Sub(ends[0])
			}
		}
	}
	best := sort.Search(len(ends), func(i int) bool { return !ends[i].Add(after).Before(e.DueAt) })
	switch {
	case best == len(ends):
		best--
	case best > 0 && e.DueAt.Sub(ends[best-1].Add(after)) < ends[best].Add(after).Sub(e.DueAt):
		best--
	}
	return periodKey(best + 1)
}
