package casework

// ProcessPairing is the teacher pairing process (结对帮扶·一生一责任人·"六个一"): a teacher paired
// with a poverty-registered student owes duties per term and per month.
const ProcessPairing = "pairing"

// Pairing duty kinds (fixed names clients use): per term and per month.
const (
	DutyPlan      = "plan"       // 帮扶计划, per term
	DutyHomeVisit = "home_visit" // 家访, per term
	DutyGoodDeed  = "good_deed"  // 办一件实事, per term
	DutySummary   = "summary"    // 学期总结, per term
	DutyMeasure   = "measure"    // 帮扶措施, per month
	DutyActivity  = "activity"   // 活动, per month
)

// TermDuties and MonthDuties are the duties a pairing owes once per term and once per month.
var (
	TermDuties  = []string{DutyPlan, DutyHomeVisit, DutyGoodDeed, DutySummary}
	MonthDuties = []string{DutyMeasure, DutyActivity}
	// DutyKinds is every duty kind, in the handbook's order.
	DutyKinds = append(append([]string{}, TermDuties...), MonthDuties...)
)

// Pairing deadline kinds: a pairing's duties of a period (its ladder: the teacher, the school
// leader, the township central school), and a whole school below the threshold (the
// supervision office).
const (
	DeadlinePairingDuty   = "pairing_duty"
	DeadlinePairingSchool = "pairing_school"
)

// Pairing states.
const (
	PairingActive = "active"
	PairingEnded  = "ended"
)

// PairingStates lists every state of a pairing.
var PairingStates = []string{PairingActive, PairingEnded}

// Pairing is the pairing process as the registry lists it.
//
// The pairing_duty ladder: the pairing's teacher as the period ends, the leader of the student's
// school a working day later, then the township central school ("superior"). The supervision
// office is on another ladder, pairing_school, raised only when the school's share of pairings
// with every duty done is below
// JIAOFU_PAIRING_SCHOOL_THRESHOLD percent (and still is when its rung falls due).
var Pairing = Process{
	Name: ProcessPairing, Label: "结对帮扶",
	Cases: []CaseKind{{Name: "pairing", Label: "结对帮扶", IDPrefix: "pairing-", States: []Label{
		{PairingActive, "帮扶中"}, {PairingEnded, "已结束"}}}},
	DeadlineKinds: []DeadlineKind{
		{Name: DeadlinePairingDuty, Label: "结对帮扶“六个一”（本周期）", Ladder: []Rung{
			{"0s", TargetTeacher}, {"1wd", TargetSchoolLeader}, {"3wd", TargetSuperior}}},
		{Name: DeadlinePairingSchool, Label: "学校结对帮扶完成率低于阈值", Ladder: []Rung{
			{"3wd", TargetSupervision}}},
	},
	Outcomes: []Label{{DutyPlan, "帮扶计划"}, {DutyHomeVisit, "家访"}, {DutyGoodDeed, "办一件实事"},
		{DutySummary, "学期总结"}, {DutyMeasure, "帮扶措施"}, {DutyActivity, "帮扶活动"}},
	Events: []Label{{"pairing.created", "建立结对帮扶"}, {"pairing.recorded", "帮扶记录"},
		{"pairing.checked", "帮扶任务周期检查"}},
	// A teacher's term summary is copied to the leaders of the student's school (issue 18).
	AutoCopies: []AutoCopy{{On: "pairing.recorded", Match: map[string]string{"kind": DutySummary}, Role: RoleSchoolLeader,
		Over: OverUnit, Label: "结对帮扶学期总结"}},
	Settings: []Setting{
		{Env: "JIAOFU_PAIRING_MONTH", Default: "4w", Meaning: "length of a pairing's monthly duty period (measure, activity); wall time, counted from the Unix epoch in China Standard Time"},
		{Env: "JIAOFU_PAIRING_TERM", Default: "20w", Meaning: "length of a pairing's term duty period (plan, home_visit, good_deed, summary); a whole number of months"},
	},
	Counts: []Setting{
		{Env: "JIAOFU_PAIRING_SCHOOL_THRESHOLD", Default: "80", Meaning: "percent of a school's pairings with every duty of a period done below which the supervision office is told"},
	},
}
