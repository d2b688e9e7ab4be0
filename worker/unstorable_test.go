package worker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jiaofu/store"
	"jiaofu/workflows"
)

// TestUnstorableWritesAreNotRetried: an activity whose write the database refuses for its content
// fails once, as a non-retryable error the workflow can surface, instead of retrying for a day.
func TestUnstorableWritesAreNotRetried(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(sdkworker.Options{Interceptors: Interceptors()})
	var calls atomic.Int32
	write := func(ctx context.Context) error {
		calls.Add(1)
		return fmt.Errorf("save objection: %w", store.ErrUnstorable)
	}
	env.RegisterActivityWithOptions(write, activityOptions("Write"))
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3}})
		return workflow.ExecuteActivity(ctx, "Write").Get(ctx, nil)
	}, workflowOptions("Case"))
	env.ExecuteWorkflow("Case")
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeUnstorable || !appErr.NonRetryable() {
		t.Fatalf("workflow error = %v, want a non-retryable %q application error", err, workflows.ErrTypeUnstorable)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the write was tried %d times, want once", n)
	}
}

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}

func workflowOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}
