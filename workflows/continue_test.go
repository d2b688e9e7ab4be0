package workflows_test

// Continue-as-new with a task open (Tasks.ContinueOnLongHistory, Quiesce, Carry, NewTasks
// with carried tasks, Wait): the escalation ladder goes on in the next run from the rung after
// the last that fired, nothing fires twice, and the task keeps its urges and revisions. On the
// kit's harness (subsidykit_test.go), which keeps one record of the tasks across both runs.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

func TestReviewContinuesAsNewWithItsLadderWhereItWas(t *testing.T) {
	// Run 1: the review is due at 72h; the reminder fires then; staff2 urges at 79h30. At 80h the
	// history is long (as Temporal would say).
	s := newSubsidyOnKit(t)
	h := s.kit
	h.SetLadder(casework.DefaultLadderKind, kittest.Rung{After: 0, Target: casework.TargetRemind},
		kittest.Rung{After: 24 * time.Hour, Target: casework.TargetSuperior}, kittest.Rung{After: 48 * time.Hour, Target: casework.TargetSupervision})
	var urge *kittest.Action
	h.WhenOpen(casework.KindSubsidyReview, 79*time.Hour+30*time.Minute, func(id string) {
		urge = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionUrge, Actor: staff2})
	})
	h.At(80*time.Hour, func() { s.env.SetContinueAsNewSuggested(true) })
	s.env.ExecuteWorkflow(workflows.SubsidyApplication, subsidyInput(applicant))
	var next workflows.SubsidyInput
	kittest.ContinuedAs(t, s.env, &next)
	urge.RequireDone(t)
	review := h.TaskIDs(casework.KindSubsidyReview)
	require.Len(t, review, 1)
	h.RequireRungs(t, review[0], 1) // run 1 fired the reminder only
	require.NotNil(t, next.Resume)
	require.Len(t, next.Resume.Tasks, 1)
	carried := next.Resume.Tasks[0]
	require.Equal(t, review[0], carried.ID)
	require.Equal(t, 1, carried.Level, "the reminder fired in run 1")
	require.Equal(t, 1, carried.Urges)
	require.Contains(t, carried.LastUrge, staff2.UserID)
	require.Equal(t, "review", next.Resume.Stage)

	// Run 2 starts where run 1 stopped (80h): no task is opened again, the superior's rung fires
	// at 96h (once), and leader1 approves at 100h, before the supervision rung.
	s2 := s.nextRun()
	h2 := s2.kit
	var again, approve *kittest.Action
	h2.At(10*time.Minute, func() {
		again = h2.Act(t, workflows.TaskAction{TaskID: review[0], Action: workflows.ActionUrge, Actor: staff2})
	})
	h2.At(20*time.Hour, func() { approve = h2.Complete(t, review[0], casework.OutcomeApprove, leader1) })
	s2.publicityThenSignOff(21*time.Hour, 22*time.Hour)
	require.Equal(t, casework.AppDisbursed, s2.run(t, next).State)

	require.Contains(t, again.Message(), "you urged this task")
	again.RequireRefused(t, workflows.CodeRateLimited)
	approve.RequireDone(t)
	require.Equal(t, review, h2.TaskIDs(""), "run 2 opens no task: it waits for the carried one")
	h2.RequireRungs(t, review[0], 1, 2) // run 2 fires only the rung after the last that fired
	superior := h2.RequireEscalatedAt(t, review[0], 2)
	require.Equal(t, casework.TargetSuperior, superior.Rung.Target)
	require.True(t, t0.Add(96*time.Hour).Equal(superior.At), "the superior rung fired at %v, want 96h after t0", superior.At)
	require.Greater(t, superior.Task.Revision, carried.Rev-1, "the projection revisions go on from run 1")
	done := h2.Changes("task.completed")
	require.Len(t, done, 1)
	require.Greater(t, done[0].Task.Revision, superior.Task.Revision)
	require.Equal(t, 1, done[0].Task.UrgeCount, "the urge of run 1 is still counted")
	require.Len(t, s2.paid(), 1)
}
