package casework

// ProcessInspection is inspection and rectification (督查·整改): the inspectorate's rounds, the
// findings (问题清单) they record, each finding's rectification (整改) by its unit and its review
// and closing out (销号) by the inspectorate.
const ProcessInspection = "inspection"

// Inspection task kinds and outcomes, fixed names that clients use. The review decides with
// OutcomeAccept (销号) or OutcomeReject (a reason required: back to the unit with a new deadline).
const (
	KindRectification       = "rectification"
	KindRectificationReview = "rectification_review"

	OutcomeSubmitted = "submitted" // the rectification task's one outcome: evidence submitted
	OutcomeAccept    = "accept"
)

// Inspection round kinds.
const (
	RoundRoutine = "routine"
	RoundSpecial = "special"
)

// RoundKinds lists the kinds of a round.
var RoundKinds = []string{RoundRoutine, RoundSpecial}

// Finding areas: the seed's evaluation areas (年度专项考评).
var FindingAreas = []Label{
	{"teaching", "教育教学"}, {"weak_school", "薄弱学校改造"}, {"ict", "教育信息化"}, {"teachers", "教师队伍建设"},
	{"student_aid", "学生资助"}, {"special_groups", "特殊群体关爱"}, {"dropout", "控辍保学"}, {"organisation", "组织领导"},
}

// Finding severities.
var FindingSeverities = []Label{{"minor", "一般"}, {"major", "较重"}, {"serious", "严重"}}

// Round and finding states.
const (
	RoundOpen = "open"

	FindingRectifying = "rectifying" // waiting for the unit's rectification
	FindingReviewing  = "reviewing"  // evidence submitted, waiting for the inspectorate
	FindingClosed     = "closed"     // accepted: 销号
)

// FindingStates lists every state of a finding.
var FindingStates = []string{FindingRectifying, FindingReviewing, FindingClosed}

// DeadlineRectificationDue is a finding's rectification deadline: missed, it reminds the unit
// at once, reaches the unit's superior on the 包保 chain a working day later and the supervision
// office two working days later, by itself.
const DeadlineRectificationDue = "rectification_due"

// Inspection is the inspection process as the registry lists it.
var Inspection = Process{
	Name: ProcessInspection, Label: "督查整改",
	Cases: []CaseKind{
		{Name: "round", Label: "督查轮次", IDPrefix: "round-", States: []Label{{RoundOpen, "进行中"}}},
		{Name: "finding", Label: "督查问题", IDPrefix: "finding-", States: []Label{
			{FindingRectifying, "整改中"}, {FindingReviewing, "整改待审核"}, {FindingClosed, "已销号"}}},
	},
	TaskKinds: []TaskKind{
		// The rectification's due time is the finding's own deadline (rectify_by), set per finding.
		{Name: KindRectification, Label: "问题整改", Outcomes: []string{OutcomeSubmitted}},
		// The inspectorate's review: reminded when due and again a working day later, then the
		// bureau (the inspectorate's superior), then the supervision office (issue 18's timeout
		// policy per kind; an admin may store another ladder).
		{Name: KindRectificationReview, Label: "整改审核", Outcomes: []string{OutcomeAccept, OutcomeReject}, Setting: "JIAOFU_RECTIFICATION_REVIEW_DUE",
			Ladder: RemindThen(2, "1wd", TargetSuperior, TargetSupervision)},
		// The supervision office records an accountability decision's organisational handling
		// carried out; its due time is the handling's month, whose deadline climbs (the task no
		// ladder of its own beside it).
		{Name: KindOrganisationalHandling, Label: "组织处理落实", Outcomes: []string{OutcomeCarriedOut}},
	},
	DeadlineKinds: []DeadlineKind{
		{Name: DeadlineRectificationDue, Label: "整改期限", Ladder: []Rung{{"1s", TargetRemind}, {"1wd", TargetSuperior}, {"2wd", TargetSupervision}}},
		// Organisational handling not carried out in its month: the supervision office is reminded
		// as it passes, and the bureau leader seized a working day later.
		{Name: DeadlineOrganisationalHandling, Label: "组织处理期限", Ladder: []Rung{{"0s", TargetRemind}, {"1wd", TargetBureauLeader}}},
	},
	Outcomes: []Label{{OutcomeSubmitted, "已提交整改"}, {OutcomeAccept, "通过（销号）"}, {OutcomeReject, "不同意"},
		{OutcomeCarriedOut, "已落实"}}, // labelled alike in every process: the console's generic outcome label is shared,
	Events: []Label{{"inspection.round_planned", "制定督查计划"}, {"inspection.finding_recorded", "记录督查问题"},
		{"inspection.rectification_submitted", "提交整改材料"}, {"inspection.rectification_rejected", "整改未通过，退回重新整改"},
		{"inspection.finding_closed", "整改通过，销号"}},
	Settings: []Setting{
		{"JIAOFU_RECTIFICATION_DUE", "30d", "a finding's rectification deadline when the inspector sets none"},
		{"JIAOFU_RECTIFICATION_REDO_DUE", "15d", "new rectification deadline after the inspectorate rejects a rectification"},
		{"JIAOFU_RECTIFICATION_REVIEW_DUE", "5wd", "the inspectorate's review of a submitted rectification due"},
		{SettingOrganisationalHandlingDue, "30d", "an accountability decision's organisational handling (组织处理) carried out within this (a month); past it, the supervision office is reminded and the bureau leader seized"},
	},
	Counts: append([]Setting{
		{"JIAOFU_INSPECTION_ROUNDS_PER_TERM", "2", "routine inspection rounds a term that the inspectorate's Temporal Schedule opens by itself over the township central schools and county schools (the rules ask for at least two a term; at most 30)"},
	}, weightSettings()...),
}
