package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// RegistryCheckInput asks what the registry says of a student for a programme.
type RegistryCheckInput struct {
	ApplicationID string
	StudentID     string
	Programme     string
	Term          string
	ApplicantID   string
	EvidenceNote  string
	// Applicant and AppliedAt make the applicant's audit entry (store.AppliedEntry); workflows started
	// before they were passed have them empty, and their entry was written by the API alone.
	Applicant access.Actor
	AppliedAt time.Time
}

// AppliedEntry is the applicant's audit entry of a new application in the given workflow run. The
// API writes it with the row right after starting the workflow and CheckRegistry writes it too,
// built here alike for both, under one key: whichever comes second finds it on record.
func AppliedEntry(in RegistryCheckInput, runID, schoolCode string) store.AuditEntry {
	return store.AuditEntry{EventKey: store.AppliedEventKey(in.ApplicationID, runID), At: in.AppliedAt,
		ActorID: in.Applicant.UserID, ActorName: in.Applicant.DisplayName, Role: casework.RoleSchoolStaff, UnitCode: schoolCode,
		Action: "subsidy.applied", Process: "subsidy" /* casework.ProcessSubsidy */, CaseID: in.ApplicationID,
		After: mustJSON(map[string]any{"student_id": in.StudentID, "programme": in.Programme, "term": in.Term})}
}

// RegistryCheck is the automatic check's verdict.
type RegistryCheck struct {
	Priority      bool // 建档立卡: poverty-registered students are reviewed first
	NeedsEvidence bool
	AmountFen     int64 // from the programme's standard, never from the form
	UnitCode      string
}

// CheckRegistry looks the student up in the poverty registry and the programme's standard, and
// writes the verdict to the application, with the row and the applicant's entry if the API has
// not written them yet.
func (a *Activities) CheckRegistry(ctx context.Context, in RegistryCheckInput) (RegistryCheck, error) {
	st, err := a.Store.StudentByID(ctx, in.StudentID)
	if err != nil {
		return RegistryCheck{}, nonRetryable(fmt.Errorf("student %s: %w", in.StudentID, err))
	}
	prog, err := a.Store.ProgrammeByCode(ctx, in.Programme)
	if err != nil {
		return RegistryCheck{}, nonRetryable(fmt.Errorf("programme %s: %w", in.Programme, err))
	}
	out := RegistryCheck{Priority: st.PovertyRegistered, NeedsEvidence: !st.PovertyRegistered, AmountFen: prog.AmountFen, UnitCode: st.UnitCode}
	var applied *store.AuditEntry
	if in.Applicant.UserID != "" {
		e := store.AppliedEntry(store.Applied{ApplicationID: in.ApplicationID, StudentID: in.StudentID, Programme: in.Programme,
			Term: in.Term, Applicant: in.Applicant, At: in.AppliedAt}, activity.GetInfo(ctx).WorkflowExecution.RunID, st.UnitCode)
		applied = &e
	}
	return out, a.Store.OpenApplication(ctx, store.Application{ID: in.ApplicationID, StudentID: in.StudentID, ProgrammeCode: in.Programme,
		Term: in.Term, UnitID: st.UnitID, ApplicantID: in.ApplicantID, EvidenceNote: in.EvidenceNote, State: casework.AppSubmitted},
		applied, casework.ApplicationUpdate{State: casework.AppInReview, AmountFen: &out.AmountFen, Priority: &out.Priority})
}

// ApplicationStep moves an application's projection and puts the step on record.
type ApplicationStep struct {
	ApplicationID string
	Update        casework.ApplicationUpdate
	Audit         Audit
}

// SetApplication applies a step of the subsidy workflow to the store.
func (a *Activities) SetApplication(ctx context.Context, in ApplicationStep) error {
	return a.setApplication(ctx, in, "")
}

// setApplication is SetApplication inside an activity that writes more than this step's entry:
// suffix keeps the entry's key apart from the others' (entry).
func (a *Activities) setApplication(ctx context.Context, in ApplicationStep, suffix string) error {
	if err := a.Store.UpdateApplication(ctx, in.ApplicationID, in.Update); err != nil {
		return nonRetryable(err)
	}
	return a.audit(ctx, in.Audit, suffix)
}

// CheckAndOpenInput is an application's first step in one write (workflows: from
// subsidy-merged-writes on): the registry check, then the school's review task.
type CheckAndOpenInput struct {
	Check RegistryCheckInput
	// Review is the review task as the workflow opens it (workflows Tasks.OpenWith), its unit left
	// empty: it is the student's school, which the check finds.
	Review   OpenTaskInput
	Revision int // of the review's first projection
}

// CheckedAndOpened is the registry's verdict and the review task as opened.
type CheckedAndOpened struct {
	Check  RegistryCheck
	Review OpenedTask
}

// CheckAndOpenReview is CheckRegistry, then ResolveTask and ProjectOpenTask of the review task at
// the student's school, in one activity (issue 20: one local activity's marker instead of three).
// Each part is as idempotent as it is alone, so a retry after a partial run writes nothing twice;
// only ProjectOpenTask keys an entry by the activity (CheckRegistry's applicant entry has a key of
// its own), so the keys stay apart.
func (a *Activities) CheckAndOpenReview(ctx context.Context, in CheckAndOpenInput) (CheckedAndOpened, error) {
	check, err := a.CheckRegistry(ctx, in.Check)
	if err != nil {
		return CheckedAndOpened{}, err
	}
	in.Review.Spec.UnitCode = check.UnitCode
	review, err := a.openTask(ctx, in.Review, in.Revision)
	return CheckedAndOpened{Check: check, Review: review}, err
}

// DisburseInput pays an application once.
type DisburseInput struct {
	ApplicationID string
	AmountFen     int64
	Channel       string
	At            time.Time
}

// Disburse records the payment exactly once (the application id is the key), then archives the
// application as disbursed.
func (a *Activities) Disburse(ctx context.Context, in DisburseInput) (store.Disbursement, error) {
	d, err := a.Store.Disburse(ctx, store.Disbursement{ApplicationID: in.ApplicationID, AmountFen: in.AmountFen, Channel: in.Channel, DisbursedAt: in.At})
	if err != nil {
		return d, err
	}
	if err := a.Store.UpdateApplication(ctx, in.ApplicationID, casework.ApplicationUpdate{State: casework.AppDisbursed}); err != nil {
		return d, err
	}
	return d, a.audit(ctx, disbursed(d, in.At), "")
}

// disbursed is the payment's audit entry: the payment as on record.
func disbursed(d store.Disbursement, at time.Time) Audit {
	return Audit{Actor: access.System, Action: "subsidy.disbursed", Process: "subsidy", CaseID: d.ApplicationID, After: d, At: at}
}

// SignOffInput is the county's sign-off of an application (its step, Step.Update's state
// signed_off) and the payment it orders, through Channel, of the registry's AmountFen.
type SignOffInput struct {
	Step      ApplicationStep
	AmountFen int64
	Channel   string
	At        time.Time
}

// SignOffAndDisburse is SetApplication's sign-off and Disburse in one activity and one
// transaction (store.SignOffAndDisburse; workflows: from subsidy-merged-writes on). The two
// entries' keys are the activity's, the payment's with "/disbursed": both written once, however
// often the activity runs.
func (a *Activities) SignOffAndDisburse(ctx context.Context, in SignOffInput) (store.Disbursement, error) {
	d, err := a.Store.SignOffAndDisburse(ctx, in.Step.Update, entry(ctx, in.Step.Audit, ""),
		store.Disbursement{ApplicationID: in.Step.ApplicationID, AmountFen: in.AmountFen, Channel: in.Channel, DisbursedAt: in.At},
		func(d store.Disbursement) store.AuditEntry { return entry(ctx, disbursed(d, in.At), "/disbursed") })
	return d, nonRetryable(err)
}

// OpenBatchInput opens a publicity batch over the given reviewed applications.
type OpenBatchInput struct {
	BatchID      string
	UnitCode     string
	Term         string
	Applications []string
	OpenedBy     access.Actor
	Now          time.Time
	Period       calendar.Spec
}

// BatchMember is one application in a batch, with the people separation of duties bars from
// signing it off.
type BatchMember struct {
	ApplicationID string
	ApplicantID   string
	ReviewerID    string
	Subject       string // store.Application.Subject; empty in batches opened before it was kept
}

// SubjectOf names a batch's entry for people, or gives its id if the batch did not keep the name.
func SubjectOf(members []BatchMember, entryID string) string {
	for _, m := range members {
		if m.ApplicationID == entryID && m.Subject != "" {
			return m.Subject
		}
	}
	return entryID
}

// OpenedBatch is the batch as opened: its members and when publicity ends.
type OpenedBatch struct {
	Members []BatchMember
	EndsAt  time.Time
}

// OpenBatch computes the end of the publicity period on the calendar and claims the applications
// for the batch in one transaction (an application can be in one batch only).
func (a *Activities) OpenBatch(ctx context.Context, in OpenBatchInput) (OpenedBatch, error) {
	unit, err := a.Store.UnitByCode(ctx, in.UnitCode)
	if err != nil {
		return OpenedBatch{}, nonRetryable(err)
	}
	cal, err := a.Store.Calendar(ctx)
	if err != nil {
		return OpenedBatch{}, err
	}
	ends := in.Period.Due(cal, in.Now)
	ids, err := a.Store.ClaimForBatch(ctx, store.Batch{ID: in.BatchID, UnitID: unit.ID, Term: in.Term, OpenedBy: in.OpenedBy.UserID,
		OpenedAt: in.Now, EndsAt: &ends}, in.Applications)
	if err != nil {
		return OpenedBatch{}, err
	}
	out := OpenedBatch{EndsAt: ends}
	for _, id := range ids {
		app, err := a.Store.ApplicationByID(ctx, id)
		if err != nil {
			return out, err
		}
		out.Members = append(out.Members, BatchMember{ApplicationID: id, ApplicantID: app.ApplicantID, ReviewerID: app.ReviewerID,
			Subject: app.Subject()})
	}
	if err := a.audit(ctx, Audit{Actor: in.OpenedBy, Role: casework.RoleSchoolStaff, Action: "publicity.opened", Process: "subsidy",
		CaseID: in.BatchID, After: map[string]any{"applications": ids, "ends_at": ends}, At: in.Now}, ""); err != nil {
		return out, err
	}
	return out, nil
}

// BatchStep moves a batch's projection and puts the step on record.
type BatchStep struct {
	BatchID string
	State   string
	Audit   Audit
	// Tell, when set, is news the step's applications hear once the step is written (batches
	// from publicity-local-writes on; before, the workflow signalled them itself).
	Tell *Tell `json:",omitempty"`
}

// SetBatch applies a step of the publicity workflow to the store, then tells the applications
// the step concerns.
func (a *Activities) SetBatch(ctx context.Context, in BatchStep) error {
	if err := a.Store.SetBatchState(ctx, in.BatchID, in.State); err != nil {
		return err
	}
	if err := a.audit(ctx, in.Audit, ""); err != nil {
		return err
	}
	if in.Tell != nil {
		return tell(ctx, *in.Tell)
	}
	return nil
}

// BatchEventSignal is the signal through which an application hears its publicity batch's news.
const BatchEventSignal = "batch-event"

// BatchEvent is one piece of news from a publicity batch to an application (workflows.BatchEvent).
type BatchEvent struct {
	Event   string
	BatchID string
	Channel string
	By      access.Actor
	Reason  string
}

// Tell is news for some of a batch's applications.
type Tell struct {
	Applications []string // their workflow ids
	Event        BatchEvent
}

// TellApplications tells applications a batch's news (an upheld objection) on its own; the
// batch's opening and its steps tell theirs as they are written (OpenBatch, SetBatch).
func (a *Activities) TellApplications(ctx context.Context, in Tell) error { return tell(ctx, in) }

// tell signals the news to each application through the worker's client, so that the batch's
// history holds the one activity (a local one: a marker) where a signal from the workflow
// itself costs the batch two events an application and a workflow task for their answers
// (issue 20). The activity retries until every application has heard, so one may hear the same
// news twice: an application takes the first and is past waiting for the batch by the next. An
// application that cannot hear (ended by an operator) must not strand the batch's others: it is
// logged and skipped, as the workflow's signal was.
func tell(ctx context.Context, in Tell) error {
	c := activity.GetClient(ctx)
	for _, id := range in.Applications {
		err := c.SignalWorkflow(ctx, id, "", BatchEventSignal, in.Event)
		var gone *serviceerror.NotFound
		if errors.As(err, &gone) {
			activity.GetLogger(ctx).Error("batch event not delivered", "application", id, "event", in.Event.Event, "error", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("tell %s of %s: %w", id, in.Event.Event, err)
		}
	}
	return nil
}

// SaveObjection records an objection or its decision.
func (a *Activities) SaveObjection(ctx context.Context, o casework.Objection) error {
	if err := a.Store.UpsertObjection(ctx, o); err != nil {
		return err
	}
	action, actor := "objection.filed", access.Public
	if o.Decision != "" {
		action, actor = "objection."+o.Decision, access.System
	}
	return a.audit(ctx, Audit{Actor: actor, Action: action, Process: "subsidy", CaseID: o.BatchID,
		After: map[string]any{"objection_id": o.ID, "entry_id": o.ApplicationID, "state": o.State, "decision": o.Decision}}, "")
}
