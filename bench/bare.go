package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare lifecycle is the subsidy lifecycle's shape on the bare engine: the same workflows
// (application + publicity batch), the same activities in the same order (as no-ops), the same
// Updates, timers, signals and search-attribute upserts, and nothing else — no HTTP, no store,
// no access checks. Command by command, for an approved application:
//
//	application: CheckRegistry · review task [ResolveTask · ProjectOpenTask · escalation timer
//	  (cancelled) · Update task-action → ApplyTaskChange] · upsert + SetApplication(reviewed) ·
//	  signal "entered" → upsert · signal "signed_off" → upsert + SetApplication(signed_off) ·
//	  Disburse · upsert
//	batch: OpenBatch · signal the application · publicity timer · upsert + SetBatch(closed) ·
//	  sign-off task [ResolveTask · ProjectOpenTask · escalation timer (cancelled) · Update
//	  task-action → ApplyTaskChange] · upsert + SetBatch(signed_off) · signal the application
//
// = 13 activities, 2 Updates, 3 timers (1 fires), 2 signals, 9 upserts — as workflows/subsidy.go
// and workflows/humantask.go do. The harness checks the shape by comparing history lengths.

const (
	bareQueue        = "bench-bare"
	bareUpdate       = "task-action"
	bareSignal       = "batch-event"
	bareConflictType = "conflict"
)

// BareAppInput starts a bare application.
type BareAppInput struct {
	ID        string
	ReviewDue time.Duration
}

// BareBatchInput starts a bare publicity batch over one application.
type BareBatchInput struct {
	ID         string
	AppID      string
	Period     time.Duration
	SignoffDue time.Duration
}

// BareAction is the bare task-action Update's argument.
type BareAction struct {
	TaskID  string
	Outcome string
}

// BareTaskOpened is what the no-op ResolveTask returns (due time and escalation rungs).
type BareTaskOpened struct {
	DueAt time.Time
	Rungs []time.Time
}

type bareTask struct {
	id     string
	opened BareTaskOpened
	done   bool
}

// bareTasks is the human-task mechanism reduced to its engine work.
type bareTasks struct {
	wfID string
	seq  int
	open map[string]*bareTask
}

func newBareTasks(ctx workflow.Context) (*bareTasks, error) {
	t := &bareTasks{wfID: workflow.GetInfo(ctx).WorkflowExecution.ID, open: map[string]*bareTask{}}
	err := workflow.SetUpdateHandlerWithOptions(ctx, bareUpdate, t.handle, workflow.UpdateHandlerOptions{Validator: t.validate})
	return t, err
}

func (t *bareTasks) validate(_ workflow.Context, a BareAction) error {
	if task, ok := t.open[a.TaskID]; !ok || task.done {
		return temporal.NewApplicationError("task "+a.TaskID+" is not open", bareConflictType)
	}
	return nil
}

func (t *bareTasks) handle(ctx workflow.Context, a BareAction) (string, error) {
	task, ok := t.open[a.TaskID]
	if !ok || task.done {
		return "", temporal.NewApplicationError("task "+a.TaskID+" is not open", bareConflictType)
	}
	task.done = true
	err := workflow.ExecuteActivity(bareActivityCtx(ctx), (*BareActivities).ApplyTaskChange, a).Get(ctx, nil)
	return "done", err
}

func (t *bareTasks) run(ctx workflow.Context, due time.Duration) error {
	t.seq++
	task := &bareTask{id: fmt.Sprintf("%s-t%d", t.wfID, t.seq)}
	actx := bareActivityCtx(ctx)
	if err := workflow.ExecuteActivity(actx, (*BareActivities).ResolveTask, task.id, workflow.Now(ctx), due).Get(ctx, &task.opened); err != nil {
		return err
	}
	t.open[task.id] = task
	if err := workflow.ExecuteActivity(actx, (*BareActivities).ProjectOpenTask, task.id).Get(ctx, nil); err != nil {
		return err
	}
	defer delete(t.open, task.id)
	workflow.Go(ctx, func(ctx workflow.Context) { // the escalation ladder's first rung: a timer, cancelled on completion
		for _, at := range task.opened.Rungs {
			if wait := at.Sub(workflow.Now(ctx)); wait > 0 {
				if done, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return task.done }); err != nil || done {
					return
				}
			}
		}
	})
	return workflow.Await(ctx, func() bool { return task.done })
}

func bareActivityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
}

var bareState = temporal.NewSearchAttributeKeyKeyword("JiaofuState")

func bareUpsert(ctx workflow.Context, state string) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, bareState.ValueSet(state))
}

// BareApplication is the subsidy application's shape with no-op activities.
func BareApplication(ctx workflow.Context, in BareAppInput) (string, error) {
	tasks, err := newBareTasks(ctx)
	if err != nil {
		return "", err
	}
	actx := bareActivityCtx(ctx)
	if err := workflow.ExecuteActivity(actx, (*BareActivities).CheckRegistry, in.ID).Get(ctx, nil); err != nil {
		return "", err
	}
	if err := tasks.run(ctx, in.ReviewDue); err != nil {
		return "", err
	}
	bareUpsert(ctx, "reviewed")
	if err := workflow.ExecuteActivity(actx, (*BareActivities).SetApplication, in.ID, "reviewed").Get(ctx, nil); err != nil {
		return "", err
	}
	events := workflow.GetSignalChannel(ctx, bareSignal)
	for {
		var ev string
		events.Receive(ctx, &ev)
		switch ev {
		case "entered":
			bareUpsert(ctx, "in_publicity")
		case "signed_off":
			bareUpsert(ctx, "signed_off")
			if err := workflow.ExecuteActivity(actx, (*BareActivities).SetApplication, in.ID, "signed_off").Get(ctx, nil); err != nil {
				return "", err
			}
			if err := workflow.ExecuteActivity(actx, (*BareActivities).Disburse, in.ID).Get(ctx, nil); err != nil {
				return "", err
			}
			bareUpsert(ctx, "disbursed")
			return "disbursed", workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		}
	}
}

// BareBatch is the publicity batch's shape (one member, no objections) with no-op activities.
func BareBatch(ctx workflow.Context, in BareBatchInput) (string, error) {
	tasks, err := newBareTasks(ctx)
	if err != nil {
		return "", err
	}
	actx := bareActivityCtx(ctx)
	var endsAt time.Time
	if err := workflow.ExecuteActivity(actx, (*BareActivities).OpenBatch, in.ID, workflow.Now(ctx), in.Period).Get(ctx, &endsAt); err != nil {
		return "", err
	}
	if err := workflow.SignalExternalWorkflow(ctx, in.AppID, "", bareSignal, "entered").Get(ctx, nil); err != nil {
		return "", err
	}
	if wait := endsAt.Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return "", err
		}
	}
	bareUpsert(ctx, "closed")
	if err := workflow.ExecuteActivity(actx, (*BareActivities).SetBatch, in.ID, "closed").Get(ctx, nil); err != nil {
		return "", err
	}
	if err := tasks.run(ctx, in.SignoffDue); err != nil {
		return "", err
	}
	bareUpsert(ctx, "signed_off")
	if err := workflow.ExecuteActivity(actx, (*BareActivities).SetBatch, in.ID, "signed_off").Get(ctx, nil); err != nil {
		return "", err
	}
	if err := workflow.SignalExternalWorkflow(ctx, in.AppID, "", bareSignal, "signed_off").Get(ctx, nil); err != nil {
		return "", err
	}
	return "signed_off", workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// BareActivities are the subsidy lifecycle's activities as no-ops.
type BareActivities struct{}

func (BareActivities) CheckRegistry(context.Context, string) error { return nil }

// ResolveTask returns a due time and the default ladder's three rungs (due+1s, +1 day, +2 days),
// as the real one computes them on the calendar.
func (BareActivities) ResolveTask(_ context.Context, _ string, now time.Time, due time.Duration) (BareTaskOpened, error) {
	d := now.Add(due)
	return BareTaskOpened{DueAt: d, Rungs: []time.Time{d.Add(time.Second), d.Add(24 * time.Hour), d.Add(48 * time.Hour)}}, nil
}
func (BareActivities) ProjectOpenTask(context.Context, string) error        { return nil }
func (BareActivities) ApplyTaskChange(context.Context, BareAction) error    { return nil }
func (BareActivities) SetApplication(context.Context, string, string) error { return nil }
func (BareActivities) Disburse(context.Context, string) error               { return nil }
func (BareActivities) SetBatch(context.Context, string, string) error       { return nil }
func (BareActivities) OpenBatch(_ context.Context, _ string, now time.Time, period time.Duration) (time.Time, error) {
	return now.Add(period), nil
}

// ProbeWorkflow is issue 6's probe for comparing servers: start, an activity, a signal, another
// activity, complete.
func ProbeWorkflow(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	if err := workflow.ExecuteActivity(actx, ProbeActivity, 1).Get(ctx, nil); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return workflow.ExecuteActivity(actx, ProbeActivity, 2).Get(ctx, nil)
}

// ProbeActivity does nothing.
func ProbeActivity(ctx context.Context, step int) (int, error) {
	_ = activity.GetInfo(ctx)
	return step, nil
}

// newBareWorker registers the bare lifecycle and the probe on the bench's own task queue.
func newBareWorker(c client.Client) sdkworker.Worker {
	w := sdkworker.New(c, bareQueue, sdkworker.Options{})
	w.RegisterWorkflow(BareApplication)
	w.RegisterWorkflow(BareBatch)
	w.RegisterWorkflow(ProbeWorkflow)
	w.RegisterActivity(&BareActivities{})
	w.RegisterActivity(ProbeActivity)
	return w
}

// bareUpdateOnce sends the task-action Update and waits for its result. It reports retry=true
// when the validator refused because the task is not open yet.
func bareUpdateOnce(ctx context.Context, c client.Client, wfID, taskID string) (retry bool, err error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wfID, UpdateName: bareUpdate,
		Args: []any{BareAction{TaskID: taskID, Outcome: "approve"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		var out string
		err = h.Get(ctx, &out)
	}
	if err == nil {
		return false, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == bareConflictType {
		return true, err
	}
	return false, err
}

// bareUpdateUntilOpen sends the Update until the task is open, pausing between tries as the HTTP
// clients pause between inbox reads (pollFor), like a person whose inbox shows the task only once
// it is open.
func bareUpdateUntilOpen(ctx context.Context, c client.Client, wfID, taskID string, first, max time.Duration) error {
	var last error
	err := pollFor(ctx, 2*time.Minute, first, max, func() (bool, error) {
		retry, err := bareUpdateOnce(ctx, c, wfID, taskID)
		if retry {
			last = err
			return false, nil
		}
		return true, err
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last refusal: %v)", err, last)
	}
	return err
}
