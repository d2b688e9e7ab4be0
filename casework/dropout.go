package casework

// ProcessDropout is the dropout persuasion process (控辍保学·劝返).
const ProcessDropout = "dropout"

// Dropout task kinds and outcomes, fixed names that clients use. The close approval task
// decides with OutcomeApprove and OutcomeReject.
const (
	KindDropoutFirstContact  = "dropout_first_contact"
	KindDropoutCloseApproval = "dropout_close_approval"

	OutcomeContacted   = "contacted" // the first-contact task's one outcome
	OutcomeReturned    = "returned"
	OutcomeTransferred = "transferred"
	OutcomeSendHome    = "send_home"
	OutcomeVocational  = "vocational"
	OutcomeClosed      = "closed"
)

// Dropout case states.
const (
	DropoutOpen          = "open"
	DropoutTownship      = "township_supervising"
	DropoutCountyHQ      = "county_supervising"
	DropoutConsolidating = "consolidating"
	DropoutClosing       = "closing"
	DropoutClosed        = "closed"
)

// DropoutStates lists every state of a dropout case.
var DropoutStates = []string{DropoutOpen, DropoutTownship, DropoutCountyHQ, DropoutConsolidating, DropoutClosing, DropoutClosed}

// Dropout deadline kinds: the case's own windows, each with a ladder an admin may edit. Both
// rungs of each fire as the window passes ("0s": a ladder counts from the deadline).
const (
	DeadlineDropoutReturnWindow = "dropout_return_window" // not back by then: township government and supervision office
	DeadlineDropoutHQWindow     = "dropout_hq_window"     // still not back: county HQ and supervision office
)

// Dropout is the dropout process as the registry lists it.
var Dropout = Process{
	Name: ProcessDropout, Label: "控辍保学",
	Cases: []CaseKind{{Name: "dropout", Label: "控辍保学案件", IDPrefix: "dropout-", States: []Label{
		{DropoutOpen, "劝返中"}, {DropoutTownship, "乡镇政府督办"}, {DropoutCountyHQ, "县指挥部督办"},
		{DropoutConsolidating, "返校巩固期"}, {DropoutClosing, "结案待审批"}, {DropoutClosed, "已结案"}}}},
	TaskKinds: []TaskKind{
		{Name: KindDropoutFirstContact, Label: "首次联系", Outcomes: []string{OutcomeContacted}, Setting: "JIAOFU_DROPOUT_FIRST_CONTACT"},
		{Name: KindDropoutCloseApproval, Label: "结案审批", Outcomes: []string{OutcomeApprove, OutcomeReject}, Setting: "JIAOFU_DROPOUT_CLOSE_APPROVAL_DUE"},
	},
	DeadlineKinds: []DeadlineKind{
		{Name: DeadlineDropoutReturnWindow, Label: "限期返校", Ladder: []Rung{{"0s", TargetTownshipGov}, {"0s", TargetSupervision}}},
		{Name: DeadlineDropoutHQWindow, Label: "县指挥部督办期限", Ladder: []Rung{{"0s", TargetCountyHQ}, {"0s", TargetSupervision}}},
	},
	Outcomes: []Label{{OutcomeContacted, "已联系家长"}, {OutcomeReturned, "已返校"}, {OutcomeTransferred, "转学"},
		{OutcomeSendHome, "送教上门"}, {OutcomeVocational, "就读职业学校"}, {OutcomeClosed, "申请结案（无法返校）"},
		{OutcomeApprove, "同意"}, {OutcomeReject, "不同意"}},
	Events: []Label{{"dropout.opened", "立案"}, {"dropout.attempt_logged", "劝返记录"}, {"dropout.return_notice", "限期返校通知（报乡镇政府督办）"},
		{"dropout.county_supervising", "报县指挥部督办"}, {"dropout.returned", "学生已返校"}, {"dropout.transferred", "转学结案"},
		{"dropout.send_home", "转送教上门"}, {"dropout.vocational", "就读职业学校"}, {"dropout.close_requested", "申请结案"},
		{"dropout.closed", "结案"}, {"dropout.close_rejected", "结案申请被驳回"}, {"dropout.consolidated", "巩固期满结案"},
		{"dropout.relapse", "再次缺勤，重新劝返"}},
	Settings: []Setting{
		{"JIAOFU_DROPOUT_FIRST_CONTACT", "1wd", "first contact with a dropout's family due"},
		{"JIAOFU_DROPOUT_RETURN_WINDOW", "15d", "window to bring the student back before the township government is seized"},
		{"JIAOFU_DROPOUT_HQ_WINDOW", "15d", "further window before the county HQ is seized"},
		{"JIAOFU_DROPOUT_CONSOLIDATION", "20w", "consolidation (包巩固) period after a return: about one term"},
		{"JIAOFU_DROPOUT_CLOSE_APPROVAL_DUE", "3wd", "school leader's approval of a closure due"},
	},
}
