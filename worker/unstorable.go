package worker

import (
	"context"
	"errors"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"jiaofu/store"
	"jiaofu/workflows"
)

// unstorableWrites is the worker interceptor that makes every activity's unstorable write
// non-retryable, in one place for all of them: the case hears of it at once instead of retrying
// for a day a write that can never succeed (the API refuses such input at the edge; this is
// the backstop).
type unstorableWrites struct {
	interceptor.WorkerInterceptorBase
}

func (*unstorableWrites) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &unstorableActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type unstorableActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *unstorableActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	if errors.Is(err, store.ErrUnstorable) {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeUnstorable, err)
	}
	return res, err
}
