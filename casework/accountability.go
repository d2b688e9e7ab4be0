package casework

// Accountability measures (问责措施) the supervision office decides on a record, in two
// statutory lists: against units (education supervision accountability measures, 2021) and
// against persons (the same, with 诫勉 from the Party's accountability regulations), plus the
// informal reminder talk and no action (with its reason). interview (约谈) is in both lists.
var (
	UnitMeasures = []Label{
		{"public_criticism", "公开批评"},
		{"interview", "约谈"},
		{"inspection_circular", "督导通报"},
		{"resource_adjustment", "资源调整"},
	}
	PersonMeasures = []Label{
		{"order_self_examination", "责令检查"},
		{"interview", "约谈"},
		{"circulated_criticism", "通报批评"},
		{"admonishment", "诫勉"},
		{"organisational_handling", "组织处理"},
		{"sanction", "处分"},
		{"referral", "移送纪检监察/司法"},
	}
	OtherMeasures = []Label{
		{"reminder_talk", "提醒谈话"},
		{"no_action", "不予问责"},
	}
)

// MeasureNoAction is the decision to hold nobody to account; its note is the reason.
const MeasureNoAction = "no_action"

// Measures is every measure once, in the order the desk offers them.
func Measures() []Label {
	var out []Label
	seen := map[string]bool{}
	for _, list := range [][]Label{UnitMeasures, PersonMeasures, OtherMeasures} {
		for _, m := range list {
			if !seen[m.Name] {
				seen[m.Name] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// IsPersonMeasure says whether a measure is taken against a person (who must be named); interview
// is both, and counts as a person's only when persons are named.
func IsPersonMeasure(name string) bool {
	for _, m := range PersonMeasures {
		if m.Name == name && name != "interview" {
			return true
		}
	}
	return false
}

// Organisational handling (组织处理) must be carried out within a month of the decision (the
// Party's accountability regulations): a decision with the measure opens a case on the kit — a
// task for the supervision office to record it carried out, and a case deadline whose ladder
// reminds the office and then goes to the bureau leader. They belong to process 5 (inspection,
// rectification, accountability), declared in its registry value (inspection.go).
const (
	MeasureOrganisationalHandling = "organisational_handling"

	KindOrganisationalHandling     = "organisational_handling"     // the task: record it carried out
	OutcomeCarriedOut              = "carried_out"                 // its one outcome, with a note of what was done
	DeadlineOrganisationalHandling = "organisational_handling_due" // the month, and its ladder

	// SettingOrganisationalHandlingDue is the env variable of the month (30 days by default).
	SettingOrganisationalHandlingDue = "JIAOFU_ORGANISATIONAL_HANDLING_DUE"
)
