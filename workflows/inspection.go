package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

func init() {
	registerWorkflows(casework.ProcessInspection, FindingCase, RoutineRound, OrganisationalHandling)
}

// Fields of a rectification task's completion (POST /api/v1/findings/{id}/rectifications sends
// them through the task-action Update, as the inbox's task page does).
const (
	FieldSummary      = "summary"
	FieldEvidenceNote = "evidence_note"
)

// FindingInput opens a finding's case. Finding carries what the inspector recorded (ID,
// RoundID, UnitCode, Area, Severity, Description, RectifyBy, CreatedBy); the reviewer is the
// inspecting unit's role that reviews rectifications (inspector at 督导办, township_staff at a
// township's central school).
type FindingInput struct {
	Finding      activities.FindingRecord
	RaisedBy     access.Actor
	RaisedRole   string
	ReviewerRole string
	ReviewerUnit string
	RedoDue      calendar.Spec // a rejected rectification's new deadline, from the rejection
	ReviewDue    calendar.Spec // the review task's due time
}

// FindingResult is how a finding ended.
type FindingResult struct {
	FindingID string
	State     string
	Attempts  int
}

// SeveritySerious is the severity whose rectification SeriousReviewers of the inspectorate's
// reviewers accept together (会签), each on a task of their own.
const (
	SeveritySerious  = "serious"
	SeriousReviewers = 2
)

// RectifierRole is who rectifies a finding at its unit: the school leader (校长), first
// responsible for the school's rectification; the 包保 chain names who answers above them.
const RectifierRole = casework.RoleSchoolLeader

// CheckRectification is the rectification task's own rule: a summary and an evidence note.
func CheckRectification(a TaskAction) error {
	for _, f := range []string{FieldSummary, FieldEvidenceNote} {
		if strings.TrimSpace(a.Fields[f]) == "" {
			return refuseField(CodeInvalid, f, because("required"), "%s: required", f)
		}
	}
	return nil
}

// FindingCase runs one finding (问题清单) on the kit: the unit's rectification task, due at the
// finding's rectification deadline (a case deadline of kind rectification_due, whose ladder
// reminds the unit, then reaches its superior and the supervision office by itself while nobody
// submits); the inspectorate's review of what was submitted, never by its submitter; accepted,
// the finding is closed (销号); rejected with a reason, back to the unit with a new deadline
// (RedoDue from the rejection), as often as it takes.
func FindingCase(ctx workflow.Context, in FindingInput) (FindingResult, error) {
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return FindingResult{}, err
	}
	tasks.Check(casework.KindRectification, CheckRectification)
	var f activities.FindingRecord
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).OpenFinding, activities.OpenFindingInput{
		Finding: in.Finding, By: in.RaisedBy, Role: in.RaisedRole, At: workflow.Now(ctx)}).Get(ctx, &f); err != nil {
		return FindingResult{}, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrProcess.ValueSet(casework.ProcessInspection), AttrUnit.ValueSet(f.UnitCode),
		AttrState.ValueSet(f.State))
	title := findingTitle(f)
	step := func(_ workflow.Context, d *DeadlineState, _ activities.RungAt) (string, error) {
		return fmt.Sprintf("「%s」逾期未整改（整改期限 %s）", title, d.Spec.At.In(calendar.CST).Format("2006-01-02 15:04")), nil
	}
	for attempt := 1; ; attempt++ {
		name := "rectify-by"
		if attempt > 1 {
			name = fmt.Sprintf("rectify-by-%d", attempt)
		}
		if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlineRectificationDue, Process: casework.ProcessInspection,
			CaseID: f.ID, UnitCode: f.UnitCode, At: f.RectifyBy}, step); err != nil {
			return FindingResult{}, err
		}
		due := f.RectifyBy.Sub(workflow.Now(ctx))
		if due < time.Second {
			due = time.Second
		}
		dueSpec, err := calendar.ParseSpec(due.String())
		if err != nil {
			return FindingResult{}, err
		}
		sub, err := tasks.Run(ctx, activities.TaskSpec{Kind: casework.KindRectification, Process: casework.ProcessInspection, CaseID: f.ID,
			Title: "整改：" + title, CandidateRole: RectifierRole, UnitCode: f.UnitCode, Outcomes: []string{casework.OutcomeSubmitted},
			Due: dueSpec, Ladderless: true})
		if err != nil {
			return FindingResult{}, err
		}
		// A submission right after the deadline is escalated first; then the unit has met it.
		if err := tasks.FireDue(ctx); err != nil {
			return FindingResult{}, err
		}
		if err := tasks.ClearDeadlines(ctx, "已提交整改材料", name); err != nil {
			return FindingResult{}, err
		}
		f.State, f.Attempts = casework.FindingReviewing, attempt
		f.Summary, f.EvidenceNote = strings.TrimSpace(sub.Fields[FieldSummary]), strings.TrimSpace(sub.Fields[FieldEvidenceNote])
		if err := findingStep(ctx, f, "inspection.rectification_submitted", sub.By, sub.Role, map[string]any{"attempt": attempt,
			"summary": f.Summary, "evidence_note": f.EvidenceNote}); err != nil {
			return FindingResult{}, err
		}
		review := activities.TaskSpec{Kind: casework.KindRectificationReview, Process: casework.ProcessInspection, CaseID: f.ID,
			Title: "整改审核：" + title, CandidateRole: in.ReviewerRole, UnitCode: in.ReviewerUnit,
			Outcomes: []string{casework.OutcomeAccept, casework.OutcomeReject}, Due: in.ReviewDue,
			Exclude: []string{sub.By.UserID}, CommentRequired: []string{casework.OutcomeReject}}
		// A serious finding is closed out by two of the inspectorate's reviewers (会签): each accepts
		// on a task of their own, and one rejection sends it back. Findings opened before this
		// version are reviewed by one, as they were (their histories replay so).
		if f.Severity == SeveritySerious && workflow.GetVersion(ctx, "finding-serious-two-reviewers", workflow.DefaultVersion, 1) == 1 {
			review.Signing = &casework.Signing{Mode: casework.SignAll, Count: SeriousReviewers}
			review.Title = "整改审核（会签）：" + title
		}
		rev, err := tasks.Run(ctx, review)
		if err != nil {
			return FindingResult{}, err
		}
		f.ReviewNote = strings.TrimSpace(rev.Comment)
		if rev.Outcome == casework.OutcomeAccept {
			at := workflow.Now(ctx)
			f.State, f.ClosedAt = casework.FindingClosed, &at
			if err := findingStep(ctx, f, "inspection.finding_closed", rev.By, rev.Role, map[string]any{"note": f.ReviewNote}); err != nil {
				return FindingResult{}, err
			}
			_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(f.State))
			if err := tasks.Finish(ctx); err != nil {
				return FindingResult{}, err
			}
			return FindingResult{FindingID: f.ID, State: f.State, Attempts: attempt}, nil
		}
		redo := in.RedoDue
		if redo.IsZero() {
			redo, _ = calendar.ParseSpec("15d")
		}
		var next time.Time
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).RectificationDue, activities.RectificationDueInput{
			From: workflow.Now(ctx), Period: redo}).Get(ctx, &next); err != nil {
			return FindingResult{}, err
		}
		f.State, f.RectifyBy = casework.FindingRectifying, next
		if err := findingStep(ctx, f, "inspection.rectification_rejected", rev.By, rev.Role, map[string]any{"attempt": attempt,
			"reason": f.ReviewNote, "rectify_by": next}); err != nil {
			return FindingResult{}, err
		}
	}
}

// findingStep writes the finding's row and the step's audit entry.
func findingStep(ctx workflow.Context, f activities.FindingRecord, action string, by access.Actor, role string, after map[string]any) error {
	after["state"] = f.State
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SetFinding, activities.FindingStep{Finding: f,
		Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessInspection, CaseID: f.ID,
			After: after, At: workflow.Now(ctx)}}).Get(ctx, nil)
}

// findingTitle is a finding's short name in task titles and escalations: the unit's name (its
// code in findings opened before the name was kept, whose histories replay so) and what was found.
func findingTitle(f activities.FindingRecord) string {
	d := []rune(strings.Join(strings.Fields(f.Description), " "))
	if len(d) > 30 {
		d = append(d[:30], '…')
	}
	unit := f.UnitName
	if unit == "" {
		unit = f.UnitCode
	}
	return unit + " " + string(d)
}
