package workflows_test

// Objections to one entry while its review is open join that review (publicity-group-objections):
// one task, and the reviewer's decision decides every objection of the group, in one run or
// across continue-as-new. An objection after the decision opens a new review.

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"jiaofu/casework"
	"jiaofu/workflows"
)

// decisions lists the objection rows as decided, by id, in the order they were written.
func (h *harness) decisions() map[string]string {
	out := map[string]string{}
	for _, o := range h.Objections() {
		if o.Rec.State == "decided" {
			_, twice := out[o.Rec.ID]
			require.Falsef(h.t, twice, "objection %s decided twice", o.Rec.ID)
			out[o.Rec.ID] = o.Rec.Decision
		}
	}
	return out
}

func TestPublicityObjectionsToOneEntryShareAReview(t *testing.T) {
	h := newBatch(t)
	first := h.objectAt(24*time.Hour, "objection to app2", workflows.Objection{EntryID: app2, Reason: "家庭条件较好", Contact: "138****0000"})
	second := h.objectAt(30*time.Hour, "another objection to app2", workflows.Objection{EntryID: app2, Reason: "家有轿车", Contact: "139****1111"})
	other := h.objectAt(31*time.Hour, "objection to app3", workflows.Objection{EntryID: app3, Reason: "怀疑重复申请"})
	grouped := h.queryAt(32 * time.Hour)
	dismiss := h.actAt(48*time.Hour, "aid1 dismisses app2's review", complete(h.taskID(1), aid1, casework.OutcomeDismiss))
	dismissOther := h.actAt(49*time.Hour, "aid1 dismisses app3's review", complete(h.taskID(2), aid1, casework.OutcomeDismiss))
	third := h.objectAt(60*time.Hour, "app2 again, after the decision", workflows.Objection{EntryID: app2, Reason: "收入证明造假"})
	uphold := h.actAt(72*time.Hour, "aid1 upholds the new review", complete(h.taskID(3), aid1, casework.OutcomeUphold))
	signoff := h.actAt(130*time.Hour, "aid2 signs off", complete(h.taskID(4), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	for i, o := range []*outcome{first, second, other, third} {
		require.Equal(t, batchWfID+"-o"+string(rune('1'+i)), h.requireAccepted(o).result, "each objection keeps its own id")
	}
	h.taskResult(dismiss)
	h.taskResult(dismissOther)
	h.taskResult(uphold)
	h.taskResult(signoff)

	require.Equal(t, 3, grouped.OpenObjections, "grouped objections are still open objections")
	require.Equal(t, []string{casework.KindObjectionReview, casework.KindObjectionReview, casework.KindObjectionReview,
		casework.KindPublicitySignoff}, h.OpenedKinds(), "app2's second objection opened no task of its own")
	opened := h.Opened()
	require.Contains(t, opened[0].In.Spec.Title, app2)
	require.Contains(t, opened[1].In.Spec.Title, app3)
	require.Contains(t, opened[2].In.Spec.Title, app2)
	require.True(t, t0.Add(60*time.Hour).Equal(opened[2].In.Now), "the objection after the decision opened a new review")

	filed := map[string]casework.Objection{}
	for _, o := range h.Objections() {
		if o.Rec.State == "open" {
			filed[o.Rec.ID] = o.Rec
		}
	}
	require.Len(t, filed, 4, "every objection is recorded")
	require.Equal(t, "家有轿车", filed[batchWfID+"-o2"].Reason)
	require.Equal(t, "139****1111", filed[batchWfID+"-o2"].Contact)
	require.Equal(t, app2, filed[batchWfID+"-o2"].ApplicationID)
	require.Equal(t, map[string]string{batchWfID + "-o1": casework.OutcomeDismiss, batchWfID + "-o2": casework.OutcomeDismiss,
		batchWfID + "-o3": casework.OutcomeDismiss, batchWfID + "-o4": casework.OutcomeUphold}, h.decisions())
	require.Equal(t, []string{app2}, st.Rejected)
	require.Zero(t, st.OpenObjections)
	require.Equal(t, casework.BatchSignedOff, st.State)
}

// TestPublicityObjectionGroupCrossesContinueAsNew: the group is carried with its review; in the
// next run a further objection still joins it and the one decision decides all three.
func TestPublicityObjectionGroupCrossesContinueAsNew(t *testing.T) {
	h := newBatch(t)
	h.objectAt(24*time.Hour, "objection to app1", workflows.Objection{EntryID: app1, Reason: "信息不实"})
	h.objectAt(30*time.Hour, "another objection to app1", workflows.Objection{EntryID: app1, Reason: "已外出务工"})
	h.at(40*time.Hour, func() { h.env.SetContinueAsNewSuggested(true) })
	h.env.ExecuteWorkflow(workflows.PublicityBatch, batchInput())
	require.True(t, h.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(h.env.GetWorkflowError(), &can), "run 1 ended with %v, want continue-as-new", h.env.GetWorkflowError())
	var next workflows.PublicityInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Resume)
	require.True(t, next.Resume.Grouped)
	require.Len(t, next.Resume.Reviews, 1, "one review for app1")
	require.Len(t, next.Resume.Reviews[0].Joined, 1)
	require.Equal(t, 2, next.Resume.State.OpenObjections)

	h2 := newBatch(t)
	h2.env.SetStartTime(t0.Add(40 * time.Hour))
	third := h2.objectAt(time.Hour, "a third objection to app1", workflows.Objection{EntryID: app1, Reason: "重复领取"})
	uphold := h2.actAt(8*time.Hour, "aid1 upholds", complete(h.taskID(1), aid1, casework.OutcomeUphold))
	signoff := h2.actAt(90*time.Hour, "aid2 signs off", complete(h.taskID(2), aid2, casework.OutcomeApprove))
	h2.env.ExecuteWorkflow(workflows.PublicityBatch, next)
	require.True(t, h2.env.IsWorkflowCompleted())
	require.NoError(t, h2.env.GetWorkflowError())
	var st workflows.PublicityState
	require.NoError(t, h2.env.GetWorkflowResult(&st))

	require.Equal(t, batchWfID+"-o3", h2.requireAccepted(third).result)
	h2.taskResult(uphold)
	h2.taskResult(signoff)
	require.Equal(t, []string{casework.KindPublicitySignoff}, h2.OpenedKinds(), "the third objection joined the carried review")
	require.Equal(t, map[string]string{batchWfID + "-o1": casework.OutcomeUphold, batchWfID + "-o2": casework.OutcomeUphold,
		batchWfID + "-o3": casework.OutcomeUphold}, h2.decisions())
	require.Equal(t, []string{app1}, st.Rejected)
	require.Zero(t, st.OpenObjections)
}

// TestPublicityObjectionsUngroupedInOldBatches: a batch opened before publicity-group-objections
// (and so before publicity-local-writes, which takes it without asking) keeps one review per
// objection, each decided by its own task.
func TestPublicityObjectionsUngroupedInOldBatches(t *testing.T) {
	h := newBatch(t)
	h.env.OnGetVersion("publicity-local-writes", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.env.OnGetVersion("publicity-group-objections", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.objectAt(24*time.Hour, "objection to app2", workflows.Objection{EntryID: app2, Reason: "家庭条件较好"})
	h.objectAt(30*time.Hour, "another objection to app2", workflows.Objection{EntryID: app2, Reason: "家有轿车"})
	first := h.actAt(48*time.Hour, "aid1 dismisses the first", complete(h.taskID(1), aid1, casework.OutcomeDismiss))
	second := h.actAt(49*time.Hour, "aid1 upholds the second", complete(h.taskID(2), aid1, casework.OutcomeUphold))
	signoff := h.actAt(130*time.Hour, "aid2 signs off", complete(h.taskID(3), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.taskResult(first)
	h.taskResult(second)
	h.taskResult(signoff)
	require.Equal(t, []string{casework.KindObjectionReview, casework.KindObjectionReview, casework.KindPublicitySignoff}, h.OpenedKinds())
	require.Equal(t, map[string]string{batchWfID + "-o1": casework.OutcomeDismiss, batchWfID + "-o2": casework.OutcomeUphold}, h.decisions())
	require.Equal(t, []string{app2}, st.Rejected)
}
