package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/store"
)

// Subsidy task kinds and outcomes, fixed names that clients use.
const (
	KindSubsidyReview    = "subsidy_review"
	KindSubsidyResubmit  = "subsidy_resubmit"
	KindObjectionReview  = "objection_review"
	KindPublicitySignoff = "publicity_signoff"

	OutcomeApprove  = "approve"
	OutcomeReject   = "reject"
	OutcomeReturn   = "return"
	OutcomeResubmit = "resubmit"
	OutcomeWithdraw = "withdraw"
	OutcomeUphold   = "uphold"
	OutcomeDismiss  = "dismiss"
)

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
const BatchEventSignal = "batch-event"

// Batch events an application hears.
const (
	BatchEntered   = "entered"
	BatchUpheld    = "objection_upheld"
	BatchSignedOff = "signed_off"
)

// BatchEvent is one piece of news from a publicity batch.
type BatchEvent struct {
	Event   string
	BatchID string
	Channel string
	By      access.Actor
	Reason  string
}

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
	// Applications started before this version never continue as new on a long history: their
	// replay must take the same steps.
	if workflow.GetVersion(ctx, "subsidy-continue-on-long-history", workflow.DefaultVersion, 1) == 1 {
		tasks.ContinueOnLongHistory(in.HistoryEvents)
	}
	actx := activityCtx(ctx)
	var check activities.RegistryCheck
	stage := subsidyStageReview
	if r := in.Resume; r != nil {
		check, stage = r.Check, r.Stage
	} else if err := workflow.ExecuteActivity(actx, (*activities.Activities).CheckRegistry, activities.RegistryCheckInput{
		ApplicationID: in.ApplicationID, StudentID: in.StudentID, Programme: in.Programme, Term: in.Term,
		ApplicantID: in.Applicant.UserID, EvidenceNote: in.EvidenceNote, Applicant: in.Applicant, AppliedAt: in.AppliedAt}).Get(ctx, &check); err != nil {
		return SubsidyResult{}, err
	}
	setState := func(state, action string, by access.Actor, role string, upd store.ApplicationUpdate, detail map[string]any) error {
		upd.State = state
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(state))
		if detail == nil {
			detail = map[string]any{}
		}
		detail["state"] = state
		return workflow.ExecuteActivity(actx, (*activities.Activities).SetApplication, activities.ApplicationStep{
			ApplicationID: in.ApplicationID, Update: upd,
			Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: ProcessSubsidy, CaseID: in.ApplicationID,
				After: detail, At: workflow.Now(ctx)}}).Get(ctx, nil)
	}
	finish := func(state string) (SubsidyResult, error) {
		return SubsidyResult{State: state, AmountFen: check.AmountFen}, Drain(ctx)
	}
	continueAsNew := func(stage string) (SubsidyResult, error) {
		next := in
		next.Resume = &SubsidyResume{Check: check, Stage: stage, TaskSeq: tasks.Seq(), Tasks: tasks.Carry()}
		return SubsidyResult{}, workflow.NewContinueAsNewError(ctx, SubsidyApplication, next)
	}

	programme := in.ProgrammeName
	if programme == "" {
		programme = in.Programme
	}
	title := fmt.Sprintf("资助审核：%s %s %s", in.StudentName, programme, in.Term)
	exclude := []string{in.Applicant.UserID}
review:
	for {
		if stage == subsidyStageReview {
			res, err := tasks.Run(ctx, activities.TaskSpec{Kind: KindSubsidyReview, Process: ProcessSubsidy, CaseID: in.ApplicationID,
				Title: title, CandidateRole: store.RoleSchoolLeader, UnitCode: check.UnitCode,
				Outcomes: []string{OutcomeApprove, OutcomeReject, OutcomeReturn}, Due: in.Timings.ReviewDue, Exclude: exclude,
				OwnerID: in.Applicant.UserID})
			if errors.Is(err, ErrContinueAsNew) {
				return continueAsNew(subsidyStageReview)
			} else if err != nil {
				return SubsidyResult{}, err
			}
			detail := map[string]any{"comment": res.Comment}
			switch res.Outcome {
			case OutcomeApprove:
				if err := setState(store.AppReviewed, "subsidy.reviewed", res.By, res.Role, store.ApplicationUpdate{ReviewerID: res.By.UserID}, detail); err != nil {
					return SubsidyResult{}, err
				}
				break review
			case OutcomeWithdrawn:
				if err := setState(store.AppRejected, "subsidy.withdrawn", res.By, store.RoleSchoolStaff, store.ApplicationUpdate{}, detail); err != nil {
					return SubsidyResult{}, err
				}
				return finish(store.AppRejected)
			case OutcomeReject:
				if err := setState(store.AppRejected, "subsidy.rejected", res.By, res.Role, store.ApplicationUpdate{ReviewerID: res.By.UserID}, detail); err != nil {
					return SubsidyResult{}, err
				}
				return finish(store.AppRejected)
			case OutcomeReturn:
				if err := setState(store.AppReturned, "subsidy.returned", res.By, res.Role, store.ApplicationUpdate{}, detail); err != nil {
					return SubsidyResult{}, err
				}
			}
		}
		fix, err := tasks.Run(ctx, activities.TaskSpec{Kind: KindSubsidyResubmit, Process: ProcessSubsidy, CaseID: in.ApplicationID,
			Title: "退回修改：" + title, CandidateRole: store.RoleSchoolStaff, UnitCode: check.UnitCode,
			AssigneeID: in.Applicant.UserID, Outcomes: []string{OutcomeResubmit, OutcomeWithdraw}, Due: in.Timings.ResubmitDue})
		if errors.Is(err, ErrContinueAsNew) {
			return continueAsNew(subsidyStageResubmit)
		} else if err != nil {
			return SubsidyResult{}, err
		}
		stage = subsidyStageReview
		if fix.Outcome == OutcomeWithdraw {
			if err := setState(store.AppRejected, "subsidy.withdrawn", fix.By, fix.Role, store.ApplicationUpdate{}, map[string]any{"comment": fix.Comment}); err != nil {
				return SubsidyResult{}, err
			}
			return finish(store.AppRejected)
		}
		upd := store.ApplicationUpdate{}
		if note, ok := fix.Fields["evidence_note"]; ok {
			upd.EvidenceNote = &note
		}
		if err := setState(store.AppInReview, "subsidy.resubmitted", fix.By, fix.Role, upd, map[string]any{"comment": fix.Comment}); err != nil {
			return SubsidyResult{}, err
		}
	}

	// Wait for the school's publicity batch, then for its result.
	events := workflow.GetSignalChannel(ctx, BatchEventSignal)
	for {
		var ev BatchEvent
		events.Receive(ctx, &ev)
		switch ev.Event {
		case BatchEntered:
			_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(store.AppInPublicity))
		case BatchUpheld:
			if err := setState(store.AppRejected, "subsidy.rejected_by_objection", ev.By, store.RoleAidCenter, store.ApplicationUpdate{},
				map[string]any{"batch_id": ev.BatchID, "reason": ev.Reason}); err != nil {
				return SubsidyResult{}, err
			}
			return finish(store.AppRejected)
		case BatchSignedOff:
			if err := setState(store.AppSignedOff, "subsidy.signed_off", ev.By, store.RoleAidCenter, store.ApplicationUpdate{},
				map[string]any{"batch_id": ev.BatchID}); err != nil {
				return SubsidyResult{}, err
			}
			channel := ev.Channel
			if channel == "" {
				channel = DefaultChannel
			}
			if err := workflow.ExecuteActivity(actx, (*activities.Activities).Disburse, activities.DisburseInput{
				ApplicationID: in.ApplicationID, AmountFen: check.AmountFen, Channel: channel, At: workflow.Now(ctx)}).Get(ctx, nil); err != nil {
				return SubsidyResult{}, err
			}
			_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(store.AppDisbursed))
			return finish(store.AppDisbursed)
		}
	}
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
}

// ObjectionUpdate is the Update through which the public objects to an entry.
const ObjectionUpdate = "objection"

// Objection is a public objection to one entry.
type Objection struct {
	EntryID string
	Reason  string
	Contact string
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
// tasks, the batch cannot close while one is open, then the aid center signs off and every
// remaining application is disbursed.
func PublicityBatch(ctx workflow.Context, in PublicityInput) (PublicityState, error) {
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return PublicityState{}, err
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
	periodOver, objections := false, 0
	err = workflow.SetUpdateHandlerWithOptions(ctx, ObjectionUpdate,
		func(ctx workflow.Context, o Objection) (string, error) {
			objections++
			st.OpenObjections++
			id := fmt.Sprintf("%s-o%d", in.BatchID, objections)
			rec := store.Objection{ID: id, BatchID: in.BatchID, ApplicationID: o.EntryID, Reason: o.Reason, Contact: o.Contact,
				State: "open", CreatedAt: workflow.Now(ctx)}
			if err := workflow.ExecuteActivity(actx, (*activities.Activities).SaveObjection, rec).Get(ctx, nil); err != nil {
				st.OpenObjections--
				return "", err
			}
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer func() { st.OpenObjections-- }()
				res, err := tasks.Run(ctx, activities.TaskSpec{Kind: KindObjectionReview, Process: ProcessSubsidy, CaseID: in.BatchID,
					Title: "公示异议复核：" + o.EntryID, CandidateRole: store.RoleAidCenter, UnitCode: in.UnitCode,
					Outcomes: []string{OutcomeUphold, OutcomeDismiss}, Due: in.Timings.ObjectionDue, Exclude: peopleOf(opened.Members, o.EntryID)})
				if err != nil {
					workflow.GetLogger(ctx).Error("objection review failed", "objection", id, "error", err)
					return
				}
				now := workflow.Now(ctx)
				rec.State, rec.Decision, rec.DecidedAt = "decided", res.Outcome, &now
				if err := workflow.ExecuteActivity(actx, (*activities.Activities).SaveObjection, rec).Get(ctx, nil); err != nil {
					workflow.GetLogger(ctx).Error("objection record failed", "objection", id, "error", err)
				}
				if res.Outcome == OutcomeUphold && !slices.Contains(st.Rejected, o.EntryID) {
					st.Rejected = append(st.Rejected, o.EntryID)
					notifyApplications(ctx, BatchEvent{Event: BatchUpheld, BatchID: in.BatchID, By: res.By, Reason: res.Comment}, []string{o.EntryID})
				}
			})
			return id, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, o Objection) error {
			if !listed {
				return refuse(ErrTypeConflict, "the publicity list is still being opened; retry in a moment")
			}
			if periodOver || !workflow.Now(ctx).Before(opened.EndsAt) {
				return refuse(ErrTypeConflict, "the publicity period has ended; objections are no longer accepted")
			}
			if !slices.Contains(st.Members, o.EntryID) || slices.Contains(st.Rejected, o.EntryID) {
				return refuse(ErrTypeInvalid, "entry_id: %q is not on this publicity list", o.EntryID)
			}
			if o.Reason == "" {
				return refuse(ErrTypeInvalid, "reason: required")
			}
			return nil
		}})
	if err != nil {
		return PublicityState{}, err
	}

	if err := workflow.ExecuteActivity(actx, (*activities.Activities).OpenBatch, activities.OpenBatchInput{
		BatchID: in.BatchID, UnitCode: in.UnitCode, Term: in.Term, Applications: in.Applications, OpenedBy: in.OpenedBy,
		Now: workflow.Now(ctx), Period: in.Timings.Period}).Get(ctx, &opened); err != nil {
		return PublicityState{}, err
	}
	st = PublicityState{State: store.BatchOpen, EndsAt: opened.EndsAt.Format("2006-01-02T15:04:05Z07:00")}
	exclude := []string{}
	for _, m := range opened.Members {
		st.Members = append(st.Members, m.ApplicationID)
		exclude = append(exclude, m.ApplicantID)
		if m.ReviewerID != "" {
			exclude = append(exclude, m.ReviewerID)
		}
	}
	setBatch := func(state, action string, by access.Actor, role string, detail any) error {
		st.State = state
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(state))
		return workflow.ExecuteActivity(actx, (*activities.Activities).SetBatch, activities.BatchStep{BatchID: in.BatchID, State: state,
			Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: ProcessSubsidy, CaseID: in.BatchID, After: detail,
				At: workflow.Now(ctx)}}).Get(ctx, nil)
	}
	if len(st.Members) == 0 {
		return st, setBatch(store.BatchClosed, "publicity.empty", access.System, "", nil)
	}
	notifyApplications(ctx, BatchEvent{Event: BatchEntered, BatchID: in.BatchID}, st.Members)
	listed = true

	// The period runs on a durable timer: a restart of the service does not move its end.
	if wait := opened.EndsAt.Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return st, err
		}
	}
	periodOver = true
	if err := setBatch(store.BatchClosed, "publicity.period_ended", access.System, "", map[string]any{"open_objections": st.OpenObjections}); err != nil {
		return st, err
	}
	if err := workflow.Await(ctx, func() bool { return st.OpenObjections == 0 }); err != nil {
		return st, err
	}

	remaining := slices.DeleteFunc(slices.Clone(st.Members), func(id string) bool { return slices.Contains(st.Rejected, id) })
	if len(remaining) > 0 {
		res, err := tasks.Run(ctx, activities.TaskSpec{Kind: KindPublicitySignoff, Process: ProcessSubsidy, CaseID: in.BatchID,
			Title: fmt.Sprintf("公示结果审定：%s %s（%d 人）", in.UnitCode, in.Term, len(remaining)), CandidateRole: store.RoleAidCenter,
			UnitCode: in.UnitCode, Outcomes: []string{OutcomeApprove}, Due: in.Timings.SignoffDue, Exclude: exclude})
		if err != nil {
			return st, err
		}
		if err := setBatch(store.BatchSignedOff, "publicity.signed_off", res.By, res.Role, map[string]any{"applications": remaining, "comment": res.Comment}); err != nil {
			return st, err
		}
		notifyApplications(ctx, BatchEvent{Event: BatchSignedOff, BatchID: in.BatchID, By: res.By, Channel: res.Fields["channel"]}, remaining)
	}
	return st, Drain(ctx)
}

// notifyApplications signals batch news to each application's workflow. One application that
// cannot hear it (closed by hand by an operator, say) must not strand the rest of the batch, so a
// failed signal is logged and the others go on.
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
