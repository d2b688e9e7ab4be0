package workflows_test

// A subsidy application on the kit's harness (workflows/kittest): the harness fakes the task
// activities and drives the tasks; this file fakes only the subsidy's own activities. An
// activity neither fakes is not registered, so a call to it fails the run.

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jiaofu/activities"
	"jiaofu/store"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// subsidyOnKit is an application's environment: the harness for its tasks (due three days
// after opening, no ladder), and fakes of the registry check, the application's record and the
// payment.
type subsidyOnKit struct {
	env *testsuite.TestWorkflowEnvironment
	kit *kittest.Harness

	mu        sync.Mutex
	steps     []activities.ApplicationStep
	disbursed []activities.DisburseInput
}

func newSubsidyOnKit(t *testing.T) *subsidyOnKit {
	env := newTestEnv()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: appWfID, TaskQueue: workflows.TaskQueue})
	s := &subsidyOnKit{env: env, kit: kittest.New(env)}
	s.kit.Due = 72 * time.Hour
	s.kit.Units = map[string]string{schoolCode: schoolPath}
	s.fake()
	return s
}

// nextRun is the environment of the run the application continued as new into: fresh fakes of
// its own activities, and the same harness record (kittest.Harness.NextRun).
func (s *subsidyOnKit) nextRun() *subsidyOnKit {
	env := newTestEnv()
	next := &subsidyOnKit{env: env, kit: s.kit.NextRun(env)}
	next.fake()
	return next
}

func newTestEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	return env
}

// fake mocks the subsidy's own activities on s.env, and takes the steps that ride with its
// decisions' writes (Tasks.After) from the harness.
func (s *subsidyOnKit) fake() {
	var acts *activities.Activities
	check := activities.RegistryCheck{Priority: true, AmountFen: amountFen, UnitCode: schoolCode}
	s.env.OnActivity(acts.CheckRegistry, mock.Anything, mock.Anything).Return(check, nil)
	s.env.OnActivity(acts.CheckAndOpenReview, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CheckAndOpenInput) (activities.CheckedAndOpened, error) {
			in.Review.Spec.UnitCode = check.UnitCode
			return activities.CheckedAndOpened{Check: check, Review: s.kit.OpenTask(in.Review, in.Revision)}, nil
		})
	pay := func(in activities.DisburseInput) store.Disbursement {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.disbursed = append(s.disbursed, in)
		return store.Disbursement{ApplicationID: in.ApplicationID, AmountFen: in.AmountFen, Channel: in.Channel}
	}
	step := func(in activities.ApplicationStep) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.steps = append(s.steps, in)
	}
	s.env.OnActivity(acts.Disburse, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DisburseInput) (store.Disbursement, error) {
		return pay(in), nil
	})
	s.env.OnActivity(acts.SignOffAndDisburse, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SignOffInput) (store.Disbursement, error) {
		step(in.Step)
		return pay(activities.DisburseInput{ApplicationID: in.Step.ApplicationID, AmountFen: in.AmountFen, Channel: in.Channel, At: in.At}), nil
	})
	s.env.OnActivity(acts.SetApplication, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ApplicationStep) error {
		step(in)
		return nil
	})
	s.kit.Then = func(c activities.CaseStep) { step(*c.Application) }
}

// run runs the application to its end.
func (s *subsidyOnKit) run(t *testing.T, in workflows.SubsidyInput) workflows.SubsidyResult {
	t.Helper()
	s.env.ExecuteWorkflow(workflows.SubsidyApplication, in)
	require.True(t, s.env.IsWorkflowCompleted(), "workflow did not complete")
	require.NoError(t, s.env.GetWorkflowError())
	var res workflows.SubsidyResult
	require.NoError(t, s.env.GetWorkflowResult(&res))
	return res
}

// actions are the audit actions of the application's recorded steps.
func (s *subsidyOnKit) actions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, st := range s.steps {
		out = append(out, st.Audit.Action)
	}
	return out
}

// publicityThenSignOff sends the batch's news after the review, d1 and d2 from now on the
// workflow clock: the application is entered in a publicity list, then the list is signed off.
func (s *subsidyOnKit) publicityThenSignOff(d1, d2 time.Duration) {
	s.kit.At(d1, func() {
		s.env.SignalWorkflow(workflows.BatchEventSignal, workflows.BatchEvent{Event: workflows.BatchEntered, BatchID: batchWfID})
	})
	s.kit.At(d2, func() {
		s.env.SignalWorkflow(workflows.BatchEventSignal, workflows.BatchEvent{Event: workflows.BatchSignedOff, BatchID: batchWfID, By: aid1})
	})
}

// paid are the payments made.
func (s *subsidyOnKit) paid() []activities.DisburseInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.disbursed)
}
