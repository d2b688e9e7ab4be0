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

func init() { registerWorkflows(casework.ProcessPlan, PlanTaskCase, DutySweep, DutyCheck) }

// PlanTaskInput starts a plan task's case: the task as recorded, and the poverty-alleviation
// office that reviews it (the plan's unit).
type PlanTaskInput struct {
	Task         activities.PlanTaskRecord
	ReviewerUnit string
	ReviewDue    calendar.Spec // the review task's due time (JIAOFU_PLAN_TASK_REVIEW_DUE)
	RedoDue      calendar.Spec // after a rejection the task is due again this long after it (JIAOFU_PLAN_TASK_REDO_DUE)
}

// PlanTaskResult is how a task ended.
type PlanTaskResult struct {
	TaskID   string
	State    string
	Attempts int
}

// CheckPlanTaskDone is the lead section's rule for declaring a task done: what was done
// (summary) and the evidence (evidence_note).
func CheckPlanTaskDone(a TaskAction) error {
	return CheckRectification(a)
}

// CheckContribution is a cooperating section's rule: it says what it contributed (summary).
func CheckContribution(a TaskAction) error {
	if strings.TrimSpace(a.Fields[FieldSummary]) == "" {
		return refuseField(CodeInvalid, FieldSummary, because("required"), "%s: required", FieldSummary)
	}
	return nil
}

// PlanTaskCase runs one task of a plan's list on the kit. The lead section (its staff, role
// section_staff at the section) holds plan_task until it declares the task done with a summary
// and evidence; each cooperating section holds a plan_task_contribution meanwhile. The task's
// 完成时限 is a case deadline of kind plan_task_due: missed, it reminds the lead section, then
// reaches the section's leader on the 包保 chain (at the bureau) and the supervision office, which
// opens an accountability record, by itself. A declaration goes to the poverty-alleviation
// office (plan_task_review, never by the declarer): accept closes the task out (销号); reject,
// with a reason, gives it back to the lead section with a new deadline, as often as it takes.
func PlanTaskCase(ctx workflow.Context, in PlanTaskInput) (PlanTaskResult, error) {
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return PlanTaskResult{}, err
	}
	tasks.Check(casework.KindPlanTask, CheckPlanTaskDone)
	tasks.Check(casework.KindPlanTaskContribution, CheckContribution)
	t := in.Task
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).OpenPlanTask,
		activities.OpenPlanTaskInput{TaskID: t.ID, At: workflow.Now(ctx)}).Get(ctx, nil); err != nil {
		return PlanTaskResult{}, err
	}
	t.State = casework.PlanTaskInProgress
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrProcess.ValueSet(casework.ProcessPlan), AttrUnit.ValueSet(t.LeadUnit),
		AttrState.ValueSet(t.State))
	until := func(at time.Time) (calendar.Spec, error) {
		d := at.Sub(workflow.Now(ctx))
		if d < time.Second {
			d = time.Second
		}
		return calendar.ParseSpec(d.String())
	}
	var contributions []string
	waits := &contributionWaits{}
	laddered := len(t.Cooperating) > 0 &&
		workflow.GetVersion(ctx, "plan-contribution-deadlines", workflow.DefaultVersion, 1) >= 1
	for _, code := range t.Cooperating {
		due, err := until(t.DueAt)
		if err != nil {
			return PlanTaskResult{}, err
		}
		id, err := tasks.Open(ctx, activities.TaskSpec{Kind: casework.KindPlanTaskContribution, Process: casework.ProcessPlan, CaseID: t.ID,
			Title: "配合：" + t.Title, CandidateRole: casework.RoleSectionStaff, UnitCode: code, Outcomes: []string{casework.OutcomeContributed},
			Due: due, Ladderless: true})
		if err != nil {
			return PlanTaskResult{}, err
		}
		contributions = append(contributions, id)
		if laddered {
			if err := waits.deadline(ctx, tasks, t, code, id); err != nil {
				return PlanTaskResult{}, err
			}
		}
	}
	step := func(_ workflow.Context, d *DeadlineState, _ activities.RungAt) (string, error) {
		return fmt.Sprintf("清单任务「%s」逾期未完成（完成时限 %s）", t.Title, d.Spec.At.In(calendar.CST).Format("2006-01-02")), nil
	}
	for attempt := 1; ; attempt++ {
		name := "due"
		if attempt > 1 {
			name = fmt.Sprintf("due-%d", attempt)
		}
		if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlinePlanTaskDue, Process: casework.ProcessPlan,
			CaseID: t.ID, UnitCode: t.LeadUnit, At: t.DueAt}, step); err != nil {
			return PlanTaskResult{}, err
		}
		due, err := until(t.DueAt)
		if err != nil {
			return PlanTaskResult{}, err
		}
		decl, err := tasks.Run(ctx, activities.TaskSpec{Kind: casework.KindPlanTask, Process: casework.ProcessPlan, CaseID: t.ID,
			Title: "清单任务：" + t.Title, CandidateRole: casework.RoleSectionStaff, UnitCode: t.LeadUnit, Outcomes: []string{casework.OutcomeDone},
			Due: due, Ladderless: true})
		if err != nil {
			return PlanTaskResult{}, err
		}
		// A declaration right after the deadline is escalated first; then the section has met it.
		if err := tasks.FireDue(ctx); err != nil {
			return PlanTaskResult{}, err
		}
		if err := tasks.ClearDeadlines(ctx, "已申报完成", name); err != nil {
			return PlanTaskResult{}, err
		}
		t.State, t.Attempts = casework.PlanTaskReviewing, attempt
		t.Summary, t.EvidenceNote = strings.TrimSpace(decl.Fields[FieldSummary]), strings.TrimSpace(decl.Fields[FieldEvidenceNote])
		if err := planTaskStep(ctx, t, "plan.task_declared", decl.By, decl.Role, map[string]any{"attempt": attempt,
			"summary": t.Summary, "evidence_note": t.EvidenceNote}); err != nil {
			return PlanTaskResult{}, err
		}
		rev, err := tasks.Run(ctx, activities.TaskSpec{Kind: casework.KindPlanTaskReview, Process: casework.ProcessPlan, CaseID: t.ID,
			Title: "审核销号：" + t.Title, CandidateRole: casework.RolePAOffice, UnitCode: in.ReviewerUnit,
			Outcomes: []string{casework.OutcomeAccept, casework.OutcomeReject}, Due: in.ReviewDue,
			Exclude: []string{decl.By.UserID}, CommentRequired: []string{casework.OutcomeReject}})
		if err != nil {
			return PlanTaskResult{}, err
		}
		t.ReviewNote = strings.TrimSpace(rev.Comment)
		if rev.Outcome == casework.OutcomeAccept {
			at := workflow.Now(ctx)
			t.State, t.ClosedAt = casework.PlanTaskClosed, &at
			if err := planTaskStep(ctx, t, "plan.task_closed", rev.By, rev.Role, map[string]any{"note": t.ReviewNote}); err != nil {
				return PlanTaskResult{}, err
			}
			// A contribution nobody gave is moot once the task is closed out, and so is its deadline.
			for _, id := range contributions {
				if err := tasks.Settle(ctx, id, "", access.System, "system", "任务已销号"); err != nil {
					return PlanTaskResult{}, err
				}
			}
			if err := waits.settled(ctx); err != nil {
				return PlanTaskResult{}, err
			}
			_ = workflow.UpsertTypedSearchAttributes(ctx, AttrState.ValueSet(t.State))
			if err := tasks.Finish(ctx); err != nil {
				return PlanTaskResult{}, err
			}
			return PlanTaskResult{TaskID: t.ID, State: t.State, Attempts: attempt}, nil
		}
		var next time.Time // counted on the calendar by the activity a rejected rectification uses
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).RectificationDue, activities.RectificationDueInput{
			From: workflow.Now(ctx), Period: in.RedoDue}).Get(ctx, &next); err != nil {
			return PlanTaskResult{}, err
		}
		if next.After(t.DueAt) {
			t.DueAt = next
		}
		t.State = casework.PlanTaskInProgress
		if err := planTaskStep(ctx, t, "plan.task_rejected", rev.By, rev.Role, map[string]any{"attempt": attempt,
			"reason": t.ReviewNote, "due_at": t.DueAt}); err != nil {
			return PlanTaskResult{}, err
		}
	}
}

// contributionWaits are the cooperating sections' contributions whose deadlines wait for them
// (since plan-contribution-deadlines): how many still run, and the first error one met.
type contributionWaits struct {
	running int
	err     error
}

// deadline gives a cooperating section's contribution (task id, at unit code) the task's 完成时限
// as a case deadline of its own, plan_task_contribution_due "contribution-<code>": missed, it
// reminds the section, then reaches its leader on the 包保 chain and the supervision office, like
// the lead section's. The contribution given (or cancelled when the task is closed out) clears
// it; a contribution right after the deadline is escalated first.
func (w *contributionWaits) deadline(ctx workflow.Context, tasks *Tasks, t activities.PlanTaskRecord, code, id string) error {
	name := "contribution-" + code
	step := func(_ workflow.Context, d *DeadlineState, _ activities.RungAt) (string, error) {
		return fmt.Sprintf("清单任务「%s」的配合工作逾期未完成（完成时限 %s）", t.Title, d.Spec.At.In(calendar.CST).Format("2006-01-02")), nil
	}
	if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlinePlanContributionDue, Process: casework.ProcessPlan,
		CaseID: t.ID, UnitCode: code, At: t.DueAt}, step); err != nil {
		return err
	}
	w.running++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.running-- }()
		r, err := tasks.Wait(ctx, id)
		decision := "已完成配合工作"
		if err == nil && r.Outcome != casework.OutcomeContributed {
			decision = "任务已销号"
		}
		if err == nil {
			err = tasks.FireDue(ctx)
		}
		if err == nil {
			err = tasks.ClearDeadlines(ctx, decision, name)
		}
		if err != nil && w.err == nil {
			w.err = err
		}
	})
	return nil
}

// settled waits until every contribution's deadline is cleared (the case must not end with a
// rung or a clearing in flight) and answers the first error one met.
func (w *contributionWaits) settled(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return w.running == 0 }); err != nil {
		return err
	}
	return w.err
}

// planTaskStep writes the task's row and the step's audit entry.
func planTaskStep(ctx workflow.Context, t activities.PlanTaskRecord, action string, by access.Actor, role string, after map[string]any) error {
	after["state"] = t.State
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SetPlanTask, activities.PlanTaskStep{Task: t,
		Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessPlan, CaseID: t.ID,
			After: after, At: workflow.Now(ctx)}}).Get(ctx, nil)
}
