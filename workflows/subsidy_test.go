package workflows_test

// Tests of subsidy.go: SubsidyApplication (review, returns, publicity outcome, disbursement) and
// PublicityBatch (objections, the period, sign-off). The harness is in humantask_test.go.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/workflows"
)

// ---------------------------------------------------------------------------------------------
// SubsidyApplication.

// TestSubsidyHearsOnlyItsBatchOutcome: a batch of this build tells its applications only the
// outcome; an application that never hears "entered" is signed off and paid once all the same,
// its search attribute going from reviewed to disbursed.
func TestSubsidyHearsOnlyItsBatchOutcome(t *testing.T) {
	h := newSubsidy(t)
	h.actAt(time.Hour, "leader1 approves", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionComplete,
		Outcome: casework.OutcomeApprove, Comment: "材料齐全", Actor: leader1})
	h.signalAt(100*time.Hour, workflows.BatchEvent{Event: workflows.BatchSignedOff, BatchID: batchWfID, By: aid1})

	res := h.runSubsidy(subsidyInput(applicant))

	require.Equal(t, workflows.SubsidyResult{State: casework.AppDisbursed, AmountFen: amountFen}, res)
	h.requireDisbursedOnce(workflows.DefaultChannel)
	require.Equal(t, []string{casework.AppReviewed, casework.AppDisbursed}, h.States())
}

// TestSubsidyApprovePath: review approve → publicity entered → signed off → paid once, the
// registry's amount, on the default channel.
func TestSubsidyApprovePath(t *testing.T) {
	h := newSubsidy(t)
	t1 := h.taskID(1)
	approve := h.actAt(time.Hour, "leader1 approves", workflows.TaskAction{TaskID: t1, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeApprove, Comment: "材料齐全", Actor: leader1})
	h.publicityThenSignOff(2*time.Hour, 100*time.Hour, "")

	res := h.runSubsidy(subsidyInput(applicant))

	require.Equal(t, workflows.SubsidyResult{State: casework.AppDisbursed, AmountFen: amountFen}, res)
	require.Equal(t, workflows.TaskActionResult{TaskID: t1, State: casework.TaskDone, Outcome: casework.OutcomeApprove}, h.taskResult(approve))

	require.Len(t, h.checks, 1)
	check := h.checks[0]
	require.Equal(t, appWfID, check.ApplicationID)
	require.Equal(t, "st0001", check.StudentID)
	require.Equal(t, "YWJY_SH", check.Programme)
	require.Equal(t, "2026-2027-1", check.Term)
	require.Equal(t, applicant.UserID, check.ApplicantID)
	require.Equal(t, "建档立卡", check.EvidenceNote)
	require.Equal(t, applicant, check.Applicant, "the first activity writes the applicant's entry if the API could not")

	opened := h.Opened()
	require.Len(t, opened, 1)
	in := opened[0].In
	require.Equal(t, t1, in.ID)
	require.Equal(t, appWfID, in.WorkflowID)
	require.True(t, t0.Equal(in.Now))
	require.Equal(t, casework.KindSubsidyReview, in.Spec.Kind)
	require.Equal(t, casework.ProcessSubsidy, in.Spec.Process)
	require.Equal(t, appWfID, in.Spec.CaseID)
	require.Equal(t, casework.RoleSchoolLeader, in.Spec.CandidateRole)
	require.Equal(t, schoolCode, in.Spec.UnitCode, "the review is at the student's school, from the registry check")
	require.Empty(t, in.Spec.AssigneeID)
	require.Equal(t, []string{casework.OutcomeApprove, casework.OutcomeReject, casework.OutcomeReturn}, in.Spec.Outcomes)
	require.Equal(t, []string{applicant.UserID}, in.Spec.Exclude, "the applicant may not review")
	require.Contains(t, in.Spec.Title, "李小明")

	apps := h.Apps()
	require.Equal(t, []string{"subsidy.reviewed", "subsidy.signed_off"}, h.AppActions())
	reviewed := apps[0]
	require.Equal(t, appWfID, reviewed.ApplicationID)
	require.Equal(t, casework.AppReviewed, reviewed.Update.State)
	require.Equal(t, leader1.UserID, reviewed.Update.ReviewerID, "the reviewer is recorded for the sign-off's separation of duties")
	require.Equal(t, leader1.UserID, reviewed.Audit.Actor.UserID)
	require.Equal(t, casework.RoleSchoolLeader, reviewed.Audit.Role)
	require.Equal(t, casework.ProcessSubsidy, reviewed.Audit.Process)
	require.Equal(t, map[string]any{"comment": "材料齐全", "state": casework.AppReviewed}, reviewed.Audit.After)
	require.True(t, t0.Add(time.Hour).Equal(reviewed.Audit.At))
	signed := apps[1]
	require.Equal(t, casework.AppSignedOff, signed.Update.State)
	require.Equal(t, aid1.UserID, signed.Audit.Actor.UserID)
	require.Equal(t, casework.RoleAidCenter, signed.Audit.Role)
	require.Equal(t, map[string]any{"batch_id": batchWfID, "state": casework.AppSignedOff}, signed.Audit.After)

	d := h.requireDisbursedOnce(workflows.DefaultChannel)
	require.True(t, t0.Add(100*time.Hour).Equal(d.At))
	// The sign-off and the payment are one write (subsidy-merged-writes): the search attribute goes
	// from in_publicity to disbursed with it.
	require.Equal(t, []string{casework.AppReviewed, casework.AppInPublicity, casework.AppDisbursed}, h.States())
	require.Empty(t, h.Escalations())
}

// TestSubsidyWritesAreLocalActivities: from subsidy-local-writes on, the application's own store
// writes and its task's opening run as local activities, inside the workflow task that asks for
// them (issue 20); from subsidy-merged-writes on, the registry check with the review's
// resolution and projection in one, and the sign-off with the payment in one. The reviewer's
// decision alone is written by a regular activity, with the reviewed step riding along
// (Tasks.After): a local write in the workflow task that accepts the Update could land in the
// store while the Update itself is lost with a crashed worker (Tasks.WriteLocally).
func TestSubsidyWritesAreLocalActivities(t *testing.T) {
	h := newSubsidy(t)
	var mu sync.Mutex
	var seen []string
	note := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, what)
	}
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		note("local " + info.ActivityType.Name)
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		note("start " + info.ActivityType.Name)
	})
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		note("done " + info.ActivityType.Name)
	})
	h.actAt(time.Hour, "leader1 approves", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionComplete,
		Outcome: casework.OutcomeApprove, Actor: leader1})
	h.publicityThenSignOff(2*time.Hour, 100*time.Hour, "")

	require.Equal(t, casework.AppDisbursed, h.runSubsidy(subsidyInput(applicant)).State)
	require.Equal(t, []string{"local CheckAndOpenReview", "start ApplyTaskChange", "done ApplyTaskChange",
		"local SignOffAndDisburse"}, seen)
	reviewed := h.ChangesWith("task.completed")
	require.Len(t, reviewed, 1)
	require.NotNil(t, reviewed[0].Then, "the decision's write takes the reviewed step along")
	require.Equal(t, "subsidy.reviewed", reviewed[0].Then.Application.Audit.Action)
}

// TestSubsidySignOffChannel: the sign-off's channel, when given, is how the subsidy is paid.
func TestSubsidySignOffChannel(t *testing.T) {
	h := newSubsidy(t)
	h.actAt(time.Hour, "leader1 approves", complete(h.taskID(1), leader1, casework.OutcomeApprove))
	h.publicityThenSignOff(2*time.Hour, 3*time.Hour, "银行卡")
	require.Equal(t, casework.AppDisbursed, h.runSubsidy(subsidyInput(applicant)).State)
	h.requireDisbursedOnce("银行卡")
}

// TestSubsidyReject: a rejected application ends at once, unpaid.
func TestSubsidyReject(t *testing.T) {
	h := newSubsidy(t)
	reject := h.actAt(time.Hour, "leader1 rejects", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionComplete,
		Outcome: casework.OutcomeReject, Comment: "不符合条件", Actor: leader1})

	res := h.runSubsidy(subsidyInput(applicant))

	require.Equal(t, casework.AppRejected, res.State)
	h.taskResult(reject)
	require.Empty(t, h.Disbursed(), "no Disburse")
	require.Equal(t, []string{"subsidy.rejected"}, h.AppActions())
	step := h.Apps()[0]
	require.Equal(t, casework.AppRejected, step.Update.State)
	require.Equal(t, leader1.UserID, step.Update.ReviewerID)
	require.Equal(t, map[string]any{"comment": "不符合条件", "state": casework.AppRejected}, step.Audit.After)
	require.Len(t, h.Opened(), 1)
	require.Equal(t, []string{casework.AppRejected}, h.States())
	completed := h.ChangesWith("task.completed")
	require.Len(t, completed, 1)
	require.Equal(t, casework.OutcomeReject, completed[0].Task.Outcome)
}

// TestSubsidyReturnAndResubmit: the reviewer returns the application; a resubmit task goes to the
// applicant alone; their corrected evidence note is saved; a new review task opens and is approved.
func TestSubsidyReturnAndResubmit(t *testing.T) {
	h := newSubsidy(t)
	t1, t2, t3 := h.taskID(1), h.taskID(2), h.taskID(3)
	const note = "补充低保证明（2026-09）"
	ret := h.actAt(time.Hour, "leader1 returns", workflows.TaskAction{TaskID: t1, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeReturn, Comment: "缺少低保证明", Actor: leader1})
	byColleague := h.actAt(2*time.Hour, "another staff member resubmits", complete(t2, staff2, casework.OutcomeResubmit))
	byLeader := h.actAt(2*time.Hour+time.Minute, "the leader resubmits", complete(t2, leader1, casework.OutcomeResubmit))
	badOutcome := h.actAt(2*time.Hour+2*time.Minute, "the applicant approves", complete(t2, applicant, casework.OutcomeApprove))
	oldTask := h.actAt(2*time.Hour+3*time.Minute, "approve the returned review", complete(t1, leader2, casework.OutcomeApprove))
	resubmit := h.actAt(3*time.Hour, "the applicant resubmits", workflows.TaskAction{TaskID: t2, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeResubmit, Comment: "已补充", Fields: map[string]string{"evidence_note": note}, Actor: applicant})
	approve := h.actAt(4*time.Hour, "leader2 approves the resubmission", complete(t3, leader2, casework.OutcomeApprove))
	h.publicityThenSignOff(5*time.Hour, 100*time.Hour, "")

	res := h.runSubsidy(subsidyInput(applicant))

	require.Equal(t, casework.AppDisbursed, res.State)
	h.taskResult(ret)
	h.requireRejected(byColleague, workflows.CodeNotCandidate, "staff2 may not act on this task")
	h.requireRejected(byLeader, workflows.CodeNotCandidate, "leader1 may not act on this task")
	h.requireRejected(badOutcome, workflows.CodeOutcomeNotAllowed, `"approve" is not one of [resubmit withdraw]`)
	h.requireRejected(oldTask, workflows.CodeTaskNotOpen, t1+" is not open")
	h.taskResult(resubmit)
	h.taskResult(approve)

	opened := h.Opened()
	require.Len(t, opened, 3)
	require.Equal(t, []string{t1, t2, t3}, []string{opened[0].In.ID, opened[1].In.ID, opened[2].In.ID})
	fix := opened[1].In
	require.Equal(t, casework.KindSubsidyResubmit, fix.Spec.Kind)
	require.Equal(t, applicant.UserID, fix.Spec.AssigneeID, "the resubmit task is the applicant's")
	require.Equal(t, casework.RoleSchoolStaff, fix.Spec.CandidateRole)
	require.Equal(t, []string{casework.OutcomeResubmit, casework.OutcomeWithdraw}, fix.Spec.Outcomes)
	require.True(t, t0.Add(time.Hour).Equal(fix.Now))
	again := opened[2].In
	require.Equal(t, casework.KindSubsidyReview, again.Spec.Kind)
	require.Equal(t, []string{applicant.UserID}, again.Spec.Exclude)
	require.True(t, t0.Add(3*time.Hour).Equal(again.Now))

	require.Equal(t, []string{"subsidy.returned", "subsidy.resubmitted", "subsidy.reviewed", "subsidy.signed_off"}, h.AppActions())
	apps := h.Apps()
	require.Equal(t, casework.AppReturned, apps[0].Update.State)
	require.Empty(t, apps[0].Update.ReviewerID)
	require.Equal(t, map[string]any{"comment": "缺少低保证明", "state": casework.AppReturned}, apps[0].Audit.After)
	resub := apps[1]
	require.Equal(t, casework.AppInReview, resub.Update.State)
	require.NotNil(t, resub.Update.EvidenceNote, "SetApplication carries the corrected evidence note")
	require.Equal(t, note, *resub.Update.EvidenceNote)
	require.Equal(t, applicant.UserID, resub.Audit.Actor.UserID)
	require.Equal(t, casework.RoleSchoolStaff, resub.Audit.Role)
	require.Equal(t, leader2.UserID, apps[2].Update.ReviewerID)

	done := h.ChangesWith("task.completed")
	require.Len(t, done, 3)
	require.Equal(t, t2, done[1].Task.ID)
	require.Equal(t, map[string]string{"evidence_note": note}, done[1].Fields)
	require.Equal(t, applicant.UserID, done[1].Task.AssigneeID)
	h.requireDisbursedOnce(workflows.DefaultChannel)
}

// because gives an action its comment: a return or a rejection needs one.
func because(a workflows.TaskAction, comment string) workflows.TaskAction {
	a.Comment = comment
	return a
}

// TestSubsidyReturnAndRejectNeedAReason: the review refuses a return or a rejection without a
// reason (blank is none); the applicant's resubmit task names the reason once, without the
// review's prefix; a resubmission that leaves the evidence note as it was is refused, whether it
// repeats the note or leaves it out; a corrected one goes back to review.
func TestSubsidyReturnAndRejectNeedAReason(t *testing.T) {
	h := newSubsidy(t)
	t1, t2, t3 := h.taskID(1), h.taskID(2), h.taskID(3)
	bareReturn := h.actAt(time.Hour, "leader1 returns without a reason", complete(t1, leader1, casework.OutcomeReturn))
	blankReturn := h.actAt(time.Hour+time.Minute, "leader1 returns with spaces", because(complete(t1, leader1, casework.OutcomeReturn), "  \n"))
	bareReject := h.actAt(time.Hour+2*time.Minute, "leader1 rejects without a reason", complete(t1, leader1, casework.OutcomeReject))
	ret := h.actAt(2*time.Hour, "leader1 returns", because(complete(t1, leader1, casework.OutcomeReturn), "缺少低保证明"))
	same := h.actAt(3*time.Hour, "the applicant resubmits the same note", workflows.TaskAction{TaskID: t2, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeResubmit, Fields: map[string]string{"evidence_note": " 建档立卡 "}, Actor: applicant})
	none := h.actAt(3*time.Hour+time.Minute, "the applicant resubmits without a note", complete(t2, applicant, casework.OutcomeResubmit))
	fixed := h.actAt(4*time.Hour, "the applicant corrects the note", workflows.TaskAction{TaskID: t2, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeResubmit, Fields: map[string]string{"evidence_note": "建档立卡，附低保证明"}, Actor: applicant})
	bareReject2 := h.actAt(5*time.Hour, "leader2 rejects without a reason", complete(t3, leader2, casework.OutcomeReject))
	reject := h.actAt(6*time.Hour, "leader2 rejects", because(complete(t3, leader2, casework.OutcomeReject), "家庭收入超过标准"))

	require.Equal(t, casework.AppRejected, h.runSubsidy(subsidyInput(applicant)).State)
	h.requireRejected(bareReturn, workflows.ErrTypeInvalid, "comment: a reason is required when returning or rejecting")
	h.requireRejected(blankReturn, workflows.ErrTypeInvalid, "comment: a reason is required")
	h.requireRejected(bareReject, workflows.ErrTypeInvalid, "comment: a reason is required")
	h.taskResult(ret)
	h.requireRejected(same, workflows.ErrTypeInvalid, "fields.evidence_note: nothing was changed")
	h.requireRejected(none, workflows.ErrTypeInvalid, "fields.evidence_note: nothing was changed")
	h.taskResult(fixed)
	h.requireRejected(bareReject2, workflows.ErrTypeInvalid, "comment: a reason is required")
	h.taskResult(reject)

	opened := h.Opened()
	require.Len(t, opened, 3)
	require.Equal(t, []string{casework.OutcomeReject, casework.OutcomeReturn}, opened[0].In.Spec.CommentRequired)
	require.Equal(t, "退回修改：李小明 YWJY_SH 2026-2027-1（退回原因：缺少低保证明）", opened[1].In.Spec.Title)
	require.Empty(t, opened[1].In.Spec.CommentRequired, "withdrawing needs no reason")
	require.Equal(t, []string{casework.OutcomeReject, casework.OutcomeReturn}, opened[2].In.Spec.CommentRequired)
	require.Equal(t, []string{"subsidy.returned", "subsidy.resubmitted", "subsidy.rejected"}, h.AppActions())
	require.Equal(t, map[string]any{"comment": "缺少低保证明", "state": casework.AppReturned}, h.Apps()[0].Audit.After)
}

// TestSubsidyReturnThenWithdraw: the applicant withdraws a returned application: it ends rejected.
func TestSubsidyReturnThenWithdraw(t *testing.T) {
	h := newSubsidy(t)
	h.actAt(time.Hour, "leader1 returns", because(complete(h.taskID(1), leader1, casework.OutcomeReturn), "缺少低保证明"))
	withdraw := h.actAt(2*time.Hour, "the applicant withdraws", complete(h.taskID(2), applicant, casework.OutcomeWithdraw))

	require.Equal(t, casework.AppRejected, h.runSubsidy(subsidyInput(applicant)).State)
	h.taskResult(withdraw)
	require.Equal(t, []string{"subsidy.returned", "subsidy.withdrawn"}, h.AppActions())
	require.Equal(t, casework.AppRejected, h.Apps()[1].Update.State)
	require.Empty(t, h.Disbursed())
	require.Len(t, h.Opened(), 2)
}

// TestSubsidySeparationOfDuties: the applicant also holds school_leader at the school, yet may not
// decide their own application; a different leader then approves.
func TestSubsidySeparationOfDuties(t *testing.T) {
	h := newSubsidy(t)
	dual := person("staff1", atSchool(casework.RoleSchoolStaff), atSchool(casework.RoleSchoolLeader))
	t1 := h.taskID(1)
	selfApprove := h.actAt(time.Hour, "the applicant approves their own", complete(t1, dual, casework.OutcomeApprove))
	selfReturn := h.actAt(time.Hour+time.Minute, "the applicant returns their own", complete(t1, dual, casework.OutcomeReturn))
	approve := h.actAt(2*time.Hour, "leader1 approves", complete(t1, leader1, casework.OutcomeApprove))
	h.publicityThenSignOff(3*time.Hour, 100*time.Hour, "")

	res := h.runSubsidy(subsidyInput(dual))

	h.requireRejected(selfApprove, workflows.CodeSeparationOfDuties, "separation of duties")
	h.requireRejected(selfReturn, workflows.CodeSeparationOfDuties, "separation of duties: staff1 applied for")
	h.taskResult(approve)
	require.Equal(t, casework.AppDisbursed, res.State)
	require.Equal(t, leader1.UserID, h.Apps()[0].Update.ReviewerID)
	require.Len(t, h.ChangesWith("task.completed"), 1)
	require.Equal(t, leader1.UserID, h.Changes()[0].Actor.UserID)
}

// TestSubsidyObjectionUpheld: an objection upheld during publicity rejects the application; it is
// never paid.
func TestSubsidyObjectionUpheld(t *testing.T) {
	h := newSubsidy(t)
	h.actAt(time.Hour, "leader1 approves", complete(h.taskID(1), leader1, casework.OutcomeApprove))
	h.signalAt(2*time.Hour, workflows.BatchEvent{Event: workflows.BatchEntered, BatchID: batchWfID})
	h.signalAt(50*time.Hour, workflows.BatchEvent{Event: workflows.BatchUpheld, BatchID: batchWfID, By: aid1, Reason: "家庭收入超标"})

	res := h.runSubsidy(subsidyInput(applicant))

	require.Equal(t, casework.AppRejected, res.State)
	require.Empty(t, h.Disbursed(), "no Disburse")
	require.Equal(t, []string{"subsidy.reviewed", "subsidy.rejected_by_objection"}, h.AppActions())
	step := h.Apps()[1]
	require.Equal(t, casework.AppRejected, step.Update.State)
	require.Equal(t, aid1.UserID, step.Audit.Actor.UserID)
	require.Equal(t, casework.RoleAidCenter, step.Audit.Role)
	require.Equal(t, map[string]any{"batch_id": batchWfID, "reason": "家庭收入超标", "state": casework.AppRejected}, step.Audit.After)
	require.True(t, t0.Add(50*time.Hour).Equal(step.Audit.At))
	require.Equal(t, []string{casework.AppReviewed, casework.AppInPublicity, casework.AppRejected}, h.States())
}

// ---------------------------------------------------------------------------------------------
// PublicityBatch.

var (
	app1 = appWfID
	app2 = "subsidy-st0002-YWJY_SH-2026-2027-1"
	app3 = "subsidy-st0003-YWJY_SH-2026-2027-1"
)

func newBatch(t *testing.T) *harness {
	h := newHarness(t, batchWfID)
	h.members = []activities.BatchMember{
		{ApplicationID: app1, ApplicantID: applicant.UserID, ReviewerID: leader1.UserID},
		{ApplicationID: app2, ApplicantID: applicant.UserID, ReviewerID: leader1.UserID},
		{ApplicationID: app3, ApplicantID: staff2.UserID, ReviewerID: leader2.UserID},
	}
	return h
}

func batchInput() workflows.PublicityInput {
	return workflows.PublicityInput{BatchID: batchWfID, UnitCode: schoolCode, Term: "2026-2027-1",
		Applications: []string{app1, app2, app3}, OpenedBy: applicant}
}

func (h *harness) runBatch() workflows.PublicityState {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.PublicityBatch, batchInput())
	require.True(h.t, h.env.IsWorkflowCompleted(), "workflow did not complete")
	require.NoError(h.t, h.env.GetWorkflowError())
	var st workflows.PublicityState
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st
}

// queryAt reads the batch's live state at t0+d.
func (h *harness) queryAt(d time.Duration) *workflows.PublicityState {
	st := &workflows.PublicityState{}
	h.at(d, func() {
		v, err := h.env.QueryWorkflow(workflows.PublicityQuery)
		require.NoError(h.t, err)
		require.NoError(h.t, v.Get(st))
	})
	return st
}

// signalsOf lists the applications sent a batch event (signals are sent concurrently, so in no set order).
func (h *harness) signalsOf(event string) []string {
	var out []string
	for _, s := range h.Signals() {
		require.Equal(h.t, workflows.BatchEventSignal, s.Signal)
		if s.Event.Event == event {
			out = append(out, s.WorkflowID)
		}
	}
	return out
}

func (h *harness) batchActions() []string {
	var out []string
	for _, s := range h.BatchSteps() {
		out = append(out, s.Step.Audit.Action)
	}
	return out
}

// TestPublicityObjectionUpheld: an objection during the period opens an objection_review task;
// the aid center upholds it; that entry hears objection_upheld; after the period the remaining
// entries are signed off by an aid-center approver and only they hear signed_off.
//
// (Until notifyApplications took the goroutine's ctx, the upheld notice blocked on the root ctx
// from the objection goroutine and the workflow task panicked: "trying to block on coroutine
// which is already blocked".)
func TestPublicityObjectionUpheld(t *testing.T) {
	h := newBatch(t)
	t1, t2 := h.taskID(1), h.taskID(2)
	obj := h.objectAt(24*time.Hour, "objection to app2", workflows.Objection{EntryID: app2, Reason: "家庭条件较好", Contact: "138****0000"})
	during := h.queryAt(30 * time.Hour)
	byLeader := h.actAt(40*time.Hour, "a school leader decides the objection", complete(t1, leader1, casework.OutcomeUphold))
	approveObj := h.actAt(41*time.Hour, "approve is not an objection outcome", complete(t1, aid1, casework.OutcomeApprove))
	uphold := h.actAt(48*time.Hour, "aid1 upholds", workflows.TaskAction{TaskID: t1, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeUphold, Comment: "经核实收入超标", Actor: aid1})
	objAgain := h.objectAt(60*time.Hour, "objection to the rejected entry", workflows.Objection{EntryID: app2, Reason: "再次"})
	signoff := h.actAt(130*time.Hour, "aid2 signs off", workflows.TaskAction{TaskID: t2, Action: workflows.ActionComplete,
		Outcome: casework.OutcomeApprove, Comment: "同意", Fields: map[string]string{"channel": "银行卡"}, Actor: aid2})

	st := h.runBatch()

	s := h.requireAccepted(obj)
	require.Equal(t, batchWfID+"-o1", s.result, "the objection's id")
	h.requireRejected(byLeader, workflows.CodeSeparationOfDuties, "separation of duties")
	h.requireRejected(approveObj, workflows.CodeOutcomeNotAllowed, `"approve" is not one of [uphold dismiss]`)
	h.taskResult(uphold)
	h.requireRejected(objAgain, workflows.CodeInvalid, "is not on this publicity list")
	h.taskResult(signoff)

	require.Equal(t, casework.BatchOpen, during.State)
	require.Equal(t, 1, during.OpenObjections)

	require.Equal(t, workflows.PublicityState{State: casework.BatchSignedOff, Members: []string{app1, app2, app3}, Rejected: []string{app2},
		EndsAt: t0.Add(120 * time.Hour).Format(time.RFC3339)}, st)

	// The batch was opened over the input's applications.
	require.Len(t, h.batchOpens, 1)
	require.Equal(t, []string{app1, app2, app3}, h.batchOpens[0].Applications)
	require.Equal(t, schoolCode, h.batchOpens[0].UnitCode)

	opened := h.Opened()
	require.Equal(t, []string{casework.KindObjectionReview, casework.KindPublicitySignoff}, h.OpenedKinds())
	review := opened[0].In
	require.Equal(t, t1, review.ID)
	require.True(t, t0.Add(24*time.Hour).Equal(review.Now))
	require.Equal(t, casework.RoleAidCenter, review.Spec.CandidateRole)
	require.Equal(t, batchWfID, review.Spec.CaseID)
	require.Equal(t, schoolCode, review.Spec.UnitCode)
	require.Equal(t, []string{casework.OutcomeUphold, casework.OutcomeDismiss}, review.Spec.Outcomes)
	require.Contains(t, review.Spec.Title, app2)
	sign := opened[1].In
	require.Equal(t, t2, sign.ID)
	require.True(t, t0.Add(120*time.Hour).Equal(sign.Now), "sign-off opens when the period ends")
	require.Equal(t, casework.RoleAidCenter, sign.Spec.CandidateRole)
	require.Equal(t, []string{casework.OutcomeApprove}, sign.Spec.Outcomes)
	require.Contains(t, sign.Spec.Title, "2 人")
	require.ElementsMatch(t, []string{applicant.UserID, leader1.UserID, applicant.UserID, leader1.UserID, staff2.UserID, leader2.UserID},
		sign.Spec.Exclude, "every member's applicant and reviewer is barred from the sign-off")

	// Objection records: filed, then decided.
	objs := h.Objections()
	require.Len(t, objs, 2)
	require.Equal(t, batchWfID+"-o1", objs[0].Rec.ID)
	require.Equal(t, app2, objs[0].Rec.ApplicationID)
	require.Equal(t, "open", objs[0].Rec.State)
	require.Equal(t, "家庭条件较好", objs[0].Rec.Reason)
	require.Equal(t, "decided", objs[1].Rec.State)
	require.Equal(t, casework.OutcomeUphold, objs[1].Rec.Decision)
	require.NotNil(t, objs[1].Rec.DecidedAt)
	require.True(t, t0.Add(48*time.Hour).Equal(*objs[1].Rec.DecidedAt))

	// News: upheld to app2 only, signed_off to the rest only; no "entered" (only batches of earlier
	// builds sent it).
	require.Empty(t, h.signalsOf(workflows.BatchEntered))
	require.ElementsMatch(t, []string{app2}, h.signalsOf(workflows.BatchUpheld))
	require.ElementsMatch(t, []string{app1, app3}, h.signalsOf(workflows.BatchSignedOff))
	for _, s := range h.Signals() {
		require.Equal(t, batchWfID, s.Event.BatchID)
		switch s.Event.Event {
		case workflows.BatchUpheld:
			require.Equal(t, aid1.UserID, s.Event.By.UserID)
			require.Equal(t, "经核实收入超标", s.Event.Reason)
			require.True(t, t0.Add(48*time.Hour).Equal(s.At))
		case workflows.BatchSignedOff:
			require.Equal(t, aid2.UserID, s.Event.By.UserID)
			require.Equal(t, "银行卡", s.Event.Channel)
			require.True(t, t0.Add(130*time.Hour).Equal(s.At))
		}
	}

	require.Equal(t, []string{"publicity.period_ended", "publicity.signed_off"}, h.batchActions())
	steps := h.BatchSteps()
	require.Equal(t, casework.BatchAwaitingSignoff, steps[0].Step.State, "the objection was decided within the period: the batch waits for its sign-off")
	require.True(t, t0.Add(120*time.Hour).Equal(steps[0].At))
	require.Equal(t, casework.BatchSignedOff, steps[1].Step.State)
	require.Equal(t, aid2.UserID, steps[1].Step.Audit.Actor.UserID)
	require.Equal(t, casework.RoleAidCenter, steps[1].Step.Audit.Role)
	require.Equal(t, map[string]any{"applications": []any{app1, app3}, "comment": "同意"}, steps[1].Step.Audit.After)
}

// TestPublicityObjectionDismissed: a dismissed objection lets every entry be signed off.
func TestPublicityObjectionDismissed(t *testing.T) {
	h := newBatch(t)
	h.objectAt(24*time.Hour, "objection to app3", workflows.Objection{EntryID: app3, Reason: "怀疑重复申请"})
	dismiss := h.actAt(48*time.Hour, "aid1 dismisses", complete(h.taskID(1), aid1, casework.OutcomeDismiss))
	signoff := h.actAt(130*time.Hour, "aid2 signs off", complete(h.taskID(2), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.taskResult(dismiss)
	h.taskResult(signoff)
	require.Equal(t, casework.BatchSignedOff, st.State)
	require.Empty(t, st.Rejected)
	require.Empty(t, h.signalsOf(workflows.BatchUpheld))
	require.ElementsMatch(t, []string{app1, app2, app3}, h.signalsOf(workflows.BatchSignedOff))
	for _, s := range h.Signals() {
		if s.Event.Event == workflows.BatchSignedOff {
			require.Empty(t, s.Event.Channel, "no channel given: the application uses its default")
		}
	}
	objs := h.Objections()
	require.Len(t, objs, 2)
	require.Equal(t, casework.OutcomeDismiss, objs[1].Rec.Decision)
	require.Contains(t, h.Opened()[1].In.Spec.Title, "3 人")
}

// TestPublicityObjectionRefused: objections after the period, to an entry not on the list, or
// without a reason are refused, and nothing is recorded for them.
func TestPublicityObjectionRefused(t *testing.T) {
	h := newBatch(t)
	notListed := h.objectAt(10*time.Hour, "unknown entry", workflows.Objection{EntryID: "subsidy-st9999-YWJY_SH-2026-2027-1", Reason: "x"})
	noReason := h.objectAt(11*time.Hour, "no reason", workflows.Objection{EntryID: app1})
	late := h.objectAt(121*time.Hour, "after the period", workflows.Objection{EntryID: app1, Reason: "迟到的异议"})
	signoff := h.actAt(130*time.Hour, "aid2 signs off", complete(h.taskID(1), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.requireRejected(notListed, workflows.CodeInvalid, "is not on this publicity list")
	h.requireRejected(noReason, workflows.CodeInvalid, "reason: required")
	h.requireRejected(late, workflows.CodePublicityEnded, "the publicity period ended at ")
	var lateErr *temporal.ApplicationError
	require.ErrorAs(t, late.snapshot(h).err, &lateErr)
	r, _ := workflows.RefusalOf(lateErr)
	endedAt, err := time.Parse(time.RFC3339, r.Params["ended_at"])
	require.NoError(t, err, "ended_at is RFC 3339")
	require.Contains(t, lateErr.Error(), calendar.Show(endedAt)+" China time", "the message says when the period ended")
	h.taskResult(signoff)
	require.Empty(t, h.Objections(), "no objection recorded")
	require.Equal(t, []string{casework.KindPublicitySignoff}, h.OpenedKinds())
	require.Equal(t, casework.BatchSignedOff, st.State)
	require.ElementsMatch(t, []string{app1, app2, app3}, h.signalsOf(workflows.BatchSignedOff))
}

// TestPublicityWaitsForOpenObjection: the period ends while an objection is still under review;
// the batch closes to objections but no sign-off task opens until the objection is decided.
func TestPublicityWaitsForOpenObjection(t *testing.T) {
	h := newBatch(t)
	h.objectAt(24*time.Hour, "objection to app1", workflows.Objection{EntryID: app1, Reason: "信息不实"})
	afterPeriod := h.queryAt(150 * time.Hour)
	dismiss := h.actAt(200*time.Hour, "aid1 dismisses late", complete(h.taskID(1), aid1, casework.OutcomeDismiss))
	signoff := h.actAt(210*time.Hour, "aid2 signs off", complete(h.taskID(2), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.taskResult(dismiss)
	h.taskResult(signoff)
	opened := h.Opened()
	require.Equal(t, []string{casework.KindObjectionReview, casework.KindPublicitySignoff}, h.OpenedKinds())
	require.True(t, t0.Add(24*time.Hour).Equal(opened[0].In.Now))
	require.True(t, t0.Add(200*time.Hour).Equal(opened[1].In.Now),
		"the sign-off task opens when the objection is decided (t0+200h), not when the period ends; opened at %v", opened[1].In.Now)

	require.Equal(t, casework.BatchAwaitingObjections, afterPeriod.State)
	require.Equal(t, 1, afterPeriod.OpenObjections)

	steps := h.BatchSteps()
	require.Equal(t, []string{"publicity.period_ended", "publicity.objections_decided", "publicity.signed_off"}, h.batchActions())
	require.True(t, t0.Add(120*time.Hour).Equal(steps[0].At))
	require.Equal(t, casework.BatchAwaitingObjections, steps[0].Step.State)
	require.Equal(t, map[string]any{"open_objections": float64(1)}, steps[0].Step.Audit.After)
	require.True(t, t0.Add(200*time.Hour).Equal(steps[1].At), "the batch waits for its sign-off once the objection is decided")
	require.Equal(t, casework.BatchAwaitingSignoff, steps[1].Step.State)
	require.ElementsMatch(t, []string{app1, app2, app3}, h.signalsOf(workflows.BatchSignedOff))
	require.Equal(t, casework.BatchSignedOff, st.State)
	require.Zero(t, st.OpenObjections)
}

// TestPublicityAllTakenOffAfterPeriod: every entry is taken off by an upheld objection, the last
// one decided after the period: the batch waits for the objections, then is closed with nothing
// to sign off (not awaiting a sign-off that never opens).
func TestPublicityAllTakenOffAfterPeriod(t *testing.T) {
	h := newBatch(t)
	for i, app := range []string{app1, app2, app3} {
		h.objectAt(time.Duration(24+i)*time.Hour, "objection to "+app, workflows.Objection{EntryID: app, Reason: "家庭条件较好"})
	}
	early1 := h.actAt(30*time.Hour, "aid1 upholds the first", complete(h.taskID(1), aid1, casework.OutcomeUphold))
	early2 := h.actAt(31*time.Hour, "aid1 upholds the second", complete(h.taskID(2), aid1, casework.OutcomeUphold))
	afterPeriod := h.queryAt(150 * time.Hour)
	late := h.actAt(160*time.Hour, "aid1 upholds the last after the period", complete(h.taskID(3), aid1, casework.OutcomeUphold))

	st := h.runBatch()

	h.taskResult(early1)
	h.taskResult(early2)
	h.taskResult(late)
	require.Equal(t, casework.BatchAwaitingObjections, afterPeriod.State)
	require.Equal(t, []string{casework.KindObjectionReview, casework.KindObjectionReview, casework.KindObjectionReview}, h.OpenedKinds(),
		"no sign-off opens")
	require.Equal(t, []string{"publicity.period_ended", "publicity.objections_decided"}, h.batchActions())
	steps := h.BatchSteps()
	require.Equal(t, casework.BatchAwaitingObjections, steps[0].Step.State)
	require.Equal(t, casework.BatchClosed, steps[1].Step.State)
	require.True(t, t0.Add(160*time.Hour).Equal(steps[1].At))
	require.Equal(t, casework.BatchClosed, st.State)
}

// TestPublicitySignOffSeparationOfDuties: an aid-center person who applied for or reviewed a
// member may not sign the batch off; a school leader may not either; another aid-center
// person may.
func TestPublicitySignOffSeparationOfDuties(t *testing.T) {
	h := newBatch(t)
	aidApplicant := person("aid9", atAidCenter(), atSchool(casework.RoleSchoolStaff))
	aidReviewer := person("aid8", atAidCenter())
	h.members[0].ReviewerID = aidReviewer.UserID
	h.members[2].ApplicantID = aidApplicant.UserID
	t1 := h.taskID(1)
	byApplicant := h.actAt(121*time.Hour, "aid-center applicant of app3", complete(t1, aidApplicant, casework.OutcomeApprove))
	byReviewer := h.actAt(122*time.Hour, "aid-center reviewer of app1", complete(t1, aidReviewer, casework.OutcomeApprove))
	leader3 := person("leader3", atSchool(casework.RoleSchoolLeader))
	byLeader := h.actAt(123*time.Hour, "a school leader", complete(t1, leader3, casework.OutcomeApprove))
	claimApplicant := h.actAt(124*time.Hour, "aid-center applicant claims", workflows.TaskAction{TaskID: t1, Action: workflows.ActionClaim, Actor: aidApplicant})
	signoff := h.actAt(125*time.Hour, "aid1 signs off", complete(t1, aid1, casework.OutcomeApprove))

	st := h.runBatch()

	h.requireRejected(byApplicant, workflows.CodeSeparationOfDuties, "separation of duties: aid9")
	h.requireRejected(byReviewer, workflows.CodeSeparationOfDuties, "separation of duties: aid8")
	h.requireRejected(byLeader, workflows.CodeNotCandidate, "waits for aid_center")
	h.requireRejected(claimApplicant, workflows.CodeNotCandidate, "aid9 may not claim")
	h.taskResult(signoff)
	require.Contains(t, h.Opened()[0].In.Spec.Exclude, aidApplicant.UserID)
	require.Contains(t, h.Opened()[0].In.Spec.Exclude, aidReviewer.UserID)
	done := h.ChangesWith("task.completed")
	require.Len(t, done, 1)
	require.Equal(t, aid1.UserID, done[0].Actor.UserID)
	require.Equal(t, casework.RoleAidCenter, done[0].ActorRole)
	require.Equal(t, aid1.UserID, h.BatchSteps()[1].Step.Audit.Actor.UserID)
	require.Equal(t, casework.BatchSignedOff, st.State)
	require.ElementsMatch(t, []string{app1, app2, app3}, h.signalsOf(workflows.BatchSignedOff))
}

// TestPublicitySignOffClaimTransferUrge: the task-action mechanics on the sign-off task: claim by
// one aid-center person blocks another's completion; transfer to a colleague who holds the role;
// the colleague completes; urges are counted.
func TestPublicitySignOffClaimTransferUrge(t *testing.T) {
	h := newBatch(t)
	t1 := h.taskID(1)
	m := time.Minute
	claim := h.actAt(121*time.Hour, "aid1 claims", workflows.TaskAction{TaskID: t1, Action: workflows.ActionClaim, Actor: aid1})
	blocked := h.actAt(121*time.Hour+m, "aid2 completes aid1's task", complete(t1, aid2, casework.OutcomeApprove))
	urge := h.actAt(122*time.Hour, "the school's staff urges", workflows.TaskAction{TaskID: t1, Action: workflows.ActionUrge, Actor: staff2})
	to := aid2
	transfer := h.actAt(123*time.Hour, "aid1 transfers to aid2", workflows.TaskAction{TaskID: t1, Action: workflows.ActionTransfer, Actor: aid1, Target: &to})
	done := h.actAt(124*time.Hour, "aid2 signs off", complete(t1, aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.taskResult(claim)
	h.requireRejected(blocked, workflows.CodeNotCandidate, "(claimed by another person)")
	h.taskResult(urge)
	require.Equal(t, aid2.UserID, h.taskResult(transfer).AssigneeID)
	h.taskResult(done)
	var actions []string
	for _, c := range h.Changes() {
		actions = append(actions, c.Action)
	}
	require.Equal(t, []string{"task.claimed", "task.urged", "task.transferred", "task.completed"}, actions)
	urged := h.ChangesWith("task.urged")[0]
	require.Equal(t, 1, urged.Task.UrgeCount)
	require.Equal(t, aid1.UserID, urged.Task.AssigneeID)
	require.Equal(t, aid2.UserID, h.BatchSteps()[1].Step.Audit.Actor.UserID)
	require.Equal(t, casework.BatchSignedOff, st.State)
}

// TestPublicityEmptyBatch: a batch with no members closes at once, with no task and no signal.
func TestPublicityEmptyBatch(t *testing.T) {
	h := newHarness(t, batchWfID)
	st := h.runBatch()
	require.Equal(t, casework.BatchClosed, st.State)
	require.Empty(t, h.Opened())
	require.Empty(t, h.Signals())
	require.Equal(t, []string{"publicity.empty"}, h.batchActions())
}

// TestPublicityObjectionWhileBatchOpens: an objection that arrives while the batch is still being
// opened (OpenBatch takes an hour here) gets a clean conflict from the validator, not an
// "unknown update" error; once the list is public, objections are taken.
func TestPublicityObjectionWhileBatchOpens(t *testing.T) {
	h := newBatch(t)
	h.openBatchDelay = time.Hour
	early := h.objectAt(30*time.Minute, "objection while the batch opens", workflows.Objection{EntryID: app1, Reason: "x"})
	during := h.objectAt(2*time.Hour, "objection once it is public", workflows.Objection{EntryID: app1, Reason: "y"})
	h.actAt(3*time.Hour, "aid1 dismisses", complete(h.taskID(1), aid1, casework.OutcomeDismiss))
	h.actAt(130*time.Hour, "aid2 signs off", complete(h.taskID(2), aid2, casework.OutcomeApprove))

	st := h.runBatch()

	h.requireRejected(early, workflows.CodeWrongState, "still being opened")
	require.Equal(t, batchWfID+"-o1", h.requireAccepted(during).result, "the refused objection took no number")
	require.Len(t, h.Objections(), 2, "only the accepted objection was recorded (filed, decided)")
	require.Equal(t, casework.BatchSignedOff, st.State)
}
