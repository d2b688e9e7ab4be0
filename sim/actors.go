package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"jiaofu/apiclient"
)

// Behaviours of a person with a task: act well before the due time, act between two rungs of
// the ladder (after the first, second or third has fallen due), or never act. The late ones act
// in the middle between two rungs, so that clock jitter under load does not decide what the
// oracle expects (the oracle still treats an action near a rung as ambiguous rather than guess).
const (
	OnTime = "on_time"
	Late1  = "late_after_rung1"
	Late2  = "late_after_rung2"
	Late3  = "late_after_rung3"
	Never  = "never"
)

// Behaviours of a dropout's family: the student returns before the township window ends, between
// it and the county HQ window's end, or not this term.
const (
	ReturnsEarly = "returns_early"
	ReturnsLate  = "returns_late"
	NeverReturns = "never_returns"
)

var taskBehaviours = []string{OnTime, Late1, Late2, Late3, Never}

// profile is how one school's people behave: weights over taskBehaviours, how often a reviewer
// sends an application back (退回) for correction, and how often a leader transfers a review to a
// colleague (转办, where the school has one: transfer.go; drawn on the transfers' own stream).
type profile struct {
	Weights      [5]float64
	ReturnRate   float64
	TransferRate float64
}

// drawProfile picks a school's profile: most schools are diligent, some slack, a few absent.
func drawProfile(rng *rand.Rand) profile {
	switch r := rng.Float64(); {
	case r < 0.5:
		return profile{Weights: [5]float64{0.8, 0.1, 0.05, 0.03, 0.02}, ReturnRate: 0.15, TransferRate: 0.2}
	case r < 0.85:
		return profile{Weights: [5]float64{0.4, 0.2, 0.15, 0.1, 0.15}, ReturnRate: 0.1, TransferRate: 0.3}
	default: // an absent leader passes work on most
		return profile{Weights: [5]float64{0.1, 0.1, 0.1, 0.2, 0.5}, ReturnRate: 0.05, TransferRate: 0.4}
	}
}

func (p profile) draw(rng *rand.Rand) string {
	r := rng.Float64()
	for i, w := range p.Weights {
		if r < w {
			return taskBehaviours[i]
		}
		r -= w
	}
	return Never
}

// span is when an actor sent a request and when its answer came back: the service took the action
// somewhere in between.
type span struct{ Sent, Done time.Time }

// TaskObs is one task as the actors saw it and what they did with it: the oracle's input.
type TaskObs struct {
	Process, CaseID, TaskID, Kind, Unit, Township string
	Due                                           time.Time // the service's due time, read from the task
	Behaviour                                     string
	Acted                                         *span // the person's accepted action
	Ended                                         *span // the case ended the task (a dropout's return withdraws first contact)
	// Transferred: the holder handed the task to TransferredTo (a display name) then (transfer.go).
	Transferred   *span
	TransferredTo string
	// StandInFrom: nobody could decide the task at this unit (its leader on leave), so it went to
	// the stand-in at Unit (leave.go).
	StandInFrom string
}

// DropoutObs is one dropout case as the actors saw it.
type DropoutObs struct {
	CaseID, Unit, Township string
	Opened                 span
	Behaviour              string
	Returned               *span
}

// journal collects the observations of all actors.
type journal struct {
	mu        sync.Mutex
	tasks     []*TaskObs
	dropouts  []*DropoutObs
	findings  []*FindingObs
	hardship  []*HardshipObs
	sendHome  []*SendHomeObs
	plans     []*PlanTaskObs
	pairings  []*PairingObs
	handlings []*HandlingObs
	duties    []*DutyObs
	errs      []error
	subsidy   int
}

func (j *journal) fail(err error) {
	j.mu.Lock()
	j.errs = append(j.errs, err)
	j.mu.Unlock()
}

func (j *journal) addTask(t *TaskObs) {
	j.mu.Lock()
	j.tasks = append(j.tasks, t)
	j.mu.Unlock()
}

type taskRow struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	CaseID string    `json:"case_id"`
	State  string    `json:"state"`
	DueAt  time.Time `json:"due_at"`
}

// waitTask polls the user's tasks until one of kind for caseID (other than skip) appears.
func waitTask(ctx context.Context, c *apiclient.Client, kind, caseID, skip string, within time.Duration) (taskRow, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var out struct{ Items []taskRow }
		if err := c.Expect(ctx, 200, "GET", "/api/v1/tasks?status=all&kind="+kind+"&case_id="+caseID, nil, &out); err != nil {
			return taskRow{}, err
		}
		for _, t := range out.Items {
			if t.ID != skip {
				return t, nil
			}
		}
		select {
		case <-ctx.Done():
			return taskRow{}, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return taskRow{}, fmt.Errorf("no %s task for case %s within %s", kind, caseID, within)
}

// actAt is when a behaviour acts on a task due at due, on a ladder with rungs at due+r[i].
func actAt(b string, due time.Time, u time.Duration, rungs []time.Duration) (time.Time, bool) {
	mid := func(i int) time.Time { // between rung i and i+1 (or 2u past the last)
		if i+1 < len(rungs) {
			return due.Add((rungs[i] + rungs[i+1]) / 2)
		}
		return due.Add(rungs[i] + 2*u)
	}
	switch b {
	case OnTime:
		return due.Add(-u * 3 / 2), true
	case Late1:
		return mid(0), true
	case Late2:
		return mid(1), true
	case Late3:
		return mid(2), true
	}
	return time.Time{}, false
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}

// timed runs one request and records its span.
func timed(f func() error) (*span, error) {
	s := &span{Sent: time.Now()}
	err := f()
	s.Done = time.Now()
	return s, err
}

// world is what the actors share: the plan's timings, the ladders' offsets, the term.
type world struct {
	u     time.Duration
	t     Timings
	rungs map[string][]time.Duration // task kind → offsets of its rungs from the due time
	term  string
	seed  uint64 // names what the actors register (pairing.go)
	// office is the supervision office (jcs01), which decides organisational handling on the
	// findings that reach it, as hrng (its own stream) draws (handling.go); nil: none.
	office *apiclient.Client
	hrng   *rand.Rand
	j      *journal
	// within is how long an actor waits for a task to reach an inbox or a 202 opening to be
	// written (waitsFor); slots bound the openings in flight (open.go: nil, unbounded), and
	// accepted counts the openings answered 202 and polled until open.
	within   time.Duration
	slots    chan struct{}
	accepted atomic.Int64
}

// subsidyCase: the staff member applies; the school leader reviews as the profile says; a return
// sends it back to the staff member, who corrects it on time, and the leader reviews it again on time.
// A review with a transfer plan (tr not nil) goes to the school's second leader first (transfer.go).
func (w *world) subsidyCase(ctx context.Context, sc *school, st student, rng *rand.Rand, tr *transferPlan) {
	id, _, err := w.open(ctx, sc.Staff, "/api/v1/subsidy-applications", map[string]string{"student_id": st.ID,
		"programme": "living-primary", "term": w.term, "evidence_note": "低保户，村委会证明"}, "/api/v1/subsidy-applications/")
	if err != nil {
		w.j.fail(err)
		return
	}
	w.j.mu.Lock()
	w.j.subsidy++
	w.j.mu.Unlock()
	b := sc.Profile.draw(rng)
	ret := rng.Float64() < sc.Profile.ReturnRate && b != Never
	outcome := []string{"approve", "approve", "approve", "reject"}[rng.IntN(4)]
	if err := w.review(ctx, sc, id, "", b, outcome, ret, tr); err != nil {
		w.j.fail(err)
	}
}

func (w *world) review(ctx context.Context, sc *school, caseID, skip, b, outcome string, ret bool, tr *transferPlan) error {
	t, err := waitTask(ctx, sc.Head, "subsidy_review", caseID, skip, w.within)
	if err != nil {
		return err
	}
	obs := &TaskObs{Process: "subsidy", CaseID: caseID, TaskID: t.ID, Kind: t.Kind, Unit: sc.Code, Township: sc.Township, Due: t.DueAt, Behaviour: b}
	w.j.addTask(obs)
	head := sc.Head // who decides: the leader, or the colleague the review was transferred to
	if tr != nil {
		if b, err = w.transfer(ctx, sc, t, obs, tr); err != nil {
			return err
		}
		head = tr.To.Client
	}
	at, acts := actAt(b, t.DueAt, w.u, w.rungs[t.Kind])
	if !acts {
		return nil
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	if ret {
		obs.Acted, err = timed(func() error {
			return head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+t.ID+"/return", map[string]string{"comment": "证明材料不全，请补充"}, nil)
		})
		if err != nil {
			return err
		}
		fix, err := waitTask(ctx, sc.Staff, "subsidy_resubmit", caseID, "", w.within)
		if err != nil {
			return err
		}
		fobs := &TaskObs{Process: "subsidy", CaseID: caseID, TaskID: fix.ID, Kind: fix.Kind, Unit: sc.Code, Township: sc.Township, Due: fix.DueAt, Behaviour: OnTime}
		w.j.addTask(fobs)
		at, _ := actAt(OnTime, fix.DueAt, w.u, w.rungs[fix.Kind])
		if err := sleepUntil(ctx, at); err != nil {
			return err
		}
		if fobs.Acted, err = timed(func() error {
			return sc.Staff.Expect(ctx, 200, "POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit",
				"fields": map[string]string{"evidence_note": "低保户，已补村委会与民政证明"}}, nil)
		}); err != nil {
			return err
		}
		return w.review(ctx, sc, caseID, t.ID, OnTime, "approve", false, nil)
	}
	obs.Acted, err = timed(func() error {
		return head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+t.ID+"/complete", map[string]string{"outcome": outcome, "comment": "模拟审核"}, nil)
	})
	return err
}

// dropoutCase: the staff member opens the case; the class teacher makes first contact as the
// profile says; the student returns early, late or not at all, which the staff member records.
func (w *world) dropoutCase(ctx context.Context, sc *school, st student, rng *rand.Rand) {
	contact := sc.Profile.draw(rng)
	ret := []string{ReturnsEarly, ReturnsLate, NeverReturns}[rng.IntN(3)]
	obs := &DropoutObs{Unit: sc.Code, Township: sc.Township, Behaviour: ret}
	var dc struct{ ID string }
	var opened *span
	var err error
	dc.ID, opened, err = w.open(ctx, sc.Staff, "/api/v1/dropout-cases", map[string]string{"student_id": st.ID, "reason": "厌学",
		"last_attended_on": time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")}, "/api/v1/dropout-cases/")
	if err != nil {
		w.j.fail(err)
		return
	}
	obs.CaseID, obs.Opened = dc.ID, *opened
	w.j.mu.Lock()
	w.j.dropouts = append(w.j.dropouts, obs)
	w.j.mu.Unlock()
	t, err := waitTask(ctx, sc.Teacher, "dropout_first_contact", dc.ID, "", w.within)
	if err != nil {
		w.j.fail(err)
		return
	}
	tobs := &TaskObs{Process: "dropout", CaseID: dc.ID, TaskID: t.ID, Kind: t.Kind, Unit: sc.Code, Township: sc.Township, Due: t.DueAt, Behaviour: contact}
	w.j.addTask(tobs)

	var returnAt time.Time
	switch ret {
	case ReturnsEarly:
		returnAt = opened.Sent.Add(w.t.ReturnWindow - w.u)
	case ReturnsLate: // midway through the HQ window however late the service took the opening
		returnAt = opened.Done.Add(w.t.ReturnWindow + w.t.HQWindow/2)
	}
	contactAt, contacts := actAt(contact, t.DueAt, w.u, w.rungs[t.Kind])
	if contacts && (returnAt.IsZero() || contactAt.Before(returnAt)) {
		if err := sleepUntil(ctx, contactAt); err != nil {
			return
		}
		if tobs.Acted, err = timed(func() error {
			return sc.Teacher.Expect(ctx, 200, "POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit",
				"notes": "家访", "visitors": []string{"班主任"}}, nil)
		}); err != nil {
			w.j.fail(err)
			return
		}
	}
	if returnAt.IsZero() {
		return
	}
	if err := sleepUntil(ctx, returnAt); err != nil {
		return
	}
	s, err := timed(func() error {
		return sc.Staff.Expect(ctx, 200, "POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"}, nil)
	})
	if err != nil {
		w.j.fail(err)
		return
	}
	obs.Returned = s
	if tobs.Acted == nil {
		tobs.Ended = s // the return withdraws a first contact nobody made
	}
}

// FindingObs is one inspection finding as the actors saw it: the rectification deadline the
// service set (read from the finding), how the school's leader behaves, and when the
// rectification was submitted.
type FindingObs struct {
	CaseID, Unit, Township string
	RectifyBy              time.Time
	Behaviour              string
	Rectified              *span
}

type findingRow struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	RectifyBy time.Time `json:"rectify_by"`
}

// findings: the county's inspector plans one round over the chosen schools and records a finding
// at each; each school's leader rectifies on time, after rung k of the rectification_due ladder,
// or never, as the school's profile says; the inspector accepts every rectification on time.
func (w *world) findings(ctx context.Context, inspector *apiclient.Client, schools []*school, rng *rand.Rand) {
	if len(schools) == 0 {
		return
	}
	units := make([]string, len(schools))
	for i, sc := range schools {
		units[i] = sc.Code
	}
	var round struct{ ID string }
	if err := inspector.Expect(ctx, 201, "POST", "/api/v1/inspection-rounds", map[string]any{"term": w.term, "kind": "routine", "units": units,
		"planned_on": time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")}, &round); err != nil {
		w.j.fail(fmt.Errorf("plan an inspection round: %w", err))
		return
	}
	behaviours := make([]string, len(schools))
	for i, sc := range schools {
		behaviours[i] = sc.Profile.draw(rng)
	}
	handlings := drawHandling(len(schools), w.hrng) // its own stream: frng's draws stay as they were
	var wg sync.WaitGroup
	for i, sc := range schools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hp *handlingPlan // the office decides organisational handling once the deadline reaches it
			if b := behaviours[i]; handlings[i].Decides && w.office != nil && (b == Late3 || b == Never) {
				hp = &handlings[i]
			}
			if err := w.finding(ctx, inspector, round.ID, sc, behaviours[i], hp); err != nil {
				w.j.fail(err)
			}
		}()
	}
	wg.Wait()
}

func (w *world) finding(ctx context.Context, inspector *apiclient.Client, roundID string, sc *school, b string, hp *handlingPlan) error {
	var fd findingRow
	if err := inspector.Expect(ctx, 201, "POST", "/api/v1/inspection-rounds/"+roundID+"/findings", map[string]any{"unit_code": sc.Code,
		"area": "dropout", "description": "控辍保学台账未按月更新", "severity": "major"}, &fd); err != nil {
		return fmt.Errorf("record a finding at %s: %w", sc.Code, err)
	}
	obs := &FindingObs{CaseID: fd.ID, Unit: sc.Code, Township: sc.Township, RectifyBy: fd.RectifyBy, Behaviour: b}
	w.j.mu.Lock()
	w.j.findings = append(w.j.findings, obs)
	w.j.mu.Unlock()
	if hp != nil {
		handled := make(chan error, 1)
		go func() { handled <- w.handling(ctx, w.office, fd.ID, *hp) }()
		defer func() {
			if err := <-handled; err != nil {
				w.j.fail(err)
			}
		}()
	}
	if _, err := waitTask(ctx, sc.Head, "rectification", fd.ID, "", w.within); err != nil {
		return err
	}
	at, acts := actAt(b, fd.RectifyBy, w.u, w.rungs["rectification_due"])
	if !acts {
		return nil
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	s, err := timed(func() error {
		return sc.Head.Expect(ctx, 200, "POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已按月更新台账",
			"evidence_note": "台账照片 3 张"}, nil)
	})
	if err != nil {
		return err
	}
	obs.Rectified = s
	rev, err := waitTask(ctx, inspector, "rectification_review", fd.ID, "", w.within)
	if err != nil {
		return err
	}
	return inspector.Expect(ctx, 200, "POST", "/api/v1/tasks/"+rev.ID+"/complete", map[string]string{"outcome": "accept", "comment": "模拟复查"}, nil)
}
