package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

// The accountability desk's records are rows, opened with their escalation (store); what must
// still happen after a decision runs on the kit here. Organisational handling (组织处理) must be
// carried out within a month (the Party's accountability regulations): a decision with it starts
// OrganisationalHandling, registered with process 5 (inspection.go).

// HandlingWorkflowID is the workflow id of a record's organisational handling: one per record.
func HandlingWorkflowID(recordID string) string { return "handling-" + recordID }

// HandlingInput opens an accountability decision's organisational handling.
type HandlingInput struct {
	RecordID     string
	EscalationID string // the record's escalation: its deadline is named after it
	// Process and CaseID are the record's case: the handling's task and escalations are on its
	// timeline and its lists, beside the lateness that led to the decision.
	Process string
	CaseID  string
	Title   string // the record's title
	// UnitCode is the supervision office that decided: its task and its deadline are the office's.
	UnitCode string
	DueAt    time.Time // JIAOFU_ORGANISATIONAL_HANDLING_DUE from the decision, fixed at it
}

// HandlingResult is when the handling was recorded carried out, and whether past its month.
type HandlingResult struct {
	RecordID string
	DoneAt   time.Time
	Late     bool
}

// HandlingDeadlineName names the handling's deadline in its case, after the record's escalation
// (a case may have several records), so that its escalations' ids say which.
func HandlingDeadlineName(in HandlingInput) string {
	return "handling-" + strings.TrimPrefix(in.EscalationID, in.CaseID+"-")
}

// OrganisationalHandling runs a decision's organisational handling on the kit: the supervision
// office's task to record it carried out (with a note of what was done), due at the end of its
// month, and a case deadline of kind organisational_handling_due at the same instant, whose
// ladder reminds the office as it passes and seizes the bureau leader a working day later (an
// admin may store another). Recorded carried out, the record says so and the deadline's open
// escalations close.
func OrganisationalHandling(ctx workflow.Context, in HandlingInput) (HandlingResult, error) {
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return HandlingResult{}, err
	}
	name := HandlingDeadlineName(in)
	step := func(workflow.Context, *DeadlineState, activities.RungAt) (string, error) {
		return fmt.Sprintf("「%s」组织处理逾期未落实（应于 %s 前落实）", in.Title, in.DueAt.In(calendar.CST).Format("2006-01-02 15:04")), nil
	}
	if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlineOrganisationalHandling, Process: in.Process,
		CaseID: in.CaseID, UnitCode: in.UnitCode, At: in.DueAt}, step); err != nil {
		return HandlingResult{}, err
	}
	due := in.DueAt.Sub(workflow.Now(ctx))
	if due < time.Second {
		due = time.Second
	}
	dueSpec, err := calendar.ParseSpec(due.String())
	if err != nil {
		return HandlingResult{}, err
	}
	done, err := tasks.Run(ctx, activities.TaskSpec{Kind: casework.KindOrganisationalHandling, Process: in.Process, CaseID: in.CaseID,
		Title: "组织处理落实：" + in.Title, CandidateRole: casework.RoleSupervision, UnitCode: in.UnitCode,
		Outcomes: []string{casework.OutcomeCarriedOut}, Due: dueSpec, Ladderless: true, CommentRequired: []string{casework.OutcomeCarriedOut}})
	if err != nil {
		return HandlingResult{}, err
	}
	// Carried out just after the month ended: the lateness is on record first.
	if err := tasks.FireDue(ctx); err != nil {
		return HandlingResult{}, err
	}
	at := workflow.Now(ctx)
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).HandlingDone, activities.HandlingDoneInput{
		RecordID: in.RecordID, Process: in.Process, CaseID: in.CaseID, Note: strings.TrimSpace(done.Comment), By: done.By, Role: done.Role,
		At: at}).Get(ctx, nil); err != nil {
		return HandlingResult{}, err
	}
	if err := tasks.ClearDeadlines(ctx, "组织处理已落实", name); err != nil {
		return HandlingResult{}, err
	}
	if err := tasks.Finish(ctx); err != nil {
		return HandlingResult{}, err
	}
	return HandlingResult{RecordID: in.RecordID, DoneAt: at, Late: at.After(in.DueAt)}, nil
}
