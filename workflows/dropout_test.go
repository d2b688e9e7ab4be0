package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

const (
	dtSchoolPath   = "/JS/JS-T01/JS-S0101/"
	dtSchoolCode   = "JS-S0101"
	dtTownshipPath = "/JS/JS-T01/"
	dtStudent      = "st-1"
)

var (
	// Monday 3 March 2025, 09:00 in Jianshi: an ordinary working day.
	dtStart  = time.Date(2025, 3, 3, 9, 0, 0, 0, calendar.CST)
	dtCaseID = DropoutCaseID(DropoutWorkflowID(dtStudent), "c1")

	dtTeacher  = dtActor("u-teacher", casework.RoleTeacher, dtSchoolCode, dtSchoolPath)
	dtStaff    = dtActor("u-staff", casework.RoleSchoolStaff, dtSchoolCode, dtSchoolPath)
	dtLeader   = dtActor("u-leader", casework.RoleSchoolLeader, dtSchoolCode, dtSchoolPath)
	dtLeader2  = dtActor("u-leader2", casework.RoleSchoolLeader, dtSchoolCode, dtSchoolPath)
	dtTownship = dtActor("u-township", casework.RoleTownshipStaff, "JS-T01", dtTownshipPath)
	dtOutsider = dtActor("u-outsider", casework.RoleTeacher, "JS-S0201", "/JS/JS-T02/JS-S0201/")
)

func dtActor(id, role, unit, path string) access.Actor {
	return access.Actor{UserID: id, Username: id, DisplayName: id,
		Roles: []access.Role{{Role: role, UnitCode: unit, UnitKind: store.KindSchool, UnitPath: path}}}
}

// dropoutFixture runs DropoutCase in the time-skipping test environment with every activity
// mocked, and keeps what the activities were asked to do.
type dropoutFixture struct {
	t   *testing.T
	s   testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment

	mu        sync.Mutex
	openCalls int
	tasks     []activities.OpenTaskInput
	steps     []activities.DropoutStep
	raises    []activities.RaiseInput
	settles   []activities.SettleTaskInput
	attempts  []activities.AttemptInput
	escalated []activities.EscalateInput
	changes   []activities.TaskChange
	closed    []string        // escalations closed as their deadline was cleared
	plans     []SendHomeInput // send-home plans a send_home outcome started (child workflows)
	noTeacher bool            // the student has no responsible teacher (no 包保 pairing)
	updates   int
}

func newDropoutFixture(t *testing.T) *dropoutFixture {
	f := &dropoutFixture{t: t}
	env := f.s.NewTestWorkflowEnvironment()
	f.env = env
	env.SetStartTime(dtStart)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: DropoutWorkflowID(dtStudent)})
	env.RegisterWorkflow(DropoutCase)
	// A send_home outcome starts the student's plan as a child workflow: mocked, it records its input.
	env.RegisterWorkflow(SendHomePlan)
	env.OnWorkflow(SendHomePlan, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in SendHomeInput) (SendHomeResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.plans = append(f.plans, in)
		return SendHomeResult{PlanID: in.PlanID, State: casework.SendHomeEnded}, nil
	})
	acts := &activities.Activities{}
	env.RegisterActivity(acts)

	env.OnActivity(acts.OpenDropoutCase, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenDropoutCaseInput) (activities.DropoutOpened, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.openCalls++
			teacher := dtTeacher.UserID
			if f.noTeacher {
				teacher = ""
			}
			return activities.DropoutOpened{StudentName: "张三", UnitCode: dtSchoolCode, UnitName: "一小", TeacherID: teacher,
				Ledger: activities.DropoutLedger{ID: in.CaseID, WorkflowID: in.WorkflowID, StudentID: in.StudentID, UnitID: "ou-s0101",
					UnitPath: dtSchoolPath, TeacherID: teacher, OpenedBy: in.OpenedBy.UserID, Reason: in.Reason,
					LastAttendedOn: in.LastAttendedOn, State: casework.DropoutOpen}}, nil
		})
	env.OnActivity(acts.SetDropoutCase, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DropoutStep) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.steps = append(f.steps, in)
		return nil
	})
	env.OnActivity(acts.RecordAttempt, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AttemptInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.attempts = append(f.attempts, in)
		return nil
	})
	env.OnActivity(acts.DropoutDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DropoutDueInput) ([]time.Time, error) {
			var out []time.Time
			at := in.From
			for _, p := range in.Periods {
				at = p.Due(calendar.Default(), at)
				out = append(out, at)
			}
			return out, nil
		})
	env.OnActivity(acts.SettleDropoutTask, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SettleTaskInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.settles = append(f.settles, in)
		return nil
	})
	env.OnActivity(acts.Raise, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RaiseInput) (store.Escalation, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.raises = append(f.raises, in)
			return store.Escalation{ID: in.ID, Target: in.Target}, nil
		})
	// The first-contact ladder: a reminder when due, the superior unit a day later.
	env.OnActivity(acts.ProjectOpenTask, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.ResolveTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenTaskInput) (activities.TaskOpened, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.tasks = append(f.tasks, in)
			due := in.Spec.Due.Due(calendar.Default(), in.Now)
			out := activities.TaskOpened{UnitID: "ou-s0101", UnitPath: dtSchoolPath, DueAt: due}
			if in.Spec.Kind == casework.KindDropoutFirstContact {
				out.Rungs = []activities.RungAt{{Rung: 1, Target: casework.TargetRemind, At: due},
					{Rung: 2, Target: casework.TargetSuperior, At: due.Add(24 * time.Hour)}}
			}
			return out, nil
		})
	env.OnActivity(acts.ApplyTaskChange, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.TaskChange) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.changes = append(f.changes, in)
		// The case settles its first-contact task through the kit (Tasks.Settle): nobody
		// completes one from the inbox in these tests.
		if in.Task.Kind == casework.KindDropoutFirstContact && in.Task.State != casework.TaskOpen {
			f.settles = append(f.settles, activities.SettleTaskInput{TaskID: in.Task.ID, State: in.Task.State, Outcome: in.Task.Outcome,
				Actor: in.Actor, Role: in.ActorRole, Comment: in.Comment, At: in.At, Task: in.Task})
		}
		return nil
	})
	// The windows' ladders: the ones the process declares, counted from the deadline.
	env.OnActivity(acts.ResolveDeadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveDeadlineInput) ([]activities.RungAt, error) {
			return activities.DeclaredRungs(in.Kind, in.At, calendar.Default())
		})
	env.OnActivity(acts.CloseEscalations, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseEscalationsInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closed = append(f.closed, in.IDs...)
		return nil
	})
	env.OnActivity(acts.Escalate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EscalateInput) (store.Escalation, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.escalated = append(f.escalated, in)
			return store.Escalation{}, nil
		})
	return f
}

func dtInput() DropoutInput {
	return DropoutInput{CaseID: dtCaseID, StudentID: dtStudent, Reason: "无故连续旷课", LastAttendedOn: "2025-02-28", OpenedBy: dtStaff,
		Timings: DropoutTimings{}}
}

// dtUpdate is what happened to one update sent during the test.
type dtUpdate struct {
	rejected  error
	completed bool
	result    any
	err       error
}

// updateAt sends an update after d of workflow time.
func (f *dropoutFixture) updateAt(d time.Duration, name string, arg any) *dtUpdate {
	u := &dtUpdate{}
	f.env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		f.updates++
		id := fmt.Sprintf("upd-%d", f.updates)
		f.mu.Unlock()
		f.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { u.rejected = err },
			OnAccept:   func() {},
			OnComplete: func(v any, err error) { u.completed, u.result, u.err = true, v, err },
		}, arg)
	}, d)
	return u
}

// queryAt reads the case's status after d of workflow time.
func (f *dropoutFixture) queryAt(d time.Duration) *DropoutStatus {
	s := &DropoutStatus{}
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(DropoutQuery)
		if err != nil {
			f.t.Errorf("query at %v: %v", d, err)
			return
		}
		if err := v.Get(s); err != nil {
			f.t.Errorf("query at %v: %v", d, err)
		}
	}, d)
	return s
}

func (f *dropoutFixture) run(in DropoutInput) DropoutResult {
	f.t.Helper()
	f.env.ExecuteWorkflow(DropoutCase, in)
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		f.t.Fatalf("workflow failed: %v", err)
	}
	var res DropoutResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (u *dtUpdate) mustComplete(t *testing.T, what string) {
	t.Helper()
	if u.rejected != nil {
		t.Fatalf("%s: rejected: %v", what, u.rejected)
	}
	if !u.completed {
		t.Fatalf("%s: never completed", what)
	}
	if u.err != nil {
		t.Fatalf("%s: failed: %v", what, u.err)
	}
}

func (u *dtUpdate) mustReject(t *testing.T, what, code, contains string) {
	t.Helper()
	if u.rejected == nil {
		t.Fatalf("%s: accepted, want rejected (%s)", what, code)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(u.rejected, &appErr) {
		t.Fatalf("%s: rejected with %v, want an application error", what, u.rejected)
	}
	if r, _ := RefusalOf(appErr); r.Code != code || appErr.Type() != RefusalCodes[code] {
		t.Fatalf("%s: rejected with %v (code %q, type %s), want code %s", what, u.rejected, r.Code, appErr.Type(), code)
	}
	if !strings.Contains(u.rejected.Error(), contains) {
		t.Fatalf("%s: rejection %q does not mention %q", what, u.rejected.Error(), contains)
	}
}

// raised lists the case-level escalations in time order; the two of one deadline run in
// parallel, so their mocks record them in either order.
func (f *dropoutFixture) raised() []activities.RaiseInput {
	out := slices.Clone(f.raises)
	slices.SortFunc(out, func(a, b activities.RaiseInput) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (f *dropoutFixture) stepActions() []string {
	var out []string
	for _, s := range f.steps {
		out = append(out, s.Audit.Action+":"+s.Ledger.State)
	}
	return out
}

func dtDays(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func TestDropoutFirstContactInTime(t *testing.T) {
	f := newDropoutFixture(t)
	first := f.updateAt(2*time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodHomeVisit, Notes: "家访，家长同意下周送返",
		Visitors: []string{"李老师", "王主任"}, Actor: dtTeacher})
	second := f.updateAt(3*time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "电话回访", Actor: dtStaff})
	mid := f.queryAt(4 * time.Hour)
	out := f.updateAt(dtDays(5), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeTransferred, ReceivingSchool: "宜昌市某中学",
		Note: "随父母务工转学", Actor: dtStaff})
	res := f.run(dtInput())

	first.mustComplete(t, "first attempt")
	second.mustComplete(t, "second attempt")
	out.mustComplete(t, "transfer")
	if got := first.result.(AttemptLogged); !got.FirstContact || got.AttemptID != dtCaseID+"-a1" {
		t.Errorf("first attempt answered %+v", got)
	}
	if got := second.result.(AttemptLogged); got.FirstContact || got.AttemptID != dtCaseID+"-a2" {
		t.Errorf("second attempt answered %+v", got)
	}
	if !mid.FirstContactDone || mid.Attempts != 2 || mid.State != casework.DropoutOpen {
		t.Errorf("status after the attempts: %+v", mid)
	}
	if res.State != casework.DropoutClosed || res.Outcome != casework.OutcomeTransferred || res.Attempts != 2 {
		t.Errorf("result %+v", res)
	}
	if len(f.raises) != 0 || len(f.escalated) != 0 {
		t.Errorf("no escalation expected, got raises %+v, ladder %+v", f.raises, f.escalated)
	}
	if len(f.tasks) != 1 {
		t.Fatalf("want one task (first contact), got %+v", f.tasks)
	}
	if spec := f.tasks[0].Spec; spec.Kind != casework.KindDropoutFirstContact || spec.AssigneeID != dtTeacher.UserID ||
		spec.CandidateRole != casework.RoleTeacher || spec.UnitCode != dtSchoolCode || spec.Due.String() != "1wd" {
		t.Errorf("first-contact task spec %+v", spec)
	}
	if len(f.settles) != 1 || f.settles[0].TaskID != DropoutWorkflowID(dtStudent)+"-t1" || f.settles[0].State != casework.TaskDone ||
		f.settles[0].Outcome != casework.OutcomeContacted || f.settles[0].Actor.UserID != dtTeacher.UserID {
		t.Errorf("first contact settled as %+v", f.settles)
	}
	if len(f.attempts) != 2 || f.attempts[0].ID != dtCaseID+"-a1" || f.attempts[0].Method != MethodHomeVisit ||
		len(f.attempts[0].Visitors) != 2 || f.attempts[0].Role != casework.RoleTeacher {
		t.Errorf("attempts %+v", f.attempts)
	}
	last := f.steps[len(f.steps)-1]
	if last.Ledger.State != casework.DropoutClosed || last.Ledger.Outcome != casework.OutcomeTransferred ||
		!strings.Contains(last.Ledger.OutcomeNote, "宜昌市某中学") || last.Audit.Action != "dropout.transferred" {
		t.Errorf("last step %+v", last)
	}
}

func TestDropoutEscalatesWhenNobodyActs(t *testing.T) {
	f := newDropoutFixture(t)
	atTownship := f.queryAt(dtDays(16))
	atCounty := f.queryAt(dtDays(31))
	out := f.updateAt(dtDays(32), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "入读县职教中心",
		Actor: dtTownship})
	res := f.run(dtInput())
	out.mustComplete(t, "vocational")

	townshipAt, countyAt := dtStart.Add(dtDays(15)), dtStart.Add(dtDays(30))
	want := []struct {
		id, target string
		at         time.Time
	}{
		{dtCaseID + "-return-window-r1", casework.TargetTownshipGov, townshipAt},
		{dtCaseID + "-return-window-r2", casework.TargetSupervision, townshipAt},
		{dtCaseID + "-hq-window-r1", casework.TargetCountyHQ, countyAt},
		{dtCaseID + "-hq-window-r2", casework.TargetSupervision, countyAt},
	}
	raises := f.raised()
	if len(raises) != len(want) {
		t.Fatalf("want %d escalations, got %+v", len(want), raises)
	}
	for i, w := range want {
		got := raises[i]
		if got.ID != w.id || got.Target != w.target || !got.At.Equal(w.at) || got.UnitCode != dtSchoolCode ||
			got.CaseID != dtCaseID || got.Process != casework.ProcessDropout {
			t.Errorf("escalation %d: got %+v, want %s to %s at %v", i, got, w.id, w.target, w.at)
		}
	}
	if r := raises[0].Reason; !strings.Contains(r, "限期返校通知书") || !strings.Contains(r, "2025-04-02") {
		t.Errorf("township escalation carries no return-by notice: %q", r)
	}
	if atTownship.State != casework.DropoutTownship || atTownship.EscalationLevel != 1 {
		t.Errorf("status at day 16: %+v", atTownship)
	}
	if atCounty.State != casework.DropoutCountyHQ || atCounty.EscalationLevel != 2 {
		t.Errorf("status at day 31: %+v", atCounty)
	}
	wantSteps := []string{"dropout.return_notice:" + casework.DropoutTownship, "dropout.county_supervising:" + casework.DropoutCountyHQ,
		"dropout.vocational:" + casework.DropoutClosed}
	if got := f.stepActions(); !slices.Equal(got, wantSteps) {
		t.Errorf("steps %v, want %v", got, wantSteps)
	}
	notice, _ := f.steps[0].Audit.After.(map[string]any)["notice"].(string)
	if !strings.Contains(notice, "限期返校通知书") {
		t.Errorf("the return-by notice is not on record: %+v", f.steps[0].Audit.After)
	}
	if closing := f.closed; !slices.Equal(closing, []string{dtCaseID + "-return-window-r1", dtCaseID + "-hq-window-r1"}) {
		t.Errorf("the outcome should close the township and county escalations (not supervision's), closes %v", closing)
	}
	// The first-contact task climbed its own ladder, and was withdrawn when the case ended.
	if len(f.escalated) != 2 || f.escalated[0].Rung.Target != casework.TargetRemind || f.escalated[1].Rung.Target != casework.TargetSuperior {
		t.Errorf("first-contact ladder fired %+v", f.escalated)
	}
	if len(f.settles) != 1 || f.settles[0].State != casework.TaskCancelled {
		t.Errorf("first-contact task should be withdrawn, got %+v", f.settles)
	}
	if res.State != casework.DropoutClosed || res.Outcome != casework.OutcomeVocational {
		t.Errorf("result %+v", res)
	}
}

func TestDropoutReturnedThenQuietConsolidation(t *testing.T) {
	f := newDropoutFixture(t)
	f.updateAt(time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "电话联系家长", Actor: dtTeacher})
	ret := f.updateAt(dtDays(3), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeReturned, Note: "已返校", Actor: dtStaff})
	mid := f.queryAt(dtDays(4))
	again := f.updateAt(dtDays(5), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "x", Actor: dtStaff})
	res := f.run(dtInput())

	ret.mustComplete(t, "returned")
	again.mustReject(t, "outcome during consolidation", CodeWrongState, "consolidation")
	ends := dtStart.Add(dtDays(3)).Add(20 * 7 * dtDays(1))
	if mid.State != casework.DropoutConsolidating || mid.ConsolidationEnds == nil || !mid.ConsolidationEnds.Equal(ends) {
		t.Errorf("status in consolidation: %+v (want end %v)", mid, ends)
	}
	if res.State != casework.DropoutClosed || res.Outcome != casework.OutcomeReturned || res.Relapses != 0 {
		t.Errorf("result %+v", res)
	}
	wantSteps := []string{"dropout.returned:" + casework.DropoutConsolidating, "dropout.consolidated:" + casework.DropoutClosed}
	if got := f.stepActions(); !slices.Equal(got, wantSteps) {
		t.Errorf("steps %v, want %v", got, wantSteps)
	}
	if last := f.steps[1]; !last.Audit.At.Equal(ends) || last.Ledger.Outcome != casework.OutcomeReturned {
		t.Errorf("consolidation should end quietly at %v with outcome returned: %+v", ends, last)
	}
	if len(f.raises) != 0 {
		t.Errorf("no escalation expected, got %+v", f.raises)
	}
}

func TestDropoutRelapseReopensAndEscalatesAgain(t *testing.T) {
	f := newDropoutFixture(t)
	f.updateAt(time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodHomeVisit, Notes: "家访", Actor: dtTeacher})
	early := f.updateAt(dtDays(1), RecordAbsenceUpdate, DropoutAbsence{Date: "2025-03-04", Actor: dtTeacher})
	f.updateAt(dtDays(3), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeReturned, Note: "已返校", Actor: dtStaff})
	relapseAt := dtDays(40) // 12 April 2025
	before := f.updateAt(relapseAt-time.Hour, RecordAbsenceUpdate, DropoutAbsence{Date: "2025-03-05", Actor: dtTeacher})
	relapse := f.updateAt(relapseAt, RecordAbsenceUpdate, DropoutAbsence{Date: "2025-04-11", Note: "周五起未到校", Actor: dtTeacher})
	reopened := f.queryAt(relapseAt + time.Hour)
	out := f.updateAt(relapseAt+dtDays(31), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeSendHome, Note: "重度残疾，转送教上门",
		Actor: dtLeader})
	res := f.run(dtInput())

	early.mustReject(t, "absence while open", CodeWrongState, "consolidation")
	before.mustReject(t, "absence before the return", CodeInvalid, "before the student's return")
	relapse.mustComplete(t, "relapse")
	out.mustComplete(t, "send home")
	if reopened.State != casework.DropoutOpen || reopened.Relapses != 1 || reopened.FirstContactDone || reopened.EscalationLevel != 0 {
		t.Errorf("status after the relapse: %+v", reopened)
	}
	start := dtStart.Add(relapseAt)
	want := []string{dtCaseID + "-return-window-relapse1-r1", dtCaseID + "-return-window-relapse1-r2",
		dtCaseID + "-hq-window-relapse1-r1", dtCaseID + "-hq-window-relapse1-r2"}
	raises := f.raised()
	var got []string
	for _, r := range raises {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("escalations %v, want %v", got, want)
	}
	if !raises[0].At.Equal(start.Add(dtDays(15))) || !raises[2].At.Equal(start.Add(dtDays(30))) {
		t.Errorf("relapse escalations at %v and %v, want 15 and 30 days after %v", raises[0].At, raises[2].At, start)
	}
	if !strings.Contains(raises[0].Reason, "2025-04-11") {
		t.Errorf("the notice should count from the relapse's absence: %q", raises[0].Reason)
	}
	var contactTasks int
	for _, tk := range f.tasks {
		if tk.Spec.Kind == casework.KindDropoutFirstContact {
			contactTasks++
		}
	}
	if contactTasks != 2 {
		t.Errorf("a relapse should open a new first-contact task; opened %d", contactTasks)
	}
	actions := f.stepActions()
	if !slices.Contains(actions, "dropout.relapse:"+casework.DropoutOpen) {
		t.Errorf("no relapse on record: %v", actions)
	}
	last := f.steps[len(f.steps)-1]
	if last.Ledger.Outcome != casework.OutcomeSendHome || !strings.Contains(last.Ledger.OutcomeNote, "送教上门") ||
		last.Audit.After.(map[string]any)["handoff"] != "送教上门" {
		t.Errorf("send-home hand-off not recorded: %+v", last)
	}
	if res.State != casework.DropoutClosed || res.Outcome != casework.OutcomeSendHome || res.Relapses != 1 {
		t.Errorf("result %+v", res)
	}
	// The hand-off starts the student's plan with the responsible teacher and the county defaults.
	if len(f.plans) != 1 {
		t.Fatalf("send_home started %d plans, want 1", len(f.plans))
	}
	p := f.plans[0]
	if p.StudentID != dtStudent || !slices.Equal(p.TeacherIDs, []string{dtTeacher.UserID}) || p.DisabilityType != HandoffDisabilityType ||
		p.VisitsPerPeriod != 2 || p.Period != "1w" || p.MinMinutes != 135 || p.CreatedBy.UserID != dtLeader.UserID ||
		!strings.HasPrefix(p.PlanID, SendHomeWorkflowID(dtStudent)+"-") {
		t.Errorf("plan input %+v", p)
	}
	if last.Audit.After.(map[string]any)["sendhome_plan_id"] != p.PlanID {
		t.Errorf("the case's closing step should name the plan %s: %+v", p.PlanID, last.Audit.After)
	}
}

// TestDropoutSendHomeStartsPlan: the outcome's plan fields reach the plan, the case's
// responsible teacher first and the outcome's other teachers after it, each once.
func TestDropoutSendHomeStartsPlan(t *testing.T) {
	f := newDropoutFixture(t)
	term, _ := calendar.ParseSpec("10w")
	out := f.updateAt(dtDays(2), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeSendHome, Note: "重度残疾",
		SendHome: &SendHomeHandoff{DisabilityType: "肢体", DisabilityGrade: "一级", Goals: "生活自理", TeacherIDs: []string{"u-t2", dtTeacher.UserID},
			VisitsPerPeriod: 3, Period: casework.PeriodMonth, MinMinutes: 90, Term: term}, Actor: dtStaff})
	res := f.run(dtInput())
	out.mustComplete(t, "send home")
	if res.State != casework.DropoutClosed || res.Outcome != casework.OutcomeSendHome {
		t.Errorf("result %+v", res)
	}
	if len(f.plans) != 1 {
		t.Fatalf("send_home started %d plans, want 1", len(f.plans))
	}
	p := f.plans[0]
	if !slices.Equal(p.TeacherIDs, []string{dtTeacher.UserID, "u-t2"}) || p.DisabilityType != "肢体" || p.DisabilityGrade != "一级" ||
		p.Goals != "生活自理" || p.VisitsPerPeriod != 3 || p.Period != casework.PeriodMonth || p.MinMinutes != 90 ||
		p.Term.String() != "10w" || p.EvaluationDue.String() != "5wd" {
		t.Errorf("plan input %+v", p)
	}
}

// TestDropoutSendHomeNeedsATeacher: a case without a responsible teacher names the plan's teachers.
func TestDropoutSendHomeNeedsATeacher(t *testing.T) {
	f := newDropoutFixture(t)
	f.noTeacher = true
	none := f.updateAt(dtDays(1), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeSendHome, Actor: dtStaff})
	ok := f.updateAt(dtDays(2), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeSendHome,
		SendHome: &SendHomeHandoff{TeacherIDs: []string{"u-t2"}}, Actor: dtStaff})
	f.run(dtInput())
	none.mustReject(t, "no teacher", CodeInvalid, "teacher_ids")
	ok.mustComplete(t, "with a teacher")
	if len(f.plans) != 1 || !slices.Equal(f.plans[0].TeacherIDs, []string{"u-t2"}) {
		t.Errorf("plans %+v", f.plans)
	}
}

func TestDropoutTransferNeedsReceivingSchool(t *testing.T) {
	f := newDropoutFixture(t)
	noSchool := f.updateAt(time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeTransferred, Note: "转学", Actor: dtStaff})
	noNote := f.updateAt(2*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeClosed, Actor: dtStaff})
	unknown := f.updateAt(3*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: "expelled", Note: "x", Actor: dtStaff})
	outsider := f.updateAt(3*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeTransferred, ReceivingSchool: "某校",
		Actor: dtOutsider})
	ok := f.updateAt(4*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeTransferred, ReceivingSchool: "恩施市实验中学",
		Actor: dtStaff})
	res := f.run(dtInput())

	noSchool.mustReject(t, "transfer without receiving school", CodeInvalid, "receiving_school")
	noNote.mustReject(t, "closure without a reason", CodeInvalid, "note")
	unknown.mustReject(t, "unknown outcome", CodeOutcomeNotAllowed, "outcome")
	outsider.mustReject(t, "outcome by an outsider", CodeNotCandidate, "u-outsider")
	ok.mustComplete(t, "transfer")
	if got := ok.result.(DropoutStatus); got.State != casework.DropoutClosed || got.Outcome != casework.OutcomeTransferred {
		t.Errorf("transfer answered %+v", got)
	}
	if res.Outcome != casework.OutcomeTransferred {
		t.Errorf("result %+v", res)
	}
}

func TestDropoutClosureNeedsApproval(t *testing.T) {
	f := newDropoutFixture(t)
	wf := DropoutWorkflowID(dtStudent)
	ask := f.updateAt(time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeClosed, Note: "举家迁往外省，学籍未转",
		Actor: dtLeader})
	closing := f.queryAt(90 * time.Minute)
	blocked := f.updateAt(2*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "x", Actor: dtStaff})
	self := f.updateAt(2*time.Hour, TaskActionUpdate, TaskAction{TaskID: wf + "-t2", Action: ActionComplete, Outcome: casework.OutcomeApprove,
		Actor: dtLeader})
	reject := f.updateAt(3*time.Hour, TaskActionUpdate, TaskAction{TaskID: wf + "-t2", Action: ActionComplete, Outcome: casework.OutcomeReject,
		Comment: "请先核实去向", Actor: dtLeader2})
	reopened := f.queryAt(4 * time.Hour)
	// Asked again the day before the township deadline: the deadline still fires while the
	// request waits, and the approval closes the case.
	ask2 := f.updateAt(dtDays(14), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeClosed, Note: "经核实已在外省入学，学籍系统未转",
		Actor: dtStaff})
	during := f.queryAt(dtDays(15) + time.Hour)
	approve := f.updateAt(dtDays(16), TaskActionUpdate, TaskAction{TaskID: wf + "-t3", Action: ActionComplete, Outcome: casework.OutcomeApprove,
		Actor: dtLeader2})
	res := f.run(dtInput())

	ask.mustComplete(t, "closure request")
	if closing.State != casework.DropoutClosing || !closing.ClosePending {
		t.Errorf("status while the closure waits: %+v", closing)
	}
	blocked.mustReject(t, "outcome while closing", CodeWrongState, "approval")
	self.mustReject(t, "approval by the requester", CodeSeparationOfDuties, "separation of duties")
	reject.mustComplete(t, "reject")
	if reopened.State != casework.DropoutOpen || reopened.ClosePending {
		t.Errorf("status after the rejection: %+v", reopened)
	}
	ask2.mustComplete(t, "second closure request")
	if during.State != casework.DropoutClosing || during.EscalationLevel != 1 {
		t.Errorf("status after the township deadline, closure pending: %+v", during)
	}
	approve.mustComplete(t, "approve")

	var approvals []activities.TaskSpec
	for _, tk := range f.tasks {
		if tk.Spec.Kind == casework.KindDropoutCloseApproval {
			approvals = append(approvals, tk.Spec)
		}
	}
	if len(approvals) != 2 || approvals[0].CandidateRole != casework.RoleSchoolLeader ||
		!slices.Equal(approvals[0].Exclude, []string{dtLeader.UserID}) || !slices.Equal(approvals[1].Exclude, []string{dtStaff.UserID}) ||
		!slices.Equal(approvals[0].Outcomes, []string{casework.OutcomeApprove, casework.OutcomeReject}) || approvals[0].Due.String() != "3wd" {
		t.Errorf("close approval tasks %+v", approvals)
	}
	wantSteps := []string{"dropout.close_requested:" + casework.DropoutClosing, "dropout.close_rejected:" + casework.DropoutOpen,
		"dropout.close_requested:" + casework.DropoutClosing, "dropout.return_notice:" + casework.DropoutClosing,
		"dropout.closed:" + casework.DropoutClosed}
	if got := f.stepActions(); !slices.Equal(got, wantSteps) {
		t.Errorf("steps %v, want %v", got, wantSteps)
	}
	last := f.steps[len(f.steps)-1]
	if last.Ledger.Outcome != casework.OutcomeClosed || last.Ledger.OutcomeNote != "经核实已在外省入学，学籍系统未转" || last.Audit.Actor.UserID != dtLeader2.UserID {
		t.Errorf("closure step %+v", last)
	}
	if len(f.raises) != 2 {
		t.Errorf("the township deadline should fire while the closure waits: %+v", f.raises)
	}
	if res.State != casework.DropoutClosed || res.Outcome != casework.OutcomeClosed {
		t.Errorf("result %+v", res)
	}
}

func TestDropoutAttemptByOutsiderRejected(t *testing.T) {
	f := newDropoutFixture(t)
	outsider := f.updateAt(time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "电话", Actor: dtOutsider})
	badMethod := f.updateAt(2*time.Hour, LogAttemptUpdate, DropoutAttempt{Method: "sms", Notes: "短信", Actor: dtTeacher})
	noNotes := f.updateAt(2*time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "  ", Actor: dtTeacher})
	township := f.updateAt(3*time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodHomeVisit, Notes: "乡镇干部入户",
		Actor: dtTownship})
	f.updateAt(4*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeReturned, Actor: dtStaff})
	f.updateAt(5*time.Hour, RecordAbsenceUpdate, DropoutAbsence{Date: "2025-03-03", Actor: dtTeacher})
	f.updateAt(6*time.Hour, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "x", Actor: dtStaff})
	res := f.run(dtInput())

	outsider.mustReject(t, "attempt by an outsider", CodeNotCandidate, "u-outsider")
	badMethod.mustReject(t, "unknown method", CodeInvalid, "method")
	noNotes.mustReject(t, "no notes", CodeInvalid, "notes")
	township.mustComplete(t, "attempt by township staff")
	if !township.result.(AttemptLogged).FirstContact {
		t.Errorf("the township's attempt was the first contact: %+v", township.result)
	}
	if len(f.attempts) != 1 || f.attempts[0].By.UserID != dtTownship.UserID || f.attempts[0].Role != casework.RoleTownshipStaff {
		t.Errorf("attempts %+v", f.attempts)
	}
	// Completed by the township's attempt; the relapse's fresh task withdrawn at the end.
	if len(f.settles) != 2 || f.settles[0].State != casework.TaskDone || f.settles[1].State != casework.TaskCancelled {
		t.Errorf("first-contact settlements %+v", f.settles)
	}
	if res.Outcome != casework.OutcomeVocational || res.Relapses != 1 {
		t.Errorf("result %+v", res)
	}
}

func TestDropoutContinuesAsNewAfterRelapses(t *testing.T) {
	f := newDropoutFixture(t)
	at := time.Hour
	for i := range dropoutRelapsesPerRun {
		f.updateAt(at, RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeReturned, Actor: dtStaff})
		f.updateAt(at+dtDays(1), RecordAbsenceUpdate, DropoutAbsence{Date: dtStart.Add(at + dtDays(1)).In(calendar.CST).Format("2006-01-02"),
			Note: fmt.Sprintf("第 %d 次反复", i+1), Actor: dtTeacher})
		at += dtDays(2)
	}
	f.env.ExecuteWorkflow(DropoutCase, dtInput())
	if !f.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var can *workflow.ContinueAsNewError
	if err := f.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after %d relapses, got %v", dropoutRelapsesPerRun, err)
	}
	var next DropoutInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	r := next.Resume
	if r == nil || r.Relapses != dropoutRelapsesPerRun || r.Ledger.State != casework.DropoutOpen || r.Ledger.ID != dtCaseID ||
		r.TaskSeq != dropoutRelapsesPerRun || r.UnitCode != dtSchoolCode || next.Timings.ReturnWindow.String() != "15d" {
		t.Fatalf("carried over: %+v / %+v", next, r)
	}

	// The next run picks the case up without reopening it: a fresh round from the relapse.
	g := newDropoutFixture(t)
	g.env.SetStartTime(r.RoundStart)
	attempt := g.updateAt(time.Hour, LogAttemptUpdate, DropoutAttempt{Method: MethodPhone, Notes: "电话", Actor: dtTeacher})
	g.updateAt(dtDays(2), RecordOutcomeUpdate, DropoutOutcome{Outcome: casework.OutcomeVocational, Note: "入读职校", Actor: dtStaff})
	res := g.run(next)
	attempt.mustComplete(t, "attempt after continue-as-new")
	if g.openCalls != 0 {
		t.Errorf("the continued run reopened the case")
	}
	if len(g.tasks) != 1 || g.tasks[0].Spec.Kind != casework.KindDropoutFirstContact {
		t.Errorf("continued run opened %+v", g.tasks)
	}
	if got := attempt.result.(AttemptLogged); !got.FirstContact || got.AttemptID != fmt.Sprintf("%s-a%d", dtCaseID, r.Attempts+1) {
		t.Errorf("attempt after continue-as-new: %+v", got)
	}
	if len(g.settles) != 1 || g.settles[0].TaskID != fmt.Sprintf("%s-t%d", DropoutWorkflowID(dtStudent), r.TaskSeq+1) {
		t.Errorf("task numbering should continue: %+v", g.settles)
	}
	if res.Relapses != dropoutRelapsesPerRun || res.Outcome != casework.OutcomeVocational {
		t.Errorf("result %+v", res)
	}
}
