package worker

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
)

// localCallHeader carries a local activity's number among its workflow run's local activity
// calls from the workflow to the activity (activities.WithLocalCall).
const localCallHeader = "jiaofu-local-call"

// localCalls is the worker interceptor that numbers a workflow run's local activity calls, in
// the order the workflow makes them, and hands each activity its number: the stable part of its
// audit entries' keys. The SDK's own local activity id changes when a long retry re-schedules the
// activity (see activities.eventKey); this number is fixed when the workflow calls it, and the
// header with it is captured once for every attempt. The count is deterministic — a replay makes
// the same calls in the same order — and adds nothing to the history.
type localCalls struct {
	interceptor.WorkerInterceptorBase
}

func (*localCalls) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &localCallsInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

func (*localCalls) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &localCallsActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type localCallsInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (w *localCallsInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&localCallsOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

// localCallsOutbound is one workflow execution's: its count starts at zero whenever the SDK
// builds the execution, from its first event or from a replay of its history.
type localCallsOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	calls int64
}

func (o *localCallsOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.calls++
	if h := interceptor.WorkflowHeader(ctx); h != nil {
		if p, err := converter.GetDefaultDataConverter().ToPayload(o.calls); err == nil {
			h[localCallHeader] = p
		}
	}
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

type localCallsActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *localCallsActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if p := interceptor.Header(ctx)[localCallHeader]; p != nil && activity.GetInfo(ctx).IsLocalActivity {
		var n int64
		if err := converter.GetDefaultDataConverter().FromPayload(p, &n); err == nil {
			ctx = activities.WithLocalCall(ctx, n)
		}
	}
	return a.Next.ExecuteActivity(ctx, in)
}
