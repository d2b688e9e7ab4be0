package casework

import "time"

// ProcessSubsidy is the student subsidy process (学生资助): applications, their review,
// publicity (公示) with objections, the county's sign-off and disbursement.
const ProcessSubsidy = "subsidy"

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

// Application states.
const (
	AppSubmitted   = "submitted"
	AppInReview    = "in_review"
	AppReturned    = "returned"
	AppReviewed    = "reviewed"
	AppInPublicity = "in_publicity"
	AppSignedOff   = "signed_off"
	AppDisbursed   = "disbursed"
	AppRejected    = "rejected"
)

// AppStates lists every application state, in the order an application goes through them.
var AppStates = []string{AppSubmitted, AppInReview, AppReturned, AppReviewed, AppInPublicity, AppSignedOff, AppDisbursed, AppRejected}

// Batch states, named for what the batch waits for (issue 15). A batch reads as
// awaiting_objections while an objection to it is open and as awaiting_signoff while entries
// wait for the county, whatever its row says: the store derives both from the objections and
// the entries.
const (
	BatchOpen               = "in_publicity"        // the period runs: the list is public and takes objections
	BatchAwaitingObjections = "awaiting_objections" // the period is over; an objection is still under review
	BatchAwaitingSignoff    = "awaiting_signoff"    // the period is over, every objection decided; the county signs off
	BatchSignedOff          = "signed_off"
	BatchClosed             = "closed" // nothing to sign off: no entry, or every entry taken off by an upheld objection
)

// ApplicationUpdate carries the fields a workflow step changes; empty strings leave a field alone.
type ApplicationUpdate struct {
	State        string
	AmountFen    *int64
	Priority     *bool
	EvidenceNote *string
	BatchID      *string
	ReviewerID   string
}

// Objection is a public objection (异议) to one entry of a publicity list.
type Objection struct {
	ID            string     `db:"id" json:"id"`
	BatchID       string     `db:"batch_id" json:"batch_id"`
	ApplicationID string     `db:"application_id" json:"entry_id"`
	Reason        string     `db:"reason" json:"reason"`
	Contact       string     `db:"contact" json:"contact"`
	State         string     `db:"state" json:"state"`
	Decision      string     `db:"decision" json:"decision,omitempty"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	DecidedAt     *time.Time `db:"decided_at" json:"decided_at,omitempty"`
}

// Subsidy is the subsidy process as the registry lists it.
var Subsidy = Process{
	Name: ProcessSubsidy, Label: "学生资助",
	Cases: []CaseKind{
		{Name: "app", Label: "资助申请", IDPrefix: "subsidy-", States: []Label{
			{AppSubmitted, "已提交"}, {AppInReview, "学校审核中"}, {AppReturned, "退回修改"}, {AppReviewed, "学校已审核"},
			{AppInPublicity, "公示中"}, {BatchAwaitingObjections, "公示期满，异议复核中"}, {BatchAwaitingSignoff, "公示期满，待县级审定"},
			{AppSignedOff, "县级已审定"}, {AppDisbursed, "已发放"}, {AppRejected, "未通过"}}},
		{Name: "batch", Label: "公示", IDPrefix: "publicity-", States: []Label{
			{BatchOpen, "公示中"}, {BatchAwaitingObjections, "公示期满，异议复核中"}, {BatchAwaitingSignoff, "公示期满，待县级审定"},
			{BatchSignedOff, "已审定"}, {BatchClosed, "已关闭（无待审定名单）"},
			{"publicizing", "公示中"}}}, // publicizing: a batch state from before the names of issue 15
	},
	TaskKinds: []TaskKind{
		{Name: KindSubsidyReview, Label: "资助审核", Outcomes: []string{OutcomeApprove, OutcomeReject, OutcomeReturn}, Setting: "JIAOFU_SUBSIDY_REVIEW_DUE"},
		{Name: KindSubsidyResubmit, Label: "退回修改", Outcomes: []string{OutcomeResubmit, OutcomeWithdraw}, Setting: "JIAOFU_SUBSIDY_RESUBMIT_DUE"},
		{Name: KindObjectionReview, Label: "公示异议复核", Outcomes: []string{OutcomeUphold, OutcomeDismiss}, Setting: "JIAOFU_OBJECTION_REVIEW_DUE"},
		{Name: KindPublicitySignoff, Label: "公示结果审定", Outcomes: []string{OutcomeApprove, OutcomeReject}, Setting: "JIAOFU_PUBLICITY_SIGNOFF_DUE"},
	},
	Outcomes: []Label{{OutcomeApprove, "同意"}, {OutcomeReject, "不同意"}, {OutcomeReturn, "退回修改"}, {OutcomeResubmit, "重新提交"},
		{OutcomeWithdraw, "撤回申请"}, {OutcomeUphold, "异议成立"}, {OutcomeDismiss, "异议不成立"}},
	Events: []Label{{"subsidy.applied", "提交申请"}, {"subsidy.reviewed", "学校审核通过"}, {"subsidy.rejected", "不予资助"},
		{"subsidy.returned", "退回修改"}, {"subsidy.resubmitted", "修改后重新提交"}, {"subsidy.withdrawn", "撤回申请"},
		{"subsidy.rejected_by_objection", "异议成立，取消资助"}, {"subsidy.signed_off", "县级审定"}, {"subsidy.disbursed", "资金已发放"},
		{"publicity.opened", "开始公示"}, {"publicity.period_ended", "公示期满"}, {"publicity.signed_off", "公示结果审定"},
		{"publicity.empty", "公示名单为空"}, {"publicity.objections_decided", "公示异议复核完毕"}, {"objection.filed", "收到公示异议"},
		{"objection.uphold", "异议复核：异议成立"}, {"objection.dismiss", "异议复核：异议不成立"}},
	Settings: []Setting{
		{"JIAOFU_PUBLICITY_PERIOD", "5wd", "publicity (公示) period"},
		{"JIAOFU_SUBSIDY_REVIEW_DUE", "3wd", "school review task due"},
		{"JIAOFU_SUBSIDY_RESUBMIT_DUE", "5wd", "correction after a return due"},
		{"JIAOFU_OBJECTION_REVIEW_DUE", "2wd", "objection review task due"},
		{"JIAOFU_PUBLICITY_SIGNOFF_DUE", "3wd", "county sign-off task due"},
	},
}
