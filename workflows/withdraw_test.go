package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"jiaofu/casework"
	"jiaofu/workflows"
)

// TestSubsidyWithdrawBeforeReview: the applicant withdraws (撤回) while the review waits; the
// task is cancelled, the application ends rejected as withdrawn; nobody else may withdraw.
func TestSubsidyWithdrawBeforeReview(t *testing.T) {
	h := newSubsidy(t)
	byLeader := h.actAt(time.Hour, "a reviewer tries to withdraw", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionWithdraw, Actor: leader1})
	withdraw := h.actAt(2*time.Hour, "the applicant withdraws", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionWithdraw,
		Comment: "家长放弃申请", Actor: applicant})

	res := h.runSubsidy(subsidyInput(applicant))

	h.requireRejected(byLeader, workflows.CodeNotCandidate, "only the applicant may withdraw")
	require.Equal(t, casework.TaskCancelled, h.taskResult(withdraw).State)
	require.Equal(t, casework.AppRejected, res.State)
	require.Equal(t, []string{"subsidy.withdrawn"}, h.AppActions())
	require.Len(t, h.ChangesWith("task.withdrawn"), 1)
	require.Empty(t, h.Disbursed())
}

// TestSubsidyWithdrawRefusedOnceClaimed: once the reviewer has taken the task up, the applicant
// can no longer withdraw it.
func TestSubsidyWithdrawRefusedOnceClaimed(t *testing.T) {
	h := newSubsidy(t)
	claim := h.actAt(time.Hour, "leader1 claims", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionClaim, Actor: leader1})
	withdraw := h.actAt(2*time.Hour, "the applicant withdraws too late", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionWithdraw, Actor: applicant})
	reject := h.actAt(3*time.Hour, "leader1 rejects", because(complete(h.taskID(1), leader1, casework.OutcomeReject), "不符合条件"))

	res := h.runSubsidy(subsidyInput(applicant))

	h.taskResult(claim)
	h.requireRejected(withdraw, workflows.CodeWrongState, "can no longer be withdrawn")
	h.taskResult(reject)
	require.Equal(t, casework.AppRejected, res.State)
}
