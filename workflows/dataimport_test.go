package workflows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"jiaofu/activities"
	"jiaofu/workflows"
)

// TestImportJobRunsOnce: the job is one activity; when it succeeds nothing else happens.
func TestImportJobRunsOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var acts *activities.Activities
	runs := 0
	env.OnActivity(acts.RunImport, mock.Anything, "imp_1").Return(func(context.Context, string) error { runs++; return nil })
	env.ExecuteWorkflow(workflows.ImportJob, workflows.ImportJobInput{ImportID: "imp_1"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil || runs != 1 {
		t.Fatalf("completed %v, error %v, runs %d", env.IsWorkflowCompleted(), env.GetWorkflowError(), runs)
	}
	env.AssertActivityNotCalled(t, "FailImport", mock.Anything, mock.Anything, mock.Anything)
}

// TestImportJobGivesUpAsFailed: an import whose job keeps failing (the store down for longer than
// its tries) is marked failed instead of staying "running" for ever; the tries back off on the
// workflow clock (time skipping).
func TestImportJobGivesUpAsFailed(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var acts *activities.Activities
	runs := 0
	env.OnActivity(acts.RunImport, mock.Anything, "imp_2").Return(func(context.Context, string) error { runs++; return errors.New("database unavailable") })
	failed := ""
	env.OnActivity(acts.FailImport, mock.Anything, "imp_2", mock.Anything).Return(func(_ context.Context, _, reason string) error { failed = reason; return nil })
	env.ExecuteWorkflow(workflows.ImportJob, workflows.ImportJobInput{ImportID: "imp_2"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if runs < 2 || failed == "" {
		t.Fatalf("runs %d, failed with %q", runs, failed)
	}
}
