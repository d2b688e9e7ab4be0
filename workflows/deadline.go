package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/casework"
)

// DeadlineSpec is a case deadline: an instant the case must meet that is not a task's due time
// (a dropout's return window, a rectification deadline, a period's visit quota). Each has its
// own stored ladder, fired by the same escalation function as a task's lateness.
type DeadlineSpec struct {
	Name     string // unique in the case; its escalations' ids are <case>-<name>-r<rung>
	Kind     string // its ladder kind: a DeadlineKind of the process (casework)
	Process  string
	CaseID   string
	UnitCode string    // the unit that must meet it: targets are found from it
	At       time.Time // when it falls due, fixed when it is set, so that replays agree
	HolderID string    // who holds the duty, for a teacher's rung ("" when nobody in particular)
}

// DeadlineState is the workflow's record of a deadline. An uncleared one crosses
// continue-as-new as it is (Tasks.CarryDeadlines, Tasks.ResumeDeadline).
type DeadlineState struct {
	Spec  DeadlineSpec
	Rungs []activities.RungAt
	Level int // the last rung that fired
	// Raised are its escalations other than the supervision office's, closed when it is cleared
	// (the supervision office decides on its own).
	Raised  []string
	Cleared bool
}

// RungStep is a process's own step as a deadline's rung falls due, run before the rung is
// recorded (a ledger step, a notice to the family); it returns the reason the escalation
// carries ("" for the generic one).
type RungStep func(ctx workflow.Context, d *DeadlineState, rung activities.RungAt) (reason string, err error)

type deadline struct {
	DeadlineState
	step   RungStep
	firing bool // a rung's step or escalation is being written
}

// Guard makes the clock fire a deadline's rung inside the process's own lock (its mutex), so a
// rung and a person's update never change the case over each other. Without one, rungs fire as
// they fall due.
func (t *Tasks) Guard(lock func(ctx workflow.Context, f func() error) error) { t.guard = lock }

// SetDeadline sets a case deadline: its rungs are counted on the calendar from At (the kind's
// stored ladder, or the one its process declares), and each fires when it falls due unless the
// deadline is cleared first.
func (t *Tasks) SetDeadline(ctx workflow.Context, spec DeadlineSpec, step RungStep) error {
	if _, ok := t.deadlines[spec.Name]; ok {
		return fmt.Errorf("deadline %s is already set in case %s", spec.Name, spec.CaseID)
	}
	var rungs []activities.RungAt
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ResolveDeadline,
		activities.ResolveDeadlineInput{Kind: spec.Kind, At: spec.At}).Get(ctx, &rungs); err != nil {
		return err
	}
	t.ResumeDeadline(DeadlineState{Spec: spec, Rungs: rungs}, step)
	return nil
}

// ResumeDeadline takes up a deadline carried from the previous run: it goes on from the rung
// after the last that fired.
func (t *Tasks) ResumeDeadline(d DeadlineState, step RungStep) {
	if t.deadlines == nil {
		t.deadlines = map[string]*deadline{}
	}
	dl := &deadline{DeadlineState: d, step: step}
	t.deadlines[d.Spec.Name] = dl
	t.deadlineOrder = append(t.deadlineOrder, d.Spec.Name)
	workflow.Go(t.root, func(ctx workflow.Context) { t.watchDeadline(ctx, dl) })
}

// Deadline is a deadline set in this run, or nil.
func (t *Tasks) Deadline(name string) *DeadlineState {
	if d := t.deadlines[name]; d != nil {
		return &d.DeadlineState
	}
	return nil
}

// DeadlineSpent tells whether the deadline name has nothing left to fire: cleared (or never set
// in this run), without rungs, or past its last rung. A check that only raises a period's rungs
// ends once every deadline it set is spent.
func (t *Tasks) DeadlineSpent(name string) bool {
	d := t.Deadline(name)
	return d == nil || len(d.Rungs) == 0 || d.Level >= d.Rungs[len(d.Rungs)-1].Rung
}

// watchDeadline waits for each rung's instant and fires it unless the deadline was cleared
// first; while the run is giving way to the next, it fires nothing (the next run will).
func (t *Tasks) watchDeadline(ctx workflow.Context, d *deadline) {
	for _, rung := range d.Rungs {
		if rung.Rung <= d.Level {
			continue
		}
		for {
			if wait := rung.At.Sub(workflow.Now(ctx)); wait > 0 {
				if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return d.Cleared || t.closing }); err != nil {
					return
				}
			}
			if d.Cleared {
				return
			}
			if !t.closing {
				break
			}
			if err := workflow.Await(ctx, func() bool { return d.Cleared || !t.closing }); err != nil {
				return
			}
		}
		fire := func() error {
			if d.Cleared || d.Level >= rung.Rung { // cleared, or fired by FireDue while this waited
				return nil
			}
			return t.fireRung(ctx, d, rung)
		}
		var err error
		if t.guard != nil {
			err = t.guard(ctx, fire)
		} else {
			err = fire()
		}
		if err != nil {
			workflow.GetLogger(ctx).Error("deadline rung failed", "case", d.Spec.CaseID, "deadline", d.Spec.Name, "rung", rung.Rung, "error", err)
			t.failed = err
			return
		}
	}
}

// fireRung runs the process's step for the rung and records the escalation.
func (t *Tasks) fireRung(ctx workflow.Context, d *deadline, rung activities.RungAt) error {
	d.Level, d.firing = rung.Rung, true
	defer func() { d.firing = false }()
	var reason string
	if d.step != nil {
		var err error
		if reason, err = d.step(ctx, &d.DeadlineState, rung); err != nil {
			return err
		}
	}
	id := fmt.Sprintf("%s-%s-r%d", d.Spec.CaseID, d.Spec.Name, rung.Rung)
	t.escalating++
	err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).Raise, activities.RaiseInput{ID: id, Process: d.Spec.Process,
		CaseID: d.Spec.CaseID, UnitCode: d.Spec.UnitCode, Target: rung.Target, Reason: reason, At: rung.At, Kind: d.Spec.Kind,
		Rung: rung.Rung, Deadline: d.Spec.Name, HolderID: d.Spec.HolderID}).Get(ctx, nil)
	t.escalating--
	if err != nil {
		// A missing target unit is a setup fault: the case goes on, and the failure is in the log.
		workflow.GetLogger(ctx).Error("deadline escalation failed", "case", d.Spec.CaseID, "escalation", id, "error", err)
		return nil
	}
	if rung.Target != casework.TargetSupervision {
		d.Raised = append(d.Raised, id)
	}
	return nil
}

// FireDue fires, in the caller's goroutine, every rung of an uncleared deadline that has fallen
// due but is not on record yet, in order: a process calls it (inside its lock) before it records
// a decision, so that a case decided just after a deadline passed is escalated before its
// decision clears the deadline (the clock's goroutine may not have had its turn yet).
func (t *Tasks) FireDue(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	for _, name := range slices.Clone(t.deadlineOrder) {
		d := t.deadlines[name]
		if err := workflow.Await(ctx, func() bool { return !d.firing }); err != nil { // the clock's rung first
			return err
		}
		for _, rung := range d.Rungs {
			if d.Cleared || rung.Rung <= d.Level {
				continue
			}
			if rung.At.After(now) {
				break
			}
			if err := t.fireRung(ctx, d, rung); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClearDeadlines clears deadlines the case has met or made moot: no rung of theirs fires any
// more, and their open escalations other than the supervision office's close with the decision.
func (t *Tasks) ClearDeadlines(ctx workflow.Context, decision string, names ...string) error {
	var closing []string
	for _, name := range names {
		d := t.deadlines[name]
		if d == nil || d.Cleared {
			continue
		}
		// A rung being written when the case meets the deadline is recorded first, then closed
		// with the others: the run must not end with it in flight.
		if err := workflow.Await(ctx, func() bool { return !d.firing }); err != nil {
			return err
		}
		d.Cleared = true
		closing = append(closing, d.Raised...)
		d.Raised = nil
		t.deadlineOrder = slices.DeleteFunc(t.deadlineOrder, func(n string) bool { return n == name })
		delete(t.deadlines, name)
	}
	if len(closing) == 0 {
		return nil
	}
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).CloseEscalations,
		activities.CloseEscalationsInput{IDs: closing, Decision: decision}).Get(ctx, nil)
}

// CarryDeadlines is every uncleared deadline, for the next run's ResumeDeadline.
func (t *Tasks) CarryDeadlines() []DeadlineState {
	out := make([]DeadlineState, 0, len(t.deadlineOrder))
	for _, name := range t.deadlineOrder {
		out = append(out, t.deadlines[name].DeadlineState)
	}
	return out
}

// DeadlineFailed is the error of a process step a deadline's rung ran, which the process ends
// with (nil while none failed).
func (t *Tasks) DeadlineFailed() error { return t.failed }
