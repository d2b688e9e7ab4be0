package casework

// ProcessSendHome is the send-to-home education process (送教上门·一人一案): a plan per severely
// disabled child who cannot attend school, with visits owed per period and an evaluation each term.
const ProcessSendHome = "sendhome"

// Send-home task kinds, deadline kinds and outcomes, fixed names that clients use.
const (
	// KindSendHomeEvaluation is the school leader's evaluation of a plan at the end of each term
	// (学期评估), after which the plan goes on renewed.
	KindSendHomeEvaluation = "sendhome_evaluation"
	// DeadlineVisitQuota is a period's visit quota: each period of a plan is a case deadline
	// quota-<n> at the period's end, cleared when the period's visits reach the quota.
	DeadlineVisitQuota = "visit_quota"

	OutcomeRenew = "renew" // the evaluation's one outcome: the plan goes on, renewed for the next term

	// Reasons a plan ends with.
	EndEnrolled = "enrolled" // the child enrols at a school (随班就读 or a special school)
	EndAgedOut  = "aged_out" // past compulsory-education age
	EndMoved    = "moved"    // moved out of the county
	EndOther    = "other"    // another reason, written in the note
)

// SendHomeEndReasons lists the reasons a plan may end with.
var SendHomeEndReasons = []string{EndEnrolled, EndAgedOut, EndMoved, EndOther}

// Plan states.
const (
	SendHomeAssessing = "assessing" // until the first visit, the assessment (评估) that fixes the plan
	SendHomeActive    = "active"
	SendHomeEnded     = "ended"
)

// SendHomeStates lists every state of a plan.
var SendHomeStates = []string{SendHomeAssessing, SendHomeActive, SendHomeEnded}

// Periods a plan may name besides a calendar spec ("2w", "20s").
const (
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// SendHome is the send-to-home process as the registry lists it.
//
// The visit_quota ladder (issue 17): the plan's teachers are reminded as the period ends (the
// rung names the lead teacher; the reminder sits at the school, where every teacher of the plan
// sees it), the school's leader a working day later, then the education section (教育股, which
// runs the special-education resource centre), then the supervision office.
var SendHome = Process{
	Name: ProcessSendHome, Label: "送教上门",
	Cases: []CaseKind{{Name: "sendhome", Label: "送教上门方案", IDPrefix: "sendhome-", States: []Label{
		{SendHomeAssessing, "待评估（首次送教）"}, {SendHomeActive, "送教中"}, {SendHomeEnded, "已结束"}}}},
	TaskKinds: []TaskKind{
		{Name: KindSendHomeEvaluation, Label: "送教学期评估", Outcomes: []string{OutcomeRenew}, Setting: "JIAOFU_SENDHOME_EVALUATION_DUE"},
	},
	DeadlineKinds: []DeadlineKind{
		{Name: DeadlineVisitQuota, Label: "送教次数（本周期）", Ladder: []Rung{
			{"0s", TargetTeacher}, {"1wd", TargetSchoolLeader}, {"3wd", TargetEducationSection}, {"5wd", TargetSupervision}}},
	},
	Outcomes: []Label{{OutcomeRenew, "评估完成，续订方案"}, {EndEnrolled, "入学（随班就读或特殊教育学校）"},
		{EndAgedOut, "超出义务教育年龄"}, {EndMoved, "迁出本县"}, {EndOther, "其他原因"}},
	Events: []Label{{"sendhome.opened", "建立送教方案"}, {"sendhome.visit_logged", "送教记录"},
		{"sendhome.assessed", "首次送教（评估）完成"}, {"sendhome.period_started", "新的送教周期"},
		{"sendhome.quota_met", "本周期送教次数达标"}, {"sendhome.term_renewed", "新学期，方案续订"},
		{"sendhome.evaluated", "学期评估完成"}, {"sendhome.ended", "送教结束"}},
	Settings: []Setting{
		{Env: "JIAOFU_SENDHOME_PERIOD", Default: "1w", Meaning: "county default of a send-home plan's period (a plan may also say week or month)"},
		{Env: "JIAOFU_SENDHOME_MIN_VISIT", Default: "135m", Meaning: "county default of a send-home visit's shortest length (3 class hours)"},
		{Env: "JIAOFU_SENDHOME_TERM", Default: "20w", Meaning: "a send-home plan's term: an evaluation and a renewed plan at its end"},
		{Env: "JIAOFU_SENDHOME_EVALUATION_DUE", Default: "5wd", Meaning: "school leader's term evaluation of a send-home plan due"},
	},
	Counts: []Setting{
		{Env: "JIAOFU_SENDHOME_VISITS_PER_PERIOD", Default: "2", Meaning: "county default of a send-home plan's visits per period"},
	},
}
