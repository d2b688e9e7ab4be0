package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// TestSeriousFindingTwoReviewers: a serious finding's rectification is accepted by two of the
// inspectorate's reviewers (会签, finding-serious-two-reviewers): the review is two pool tasks;
// who accepted one may not take the other; a rejection by the second sends the finding back (the
// first's task done, nothing left open) and the redone rectification is reviewed by two again,
// whose two acceptances close it out.
func TestSeriousFindingTwoReviewers(t *testing.T) {
	env, h, fakes := newFindingEnv(t)
	in := findingInput(t)
	in.Finding.Severity = workflows.SeveritySerious
	h.WhenOpen(casework.KindRectification, time.Hour, func(id string) { submit(h, t, id, leader1, evidence("已补齐档案", "档案照片")) })
	fid := func(n int) string { return findingID + "-t" + string(rune('0'+n)) }
	var twice, reject *kittest.Action
	h.At(90*time.Minute, func() {
		h.Complete(t, fid(2), casework.OutcomeAccept, inspector1)
		twice = h.Complete(t, fid(3), casework.OutcomeAccept, inspector1)
	})
	h.At(100*time.Minute, func() {
		reject = h.Act(t, workflows.TaskAction{TaskID: fid(3), Action: workflows.ActionComplete, Outcome: casework.OutcomeReject,
			Comment: "照片不清晰", Actor: inspector2})
	})
	h.At(200*time.Minute, func() {
		h.Complete(t, fid(5), casework.OutcomeAccept, inspector2)
		h.Complete(t, fid(6), casework.OutcomeAccept, inspector1)
	})

	res := runFinding(t, env, in)

	require.Equal(t, casework.FindingClosed, res.State)
	require.Equal(t, 2, res.Attempts)
	require.Equal(t, "signed", twice.RequireRefused(t, workflows.CodeDuplicate).Params["reason"])
	reject.RequireDone(t)
	reviews := h.TaskIDs(casework.KindRectificationReview)
	require.Equal(t, []string{fid(2), fid(3), fid(5), fid(6)}, reviews)
	for _, id := range reviews {
		row := h.RequireState(t, id, casework.TaskDone)
		require.Equal(t, "all", row.Signing)
		require.NotEmpty(t, row.CompletedBy, "decided by a person")
	}
	require.Equal(t, fid(2), h.Task(t, fid(3)).Row.StepID)
	require.Equal(t, inspector2.UserID, h.Task(t, fid(3)).Row.CompletedBy)
	require.Equal(t, []string{"inspection.rectification_submitted", "inspection.rectification_rejected",
		"inspection.rectification_submitted", "inspection.finding_closed"}, fakes.actions())
	decisions := h.Audits("task.step_decided")
	require.Len(t, decisions, 2)
	require.Equal(t, "reject", decisions[0].After.(map[string]any)["outcome"])
	require.Equal(t, "accept", decisions[1].After.(map[string]any)["outcome"])
}
