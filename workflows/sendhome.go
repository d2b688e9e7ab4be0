package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

func init() { registerWorkflows(casework.ProcessSendHome, SendHomePlan) }

// Updates and the query of a send-home plan.
const (
	LogVisitUpdate = "log-visit" // SendHomeVisit → VisitLogged
	EndPlanUpdate  = "end-plan"  // SendHomeEnd → SendHomeStatus
	SendHomeQuery  = "sendhome"  // → SendHomeStatus
)

// SendHomeWorkflowID derives a plan's workflow id from the student: a student has at most one
// running plan; an ended one lets a new start.
func SendHomeWorkflowID(studentID string) string { return "sendhome-" + safe(studentID) }

// SendHomePlanID names one plan of a student (the workflow id is reused by later plans).
func SendHomePlanID(workflowID, suffix string) string { return workflowID + "-" + safe(suffix) }

// SendHomeInput starts a plan (一人一案). The API fills the county defaults for the fields a
// request leaves out; Term and EvaluationDue come from the settings.
type SendHomeInput struct {
	PlanID          string
	StudentID       string
	DisabilityType  string
	DisabilityGrade string
	TeacherIDs      []string
	Goals           string
	VisitsPerPeriod int
	Period          string // week, month, or a calendar spec (2w, 20s)
	MinMinutes      int
	Term            calendar.Spec // the length of a term: evaluation and renewal at its end
	EvaluationDue   calendar.Spec
	CreatedBy       access.Actor
	// Resume is set only by the workflow itself when it continues as new at a term's end.
	Resume *SendHomeResume
}

// SendHomeResume carries a plan into its next term: its row, the term's numbering, its open
// tasks (the evaluation) and its uncleared deadlines (a period that ended below quota and whose
// ladder is still climbing).
type SendHomeResume struct {
	Row       activities.SendHomeRow
	Periods   int // periods so far, over every term (deadline names quota-<n> stay unique)
	TaskSeq   int
	Tasks     []TaskState
	Deadlines []DeadlineState
	Visits    int // visits so far, over every term (visit ids stay unique)
}

// SendHomePeriodState is one period of the current term as the plan counts it.
type SendHomePeriodState struct {
	N       int       `json:"n"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Visits  int       `json:"visits"`
	Minutes int       `json:"minutes"`
	Met     bool      `json:"met"`
}

// SendHomeVisit is one visit as logged through LogVisitUpdate. VisitedOn is a date
// (YYYY-MM-DD, in China Standard Time) or an RFC 3339 instant. The API fills Actor.
type SendHomeVisit struct {
	VisitedOn    string
	Minutes      int
	Content      string
	EvidenceNote string
	TeacherIDs   []string
	Actor        access.Actor
}

// VisitLogged answers LogVisitUpdate.
type VisitLogged struct {
	VisitID    string `json:"visit_id"`
	State      string `json:"state"`
	Assessment bool   `json:"assessment"` // the plan's first visit
	Period     int    `json:"period"`     // the period it counts toward
	Visits     int    `json:"period_visits"`
	QuotaMet   bool   `json:"quota_met"`
}

// SendHomeEnd ends a plan (the child enrols, ages out or moves), through EndPlanUpdate.
type SendHomeEnd struct {
	Reason string
	Note   string
	Actor  access.Actor
}

// SendHomeStatus is a plan as its workflow sees it now.
type SendHomeStatus struct {
	PlanID          string                `json:"plan_id"`
	State           string                `json:"state"`
	TermNo          int                   `json:"term_no"`
	TermStart       time.Time             `json:"term_start"`
	TermEnd         time.Time             `json:"term_end"`
	VisitsPerPeriod int                   `json:"visits_per_period"`
	Periods         []SendHomePeriodState `json:"periods"`
	OpenDeadlines   []string              `json:"open_deadlines"`
	OpenTasks       int                   `json:"open_tasks"`
}

// SendHomeResult is what an ended plan returns.
type SendHomeResult struct {
	PlanID string
	State  string
	Reason string
	Visits int
}

// VisitRules are what a visit is checked against: the plan's shortest visit, its teachers,
// when it started, and the visits already logged (VisitKey).
type VisitRules struct {
	MinMinutes int
	TeacherIDs []string
	Start      time.Time
	Logged     []string
}

// VisitKey identifies a visit for the duplicate rule: its day or instant and its teachers.
func VisitKey(visitedOn string, teachers []string) string {
	ts := slices.Clone(teachers)
	slices.Sort(ts)
	return strings.TrimSpace(visitedOn) + "|" + strings.Join(ts, ",")
}

// VisitInstant is when a visit counts: an instant as given; a date at the end of that day in
// China Standard Time, or now when that is earlier (a visit logged on the day counts now); a day
// still to come at its midnight.
func VisitInstant(visitedOn string, now time.Time) (time.Time, error) {
	s := strings.TrimSpace(visitedOn)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, calendar.CST)
	if err != nil {
		return time.Time{}, err
	}
	end := d.AddDate(0, 0, 1).Add(-time.Second).UTC()
	switch {
	case d.After(now):
		return d.UTC(), nil // a day still to come: the future
	case now.Before(end):
		return now.UTC(), nil
	}
	return end, nil
}

// CheckVisit is the rule of a visit: the validator applies it, and the API calls it too, to
// answer at once without a round trip to the plan (one rule in one place, as CheckAttempt).
func CheckVisit(v SendHomeVisit, r VisitRules, now time.Time) error {
	if strings.TrimSpace(v.VisitedOn) == "" {
		return refuseField(CodeInvalid, "visited_on", because("required"), "visited_on: required")
	}
	at, err := VisitInstant(v.VisitedOn, now)
	if err != nil {
		return refuseField(CodeInvalid, "visited_on", because("date_format"), "visited_on: %q is not a date such as 2026-09-01", v.VisitedOn)
	}
	if at.After(now) {
		return refuseField(CodeInvalid, "visited_on", because("future"), "visited_on: %s is in the future", v.VisitedOn)
	}
	if !r.Start.IsZero() && at.Before(r.Start) {
		start := r.Start.In(calendar.CST).Format("2006-01-02")
		return refuseField(CodeInvalid, "visited_on", because("before_plan", "start", start), "visited_on: %s is before the plan started (%s)", v.VisitedOn, start)
	}
	if v.Minutes < r.MinMinutes {
		min := strconv.Itoa(r.MinMinutes)
		return refuseField(CodeInvalid, "minutes", because("too_short", "min", min), "minutes: a visit lasts at least %d minutes on this plan", r.MinMinutes)
	}
	if strings.TrimSpace(v.Content) == "" {
		return refuseField(CodeInvalid, "content", because("required"), "content: required")
	}
	if len(v.TeacherIDs) == 0 {
		return refuseField(CodeInvalid, "teacher_ids", because("required"), "teacher_ids: required")
	}
	for i, id := range v.TeacherIDs {
		if !slices.Contains(r.TeacherIDs, id) {
			return refuseField(CodeInvalid, fmt.Sprintf("teacher_ids[%d]", i), because("not_on_plan"), "teacher_ids[%d]: %q is not a teacher of this plan", i, id)
		}
	}
	if slices.Contains(r.Logged, VisitKey(v.VisitedOn, v.TeacherIDs)) {
		return refuseField(CodeInvalid, "visited_on", because("duplicate_visit"), "visited_on: a visit on %s by these teachers is already logged", v.VisitedOn)
	}
	return nil
}

// CheckEnd is the rule of ending a plan (the validator's and the API's).
func CheckEnd(e SendHomeEnd) error {
	if !slices.Contains(casework.SendHomeEndReasons, e.Reason) {
		return refuseField(CodeInvalid, "reason", because("one_of"), "reason: %q is not one of %v", e.Reason, casework.SendHomeEndReasons)
	}
	if e.Reason == casework.EndOther && strings.TrimSpace(e.Note) == "" {
		return refuseField(CodeInvalid, "note", because("required"), "note: required when the reason is other")
	}
	return nil
}

// PeriodEnd is when a period that starts at from ends: a week, a calendar month (in China
// Standard Time), or a calendar spec on the holiday calendar.
func PeriodEnd(period string, from time.Time, cal *calendar.Calendar) (time.Time, error) {
	switch period {
	case casework.PeriodWeek:
		return from.Add(7 * 24 * time.Hour).UTC(), nil
	case casework.PeriodMonth:
		return from.In(calendar.CST).AddDate(0, 1, 0).UTC(), nil
	}
	spec, err := calendar.ParseSpec(period)
	if err != nil {
		return time.Time{}, err
	}
	return spec.Due(cal, from), nil
}

// TermEnd is the end of the plan's period in which the term's length runs out (at termEnd): the
// term ends with its last period. A period of fixed length is counted in one step — a plan of
// 20-second periods (demos, tests) has over half a million in a 20-week term, and counting them
// one by one held the workflow task past the SDK's deadlock detector; the result is the same.
func TermEnd(period string, start, termEnd time.Time) (time.Time, error) {
	length, fixed := 7*24*time.Hour, period == casework.PeriodWeek
	if period != casework.PeriodWeek && period != casework.PeriodMonth {
		spec, err := calendar.ParseSpec(period)
		if err != nil {
			return time.Time{}, err
		}
		length, fixed = spec.Fixed()
	}
	if fixed && length > 0 {
		if !start.Before(termEnd) {
			return start.UTC(), nil
		}
		n := (termEnd.Sub(start) + length - 1) / length
		return start.Add(n * length).UTC(), nil
	}
	end := start
	for end.Before(termEnd) {
		next, err := PeriodEnd(period, end, nil)
		if err != nil {
			return time.Time{}, err
		}
		end = next
	}
	return end, nil
}

// CheckPeriod checks a plan's period as PeriodEnd reads it.
func CheckPeriod(period string) error {
	if period == casework.PeriodWeek || period == casework.PeriodMonth {
		return nil
	}
	if _, err := calendar.ParseSpec(period); err != nil {
		return refuseField(CodeInvalid, "period", because("period_format"), "period: %q is not week, month, or a period such as 2w or 20s", period)
	}
	return nil
}

type sendHomePlan struct {
	in      SendHomeInput
	tasks   *Tasks
	mu      workflow.Mutex
	row     activities.SendHomeRow
	periods []SendHomePeriodState // this term's, in order
	nPeriod int                   // periods so far, over every term
	visits  int
	keys    []string // this term's visits (VisitKey)
	ended   bool
	opened  bool
	busy    int // evaluations being recorded
	fatal   error
}

// SendHomePlan is a send-to-home plan: each period is a case deadline quota-<n> of kind
// visit_quota at the period's end, cleared once the period's visits reach the plan's quota; a
// period that ends below quota climbs the ladder (teachers, school leader, township central
// school, supervision office) while the next period runs. At a term's end the school leader's
// evaluation task opens and the plan continues as new with it and with the uncleared deadlines.
// The plan ends through EndPlanUpdate.
func SendHomePlan(ctx workflow.Context, in SendHomeInput) (SendHomeResult, error) {
	info := workflow.GetInfo(ctx)
	if in.PlanID == "" {
		in.PlanID = SendHomePlanID(info.WorkflowExecution.ID, info.OriginalRunID[:min(8, len(info.OriginalRunID))])
	}
	p := &sendHomePlan{in: in, mu: workflow.NewMutex(ctx)}
	var seq int
	var carried []TaskState
	if r := in.Resume; r != nil {
		seq, carried = r.TaskSeq, r.Tasks
	}
	var err error
	if p.tasks, err = NewTasks(ctx, seq, carried...); err != nil {
		return SendHomeResult{}, err
	}
	p.tasks.Guard(p.locked)
	if err := p.register(ctx); err != nil {
		return SendHomeResult{}, err
	}
	if r := in.Resume; r != nil {
		p.row, p.nPeriod, p.visits = r.Row, r.Periods, r.Visits
		for _, d := range r.Deadlines {
			p.tasks.ResumeDeadline(d, p.rungStep)
		}
		for _, task := range r.Tasks {
			p.awaitEvaluation(ctx, task.ID)
		}
		// The new term starts where the last ended.
		p.row.TermNo++
		p.row.TermStart = p.row.TermEnd
	} else {
		if err := p.open(ctx); err != nil {
			return SendHomeResult{}, err
		}
	}
	if err := p.startTerm(ctx); err != nil {
		return SendHomeResult{}, err
	}
	p.opened = true
	return p.run(ctx)
}

// open writes the plan's row as it starts.
func (p *sendHomePlan) open(ctx workflow.Context) error {
	in := p.in
	if in.StudentID == "" {
		return refuseField(CodeInvalid, "student_id", because("required"), "student_id: required")
	}
	if err := CheckPeriod(in.Period); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	var opened activities.SendHomeRow
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).OpenSendHomePlan, activities.OpenSendHomeInput{
		Row: activities.SendHomeRow{ID: in.PlanID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, StudentID: in.StudentID,
			DisabilityType: in.DisabilityType, DisabilityGrade: in.DisabilityGrade, TeacherIDs: in.TeacherIDs, Goals: in.Goals,
			VisitsPerPeriod: in.VisitsPerPeriod, Period: in.Period, MinMinutes: in.MinMinutes, State: casework.SendHomeAssessing,
			TermNo: 1, TermStart: now, CreatedBy: in.CreatedBy.UserID},
		By: in.CreatedBy, At: now}).Get(ctx, &opened); err != nil {
		return err
	}
	p.row = opened
	return nil
}

// startTerm counts the term's end from its start (aligned to the end of the period it falls in)
// and starts its first period.
func (p *sendHomePlan) startTerm(ctx workflow.Context) error {
	termEnd := p.in.Term.Due(nil, p.row.TermStart)
	if p.in.Term.IsZero() {
		termEnd = p.row.TermStart.Add(20 * 7 * 24 * time.Hour)
	}
	end, err := TermEnd(p.row.Period, p.row.TermStart, termEnd)
	if err != nil {
		return err
	}
	p.row.TermEnd = end
	p.periods, p.keys = nil, nil
	p.row.TermVisits, p.row.TermMinutes, p.row.TermQuota, p.row.MissedPeriods = 0, 0, 0, 0
	return p.locked(ctx, func() error { return p.startPeriod(ctx, p.row.TermStart, "sendhome.term_renewed") })
}

// startPeriod sets the next period's quota deadline and writes the row.
func (p *sendHomePlan) startPeriod(ctx workflow.Context, start time.Time, action string) error {
	end, err := PeriodEnd(p.row.Period, start, nil)
	if err != nil {
		return err
	}
	if end.After(p.row.TermEnd) {
		end = p.row.TermEnd
	}
	p.nPeriod++
	per := SendHomePeriodState{N: p.nPeriod, Start: start, End: end}
	p.periods = append(p.periods, per)
	p.row.PeriodNo, p.row.PeriodStart, p.row.PeriodEnd, p.row.PeriodVisits = per.N, start, end, 0
	p.row.TermQuota += p.row.VisitsPerPeriod
	if err := p.tasks.SetDeadline(ctx, DeadlineSpec{Name: quotaName(per.N), Kind: casework.DeadlineVisitQuota,
		Process: casework.ProcessSendHome, CaseID: p.row.ID, UnitCode: p.row.UnitCode, At: end, HolderID: p.leadTeacher()}, p.rungStep); err != nil {
		return err
	}
	if p.row.TermNo == 1 && per.N == 1 {
		return p.write(ctx, "", access.System, "", nil) // the opening is on record already
	}
	if p.in.Resume == nil && action == "sendhome.term_renewed" {
		action = "sendhome.period_started"
	}
	return p.write(ctx, action, access.System, "", map[string]any{"period": per.N, "period_end": end, "term_no": p.row.TermNo})
}

// leadTeacher is the plan's first teacher, whom a missed period's first rung names.
func (p *sendHomePlan) leadTeacher() string {
	if len(p.row.TeacherIDs) == 0 {
		return ""
	}
	return p.row.TeacherIDs[0]
}

func quotaName(n int) string { return "quota-" + strconv.Itoa(n) }

// rungStep says what a missed period's escalation carries.
func (p *sendHomePlan) rungStep(_ workflow.Context, d *DeadlineState, _ activities.RungAt) (string, error) {
	n, _ := strconv.Atoi(strings.TrimPrefix(d.Spec.Name, "quota-"))
	visits := 0
	for _, per := range p.periods {
		if per.N == n {
			visits = per.Visits
		}
	}
	return fmt.Sprintf("送教上门第 %d 周期送教 %d 次，未达到每周期 %d 次", n, visits, p.row.VisitsPerPeriod), nil
}

// run moves from period to period until the term ends (continue as new) or the plan ends.
func (p *sendHomePlan) run(ctx workflow.Context) (SendHomeResult, error) {
	for {
		if p.fatal == nil {
			p.fatal = p.tasks.DeadlineFailed()
		}
		if p.fatal != nil {
			return SendHomeResult{}, p.fatal
		}
		if p.ended {
			return p.finish(ctx)
		}
		end := p.row.PeriodEnd
		if wait := end.Sub(workflow.Now(ctx)); wait > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return p.ended || p.tasks.DeadlineFailed() != nil }); err != nil {
				return SendHomeResult{}, err
			}
			continue
		}
		if !end.Before(p.row.TermEnd) {
			return SendHomeResult{}, p.endTerm(ctx)
		}
		if err := p.locked(ctx, func() error {
			if p.ended || p.row.PeriodEnd != end {
				return nil
			}
			p.closePeriod()
			return p.startPeriod(ctx, end, "sendhome.period_started")
		}); err != nil {
			return SendHomeResult{}, err
		}
	}
}

// closePeriod counts the period that just ended.
func (p *sendHomePlan) closePeriod() {
	if per := p.current(); per != nil && !per.Met {
		p.row.MissedPeriods++
	}
}

func (p *sendHomePlan) current() *SendHomePeriodState {
	if len(p.periods) == 0 {
		return nil
	}
	return &p.periods[len(p.periods)-1]
}

// endTerm opens the school leader's evaluation and continues as new into the next term, with
// the open tasks and the uncleared deadlines (the last period's among them: its rungs fire in
// the next run).
func (p *sendHomePlan) endTerm(ctx workflow.Context) error {
	if err := p.locked(ctx, func() error {
		if p.ended {
			return nil
		}
		p.closePeriod()
		_, err := p.tasks.Open(ctx, activities.TaskSpec{Process: casework.ProcessSendHome, Kind: casework.KindSendHomeEvaluation,
			CaseID: p.row.ID, Title: fmt.Sprintf("送教上门学期评估：%s（第 %d 学期）", p.row.StudentName, p.row.TermNo),
			CandidateRole: casework.RoleSchoolLeader, UnitCode: p.row.UnitCode, Due: p.in.EvaluationDue,
			Outcomes: []string{casework.OutcomeRenew}, CommentRequired: []string{casework.OutcomeRenew}})
		return err
	}); err != nil {
		return err
	}
	if p.ended { // ended while the term closed
		_, err := p.finish(ctx)
		return err
	}
	if err := p.tasks.Quiesce(ctx); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return p.busy == 0 && !p.mu.IsLocked() }); err != nil {
		return err
	}
	if p.ended {
		_, err := p.finish(ctx)
		return err
	}
	in := p.in
	in.Resume = &SendHomeResume{Row: p.row, Periods: p.nPeriod, TaskSeq: p.tasks.Seq(), Tasks: p.tasks.Carry(), Visits: p.visits}
	for _, d := range p.tasks.CarryDeadlines() {
		if d.Level < len(d.Rungs) { // a deadline whose ladder is spent has nothing left to fire
			in.Resume.Deadlines = append(in.Resume.Deadlines, d)
		}
	}
	return workflow.NewContinueAsNewError(ctx, SendHomePlan, in)
}

// awaitEvaluation waits, beside the plan, for a carried evaluation task and records it.
func (p *sendHomePlan) awaitEvaluation(ctx workflow.Context, id string) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		res, err := p.tasks.Wait(ctx, id)
		if err != nil || res.Outcome == "" {
			return // the run gives way (the task is carried), or the plan ended and cancelled it
		}
		p.busy++
		defer func() { p.busy-- }()
		_ = p.locked(ctx, func() error {
			return p.write(ctx, "sendhome.evaluated", res.By, res.Role, map[string]any{"task_id": id, "comment": res.Comment})
		})
	})
}

func (p *sendHomePlan) finish(ctx workflow.Context) (SendHomeResult, error) {
	if err := p.tasks.Finish(ctx); err != nil {
		return SendHomeResult{}, err
	}
	if err := p.locked(ctx, func() error { return nil }); err != nil {
		return SendHomeResult{}, err
	}
	return SendHomeResult{PlanID: p.row.ID, State: p.row.State, Reason: p.row.EndReason, Visits: p.visits}, p.fatal
}

func (p *sendHomePlan) locked(ctx workflow.Context, f func() error) error {
	if err := p.mu.Lock(ctx); err != nil {
		return err
	}
	defer p.mu.Unlock()
	return f()
}

// write puts the row on record, with an audit entry when action is set.
func (p *sendHomePlan) write(ctx workflow.Context, action string, by access.Actor, role string, detail map[string]any) error {
	step := activities.SendHomeStep{Row: p.row}
	if action != "" {
		if detail == nil {
			detail = map[string]any{}
		}
		detail["state"] = p.row.State
		step.Audit = &activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessSendHome, CaseID: p.row.ID,
			After: detail, At: workflow.Now(ctx)}
	}
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SetSendHomePlan, step).Get(ctx, nil); err != nil {
		return err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(p.row.State))
	return nil
}

func (p *sendHomePlan) status() SendHomeStatus {
	s := SendHomeStatus{PlanID: p.row.ID, State: p.row.State, TermNo: p.row.TermNo, TermStart: p.row.TermStart, TermEnd: p.row.TermEnd,
		VisitsPerPeriod: p.row.VisitsPerPeriod, Periods: slices.Clone(p.periods), OpenTasks: p.tasks.OpenCount()}
	for _, d := range p.tasks.CarryDeadlines() {
		s.OpenDeadlines = append(s.OpenDeadlines, d.Spec.Name)
	}
	return s
}

func (p *sendHomePlan) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, SendHomeQuery, func() (SendHomeStatus, error) { return p.status(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, LogVisitUpdate, p.logVisit,
		workflow.UpdateHandlerOptions{Validator: p.validateVisit}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, EndPlanUpdate, p.endPlan,
		workflow.UpdateHandlerOptions{Validator: p.validateEnd})
}

func (p *sendHomePlan) refuseEnded() error {
	if !p.opened {
		return refuseField(CodeWrongState, "", because("opening"), "the plan is still being opened; try again")
	}
	if p.ended {
		return refuseField(CodeTaskNotOpen, "", because("case_closed"), "plan %s has ended", p.row.ID)
	}
	return nil
}

// actingRole is the role through which a may act on the plan: a teacher of the plan, or school
// staff, a school leader, township staff or the education section over its unit.
func (p *sendHomePlan) actingRole(a access.Actor) string {
	if slices.Contains(p.row.TeacherIDs, a.UserID) {
		return casework.RoleTeacher
	}
	for _, r := range []string{casework.RoleSchoolLeader, casework.RoleSchoolStaff, casework.RoleTownshipStaff, casework.RoleEducationSection} {
		if a.Can(r, p.row.UnitPath) {
			return r
		}
	}
	return ""
}

func (p *sendHomePlan) rules() VisitRules {
	return VisitRules{MinMinutes: p.row.MinMinutes, TeacherIDs: p.row.TeacherIDs, Start: p.row.CreatedAt, Logged: p.keys}
}

func (p *sendHomePlan) validateVisit(ctx workflow.Context, v SendHomeVisit) error {
	if err := p.refuseEnded(); err != nil {
		return err
	}
	if p.actingRole(v.Actor) == "" {
		return refuse(CodeNotCandidate, "%s may not log visits on this plan: it is for its teachers, or school staff and leaders over unit %s",
			v.Actor.Username, p.row.UnitCode)
	}
	return CheckVisit(v, p.rules(), workflow.Now(ctx))
}

// logVisit records the visit and counts it toward the period it falls in; the period's quota
// met clears its deadline (and closes the reminders its ladder had raised, if the visit was
// logged late).
func (p *sendHomePlan) logVisit(ctx workflow.Context, v SendHomeVisit) (VisitLogged, error) {
	var out VisitLogged
	err := p.locked(ctx, func() error {
		if err := p.validateVisit(ctx, v); err != nil {
			return err
		}
		now := workflow.Now(ctx)
		at, _ := VisitInstant(v.VisitedOn, now)
		// The period the visit falls in; one before this term counts toward the term's first.
		idx := 0
		for i, per := range p.periods {
			if !at.Before(per.Start) {
				idx = i
			}
		}
		per := &p.periods[idx]
		p.visits++
		assessment := p.row.State == casework.SendHomeAssessing
		id := fmt.Sprintf("%s-v%d", p.row.ID, p.visits)
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).RecordSendHomeVisit, activities.SendHomeVisitInput{
			ID: id, PlanID: p.row.ID, TermNo: p.row.TermNo, PeriodNo: per.N, VisitedOn: strings.TrimSpace(v.VisitedOn), Minutes: v.Minutes,
			Content: v.Content, EvidenceNote: v.EvidenceNote, TeacherIDs: v.TeacherIDs, Assessment: assessment,
			By: v.Actor, Role: p.actingRole(v.Actor), At: now}).Get(ctx, nil); err != nil {
			p.visits--
			return err
		}
		p.keys = append(p.keys, VisitKey(v.VisitedOn, v.TeacherIDs))
		per.Visits++
		per.Minutes += v.Minutes
		p.row.TermVisits++
		p.row.TermMinutes += v.Minutes
		p.row.TotalVisits++
		if per.N == p.row.PeriodNo {
			p.row.PeriodVisits = per.Visits
		}
		action := ""
		if assessment {
			p.row.State, action = casework.SendHomeActive, "sendhome.assessed"
		}
		out = VisitLogged{VisitID: id, Assessment: assessment, Period: per.N, Visits: per.Visits}
		if !per.Met && per.Visits >= p.row.VisitsPerPeriod {
			per.Met, out.QuotaMet = true, true
			if per.End.Before(now) || per.End.Equal(now) {
				// Logged after its period ended: what the clock had raised goes on record first.
				if err := p.tasks.FireDue(ctx); err != nil {
					return err
				}
				if p.row.MissedPeriods > 0 {
					p.row.MissedPeriods--
				}
			}
			if err := p.tasks.ClearDeadlines(ctx, fmt.Sprintf("第 %d 周期送教次数已达标", per.N), quotaName(per.N)); err != nil {
				return err
			}
			if action == "" {
				action = "sendhome.quota_met"
			}
		}
		out.State = p.row.State
		if action == "" {
			return p.write(ctx, "", v.Actor, "", nil)
		}
		return p.write(ctx, action, v.Actor, p.actingRole(v.Actor), map[string]any{"period": per.N, "visits": per.Visits})
	})
	return out, err
}

func (p *sendHomePlan) validateEnd(_ workflow.Context, e SendHomeEnd) error {
	if err := p.refuseEnded(); err != nil {
		return err
	}
	role := p.actingRole(e.Actor)
	if role == "" || role == casework.RoleTeacher && !e.Actor.Can(casework.RoleSchoolLeader, p.row.UnitPath) {
		return refuse(CodeNotCandidate, "%s may not end this plan: school staff, a school leader, township staff or the education section over unit %s may",
			e.Actor.Username, p.row.UnitCode)
	}
	return CheckEnd(e)
}

// endPlan ends the plan with its reason: its deadlines are cleared (their reminders close with
// the reason; the supervision office's stay with it) and its open tasks are cancelled.
func (p *sendHomePlan) endPlan(ctx workflow.Context, e SendHomeEnd) (SendHomeStatus, error) {
	err := p.locked(ctx, func() error {
		if err := p.validateEnd(ctx, e); err != nil {
			return err
		}
		if err := p.tasks.FireDue(ctx); err != nil {
			return err
		}
		var names []string
		for _, d := range p.tasks.CarryDeadlines() {
			names = append(names, d.Spec.Name)
		}
		decision := "送教结束：" + e.Reason
		if err := p.tasks.ClearDeadlines(ctx, decision, names...); err != nil {
			return err
		}
		role := p.actingRole(e.Actor)
		for _, task := range p.tasks.Carry() {
			if err := p.tasks.Settle(ctx, task.ID, "", e.Actor, role, decision); err != nil {
				return err
			}
		}
		p.row.State, p.row.EndReason, p.row.EndNote = casework.SendHomeEnded, e.Reason, strings.TrimSpace(e.Note)
		p.ended = true
		return p.write(ctx, "sendhome.ended", e.Actor, role, map[string]any{"reason": e.Reason, "note": p.row.EndNote})
	})
	return p.status(), err
}
