package workflows_test

// Send-home plans on the kit, with the test clock skipping over weeks: a period's quota met
// clears its deadline; a period missed climbs every rung of visit_quota (the ladder the registry
// declares); a late-logged visit that completes a missed period closes its reminders; the term's
// end opens the evaluation and continues as new with it and with the uncleared deadline; the
// next run takes both up, and ending the plan clears and cancels what is left.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

const sendHomeWfID = "sendhome-stu1"

var shTeacher = person("teacher1", atSchool(casework.RoleTeacher))

// sendHomeFake records the plan's own activities.
type sendHomeFake struct {
	mu     sync.Mutex
	rows   []activities.SendHomeStep
	visits []activities.SendHomeVisitInput
}

func (f *sendHomeFake) register(env *testsuite.TestWorkflowEnvironment) {
	var acts *activities.Activities
	env.OnActivity(acts.OpenSendHomePlan, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenSendHomeInput) (activities.SendHomeRow, error) {
			r := in.Row
			r.StudentName, r.UnitCode, r.UnitPath, r.CreatedAt = "小明", schoolCode, schoolPath, in.At
			return r, nil
		})
	env.OnActivity(acts.SetSendHomePlan, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendHomeStep) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.rows = append(f.rows, in)
		return nil
	})
	env.OnActivity(acts.RecordSendHomeVisit, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendHomeVisitInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.visits = append(f.visits, in)
		return nil
	})
}

func (f *sendHomeFake) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.rows {
		if r.Audit != nil {
			out = append(out, r.Audit.Action)
		}
	}
	return out
}

func (f *sendHomeFake) last() activities.SendHomeRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows[len(f.rows)-1].Row
}

// shUpdate is one update sent to the plan and what became of it.
type shUpdate struct {
	mu       sync.Mutex
	accepted bool
	err      error
	result   any
}

func sendUpdate(env *testsuite.TestWorkflowEnvironment, name string, arg any) *shUpdate {
	u := &shUpdate{}
	env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() { u.mu.Lock(); u.accepted = true; u.mu.Unlock() },
		OnReject: func(err error) { u.mu.Lock(); u.err = err; u.mu.Unlock() },
		OnComplete: func(res any, err error) {
			u.mu.Lock()
			u.result = res
			if err != nil {
				u.err = err
			}
			u.mu.Unlock()
		},
	}, arg)
	return u
}

func (u *shUpdate) requireDone(t *testing.T) {
	t.Helper()
	require.NotNil(t, u, "never sent")
	u.mu.Lock()
	defer u.mu.Unlock()
	require.NoError(t, u.err)
	require.True(t, u.accepted)
}

// requireRefused checks a refusal of code naming field (before anything was written).
func (u *shUpdate) requireRefused(t *testing.T, code, field, reason string) {
	t.Helper()
	require.NotNil(t, u, "never sent")
	u.mu.Lock()
	defer u.mu.Unlock()
	require.False(t, u.accepted, "refused updates are never accepted")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(u.err, &appErr), "refusal %v", u.err)
	r, ok := workflows.RefusalOf(appErr)
	require.True(t, ok)
	require.Equal(t, code, r.Code, appErr.Error())
	require.Equal(t, field, r.Field, appErr.Error())
	require.Equal(t, reason, r.Params["reason"], appErr.Error())
}

func visit(on string, minutes int, teachers ...string) workflows.SendHomeVisit {
	return workflows.SendHomeVisit{VisitedOn: on, Minutes: minutes, Content: "康复训练、认读", EvidenceNote: "照片 2 张", TeacherIDs: teachers, Actor: shTeacher}
}

func newSendHomeEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *kittest.Harness, *sendHomeFake) {
	env := newTestEnv()
	env.SetTestTimeout(time.Minute)
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: sendHomeWfID, TaskQueue: workflows.TaskQueue})
	h := kittest.New(env)
	h.Due = 2 * 24 * time.Hour
	h.Units = map[string]string{schoolCode: schoolPath}
	h.SetLadder(casework.DefaultLadderKind) // the evaluation climbs nothing here: the deadlines are the point
	f := &sendHomeFake{}
	f.register(env)
	env.RegisterWorkflow(workflows.SendHomePlan)
	return env, h, f
}

func sendHomeInput(t *testing.T, term string) workflows.SendHomeInput {
	spec, err := calendar.ParseSpec(term)
	require.NoError(t, err)
	due, _ := calendar.ParseSpec("5wd")
	return workflows.SendHomeInput{PlanID: sendHomeWfID + "-p1", StudentID: "stu1", DisabilityType: "智力残疾", DisabilityGrade: "二级",
		TeacherIDs: []string{shTeacher.UserID}, Goals: "生活自理", VisitsPerPeriod: 2, Period: "week", MinMinutes: 90,
		Term: spec, EvaluationDue: due, CreatedBy: leader1}
}

func raisedTargets(h *kittest.Harness) map[string]string {
	out := map[string]string{}
	for _, r := range h.Raised() {
		out[r.ID] = r.Target
	}
	return out
}

// TestSendHomeQuotaAcrossPeriodsAndTerms: a four-week term of weekly periods, two visits each.
// Week 1 is met (the first visit is the assessment); week 2 passes without visits and climbs
// every rung (teachers, school leader, education section, supervision office); week 3 has
// one visit, misses, and is completed by a visit logged late, which closes its reminder; week 4
// ends with the term: the evaluation opens and the plan continues as new with it and with week
// 4's deadline. Run 2 fires week 4's rungs, the school leader evaluates, and the plan ends
// (moved), clearing its deadlines.
func TestSendHomeQuotaAcrossPeriodsAndTerms(t *testing.T) {
	env, h, f := newSendHomeEnv(t)
	day := 24 * time.Hour
	var ok1, ok2, ok3, late *shUpdate
	var future, short, stranger, dup, other *shUpdate
	h.At(time.Hour, func() { ok1 = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-01", 120, shTeacher.UserID)) })
	h.At(time.Hour+time.Minute, func() {
		future = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-03", 120, shTeacher.UserID))
		short = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-01", 30, shTeacher.UserID))
		stranger = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-01", 120, shTeacher.UserID, "u-nobody"))
		dup = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-01", 120, shTeacher.UserID))
		o := visit("2026-09-01", 120, shTeacher.UserID)
		o.Actor = otherLeader
		other = sendUpdate(env, workflows.LogVisitUpdate, o)
	})
	h.At(2*day, func() { ok2 = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-03", 120, shTeacher.UserID)) })
	h.At(15*day, func() { ok3 = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-16", 100, shTeacher.UserID)) })
	// Sep 22 12:00 CST, after week 3's first rung (09:00): a visit of Monday Sep 21 completes week 3.
	h.At(21*day+3*time.Hour, func() { late = sendUpdate(env, workflows.LogVisitUpdate, visit("2026-09-21", 100, shTeacher.UserID)) })

	env.ExecuteWorkflow(workflows.SendHomePlan, sendHomeInput(t, "4w"))
	var next workflows.SendHomeInput
	kittest.ContinuedAs(t, env, &next)

	ok1.requireDone(t)
	ok2.requireDone(t)
	ok3.requireDone(t)
	late.requireDone(t)
	future.requireRefused(t, workflows.CodeInvalid, "visited_on", "future")
	short.requireRefused(t, workflows.CodeInvalid, "minutes", "too_short")
	stranger.requireRefused(t, workflows.CodeInvalid, "teacher_ids[1]", "not_on_plan")
	dup.requireRefused(t, workflows.CodeInvalid, "visited_on", "duplicate_visit")
	u := other
	u.mu.Lock()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(u.err, &appErr))
	r, _ := workflows.RefusalOf(appErr)
	require.Equal(t, workflows.CodeNotCandidate, r.Code)
	u.mu.Unlock()

	f.mu.Lock()
	require.Len(t, f.visits, 4, "refused visits wrote nothing")
	require.True(t, f.visits[0].Assessment)
	require.Equal(t, 3, f.visits[3].PeriodNo, "the late visit counts toward the week it was made")
	f.mu.Unlock()
	acts := f.actions()
	require.Contains(t, acts, "sendhome.assessed")
	require.Contains(t, acts, "sendhome.quota_met")

	// Week 1 met: no rung. Week 2 missed: every rung, in order. Week 3: only its first rung,
	// closed by the late visit.
	targets := raisedTargets(h)
	p := sendHomeWfID + "-p1-"
	require.NotContains(t, targets, p+"quota-1-r1")
	require.Equal(t, casework.TargetTeacher, targets[p+"quota-2-r1"])
	require.Equal(t, casework.TargetSchoolLeader, targets[p+"quota-2-r2"])
	require.Equal(t, casework.TargetEducationSection, targets[p+"quota-2-r3"])
	require.Equal(t, casework.TargetSupervision, targets[p+"quota-2-r4"])
	require.Equal(t, casework.TargetTeacher, targets[p+"quota-3-r1"])
	require.NotContains(t, targets, p+"quota-3-r2")
	require.Contains(t, h.Closed(), p+"quota-3-r1")
	for _, r := range h.Raised() {
		if r.Deadline == "quota-2" {
			require.Contains(t, r.Reason, "送教 0 次")
		}
		require.Equal(t, shTeacher.UserID, r.HolderID, "the plan's rungs name its lead teacher (%s)", r.ID)
	}
	// Week 2's reminders stay open: the plan never met that week.
	require.NotContains(t, h.Closed(), p+"quota-2-r1")

	// The term's end: the evaluation carried, week 4's deadline carried, week 2's spent ladder not.
	require.NotNil(t, next.Resume)
	require.Len(t, next.Resume.Tasks, 1)
	require.Equal(t, casework.KindSendHomeEvaluation, next.Resume.Tasks[0].Spec.Kind)
	var names []string
	for _, d := range next.Resume.Deadlines {
		names = append(names, d.Spec.Name)
	}
	require.Equal(t, []string{"quota-4"}, names)
	require.Equal(t, 4, next.Resume.Periods)
	require.Equal(t, 1, next.Resume.Row.TermNo)
	require.Equal(t, 2, next.Resume.Row.MissedPeriods, "weeks 2 and 4 (week 3 was made up)")
	require.Equal(t, casework.SendHomeActive, next.Resume.Row.State)
	evalID := next.Resume.Tasks[0].ID

	// Run 2: week 4's rungs go on; the leader evaluates; the plan ends on day 20 of the term.
	env2 := newTestEnv()
	env2.SetTestTimeout(time.Minute)
	h2 := h.NextRun(env2)
	f.register(env2)
	env2.RegisterWorkflow(workflows.SendHomePlan)
	var eval *kittest.Action
	var end, badEnd, afterEnd *shUpdate
	h2.At(time.Hour, func() {
		eval = h2.Act(t, workflows.TaskAction{TaskID: evalID, Action: workflows.ActionComplete, Outcome: casework.OutcomeRenew,
			Comment: "认知有进步，下学期增加生活技能", Actor: leader1})
	})
	h2.At(20*day, func() {
		badEnd = sendUpdate(env2, workflows.EndPlanUpdate, workflows.SendHomeEnd{Reason: "graduated", Actor: leader1})
		end = sendUpdate(env2, workflows.EndPlanUpdate, workflows.SendHomeEnd{Reason: casework.EndMoved, Note: "随父母迁往恩施市", Actor: leader1})
	})
	h2.At(20*day+time.Hour, func() {
		afterEnd = sendUpdate(env2, workflows.LogVisitUpdate, visit("2026-10-19", 120, shTeacher.UserID))
	})
	env2.ExecuteWorkflow(workflows.SendHomePlan, next)
	require.NoError(t, env2.GetWorkflowError())
	var res workflows.SendHomeResult
	require.NoError(t, env2.GetWorkflowResult(&res))
	require.Equal(t, casework.SendHomeEnded, res.State)
	require.Equal(t, casework.EndMoved, res.Reason)
	eval.RequireDone(t)
	end.requireDone(t)
	badEnd.requireRefused(t, workflows.CodeInvalid, "reason", "one_of")
	require.Nil(t, afterEnd, "the plan ended before: the update never reached it") // the run was over
	h2.RequireState(t, evalID, casework.TaskDone)

	targets = raisedTargets(h2)
	for rung, target := range []string{casework.TargetTeacher, casework.TargetSchoolLeader, casework.TargetEducationSection, casework.TargetSupervision} {
		id := p + "quota-4-r" + string(rune('1'+rung))
		require.Equalf(t, target, targets[id], "%s in run 2", id)
	}
	acts = f.actions()
	require.Contains(t, acts, "sendhome.term_renewed")
	require.Contains(t, acts, "sendhome.evaluated")
	require.Equal(t, "sendhome.ended", acts[len(acts)-1])
	row := f.last()
	require.Equal(t, 2, row.TermNo)
	require.Equal(t, casework.SendHomeEnded, row.State)
	// Ending closed what the plan's ladders had raised and not yet closed, except the
	// supervision office's (weeks 2 and 4 were missed: their reminders close with the end).
	closed := h2.Closed()
	require.Contains(t, closed, p+"quota-4-r1")
	require.NotContains(t, closed, p+"quota-4-r4")
	_ = access.System
}

// TermEnd counts a term's periods: the term ends with the period in which its length runs out,
// as counting the periods one by one (PeriodEnd) would have it; a fixed-length period is
// counted in one step, so that a 20-second plan in a 20-week term does not hold the workflow
// task for hundreds of thousands of steps.
func TestSendHomeTermEndsWithItsLastPeriod(t *testing.T) {
	start := t0.Add(13 * time.Second)
	byStep := func(period string, termEnd time.Time) time.Time {
		end := start
		for end.Before(termEnd) {
			next, err := workflows.PeriodEnd(period, end, nil)
			require.NoError(t, err)
			end = next
		}
		return end
	}
	for _, c := range []struct {
		period string
		term   time.Duration
	}{
		{"week", 20 * 7 * 24 * time.Hour}, {"week", 20*7*24*time.Hour + time.Hour}, {"month", 20 * 7 * 24 * time.Hour},
		{"2w", 19 * 7 * 24 * time.Hour}, {"3d", 10 * 24 * time.Hour}, {"5wd", 30 * 24 * time.Hour}, {"7s", time.Hour},
		{"1h", 0}, {"20s", 20 * time.Second},
	} {
		got, err := workflows.TermEnd(c.period, start, start.Add(c.term))
		require.NoError(t, err)
		require.Truef(t, got.Equal(byStep(c.period, start.Add(c.term))), "%s over %s: %s, want %s", c.period, c.term, got,
			byStep(c.period, start.Add(c.term)))
	}
	got, err := workflows.TermEnd("20s", start, start.Add(20*7*24*time.Hour+time.Second))
	require.NoError(t, err)
	require.Equal(t, start.Add(20*7*24*time.Hour+20*time.Second), got, "604,801 periods of 20 s")
	_, err = workflows.TermEnd("fortnightly", start, start.Add(time.Hour))
	require.Error(t, err)
}

// TestSendHomeTermAfterTerm: three two-week terms of weekly periods, each run one term long.
// Term 1 meets every period: nothing climbs; its end opens the evaluation and continues as new.
// In term 2 the school leader completes the carried evaluation; week 1 is met, week 2 is not: its
// teacher's reminder falls as the term ends, and its deadline crosses into term 3, as fired, with
// the new evaluation. In term 3 the carried deadline climbs on from the school leader's rung, each
// rung once, the leader evaluates again, and the plan ends, the child having aged out, which
// closes what the deadlines had raised.
func TestSendHomeTermAfterTerm(t *testing.T) {
	env, h, f := newSendHomeEnv(t)
	day := 24 * time.Hour
	var visits []*shUpdate
	logAt := func(h *kittest.Harness, env *testsuite.TestWorkflowEnvironment, at time.Duration, on string) {
		h.At(at, func() {
			visits = append(visits, sendUpdate(env, workflows.LogVisitUpdate, visit(on, 120, shTeacher.UserID)))
		})
	}
	for _, v := range []struct {
		at time.Duration
		on string
	}{{time.Hour, "2026-09-01"}, {day + time.Hour, "2026-09-02"}, {7*day + time.Hour, "2026-09-08"}, {8*day + time.Hour, "2026-09-09"}} {
		logAt(h, env, v.at, v.on)
	}
	env.ExecuteWorkflow(workflows.SendHomePlan, sendHomeInput(t, "2w"))
	var term2 workflows.SendHomeInput
	kittest.ContinuedAs(t, env, &term2)
	require.Empty(t, h.Raised(), "term 1 met every period")
	require.Len(t, term2.Resume.Tasks, 1, "term 1's evaluation is carried")
	require.Empty(t, term2.Resume.Deadlines)
	require.Zero(t, term2.Resume.Row.MissedPeriods)
	eval1 := term2.Resume.Tasks[0].ID

	env2 := newTestEnv()
	env2.SetTestTimeout(time.Minute)
	h2 := h.NextRun(env2)
	f.register(env2)
	env2.RegisterWorkflow(workflows.SendHomePlan)
	var evaluated1 *kittest.Action
	h2.At(time.Hour, func() {
		evaluated1 = h2.Act(t, workflows.TaskAction{TaskID: eval1, Action: workflows.ActionComplete, Outcome: casework.OutcomeRenew,
			Comment: "生活自理有进步", Actor: leader1})
	})
	logAt(h2, env2, 2*time.Hour, "2026-09-15")
	logAt(h2, env2, day+time.Hour, "2026-09-16")
	env2.ExecuteWorkflow(workflows.SendHomePlan, term2)
	var term3 workflows.SendHomeInput
	kittest.ContinuedAs(t, env2, &term3)
	evaluated1.RequireDone(t)
	h2.RequireState(t, eval1, casework.TaskDone)
	require.Equal(t, 2, term3.Resume.Row.TermNo)
	require.Equal(t, 1, term3.Resume.Row.MissedPeriods, "term 2's second week")
	require.Len(t, term3.Resume.Tasks, 1, "term 2's evaluation is carried")
	eval2 := term3.Resume.Tasks[0].ID
	require.NotEqual(t, eval1, eval2)
	require.Len(t, term3.Resume.Deadlines, 1, "the missed week's deadline is carried")
	missed := term3.Resume.Deadlines[0]
	require.Equal(t, casework.DeadlineVisitQuota, missed.Spec.Kind)
	require.Len(t, h2.Raised(), 1, "the teacher's reminder falls as the week (and the term) ends")
	require.Equal(t, 1, missed.Level, "and crosses into term 3 as fired")

	env3 := newTestEnv()
	env3.SetTestTimeout(time.Minute)
	h3 := h2.NextRun(env3)
	f.register(env3)
	env3.RegisterWorkflow(workflows.SendHomePlan)
	var evaluated2 *kittest.Action
	var end *shUpdate
	h3.At(time.Hour, func() {
		evaluated2 = h3.Act(t, workflows.TaskAction{TaskID: eval2, Action: workflows.ActionComplete, Outcome: casework.OutcomeRenew,
			Comment: "认读 50 字已达成，下学期增加数数", Actor: leader1})
	})
	h3.At(13*day, func() {
		end = sendUpdate(env3, workflows.EndPlanUpdate, workflows.SendHomeEnd{Reason: casework.EndAgedOut, Actor: leader1})
	})
	env3.ExecuteWorkflow(workflows.SendHomePlan, term3)
	require.NoError(t, env3.GetWorkflowError())
	var res workflows.SendHomeResult
	require.NoError(t, env3.GetWorkflowResult(&res))
	require.Equal(t, casework.EndAgedOut, res.Reason)
	evaluated2.RequireDone(t)
	end.requireDone(t)
	for _, v := range visits {
		v.requireDone(t)
	}
	require.Len(t, visits, 6)

	// The carried deadline climbs on from the rung after the teacher's, in the ladder's order, each
	// rung once across the runs.
	ladder := []string{casework.TargetTeacher, casework.TargetSchoolLeader, casework.TargetEducationSection, casework.TargetSupervision}
	prefix := sendHomeWfID + "-p1-" + missed.Spec.Name + "-r"
	var fired []string
	for _, r := range h3.Raised() { // every run's, in order (term 3's own first week, unvisited, climbs too)
		if !strings.HasPrefix(r.ID, prefix) {
			continue
		}
		require.Equal(t, ladder[r.Rung-1], r.Target, r.ID)
		require.Equal(t, prefix+strconv.Itoa(len(fired)+1), r.ID, "rungs in order, none twice")
		fired = append(fired, r.ID)
	}
	require.GreaterOrEqual(t, len(fired), 2, "the school leader's rung fires in term 3: %v", fired)
	require.Contains(t, h3.Closed(), prefix+"1", "ending the plan closes the teacher's reminder")
	row := f.last()
	require.Equal(t, 3, row.TermNo)
	require.Equal(t, casework.SendHomeEnded, row.State)
}
