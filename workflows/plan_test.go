package workflows_test

import (
	"context"
	"strings"
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
	planTaskID = "plantask-0001"
	zzzxCode   = "JS-ZZZX" // the lead section: 资助中心
	zzzxPath   = "/JS/JS-ZZZX/"
	jfzxCode   = "JS-JFZX" // the cooperating section: 经费中心
	jfzxPath   = "/JS/JS-JFZX/"
	fpbCode    = "JS-FPB" // the poverty-alleviation office that reviews
	fpbPath    = "/JS/JS-FPB/"
	planDue    = 72 * time.Hour // the task's 完成时限, from t0
)

var (
	zzzxStaff = person("zzzx1", access.Role{Role: casework.RoleSectionStaff, UnitCode: zzzxCode, UnitKind: "section", UnitPath: zzzxPath})
	jfzxStaff = person("jfzx1", access.Role{Role: casework.RoleSectionStaff, UnitCode: jfzxCode, UnitKind: "section", UnitPath: jfzxPath})
	paStaff   = person("pa1", access.Role{Role: casework.RolePAOffice, UnitCode: fpbCode, UnitKind: "section", UnitPath: fpbPath},
		access.Role{Role: casework.RoleSectionStaff, UnitCode: fpbCode, UnitKind: "section", UnitPath: fpbPath})
)

// planFakes are the plan process's own activities, recorded.
type planFakes struct {
	mu     sync.Mutex
	opened int
	steps  []activities.PlanTaskStep
}

func (f *planFakes) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.steps {
		out = append(out, s.Audit.Action)
	}
	return out
}

func newPlanEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *kittest.Harness, *planFakes) {
	env := newTestEnv()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: planTaskID, TaskQueue: workflows.TaskQueue})
	h := kittest.New(env)
	h.Units = map[string]string{zzzxCode: zzzxPath, jfzxCode: jfzxPath, fpbCode: fpbPath}
	h.SetLadder(casework.DefaultLadderKind, kittest.Rung{After: 0, Target: casework.TargetRemind})
	fakes := &planFakes{}
	var acts *activities.Activities
	env.OnActivity(acts.OpenPlanTask, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.OpenPlanTaskInput) error {
		fakes.mu.Lock()
		defer fakes.mu.Unlock()
		require.Equal(t, planTaskID, in.TaskID)
		fakes.opened++
		return nil
	})
	env.OnActivity(acts.SetPlanTask, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PlanTaskStep) error {
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

func planInput(t *testing.T) workflows.PlanTaskInput {
	spec := func(s string) calendar.Spec {
		v, err := calendar.ParseSpec(s)
		require.NoError(t, err)
		return v
	}
	return workflows.PlanTaskInput{
		Task: activities.PlanTaskRecord{ID: planTaskID, PlanID: "plan-0001", LeadUnit: zzzxCode, Cooperating: []string{jfzxCode},
			Title: "建档立卡学生最大限度资助", DueAt: t0.Add(planDue)},
		ReviewerUnit: fpbCode, ReviewDue: spec("2h"), RedoDue: spec("5d")}
}

func declare(h *kittest.Harness, t *testing.T, id string, by access.Actor, fields map[string]string) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeDone, Fields: fields, Actor: by})
}

func runPlanTask(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.PlanTaskInput) workflows.PlanTaskResult {
	env.ExecuteWorkflow(workflows.PlanTaskCase, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.PlanTaskResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// TestPlanTaskDoneAndAccepted: the lead section's staff declare the task done before its
// deadline (without evidence it is refused, naming evidence_note; the cooperating section cannot
// declare the lead's task); the cooperating section gives its contribution; the declarer cannot
// review; the PA office accepts and the task is closed out (销号) with no escalation.
func TestPlanTaskDoneAndAccepted(t *testing.T) {
	env, h, fakes := newPlanEnv(t)
	var otherSection, noEvidence, done, contributed, self, accept *kittest.Action
	h.WhenOpen(casework.KindPlanTaskContribution, time.Hour, func(id string) {
		contributed = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeContributed,
			Fields: map[string]string{workflows.FieldSummary: "经费已拨付到位"}, Actor: jfzxStaff})
	})
	h.WhenOpen(casework.KindPlanTask, 2*time.Hour, func(id string) {
		otherSection = declare(h, t, id, jfzxStaff, evidence("已全部资助", "资助名册"))
		noEvidence = declare(h, t, id, zzzxStaff, evidence("已全部资助", ""))
		done = declare(h, t, id, zzzxStaff, evidence("已全部资助", "资助名册及发放凭证"))
	})
	h.WhenOpen(casework.KindPlanTaskReview, 30*time.Minute, func(id string) {
		self = h.Complete(t, id, casework.OutcomeAccept, zzzxStaff)
		accept = h.Complete(t, id, casework.OutcomeAccept, paStaff)
	})
	res := runPlanTask(t, env, planInput(t))

	otherSection.RequireRefused(t, workflows.CodeNotCandidate)
	require.Equal(t, workflows.FieldEvidenceNote, noEvidence.RequireRefused(t, workflows.CodeInvalid).Field)
	done.RequireDone(t)
	contributed.RequireDone(t)
	self.RequireRefused(t, workflows.CodeSeparationOfDuties)
	accept.RequireDone(t)
	require.Equal(t, workflows.PlanTaskResult{TaskID: planTaskID, State: casework.PlanTaskClosed, Attempts: 1}, res)
	require.Equal(t, 1, fakes.opened)
	require.Equal(t, []string{"plan.task_declared", "plan.task_closed"}, fakes.actions())
	require.NotNil(t, fakes.steps[1].Task.ClosedAt)
	lead := h.Task(t, h.TaskIDs(casework.KindPlanTask)[0])
	require.Equal(t, casework.RoleSectionStaff, lead.Row.CandidateRole)
	require.Equal(t, zzzxCode, lead.Spec.UnitCode)
	require.True(t, t0.Add(planDue).Equal(lead.Row.DueAt), "due at the task's 完成时限: %v", lead.Row.DueAt)
	contribution := h.Task(t, h.TaskIDs(casework.KindPlanTaskContribution)[0])
	require.Equal(t, jfzxCode, contribution.Spec.UnitCode)
	require.Equal(t, casework.TaskDone, contribution.Row.State)
	review := h.Task(t, h.TaskIDs(casework.KindPlanTaskReview)[0])
	require.Equal(t, fpbCode, review.Spec.UnitCode)
	require.Equal(t, []string{zzzxStaff.UserID}, review.Spec.Exclude)
	require.Empty(t, h.Raised(), "met in time: the deadline never climbed")
}

// TestPlanTaskRejectedAndRedone: the PA office rejects without a reason (refused, naming
// comment), then with one; the task goes back to the lead section with a later deadline; the
// second declaration is accepted. A contribution never given is cancelled at the close.
func TestPlanTaskRejectedAndRedone(t *testing.T) {
	env, h, fakes := newPlanEnv(t)
	var noReason, reject, accept *kittest.Action
	var declarations []*kittest.Action
	h.WhenOpen(casework.KindPlanTask, time.Hour, func(id string) {
		declarations = append(declarations, declare(h, t, id, zzzxStaff, evidence("申报完成", "佐证材料")))
	})
	reviews := 0
	h.WhenOpen(casework.KindPlanTaskReview, time.Hour, func(id string) {
		reviews++
		if reviews == 1 {
			noReason = h.Complete(t, id, casework.OutcomeReject, paStaff)
			reject = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeReject,
				Comment: "缺少发放凭证", Actor: paStaff})
			return
		}
		accept = h.Complete(t, id, casework.OutcomeAccept, paStaff)
	})
	res := runPlanTask(t, env, planInput(t))

	require.Len(t, declarations, 2)
	for _, d := range declarations {
		d.RequireDone(t)
	}
	noReason.RequireRefused(t, workflows.CodeInvalid)
	reject.RequireDone(t)
	accept.RequireDone(t)
	require.Equal(t, workflows.PlanTaskResult{TaskID: planTaskID, State: casework.PlanTaskClosed, Attempts: 2}, res)
	require.Equal(t, []string{"plan.task_declared", "plan.task_rejected", "plan.task_declared", "plan.task_closed"}, fakes.actions())
	rejected := fakes.steps[1]
	require.Equal(t, "缺少发放凭证", rejected.Task.ReviewNote)
	require.True(t, rejected.Task.DueAt.After(t0.Add(planDue)), "redo due five days after the rejection, past the first deadline: %v", rejected.Task.DueAt)
	require.Len(t, h.TaskIDs(casework.KindPlanTask), 2)
	second := h.Task(t, h.TaskIDs(casework.KindPlanTask)[1])
	require.True(t, rejected.Task.DueAt.Equal(second.Row.DueAt))
	contribution := h.Task(t, h.TaskIDs(casework.KindPlanTaskContribution)[0])
	require.Equal(t, casework.TaskCancelled, contribution.Row.State, "a contribution never given is moot once closed out")
	require.Empty(t, h.Raised())
}

// TestPlanTaskOverdueReachesSupervision: nobody declares the task; its deadline reminds the lead
// section as it passes, reaches its leader on the 包保 chain (superior) three working days later
// and the supervision office ten working days later; a declaration after that is escalated no
// further and, accepted, closes the task. The reminder and the leader's escalation close with
// the declaration; the supervision office's stays for its decision.
func TestPlanTaskOverdueReachesSupervision(t *testing.T) {
	env, h, _ := newPlanEnv(t)
	var late, accept *kittest.Action
	h.At(planDue+30*24*time.Hour, func() {
		late = declare(h, t, h.OpenID(t, casework.KindPlanTask), zzzxStaff, evidence("补做完成", "材料"))
	})
	h.WhenOpen(casework.KindPlanTaskReview, time.Hour, func(id string) {
		accept = h.Complete(t, id, casework.OutcomeAccept, paStaff)
	})
	res := runPlanTask(t, env, planInput(t))
	late.RequireDone(t)
	accept.RequireDone(t)
	require.Equal(t, casework.PlanTaskClosed, res.State)
	targets := map[string]string{}
	contribution := planTaskID + "-contribution-" + jfzxCode
	for _, r := range h.Raised() {
		targets[r.ID] = r.Target
		require.Equal(t, casework.ProcessPlan, r.Process)
		require.Contains(t, r.Reason, "逾期未完成")
		if strings.HasPrefix(r.ID, contribution) {
			// The cooperating section never contributed: its own deadline climbs the same ladder.
			require.Equal(t, jfzxCode, r.UnitCode)
			require.Equal(t, casework.DeadlinePlanContributionDue, r.Kind)
			continue
		}
		require.Equal(t, zzzxCode, r.UnitCode)
		require.Equal(t, casework.DeadlinePlanTaskDue, r.Kind)
	}
	require.Equal(t, map[string]string{
		planTaskID + "-due-r1": casework.TargetRemind,
		planTaskID + "-due-r2": casework.TargetSuperior,
		planTaskID + "-due-r3": casework.TargetSupervision,
		contribution + "-r1":   casework.TargetRemind,
		contribution + "-r2":   casework.TargetSuperior,
		contribution + "-r3":   casework.TargetSupervision,
	}, targets)
	// The contribution cancelled at the close clears its deadline too; each supervision escalation
	// stays for its decision.
	require.ElementsMatch(t, []string{planTaskID + "-due-r1", planTaskID + "-due-r2", contribution + "-r1", contribution + "-r2"}, h.Closed())
}

// TestPlanContributionLateEscalates: the lead section declares in time, but the cooperating
// section contributes only an hour after the task's 完成时限: its own deadline (at the cooperating
// section, kind plan_task_contribution_due) has reminded it, and the contribution clears it,
// closing the reminder. Nothing climbed for the lead section, and no rung fires after the
// contribution.
func TestPlanContributionLateEscalates(t *testing.T) {
	env, h, _ := newPlanEnv(t)
	var done, contributed, accept *kittest.Action
	h.WhenOpen(casework.KindPlanTask, time.Hour, func(id string) { done = declare(h, t, id, zzzxStaff, evidence("已全部资助", "资助名册")) })
	h.At(planDue+time.Hour, func() {
		contributed = h.Act(t, workflows.TaskAction{TaskID: h.OpenID(t, casework.KindPlanTaskContribution), Action: workflows.ActionComplete,
			Outcome: casework.OutcomeContributed, Fields: map[string]string{workflows.FieldSummary: "经费已拨付到位"}, Actor: jfzxStaff})
	})
	h.At(planDue+30*24*time.Hour, func() {
		accept = h.Complete(t, h.OpenID(t, casework.KindPlanTaskReview), casework.OutcomeAccept, paStaff)
	})
	res := runPlanTask(t, env, planInput(t))

	done.RequireDone(t)
	contributed.RequireDone(t)
	accept.RequireDone(t)
	require.Equal(t, casework.PlanTaskClosed, res.State)
	contribution := planTaskID + "-contribution-" + jfzxCode
	require.Equal(t, []string{contribution + "-r1"}, h.RaisedIDs(), "the contribution's reminder only: given an hour late, before its superior rung")
	r := h.Raised()[0]
	require.Equal(t, casework.TargetRemind, r.Target)
	require.Equal(t, jfzxCode, r.UnitCode)
	require.Equal(t, casework.DeadlinePlanContributionDue, r.Kind)
	require.True(t, t0.Add(planDue).Equal(r.At), "reminded at the task's 完成时限: %v", r.At)
	require.Contains(t, r.Reason, "配合工作逾期未完成")
	require.Equal(t, []string{contribution + "-r1"}, h.Closed(), "the contribution clears its deadline")
}

// dutyUnit fakes a unit's contact and school duties: the shortfall the check reads, changed by a
// test as people record late.
type dutyUnit struct {
	mu    sync.Mutex
	state activities.DutyShortfall
}

func (d *dutyUnit) set(s activities.DutyShortfall) { d.mu.Lock(); d.state = s; d.mu.Unlock() }

func newDutyCheck(t *testing.T, s activities.DutyShortfall) (*kittest.Harness, *dutyUnit) {
	env := newTestEnv()
	env.SetStartTime(t0)
	h := kittest.New(env)
	unit := &dutyUnit{state: s}
	var acts *activities.Activities
	env.OnActivity(acts.DutyShortfall, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DutyShortfallInput) (activities.DutyShortfall, error) {
			unit.mu.Lock()
			defer unit.mu.Unlock()
			require.Equal(t, schoolCode, in.UnitCode)
			return unit.state, nil
		})
	return h, unit
}

func runDutyCheck(t *testing.T, h *kittest.Harness, in workflows.DutyCheckInput) workflows.DutyCheckResult {
	h.Env.ExecuteWorkflow(workflows.DutyCheck, in)
	require.True(t, h.Env.IsWorkflowCompleted())
	require.NoError(t, h.Env.GetWorkflowError())
	var res workflows.DutyCheckResult
	require.NoError(t, h.Env.GetWorkflowResult(&res))
	return res
}

// TestDutyCheckMonthWithoutContactEscalates: the section head who answers for the school did not
// contact it in August; as the month ends the school's contact duty reminds (naming them), and
// two working days later it goes one rung up the chain; at the term's end the school also misses
// its article, which climbs school_duty's ladder.
func TestDutyCheckMonthWithoutContactEscalates(t *testing.T) {
	h, _ := newDutyCheck(t, activities.DutyShortfall{Responsible: "u-edu1", ResponsibleName: "教育股干部", ContactMissing: true,
		Missing: []string{casework.SchoolDutyArticle}})
	mStart, mEnd, tStart, tEnd := workflows.DutyPeriods(t0.Add(-12*time.Hour), 0)
	require.True(t, mEnd.Equal(t0.Add(-9*time.Hour)), "August ends at 00:00 China time on 1 September: %v", mEnd)
	require.True(t, tEnd.Equal(mEnd), "the spring term ends with August")
	res := runDutyCheck(t, h, workflows.DutyCheckInput{UnitCode: schoolCode, MonthStart: mStart, MonthEnd: mEnd, TermStart: tStart, TermEnd: tEnd,
		Quotas: map[string]int{casework.SchoolDutyArticle: 1, casework.SchoolDutyProgressReport: 1}})
	require.True(t, res.ContactMissing)
	require.Equal(t, []string{casework.SchoolDutyArticle, "contact"}, res.StillShort)
	key := "1788192000" // mEnd's Unix seconds
	got := map[string]string{}
	for _, r := range h.Raised() {
		got[r.ID] = r.Target
		require.Equal(t, casework.ProcessPlan, r.Process)
		require.Equal(t, schoolCode, r.UnitCode)
		if r.Kind == casework.DeadlineContactDuty {
			require.Contains(t, r.Reason, "教育股干部")
			require.Contains(t, r.Reason, "2026年8月")
		}
	}
	contact, article := workflows.ContactCaseID(schoolCode), workflows.SchoolDutyCaseID(casework.SchoolDutyArticle, schoolCode)
	require.Equal(t, map[string]string{
		contact + "-contact-" + key + "-r1":                            casework.TargetRemind,
		contact + "-contact-" + key + "-r2":                            casework.TargetSuperior,
		article + "-" + casework.SchoolDutyArticle + "-" + key + "-r1": casework.TargetRemind,
		article + "-" + casework.SchoolDutyArticle + "-" + key + "-r2": casework.TargetSuperior,
	}, got)
}

// A contact recorded after the reminder stops the ladder: nobody one rung up is told, and the
// reminder closes.
func TestDutyCheckLateContactClearsTheLadder(t *testing.T) {
	h, unit := newDutyCheck(t, activities.DutyShortfall{Responsible: "u-edu1", ContactMissing: true})
	h.At(3*time.Hour, func() { unit.set(activities.DutyShortfall{Responsible: "u-edu1"}) })
	mStart, mEnd, _, _ := workflows.DutyPeriods(t0.Add(-12*time.Hour), 0)
	res := runDutyCheck(t, h, workflows.DutyCheckInput{UnitCode: schoolCode, MonthStart: mStart, MonthEnd: mEnd})
	require.Empty(t, res.StillShort)
	require.Len(t, h.Raised(), 1, "only the reminder: %v", h.RaisedIDs())
	require.Equal(t, casework.TargetRemind, h.Raised()[0].Target)
	require.Equal(t, h.RaisedIDs(), h.Closed())
}

func TestDutyPeriodsAreCalendarMonthsAndTerms(t *testing.T) {
	at := time.Date(2026, 12, 15, 3, 0, 0, 0, time.UTC)
	mStart, mEnd, tStart, tEnd := workflows.DutyPeriods(at, 0)
	cst := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, calendar.CST) }
	require.True(t, mStart.Equal(cst(2026, 12)) && mEnd.Equal(cst(2027, 1)))
	require.True(t, tStart.Equal(cst(2026, 9)) && tEnd.Equal(cst(2027, 2)), "the autumn term runs to February")
	_, _, tStart, tEnd = workflows.DutyPeriods(time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC), 0)
	require.True(t, tStart.Equal(cst(2026, 9)) && tEnd.Equal(cst(2027, 2)))
	_, _, tStart, tEnd = workflows.DutyPeriods(time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), 0)
	require.True(t, tStart.Equal(cst(2027, 2)) && tEnd.Equal(cst(2027, 9)))
	mStart, mEnd, tStart, tEnd = workflows.DutyPeriods(at, 10*time.Second)
	require.Equal(t, 10*time.Second, mEnd.Sub(mStart))
	require.True(t, tStart.Equal(mStart) && tEnd.Equal(mEnd), "with a test period, each period is a month and a term")
}
