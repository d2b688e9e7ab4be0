package workflows_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// termResult is what the whole term's driver saw end.
type termResult struct {
	Rounds   []string
	Findings map[string]workflows.FindingResult
	Handling workflows.HandlingResult
}

// Signal by which the test plays the supervision office's decision on the ignored finding's
// accountability record: the API starts the decision's organisational handling so.
const decidedSignal = "decided"

// TestInspectionAcrossATerm drives process 5 through the autumn term 2026-2027-1 on the workflow
// clock (time skipping). The routine rounds start as the schedule's action does, at each instant
// the default spec fires (8 September, 7 November); the first round records three findings, each
// its own case: one rectified and accepted, one rejected (with a reason) and redone, and one the
// unit ignores, whose deadline climbs by itself to the supervision office (where its escalation
// opens an accountability record). The office decides on it with organisational handling, whose
// case is carried out within its month; the ignored finding, rectified at last, is closed, and
// its supervision escalation stays for the office while the reminder and the superior's close.
func TestInspectionAcrossATerm(t *testing.T) {
	env, h, fakes := newFindingEnv(t)
	env.SetTestTimeout(time.Minute)
	start := time.Date(2026, 8, 31, 16, 0, 0, 0, time.UTC) // 1 September, 00:00 in Beijing
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "term-2026-2027-1", TaskQueue: workflows.TaskQueue})
	h.Units[jcsCode] = jcsPath
	var (
		mu      sync.Mutex
		opened  []activities.RoutineRoundInput
		handled []activities.HandlingDoneInput
	)
	var acts *activities.Activities
	env.OnActivity(acts.OpenRoutineRound, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RoutineRoundInput) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, in)
		return in.ID, nil
	})
	env.OnActivity(acts.HandlingDone, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.HandlingDoneInput) error {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, in)
		return nil
	})

	const accepted, redone, ignored = "finding-accepted", "finding-redone", "finding-ignored"
	rounds := firings(workflows.RoutineRoundSpec(2, 0), start, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
	require.Len(t, rounds, 2)
	rectifyBy := rounds[0].AddDate(0, 0, 30) // JIAOFU_RECTIFICATION_DUE's default from the visit
	driver := func(ctx workflow.Context) (termResult, error) {
		res := termResult{Findings: map[string]workflows.FindingResult{}}
		futures := map[string]workflow.ChildWorkflowFuture{}
		// The office's decision may come at any time of the term: its handling starts as it does.
		var handled bool
		var handlingErr error
		workflow.Go(ctx, func(ctx workflow.Context) {
			var decided workflows.HandlingInput
			workflow.GetSignalChannel(ctx, decidedSignal).Receive(ctx, &decided)
			hctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflows.HandlingWorkflowID(decided.RecordID)})
			handlingErr = workflow.ExecuteChildWorkflow(hctx, workflows.OrganisationalHandling, decided).Get(ctx, &res.Handling)
			handled = true
		})
		for i, at := range rounds {
			if err := workflow.Sleep(ctx, at.Sub(workflow.Now(ctx))); err != nil {
				return res, err
			}
			var id string
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflows.RoutineRoundScheduleID + "-" + at.Format(time.RFC3339)})
			if err := workflow.ExecuteChildWorkflow(cctx, workflows.RoutineRound, workflows.RoutineRoundStart{InspectorateUnit: ddbCode}).Get(ctx, &id); err != nil {
				return res, err
			}
			res.Rounds = append(res.Rounds, id)
			if i > 0 {
				continue
			}
			for _, f := range []string{accepted, redone, ignored} {
				in := findingInput(t)
				in.Finding.ID, in.Finding.RoundID, in.Finding.RectifyBy = f, id, rectifyBy
				in.Finding.Description = map[string]string{accepted: "资助档案不全", redone: "控辍保学台账未更新", ignored: "薄弱学校改造项目未开工"}[f]
				in.ReviewDue = mustSpecW(t, "5wd")
				fctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: f})
				futures[f] = workflow.ExecuteChildWorkflow(fctx, workflows.FindingCase, in)
			}
		}
		if err := workflow.Await(ctx, func() bool { return handled }); err != nil || handlingErr != nil {
			return res, errors.Join(err, handlingErr)
		}
		for _, f := range []string{accepted, redone, ignored} {
			var r workflows.FindingResult
			if err := futures[f].Get(ctx, &r); err != nil {
				return res, err
			}
			res.Findings[f] = r
		}
		return res, nil
	}
	env.RegisterWorkflow(driver)
	env.RegisterWorkflow(workflows.RoutineRound)
	env.RegisterWorkflow(workflows.FindingCase)
	env.RegisterWorkflow(workflows.OrganisationalHandling)

	var actions []*kittest.Action
	act := func(id, outcome, comment string, fields map[string]string, by string) {
		task := h.Task(t, id)
		a := workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: outcome, Comment: comment, Fields: fields}
		switch by {
		case "leader":
			a.Actor = leader1
		case "inspector":
			a.Actor = inspector2
		case "supervisor":
			a.Actor = supervisor1
		}
		actions = append(actions, h.ActIn(t, task.Row.WorkflowID, a))
	}
	// The units: one rectifies within days, one twice, one not at all until long after.
	h.WhenOpen(casework.KindRectification, 5*24*time.Hour, func(id string) {
		if h.Task(t, id).Row.CaseID != ignored {
			act(id, casework.OutcomeSubmitted, "", evidence("已整改", "照片及台账"), "leader")
		}
	})
	reviews := 0
	h.WhenOpen(casework.KindRectificationReview, 24*time.Hour, func(id string) {
		if h.Task(t, id).Row.CaseID == redone && reviews == 0 {
			reviews++
			act(id, casework.OutcomeReject, "台账仍缺十月数据", nil, "inspector")
			return
		}
		act(id, casework.OutcomeAccept, "", nil, "inspector")
	})
	// The supervision office decides on the ignored finding's record (opened by its supervision
	// escalation) a week after it arrives, with organisational handling; it is carried out in time.
	var supervisionEsc activities.RaiseInput
	decideAt := rectifyBy.AddDate(0, 0, 14)
	h.At(decideAt.Sub(start), func() {
		i := slices.IndexFunc(h.Raised(), func(r activities.RaiseInput) bool {
			return r.CaseID == ignored && r.Target == casework.TargetSupervision
		})
		require.GreaterOrEqual(t, i, 0, "the ignored finding reached the supervision office by itself: %+v", h.Raised())
		supervisionEsc = h.Raised()[i]
		env.SignalWorkflow(decidedSignal, workflows.HandlingInput{RecordID: "acc-" + supervisionEsc.ID, EscalationID: supervisionEsc.ID,
			Process: casework.ProcessInspection, CaseID: ignored, Title: "督查整改：薄弱学校改造项目未开工", UnitCode: jcsCode,
			DueAt: decideAt.AddDate(0, 0, 30)})
	})
	h.WhenOpen(casework.KindOrganisationalHandling, 20*24*time.Hour, func(id string) {
		act(id, casework.OutcomeCarriedOut, "已免去校长职务", nil, "supervisor")
	})
	// At last, long after the office has it, the unit rectifies; the inspectorate accepts.
	h.At(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC).Sub(start), func() {
		for _, id := range h.TaskIDs(casework.KindRectification) {
			if row := h.Task(t, id).Row; row.CaseID == ignored && row.State == casework.TaskOpen {
				act(id, casework.OutcomeSubmitted, "", evidence("项目已开工", "开工报告"), "leader")
			}
		}
	})

	env.ExecuteWorkflow(driver)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res termResult
	require.NoError(t, env.GetWorkflowResult(&res))
	for _, a := range actions {
		a.RequireDone(t)
	}

	// The schedule's rounds, of the term, planned on their days.
	require.Equal(t, []string{"round-routine-20260908-080000", "round-routine-20261107-080000"}, res.Rounds)
	for _, o := range opened {
		require.Equal(t, "2026-2027-1", o.Term)
		require.Equal(t, ddbCode, o.InspectorateUnit)
	}
	// The findings: closed after one, two and one rectification.
	require.Equal(t, workflows.FindingResult{FindingID: accepted, State: casework.FindingClosed, Attempts: 1}, res.Findings[accepted])
	require.Equal(t, workflows.FindingResult{FindingID: redone, State: casework.FindingClosed, Attempts: 2}, res.Findings[redone])
	require.Equal(t, workflows.FindingResult{FindingID: ignored, State: casework.FindingClosed, Attempts: 1}, res.Findings[ignored])
	steps := map[string][]string{}
	for _, s := range fakes.steps {
		steps[s.Finding.ID] = append(steps[s.Finding.ID], s.Audit.Action)
	}
	require.Equal(t, []string{"inspection.rectification_submitted", "inspection.rectification_rejected", "inspection.rectification_submitted",
		"inspection.finding_closed"}, steps[redone])
	require.Equal(t, []string{"inspection.rectification_submitted", "inspection.finding_closed"}, steps[accepted])

	// Only the ignored finding climbed: reminder, superior, supervision office, by itself.
	var targets []string
	for _, r := range h.Raised() {
		require.Equal(t, ignored, r.CaseID, "only the ignored finding escalates: %+v", r)
		targets = append(targets, r.Target)
	}
	require.Equal(t, []string{casework.TargetRemind, casework.TargetSuperior, casework.TargetSupervision}, targets)
	require.True(t, calendar.Default().AddWorkdays(rectifyBy, 2).Equal(supervisionEsc.At), "the supervision office at %v", supervisionEsc.At)
	require.Equal(t, []string{ignored + "-rectify-by-r1", ignored + "-rectify-by-r2"}, h.Closed(),
		"the late rectification closes the reminder and the superior's; the supervision office's stays with its record")

	// The decision's organisational handling, carried out within its month, on the record.
	require.False(t, res.Handling.Late)
	require.Len(t, handled, 1)
	require.Equal(t, "acc-"+supervisionEsc.ID, handled[0].RecordID)
	require.Equal(t, "已免去校长职务", handled[0].Note)
	require.Equal(t, ignored, handled[0].CaseID)
}

func mustSpecW(t *testing.T, s string) calendar.Spec {
	v, err := calendar.ParseSpec(s)
	require.NoError(t, err)
	return v
}
