// Package kittest is the test harness of the casework kit (workflows/humantask.go): it fakes the
// task activities the kit calls and drives tasks through the one task-action Update, so that a
// process's tests say what a person does and what the case's tasks and escalations became,
// instead of each test file mocking ResolveTask, ProjectOpenTask, ApplyTaskChange and Escalate
// again in its own way.
//
// A process's test mocks its own activities (its records, its registry checks) and leaves the
// task activities to the harness:
//
//	env := suite.NewTestWorkflowEnvironment()
//	h := kittest.New(env)
//	h.Due = time.Hour
//	h.SetLadder(casework.DefaultLadderKind, kittest.Rung{After: time.Hour, Target: casework.TargetRemind})
//	var done *kittest.Action
//	h.WhenOpen("toy_check", 30*time.Minute, func(id string) { done = h.Complete(t, id, "pass", checker) })
//	env.ExecuteWorkflow(ToyCase, in)
//	done.RequireDone(t)
//	h.RequireState(t, h.TaskIDs("toy_check")[0], casework.TaskDone)
//
// The fakes keep what a store would: for each task its newest projection by revision (a late,
// older write never wins, as in store.ProjectTask), every projection in the order it arrived,
// and every escalation by task and rung. Everything runs on the test environment's clock, which
// skips ahead whenever the workflow waits, so a ladder of days fires in milliseconds.
//
// The package imports workflows, so only tests in package workflows_test (and other packages)
// can use it: a test file in package workflows itself would make an import cycle.
package kittest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Rung is one step of a fake ladder: After past the task's due time, go to Target.
type Rung struct {
	After  time.Duration
	Target string
}

// Task is what the harness knows of one task: how it was opened and its newest projection.
type Task struct {
	Spec   activities.TaskSpec
	Opened activities.TaskOpened
	// Row is the newest projection by revision: what an inbox shows.
	Row casework.Task
	// Writes are every projection the kit handed an activity for the task, in arrival order.
	Writes []casework.Task
}

// Escalation is one rung the kit fired for a task.
type Escalation struct {
	TaskID string
	Rung   activities.RungAt
	Task   casework.Task // the task's projection the rung carried
	HeldBy *string       // who held the task when the rung fell due, when not its holder now
	At     time.Time     // when the activity ran, on the workflow clock
}

// record is the fake store: it outlives a run, so that a case that continues as new is checked
// across its runs (NextRun).
type record struct {
	mu          sync.Mutex
	wfID        string
	order       []string // task ids in the order they opened
	tasks       map[string]*Task
	changes     []activities.TaskChange
	escalations []Escalation
	raised      []activities.RaiseInput // a case deadline's rungs (and a process's own escalations)
	closed      []string                // escalations closed as their deadline was cleared
	audits      []activities.Audit      // entries the kit put on record by themselves (a step's decision)
}

type whenOpen struct {
	kind  string
	after time.Duration
	fn    func(id string)
}

// Harness fakes the kit's task activities on one test workflow environment. Set its fields
// before the workflow runs.
type Harness struct {
	Env *testsuite.TestWorkflowEnvironment
	// Due is how long after opening a task falls due; 0 takes the task's own spec on the default
	// holiday calendar, as ResolveTask does with an installation's unedited calendar.
	Due time.Duration
	// Units maps a task's UnitCode to its unit path (what a candidate's role must cover); a code
	// not listed is at "/<code>/".
	Units map[string]string
	// Holders are the people holding each role at every unit (as "everyone holding the role at
	// the unit" resolves a multi-approver step's signers), by role.
	Holders map[string][]access.Actor
	// Then takes the process's own step that rides with a task change (workflows Tasks.After), as
	// the process's fake of that write would; a change that carries one fails without it.
	Then func(activities.CaseStep)
	// EscalateTakes is how long, on the workflow clock, a rung's escalation takes to be recorded
	// from now on (0: at once): a slow one makes the task's next rung fire late.
	EscalateTakes atomic.Int64
	// ChangeTakes is how long, on the workflow clock, a task action's write (ApplyTaskChange)
	// takes from now on (0: at once): the action's handler waits for it meanwhile.
	ChangeTakes atomic.Int64

	ladders map[string][]Rung
	// deadlineLadders are the case deadline kinds' ladders, counted from the deadline.
	deadlineLadders map[string][]Rung
	rec             *record
	// whenOpen belong to this run's harness: their callbacks act on this run's environment.
	mu       sync.Mutex
	whenOpen []whenOpen
	updates  int // task actions sent by ActIn, for their update ids
}

// New registers the fakes on env. It mocks only the kit's activities, so the process's test
// mocks its own beside them with env.OnActivity.
func New(env *testsuite.TestWorkflowEnvironment) *Harness {
	h := &Harness{Env: env, ladders: map[string][]Rung{}, deadlineLadders: map[string][]Rung{}, rec: &record{tasks: map[string]*Task{}}}
	h.register()
	return h
}

// NextRun is the harness for the run a case continued as new into, on a fresh environment: the
// same settings and the same record of tasks and escalations, and env starts where this run's
// clock stopped, under this run's workflow id (task ids derive from it).
func (h *Harness) NextRun(env *testsuite.TestWorkflowEnvironment) *Harness {
	next := &Harness{Env: env, Due: h.Due, Units: h.Units, Holders: h.Holders, Then: h.Then, ladders: h.ladders, deadlineLadders: h.deadlineLadders, rec: h.rec}
	env.SetStartTime(h.Env.Now())
	h.rec.mu.Lock()
	id := h.rec.wfID
	h.rec.mu.Unlock()
	if id != "" {
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue})
	}
	next.register()
	return next
}

// SetLadder gives tasks of kind the rungs; casework.DefaultLadderKind is the ladder of every kind
// that has none of its own, as in the store.
func (h *Harness) SetLadder(kind string, rungs ...Rung) { h.ladders[kind] = rungs }

// SetDeadlineLadder gives case deadlines of kind the rungs, counted from the deadline; a kind
// without one takes the ladder its process declares in casework (as ResolveDeadline does when
// an admin stored none).
func (h *Harness) SetDeadlineLadder(kind string, rungs ...Rung) { h.deadlineLadders[kind] = rungs }

// register mocks the activities humantask.go and deadline.go call. The mocks are method values on a nil
// *Activities, not the method expressions the kit schedules: OnActivity registers a function
// under its short name, and a method value has the signature the kit's calls decode into
// (a method expression would take the receiver as its first argument).
func (h *Harness) register() {
	var acts *activities.Activities
	env, rec := h.Env, h.rec
	env.OnActivity(acts.ResolveTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenTaskInput) (activities.TaskOpened, error) {
			return h.resolve(in), nil
		})
	env.OnActivity(acts.RecordAudit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.Audit) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.audits = append(rec.audits, in)
			return nil
		})
	env.OnActivity(acts.ProjectOpenTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p activities.ProjectTaskInput) error { h.projectOpen(p); return nil })
	env.OnActivity(acts.ApplyTaskChange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TaskChange) error {
			rec.mu.Lock()
			rec.changes = append(rec.changes, in)
			rec.project(in.Task, false)
			rec.mu.Unlock()
			if in.Then == nil {
				return nil
			}
			if h.Then == nil {
				return temporal.NewNonRetryableApplicationError("a task change carries a process's step (Tasks.After) and the test takes none (Harness.Then)", "test", nil)
			}
			h.Then(*in.Then)
			return nil
		}).AfterFn(func() time.Duration { return time.Duration(h.ChangeTakes.Load()) })
	env.OnActivity(acts.ResolveDeadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveDeadlineInput) ([]activities.RungAt, error) {
			var out []activities.RungAt
			if ladder, ok := h.deadlineLadders[in.Kind]; ok {
				for i, r := range ladder {
					out = append(out, activities.RungAt{Rung: i + 1, Target: r.Target, At: in.At.Add(r.After)})
				}
				return out, nil
			}
			return activities.DeclaredRungs(in.Kind, in.At, calendar.Default())
		})
	env.OnActivity(acts.Raise, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RaiseInput) (store.Escalation, error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.raised = append(rec.raised, in)
			return store.Escalation{ID: in.ID, Target: in.Target, Rung: in.Rung, DueAt: in.At, RecordedAt: env.Now()}, nil
		})
	env.OnActivity(acts.CloseEscalations, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseEscalationsInput) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.closed = append(rec.closed, in.IDs...)
			return nil
		})
	env.OnActivity(acts.Escalate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EscalateInput) (store.Escalation, error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.escalations = append(rec.escalations, Escalation{TaskID: in.Task.ID, Rung: in.Rung, Task: in.Task, HeldBy: in.HeldBy, At: env.Now()})
			rec.project(in.Task, true)
			return store.Escalation{ID: fmt.Sprintf("%s-r%d", in.Task.ID, in.Rung.Rung), TaskID: in.Task.ID, Rung: in.Rung.Rung,
				Target: in.Rung.Target, DueAt: in.Rung.At, RecordedAt: env.Now()}, nil
		}).AfterFn(func() time.Duration { return time.Duration(h.EscalateTakes.Load()) })
}

// resolve is ResolveTask's fake: the task at its unit, due Due after opening, with its kind's
// ladder and, for a multi-approver step, its signers.
func (h *Harness) resolve(in activities.OpenTaskInput) activities.TaskOpened {
	out := activities.TaskOpened{UnitID: "unit-" + in.Spec.UnitCode, UnitPath: h.unitPath(in.Spec.UnitCode)}
	if h.Due != 0 {
		out.DueAt = in.Now.Add(h.Due).UTC()
	} else {
		out.DueAt = in.Spec.Due.Due(calendar.Default(), in.Now)
	}
	ladder, ok := h.ladders[in.Spec.Kind]
	if !ok {
		ladder = h.ladders[casework.DefaultLadderKind]
	}
	if in.Spec.Ladderless {
		ladder = nil
	}
	for i, r := range ladder {
		out.Rungs = append(out.Rungs, activities.RungAt{Rung: i + 1, Target: r.Target, At: out.DueAt.Add(r.After)})
	}
	if in.Spec.Signing != nil && !in.AsSigner {
		h.placeSigners(in.Spec, &out)
	}
	return out
}

// projectOpen is ProjectOpenTask's fake: the task's row, and the WhenOpen callbacks of its kind.
func (h *Harness) projectOpen(p activities.ProjectTaskInput) {
	in, rec := p.Task, h.rec
	row := casework.Task{ID: in.ID, WorkflowID: in.WorkflowID, Process: in.Spec.Process, Kind: in.Spec.Kind, CaseID: in.Spec.CaseID,
		Title: in.Spec.Title, CandidateRole: in.Spec.CandidateRole, UnitID: p.Opened.UnitID, UnitPath: p.Opened.UnitPath,
		AssigneeID: in.Spec.AssigneeID, State: casework.TaskOpen, DueAt: p.Opened.DueAt, CreatedAt: in.Now, Revision: p.Revision}
	for i, o := range in.Spec.Outcomes {
		if i > 0 {
			row.Outcomes += ","
		}
		row.Outcomes += o
	}
	rec.mu.Lock()
	rec.wfID = in.WorkflowID
	if _, seen := rec.tasks[in.ID]; !seen {
		rec.order = append(rec.order, in.ID)
		rec.tasks[in.ID] = &Task{Spec: in.Spec, Opened: p.Opened}
	}
	rec.project(row, false)
	rec.mu.Unlock()
	h.mu.Lock()
	var due []whenOpen
	for _, w := range h.whenOpen {
		if w.kind == in.Spec.Kind {
			due = append(due, w)
		}
	}
	h.mu.Unlock()
	for _, w := range due {
		id := in.ID
		h.Env.RegisterDelayedCallback(func() { w.fn(id) }, w.after)
	}
}

// OpenTask is what a process's own write that opens a task (workflows Tasks.OpenWith, the
// activities' openTask) does to the harness: the task resolved, then projected unless it is a
// multi-approver step. A process's fake of that write calls it.
func (h *Harness) OpenTask(in activities.OpenTaskInput, revision int) activities.OpenedTask {
	out := activities.OpenedTask{Spec: in.Spec, Opened: h.resolve(in)}
	if len(out.Opened.Signers) == 0 {
		h.projectOpen(activities.ProjectTaskInput{Task: in, Opened: out.Opened, Revision: revision})
	}
	return out
}

// project keeps row if it is newer than the task's row, as store.ProjectTask does; an
// escalation's copy of the task moves only a row that is still open (store.RecordEscalation).
// Called with rec.mu held.
func (rec *record) project(row casework.Task, escalation bool) {
	task, ok := rec.tasks[row.ID]
	if !ok {
		// A task carried from a run before the harness saw it (a test that starts at run 2).
		task = &Task{}
		rec.tasks[row.ID] = task
		rec.order = append(rec.order, row.ID)
	}
	task.Writes = append(task.Writes, row)
	if row.Revision <= task.Row.Revision && task.Row.ID != "" {
		return
	}
	if escalation && task.Row.ID != "" && task.Row.State != casework.TaskOpen {
		return
	}
	task.Row = row
}

// placeSigners places a step's signers as activities.ResolveTask does, from the harness's people:
// the people named (not barred), in order; Count places in the pool; or every holder of the role.
func (h *Harness) placeSigners(spec activities.TaskSpec, out *activities.TaskOpened) {
	sg := *spec.Signing
	if sg.Role == "" {
		sg.Role = spec.CandidateRole
	}
	if sg.UnitCode == "" {
		sg.UnitCode = spec.UnitCode
	}
	if sg.Pass == "" && len(spec.Outcomes) > 0 {
		sg.Pass = spec.Outcomes[0]
	}
	out.Signing = &sg
	place := func(id, name string) activities.Signer {
		return activities.Signer{UserID: id, Username: name, Role: sg.Role, UnitCode: sg.UnitCode, UnitID: "unit-" + sg.UnitCode, UnitPath: h.unitPath(sg.UnitCode)}
	}
	switch {
	case len(sg.UserIDs) > 0:
		for _, id := range sg.UserIDs {
			if !slices.Contains(spec.Exclude, id) {
				out.Signers = append(out.Signers, place(id, h.username(id)))
			}
		}
	case sg.Count > 0:
		for range sg.Count {
			out.Signers = append(out.Signers, place("", ""))
		}
	default:
		for _, a := range h.Holders[sg.Role] {
			if !slices.Contains(spec.Exclude, a.UserID) {
				out.Signers = append(out.Signers, place(a.UserID, a.Username))
			}
		}
	}
}

// username is the username of a holder the harness knows, or the id itself.
func (h *Harness) username(id string) string {
	for _, hs := range h.Holders {
		for _, a := range hs {
			if a.UserID == id {
				return a.Username
			}
		}
	}
	return id
}

func (h *Harness) unitPath(code string) string {
	if p, ok := h.Units[code]; ok {
		return p
	}
	return "/" + code + "/"
}

// ---------------------------------------------------------------------------------------------
// Acting on tasks while the workflow runs.

// At runs fn once the workflow clock has moved d past now (before ExecuteWorkflow: past the
// start). Task actions are sent from such callbacks, because an Update reaches only a running
// workflow.
func (h *Harness) At(d time.Duration, fn func()) { h.Env.RegisterDelayedCallback(fn, d) }

// WhenOpen runs fn with the task's id, after on the workflow clock, each time a task of kind
// opens (is projected to the inbox). The test environment runs one thing at a time, so a test
// cannot block waiting for a task: it says what happens once there is one.
func (h *Harness) WhenOpen(kind string, after time.Duration, fn func(id string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.whenOpen = append(h.whenOpen, whenOpen{kind: kind, after: after, fn: fn})
}

// OpenID is the id of the one open task of kind, at the moment it is called (in an At
// callback, or after the run); the test fails when there is none or more than one.
func (h *Harness) OpenID(t testing.TB, kind string) string {
	t.Helper()
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var ids []string
	for _, id := range h.rec.order {
		if task := h.rec.tasks[id]; task.Row.Kind == kind && task.Row.State == casework.TaskOpen {
			ids = append(ids, id)
		}
	}
	require.Lenf(t, ids, 1, "open tasks of kind %s", kind)
	return ids[0]
}

// Action is what became of one task action sent to the workflow; its fields fill in as the
// workflow answers. A nil *Action is an action that was never sent (its callback never ran).
type Action struct {
	label                               string
	mu                                  sync.Mutex
	sent, accepted, rejected, completed bool
	err                                 error
	result                              any
}

// Complete sends the completion of taskID with outcome by actor, now. Call it while the
// workflow runs (from At or WhenOpen); check the answer after the run with RequireDone or
// RequireRefused.
func (h *Harness) Complete(t testing.TB, taskID, outcome string, actor access.Actor) *Action {
	t.Helper()
	return h.Act(t, workflows.TaskAction{TaskID: taskID, Action: workflows.ActionComplete, Outcome: outcome, Actor: actor})
}

// Act sends any task action (claim, transfer, urge, withdraw …), now.
func (h *Harness) Act(t testing.TB, a workflows.TaskAction) *Action {
	t.Helper()
	o, callbacks := h.action(a)
	h.Env.UpdateWorkflow(workflows.TaskActionUpdate, "", callbacks, a)
	return o
}

// ActIn sends a task action to the workflow workflowID, now: a child workflow of the one under
// test (a test that runs several cases side by side, each its own workflow).
func (h *Harness) ActIn(t testing.TB, workflowID string, a workflows.TaskAction) *Action {
	t.Helper()
	o, callbacks := h.action(a)
	// Unlike UpdateWorkflow, the environment takes an empty update id as an id like any other (a
	// second action would be the first's duplicate): each gets its own.
	h.mu.Lock()
	h.updates++
	id := fmt.Sprintf("kittest-update-%d", h.updates)
	h.mu.Unlock()
	require.NoError(t, h.Env.UpdateWorkflowByID(workflowID, workflows.TaskActionUpdate, id, callbacks, a), "update %s", workflowID)
	return o
}

func (h *Harness) action(a workflows.TaskAction) (*Action, *testsuite.TestUpdateCallback) {
	o := &Action{label: fmt.Sprintf("%s %s by %s", a.Action, a.TaskID, a.Actor.Username), sent: true}
	return o, &testsuite.TestUpdateCallback{
		OnAccept: func() { o.mu.Lock(); o.accepted = true; o.mu.Unlock() },
		OnReject: func(err error) { o.mu.Lock(); o.rejected, o.err = true, err; o.mu.Unlock() },
		OnComplete: func(res any, err error) {
			o.mu.Lock()
			o.completed, o.result = true, res
			if err != nil {
				o.err = err
			}
			o.mu.Unlock()
		},
	}
}

// RequireDone asserts the action passed the validator and its handler succeeded, and returns
// the handler's answer.
func (o *Action) RequireDone(t testing.TB) workflows.TaskActionResult {
	t.Helper()
	require.NotNil(t, o, "the action was never sent (its callback did not run before the workflow ended)")
	o.mu.Lock()
	defer o.mu.Unlock()
	require.Falsef(t, o.rejected, "%s: refused: %v", o.label, o.err)
	require.Truef(t, o.accepted && o.completed, "%s: accepted=%v completed=%v", o.label, o.accepted, o.completed)
	require.NoErrorf(t, o.err, "%s: handler failed", o.label)
	r, ok := o.result.(workflows.TaskActionResult)
	require.Truef(t, ok, "%s: result %T", o.label, o.result)
	return r
}

// RequireRefused asserts the validator refused the action with the refusal code, under the
// error type older API processes read for it, and returns the refusal.
func (o *Action) RequireRefused(t testing.TB, code string) workflows.Refusal {
	t.Helper()
	require.NotNil(t, o, "the action was never sent (its callback did not run before the workflow ended)")
	o.mu.Lock()
	defer o.mu.Unlock()
	require.Truef(t, o.rejected, "%s: want refused with %s, got accepted=%v err=%v", o.label, code, o.accepted, o.err)
	require.Falsef(t, o.accepted, "%s: refused and accepted", o.label)
	var appErr *temporal.ApplicationError
	require.Truef(t, errors.As(o.err, &appErr), "%s: refusal %T %v is not an application error", o.label, o.err, o.err)
	r, ok := workflows.RefusalOf(appErr)
	require.Truef(t, ok, "%s: refusal %v carries no code", o.label, appErr)
	require.Equalf(t, code, r.Code, "%s: refusal code (message %q)", o.label, appErr.Error())
	require.Equalf(t, workflows.RefusalCodes[code], appErr.Type(), "%s: error type", o.label)
	return r
}

// RequireHandlerRefused asserts the action passed the validator and was accepted, but its
// handler refused it with the refusal code (a process's Tasks.Before step, such as the hardship
// fund's insufficient_funds at a final approval), and returns the refusal.
func (o *Action) RequireHandlerRefused(t testing.TB, code string) workflows.Refusal {
	t.Helper()
	require.NotNil(t, o, "the action was never sent (its callback did not run before the workflow ended)")
	o.mu.Lock()
	defer o.mu.Unlock()
	require.Falsef(t, o.rejected, "%s: refused by the validator (%v), want by the handler", o.label, o.err)
	require.Truef(t, o.accepted && o.completed, "%s: accepted=%v completed=%v", o.label, o.accepted, o.completed)
	var appErr *temporal.ApplicationError
	require.Truef(t, errors.As(o.err, &appErr), "%s: handler answered %T %v, want a refusal", o.label, o.err, o.err)
	r, ok := workflows.RefusalOf(appErr)
	require.Truef(t, ok, "%s: refusal %v carries no code", o.label, appErr)
	require.Equalf(t, code, r.Code, "%s: refusal code (message %q)", o.label, appErr.Error())
	return r
}

// Message is the refusal's or the handler's error message, "" when there is none.
func (o *Action) Message() string {
	if o == nil {
		return ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		return ""
	}
	return o.err.Error()
}

// ---------------------------------------------------------------------------------------------
// What the case's tasks became.

// TaskIDs are the ids of the tasks of kind ("" for every kind), in the order they opened.
func (h *Harness) TaskIDs(kind string) []string {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var out []string
	for _, id := range h.rec.order {
		if kind == "" || h.rec.tasks[id].Row.Kind == kind {
			out = append(out, id)
		}
	}
	return out
}

// Task is a copy of what the harness knows of taskID; the test fails if it never saw it.
func (h *Harness) Task(t testing.TB, taskID string) Task {
	t.Helper()
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	task, ok := h.rec.tasks[taskID]
	require.Truef(t, ok, "no task %s was opened (tasks: %v)", taskID, h.rec.order)
	c := *task
	c.Writes = slices.Clone(task.Writes)
	return c
}

// RequireState asserts the task's newest projection is in state (casework.TaskOpen, TaskDone,
// TaskCancelled) and returns it.
func (h *Harness) RequireState(t testing.TB, taskID, state string) casework.Task {
	t.Helper()
	row := h.Task(t, taskID).Row
	require.Equalf(t, state, row.State, "task %s (revision %d, outcome %q)", taskID, row.Revision, row.Outcome)
	return row
}

// RequireEscalatedAt asserts rung fired for the task exactly once, and returns it.
func (h *Harness) RequireEscalatedAt(t testing.TB, taskID string, rung int) Escalation {
	t.Helper()
	var hits []Escalation
	for _, e := range h.Escalations(taskID) {
		if e.Rung.Rung == rung {
			hits = append(hits, e)
		}
	}
	require.Lenf(t, hits, 1, "escalations of task %s at rung %d (all: %v)", taskID, rung, h.rungsOf(taskID))
	require.Equal(t, rung, hits[0].Task.EscalationLevel, "the rung's projection carries its level")
	return hits[0]
}

// RequireRungs asserts exactly these rungs fired for the task, in this order (none: no rung).
func (h *Harness) RequireRungs(t testing.TB, taskID string, rungs ...int) {
	t.Helper()
	got := h.rungsOf(taskID)
	if len(rungs) == 0 {
		require.Emptyf(t, got, "rungs fired for task %s", taskID)
		return
	}
	require.Equalf(t, rungs, got, "rungs fired for task %s", taskID)
}

func (h *Harness) rungsOf(taskID string) []int {
	var out []int
	for _, e := range h.Escalations(taskID) {
		out = append(out, e.Rung.Rung)
	}
	return out
}

// Escalations are the rungs fired for taskID ("" for every task), in the order they fired.
func (h *Harness) Escalations(taskID string) []Escalation {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var out []Escalation
	for _, e := range h.rec.escalations {
		if taskID == "" || e.TaskID == taskID {
			out = append(out, e)
		}
	}
	return out
}

// Changes are the task changes people's actions wrote (ApplyTaskChange), in order; action
// filters by audit action ("task.completed", "task.withdrawn" …), "" for all.
func (h *Harness) Changes(action string) []activities.TaskChange {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var out []activities.TaskChange
	for _, c := range h.rec.changes {
		if action == "" || c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

// ContinuedAs asserts the run ended by continuing as new and decodes the next run's input into
// next (a pointer to the workflow's input type).
func ContinuedAs(t testing.TB, env *testsuite.TestWorkflowEnvironment, next any) {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted(), "the run did not end")
	var can *workflow.ContinueAsNewError
	require.Truef(t, errors.As(env.GetWorkflowError(), &can), "the run ended with %v, want continue-as-new", env.GetWorkflowError())
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, next))
}

// Audits are the entries the kit put on record by itself (RecordAudit: a step's decision,
// task.step_decided), in order; action filters, "" for all.
func (h *Harness) Audits(action string) []activities.Audit {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var out []activities.Audit
	for _, a := range h.rec.audits {
		if action == "" || a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

// Raised are the case-level escalations recorded (a deadline's rungs), in the order they came.
func (h *Harness) Raised() []activities.RaiseInput {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return slices.Clone(h.rec.raised)
}

// RaisedIDs are the ids of Raised.
func (h *Harness) RaisedIDs() []string {
	var out []string
	for _, r := range h.Raised() {
		out = append(out, r.ID)
	}
	return out
}

// Closed are the escalations closed because their deadline was cleared.
func (h *Harness) Closed() []string {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return slices.Clone(h.rec.closed)
}
