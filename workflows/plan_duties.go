package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

// DutyScheduleID is the Temporal Schedule that starts DutySweep after every month (包保 contacts)
// and so after every term (the schools' duties).
const DutyScheduleID = "plan-duty-check"

// DutyPeriods are the month and the term t falls in, [start, end). every 0: calendar months and
// school terms in China time (term 1 from 1 September, term 2 from 1 February); every > 0 (tests,
// demonstrations: JIAOFU_DUTY_CHECK_EVERY): periods of that length counted as PairingPeriod
// counts them, each one both a month and a term.
func DutyPeriods(t time.Time, every time.Duration) (mStart, mEnd, tStart, tEnd time.Time) {
	if every > 0 {
		mStart, mEnd = PairingPeriod(t, every)
		return mStart, mEnd, mStart, mEnd
	}
	c := t.In(calendar.CST)
	mStart = time.Date(c.Year(), c.Month(), 1, 0, 0, 0, 0, calendar.CST)
	mEnd = mStart.AddDate(0, 1, 0)
	switch {
	case c.Month() >= time.September:
		tStart, tEnd = time.Date(c.Year(), time.September, 1, 0, 0, 0, 0, calendar.CST), time.Date(c.Year()+1, time.February, 1, 0, 0, 0, 0, calendar.CST)
	case c.Month() >= time.February:
		tStart, tEnd = time.Date(c.Year(), time.February, 1, 0, 0, 0, 0, calendar.CST), time.Date(c.Year(), time.September, 1, 0, 0, 0, 0, calendar.CST)
	default:
		tStart, tEnd = time.Date(c.Year()-1, time.September, 1, 0, 0, 0, 0, calendar.CST), time.Date(c.Year(), time.February, 1, 0, 0, 0, 0, calendar.CST)
	}
	return mStart.UTC(), mEnd.UTC(), tStart.UTC(), tEnd.UTC()
}

// DutySweepInput is what the schedule starts every sweep with.
type DutySweepInput struct {
	Every  time.Duration  // 0: calendar months and terms (DutyPeriods)
	Quotas map[string]int // school duty kind → how many a term
}

// DutyCheckInput is one unit's check of the month that ended (and of the term, TermEnd set).
type DutyCheckInput struct {
	UnitCode             string
	MonthStart, MonthEnd time.Time
	TermStart, TermEnd   time.Time
	Quotas               map[string]int
}

// DutyCheckWorkflowID names a unit's check of the month ending at monthEnd.
func DutyCheckWorkflowID(unit string, monthEnd time.Time) string {
	return "duty-check-" + safe(unit) + "-" + strconv.FormatInt(monthEnd.Unix(), 10)
}

// ContactCaseID and SchoolDutyCaseID are the cases a unit's contact duty and a school's duty of
// a kind are recorded under (escalations, the timeline, the duty map).
func ContactCaseID(unit string) string          { return "contact-" + unit }
func SchoolDutyCaseID(kind, unit string) string { return "schoolduty-" + kind + "-" + unit }
func dutyDeadline(kind string, end time.Time) string {
	return kind + "-" + strconv.FormatInt(end.Unix(), 10)
}

// DutySweep runs after a month ends (the schedule: at 00:00 UTC on the 1st, 08:00 China time, or
// every JIAOFU_DUTY_CHECK_EVERY): it starts one short DutyCheck per unit owed a 包保 contact and,
// when a term ended with the month, per school and kindergarten, and ends. The checks run on
// their own (abandoned by the sweep); a unit's check id makes a repeated sweep a no-op.
func DutySweep(ctx workflow.Context, in DutySweepInput) (int, error) {
	at := sweepTime(ctx, "duty-sweep-scheduled-time")
	ref := at.Add(-12 * time.Hour) // in the month that ended
	if in.Every > 0 {
		ref = at.Add(-in.Every / 2)
	}
	mStart, mEnd, tStart, tEnd := DutyPeriods(ref, in.Every)
	check := DutyCheckInput{MonthStart: mStart, MonthEnd: mEnd, Quotas: in.Quotas}
	if tEnd.Equal(mEnd) {
		check.TermStart, check.TermEnd = tStart, tEnd
	}
	var units []string
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).DutyUnits,
		activities.DutyUnitsInput{Terms: !check.TermEnd.IsZero()}).Get(ctx, &units); err != nil {
		return 0, err
	}
	checks := make([]sweepCheck, len(units))
	for i, unit := range units {
		c := check
		c.UnitCode = unit
		checks[i] = sweepCheck{ID: DutyCheckWorkflowID(unit, mEnd), Unit: unit, Input: c}
	}
	return startSweepChecks(ctx, "duty-sweep-starts-together", DutyCheck, checks), nil
}

// DutyCheckResult is what a unit's check returns.
type DutyCheckResult struct {
	ContactMissing bool     // at the month's end
	Missing        []string // school duty kinds below quota at the term's end
	StillShort     []string // deadlines whose ladder ran to its end ("contact", or a school duty kind)
}

// DutyCheck checks one unit at a period's end: a unit someone answers for on the 包保 chain that
// they did not contact in the month gets a case deadline (contact_duty, case contact-<unit>) at
// the month's end, whose ladder reminds at the unit (naming that person) and then goes one rung
// up the chain; at a term's end, a school below a duty's quota gets one (school_duty, case
// schoolduty-<kind>-<unit>) per kind. Before each rung the unit is read again: a contact or a
// record entered late clears its deadline and closes the reminders already raised. The check
// ends when every deadline is cleared or has fired its last rung.
func DutyCheck(ctx workflow.Context, in DutyCheckInput) (DutyCheckResult, error) {
	var res DutyCheckResult
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return res, err
	}
	q := activities.DutyShortfallInput{UnitCode: in.UnitCode, MonthStart: in.MonthStart, MonthEnd: in.MonthEnd,
		TermStart: in.TermStart, TermEnd: in.TermEnd, Quotas: in.Quotas}
	var state activities.DutyShortfall
	read := func(ctx workflow.Context) error {
		return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).DutyShortfall, q).Get(ctx, &state)
	}
	if err := read(ctx); err != nil {
		return res, err
	}
	res.ContactMissing, res.Missing = state.ContactMissing, slices.Clone(state.Missing)
	names := map[string]string{} // deadline name → "contact" or the school duty kind
	met := func(what string) bool {
		if what == "contact" {
			return !state.ContactMissing
		}
		return !slices.Contains(state.Missing, what)
	}
	mu := workflow.NewMutex(ctx)
	var readAt time.Time
	inflight := 0
	tasks.Guard(func(ctx workflow.Context, fire func() error) error {
		inflight++
		defer func() { inflight-- }()
		if err := mu.Lock(ctx); err != nil {
			return err
		}
		defer mu.Unlock()
		if now := workflow.Now(ctx); !now.Equal(readAt) { // one read per rung instant
			readAt = now
			if err := read(ctx); err != nil {
				return err
			}
			var done []string
			for name, what := range names {
				if tasks.Deadline(name) != nil && met(what) {
					done = append(done, name)
				}
			}
			if len(done) > 0 {
				slices.Sort(done) // map order is not replayed: the activity's input must be
				if err := tasks.ClearDeadlines(ctx, "已补报", done...); err != nil {
					return err
				}
			}
		}
		return fire()
	})
	month := in.MonthStart.In(calendar.CST).Format("2006年1月")
	step := func(_ workflow.Context, d *DeadlineState, _ activities.RungAt) (string, error) {
		if what := names[d.Spec.Name]; what != "contact" {
			return fmt.Sprintf("本学期（%s 至 %s）未完成：%s", in.TermStart.In(calendar.CST).Format("2006-01-02"),
				in.TermEnd.Add(-time.Second).In(calendar.CST).Format("2006-01-02"), SchoolDutyLabel(what)), nil
		}
		who := state.ResponsibleName
		if who == "" {
			who = "包保责任人"
		}
		return fmt.Sprintf("%s（包保责任人）%s未联系本单位", who, month), nil
	}
	if state.ContactMissing {
		name := dutyDeadline("contact", in.MonthEnd)
		names[name] = "contact"
		if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlineContactDuty, Process: casework.ProcessPlan,
			CaseID: ContactCaseID(in.UnitCode), UnitCode: in.UnitCode, At: in.MonthEnd}, step); err != nil {
			return res, err
		}
	}
	for _, kind := range state.Missing {
		name := dutyDeadline(kind, in.TermEnd)
		names[name] = kind
		if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlineSchoolDuty, Process: casework.ProcessPlan,
			CaseID: SchoolDutyCaseID(kind, in.UnitCode), UnitCode: in.UnitCode, At: in.TermEnd}, step); err != nil {
			return res, err
		}
	}
	if err := workflow.Await(ctx, func() bool {
		if tasks.DeadlineFailed() != nil {
			return true
		}
		if inflight > 0 {
			return false
		}
		for name := range names {
			if !tasks.DeadlineSpent(name) {
				return false
			}
		}
		return true
	}); err != nil {
		return res, err
	}
	if err := tasks.DeadlineFailed(); err != nil {
		return res, err
	}
	for name, what := range names {
		if tasks.Deadline(name) != nil {
			res.StillShort = append(res.StillShort, what)
		}
	}
	slices.Sort(res.StillShort)
	return res, nil
}

// SchoolDutyLabel is a school duty kind's Chinese name.
func SchoolDutyLabel(kind string) string {
	for _, l := range casework.SchoolDutyKinds {
		if l.Name == kind {
			return l.Label
		}
	}
	return strings.TrimSpace(kind)
}

// DutyScheduleSpec is when DutySweep runs: at 00:00 UTC (08:00 China time) on the 1st of every
// month, eight hours after the month ended in China (the server's calendar is read in UTC, so no
// time-zone data is needed); every > 0 replaces it with periods of that length, at their ends.
func DutyScheduleSpec(every time.Duration) client.ScheduleSpec {
	if every > 0 {
		return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every, Offset: PairingScheduleOffset(every)}}}
	}
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{DayOfMonth: []client.ScheduleRange{{Start: 1}},
		Hour: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: 0}}, Second: []client.ScheduleRange{{Start: 0}},
		Month: []client.ScheduleRange{{Start: 1, End: 12}}, Comment: "包保联系·学校任务检查"}}}
}

// scheduledStartTime is the search attribute a Schedule sets on every run it starts: the run's
// nominal time, which a late or caught-up run keeps.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// sweepCheck is one unit's check a sweep starts: its workflow id (the unit's and the period's)
// and its input.
type sweepCheck struct {
	ID, Unit string
	Input    any
}

// startSweepChecks starts a sweep's checks as child workflows it abandons (they run on their own)
// and returns how many started. A check that is not started — its id taken, because the schedule
// caught up or the sweep was retried — is logged and skipped: its unit's period is checked
// already. From the change named change on, every start goes out in one workflow task and the
// sweep then waits for them all (a county's few hundred units are far below the server's limit of
// pending child starts, 2,000 by default). It used to wait for each before sending the next, a
// workflow task per unit: on a loaded machine a compressed period's sweep outlasted the period.
func startSweepChecks(ctx workflow.Context, change string, check any, checks []sweepCheck) int {
	together := workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	futures := make([]workflow.ChildWorkflowFuture, len(checks))
	started := 0
	wait := func(i int) {
		if err := futures[i].GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("check not started", "unit", checks[i].Unit, "workflow", checks[i].ID, "error", err)
			return
		}
		started++
	}
	for i, c := range checks {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: c.ID,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, check, c.Input)
		if !together {
			wait(i)
		}
	}
	if together {
		for i := range checks {
			wait(i)
		}
	}
	return started
}

// sweepTime is the instant a sweep takes the period that ended from (and a routine round its day
// and term, RoutineRound): the time its Schedule meant it to start. The run's own start was used before (change id): a run started late — the
// all-in-one service switched off over the month's last night and caught up (CatchupWindow 24h)
// more than 12 hours after it, or a compressed period's sweep more than half a period late on a
// busy machine (a simulated term found this) — took the period that had just begun for the one
// that ended, and the one that ended was never checked. A run not started by a Schedule (a test,
// an operator) has no nominal time and takes its start.
func sweepTime(ctx workflow.Context, change string) time.Time {
	if workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return workflow.Now(ctx)
	}
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok && !t.IsZero() {
		return t
	}
	return workflow.Now(ctx)
}
