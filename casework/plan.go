package casework

// ProcessPlan is the work plan itself (任务清单·包保联系·动态销号): the bureau's task lists
// (annex 1: each task a case of its lead section, with contributions of the cooperating sections,
// reviewed and closed out by the poverty-alleviation office), the monthly 包保 contacts (四(二)2)
// and the schools' countable duties of a term (annex 2, 四(三)3, 四(二)3).
const ProcessPlan = "plan"

// Plan task kinds and outcomes, fixed names that clients use. The lead section declares its task
// done (OutcomeDone, with a summary and an evidence note); each cooperating section contributes
// (OutcomeContributed); the poverty-alleviation office reviews: OutcomeAccept is 销号, OutcomeReject
// (a reason required) sends the task back to the lead section.
const (
	KindPlanTask             = "plan_task"
	KindPlanTaskContribution = "plan_task_contribution"
	KindPlanTaskReview       = "plan_task_review"

	OutcomeDone        = "done"
	OutcomeContributed = "contributed"
)

// Plan task states.
const (
	PlanTaskOpening    = "opening"     // recorded; its case is being started
	PlanTaskInProgress = "in_progress" // the lead section works on it
	PlanTaskReviewing  = "reviewing"   // declared done, waiting for the PA office
	PlanTaskClosed     = "closed"      // accepted: 销号
)

// PlanTaskStates lists every state of a plan task.
var PlanTaskStates = []string{PlanTaskOpening, PlanTaskInProgress, PlanTaskReviewing, PlanTaskClosed}

// Contact methods of a 包保 contact (POST /api/v1/contacts), fixed names that clients use.
var ContactMethods = []Label{{"visit", "实地走访"}, {"meeting", "会议座谈"}, {"phone", "电话联系"}}

// School duty kinds (annex 2, 四(三)3 and 四(二)3): countable per term, fixed names clients use.
const (
	SchoolDutyArticle        = "article"         // 县级及以上主流媒体发表教育扶贫稿件
	SchoolDutyProgressReport = "progress_report" // 学期工作进展材料报送局扶贫办
)

// SchoolDutyKinds are the school duties of a term with their labels.
var SchoolDutyKinds = []Label{{SchoolDutyArticle, "县级及以上媒体发表教育扶贫稿件"}, {SchoolDutyProgressReport, "学期工作进展材料"}}

// Plan deadline kinds: a task past its 完成时限 (the lead section, its leader on the 包保 chain,
// the supervision office); a month without the 包保 contact (the contacted unit, where its
// responsible person is named, then one rung up); a term without a school duty's quota.
const (
	DeadlinePlanTaskDue = "plan_task_due"
	// DeadlinePlanContributionDue is a cooperating section's contribution past the task's 完成时限:
	// the same ladder as the lead section's, at the cooperating section.
	DeadlinePlanContributionDue = "plan_task_contribution_due"
	DeadlineContactDuty         = "contact_duty"
	DeadlineSchoolDuty          = "school_duty"
)

// Plan is the plan process as the registry lists it.
//
// plan_task_due's "superior" of a bureau section is the bureau, and the person it names is the
// section's own leader on the 包保 chain (who answers for the section: activities.responsibleFor).
// contact_duty and school_duty are set at the unit that is owed the contact or the duty, so the
// reminder names who answers for it (the 包保 person, for a contact) and "superior" goes one rung
// up the chain (a school's township central school and the bureau leader of the township).
var Plan = Process{
	Name: ProcessPlan, Label: "任务清单",
	Cases: []CaseKind{
		{Name: "plan", Label: "工作方案", IDPrefix: "plan-", States: []Label{{"open", "执行中"}}},
		{Name: "plan_task", Label: "清单任务", IDPrefix: "plantask-", States: []Label{{PlanTaskOpening, "正在开启"},
			{PlanTaskInProgress, "推进中"}, {PlanTaskReviewing, "待审核销号"}, {PlanTaskClosed, "已销号"}}},
		{Name: "contact", Label: "包保联系", IDPrefix: "contact-", States: []Label{{"open", "联系中"}}},
		{Name: "school_duty", Label: "学校任务", IDPrefix: "schoolduty-", States: []Label{{"open", "本学期"}}},
	},
	TaskKinds: []TaskKind{
		// The lead section's task and the contributions are due at the task's own 完成时限.
		{Name: KindPlanTask, Label: "清单任务（牵头）", Outcomes: []string{OutcomeDone}},
		{Name: KindPlanTaskContribution, Label: "清单任务（配合）", Outcomes: []string{OutcomeContributed}},
		{Name: KindPlanTaskReview, Label: "清单任务审核销号", Outcomes: []string{OutcomeAccept, OutcomeReject}, Setting: "JIAOFU_PLAN_TASK_REVIEW_DUE"},
	},
	DeadlineKinds: []DeadlineKind{
		{Name: DeadlinePlanTaskDue, Label: "清单任务完成时限", Ladder: []Rung{{"0s", TargetRemind}, {"3wd", TargetSuperior}, {"10wd", TargetSupervision}}},
		{Name: DeadlinePlanContributionDue, Label: "清单任务配合时限", Ladder: []Rung{{"0s", TargetRemind}, {"3wd", TargetSuperior}, {"10wd", TargetSupervision}}},
		{Name: DeadlineContactDuty, Label: "包保联系（每月一次）", Ladder: []Rung{{"0s", TargetRemind}, {"2wd", TargetSuperior}}},
		{Name: DeadlineSchoolDuty, Label: "学校学期任务", Ladder: []Rung{{"0s", TargetRemind}, {"5wd", TargetSuperior}}},
	},
	Outcomes: []Label{{OutcomeDone, "申报完成"}, {OutcomeContributed, "已完成配合工作"}, {OutcomeAccept, "通过（销号）"}, {OutcomeReject, "不同意"}},
	Events: []Label{{"plan.created", "制定工作方案"}, {"plan.task_added", "列入任务清单"}, {"plan.task_opened", "任务开始推进"},
		{"plan.task_reported", "报送任务进展"}, {"plan.task_declared", "申报任务完成"}, {"plan.task_rejected", "审核未通过，退回"},
		{"plan.task_closed", "审核通过，销号"}, {"plan.contact_recorded", "包保联系记录"}, {"plan.school_duty_recorded", "学校任务记录"}},
	Settings: []Setting{
		{"JIAOFU_PLAN_TASK_REVIEW_DUE", "5wd", "the poverty-alleviation office's review of a plan task declared done due"},
		{"JIAOFU_PLAN_TASK_REDO_DUE", "15d", "a plan task sent back by its review is due again this long after the rejection (or at its own deadline, whichever is later)"},
	},
	Counts: []Setting{
		{"JIAOFU_SCHOOL_ARTICLES_PER_TERM", "1", "articles on education poverty alleviation each school publishes in county-level or higher media a term (seed 四(三)3)"},
		{"JIAOFU_SCHOOL_REPORTS_PER_TERM", "1", "progress reports (工作进展材料) each school hands to the poverty-alleviation office a term"},
	},
}

// SchoolDutyQuotaSetting is the Counts setting of a school duty kind's quota a term.
func SchoolDutyQuotaSetting(kind string) string {
	if kind == SchoolDutyArticle {
		return "JIAOFU_SCHOOL_ARTICLES_PER_TERM"
	}
	return "JIAOFU_SCHOOL_REPORTS_PER_TERM"
}
