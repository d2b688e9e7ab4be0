package workflows_test

// The combination matrix of issue 18 in the kit's workflow tests: pairs of task operations where
// the approval engines county staff know break. Each asserts the final task rows, the escalation
// rows and the audit entries. The other pairs are in signers_test.go (return × 会签/或签,
// add-signer × return/reject, withdraw × an add-signer pending) and delegate_test.go (delegate ×
// transfer, delegate × resolve × complete: one open task, never two). e2e/ops_test.go runs the
// core ones through HTTP.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// TestMatrixReturnResubmitRearmsTheReminder (a deadline timer × return-and-resubmit): the review
// is late and reminded; the reviewer returns it, the applicant resubmits, and the new review has
// its own due time and reminder, which fires at its instant: never lost with the first review's
// timer, and the first review's later rungs never fire once it is decided.
func TestMatrixReturnResubmitRearmsTheReminder(t *testing.T) {
	s := newSubsidyOnKit(t)
	h := s.kit
	h.Due = time.Hour
	h.SetLadder(casework.DefaultLadderKind, kittest.Rung{After: 30 * time.Minute, Target: casework.TargetRemind},
		kittest.Rung{After: 90 * time.Minute, Target: casework.TargetSuperior})
	h.At(105*time.Minute, func() {
		h.Act(t, because(complete(h.OpenID(t, casework.KindSubsidyReview), leader1, casework.OutcomeReturn), "缺少家庭困难证明"))
	})
	h.At(2*time.Hour, func() {
		h.Act(t, workflows.TaskAction{TaskID: h.OpenID(t, casework.KindSubsidyResubmit), Action: workflows.ActionComplete,
			Outcome: casework.OutcomeResubmit, Actor: applicant, Fields: map[string]string{"evidence_note": "已补充低保证明"}})
	})
	h.At(220*time.Minute, func() { h.Complete(t, h.OpenID(t, casework.KindSubsidyReview), casework.OutcomeApprove, leader1) })
	s.publicityThenSignOff(4*time.Hour, 5*time.Hour)

	res := s.run(t, subsidyInput(applicant))

	require.Equal(t, casework.AppDisbursed, res.State)
	reviews, fixes := h.TaskIDs(casework.KindSubsidyReview), h.TaskIDs(casework.KindSubsidyResubmit)
	require.Len(t, reviews, 2)
	require.Len(t, fixes, 1)
	require.Equal(t, casework.OutcomeReturn, h.RequireState(t, reviews[0], casework.TaskDone).Outcome)
	require.Equal(t, casework.OutcomeResubmit, h.RequireState(t, fixes[0], casework.TaskDone).Outcome)
	require.Equal(t, casework.OutcomeApprove, h.RequireState(t, reviews[1], casework.TaskDone).Outcome)
	// The first review: reminded at 1h30, returned at 1h45 (its superior's rung at 2h30 never
	// fires). The resubmission was on time. The second review opened at 2h: reminded at 3h30.
	h.RequireRungs(t, reviews[0], 1)
	h.RequireRungs(t, fixes[0])
	h.RequireRungs(t, reviews[1], 1)
	require.True(t, t0.Add(210*time.Minute).Equal(h.RequireEscalatedAt(t, reviews[1], 1).At), "the new review's reminder at its own instant")
	require.Equal(t, 1, h.RequireState(t, reviews[1], casework.TaskDone).EscalationLevel)
	var acts []string
	for _, c := range h.Changes("") {
		acts = append(acts, c.Action+" "+c.Task.Kind+" "+c.Task.Outcome)
	}
	require.Equal(t, []string{"task.completed subsidy_review return", "task.completed subsidy_resubmit resubmit",
		"task.completed subsidy_review approve"}, acts)
}

// TestMatrixTransferMovesTheEscalation (transfer × escalation): leader1 claims the check and is
// late; the reminder names leader1 as its holder. leader1 transfers it to leader2; the superior's
// rung that follows names leader2, the row keeps its level, and leader2 completes it.
func TestMatrixTransferMovesTheEscalation(t *testing.T) {
	env, h := newKitEnv(t)
	id := kitWfID + "-t1"
	var moved, done *kittest.Action
	h.At(10*time.Minute, func() { h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionClaim, Actor: leader1}) })
	h.At(150*time.Minute, func() { moved = transfer(h, t, id, leader1, leader2) })
	h.At(210*time.Minute, func() { done = h.Complete(t, id, casework.OutcomeApprove, leader2) })

	kitRun(t, env, kitInput{Kinds: []string{kitCheck}})

	require.Equal(t, leader2.UserID, moved.RequireDone(t).AssigneeID)
	done.RequireDone(t)
	h.RequireRungs(t, id, 1, 2)
	require.Equal(t, leader1.UserID, h.RequireEscalatedAt(t, id, 1).Task.AssigneeID, "the reminder went to who held it then")
	require.Equal(t, leader2.UserID, h.RequireEscalatedAt(t, id, 2).Task.AssigneeID, "the next rung follows the new holder")
	row := h.RequireState(t, id, casework.TaskDone)
	require.Equal(t, 2, row.EscalationLevel, "a transfer keeps the level")
	require.Equal(t, leader2.UserID, row.CompletedBy)
	require.Len(t, h.Changes(""), 3) // claimed, transferred, completed
	require.Equal(t, "leader2", h.Changes("task.transferred")[0].Fields["to_user"])
}

// TestMatrixLateRungNamesWhoHeldItWhenDue (transfer × a late rung): leader1 claims the check and
// is late; the reminder (due 2h) takes 90 minutes to record, so the superior's rung (due 3h)
// fires at 3h30, after leader1 transferred the task at 3h15. It names leader1, who held the task
// when it fell due, and leaves the task with leader2; the next rung (due 4h) names leader2.
// "during its write": the transfer's write takes 30 minutes, so the late rung fires while the
// transfer's handler still waits for it — the task has changed hands all the same (the first
// build noted the change only once written, and this failed). (Found by jiaofu simulate with a
// busy worker: the late rung blamed the colleague.)
func TestMatrixLateRungNamesWhoHeldItWhenDue(t *testing.T) {
	for _, write := range []time.Duration{0, 30 * time.Minute} {
		t.Run(map[time.Duration]string{0: "after the transfer", 30 * time.Minute: "during its write"}[write], func(t *testing.T) {
			env, h := newKitEnv(t)
			id := kitWfID + "-t1"
			var moved *kittest.Action
			h.EscalateTakes.Store(int64(90 * time.Minute))
			h.At(10*time.Minute, func() { h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionClaim, Actor: leader1}) })
			h.At(125*time.Minute, func() { h.EscalateTakes.Store(0) })
			h.At(195*time.Minute, func() {
				h.ChangeTakes.Store(int64(write))
				moved = transfer(h, t, id, leader1, leader2)
			})
			h.At(200*time.Minute, func() { h.ChangeTakes.Store(0) })
			h.At(270*time.Minute, func() { h.Complete(t, id, casework.OutcomeApprove, leader2) })

			kitRun(t, env, kitInput{Kinds: []string{kitCheck}})

			moved.RequireDone(t)
			h.RequireRungs(t, id, 1, 2, 3)
			first, late, next := h.RequireEscalatedAt(t, id, 1), h.RequireEscalatedAt(t, id, 2), h.RequireEscalatedAt(t, id, 3)
			require.Nil(t, first.HeldBy, "the reminder fired on time: its holder is the task's")
			require.Equal(t, leader1.UserID, first.Task.AssigneeID)
			require.True(t, late.At.After(t0.Add(195*time.Minute)), "the superior's rung fired after the transfer was asked (at %s)", late.At)
			if write > 0 {
				require.True(t, late.At.Before(t0.Add(195*time.Minute+write)), "the superior's rung fired while the transfer was written (at %s)", late.At)
			}
			require.NotNil(t, late.HeldBy, "the late rung names who held the task when it fell due")
			require.Equal(t, leader1.UserID, *late.HeldBy)
			require.Equal(t, leader2.UserID, late.Task.AssigneeID, "the late rung's copy of the task keeps it with leader2")
			require.Nil(t, next.HeldBy, "the next rung fell due after the transfer")
			require.Equal(t, leader2.UserID, next.Task.AssigneeID)
			require.Equal(t, leader2.UserID, h.RequireState(t, id, casework.TaskDone).CompletedBy)
		})
	}
}

// TestMatrixUrgeADoneTask (urge × done task): a task that is done cannot be urged (task_not_open),
// and the refusal writes nothing; the case's open task may be.
func TestMatrixUrgeADoneTask(t *testing.T) {
	env, h := newSignEnv(t)
	var urgeDone, urgeOpen *kittest.Action
	h.At(10*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	h.At(20*time.Minute, func() {
		urgeDone = h.Act(t, workflows.TaskAction{TaskID: tid(1), Action: workflows.ActionUrge, Actor: aid1})
		urgeOpen = h.Act(t, workflows.TaskAction{TaskID: tid(2), Action: workflows.ActionUrge, Actor: aid1})
	})
	h.At(30*time.Minute, func() { decide(h, t, tid(2), leader2, casework.OutcomeApprove) })
	signRun(t, env, signInput{Steps: []signStep{{Kind: kitSign}, {Kind: kitCheck}}})
	urgeDone.RequireRefused(t, workflows.CodeTaskNotOpen)
	urgeOpen.RequireDone(t)
	require.Equal(t, 0, h.RequireState(t, tid(1), casework.TaskDone).UrgeCount)
	require.Equal(t, 1, h.RequireState(t, tid(2), casework.TaskDone).UrgeCount)
	h.RequireRungs(t, tid(1))
	h.RequireRungs(t, tid(2))
	require.Equal(t, []string{"task.completed t1 by leader1", "task.urged t2 by aid1", "task.completed t2 by leader2"}, actions(h))
}

// TestMatrixCCGrantsNoAction (CC × scope): a copy lets its reader read the case and act on
// nothing: the person copied, from another school, may neither decide, claim, urge, delegate
// nor add signers to the task; it is decided by its leader as if no copy had been made.
func TestMatrixCCGrantsNoAction(t *testing.T) {
	env, h := newKitEnv(t)
	id := kitWfID + "-t1"
	var cc *kittest.Action
	var tries []*kittest.Action
	h.At(10*time.Minute, func() {
		cc = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionCC, Actor: leader1, CC: []access.Actor{outsider9}})
	})
	h.At(20*time.Minute, func() {
		tries = []*kittest.Action{
			h.Complete(t, id, casework.OutcomeApprove, outsider9),
			h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionClaim, Actor: outsider9}),
			h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionUrge, Actor: outsider9}),
			delegate(h, t, id, outsider9, leader2),
			addSigners(h, t, id, outsider9, casework.SignBefore, leader2),
		}
	})
	h.At(30*time.Minute, func() { h.Complete(t, id, casework.OutcomeApprove, leader1) })
	kitRun(t, env, kitInput{Kinds: []string{kitCheck}})
	cc.RequireDone(t)
	for i, code := range []string{workflows.CodeNotCandidate, workflows.CodeNotCandidate, workflows.CodeNotInScope,
		workflows.CodeNotCandidate, workflows.CodeNotCandidate} {
		tries[i].RequireRefused(t, code)
	}
	require.Equal(t, leader1.UserID, h.RequireState(t, id, casework.TaskDone).CompletedBy)
	h.RequireRungs(t, id)
	require.Len(t, h.Changes(""), 2) // the copy and the decision
	require.Equal(t, []string{outsider9.UserID}, h.Changes("task.cc")[0].CC)
}
