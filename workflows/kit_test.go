package workflows_test

// The casework kit alone (humantask.go: NewTasks, Open, Wait, ContinueOnLongHistory, Carry),
// through a workflow that exists only in this test and the kittest harness: several tasks open
// at once, each on its own ladder, a case that continues as new with a task open, and typed
// refusals. No process's rules are in the way, so a failure here is the kit's.

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

const (
	kitWfID  = "kit-case-1"
	kitSign  = "kit_sign"  // the two task kinds of the test-only case
	kitCheck = "kit_check" //
)

// kitInput starts the test-only case: it opens a task of each kind at once and waits for all
// of them. The rest is what the case carries into its next run when it continues as new.
type kitInput struct {
	Kinds   []string
	Exclude []string // barred from every task (separation of duties)
	Bounded bool     // continue as new when Temporal suggests it
	Run     int
	Seq     int
	Carried []workflows.TaskState
	Done    map[string]string // task id → outcome, of tasks decided in earlier runs
}

type kitResult struct {
	Done map[string]string // task id → "outcome by username"
	Run  int
}

func kitSpec(kind string, exclude []string) activities.TaskSpec {
	return activities.TaskSpec{Kind: kind, Process: "kit", CaseID: kitWfID, Title: "kit " + kind, CandidateRole: casework.RoleSchoolLeader,
		UnitCode: schoolCode, Outcomes: []string{casework.OutcomeApprove, casework.OutcomeReject}, Exclude: exclude}
}

// kitCase is the test-only workflow: every task is waited for in a goroutine of its own, so that
// every open task's ladder runs at once (a task's ladder runs while someone Waits on it).
func kitCase(ctx workflow.Context, in kitInput) (kitResult, error) {
	tasks, err := workflows.NewTasks(ctx, in.Seq, in.Carried...)
	if err != nil {
		return kitResult{}, err
	}
	if in.Bounded {
		tasks.ContinueOnLongHistory(0)
	}
	res := kitResult{Done: map[string]string{}, Run: in.Run}
	for id, o := range in.Done {
		res.Done[id] = o
	}
	var ids []string
	for _, c := range in.Carried {
		ids = append(ids, c.ID)
	}
	if len(in.Carried) == 0 {
		for _, kind := range in.Kinds {
			id, err := tasks.Open(ctx, kitSpec(kind, in.Exclude))
			if err != nil {
				return res, err
			}
			ids = append(ids, id)
		}
	}
	var failed error
	carry := false
	wg := workflow.NewWaitGroup(ctx)
	for _, id := range ids {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			r, err := tasks.Wait(ctx, id)
			switch {
			case errors.Is(err, workflows.ErrContinueAsNew):
				carry = true
			case err != nil:
				failed = err
			default:
				res.Done[id] = r.Outcome + " by " + r.By.Username
			}
		})
	}
	wg.Wait(ctx)
	if failed != nil {
		return res, failed
	}
	if carry {
		next := in
		next.Run, next.Seq, next.Carried, next.Done = in.Run+1, tasks.Seq(), tasks.Carry(), res.Done
		return res, workflow.NewContinueAsNewError(ctx, kitCase, next)
	}
	return res, tasks.Finish(ctx)
}

// newKitEnv is a test environment at t0 under the kit case's id, with the harness on it: due an
// hour after opening, then a reminder, the superior and the supervision office an hour apart.
func newKitEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *kittest.Harness) {
	env := newTestEnv()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: kitWfID, TaskQueue: workflows.TaskQueue})
	h := kittest.New(env)
	h.Due = time.Hour
	h.Units = map[string]string{schoolCode: schoolPath}
	h.SetLadder(casework.DefaultLadderKind,
		kittest.Rung{After: time.Hour, Target: casework.TargetRemind},
		kittest.Rung{After: 2 * time.Hour, Target: casework.TargetSuperior},
		kittest.Rung{After: 3 * time.Hour, Target: casework.TargetSupervision})
	return env, h
}

func kitRun(t *testing.T, env *testsuite.TestWorkflowEnvironment, in kitInput) kitResult {
	t.Helper()
	env.ExecuteWorkflow(kitCase, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res kitResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// TestKitTwoTasksAtOnce: the case opens a sign-off and a check together and waits for both.
// leader1 signs off at 30 minutes, before it is due; nobody takes up the check, so its ladder
// climbs rung by rung (due at 1h: 2h, 3h, 4h), and leader2 completes it at 5h.
func TestKitTwoTasksAtOnce(t *testing.T) {
	env, h := newKitEnv(t)
	var sign, check *kittest.Action
	h.WhenOpen(kitSign, 30*time.Minute, func(id string) { sign = h.Complete(t, id, casework.OutcomeApprove, leader1) })
	h.At(5*time.Hour, func() { check = h.Complete(t, h.OpenID(t, kitCheck), casework.OutcomeReject, leader2) })

	res := kitRun(t, env, kitInput{Kinds: []string{kitSign, kitCheck}})

	require.Equal(t, workflows.TaskActionResult{TaskID: kitWfID + "-t1", State: casework.TaskDone, Outcome: casework.OutcomeApprove},
		sign.RequireDone(t))
	check.RequireDone(t)
	signID, checkID := h.TaskIDs(kitSign)[0], h.TaskIDs(kitCheck)[0]
	require.Equal(t, map[string]string{signID: "approve by leader1", checkID: "reject by leader2"}, res.Done)

	h.RequireRungs(t, signID) // decided before it was due
	h.RequireRungs(t, checkID, 1, 2, 3)
	for rung, target := range map[int]string{1: casework.TargetRemind, 2: casework.TargetSuperior, 3: casework.TargetSupervision} {
		e := h.RequireEscalatedAt(t, checkID, rung)
		require.Equal(t, target, e.Rung.Target)
		require.True(t, t0.Add(time.Duration(rung+1)*time.Hour).Equal(e.At), "rung %d fired at %v", rung, e.At)
	}
	done := h.RequireState(t, checkID, casework.TaskDone)
	require.Equal(t, 3, done.EscalationLevel)
	require.Equal(t, leader2.UserID, done.CompletedBy)
	require.Equal(t, casework.OutcomeApprove, h.RequireState(t, signID, casework.TaskDone).Outcome)
}

// TestKitContinuesAsNewWithATaskOpen: the sign-off is decided in run 1; the check is still open
// when Temporal suggests continuing as new (after its first rung), so it is carried into run 2,
// whose ladder goes on from rung 2 (nothing fires twice), and leader2 completes it there.
func TestKitContinuesAsNewWithATaskOpen(t *testing.T) {
	env, h := newKitEnv(t)
	var sign *kittest.Action
	h.WhenOpen(kitSign, 30*time.Minute, func(id string) { sign = h.Complete(t, id, casework.OutcomeApprove, leader1) })
	h.At(2*time.Hour+30*time.Minute, func() { env.SetContinueAsNewSuggested(true) })

	env.ExecuteWorkflow(kitCase, kitInput{Kinds: []string{kitSign, kitCheck}, Bounded: true})
	var next kitInput
	kittest.ContinuedAs(t, env, &next)
	sign.RequireDone(t)
	signID, checkID := h.TaskIDs(kitSign)[0], h.TaskIDs(kitCheck)[0]
	require.Len(t, next.Carried, 1)
	require.Equal(t, checkID, next.Carried[0].ID)
	require.Equal(t, 1, next.Carried[0].Level, "rung 1 fired in run 1")
	require.Equal(t, map[string]string{signID: "approve by leader1"}, next.Done)
	h.RequireRungs(t, checkID, 1)

	// Run 2 starts at 2h30, where run 1 stopped.
	env2 := newTestEnv()
	h2 := h.NextRun(env2)
	var check *kittest.Action
	h2.At(time.Hour, func() { check = h2.Complete(t, checkID, casework.OutcomeApprove, leader2) })
	res := kitRun(t, env2, next)

	check.RequireDone(t)
	require.Equal(t, 1, res.Run)
	require.Equal(t, map[string]string{signID: "approve by leader1", checkID: "approve by leader2"}, res.Done)
	require.Equal(t, []string{signID, checkID}, h2.TaskIDs(""), "run 2 opens no task: it waits for the carried one")
	h2.RequireRungs(t, checkID, 1, 2)
	require.True(t, t0.Add(3*time.Hour).Equal(h2.RequireEscalatedAt(t, checkID, 2).At), "rung 2 fires in run 2 at its instant")
	row := h2.RequireState(t, checkID, casework.TaskDone)
	require.Greater(t, row.Revision, h2.RequireEscalatedAt(t, checkID, 2).Task.Revision, "revisions go on from run 1")
	for _, w := range h2.Task(t, checkID).Writes[1:] {
		require.Greater(t, w.Revision, 1, "every write after the opening is numbered after it")
	}
}

// TestKitRefusalsCarryCodes: the kit refuses the wrong person, an outcome the task does not take,
// a person barred from the case, an unknown action, and a second completion (while the case still
// waits for its check), each with its stable code; none of them reaches the store.
func TestKitRefusalsCarryCodes(t *testing.T) {
	env, h := newKitEnv(t)
	var wrongSchool, staff, wrongOutcome, barred, unknown, approve, again *kittest.Action
	h.WhenOpen(kitSign, time.Minute, func(id string) {
		wrongSchool = h.Complete(t, id, casework.OutcomeApprove, otherLeader)
		staff = h.Complete(t, id, casework.OutcomeApprove, staff2)
		wrongOutcome = h.Complete(t, id, casework.OutcomeUphold, leader1)
		barred = h.Complete(t, id, casework.OutcomeApprove, leader2)
		unknown = h.Act(t, workflows.TaskAction{TaskID: id, Action: "approve", Actor: leader1})
	})
	h.WhenOpen(kitSign, time.Hour/2, func(id string) { approve = h.Complete(t, id, casework.OutcomeApprove, leader1) })
	h.At(45*time.Minute, func() { again = h.Complete(t, kitWfID+"-t1", casework.OutcomeReject, leader1) })
	h.WhenOpen(kitCheck, time.Hour, func(id string) { h.Complete(t, id, casework.OutcomeApprove, leader1) })

	kitRun(t, env, kitInput{Kinds: []string{kitSign, kitCheck}, Exclude: []string{leader2.UserID}})

	wrongSchool.RequireRefused(t, workflows.CodeNotCandidate)
	staff.RequireRefused(t, workflows.CodeNotCandidate)
	require.Equal(t, "outcome", wrongOutcome.RequireRefused(t, workflows.CodeOutcomeNotAllowed).Field)
	barred.RequireRefused(t, workflows.CodeSeparationOfDuties)
	require.Equal(t, "action", unknown.RequireRefused(t, workflows.CodeInvalid).Field)
	approve.RequireDone(t)
	again.RequireRefused(t, workflows.CodeTaskNotOpen)
	require.Len(t, h.Changes(""), 2, "only the accepted completions were written")
	require.Equal(t, leader1.UserID, h.RequireState(t, kitWfID+"-t1", casework.TaskDone).CompletedBy)
}

// TestKitRungDueAtTheDecisionIsOnRecord: leader1 completes the check at the very instant its
// reminder falls due (1h after its due time), and the case ends with it. The reminder is on
// record and the rungs after the decision never fire: the case does not end while the rung is
// being written (Tasks.Finish; before it, the run ended with the escalation in flight and the
// reminder was lost). The test environment takes the timer first at one instant; the other
// order (the decision first, the ladder's goroutine waking to a decided task) records the rung
// too, with the task as decided (humantask.go escalate, tasks-late-rung-on-record).
func TestKitRungDueAtTheDecisionIsOnRecord(t *testing.T) {
	for range 5 {
		env, h := newKitEnv(t)
		var check *kittest.Action
		// Registered before the workflow starts, the decision comes before the reminder's timer at
		// the same instant: the ladder's goroutine then wakes to a decided task.
		h.At(2*time.Hour, func() { check = h.Complete(t, kitWfID+"-t1", casework.OutcomeApprove, leader1) })
		kitRun(t, env, kitInput{Kinds: []string{kitCheck}})
		check.RequireDone(t)
		id := h.TaskIDs(kitCheck)[0]
		h.RequireRungs(t, id, 1)
		row := h.RequireState(t, id, casework.TaskDone)
		require.Equal(t, leader1.UserID, row.CompletedBy)
	}
}
