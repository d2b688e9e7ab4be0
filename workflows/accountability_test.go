package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

const (
	jcsCode     = "JS-JCS"
	jcsPath     = "/JS/JS-JCS/"
	handlingDue = 30 * 24 * time.Hour // the handling's month, from t0
)

var (
	supervisor1 = person("jcs1", access.Role{Role: casework.RoleSupervision, UnitCode: jcsCode, UnitKind: "section", UnitPath: jcsPath})
	handlingIn  = workflows.HandlingInput{RecordID: "acc-dropout-1-window-r3", EscalationID: "dropout-1-window-r3", Process: casework.ProcessDropout,
		CaseID: "dropout-1", Title: "控辍保学：王二小（业州镇第一小学）", UnitCode: jcsCode, DueAt: t0.Add(handlingDue)}
)

// handlingFakes records the handling's own activity.
type handlingFakes struct {
	mu   sync.Mutex
	done []activities.HandlingDoneInput
}

func newHandlingEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *kittest.Harness, *handlingFakes) {
	env := newTestEnv()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.HandlingWorkflowID(handlingIn.RecordID), TaskQueue: workflows.TaskQueue})
	h := kittest.New(env)
	h.Units = map[string]string{jcsCode: jcsPath}
	fakes := &handlingFakes{}
	var acts *activities.Activities
	env.OnActivity(acts.HandlingDone, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.HandlingDoneInput) error {
		fakes.mu.Lock()
		defer fakes.mu.Unlock()
		fakes.done = append(fakes.done, in)
		return nil
	})
	return env, h, fakes
}

func runHandling(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.HandlingResult {
	env.ExecuteWorkflow(workflows.OrganisationalHandling, handlingIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.HandlingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// TestHandlingCarriedOutInItsMonth: the supervision office's task is due at the end of the
// handling's month and climbs no ladder of its own; recorded without a note it is refused, by
// someone outside the office too; with one, the record says so and nothing ever escalated.
func TestHandlingCarriedOutInItsMonth(t *testing.T) {
	env, h, fakes := newHandlingEnv(t)
	var noNote, wrongRole, done *kittest.Action
	h.WhenOpen(casework.KindOrganisationalHandling, 10*24*time.Hour, func(id string) {
		noNote = h.Complete(t, id, casework.OutcomeCarriedOut, supervisor1)
		wrongRole = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeCarriedOut,
			Comment: "已免去副校长职务", Actor: leader1})
		done = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeCarriedOut,
			Comment: "已免去副校长职务", Actor: supervisor1})
	})
	res := runHandling(t, env)

	noNote.RequireRefused(t, workflows.CodeInvalid)
	wrongRole.RequireRefused(t, workflows.CodeNotCandidate)
	done.RequireDone(t)
	require.False(t, res.Late)
	require.True(t, t0.Add(10*24*time.Hour).Equal(res.DoneAt), "done at %v", res.DoneAt)
	require.Len(t, fakes.done, 1)
	require.Equal(t, activities.HandlingDoneInput{RecordID: handlingIn.RecordID, Process: casework.ProcessDropout, CaseID: "dropout-1",
		Note: "已免去副校长职务", By: supervisor1, Role: casework.RoleSupervision, At: res.DoneAt}, fakes.done[0])
	task := h.Task(t, h.TaskIDs(casework.KindOrganisationalHandling)[0])
	require.Equal(t, casework.RoleSupervision, task.Row.CandidateRole)
	require.Equal(t, jcsCode, task.Spec.UnitCode)
	require.Equal(t, "dropout-1", task.Row.CaseID, "the task is on the case's timeline")
	require.True(t, handlingIn.DueAt.Equal(task.Row.DueAt), "due at the end of the month: %v", task.Row.DueAt)
	h.RequireRungs(t, task.Row.ID)
	require.Empty(t, h.Raised(), "carried out in time: the deadline never climbed")
}

// TestHandlingIgnoredReachesTheBureauLeader: nobody records the handling; as its month ends the
// supervision office is reminded, and a working day later the bureau leader is seized, by the
// kit's own deadline and escalation function. Recorded carried out long after, both close.
func TestHandlingIgnoredReachesTheBureauLeader(t *testing.T) {
	env, h, fakes := newHandlingEnv(t)
	var late *kittest.Action
	h.At(handlingDue+10*24*time.Hour, func() {
		late = h.Act(t, workflows.TaskAction{TaskID: h.OpenID(t, casework.KindOrganisationalHandling), Action: workflows.ActionComplete,
			Outcome: casework.OutcomeCarriedOut, Comment: "已调整岗位", Actor: supervisor1})
	})
	res := runHandling(t, env)
	late.RequireDone(t)
	require.True(t, res.Late)
	require.Len(t, fakes.done, 1)

	due := handlingIn.DueAt
	raised := h.Raised()
	require.Len(t, raised, 2)
	for i, want := range []struct {
		target string
		at     time.Time
	}{
		{casework.TargetRemind, due},
		{casework.TargetBureauLeader, calendar.Default().AddWorkdays(due, 1)},
	} {
		r := raised[i]
		require.Equal(t, want.target, r.Target, "rung %d", i+1)
		require.True(t, want.at.Equal(r.At), "rung %d at %v, want %v", i+1, r.At, want.at)
		require.Equal(t, casework.DeadlineOrganisationalHandling, r.Kind)
		require.Equal(t, casework.ProcessDropout, r.Process)
		require.Equal(t, "dropout-1", r.CaseID)
		require.Equal(t, jcsCode, r.UnitCode, "the supervision office's duty: found from its unit")
		require.Contains(t, r.Reason, "组织处理逾期未落实")
	}
	require.Equal(t, []string{"dropout-1-handling-window-r3-r1", "dropout-1-handling-window-r3-r2"}, h.RaisedIDs())
	require.Equal(t, h.RaisedIDs(), h.Closed(), "carried out: the reminder and the bureau leader's escalation close")
}
