package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

func init() { registerWorkflows(casework.ProcessSubsidy, SubsidyApplication, PublicityBatch) }

// SubsidyWorkflowID derives the application's id from (student, programme, term): a second
// application for the same three is refused by Temporal itself.
func SubsidyWorkflowID(studentID, programme, term string) string {
	return "subsidy-" + safe(studentID) + "-" + safe(programme) + "-" + safe(term)
}

// SubsidyTimings are the process's configurable deadlines, fixed at the application's start.
type SubsidyTimings struct {
	ReviewDue   calendar.Spec
	ResubmitDue calendar.Spec
}

// SubsidyInput starts an application.
type SubsidyInput struct {
	ApplicationID string
	StudentID     string
	StudentName   string
	Programme     string
	ProgrammeName string // for task titles; the code is shown when it is empty
	Term          string
	EvidenceNote  string
	Applicant     access.Actor
	AppliedAt     time.Time // when the API accepted it; zero in workflows started before it was passed
	Timings       SubsidyTimings
	// HistoryEvents: past this many events the application continues as new with its open task
	// (config JIAOFU_HISTORY_EVENTS; 0: only when Temporal suggests it).
	HistoryEvents int
	// Resume is set only by the workflow itself when it continues as new; callers leave it nil.
	Resume *SubsidyResume
}

// SubsidyResume carries an application into its next run: the registry check already made, the
// step it waits at, and that step's open task.
type SubsidyResume struct {
	Check   activities.RegistryCheck
	Stage   string // subsidyStageReview or subsidyStageResubmit
	TaskSeq int
	Tasks   []TaskState
}

// The steps at which an application can continue as new: each waits for one person's task.
const (
	subsidyStageReview   = "review"
	subsidyStageResubmit = "resubmit"
)

// BatchEventSignal carries the publicity batch's news to an application.
const BatchEventSignal = activities.BatchEventSignal

// Batch events an application hears.
const (
	BatchEntered   = "entered" // from batches opened by earlier builds only
	BatchUpheld    = "objection_upheld"
	BatchSignedOff = "signed_off"
)

// BatchEvent is one piece of news from a publicity batch. It is defined with the activities,
// which tell it to applications for batches from publicity-local-writes on.
type BatchEvent = activities.BatchEvent

// SubsidyResult is how an application ended.
type SubsidyResult struct {
	State     string
	AmountFen int64
}

// SubsidyApplication runs one application: registry check, school review (with returns for
// correction), publicity, county sign-off and disbursement.
func SubsidyApplication(ctx workflow.Context, in SubsidyInput) (SubsidyResult, error) {
	seq, carried := 0, []TaskState(nil)
	if in.Resume != nil {
		seq, carried = in.Resume.TaskSeq, in.Resume.Tasks
	}
	tasks, err := NewTasks(ctx, seq, carried...)
	if err != nil {
		return SubsidyResult{}, err
	}
	// From this version on the application's short store writes (the registry check, its steps,
	// the disbursement, and its tasks' projections and audit entries) run as local activities:
	// each is one marker in the history instead of an activity task's three events and a workflow
	// task of its own, and a step's writes go in one workflow task (issue 20). Applications
	// started before replay their regular activities. The choice is made again by each run, as a
	// continued run's history is its own.
	//
	// It is asked first: a run that has it was started by code that has every change below (and
	// the kit's, Tasks.WriteLocally), so it takes them without asking — each question asked is a
	// marker and a search-attribute upsert, two events of the history. Runs without it ask each
	// as before (a question the history does not hold answers DefaultVersion, so asking this one
	// first changes nothing for them).
	//
	// From subsidy-merged-writes on, asked before it and implying it (the same reasoning), the
	// application's writes are merged further (issue 20, target 2): the registry check and its
	// review's opening are one local activity (Tasks.OpenWith), the reviewer's decision and the
	// step it makes one regular activity (Tasks.After), the sign-off and the payment one local
	// activity and one transaction, and the search attribute goes from in_publicity straight to
	// disbursed with them.
	merged := workflow.GetVersion(ctx, "subsidy-merged-writes", workflow.DefaultVersion, 1) == 1
	local := merged || workflow.GetVersion(ctx, "subsidy-local-writes", workflow.DefaultVersion, 1) == 1
	if local {
		tasks.WriteLocally()
	}
	// Applications started before this version never continue as new on a long history: their
	// replay must take the same steps.
	if local || workflow.GetVersion(ctx, "subsidy-continue-on-long-history", workflow.DefaultVersion, 1) == 1 {
		tasks.ContinueOnLongHistory(in.HistoryEvents)
	}
	// From this version on a return or a rejection needs a reason, the resubmit task shows it, and
	// a resubmission must change the evidence note. Applications started before replay without
	// these rules: the handler re-validates during replay, and their histories hold returns with
	// no reason and resubmissions that changed nothing.
	reasons := local || workflow.GetVersion(ctx, "subsidy-review-reasons", workflow.DefaultVersion, 1) == 1
	// note is the evidence note as it stands, which a resubmission must change.
	note := in.EvidenceNote
	if reasons {
		tasks.Check(casework.KindSubsidyResubmit, func(a TaskAction) error {
			// A note left out is the note left as it was.
			changed, ok := a.Fields["evidence_note"]
			if a.Outcome == casework.OutcomeResubmit && (!ok || strings.TrimSpace(changed) == strings.TrimSpace(note)) {
				return refuseField(CodeInvalid, "fields.evidence_note", because("unchanged"),
					"fields.evidence_note: nothing was changed: correct the evidence note before resubmitting")
			}
			return nil
		})
	}
	// write runs one of the application's own store writes (local activities from
	// subsidy-local-writes on).
	write := func(activity any, arg any) workflow.Future { return storeWrite(ctx, local, activity, arg) }
	var check activities.RegistryCheck
	stage, resume := subsidyStageReview, ""
	if len(carried) == 1 {
		resume = carried[0].ID
	}
	// run opens the stage's task, or waits again for the one carried from the previous run.
	run := func(spec activities.TaskSpec) (TaskResult, error) {
		if id := resume; id != "" {
			resume = ""
			return tasks.Wait(ctx, id)
		}
		return tasks.Run(ctx, spec)
	}
	// setState moves the application (its search attribute, and its row with the step's entry
	// unless the decision's write took the step along, Tasks.After).
	setState := func(st appStep, written bool) error {
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(st.state))
		if written {
			return nil
		}
		return write((*activities.Activities).SetApplication, st.write(in.ApplicationID, workflow.Now(ctx))).Get(ctx, nil)
	}
	finish := func(state string) (SubsidyResult, error) {
		return SubsidyResult{State: state, AmountFen: check.AmountFen}, tasks.Finish(ctx)
	}
	continueAsNew := func(stage string) (SubsidyResult, error) {
		next := in
		next.EvidenceNote = note // what the next run's resubmission must change
		next.Resume = &SubsidyResume{Check: check, Stage: stage, TaskSeq: tasks.Seq(), Tasks: tasks.Carry()}
		return SubsidyResult{}, workflow.NewContinueAsNewError(ctx, SubsidyApplication, next)
	}

	programme := in.ProgrammeName
	if programme == "" {
		programme = in.Programme
	}
	subject := fmt.Sprintf("%s %s %s", in.StudentName, programme, in.Term)
	title := "资助审核：" + subject
	exclude := []string{in.Applicant.UserID}
	var needReason []string
	if reasons {
		needReason = []string{casework.OutcomeReject, casework.OutcomeReturn}
	}
	reviewSpec := func() activities.TaskSpec {
		return activities.TaskSpec{Kind: casework.KindSubsidyReview, Process: casework.ProcessSubsidy, CaseID: in.ApplicationID,
			Title: title, CandidateRole: casework.RoleSchoolLeader, UnitCode: check.UnitCode,
			Outcomes: []string{casework.OutcomeApprove, casework.OutcomeReject, casework.OutcomeReturn}, Due: in.Timings.ReviewDue, Exclude: exclude,
			OwnerID: in.Applicant.UserID, CommentRequired: needReason}
	}
	checkInput := activities.RegistryCheckInput{
		ApplicationID: in.ApplicationID, StudentID: in.StudentID, Programme: in.Programme, Term: in.Term,
		ApplicantID: in.Applicant.UserID, EvidenceNote: in.EvidenceNote, Applicant: in.Applicant, AppliedAt: in.AppliedAt}
	if merged {
		// The decisions' writes take the application's step along (Tasks.After): registered before
		// the review opens, so that no decision can come before it.
		after := func(step func(TaskResult) appStep) AfterStep {
			return func(_ activities.TaskSpec, r TaskResult) *activities.CaseStep {
				st := step(r)
				if st.state == "" {
					return nil
				}
				w := st.write(in.ApplicationID, r.At)
				return &activities.CaseStep{Application: &w}
			}
		}
		tasks.After(casework.KindSubsidyReview, after(reviewedStep))
		tasks.After(casework.KindSubsidyResubmit, after(resubmittedStep))
	}
	switch r := in.Resume; {
	case r != nil:
		check, stage = r.Check, r.Stage
	case merged:
		// The check and the review's opening in one write; the review loop then waits for it.
		id, err := tasks.OpenWith(ctx, reviewSpec(), func(task activities.OpenTaskInput, revision int) (activities.OpenedTask, error) {
			var out activities.CheckedAndOpened
			err := write((*activities.Activities).CheckAndOpenReview, activities.CheckAndOpenInput{Check: checkInput, Review: task, Revision: revision}).Get(ctx, &out)
			check = out.Check
			return out.Review, err
		})
		if err != nil {
			return SubsidyResult{}, err
		}
		resume = id
	default:
		if err := write((*activities.Activities).CheckRegistry, checkInput).Get(ctx, &check); err != nil {
			return SubsidyResult{}, err
		}
	}
	reason := "" // the reviewer's reason for the last return, which the applicant reads
review:
	for {
		if stage == subsidyStageReview {
			res, err := run(reviewSpec())
			if errors.Is(err, ErrContinueAsNew) {
				return continueAsNew(subsidyStageReview)
			} else if err != nil {
				return SubsidyResult{}, err
			}
			if st := reviewedStep(res); st.state != "" {
				if err := setState(st, res.AfterWritten); err != nil {
					return SubsidyResult{}, err
				}
			}
			switch res.Outcome {
			case casework.OutcomeApprove:
				break review
			case casework.OutcomeWithdrawn, casework.OutcomeReject:
				return finish(casework.AppRejected)
			case casework.OutcomeReturn:
				reason = strings.TrimSpace(res.Comment)
			}
		}
		fix, err := run(activities.TaskSpec{Kind: casework.KindSubsidyResubmit, Process: casework.ProcessSubsidy, CaseID: in.ApplicationID,
			Title: resubmitTitle(subject, reason), CandidateRole: casework.RoleSchoolStaff, UnitCode: check.UnitCode,
			AssigneeID: in.Applicant.UserID, Outcomes: []string{casework.OutcomeResubmit, casework.OutcomeWithdraw}, Due: in.Timings.ResubmitDue})
		if errors.Is(err, ErrContinueAsNew) {
			return continueAsNew(subsidyStageResubmit)
		} else if err != nil {
			return SubsidyResult{}, err
		}
		stage = subsidyStageReview
		if err := setState(resubmittedStep(fix), fix.AfterWritten); err != nil {
			return SubsidyResult{}, err
		}
		if fix.Outcome == casework.OutcomeWithdraw {
			return finish(casework.AppRejected)
		}
		if changed, ok := fix.Fields["evidence_note"]; ok {
			note = changed
		}
	}

	// Wait for the school's publicity batch's result. (Batches opened by earlier builds also say
	// when the application entered publicity.)
	events := workflow.GetSignalChannel(ctx, BatchEventSignal)
	for {
		var ev BatchEvent
		events.Receive(ctx, &ev)
		switch ev.Event {
		case BatchEntered:
			_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(casework.AppInPublicity))
		case BatchUpheld:
			if err := setState(appStep{state: casework.AppRejected, action: "subsidy.rejected_by_objection", by: ev.By, role: casework.RoleAidCenter,
				detail: map[string]any{"batch_id": ev.BatchID, "reason": ev.Reason}}, false); err != nil {
				return SubsidyResult{}, err
			}
			return finish(casework.AppRejected)
		case BatchSignedOff:
			signed := appStep{state: casework.AppSignedOff, action: "subsidy.signed_off", by: ev.By, role: casework.RoleAidCenter,
				detail: map[string]any{"batch_id": ev.BatchID}}
			channel := ev.Channel
			if channel == "" {
				channel = DefaultChannel
			}
			if merged {
				// One write for the sign-off and its payment, one transaction: the search attribute
				// need not show signed_off on the way, as the row never rests there. (While the
				// store is down the attribute stays in_publicity; the sign-off is on the history.)
				now := workflow.Now(ctx)
				if err := write((*activities.Activities).SignOffAndDisburse, activities.SignOffInput{
					Step: signed.write(in.ApplicationID, now), AmountFen: check.AmountFen, Channel: channel, At: now}).Get(ctx, nil); err != nil {
					return SubsidyResult{}, err
				}
			} else {
				if err := setState(signed, false); err != nil {
					return SubsidyResult{}, err
				}
				if err := write((*activities.Activities).Disburse, activities.DisburseInput{
					ApplicationID: in.ApplicationID, AmountFen: check.AmountFen, Channel: channel, At: workflow.Now(ctx)}).Get(ctx, nil); err != nil {
					return SubsidyResult{}, err
				}
			}
			_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(casework.AppDisbursed))
			return finish(casework.AppDisbursed)
		}
	}
}

// appStep is a step of an application: its new state, the entry's action, who took it in which
// role, the row's other changes and the entry's detail.
type appStep struct {
	state, action string
	by            access.Actor
	role          string
	upd           casework.ApplicationUpdate
	detail        map[string]any
}

// write is the step as SetApplication (or the write that takes it along) applies it, at at.
func (st appStep) write(applicationID string, at time.Time) activities.ApplicationStep {
	upd, detail := st.upd, map[string]any{"state": st.state}
	upd.State = st.state
	for k, v := range st.detail {
		detail[k] = v
	}
	return activities.ApplicationStep{ApplicationID: applicationID, Update: upd,
		Audit: activities.Audit{Actor: st.by, Role: st.role, Action: st.action, Process: casework.ProcessSubsidy, CaseID: applicationID,
			After: detail, At: at}}
}

// reviewedStep is the step the review's decision makes: reviewed, rejected or returned by the
// reviewer, or withdrawn by the applicant (撤回), as a school staff member; no step (state "") for
// any other outcome.
func reviewedStep(res TaskResult) appStep {
	st := appStep{by: res.By, role: res.Role, detail: map[string]any{"comment": res.Comment}}
	switch res.Outcome {
	case casework.OutcomeApprove:
		st.state, st.action, st.upd.ReviewerID = casework.AppReviewed, "subsidy.reviewed", res.By.UserID
	case casework.OutcomeWithdrawn:
		st.state, st.action, st.role = casework.AppRejected, "subsidy.withdrawn", casework.RoleSchoolStaff
	case casework.OutcomeReject:
		st.state, st.action, st.upd.ReviewerID = casework.AppRejected, "subsidy.rejected", res.By.UserID
	case casework.OutcomeReturn:
		st.state, st.action = casework.AppReturned, "subsidy.returned"
	}
	return st
}

// resubmittedStep is the step the applicant's correction makes: withdrawn, or back in review
// with the evidence note they changed.
func resubmittedStep(fix TaskResult) appStep {
	st := appStep{by: fix.By, role: fix.Role, detail: map[string]any{"comment": fix.Comment}}
	if fix.Outcome == casework.OutcomeWithdraw {
		st.state, st.action = casework.AppRejected, "subsidy.withdrawn"
		return st
	}
	st.state, st.action = casework.AppInReview, "subsidy.resubmitted"
	if changed, ok := fix.Fields["evidence_note"]; ok {
		st.upd.EvidenceNote = &changed
	}
	return st
}

// resubmitTitle names the applicant's correction task with the reviewer's reason, so that it is
// read in the inbox itself; a long reason is cut there and kept whole in the case's history.
func resubmitTitle(subject, reason string) string {
	title := "退回修改：" + subject
	if reason == "" {
		return title
	}
	const keep = 80
	if r := []rune(reason); len(r) > keep {
		reason = string(r[:keep]) + "…"
	}
	return title + "（退回原因：" + reason + "）"
}

// DefaultChannel is how subsidies are paid unless the sign-off says otherwise: the 惠民惠农
// one-card (一卡通) account.
const DefaultChannel = "一卡通"

// PublicityTimings are the batch's configurable deadlines.
type PublicityTimings struct {
	Period       calendar.Spec
	ObjectionDue calendar.Spec
	SignoffDue   calendar.Spec
}

// PublicityInput opens a school's publicity batch for a term.
type PublicityInput struct {
	BatchID      string
	UnitCode     string
	Term         string
	Applications []string
	OpenedBy     access.Actor
	Timings      PublicityTimings
	// HistoryEvents: past this many events the batch continues as new with its open reviews
	// (config JIAOFU_HISTORY_EVENTS; 0: only when Temporal suggests it).
	HistoryEvents int
	// Resume is set only by the workflow itself when it continues as new; callers leave it nil.
	Resume *PublicityResume
}

// ObjectionUpdate is the Update through which the public objects to an entry.
const ObjectionUpdate = "objection"

// FieldFraud is the objection review's flag (fields.fraud = "true" with outcome uphold): the
// entry was an attempt to obtain aid by deception (套取骗取), which the supervision office takes up.
const FieldFraud = "fraud"

// Objection is a public objection to one entry.
type Objection struct {
	EntryID string
	Reason  string
	Contact string
}

// PublicityEnded refuses an objection after the period that ended at endsAt (ended_at, the
// batch's ends_at to the nanosecond, so that a client can compare the two). The batch's
// validator and the API (for a batch whose workflow has ended) refuse with it alike. Validators
// leave nothing in the history, so the code (wrong_state/publicity_ended before) and the message
// may change for running batches too.
func PublicityEnded(endsAt time.Time) error {
	return refuseField(CodePublicityEnded, "", []string{"ended_at", endsAt.UTC().Format(time.RFC3339Nano)},
		"the publicity period ended at %s China time; objections are no longer accepted", calendar.Show(endsAt))
}

// PublicityQuery answers the batch's live state.
const PublicityQuery = "publicity"

// PublicityState is the batch as its workflow sees it.
type PublicityState struct {
	State          string
	Members        []string
	Rejected       []string
	OpenObjections int
	EndsAt         string
}

// PublicityBatch runs a school's 公示: the list is public for the period, objections open review
// tasks (one per entry at a time: a further objection joins the entry's open review), the batch
// cannot close while one is open, then the aid center signs off and every remaining application
// is disbursed. Objections are public: when they grow the history long, the batch continues as
// new with its open reviews (new batches only).
func PublicityBatch(ctx workflow.Context, in PublicityInput) (PublicityState, error) {
	seq, carried := 0, []TaskState(nil)
	if r := in.Resume; r != nil {
		seq, carried = r.TaskSeq, r.Tasks
	}
	tasks, err := NewTasks(ctx, seq, carried...)
	if err != nil {
		return PublicityState{}, err
	}
	// From this version on the batch's short store writes (its opening and steps, an objection's
	// decision, a fraud's escalation) and its tasks' resolution and projection (the kit,
	// Tasks.WriteLocally) run as local activities, and the applications hear the batch's news from
	// those activities (activities.Tell) instead of a signal each from the workflow: a signal
	// costs the batch two events an application and a workflow task for their answers, a local
	// activity one marker, whatever the batch's size (issue 20). Batches opened before replay as
	// they were; each run chooses again, as a continued run's history is its own.
	//
	// A filed objection's record stays a regular activity, as a person's task action does: it
	// follows an accepted Update, which is on the history only once the workflow task that
	// accepts it completes, and a local write before that could outlive a crash that loses the
	// Update (Tasks.WriteLocally). What follows a decision runs once the decision is written.
	//
	// It is asked first: a run that has it was started by code that has the batch's older changes
	// below, and takes them without asking (each question is a marker and a search-attribute
	// upsert, two events of the history); runs without it ask as before.
	local := workflow.GetVersion(ctx, "publicity-local-writes", workflow.DefaultVersion, 1) == 1
	if local {
		tasks.WriteLocally()
	}
	// Handlers are registered before the first blocking call, so that no objection finds the
	// workflow without them; the validator refuses until the list is public.
	var (
		opened activities.OpenedBatch
		st     PublicityState
		listed bool
	)
	actx := activityCtx(ctx)
	if err := workflow.SetQueryHandler(ctx, PublicityQuery, func() (PublicityState, error) { return st, nil }); err != nil {
		return st, err
	}
	periodOver, objections, stage := false, 0, publicityStagePeriod
	if r := in.Resume; r != nil {
		// Restored before the Update is registered: the SDK hands an objection that waited for
		// this run to the validator as soon as it is.
		opened, st, objections, periodOver, stage, listed = r.Opened, r.State, r.Objections, r.PeriodOver, r.Stage, true
	}
	reviews := map[string]*ObjectionReview{} // by task id, while the review is open
	// groups holds, by entry, the review that a further objection to the entry joins: from the
	// first objection until the reviewer decides (only batches that group objections, below).
	groups := map[string]*ObjectionReview{}
	grouped := false // set with the versions below, before any objection reaches the handler
	// busy counts reviews opening their task or writing their decision: the batch continues as
	// new only when none is.
	busy := 0
	// review waits for an objection's review task (opened now, or carried from the previous run)
	// and records its decision; an upheld objection takes the entry off the list. A review still
	// to be opened counts in busy from before its goroutine starts.
	review := func(ctx workflow.Context, rv *ObjectionReview) {
		// The review answers for every objection of its group, whatever becomes of it.
		defer func() { st.OpenObjections -= 1 + len(rv.Joined) }()
		leave := func() {
			if groups[rv.Objection.EntryID] == rv {
				delete(groups, rv.Objection.EntryID)
			}
		}
		if rv.TaskID == "" {
			id, err := tasks.Open(ctx, activities.TaskSpec{Kind: casework.KindObjectionReview, Process: casework.ProcessSubsidy, CaseID: in.BatchID,
				Title: "公示异议复核：" + activities.SubjectOf(opened.Members, rv.Objection.EntryID), CandidateRole: casework.RoleAidCenter, UnitCode: in.UnitCode,
				Outcomes: []string{casework.OutcomeUphold, casework.OutcomeDismiss}, Due: in.Timings.ObjectionDue, Exclude: peopleOf(opened.Members, rv.Objection.EntryID)})
			busy--
			if err != nil {
				leave()
				workflow.GetLogger(ctx).Error("objection review failed", "objection", rv.Record.ID, "error", err)
				return
			}
			rv.TaskID = id
		}
		reviews[rv.TaskID] = rv
		res, err := tasks.Wait(ctx, rv.TaskID)
		delete(reviews, rv.TaskID)
		// Decided (or failed): from here a further objection to the entry opens a new review, and
		// the group is what it is now.
		leave()
		if err != nil {
			workflow.GetLogger(ctx).Error("objection review failed", "objection", rv.Record.ID, "error", err)
			return
		}
		busy++
		defer func() { busy-- }()
		now := workflow.Now(ctx)
		for _, rec := range append([]casework.Objection{rv.Record}, rv.Joined...) {
			rec.State, rec.Decision, rec.DecidedAt = "decided", res.Outcome, &now
			if err := storeWrite(ctx, local, (*activities.Activities).SaveObjection, rec).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("objection record failed", "objection", rec.ID, "error", err)
			}
		}
		if res.Outcome == casework.OutcomeUphold && !slices.Contains(st.Rejected, rv.Objection.EntryID) {
			st.Rejected = append(st.Rejected, rv.Objection.EntryID)
			tellApplications(ctx, local, BatchEvent{Event: BatchUpheld, BatchID: in.BatchID, By: res.By, Reason: res.Comment}, []string{rv.Objection.EntryID})
		}
		// An objection upheld as fraud (套取骗取: the reviewer's flag) goes to the supervision office
		// by itself, which opens its accountability record (issue 16). Batches from before this
		// version took no such step.
		if res.Outcome == casework.OutcomeUphold && res.Fields[FieldFraud] == "true" &&
			(local || workflow.GetVersion(ctx, "publicity-fraud-to-supervision", workflow.DefaultVersion, 1) == 1) {
			subject := activities.SubjectOf(opened.Members, rv.Objection.EntryID)
			if err := storeWrite(ctx, local, (*activities.Activities).Raise, activities.RaiseInput{
				ID: rv.Record.ID + "-fraud", Process: casework.ProcessSubsidy, CaseID: in.BatchID, UnitCode: in.UnitCode,
				Target: casework.TargetSupervision, Kind: casework.KindObjectionReview, At: now,
				Reason: strings.TrimSpace("公示异议成立，认定套取骗取资助：" + subject + "。" + res.Comment)}).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("fraud escalation failed", "objection", rv.Record.ID, "error", err)
			}
		}
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, ObjectionUpdate,
		func(ctx workflow.Context, o Objection) (string, error) {
			objections++
			st.OpenObjections++
			id := fmt.Sprintf("%s-o%d", in.BatchID, objections)
			rec := casework.Objection{ID: id, BatchID: in.BatchID, ApplicationID: o.EntryID, Reason: o.Reason, Contact: o.Contact,
				State: "open", CreatedAt: workflow.Now(ctx)}
			if err := workflow.ExecuteActivity(actx, (*activities.Activities).SaveObjection, rec).Get(ctx, nil); err != nil {
				st.OpenObjections--
				return "", err
			}
			// Checked once the row is saved: a review decided meanwhile no longer takes objections.
			if rv := groups[o.EntryID]; rv != nil {
				rv.Joined = append(rv.Joined, rec)
				return id, nil
			}
			busy++
			rv := &ObjectionReview{Record: rec, Objection: o}
			if grouped {
				groups[o.EntryID] = rv
			}
			workflow.Go(ctx, func(ctx workflow.Context) { review(ctx, rv) })
			return id, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, o Objection) error {
			if tasks.closing {
				return refuseField(CodeWrongState, "", because("continuing"), "this publicity list is moving to a new page of its history; retry in a moment")
			}
			if !listed {
				return refuseField(CodeWrongState, "", because("opening"), "the publicity list is still being opened; retry in a moment")
			}
			if periodOver || !workflow.Now(ctx).Before(opened.EndsAt) {
				return PublicityEnded(opened.EndsAt)
			}
			if !slices.Contains(st.Members, o.EntryID) || slices.Contains(st.Rejected, o.EntryID) {
				return refuseField(CodeInvalid, "entry_id", because("not_listed"), "entry_id: %q is not on this publicity list", o.EntryID)
			}
			if o.Reason == "" {
				return refuseField(CodeInvalid, "reason", because("required"), "reason: required")
			}
			return nil
		}})
	if err != nil {
		return PublicityState{}, err
	}
	bounded := local || workflow.GetVersion(ctx, "publicity-continue-on-long-history", workflow.DefaultVersion, 1) == 1
	// From this version on the batch's row names what it waits for once the period is over
	// (awaiting_objections, then awaiting_signoff, or closed with nothing left to sign off) where
	// batches opened before wrote closed and nothing more until the sign-off: the extra write when
	// the last objection is decided is a command their histories do not hold.
	named := local || workflow.GetVersion(ctx, "publicity-named-states", workflow.DefaultVersion, 1) == 1
	// From this version on a further objection to an entry whose review is open joins that review
	// (one task, one decision for all) where batches opened before open a review per objection.
	// The choice crosses continue-as-new, so that a batch opened before keeps it in every run.
	if r := in.Resume; r != nil {
		grouped = r.Grouped
	} else {
		grouped = local || workflow.GetVersion(ctx, "publicity-group-objections", workflow.DefaultVersion, 1) == 1
	}
	// waiting is what a batch whose period is over waits for.
	waiting := func() string {
		switch {
		case st.OpenObjections > 0:
			return casework.BatchAwaitingObjections
		case len(st.Members) > len(st.Rejected):
			return casework.BatchAwaitingSignoff
		}
		return casework.BatchClosed
	}
	long := func() bool {
		if !bounded {
			return false
		}
		info := workflow.GetInfo(ctx)
		return info.GetContinueAsNewSuggested() || (in.HistoryEvents > 0 && info.GetCurrentHistoryLength() >= in.HistoryEvents)
	}
	// continueAsNew carries the batch, its open reviews and its tasks into the next run, once
	// nothing is half-done.
	continueAsNew := func(stage, signoffTask string) error {
		if err := tasks.Quiesce(ctx); err != nil {
			return err
		}
		if err := workflow.Await(ctx, func() bool { return busy == 0 }); err != nil {
			return err
		}
		next := in
		next.Resume = &PublicityResume{Opened: opened, State: st, Objections: objections, PeriodOver: periodOver, Stage: stage,
			SignoffTask: signoffTask, TaskSeq: tasks.Seq(), Tasks: tasks.Carry(), Grouped: grouped}
		for _, t := range next.Resume.Tasks {
			if rv, ok := reviews[t.ID]; ok {
				r := *rv
				r.TaskID = t.ID
				next.Resume.Reviews = append(next.Resume.Reviews, r)
			}
		}
		slices.SortFunc(next.Resume.Reviews, func(a, b ObjectionReview) int { return strings.Compare(a.TaskID, b.TaskID) })
		return workflow.NewContinueAsNewError(ctx, PublicityBatch, next)
	}

	exclude := []string{}
	// setBatch writes a step of the batch; tell, only in a run that writes locally, is news the
	// step's applications hear once it is written.
	setBatch := func(state, action string, by access.Actor, role string, detail any, tell *activities.Tell) error {
		st.State = state
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(state))
		return storeWrite(ctx, local, (*activities.Activities).SetBatch, activities.BatchStep{BatchID: in.BatchID, State: state,
			Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessSubsidy, CaseID: in.BatchID, After: detail,
				At: workflow.Now(ctx)}, Tell: tell}).Get(ctx, nil)
	}
	if r := in.Resume; r != nil {
		for i := range r.Reviews {
			rv := &r.Reviews[i]
			if grouped {
				groups[rv.Objection.EntryID] = rv
			}
			workflow.Go(ctx, func(ctx workflow.Context) { review(ctx, rv) })
		}
		exclude = batchExclude(opened.Members)
	} else {
		open := activities.OpenBatchInput{BatchID: in.BatchID, UnitCode: in.UnitCode, Term: in.Term, Applications: in.Applications,
			OpenedBy: in.OpenedBy, Now: workflow.Now(ctx), Period: in.Timings.Period}
		if err := storeWrite(ctx, local, (*activities.Activities).OpenBatch, open).Get(ctx, &opened); err != nil {
			return PublicityState{}, err
		}
		st = PublicityState{State: casework.BatchOpen, EndsAt: opened.EndsAt.Format("2006-01-02T15:04:05Z07:00")}
		for _, m := range opened.Members {
			st.Members = append(st.Members, m.ApplicationID)
		}
		exclude = batchExclude(opened.Members)
		if len(st.Members) == 0 {
			return st, setBatch(casework.BatchClosed, "publicity.empty", access.System, "", nil, nil)
		}
		// A batch that writes locally tells its applications only the outcome (signed off, or an
		// objection upheld). Telling them they had entered publicity cost each application a signal,
		// a workflow task and a search-attribute upsert (5 of its 32 events, issue 20) to show
		// JiaofuState=in_publicity in the Temporal UI; the store, the console and the API show it
		// from the batch's claim. (A batch that wrote locally and was opened by an earlier build
		// told them from its opening activity; nothing on its history depends on it.)
		if !local {
			notifyApplications(ctx, BatchEvent{Event: BatchEntered, BatchID: in.BatchID}, st.Members)
		}
		listed = true
	}

	if stage == publicityStagePeriod {
		// The period runs on a durable timer: a restart of the service does not move its end.
		if wait := opened.EndsAt.Sub(workflow.Now(ctx)); wait > 0 {
			if bounded {
				gaveWay, err := workflow.AwaitWithTimeout(ctx, wait, long)
				if err != nil {
					return st, err
				}
				if gaveWay {
					return st, continueAsNew(publicityStagePeriod, "")
				}
			} else if err := workflow.Sleep(ctx, wait); err != nil {
				return st, err
			}
		}
		periodOver = true
		ended := casework.BatchClosed
		if named {
			ended = waiting()
		}
		if err := setBatch(ended, "publicity.period_ended", access.System, "", map[string]any{"open_objections": st.OpenObjections}, nil); err != nil {
			return st, err
		}
		stage = publicityStageObjections
	}
	if stage == publicityStageObjections {
		if err := workflow.Await(ctx, func() bool { return st.OpenObjections == 0 || long() }); err != nil {
			return st, err
		}
		if st.OpenObjections > 0 {
			return st, continueAsNew(publicityStageObjections, "")
		}
		if named && st.State == casework.BatchAwaitingObjections {
			if err := setBatch(waiting(), "publicity.objections_decided", access.System, "", map[string]any{"rejected": len(st.Rejected)}, nil); err != nil {
				return st, err
			}
		}
		stage = publicityStageSignoff
	}

	remaining := slices.DeleteFunc(slices.Clone(st.Members), func(id string) bool { return slices.Contains(st.Rejected, id) })
	if len(remaining) > 0 {
		if bounded {
			tasks.ContinueOnLongHistory(in.HistoryEvents)
		}
		var res TaskResult
		var err error
		if r := in.Resume; r != nil && r.SignoffTask != "" {
			res, err = tasks.Wait(ctx, r.SignoffTask)
		} else {
			res, err = tasks.Run(ctx, activities.TaskSpec{Kind: casework.KindPublicitySignoff, Process: casework.ProcessSubsidy, CaseID: in.BatchID,
				Title: fmt.Sprintf("公示结果审定：%s %s（%d 人）", in.UnitCode, in.Term, len(remaining)), CandidateRole: casework.RoleAidCenter,
				UnitCode: in.UnitCode, Outcomes: []string{casework.OutcomeApprove}, Due: in.Timings.SignoffDue, Exclude: exclude})
		}
		if errors.Is(err, ErrContinueAsNew) {
			return st, continueAsNew(publicityStageSignoff, tasks.Carry()[0].ID)
		} else if err != nil {
			return st, err
		}
		signed := BatchEvent{Event: BatchSignedOff, BatchID: in.BatchID, By: res.By, Channel: res.Fields["channel"]}
		var tell *activities.Tell
		if local {
			tell = &activities.Tell{Applications: remaining, Event: signed}
		}
		if err := setBatch(casework.BatchSignedOff, "publicity.signed_off", res.By, res.Role, map[string]any{"applications": remaining, "comment": res.Comment}, tell); err != nil {
			return st, err
		}
		if !local {
			notifyApplications(ctx, signed, remaining)
		}
	}
	return st, tasks.Finish(ctx)
}

// batchExclude lists the applicants and reviewers of a batch's entries: they may not sign it off.
func batchExclude(members []activities.BatchMember) []string {
	exclude := []string{}
	for _, m := range members {
		exclude = append(exclude, m.ApplicantID)
		if m.ReviewerID != "" {
			exclude = append(exclude, m.ReviewerID)
		}
	}
	return exclude
}

// The steps of a batch at which it can continue as new.
const (
	publicityStagePeriod     = "period"
	publicityStageObjections = "objections"
	publicityStageSignoff    = "signoff"
)

// ObjectionReview is an objection (with those joined to it) whose review task is open, as it
// crosses continue-as-new.
type ObjectionReview struct {
	Record    casework.Objection
	Objection Objection
	TaskID    string
	// Joined are the further objections to the entry filed while the review was open: the
	// reviewer's decision decides them too.
	Joined []casework.Objection
}

// PublicityResume carries a batch into its next run.
type PublicityResume struct {
	Opened      activities.OpenedBatch
	State       PublicityState
	Objections  int
	PeriodOver  bool
	Stage       string
	Reviews     []ObjectionReview
	SignoffTask string
	TaskSeq     int
	Tasks       []TaskState
	Grouped     bool // the batch groups objections to an entry into one review (publicity-group-objections)
}

// tellApplications tells batch news to applications: from a local activity in a run that writes
// locally (activities.Tell), by the workflow's own signals otherwise.
func tellApplications(ctx workflow.Context, local bool, ev BatchEvent, ids []string) {
	if !local {
		notifyApplications(ctx, ev, ids)
		return
	}
	if err := executeLocal(ctx, (*activities.Activities).TellApplications, activities.Tell{Applications: ids, Event: ev}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("batch event not delivered", "applications", ids, "event", ev.Event, "error", err)
	}
}

// notifyApplications signals batch news to each application's workflow (batches from before
// publicity-local-writes). One application that cannot hear it (closed by hand by an operator,
// say) must not strand the rest of the batch, so a failed signal is logged and the others go on.
func notifyApplications(ctx workflow.Context, ev BatchEvent, ids []string) {
	futures := make([]workflow.Future, len(ids))
	for i, id := range ids {
		futures[i] = workflow.SignalExternalWorkflow(ctx, id, "", BatchEventSignal, ev)
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("batch event not delivered", "application", ids[i], "event", ev.Event, "error", err)
		}
	}
}

// peopleOf lists who applied for and reviewed an entry: they may not judge an objection to it.
func peopleOf(members []activities.BatchMember, entryID string) []string {
	for _, m := range members {
		if m.ApplicationID == entryID {
			return []string{m.ApplicantID, m.ReviewerID}
		}
	}
	return nil
}
