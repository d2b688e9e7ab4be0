package workflows_test

// The kit's case deadlines, WaitAny and Settle, through a workflow that exists only in this test:
// a rectification-like case with two tasks and a deadline of its own, whose ladder fires while
// the deadline is unmet, is cleared when the case meets it, and crosses continue-as-new.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

const kitDeadlineKind = "kit_fix_due" // a deadline kind of the test-only case

type deadlineInput struct {
	FixBy    time.Duration // the deadline, from the start
	Settle   bool          // the case settles the check itself once the sign-off is decided
	CarryAt  time.Duration // continue as new this long after the start (0: never), with the deadline uncleared
	Carried  []workflows.DeadlineState
	Seq      int
	Continue bool // this run was continued into
}

type deadlineResult struct {
	First   string // the task WaitAny returned first
	Stepped []int  // the rungs the process's own step saw
}

// deadlineCase opens a sign-off and a check, sets its fix-by deadline, and waits for whichever
// task is decided first; then either settles the check itself or waits for it, and clears the
// deadline (the case met it).
func deadlineCase(ctx workflow.Context, in deadlineInput) (deadlineResult, error) {
	tasks, err := workflows.NewTasks(ctx, in.Seq)
	if err != nil {
		return deadlineResult{}, err
	}
	var res deadlineResult
	stepFn := func(_ workflow.Context, d *workflows.DeadlineState, r activities.RungAt) (string, error) {
		res.Stepped = append(res.Stepped, r.Rung)
		return "整改逾期：" + d.Spec.Name, nil
	}
	if in.Continue {
		for _, d := range in.Carried {
			tasks.ResumeDeadline(d, stepFn)
		}
		if err := workflow.Sleep(ctx, 3*time.Hour); err != nil {
			return res, err
		}
		return res, tasks.ClearDeadlines(ctx, "已整改", "fix-by")
	}
	start := workflow.Now(ctx)
	if err := tasks.SetDeadline(ctx, workflows.DeadlineSpec{Name: "fix-by", Kind: kitDeadlineKind, Process: "kit", CaseID: kitWfID,
		UnitCode: schoolCode, At: start.Add(in.FixBy)}, stepFn); err != nil {
		return res, err
	}
	if in.CarryAt > 0 {
		if err := workflow.Sleep(ctx, in.CarryAt); err != nil {
			return res, err
		}
		if err := tasks.Quiesce(ctx); err != nil {
			return res, err
		}
		return res, workflow.NewContinueAsNewError(ctx, deadlineCase, deadlineInput{Continue: true, Carried: tasks.CarryDeadlines(), Seq: tasks.Seq()})
	}
	sign, err := tasks.Open(ctx, kitSpec(kitSign, nil))
	if err != nil {
		return res, err
	}
	check, err := tasks.Open(ctx, kitSpec(kitCheck, nil))
	if err != nil {
		return res, err
	}
	first, _, err := tasks.WaitAny(ctx, sign, check)
	if err != nil {
		return res, err
	}
	res.First = first
	other := check
	if first == check {
		other = sign
	}
	if in.Settle {
		if err := tasks.Settle(ctx, other, "", access.System, "", "已由案件办结"); err != nil {
			return res, err
		}
	}
	if _, err := tasks.Wait(ctx, other); err != nil {
		return res, err
	}
	if err := tasks.FireDue(ctx); err != nil { // a decision right at the deadline is escalated first
		return res, err
	}
	if err := tasks.ClearDeadlines(ctx, "已整改", "fix-by"); err != nil {
		return res, err
	}
	return res, workflows.Drain(ctx)
}

// TestKitDeadlineFiresUntilCleared: the fix-by deadline (2h) climbs its ladder (the superior at
// the deadline, the supervision office an hour later) while the check waits; the check is done
// at 2h30, between the rungs, so the supervision rung never fires, and clearing the deadline
// closes the superior's escalation. WaitAny returned the sign-off, decided first.
func TestKitDeadlineFiresUntilCleared(t *testing.T) {
	env, h := newKitEnv(t)
	env.RegisterWorkflow(deadlineCase)
	h.SetLadder(casework.DefaultLadderKind) // tasks without a ladder: only the deadline escalates
	h.SetDeadlineLadder(kitDeadlineKind, kittest.Rung{After: 0, Target: casework.TargetSuperior},
		kittest.Rung{After: time.Hour, Target: casework.TargetSupervision})
	var sign, check *kittest.Action
	h.WhenOpen(kitSign, 10*time.Minute, func(id string) { sign = h.Complete(t, id, casework.OutcomeApprove, leader1) })
	h.At(150*time.Minute, func() { check = h.Complete(t, h.OpenID(t, kitCheck), casework.OutcomeApprove, leader1) })

	env.ExecuteWorkflow(deadlineCase, deadlineInput{FixBy: 2 * time.Hour})
	require.NoError(t, env.GetWorkflowError())
	var res deadlineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	sign.RequireDone(t)
	check.RequireDone(t)
	require.Equal(t, h.TaskIDs(kitSign)[0], res.First)
	require.Equal(t, []int{1}, res.Stepped, "the process's step ran for the rung that fired")
	require.Equal(t, []string{kitWfID + "-fix-by-r1"}, h.RaisedIDs())
	r := h.Raised()[0]
	require.Equal(t, casework.TargetSuperior, r.Target)
	require.Equal(t, kitDeadlineKind, r.Kind)
	require.Equal(t, "整改逾期：fix-by", r.Reason)
	require.True(t, t0.Add(2*time.Hour).Equal(r.At))
	require.Equal(t, []string{kitWfID + "-fix-by-r1"}, h.Closed())
}

// TestKitSettleAndCatchUp: the case settles the check itself once the sign-off is decided (one
// projection path: a cancelled row, no person's action), and a decision after the deadline
// passed but before its rung was on record is escalated first (FireDue), then cleared; the
// supervision office's escalation is never closed by the case.
func TestKitSettleAndCatchUp(t *testing.T) {
	env, h := newKitEnv(t)
	env.RegisterWorkflow(deadlineCase)
	h.SetLadder(casework.DefaultLadderKind)
	h.SetDeadlineLadder(kitDeadlineKind, kittest.Rung{After: 0, Target: casework.TargetSupervision})
	var sign *kittest.Action
	h.At(2*time.Hour, func() { sign = h.Complete(t, h.OpenID(t, kitSign), casework.OutcomeApprove, leader1) })

	env.ExecuteWorkflow(deadlineCase, deadlineInput{FixBy: 2 * time.Hour, Settle: true})
	require.NoError(t, env.GetWorkflowError())
	sign.RequireDone(t)
	checkID := h.TaskIDs(kitCheck)[0]
	row := h.RequireState(t, checkID, casework.TaskCancelled)
	require.Equal(t, "", row.Outcome)
	require.Len(t, h.Changes("task.withdrawn"), 1, "settled through ApplyTaskChange, as a person's action is")
	require.Equal(t, []string{kitWfID + "-fix-by-r1"}, h.RaisedIDs(), "the deadline passed as the case decided: escalated once")
	require.Empty(t, h.Closed(), "the supervision office decides on its own escalation")
}

// TestKitDeadlineCrossesContinueAsNew: the deadline's first rung fires in run 1; the run
// continues as new with the deadline uncleared, and run 2 fires the second rung at its instant
// (never the first again) before the case clears it.
func TestKitDeadlineCrossesContinueAsNew(t *testing.T) {
	env, h := newKitEnv(t)
	env.RegisterWorkflow(deadlineCase)
	h.SetDeadlineLadder(kitDeadlineKind, kittest.Rung{After: 0, Target: casework.TargetSuperior},
		kittest.Rung{After: 2 * time.Hour, Target: casework.TargetSupervision})
	env.ExecuteWorkflow(deadlineCase, deadlineInput{FixBy: time.Hour, CarryAt: 90 * time.Minute})
	var next deadlineInput
	kittest.ContinuedAs(t, env, &next)
	require.Len(t, next.Carried, 1)
	require.Equal(t, 1, next.Carried[0].Level)
	require.Equal(t, []string{kitWfID + "-fix-by-r1"}, next.Carried[0].Raised)
	require.Equal(t, []string{kitWfID + "-fix-by-r1"}, h.RaisedIDs())

	env2 := newTestEnv()
	h2 := h.NextRun(env2)
	env2.RegisterWorkflow(deadlineCase)
	env2.ExecuteWorkflow(deadlineCase, next)
	require.NoError(t, env2.GetWorkflowError())
	require.Equal(t, []string{kitWfID + "-fix-by-r1", kitWfID + "-fix-by-r2"}, h2.RaisedIDs())
	require.True(t, t0.Add(3*time.Hour).Equal(h2.Raised()[1].At), "rung 2 at its instant, in run 2")
	require.Equal(t, []string{kitWfID + "-fix-by-r1"}, h2.Closed(), "clearing closes the superior's, carried from run 1")
}
