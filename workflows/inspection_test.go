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
	findingID  = "finding-0001"
	ddbCode    = "JS-DDB"
	ddbPath    = "/JS/JS-DDB/"
	findingDue = 48 * time.Hour // the finding's rectification deadline, from t0
)

var (
	inspector1 = person("inspector1", access.Role{Role: casework.RoleInspector, UnitCode: ddbCode, UnitKind: "section", UnitPath: ddbPath})
	inspector2 = person("inspector2", access.Role{Role: casework.RoleInspector, UnitCode: ddbCode, UnitKind: "section", UnitPath: ddbPath})
)

// findingFakes are the inspection process's own activities, recorded.
type findingFakes struct {
	mu    sync.Mutex
	steps []activities.FindingStep
}

func (f *findingFakes) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.steps {
		out = append(out, s.Audit.Action)
	}
	return out
}

func newFindingEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *kittest.Harness, *findingFakes) {
	env := newTestEnv()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: findingID, TaskQueue: workflows.TaskQueue})
	h := kittest.New(env)
	h.Units = map[string]string{schoolCode: schoolPath, ddbCode: ddbPath}
	h.SetLadder(casework.DefaultLadderKind, kittest.Rung{After: 0, Target: casework.TargetRemind})
	fakes := &findingFakes{}
	var acts *activities.Activities
	env.OnActivity(acts.OpenFinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenFindingInput) (activities.FindingRecord, error) {
			f := in.Finding
			f.UnitID, f.UnitPath, f.State, f.ResponsibleID = "unit-"+f.UnitCode, schoolPath, casework.FindingRectifying, "u-edu1"
			f.UnitName = "业州镇第一小学"
			return f, nil
		})
	env.OnActivity(acts.SetFinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FindingStep) error {
			fakes.mu.Lock()
			defer fakes.mu.Unlock()
			fakes.steps = append(fakes.steps, in)
			return nil
		})
	env.OnActivity(acts.RectificationDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RectificationDueInput) (time.Time, error) {
			return in.Period.Due(calendar.Default(), in.From), nil
		})
	return env, h, fakes
}

func findingInput(t *testing.T) workflows.FindingInput {
	spec := func(s string) calendar.Spec {
		v, err := calendar.ParseSpec(s)
		require.NoError(t, err)
		return v
	}
	return workflows.FindingInput{
		Finding: activities.FindingRecord{ID: findingID, RoundID: "round-0001", UnitCode: schoolCode, Area: "student_aid", Severity: "major",
			Description: "资助档案不全", RectifyBy: t0.Add(findingDue), CreatedBy: inspector1.UserID},
		RaisedBy: inspector1, RaisedRole: casework.RoleInspector, ReviewerRole: casework.RoleInspector, ReviewerUnit: ddbCode,
		RedoDue: spec("15d"), ReviewDue: spec("2h")}
}

func evidence(summary, note string) map[string]string {
	return map[string]string{workflows.FieldSummary: summary, workflows.FieldEvidenceNote: note}
}

func submit(h *kittest.Harness, t *testing.T, id string, by access.Actor, fields map[string]string) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeSubmitted, Fields: fields, Actor: by})
}

func runFinding(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.FindingInput) workflows.FindingResult {
	env.ExecuteWorkflow(workflows.FindingCase, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.FindingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// TestFindingRectifiedAndAccepted: the school leader submits evidence before the deadline (a
// submission without an evidence note is refused naming it); the submitter cannot review; an
// inspector accepts, and the finding is closed (销号) with no escalation at all.
func TestFindingRectifiedAndAccepted(t *testing.T) {
	env, h, fakes := newFindingEnv(t)
	var missing, done, wrongRole, accept *kittest.Action
	h.WhenOpen(casework.KindRectification, time.Hour, func(id string) {
		missing = submit(h, t, id, leader1, evidence("已补齐档案", ""))
		done = submit(h, t, id, leader1, evidence("已补齐档案", "档案目录及照片"))
	})
	h.WhenOpen(casework.KindRectificationReview, 30*time.Minute, func(id string) {
		wrongRole = h.Complete(t, id, casework.OutcomeAccept, leader1)
		accept = h.Complete(t, id, casework.OutcomeAccept, inspector2)
	})
	res := runFinding(t, env, findingInput(t))

	missing.RequireRefused(t, workflows.CodeInvalid)
	done.RequireDone(t)
	wrongRole.RequireRefused(t, workflows.CodeSeparationOfDuties)
	accept.RequireDone(t)
	require.Equal(t, workflows.FindingResult{FindingID: findingID, State: casework.FindingClosed, Attempts: 1}, res)
	require.Equal(t, []string{"inspection.rectification_submitted", "inspection.finding_closed"}, fakes.actions())
	require.Equal(t, "档案目录及照片", fakes.steps[0].Finding.EvidenceNote)
	require.NotNil(t, fakes.steps[1].Finding.ClosedAt)
	rect := h.Task(t, h.TaskIDs(casework.KindRectification)[0])
	require.Equal(t, casework.RoleSchoolLeader, rect.Row.CandidateRole)
	require.Equal(t, "整改：业州镇第一小学 资助档案不全", rect.Row.Title, "titles name the unit for people, not by its code")
	require.True(t, t0.Add(findingDue).Equal(rect.Row.DueAt), "the task is due at the finding's deadline: %v", rect.Row.DueAt)
	require.Empty(t, h.Raised(), "met in time: the deadline never climbed")
	review := h.Task(t, h.TaskIDs(casework.KindRectificationReview)[0])
	require.Equal(t, []string{leader1.UserID}, review.Spec.Exclude, "the unit that rectified never reviews itself")
	require.Equal(t, ddbCode, review.Spec.UnitCode)
}

// TestFindingRejectedAndRedone: the inspector's rejection needs a reason; the unit gets a new
// rectification task with a new deadline (JIAOFU_RECTIFICATION_REDO_DUE from the rejection),
// redoes it, and the second review accepts.
func TestFindingRejectedAndRedone(t *testing.T) {
	env, h, fakes := newFindingEnv(t)
	var noReason, reject, redo, accept *kittest.Action
	reviews := 0
	h.WhenOpen(casework.KindRectification, time.Hour, func(id string) {
		redo = submit(h, t, id, leader1, evidence("已整改", "照片"))
	})
	h.WhenOpen(casework.KindRectificationReview, time.Hour, func(id string) {
		reviews++
		if reviews == 1 {
			noReason = h.Complete(t, id, casework.OutcomeReject, inspector1)
			reject = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeReject,
				Comment: "照片不能说明问题已整改", Actor: inspector1})
			return
		}
		accept = h.Complete(t, id, casework.OutcomeAccept, inspector1)
	})
	res := runFinding(t, env, findingInput(t))
	accept.RequireDone(t)

	noReason.RequireRefused(t, workflows.CodeInvalid)
	reject.RequireDone(t)
	redo.RequireDone(t)
	require.Equal(t, 2, res.Attempts)
	require.Equal(t, casework.FindingClosed, res.State)
	require.Equal(t, []string{"inspection.rectification_submitted", "inspection.rectification_rejected",
		"inspection.rectification_submitted", "inspection.finding_closed"}, fakes.actions())
	rejectedAt := t0.Add(2 * time.Hour) // submitted at 1h, rejected an hour after the review opened
	newDue := rejectedAt.Add(15 * 24 * time.Hour)
	require.True(t, newDue.Equal(fakes.steps[1].Finding.RectifyBy), "new deadline %v", fakes.steps[1].Finding.RectifyBy)
	require.Equal(t, "照片不能说明问题已整改", fakes.steps[1].Finding.ReviewNote)
	ids := h.TaskIDs(casework.KindRectification)
	require.Len(t, ids, 2)
	require.True(t, newDue.Equal(h.Task(t, ids[1]).Row.DueAt), "the redo is due at the new deadline")
	require.Empty(t, h.Raised())
}

// TestFindingIgnoredClimbsToSupervision: nobody rectifies; the deadline reminds the unit when it
// passes, reaches its superior a working day later and the supervision office two working days
// later, by itself; the rectification task climbs no ladder of its own beside it. A submission
// long after closes the reminder and the superior's escalation; the supervision office's stays.
func TestFindingIgnoredClimbsToSupervision(t *testing.T) {
	env, h, _ := newFindingEnv(t)
	var late, accept *kittest.Action
	h.At(10*24*time.Hour, func() {
		late = submit(h, t, h.OpenID(t, casework.KindRectification), leader1, evidence("迟到的整改", "照片"))
	})
	h.WhenOpen(casework.KindRectificationReview, time.Hour, func(id string) { accept = h.Complete(t, id, casework.OutcomeAccept, inspector1) })
	res := runFinding(t, env, findingInput(t))
	late.RequireDone(t)
	accept.RequireDone(t)
	require.Equal(t, casework.FindingClosed, res.State)

	due := t0.Add(findingDue) // Thursday 09:00 in Beijing
	cal := calendar.Default()
	raised := h.Raised()
	require.Len(t, raised, 3)
	for i, want := range []struct {
		target string
		at     time.Time
	}{
		{casework.TargetRemind, due.Add(time.Second)},
		{casework.TargetSuperior, cal.AddWorkdays(due, 1)},
		{casework.TargetSupervision, cal.AddWorkdays(due, 2)},
	} {
		r := raised[i]
		require.Equal(t, want.target, r.Target, "rung %d", i+1)
		require.True(t, want.at.Equal(r.At), "rung %d at %v, want %v", i+1, r.At, want.at)
		require.Equal(t, casework.DeadlineRectificationDue, r.Kind)
		require.Equal(t, findingID, r.CaseID)
		require.Equal(t, schoolCode, r.UnitCode)
		require.Contains(t, r.Reason, "逾期未整改")
	}
	require.Equal(t, []string{findingID + "-rectify-by-r1", findingID + "-rectify-by-r2"}, h.Closed(),
		"the late submission closes the reminder and the superior's; the supervision office decides on its own")
	h.RequireRungs(t, h.TaskIDs(casework.KindRectification)[0]) // no task ladder beside the deadline's
}
