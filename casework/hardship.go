package casework

// ProcessHardship is the special hardship fund (特困学生救助基金): donations from every source into
// one fund the bureau keeps as a ledger (多渠道进水), and grants out of it (一个龙头放水) that a
// school applies for, the school verifies, the county approves tier by tier by amount, the fund
// reserves at the final approval and the funds center pays once; paid grants and donations are
// disclosed publicly each month (信息公开).
const ProcessHardship = "hardship"

// Hardship task kinds and outcomes, fixed names that clients use.
const (
	// KindHardshipVerification is the school leader's verification (学校核实) of a grant applied
	// for by the school's staff.
	KindHardshipVerification = "hardship_verification"
	// KindHardshipApproval is one tier's approval of a grant: the aid center always, the
	// poverty-alleviation office above the first threshold, a bureau leader above the second.
	// The final tier's approval reserves the amount.
	KindHardshipApproval = "hardship_approval"
	// KindHardshipDisbursement is the funds center's payment of an approved grant, once.
	KindHardshipDisbursement = "hardship_disbursement"
	// DeadlineHardshipPayDue is an approved grant's payment deadline (JIAOFU_HARDSHIP_PAY_DUE):
	// missed, it goes to the supervision office, which opens an accountability record.
	DeadlineHardshipPayDue = "hardship_pay_due"

	OutcomeDisburse = "disburse" // the disbursement's payment outcome (fields.channel, fields.reference)
)

// Grant states, fixed names that clients use. A grant is verifying until its school verified it,
// approving through its tiers, insufficient_funds while its final approval found the fund short
// (it waits there: approved again once money came in, or rejected), approved with its amount
// reserved, and ends disbursed, rejected, withdrawn or expired (approved but not paid within
// JIAOFU_HARDSHIP_RESERVATION_EXPIRY: its reservation is released).
const (
	GrantVerifying         = "verifying"
	GrantApproving         = "approving"
	GrantApproved          = "approved"
	GrantInsufficientFunds = "insufficient_funds"
	GrantRejected          = "rejected"
	GrantWithdrawn         = "withdrawn"
	GrantDisbursed         = "disbursed"
	GrantExpired           = "expired"
)

// GrantStates lists every state of a grant, in the order a grant goes through them.
var GrantStates = []string{GrantVerifying, GrantApproving, GrantInsufficientFunds, GrantApproved, GrantDisbursed, GrantRejected, GrantWithdrawn, GrantExpired}

// GrantOpenStates are the states of a grant still under way (the duty map counts them pending).
var GrantOpenStates = []string{GrantVerifying, GrantApproving, GrantInsufficientFunds, GrantApproved}

// Donation kinds and states. A donation over JIAOFU_HARDSHIP_CONFIRM_ABOVE waits for a second
// person's confirmation before it enters the ledger; a donation is never edited or deleted, only
// reversed by a counter-entry (a row of kind reversal) with a reason.
const (
	DonationKindDonation = "donation"
	DonationKindReversal = "reversal"

	DonationRecorded = "recorded"             // in the ledger
	DonationPending  = "pending_confirmation" // over the ceiling: waits for a second person
	DonationDeclined = "declined"             // the second person did not confirm it: never in the ledger
	DonationReversed = "reversed"             // in the ledger with its counter-entry
)

// DonationStates lists every state of a donation (and of a reversal, which is recorded).
var DonationStates = []string{DonationRecorded, DonationPending, DonationDeclined, DonationReversed}

// DonorKinds are where money comes from (多渠道进水), fixed names that clients use.
var DonorKinds = []Label{{"enterprise", "企业"}, {"charity", "慈善组织"}, {"twinned_district", "对口帮扶地区"},
	{"individual", "个人"}, {"government", "政府部门"}}

// HardshipKinds are the kinds of hardship a grant answers.
var HardshipKinds = []Label{{"illness", "重大疾病"}, {"disaster", "自然灾害"}, {"accident", "意外事故"},
	{"family_change", "家庭变故"}, {"extreme_poverty", "家庭特别困难"}, {"other", "其他"}}

// Ledger entry kinds: money in, its counter-entry, money out.
const (
	LedgerDonation     = "donation"
	LedgerReversal     = "reversal"
	LedgerDisbursement = "disbursement"
)

// Hardship is the hardship fund as the registry lists it.
var Hardship = Process{
	Name: ProcessHardship, Label: "特困救助",
	Cases: []CaseKind{
		{Name: "grant", Label: "特困救助申请", IDPrefix: "hardship-", States: []Label{
			{GrantVerifying, "学校核实中"}, {GrantApproving, "审批中"}, {GrantInsufficientFunds, "基金余额不足，待审批"},
			{GrantApproved, "已批准（资金已预留）"}, {GrantDisbursed, "已发放"}, {GrantRejected, "未通过"},
			{GrantWithdrawn, "已撤回"}, {GrantExpired, "逾期未发放，预留已释放"}}},
		{Name: "donation", Label: "救助基金捐赠", IDPrefix: "donation-", States: []Label{
			{DonationRecorded, "已入账"}, {DonationPending, "待复核确认"}, {DonationDeclined, "复核未确认"}, {DonationReversed, "已冲销"}}},
	},
	TaskKinds: []TaskKind{
		{Name: KindHardshipVerification, Label: "特困救助学校核实", Outcomes: []string{OutcomeApprove, OutcomeReject}, Setting: "JIAOFU_HARDSHIP_VERIFICATION_DUE"},
		{Name: KindHardshipApproval, Label: "特困救助审批", Outcomes: []string{OutcomeApprove, OutcomeReject}, Setting: "JIAOFU_HARDSHIP_APPROVAL_DUE"},
		// The payment's due time is the pay deadline, counted from the final approval.
		{Name: KindHardshipDisbursement, Label: "特困救助资金发放", Outcomes: []string{OutcomeDisburse, OutcomeReject}, Setting: "JIAOFU_HARDSHIP_PAY_DUE"},
	},
	DeadlineKinds: []DeadlineKind{
		{Name: DeadlineHardshipPayDue, Label: "特困救助发放期限", Ladder: []Rung{{"0s", TargetSupervision}}},
	},
	Outcomes: []Label{{OutcomeApprove, "同意"}, {OutcomeReject, "不同意"}, {OutcomeDisburse, "已发放"}},
	Events: []Label{{"hardship.applied", "申请特困救助"}, {"hardship.verified", "学校核实通过"},
		{"hardship.tier_approved", "审批通过（转上一级审批）"}, {"hardship.approved", "审批通过，资金已预留"},
		{"hardship.insufficient_funds", "基金可用余额不足，暂不能批准"}, {"hardship.rejected", "不予救助"},
		{"hardship.withdrawn", "撤回申请"}, {"hardship.disbursed", "救助资金已发放"}, {"hardship.expired", "逾期未发放，预留资金已释放"},
		{"hardship.donation_recorded", "捐赠入账"}, {"hardship.donation_pending", "大额捐赠登记，待复核确认"},
		{"hardship.donation_confirmed", "大额捐赠复核确认，入账"}, {"hardship.donation_declined", "大额捐赠复核未确认"},
		{"hardship.donation_reversed", "捐赠冲销"}},
	Settings: []Setting{
		{"JIAOFU_HARDSHIP_VERIFICATION_DUE", "3wd", "school leader's verification of a hardship grant due"},
		{"JIAOFU_HARDSHIP_APPROVAL_DUE", "3wd", "each approval tier of a hardship grant due"},
		{"JIAOFU_HARDSHIP_PAY_DUE", "10wd", "an approved hardship grant not paid within this goes to the supervision office"},
		{"JIAOFU_HARDSHIP_RESERVATION_EXPIRY", "60d", "an approved hardship grant not paid within this after its approval expires and its reserved amount goes back to the fund"},
	},
	Counts: []Setting{
		{"JIAOFU_HARDSHIP_PA_OFFICE_ABOVE", "2000", "yuan: a hardship grant above this also needs the poverty-alleviation office's approval"},
		{"JIAOFU_HARDSHIP_LEADER_ABOVE", "5000", "yuan: a hardship grant above this also needs a bureau leader's approval (above the PA office's threshold)"},
		{"JIAOFU_HARDSHIP_CONFIRM_ABOVE", "50000", "yuan: a donation above this enters the ledger only once a second person confirms it"},
	},
}
