package workflows_test

// Continue-as-new with a task open (Tasks.ContinueOnLongHistory, Quiesce, Carry, NewTasks
// with carried tasks, Wait): the escalation ladder goes on in the next run from the rung after
// the last that fired, nothing fires twice, and the task keeps its urges and revisions.

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

func TestReviewContinuesAsNewWithItsLadderWhereItWas(t *testing.T) {
	// Run 1: the review is due at 72h; the reminder fires then; staff2 urges at 79h30. At 80h the
	// history is long (as Temporal would say).
	h := newSubsidy(t)
	h.withLadder([]time.Duration{0, 24 * time.Hour, 48 * time.Hour},
		[]string{casework.TargetRemind, casework.TargetSuperior, casework.TargetSupervision})
	urge := h.actAt(79*time.Hour+30*time.Minute, "staff2 urges", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionUrge, Actor: staff2})
	h.at(80*time.Hour, func() { h.env.SetContinueAsNewSuggested(true) })
	h.env.ExecuteWorkflow(workflows.SubsidyApplication, subsidyInput(applicant))
	require.True(t, h.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(h.env.GetWorkflowError(), &can), "run 1 ended with %v, want continue-as-new", h.env.GetWorkflowError())
	h.requireAccepted(urge)
	require.Len(t, h.Escalations(), 1, "run 1 fired the reminder only")
	var next workflows.SubsidyInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Resume)
	require.Len(t, next.Resume.Tasks, 1)
	carried := next.Resume.Tasks[0]
	require.Equal(t, h.taskID(1), carried.ID)
	require.Equal(t, 1, carried.Level, "the reminder fired in run 1")
	require.Equal(t, 1, carried.Urges)
	require.Contains(t, carried.LastUrge, staff2.UserID)
	require.Equal(t, "review", next.Resume.Stage)

	// Run 2 starts where run 1 stopped: no task is opened again, the superior's rung fires at 96h
	// (once), and leader1 approves at 100h, before the supervision rung.
	h2 := newSubsidy(t)
	h2.withLadder([]time.Duration{0, 24 * time.Hour, 48 * time.Hour},
		[]string{casework.TargetRemind, casework.TargetSuperior, casework.TargetSupervision})
	h2.env.SetStartTime(t0.Add(80 * time.Hour))
	again := h2.actAt(10*time.Minute, "staff2 urges again within the hour", workflows.TaskAction{TaskID: h.taskID(1), Action: workflows.ActionUrge, Actor: staff2})
	approve := h2.actAt(20*time.Hour, "leader1 approves", complete(h.taskID(1), leader1, casework.OutcomeApprove))
	h2.publicityThenSignOff(21*time.Hour, 22*time.Hour, "")
	h2.runSubsidy(next)
	h2.requireRejected(again, workflows.ErrTypeRateLimited, "you urged this task")
	h2.requireAccepted(approve)
	require.Empty(t, h2.Opened(), "run 2 opens no task: it waits for the carried one")
	esc := h2.Escalations()
	require.Len(t, esc, 1, "run 2 fires only the rung after the last that fired")
	require.Equal(t, casework.TargetSuperior, esc[0].In.Rung.Target)
	require.True(t, t0.Add(96*time.Hour).Equal(esc[0].At), "the superior rung fired at %v, want 96h after t0", esc[0].At)
	require.Greater(t, esc[0].In.Task.Revision, carried.Rev-1, "the projection revisions go on from run 1")
	done := h2.ChangesWith("task.completed")
	require.Len(t, done, 1)
	require.Greater(t, done[0].Task.Revision, esc[0].In.Task.Revision)
	require.Equal(t, 1, done[0].Task.UrgeCount, "the urge of run 1 is still counted")
}
