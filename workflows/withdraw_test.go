package workflows_test

// Withdrawal (撤回) of a subsidy application, on the kit's harness (subsidykit_test.go).

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// TestSubsidyWithdrawBeforeReview: the applicant withdraws (撤回) while the review waits; the
// task is cancelled, the application ends rejected as withdrawn; nobody else may withdraw.
func TestSubsidyWithdrawBeforeReview(t *testing.T) {
	s := newSubsidyOnKit(t)
	h := s.kit
	var byLeader, withdraw *kittest.Action
	h.WhenOpen(casework.KindSubsidyReview, time.Hour, func(id string) {
		byLeader = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionWithdraw, Actor: leader1})
	})
	h.WhenOpen(casework.KindSubsidyReview, 2*time.Hour, func(id string) {
		withdraw = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionWithdraw, Comment: "家长放弃申请", Actor: applicant})
	})

	res := s.run(t, subsidyInput(applicant))

	byLeader.RequireRefused(t, workflows.CodeNotCandidate)
	require.Contains(t, byLeader.Message(), "only the applicant may withdraw")
	require.Equal(t, casework.TaskCancelled, withdraw.RequireDone(t).State)
	review := h.TaskIDs(casework.KindSubsidyReview)
	require.Len(t, review, 1)
	require.Equal(t, casework.OutcomeWithdrawn, h.RequireState(t, review[0], casework.TaskCancelled).Outcome)
	require.Equal(t, casework.AppRejected, res.State)
	require.Equal(t, []string{"subsidy.withdrawn"}, s.actions())
	require.Len(t, h.Changes("task.withdrawn"), 1)
}

// TestSubsidyWithdrawRefusedOnceClaimed: once the reviewer has taken the task up, the applicant
// can no longer withdraw it.
func TestSubsidyWithdrawRefusedOnceClaimed(t *testing.T) {
	s := newSubsidyOnKit(t)
	h := s.kit
	var claim, withdraw, reject *kittest.Action
	h.At(time.Hour, func() {
		claim = h.Act(t, workflows.TaskAction{TaskID: h.OpenID(t, casework.KindSubsidyReview), Action: workflows.ActionClaim, Actor: leader1})
	})
	h.At(2*time.Hour, func() {
		withdraw = h.Act(t, workflows.TaskAction{TaskID: h.OpenID(t, casework.KindSubsidyReview), Action: workflows.ActionWithdraw, Actor: applicant})
	})
	h.At(3*time.Hour, func() {
		reject = h.Act(t, because(complete(h.OpenID(t, casework.KindSubsidyReview), leader1, casework.OutcomeReject), "不符合条件"))
	})

	res := s.run(t, subsidyInput(applicant))

	require.Equal(t, leader1.UserID, claim.RequireDone(t).AssigneeID)
	require.Equal(t, "claimed", withdraw.RequireRefused(t, workflows.CodeWrongState).Params["reason"])
	require.Contains(t, withdraw.Message(), "can no longer be withdrawn")
	reject.RequireDone(t)
	require.Equal(t, leader1.UserID, h.RequireState(t, h.TaskIDs(casework.KindSubsidyReview)[0], casework.TaskDone).CompletedBy)
	require.Equal(t, casework.AppRejected, res.State)
	require.Equal(t, []string{"subsidy.rejected"}, s.actions())
}
