package workflows_test

// The publicity batch's writes and news from publicity-local-writes on (issue 20), and as the
// batches opened before keep them.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

// batchWithFraud runs a batch in which an objection to app2 is upheld as fraud and the rest is
// signed off, and returns the activities it ran in order ("local X" for a local activity, "start
// X" and "done X" for a regular one) and the escalations it raised.
func batchWithFraud(t *testing.T, h *harness) ([]string, []activities.RaiseInput) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	var raised []activities.RaiseInput
	note := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, what)
	}
	var acts *activities.Activities
	h.env.OnActivity(acts.Raise, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RaiseInput) (store.Escalation, error) {
			mu.Lock()
			defer mu.Unlock()
			raised = append(raised, in)
			return store.Escalation{ID: in.ID, Target: in.Target}, nil
		})
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		note("local " + info.ActivityType.Name)
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		note("start " + info.ActivityType.Name)
	})
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		note("done " + info.ActivityType.Name)
	})
	obj := h.objectAt(24*time.Hour, "objection to app2", workflows.Objection{EntryID: app2, Reason: "家有商铺两间"})
	uphold := h.actAt(48*time.Hour, "aid1 upholds it as fraud", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionComplete,
		Outcome: casework.OutcomeUphold, Comment: "核实属实", Fields: map[string]string{workflows.FieldFraud: "true"}, Actor: aid1})
	signoff := h.actAt(130*time.Hour, "aid2 signs off", complete(h.taskID(2), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.requireAccepted(obj)
	h.taskResult(uphold)
	h.taskResult(signoff)
	require.Equal(t, casework.BatchSignedOff, st.State)
	require.Equal(t, []string{app2}, st.Rejected)
	if h.legacyBatch {
		require.ElementsMatch(t, []string{app1, app2, app3}, h.signalsOf(workflows.BatchEntered))
	} else {
		require.Empty(t, h.signalsOf(workflows.BatchEntered), "a batch that writes locally tells only the outcome")
	}
	require.Equal(t, []string{app2}, h.signalsOf(workflows.BatchUpheld))
	require.ElementsMatch(t, []string{app1, app3}, h.signalsOf(workflows.BatchSignedOff))
	require.Equal(t, []string{"publicity.period_ended", "publicity.signed_off"}, h.batchActions())
	require.Len(t, raised, 1)
	require.Equal(t, casework.TargetSupervision, raised[0].Target)
	require.Equal(t, batchWfID+"-o1-fraud", raised[0].ID)
	require.Equal(t, map[string]string{batchWfID + "-o1": casework.OutcomeUphold}, h.decisions())
	return seen, raised
}

// TestPublicityWritesAreLocalActivities: from publicity-local-writes on, the batch's own writes
// and its tasks' opening run as local activities, and its applications hear its outcome from
// those activities (signed_off from the sign-off's SetBatch, an upheld objection from
// TellApplications), never from a signal of the workflow: the batch's history no longer grows
// with its size. They are not told that they entered publicity (issue 20: 5 events each). The filed objection's record and the task decisions are still
// written by regular activities, and what follows a decision only once it is written: a local
// write in the workflow task that accepts an Update could land in the store while the Update
// itself is lost with a crashed worker (Tasks.WriteLocally).
func TestPublicityWritesAreLocalActivities(t *testing.T) {
	h := newBatch(t)
	seen, _ := batchWithFraud(t, h)

	require.Equal(t, []string{
		"local OpenBatch",
		"start SaveObjection", "done SaveObjection", // the objection, as its Update is accepted
		"local ResolveTask", "local ProjectOpenTask", // its review
		"start ApplyTaskChange", "done ApplyTaskChange", // the reviewer's decision
		"local SaveObjection", "local TellApplications", "local Raise", // the decision's consequences
		"local SetBatch",                             // the period's end
		"local ResolveTask", "local ProjectOpenTask", // the sign-off
		"start ApplyTaskChange", "done ApplyTaskChange", // the approver's decision
		"local SetBatch", // signed off, and the applications told
	}, seen)
	via := map[string]string{}
	for _, s := range h.Signals() {
		via[s.Event.Event] += s.Via + " "
	}
	require.Equal(t, map[string]string{workflows.BatchUpheld: "TellApplications ",
		workflows.BatchSignedOff: strings.Repeat("SetBatch ", 2)}, via, "no signal from the workflow itself, none at the opening")
	for _, s := range h.Signals() {
		require.Equal(t, batchWfID, s.Event.BatchID)
		switch s.Event.Event {
		case workflows.BatchUpheld:
			require.Equal(t, aid1.UserID, s.Event.By.UserID)
			require.Equal(t, "核实属实", s.Event.Reason)
			require.True(t, t0.Add(48*time.Hour).Equal(s.At))
		case workflows.BatchSignedOff:
			require.Equal(t, aid2.UserID, s.Event.By.UserID)
			require.True(t, t0.Add(130*time.Hour).Equal(s.At))
		}
	}
	steps := h.BatchSteps()
	require.Nil(t, steps[0].Step.Tell, "the period's end tells no application")
	require.Equal(t, &activities.Tell{Applications: []string{app1, app3}, Event: workflows.BatchEvent{Event: workflows.BatchSignedOff,
		BatchID: batchWfID, By: aid2}}, steps[1].Step.Tell)
}

// TestPublicityBatchBeforeLocalWrites: a batch opened before publicity-local-writes keeps
// regular activities, and signals its applications from the workflow, as its history holds them.
func TestPublicityBatchBeforeLocalWrites(t *testing.T) {
	h := newBatch(t)
	h.env.OnGetVersion("publicity-local-writes", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.legacyBatch = true
	seen, _ := batchWithFraud(t, h)

	for _, s := range seen {
		require.False(t, strings.HasPrefix(s, "local "), "a local activity in a batch opened before: %v", seen)
	}
	for _, s := range h.Signals() {
		require.Equal(t, "workflow", s.Via, "%s to %s", s.Event.Event, s.WorkflowID)
	}
	for _, s := range h.BatchSteps() {
		require.Nil(t, s.Step.Tell)
	}
}
