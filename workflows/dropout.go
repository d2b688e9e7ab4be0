package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

func init() { registerWorkflows(casework.ProcessDropout, DropoutCase) }

// Dropout task kinds, outcomes and attempt methods, fixed names that clients use. The close
// approval task decides with OutcomeApprove and OutcomeReject.
const (
	MethodHomeVisit = "home_visit"
	MethodPhone     = "phone"
	MethodOther     = "other"
)

// DropoutOutcomes lists the outcomes record-outcome takes; AttemptMethods the methods of an attempt.
var (
	DropoutOutcomes = []string{casework.OutcomeReturned, casework.OutcomeTransferred, casework.OutcomeSendHome, casework.OutcomeVocational, casework.OutcomeClosed}
	AttemptMethods  = []string{MethodHomeVisit, MethodPhone, MethodOther}
)

// Updates and the query of a dropout case.
const (
	LogAttemptUpdate    = "log-attempt"    // DropoutAttempt → AttemptLogged
	RecordOutcomeUpdate = "record-outcome" // DropoutOutcome → DropoutStatus
	RecordAbsenceUpdate = "record-absence" // DropoutAbsence → DropoutStatus
	DropoutQuery        = "dropout"        // → DropoutStatus
)

// DropoutWorkflowID derives a case's workflow id from the student: with a conflict policy that
// refuses a running duplicate, a student has at most one open case; a closed one lets a new start.
func DropoutWorkflowID(studentID string) string { return "dropout-" + safe(studentID) }

// DropoutCaseID names one case of a student: the workflow id is reused by the student's later
// cases, so the API adds a short suffix of its own (a random token, or the opening date).
func DropoutCaseID(workflowID, suffix string) string { return workflowID + "-" + safe(suffix) }

// DropoutTimings are the case's configurable deadlines, fixed when the case opens; an unset one
// takes its default (DefaultDropoutTimings).
type DropoutTimings struct {
	FirstContact     calendar.Spec // the responsible teacher's first contact with the family
	ReturnWindow     calendar.Spec // not back by then: township government and supervision office
	HQWindow         calendar.Spec // still not back this much later: county HQ and supervision office
	Consolidation    calendar.Spec // watch after a return (包巩固), about one term
	CloseApprovalDue calendar.Spec // the school leader's decision on a closure
}

// DefaultDropoutTimings are the deadlines of config.Default().
func DefaultDropoutTimings() DropoutTimings {
	must := func(s string) calendar.Spec {
		spec, err := calendar.ParseSpec(s)
		if err != nil {
			panic(err)
		}
		return spec
	}
	return DropoutTimings{FirstContact: must("1wd"), ReturnWindow: must("15d"), HQWindow: must("15d"),
		Consolidation: must("20w"), CloseApprovalDue: must("3wd")}
}

func (t DropoutTimings) withDefaults() DropoutTimings {
	d := DefaultDropoutTimings()
	for _, f := range []struct{ v, def *calendar.Spec }{{&t.FirstContact, &d.FirstContact}, {&t.ReturnWindow, &d.ReturnWindow},
		{&t.HQWindow, &d.HQWindow}, {&t.Consolidation, &d.Consolidation}, {&t.CloseApprovalDue, &d.CloseApprovalDue}} {
		if f.v.IsZero() {
			*f.v = *f.def
		}
	}
	return t
}

// DropoutInput opens a case. CaseID should be DropoutCaseID(workflow id, suffix); when empty,
// the workflow derives one from its first run's id.
type DropoutInput struct {
	CaseID         string
	StudentID      string
	Reason         string
	LastAttendedOn string // YYYY-MM-DD
	OpenedBy       access.Actor
	Timings        DropoutTimings
	// HistoryEvents: past this many events an idle case continues as new (config
	// JIAOFU_HISTORY_EVENTS; 0: only when Temporal suggests it).
	HistoryEvents int
	// Resume is set only by the workflow itself when it continues as new; callers leave it nil.
	Resume *DropoutResume
}

// DropoutResume carries a case into its next run: at a relapse, before the new round starts
// (Round is nil), or on a long history while the case is idle (no task open, nothing writing),
// with the round under way and its deadlines.
type DropoutResume struct {
	Ledger      activities.DropoutLedger
	StudentName string
	UnitCode    string
	UnitName    string // "" in runs continued before it was carried: the code stands in
	Attempts    int
	Relapses    int
	TaskSeq     int
	RoundStart  time.Time // when the relapse that starts the new run's round was reported
	RoundSince  string    // the day of that absence
	// Set when the case continued as new mid-round or in consolidation.
	Round             *DropoutRoundState
	ConsolidationEnds time.Time
	ReturnedOn        string
}

// DropoutRoundState is a round under way as it crosses continue-as-new.
type DropoutRoundState struct {
	N          int
	Since      string
	TownshipAt time.Time
	CountyAt   time.Time
	Contacted  bool
	Attempts   int      // attempts logged in the round (0 from runs before it was carried)
	Raised     []string // the round's non-supervision escalations, closed by its decision
	// Kit: the round's windows are case deadlines of the kit (Deadlines, uncleared), not the
	// case's own timers (false in rounds of cases opened before dropout-case-kit).
	Kit       bool
	Deadlines []DeadlineState
}

// DropoutAttempt is one persuasion attempt as logged through LogAttemptUpdate. The API fills
// Actor from the caller's token.
type DropoutAttempt struct {
	Method   string
	Notes    string
	Visitors []string
	Actor    access.Actor
}

// AttemptLogged answers LogAttemptUpdate: FirstContact tells that the attempt was the first of
// its round and closed the first-contact task.
type AttemptLogged struct {
	AttemptID    string `json:"attempt_id"`
	FirstContact bool   `json:"first_contact"`
	State        string `json:"state"`
}

// DropoutOutcome is the outcome a person records through RecordOutcomeUpdate. ReceivingSchool is
// required for a transfer, Note (the documented reason) for a closure.
type DropoutOutcome struct {
	Outcome         string
	Note            string
	ReceivingSchool string
	// SendHome is the plan a send_home outcome starts (cases past dropout-sendhome-plan): the
	// API fills the county defaults; when nil, DefaultSendHomeHandoff stands in.
	SendHome *SendHomeHandoff `json:",omitempty"`
	Actor    access.Actor
}

// SendHomeHandoff is what a send_home outcome passes to the plan it starts (SendHomeInput's
// fields): the case's responsible teacher leads the plan's teachers, TeacherIDs adds others.
type SendHomeHandoff struct {
	DisabilityType  string
	DisabilityGrade string
	Goals           string
	TeacherIDs      []string
	VisitsPerPeriod int
	Period          string
	MinMinutes      int
	Term            calendar.Spec
	EvaluationDue   calendar.Spec
}

// HandoffDisabilityType is a handed-off plan's disability type when the outcome does not give
// one: the plan's first visit is its assessment, which establishes it.
const HandoffDisabilityType = "待评估"

// DefaultSendHomeHandoff is the plan of config.Default() (JIAOFU_SENDHOME_*).
func DefaultSendHomeHandoff() SendHomeHandoff {
	must := func(s string) calendar.Spec {
		spec, err := calendar.ParseSpec(s)
		if err != nil {
			panic(err)
		}
		return spec
	}
	return SendHomeHandoff{DisabilityType: HandoffDisabilityType, VisitsPerPeriod: 2, Period: "1w", MinMinutes: 135,
		Term: must("20w"), EvaluationDue: must("5wd")}
}

// withDefaults fills what h leaves out from DefaultSendHomeHandoff.
func (h *SendHomeHandoff) withDefaults() SendHomeHandoff {
	d := DefaultSendHomeHandoff()
	if h == nil {
		return d
	}
	out := *h
	out.DisabilityType = strings.TrimSpace(out.DisabilityType)
	if out.DisabilityType == "" {
		out.DisabilityType = d.DisabilityType
	}
	if out.VisitsPerPeriod <= 0 {
		out.VisitsPerPeriod = d.VisitsPerPeriod
	}
	if strings.TrimSpace(out.Period) == "" {
		out.Period = d.Period
	}
	if out.MinMinutes <= 0 {
		out.MinMinutes = d.MinMinutes
	}
	if out.Term.IsZero() {
		out.Term = d.Term
	}
	if out.EvaluationDue.IsZero() {
		out.EvaluationDue = d.EvaluationDue
	}
	return out
}

// DropoutAbsence reports, through RecordAbsenceUpdate, that a returned student is absent again
// during consolidation: a relapse, which reopens the case.
type DropoutAbsence struct {
	Date  string // YYYY-MM-DD
	Note  string
	Actor access.Actor
}

// DropoutStatus is the case as its workflow sees it.
type DropoutStatus struct {
	CaseID            string     `json:"case_id"`
	StudentID         string     `json:"student_id"`
	State             string     `json:"state"`
	Outcome           string     `json:"outcome,omitempty"`
	TeacherID         string     `json:"teacher_id,omitempty"`
	EscalationLevel   int        `json:"escalation_level"`
	Attempts          int        `json:"attempts"`
	Relapses          int        `json:"relapses"`
	FirstContactDone  bool       `json:"first_contact_done"`
	TownshipDueAt     *time.Time `json:"township_due_at,omitempty"`
	CountyDueAt       *time.Time `json:"county_due_at,omitempty"`
	ConsolidationEnds *time.Time `json:"consolidation_ends,omitempty"`
	ClosePending      bool       `json:"close_pending,omitempty"`
}

// DropoutResult is how a case ended.
type DropoutResult struct {
	CaseID   string
	State    string
	Outcome  string
	Attempts int
	Relapses int
}

// dropoutRelapsesPerRun bounds the history of one run: each relapse adds a round of tasks,
// timers and escalations, so after this many the case continues as new (and sooner when
// Temporal suggests it). Attempts add little, and a case otherwise lasts a term or two.
const dropoutRelapsesPerRun = 5

// dropoutRoles may log attempts, record outcomes and report absences, within the case's unit.
var dropoutRoles = []string{casework.RoleTeacher, casework.RoleSchoolStaff, casework.RoleSchoolLeader, casework.RoleTownshipStaff}

// Escalation levels of a round, as the ledger's escalation_level shows them.
const (
	dropoutLevelSchool   = 0
	dropoutLevelTownship = 1
	dropoutLevelCounty   = 2
)

// dropoutRound is one stretch of absence: the case's opening, or a relapse. Each round has its
// own first-contact task and its own township and county deadlines.
type dropoutRound struct {
	n           int    // 0 for the opening, k for the k-th relapse
	since       string // the day the student was last in school, or the relapse's absence
	townshipAt  time.Time
	countyAt    time.Time
	contactTask string // id of the round's first-contact task while it is open
	contactOver bool   // the first-contact task was completed, withdrawn, or could not open
	contacted   bool   // first contact happened (an attempt, or the teacher completed the task)
	attempts    int    // attempts logged in this round, which the return notice counts
	raised      []string
	// kit: the township and county windows are the kit's case deadlines (deadline.go) of kinds
	// dropout_return_window and dropout_hq_window, whose ladders an admin may edit; otherwise
	// (cases opened before dropout-case-kit) the run loop times them and raises fixed targets.
	kit bool
}

// Names of the round's windows as case deadlines: escalation ids read <case>-return-window-r1.
func (r *dropoutRound) returnWindow() string { return r.deadlineName("return-window") }
func (r *dropoutRound) hqWindow() string     { return r.deadlineName("hq-window") }
func (r *dropoutRound) deadlineName(base string) string {
	if r.n > 0 {
		return fmt.Sprintf("%s-relapse%d", base, r.n)
	}
	return base
}

func (r *dropoutRound) carry(tasks *Tasks) *DropoutRoundState {
	rs := &DropoutRoundState{N: r.n, Since: r.since, TownshipAt: r.townshipAt, CountyAt: r.countyAt, Contacted: r.contacted,
		Attempts: r.attempts, Raised: r.raised, Kit: r.kit}
	if r.kit {
		rs.Deadlines = tasks.CarryDeadlines()
	}
	return rs
}

// dropoutCase is the workflow's state. Every change of state runs under mu, so that a deadline
// firing and a person's update never write the ledger over each other; the new state is
// committed only after the ledger has it.
type dropoutCase struct {
	ctx      workflow.Context // the workflow's root context, for goroutines that outlive an update
	in       DropoutInput
	tasks    *Tasks
	mu       workflow.Mutex
	opened   bool
	row      activities.DropoutLedger
	student  string
	unitCode string
	unitName string

	attempts, relapses, relapsesThisRun int

	round        *dropoutRound
	roundPending bool
	roundStart   time.Time
	roundSince   string

	consolidationEnds time.Time
	returnedOn        string
	closeReq          *DropoutOutcome
	fatal             error
	// boundHistory: this run continues as new when its history is long and the case idle
	// (cases started before this version do not, so that their replay takes the same steps).
	boundHistory bool
	// kit: the case's rounds set their windows as the kit's case deadlines and settle their
	// tasks through the kit (Tasks.Settle); cases started before dropout-case-kit keep their
	// own timers and activities until they close.
	kit bool
}

// DropoutCase runs one dropout persuasion case (控辍保学·劝返): the responsible teacher's first
// contact and logged attempts; township and county supervision, each also reported to the
// supervision office, when the student is not back in time; the outcome, with a consolidation
// watch after a return that reopens the case on a relapse, and a school leader's approval for a
// closure without return.
//
// First contact is a task of the shared mechanism (Tasks.Run, so it sits in the teacher's inbox,
// can be transferred or urged, and climbs the dropout_first_contact ladder when late), run
// beside the case. The first attempt logged through log-attempt completes it from inside the
// workflow (outcome contacted, by the person who logged the attempt); the teacher may also
// complete it from the inbox. A round that ends before any contact withdraws it. One update thus
// both logs the attempt and closes the task, with nothing left for the API to coordinate.
func DropoutCase(ctx workflow.Context, in DropoutInput) (DropoutResult, error) {
	in.Timings = in.Timings.withDefaults()
	info := workflow.GetInfo(ctx)
	if in.CaseID == "" {
		in.CaseID = DropoutCaseID(info.WorkflowExecution.ID, info.OriginalRunID[:min(8, len(info.OriginalRunID))])
	}
	c := &dropoutCase{ctx: ctx, in: in, mu: workflow.NewMutex(ctx)}
	seq := 0
	if in.Resume != nil {
		seq = in.Resume.TaskSeq
	}
	var err error
	if c.tasks, err = NewTasks(ctx, seq); err != nil {
		return DropoutResult{}, err
	}
	if err := c.register(ctx); err != nil {
		return DropoutResult{}, err
	}
	c.boundHistory = workflow.GetVersion(ctx, "dropout-continue-on-long-history", workflow.DefaultVersion, 1) == 1
	c.kit = workflow.GetVersion(ctx, "dropout-case-kit", workflow.DefaultVersion, 1) == 1
	if c.kit {
		c.tasks.Guard(c.locked)
	}

	if r := in.Resume; r != nil {
		c.row, c.student, c.unitCode, c.attempts, c.relapses = r.Ledger, r.StudentName, r.UnitCode, r.Attempts, r.Relapses
		c.unitName = r.UnitName
		c.roundStart, c.roundSince = r.RoundStart, r.RoundSince
		c.consolidationEnds, c.returnedOn = r.ConsolidationEnds, r.ReturnedOn
		if rs := r.Round; rs != nil {
			c.round = &dropoutRound{n: rs.N, since: rs.Since, townshipAt: rs.TownshipAt, countyAt: rs.CountyAt,
				contactOver: true, contacted: rs.Contacted, attempts: rs.Attempts, raised: rs.Raised, kit: rs.Kit}
			for _, d := range rs.Deadlines {
				c.tasks.ResumeDeadline(d, c.windowStep(c.round, c.windowLevel(c.round, d.Spec.Name)))
			}
		}
	} else {
		if in.StudentID == "" {
			return DropoutResult{}, refuseField(CodeInvalid, "student_id", because("required"), "student_id: required")
		}
		var opened activities.DropoutOpened
		openedAt := workflow.Now(ctx)
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).OpenDropoutCase, activities.OpenDropoutCaseInput{
			CaseID: in.CaseID, WorkflowID: info.WorkflowExecution.ID, StudentID: in.StudentID, Reason: in.Reason,
			LastAttendedOn: in.LastAttendedOn, OpenedBy: in.OpenedBy, At: openedAt}).Get(ctx, &opened); err != nil {
			return DropoutResult{}, err
		}
		c.row, c.student, c.unitCode, c.unitName = opened.Ledger, opened.StudentName, opened.UnitCode, opened.UnitName
		// The windows count from the opening on record (its audit entry's instant), not from
		// when its write came back: on a busy worker that is later than the API's answer
		// (found by jiaofu simulate -diagnose). Only an activity's input changes: replays agree.
		c.roundStart, c.roundSince = openedAt, in.LastAttendedOn
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrProcess.ValueSet(casework.ProcessDropout), AttrUnit.ValueSet(c.unitCode),
		AttrState.ValueSet(c.row.State))
	c.opened, c.roundPending = true, in.Resume == nil || in.Resume.Round == nil
	return c.run(ctx)
}

// run is the case's main loop: it starts rounds, fires the round's deadlines and ends the
// consolidation watch; people's updates change the state in between.
func (c *dropoutCase) run(ctx workflow.Context) (DropoutResult, error) {
	for {
		if c.fatal == nil {
			c.fatal = c.tasks.DeadlineFailed()
		}
		if c.fatal != nil {
			return DropoutResult{}, c.fatal
		}
		if c.mayContinue(ctx) {
			if err := Drain(ctx); err != nil {
				return DropoutResult{}, err
			}
			if c.mayContinue(ctx) {
				return DropoutResult{}, c.continueAsNew(ctx)
			}
			continue
		}
		switch c.row.State {
		case casework.DropoutClosed:
			return c.finish(ctx)

		case casework.DropoutConsolidating:
			ends := c.consolidationEnds
			over, err := dropoutWaitUntil(ctx, ends, func() bool {
				return c.fatal != nil || c.row.State != casework.DropoutConsolidating || c.mayContinue(ctx)
			})
			if err != nil {
				return DropoutResult{}, err
			}
			if over && !c.mayContinue(ctx) {
				if err := c.locked(ctx, func() error {
					if c.row.State != casework.DropoutConsolidating || workflow.Now(ctx).Before(c.consolidationEnds) {
						return nil
					}
					next := c.row
					next.State = casework.DropoutClosed
					return c.step(ctx, next, "dropout.consolidated", access.System, "", nil, "")
				}); err != nil {
					return DropoutResult{}, err
				}
			}

		default: // open, township_supervising, county_supervising, closing: the student is not back
			if c.roundPending {
				if c.round != nil && (c.relapsesThisRun >= dropoutRelapsesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
					if err := Drain(ctx); err != nil {
						return DropoutResult{}, err
					}
					if c.roundPending && c.row.State == casework.DropoutOpen && c.fatal == nil && c.tasks.OpenCount() == 0 {
						return DropoutResult{}, c.continueAsNew(ctx)
					}
					// An update while draining moved the case on: start the round here, or not at all.
					if !c.roundPending || c.fatal != nil || c.row.State == casework.DropoutConsolidating || c.row.State == casework.DropoutClosed {
						continue
					}
				}
				if err := c.locked(ctx, func() error { return c.startRound(ctx) }); err != nil {
					return DropoutResult{}, err
				}
				continue
			}
			r, level := c.round, c.row.EscalationLevel
			changed := func() bool {
				return c.fatal != nil || c.round != r || c.row.EscalationLevel != level || c.roundPending ||
					c.row.State == casework.DropoutClosed || c.row.State == casework.DropoutConsolidating || c.mayContinue(ctx) ||
					c.tasks.DeadlineFailed() != nil
			}
			if r.kit { // the round's windows fire as case deadlines, on their own
				if err := workflow.Await(ctx, changed); err != nil {
					return DropoutResult{}, err
				}
				continue
			}
			var due time.Time
			switch level {
			case dropoutLevelSchool:
				due = r.townshipAt
			case dropoutLevelTownship:
				due = r.countyAt
			}
			if due.IsZero() { // the county HQ has it: nothing more to fire until an outcome
				if err := workflow.Await(ctx, changed); err != nil {
					return DropoutResult{}, err
				}
				continue
			}
			over, err := dropoutWaitUntil(ctx, due, changed)
			if err != nil {
				return DropoutResult{}, err
			}
			if over {
				if err := c.locked(ctx, func() error {
					if changed() {
						return nil
					}
					return c.escalate(ctx, level+1)
				}); err != nil {
					return DropoutResult{}, err
				}
			}
		}
	}
}

// catchUp fires the round's deadlines that have passed but are not yet on record, before a
// decision is recorded: a student who was not back by the deadline is escalated even when the
// return is recorded before the deadline's own step could run (the worker was busy, or the
// return came in the same moment), and the decision then closes those escalations with the
// rest of the round's. Without it such a case reached neither the township government nor the
// supervision office (found by jiaofu simulate). Cases started before this version do not
// (their replay must take the same steps).
func (c *dropoutCase) catchUp(ctx workflow.Context) error {
	if r := c.round; r != nil && r.kit && !c.roundPending {
		return c.tasks.FireDue(ctx)
	}
	if workflow.GetVersion(ctx, "dropout-deadline-before-decision", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	r := c.round
	if r == nil || c.roundPending {
		return nil
	}
	now := workflow.Now(ctx)
	for {
		var due time.Time
		switch c.row.EscalationLevel {
		case dropoutLevelSchool:
			due = r.townshipAt
		case dropoutLevelTownship:
			due = r.countyAt
		default:
			return nil
		}
		if now.Before(due) {
			return nil
		}
		level := c.row.EscalationLevel
		if err := c.escalate(ctx, level+1); err != nil {
			return err
		}
		if c.row.EscalationLevel <= level {
			return nil // the step did not climb (it cannot, but a loop must not hang on it)
		}
	}
}

// dropoutWaitUntil waits for at, or for cond; it reports whether at came first.
func dropoutWaitUntil(ctx workflow.Context, at time.Time, cond func() bool) (bool, error) {
	wait := at.Sub(workflow.Now(ctx))
	if wait <= 0 {
		return !cond(), nil
	}
	ok, err := workflow.AwaitWithTimeout(ctx, wait, cond)
	return !ok, err
}

func (c *dropoutCase) locked(ctx workflow.Context, f func() error) error {
	if err := c.mu.Lock(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return f()
}

func (c *dropoutCase) finish(ctx workflow.Context) (DropoutResult, error) {
	if err := c.tasks.Finish(ctx); err != nil {
		return DropoutResult{}, err
	}
	// Wait out any step still writing (it holds the lock until its ledger write is done).
	if err := c.locked(ctx, func() error { return nil }); err != nil {
		return DropoutResult{}, err
	}
	return DropoutResult{CaseID: c.row.ID, State: c.row.State, Outcome: c.row.Outcome, Attempts: c.attempts, Relapses: c.relapses}, c.fatal
}

func (c *dropoutCase) continueAsNew(ctx workflow.Context) error {
	in := c.in
	in.Resume = &DropoutResume{Ledger: c.row, StudentName: c.student, UnitCode: c.unitCode, UnitName: c.unitName, Attempts: c.attempts,
		Relapses: c.relapses, TaskSeq: c.tasks.Seq(), RoundStart: c.roundStart, RoundSince: c.roundSince}
	if !c.roundPending && c.round != nil {
		in.Resume.Round = c.round.carry(c.tasks)
	}
	in.Resume.ConsolidationEnds, in.Resume.ReturnedOn = c.consolidationEnds, c.returnedOn
	return workflow.NewContinueAsNewError(ctx, DropoutCase, in)
}

// mayContinue reports whether the case should continue as new now: its history is long (past
// HistoryEvents, or Temporal suggests it: attempts and other updates add to it for as long as
// the case runs) and it is idle, with no task open, no update running and no step writing, so
// that its whole state is the DropoutResume. A case waiting at a task gives way once the task
// is done.
func (c *dropoutCase) mayContinue(ctx workflow.Context) bool {
	if !c.boundHistory || c.fatal != nil || c.row.State == casework.DropoutClosed {
		return false
	}
	info := workflow.GetInfo(ctx)
	long := info.GetContinueAsNewSuggested() || (c.in.HistoryEvents > 0 && info.GetCurrentHistoryLength() >= c.in.HistoryEvents)
	return long && c.tasks.OpenCount() == 0 && c.closeReq == nil && !c.mu.IsLocked() && workflow.AllHandlersFinished(ctx)
}

// step writes the next ledger row with its audit entry, then makes it the case's state. A
// decision closes the round's township and county escalations with it (the case left their reach).
func (c *dropoutCase) step(ctx workflow.Context, next activities.DropoutLedger, action string, by access.Actor, role string,
	detail map[string]any, decision string) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["state"] = next.State
	if next.Outcome != "" {
		detail["outcome"] = next.Outcome
	}
	var closing []string
	if decision != "" && c.round != nil {
		closing = c.round.raised
	}
	err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SetDropoutCase, activities.DropoutStep{
		Ledger: next, CloseEscalations: closing, Decision: decision,
		Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessDropout, CaseID: next.ID,
			Before: map[string]any{"state": c.row.State}, After: detail, At: workflow.Now(ctx)}}).Get(ctx, nil)
	if err != nil {
		return err
	}
	if decision != "" && c.round != nil {
		c.round.raised = nil
	}
	c.row = next
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(next.State))
	if decision != "" && c.round != nil && c.round.kit {
		return c.tasks.ClearDeadlines(ctx, decision, c.round.returnWindow(), c.round.hqWindow())
	}
	return nil
}

// startRound counts the round's deadlines and opens its first-contact task.
func (c *dropoutCase) startRound(ctx workflow.Context) error {
	var dues []time.Time
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).DropoutDue, activities.DropoutDueInput{
		From: c.roundStart, Periods: []calendar.Spec{c.in.Timings.ReturnWindow, c.in.Timings.HQWindow}}).Get(ctx, &dues); err != nil {
		return err
	}
	if len(dues) != 2 {
		return fmt.Errorf("dropout deadlines: want 2 instants, got %d", len(dues))
	}
	r := &dropoutRound{n: c.relapses, since: c.roundSince, townshipAt: dues[0], countyAt: dues[1], kit: c.kit}
	c.round, c.roundPending = r, false
	if r.kit {
		for _, w := range []struct {
			name, kind string
			at         time.Time
			level      int
		}{{r.returnWindow(), casework.DeadlineDropoutReturnWindow, r.townshipAt, dropoutLevelTownship},
			{r.hqWindow(), casework.DeadlineDropoutHQWindow, r.countyAt, dropoutLevelCounty}} {
			if err := c.tasks.SetDeadline(ctx, DeadlineSpec{Name: w.name, Kind: w.kind, Process: casework.ProcessDropout,
				CaseID: c.row.ID, UnitCode: c.unitCode, At: w.at}, c.windowStep(r, w.level)); err != nil {
				return err
			}
		}
	}

	spec := activities.TaskSpec{Kind: casework.KindDropoutFirstContact, Process: casework.ProcessDropout, CaseID: c.row.ID,
		Title: fmt.Sprintf("控辍保学首次联系：%s（%s 起未到校）", c.student, r.since), CandidateRole: casework.RoleTeacher,
		UnitCode: c.unitCode, AssigneeID: c.row.TeacherID, Outcomes: []string{casework.OutcomeContacted}, Due: c.in.Timings.FirstContact}
	if c.row.TeacherID == "" { // nobody on the 包保 chain: the school's staff pick it up
		spec.CandidateRole = casework.RoleSchoolStaff
	}
	// On the root context: an attempt's update may start the round, and the task outlives it.
	workflow.Go(c.ctx, func(ctx workflow.Context) {
		res, err := c.tasks.Run(ctx, spec)
		r.contactOver, r.contactTask = true, ""
		if err != nil {
			workflow.GetLogger(ctx).Error("first-contact task failed", "case", c.row.ID, "round", r.n, "error", err)
			return
		}
		if res.Outcome == casework.OutcomeContacted {
			r.contacted = true
		}
	})
	// Hold the lock until the task is open, so that an attempt logged next finds it.
	if err := workflow.Await(ctx, func() bool { return r.contactOver || c.openContactTask() != nil }); err != nil {
		return err
	}
	if t := c.openContactTask(); t != nil {
		r.contactTask = t.ID
	}
	return nil
}

// openContactTask finds the open first-contact task. A case has at most one at a time: a round
// settles its own before the next round can start.
func (c *dropoutCase) openContactTask() *TaskState {
	var found *TaskState
	for _, t := range c.tasks.open {
		if t.Spec.Kind == casework.KindDropoutFirstContact && t.Result == nil && (found == nil || t.ID < found.ID) {
			found = t
		}
	}
	return found
}

// settleContact ends the round's first-contact task from inside the workflow: completed with
// outcome contacted when an attempt was logged, withdrawn (outcome "") when the round ended
// without one. Setting the result first ends Tasks.Run's wait and stops the task's ladder; a
// person's task action racing for it is then refused as for any completed task.
func (c *dropoutCase) settleContact(ctx workflow.Context, outcome string, by access.Actor, role, comment string) error {
	if c.round == nil || c.round.contactTask == "" {
		return nil
	}
	if c.kit {
		return c.tasks.Settle(ctx, c.round.contactTask, outcome, by, role, comment)
	}
	task := c.tasks.open[c.round.contactTask]
	if task == nil || task.Result != nil {
		return nil
	}
	now := workflow.Now(ctx)
	task.Result = &TaskResult{Outcome: outcome, Comment: comment, By: by, Role: role, At: now}
	state := casework.TaskDone
	if outcome == "" {
		state = casework.TaskCancelled
	}
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SettleDropoutTask, activities.SettleTaskInput{
		TaskID: task.ID, State: state, Outcome: outcome, Actor: by, Role: role, Comment: comment, At: now,
		Task: task.projection(c.tasks.wfID, state)}).Get(ctx, nil)
}

// persuasion words what the round's record shows by the day of the notice: the notice is sent to
// the family and the township government, and must not claim a persuasion nobody logged.
func (r *dropoutRound) persuasion(day string) string {
	switch {
	case r.attempts > 0:
		return fmt.Sprintf("经 %d 次劝返，至 %s 仍未返校", r.attempts, day)
	case r.contacted:
		return fmt.Sprintf("责任教师已与家长联系，尚无劝返记录，至 %s 仍未返校", day)
	}
	return fmt.Sprintf("学校未能联系到家长，尚无劝返记录，至 %s 仍未返校", day)
}

// escalate fires a missed deadline of a round timed by the case itself (cases opened before
// dropout-case-kit): the ledger step (climb), then the township government with the return
// notice, or the county HQ, and each time the supervision office, as fixed targets. Escalation
// ids derive from the case and round, so retries and replays record each once.
func (c *dropoutCase) escalate(ctx workflow.Context, level int) error {
	r := c.round
	tag := c.row.ID
	if r.n > 0 {
		tag = fmt.Sprintf("%s-relapse%d", c.row.ID, r.n)
	}
	reasons, err := c.climb(ctx, level)
	if err != nil {
		return err
	}
	now := workflow.Now(ctx)
	var raises []activities.RaiseInput
	switch level {
	case dropoutLevelTownship:
		raises = []activities.RaiseInput{
			{ID: tag + "-township", Target: casework.TargetTownshipGov, Reason: reasons[casework.TargetTownshipGov]},
			{ID: tag + "-township-supervision", Target: casework.TargetSupervision, Reason: reasons[casework.TargetSupervision]},
		}
	case dropoutLevelCounty:
		raises = []activities.RaiseInput{
			{ID: tag + "-county", Target: casework.TargetCountyHQ, Reason: reasons[casework.TargetCountyHQ]},
			{ID: tag + "-county-supervision", Target: casework.TargetSupervision, Reason: reasons[casework.TargetSupervision]},
		}
	}
	futures := make([]workflow.Future, len(raises))
	for i := range raises {
		raises[i].Process, raises[i].CaseID, raises[i].UnitCode, raises[i].At = casework.ProcessDropout, c.row.ID, c.unitCode, now
		futures[i] = workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).Raise, raises[i])
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			// A missing target unit is a setup fault; the case goes on, and the failure is in the log.
			workflow.GetLogger(ctx).Error("dropout escalation failed", "case", c.row.ID, "escalation", raises[i].ID, "error", err)
			continue
		}
		if raises[i].Target != casework.TargetSupervision {
			r.raised = append(r.raised, raises[i].ID)
		}
	}
	return nil
}

// climb puts the round's next level on the ledger with its audit entry: the return-by-deadline
// notice (限期返校通知书) sent to the family and the township government, or the county HQ's
// seizure. It returns what the level's escalations say, by target ("" for any other target an
// admin put on the ladder).
func (c *dropoutCase) climb(ctx workflow.Context, level int) (map[string]string, error) {
	next := c.row
	next.EscalationLevel = level
	if next.State != casework.DropoutClosing { // a pending closure keeps its state; the level still climbs
		next.State = dropoutLevelState(level)
	}
	reasons := c.reasons(c.round, level, workflow.Now(ctx))
	var action string
	var detail map[string]any
	switch level {
	case dropoutLevelTownship:
		action, detail = "dropout.return_notice", map[string]any{"notice": reasons[""], "return_by": c.round.countyAt,
			"escalated_to": []string{casework.TargetTownshipGov, casework.TargetSupervision}}
	case dropoutLevelCounty:
		action, detail = "dropout.county_supervising", map[string]any{"reason": reasons[""],
			"escalated_to": []string{casework.TargetCountyHQ, casework.TargetSupervision}}
	}
	return reasons, c.step(ctx, next, action, access.System, "", detail, "")
}

// reasons are the texts of a level's escalations as of now, by target: the notice itself under "".
func (c *dropoutCase) reasons(r *dropoutRound, level int, now time.Time) map[string]string {
	day := func(t time.Time) string { return t.In(calendar.CST).Format("2006-01-02") }
	switch level {
	case dropoutLevelTownship:
		notice := fmt.Sprintf("限期返校通知书：学生%s（%s）自 %s 起未到校，%s。请监护人于 %s 前送其返校；"+
			"逾期未返校的，报县脱贫攻坚指挥部督办。", c.student, c.school(), r.since, r.persuasion(day(now)), day(r.countyAt))
		return map[string]string{"": notice, casework.TargetTownshipGov: "乡镇政府督办劝返。" + notice,
			casework.TargetSupervision: "劝返逾期（已报乡镇政府督办）。" + notice}
	default:
		reason := fmt.Sprintf("学生%s（%s）自 %s 起未到校，限期返校通知书所定期限（%s）已过仍未返校，报请县脱贫攻坚指挥部督办。",
			c.student, c.school(), r.since, day(r.countyAt))
		return map[string]string{"": reason, casework.TargetCountyHQ: reason,
			casework.TargetSupervision: "劝返逾期（已报县脱贫攻坚指挥部督办）。" + reason}
	}
}

// windowStep is the step a round's window runs as a rung of its ladder falls due: the first
// rung that fires puts the level on the ledger (climb); every rung's escalation then says why.
func (c *dropoutCase) windowStep(r *dropoutRound, level int) RungStep {
	var said map[string]string
	return func(ctx workflow.Context, _ *DeadlineState, rung activities.RungAt) (string, error) {
		if c.round == r && c.row.EscalationLevel < level && !c.roundPending {
			var err error
			if said, err = c.climb(ctx, level); err != nil {
				return "", err
			}
		}
		if said == nil { // carried from the previous run, whose step said it first
			said = c.reasons(r, level, workflow.Now(ctx))
		}
		if reason, ok := said[rung.Target]; ok {
			return reason, nil
		}
		return said[""], nil
	}
}

// windowLevel is the level a carried deadline of round r raises the case to.
func (c *dropoutCase) windowLevel(r *dropoutRound, name string) int {
	if name == r.hqWindow() {
		return dropoutLevelCounty
	}
	return dropoutLevelTownship
}

// school names the case's school in a notice: its name, or its code when the run does not know it.
func (c *dropoutCase) school() string {
	if c.unitName != "" {
		return c.unitName
	}
	return c.unitCode
}

func dropoutLevelState(level int) string {
	switch level {
	case dropoutLevelTownship:
		return casework.DropoutTownship
	case dropoutLevelCounty:
		return casework.DropoutCountyHQ
	}
	return casework.DropoutOpen
}

// scopedRole is the first of dropoutRoles the actor holds over the case's unit, or "".
func (c *dropoutCase) scopedRole(a access.Actor) string {
	for _, r := range dropoutRoles {
		if a.Can(r, c.row.UnitPath) {
			return r
		}
	}
	return ""
}

// actingRole is the role through which actor works the case: one of dropoutRoles over its unit,
// or "assignee" for the responsible teacher of the 包保 chain wherever their roles are held.
func (c *dropoutCase) actingRole(a access.Actor) string {
	if r := c.scopedRole(a); r != "" {
		return r
	}
	if c.row.TeacherID != "" && a.UserID == c.row.TeacherID {
		return "assignee"
	}
	return ""
}

func (c *dropoutCase) status() DropoutStatus {
	s := DropoutStatus{CaseID: c.row.ID, StudentID: c.row.StudentID, State: c.row.State, Outcome: c.row.Outcome,
		TeacherID: c.row.TeacherID, EscalationLevel: c.row.EscalationLevel, Attempts: c.attempts, Relapses: c.relapses,
		ClosePending: c.closeReq != nil}
	if s.CaseID == "" {
		s.CaseID = c.in.CaseID
	}
	// A reopened case whose new round has not started yet has no first contact and no deadlines:
	// c.round is still the round before the relapse, whose deadlines are past.
	active := c.row.State != casework.DropoutConsolidating && c.row.State != casework.DropoutClosed && !c.roundPending
	if r := c.round; r != nil && active {
		s.FirstContactDone = r.contacted
		t, h := r.townshipAt, r.countyAt
		s.TownshipDueAt, s.CountyDueAt = &t, &h
	}
	if c.row.State == casework.DropoutConsolidating {
		e := c.consolidationEnds
		s.ConsolidationEnds = &e
	}
	return s
}

// register installs the query and the three updates. They answer from the start; until the
// ledger row exists the validators refuse.
func (c *dropoutCase) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, DropoutQuery, func() (DropoutStatus, error) { return c.status(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, LogAttemptUpdate, c.logAttempt,
		workflow.UpdateHandlerOptions{Validator: c.validateAttempt}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, RecordOutcomeUpdate, c.recordOutcome,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, o DropoutOutcome) error {
			if err := c.validateOutcome(ctx, o); err != nil {
				return err
			}
			return c.checkHandoff(o) // validators do not run on replay: older cases are not affected
		}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, RecordAbsenceUpdate, c.recordAbsence,
		workflow.UpdateHandlerOptions{Validator: c.validateAbsence})
}

func (c *dropoutCase) refuseClosed() error {
	if !c.opened {
		return refuseField(CodeWrongState, "", because("opening"), "the case is still being opened; try again")
	}
	if c.row.State == casework.DropoutClosed {
		return refuseField(CodeTaskNotOpen, "", because("case_closed"), "case %s is closed", c.row.ID)
	}
	return nil
}

func (c *dropoutCase) validateAttempt(_ workflow.Context, a DropoutAttempt) error {
	if err := c.refuseClosed(); err != nil {
		return err
	}
	if c.actingRole(a.Actor) == "" {
		return refuse(CodeNotCandidate, "%s may not log attempts on this case: it is for the responsible teacher or a teacher, "+
			"school staff, school leader or township staff over unit %s", a.Actor.Username, c.unitCode)
	}
	return CheckAttempt(a)
}

// CheckAttempt is the rule of an attempt's own fields. The validator applies it, and the API
// calls it too, to answer at once without a round trip to the case: one rule in one place.
func CheckAttempt(a DropoutAttempt) error {
	if !slices.Contains(AttemptMethods, a.Method) {
		return refuseField(CodeInvalid, "method", because("one_of"), "method: %q is not one of %v", a.Method, AttemptMethods)
	}
	if strings.TrimSpace(a.Notes) == "" {
		return refuseField(CodeInvalid, "notes", because("required"), "notes: required")
	}
	return nil
}

// logAttempt records the attempt; the round's first attempt also completes the first-contact task.
func (c *dropoutCase) logAttempt(ctx workflow.Context, a DropoutAttempt) (AttemptLogged, error) {
	var out AttemptLogged
	err := c.locked(ctx, func() error {
		if err := c.validateAttempt(ctx, a); err != nil { // the case may have closed while this waited
			return err
		}
		// An attempt right after a relapse belongs to the new round: start it first, or the attempt
		// would count as the first contact of the round before and the new one wait for another.
		// Cases that took this path before this version keep their steps.
		if c.roundPending && c.row.State != casework.DropoutConsolidating &&
			workflow.GetVersion(ctx, "dropout-attempt-starts-round", workflow.DefaultVersion, 1) == 1 {
			if err := c.startRound(ctx); err != nil {
				return err
			}
		}
		role, now := c.actingRole(a.Actor), workflow.Now(ctx)
		id := fmt.Sprintf("%s-a%d", c.row.ID, c.attempts+1)
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).RecordAttempt, activities.AttemptInput{
			ID: id, CaseID: c.row.ID, Method: a.Method, Notes: a.Notes, Visitors: a.Visitors, By: a.Actor, Role: role,
			At: now}).Get(ctx, nil); err != nil {
			return err
		}
		c.attempts++
		out = AttemptLogged{AttemptID: id, State: c.row.State}
		if r := c.round; r != nil && !c.roundPending && c.row.State != casework.DropoutConsolidating {
			r.attempts++
		}
		if r := c.round; r != nil && !r.contacted && c.row.State != casework.DropoutConsolidating {
			r.contacted, out.FirstContact = true, true
			return c.settleContact(ctx, casework.OutcomeContacted, a.Actor, role, fmt.Sprintf("已记录第 %d 次劝返", c.attempts))
		}
		return nil
	})
	return out, err
}

func (c *dropoutCase) validateOutcome(_ workflow.Context, o DropoutOutcome) error {
	if err := c.refuseClosed(); err != nil {
		return err
	}
	switch c.row.State {
	case casework.DropoutClosing:
		return refuseField(CodeWrongState, "", because(casework.DropoutClosing), "a closure of case %s waits for the school leader's approval", c.row.ID)
	case casework.DropoutConsolidating:
		return refuseField(CodeWrongState, "", because(casework.DropoutConsolidating), "the student of case %s has returned and is in consolidation; report an absence instead", c.row.ID)
	}
	if c.scopedRole(o.Actor) == "" {
		return refuse(CodeNotCandidate, "%s may not record an outcome on this case: it needs school staff, a school leader, "+
			"a teacher or township staff over unit %s", o.Actor.Username, c.unitCode)
	}
	return CheckOutcome(o)
}

// CheckOutcome is the rule of an outcome's own fields, applied by the validator and by the API
// (as CheckAttempt).
func CheckOutcome(o DropoutOutcome) error {
	if !slices.Contains(DropoutOutcomes, o.Outcome) {
		return refuseField(CodeOutcomeNotAllowed, "outcome", nil, "outcome: %q is not one of %v", o.Outcome, DropoutOutcomes)
	}
	if o.Outcome == casework.OutcomeTransferred && strings.TrimSpace(o.ReceivingSchool) == "" {
		return refuseField(CodeInvalid, "receiving_school", because("required_for_transfer"), "receiving_school: required for a transfer")
	}
	if o.Outcome == casework.OutcomeClosed && strings.TrimSpace(o.Note) == "" {
		return refuseField(CodeInvalid, "note", because("required_for_closure"), "note: required: a case is closed only with a documented reason")
	}
	return nil
}

// recordOutcome applies an outcome: a return starts the consolidation watch; a transfer, a move
// to send-to-home education (which starts the student's send-home plan) or a vocational
// enrolment closes the case; a closure without any of
// these waits for the school leader's approval.
func (c *dropoutCase) recordOutcome(ctx workflow.Context, o DropoutOutcome) (DropoutStatus, error) {
	err := c.locked(ctx, func() error {
		if err := c.validateOutcome(ctx, o); err != nil {
			return err
		}
		if err := c.catchUp(ctx); err != nil {
			return err
		}
		role := c.scopedRole(o.Actor)
		next := c.row
		next.Outcome, next.OutcomeNote = o.Outcome, o.Note
		detail := map[string]any{"note": o.Note}
		decision := "case outcome: " + o.Outcome
		switch o.Outcome {
		case casework.OutcomeReturned:
			if err := c.settleContact(ctx, "", access.System, "", "学生已返校"); err != nil {
				return err
			}
			var ends []time.Time
			if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).DropoutDue, activities.DropoutDueInput{
				From: workflow.Now(ctx), Periods: []calendar.Spec{c.in.Timings.Consolidation}}).Get(ctx, &ends); err != nil {
				return err
			}
			if len(ends) != 1 {
				return fmt.Errorf("consolidation end: want 1 instant, got %d", len(ends))
			}
			next.State = casework.DropoutConsolidating
			detail["consolidation_ends"] = ends[0]
			if err := c.step(ctx, next, "dropout.returned", o.Actor, role, detail, decision); err != nil {
				return err
			}
			c.consolidationEnds, c.returnedOn = ends[0], workflow.Now(ctx).In(calendar.CST).Format("2006-01-02")
		case casework.OutcomeTransferred, casework.OutcomeSendHome, casework.OutcomeVocational:
			// From dropout-sendhome-plan on, send_home starts the student's plan (process 3);
			// cases that recorded it before only put the hand-off on record.
			plan := o.Outcome == casework.OutcomeSendHome &&
				workflow.GetVersion(ctx, "dropout-sendhome-plan", workflow.DefaultVersion, 1) == 1
			if plan {
				if err := c.checkHandoff(o); err != nil {
					return err
				}
			}
			if err := c.settleContact(ctx, "", access.System, "", "案件已办结："+o.Outcome); err != nil {
				return err
			}
			switch o.Outcome {
			case casework.OutcomeTransferred:
				next.OutcomeNote = strings.TrimSpace("转入：" + o.ReceivingSchool + "。" + o.Note)
				detail["receiving_school"] = o.ReceivingSchool
			case casework.OutcomeSendHome:
				// The hand-off to process 3 (送教上门·一人一案): on record, and (plan) the plan itself.
				next.OutcomeNote = strings.TrimSpace("转送教上门。" + o.Note)
				detail["handoff"] = "送教上门"
				if plan {
					id, running, err := c.startSendHomePlan(ctx, o)
					if err != nil {
						return err
					}
					if running {
						detail["sendhome_plan"] = "already_running"
					} else {
						detail["sendhome_plan_id"] = id
					}
				}
			}
			next.State = casework.DropoutClosed
			if err := c.step(ctx, next, "dropout."+o.Outcome, o.Actor, role, detail, decision); err != nil {
				return err
			}
		case casework.OutcomeClosed:
			next.State, next.Outcome, next.OutcomeNote = casework.DropoutClosing, "", c.row.OutcomeNote
			detail["requested_by"] = o.Actor.UserID
			if err := c.step(ctx, next, "dropout.close_requested", o.Actor, role, detail, ""); err != nil {
				return err
			}
			req := o
			c.closeReq = &req
			c.runCloseApproval(req)
		}
		return nil
	})
	return c.status(), err
}

// handoffTeachers are the teachers of the plan a send_home outcome starts: the case's
// responsible teacher, then the outcome's others, each once.
func (c *dropoutCase) handoffTeachers(o DropoutOutcome) []string {
	var ts []string
	if c.row.TeacherID != "" {
		ts = append(ts, c.row.TeacherID)
	}
	if o.SendHome != nil {
		for _, id := range o.SendHome.TeacherIDs {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(ts, id) {
				ts = append(ts, id)
			}
		}
	}
	return ts
}

// checkHandoff refuses a send_home outcome whose plan would have no teacher: a case without a
// responsible teacher must name the plan's teachers.
func (c *dropoutCase) checkHandoff(o DropoutOutcome) error {
	if o.Outcome != casework.OutcomeSendHome || len(c.handoffTeachers(o)) > 0 {
		return nil
	}
	return refuseField(CodeInvalid, "teacher_ids", because("required_for_send_home"),
		"teacher_ids: case %s has no responsible teacher: name the send-home plan's teachers", c.row.ID)
}

// startSendHomePlan starts the student's send-home plan as a child workflow that outlives the
// case (ParentClosePolicy ABANDON), with the id the API starts plans under: a plan already
// running for the student is not an error (running), the case closes all the same. The plan's
// id is derived from this run, so a replay or a retried outcome asks for the same plan.
func (c *dropoutCase) startSendHomePlan(ctx workflow.Context, o DropoutOutcome) (planID string, running bool, err error) {
	h := o.SendHome.withDefaults()
	info := workflow.GetInfo(ctx)
	wfID := SendHomeWorkflowID(c.row.StudentID)
	planID = SendHomePlanID(wfID, workflow.Now(ctx).In(calendar.CST).Format("20060102")+"d"+info.WorkflowExecution.RunID[:min(6, len(info.WorkflowExecution.RunID))])
	in := SendHomeInput{PlanID: planID, StudentID: c.row.StudentID, DisabilityType: h.DisabilityType, DisabilityGrade: strings.TrimSpace(h.DisabilityGrade),
		TeacherIDs: c.handoffTeachers(o), Goals: strings.TrimSpace(h.Goals), VisitsPerPeriod: h.VisitsPerPeriod, Period: h.Period,
		MinMinutes: h.MinMinutes, Term: h.Term, EvaluationDue: h.EvaluationDue, CreatedBy: o.Actor}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: wfID,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(AttrProcess.ValueSet(casework.ProcessSendHome),
			AttrUnit.ValueSet(c.unitCode), AttrState.ValueSet(casework.SendHomeAssessing))})
	// Wait only for the start: the plan runs for terms after the case has closed.
	var started workflow.Execution
	err = workflow.ExecuteChildWorkflow(cctx, SendHomePlan, in).GetChildWorkflowExecution().Get(ctx, &started)
	var dup *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &dup) {
		return "", true, nil
	}
	return planID, false, err
}

// runCloseApproval asks the school's leader to approve a closure; the person who asked for it
// may not decide it. While it waits the case's deadlines go on: a pending request must not
// stall supervision.
func (c *dropoutCase) runCloseApproval(req DropoutOutcome) {
	spec := activities.TaskSpec{Kind: casework.KindDropoutCloseApproval, Process: casework.ProcessDropout, CaseID: c.row.ID,
		Title: fmt.Sprintf("控辍保学结案审批：%s（%s）", c.student, req.Note), CandidateRole: casework.RoleSchoolLeader,
		UnitCode: c.unitCode, Outcomes: []string{casework.OutcomeApprove, casework.OutcomeReject}, Due: c.in.Timings.CloseApprovalDue,
		Exclude: []string{req.Actor.UserID}}
	workflow.Go(c.ctx, func(ctx workflow.Context) {
		res, err := c.tasks.Run(ctx, spec)
		if err == nil {
			err = c.locked(ctx, func() error {
				c.closeReq = nil
				detail := map[string]any{"note": req.Note, "requested_by": req.Actor.UserID, "comment": res.Comment}
				next := c.row
				if res.Outcome != casework.OutcomeApprove {
					next.State = dropoutLevelState(next.EscalationLevel)
					return c.step(ctx, next, "dropout.close_rejected", res.By, res.Role, detail, "")
				}
				if err := c.catchUp(ctx); err != nil {
					return err
				}
				if err := c.settleContact(ctx, "", access.System, "", "案件已结案"); err != nil {
					return err
				}
				next.State, next.Outcome, next.OutcomeNote = casework.DropoutClosed, casework.OutcomeClosed, req.Note
				return c.step(ctx, next, "dropout.closed", res.By, res.Role, detail, "case closed: "+req.Note)
			})
		}
		if err != nil {
			c.fatal = err
		}
	})
}

func (c *dropoutCase) validateAbsence(ctx workflow.Context, a DropoutAbsence) error {
	if err := c.refuseClosed(); err != nil {
		return err
	}
	if c.row.State != casework.DropoutConsolidating {
		return refuseField(CodeWrongState, "", because("not_consolidating", "state", c.row.State), "case %s is %s: an absence reopens only a case in consolidation", c.row.ID, c.row.State)
	}
	if c.actingRole(a.Actor) == "" {
		return refuse(CodeNotCandidate, "%s may not report absences of this student", a.Actor.Username)
	}
	d, err := time.ParseInLocation("2006-01-02", a.Date, calendar.CST)
	if err != nil {
		return refuseField(CodeInvalid, "date", because("date_format"), "date: %q is not a date such as 2025-03-17", a.Date)
	}
	if d.After(workflow.Now(ctx)) {
		return refuseField(CodeInvalid, "date", because("future"), "date: %s is in the future", a.Date)
	}
	if a.Date < c.returnedOn {
		return refuseField(CodeInvalid, "date", because("before_return", "returned_on", c.returnedOn), "date: %s is before the student's return on %s", a.Date, c.returnedOn)
	}
	return nil
}

// recordAbsence reopens the case on a relapse: a new round with its own first contact and
// deadlines starts from now.
func (c *dropoutCase) recordAbsence(ctx workflow.Context, a DropoutAbsence) (DropoutStatus, error) {
	err := c.locked(ctx, func() error {
		if err := c.validateAbsence(ctx, a); err != nil {
			return err
		}
		next := c.row
		next.State, next.Outcome, next.OutcomeNote, next.EscalationLevel = casework.DropoutOpen, "", "", dropoutLevelSchool
		if err := c.step(ctx, next, "dropout.relapse", a.Actor, c.actingRole(a.Actor), map[string]any{
			"date": a.Date, "note": a.Note, "relapse": c.relapses + 1}, ""); err != nil {
			return err
		}
		c.relapses++
		c.relapsesThisRun++
		c.consolidationEnds, c.returnedOn = time.Time{}, ""
		c.roundPending, c.roundStart, c.roundSince = true, workflow.Now(ctx), a.Date
		return nil
	})
	return c.status(), err
}
