package activities_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/worker"
)

// TestLocalActivityAuditKeyIsItsOwn: a local activity's id is counted apart from the run's
// regular activity ids, so the audit entry it writes is keyed in a namespace of its own
// (".../local-<id>"), never taken for a regular activity's retry and dropped; a regular
// activity's key is the one it always was (workflow/run/activity id).
func TestLocalActivityAuditKeyIsItsOwn(t *testing.T) {
	s, _, _ := newCounty(t)
	acts := &activities.Activities{Store: s}
	var suite testsuite.WorkflowTestSuite
	at := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	in := activities.Audit{Actor: access.System, Action: "test.step", Process: "subsidy", CaseID: "case-key", At: at}

	regular := suite.NewTestActivityEnvironment()
	regular.RegisterActivity(acts)
	if _, err := regular.ExecuteActivity(acts.RecordAudit, in); err != nil {
		t.Fatal(err)
	}
	local := suite.NewTestActivityEnvironment()
	local.RegisterActivity(acts)
	if _, err := local.ExecuteLocalActivity(acts.RecordAudit, in); err != nil {
		t.Fatal(err)
	}

	entries, err := s.Timeline(context.Background(), "case-key")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want the regular and the local activity's", len(entries))
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.EventKey)
	}
	if strings.Contains(keys[0], "local-") || strings.Count(keys[0], "/") != 2 {
		t.Errorf("regular activity's key %q: want workflow/run/activity id, as before", keys[0])
	}
	if !strings.Contains(keys[1], "/local-") {
		t.Errorf("local activity's key %q: want it in the local- namespace", keys[1])
	}
}

// TestLocalActivityAuditKeySurvivesItsRetries: the SDK retries a failed local activity in place
// while its backoff is short, but after a long one it schedules the activity again under a new
// id (the test environment does so for every retry). An attempt that put its entry on record and
// then failed (the batch's telling its applications, a second transaction) must not have the
// entry written again by the next: the key is the workflow's count of its local activity calls,
// which the worker's interceptor hands every attempt. Two calls are two entries.
func TestLocalActivityAuditKeySurvivesItsRetries(t *testing.T) {
	s, _, _ := newCounty(t)
	acts := &activities.Activities{Store: s}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(sdkworker.Options{Interceptors: worker.Interceptors()})
	attempts := map[string]int{}
	var ids []string
	writeThenFail := func(ctx context.Context, in activities.Audit) error {
		if err := acts.RecordAudit(ctx, in); err != nil {
			return err
		}
		ids = append(ids, activity.GetInfo(ctx).ActivityID)
		if attempts[in.Action]++; attempts[in.Action] < 3 {
			return errors.New("the news could not be told")
		}
		return nil
	}
	env.RegisterActivityWithOptions(writeThenFail, activity.RegisterOptions{Name: "WriteThenFail"})
	at := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: 24 * time.Hour,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Minute, BackoffCoefficient: 2}})
		for _, action := range []string{"publicity.opened", "publicity.signed_off"} {
			in := activities.Audit{Actor: access.System, Action: action, Process: "subsidy", CaseID: "case-retried", At: at}
			if err := workflow.ExecuteLocalActivity(ctx, "WriteThenFail", in).Get(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	}, workflow.RegisterOptions{Name: "Retried"})
	env.ExecuteWorkflow("Retried")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 6 || ids[0] == ids[1] {
		t.Fatalf("attempts under ids %v: want three of each call, each under a new id, for the test to mean something", ids)
	}
	entries, err := s.Timeline(context.Background(), "case-retried")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.EventKey)
	}
	if len(entries) != 2 || entries[0].Action != "publicity.opened" || entries[1].Action != "publicity.signed_off" {
		t.Fatalf("entries %v: want each call's once, whatever its retries", got)
	}
	for i, e := range entries {
		if want := fmt.Sprintf("/local-%d", i+1); !strings.HasSuffix(e.EventKey, want) {
			t.Errorf("entry %q: want its key to end in %q (the workflow's %d. local call)", got[i], want, i+1)
		}
	}
}
