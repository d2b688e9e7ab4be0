package casework

import (
	"fmt"
	"slices"
)

// Multi-approver steps (issue 18): a task a process opens may ask several people to sign instead
// of one. The kit (workflows/humantask.go) opens one task per signer (each in its signer's inbox,
// with its own due time and ladder) and hands the process one decision for the step.
const (
	SignAll      = "all"      // 会签: every signer must pass; the first who does not decides the step
	SignAny      = "any"      // 或签: the first signer to decide decides the step
	SignRatio    = "ratio"    // 票签: the step passes once Num/Den of the signers have passed, fails once that cannot happen
	SignSequence = "sequence" // 依次: the signers in their order, one at a time; each must pass
)

// SignModes lists every signing mode.
var SignModes = []string{SignAll, SignAny, SignRatio, SignSequence}

// Positions of signers added to a task (加签): before — they sign first and the task comes back
// to its holder; after — the step is not done until they sign too, once its holder has passed;
// parallel — they join the step now. An added signer must pass like a 会签 signer.
const (
	SignBefore   = "before"
	SignAfter    = "after"
	SignParallel = "parallel"
)

// SignPositions lists the positions of added signers.
var SignPositions = []string{SignBefore, SignAfter, SignParallel}

// Signing says who signs a multi-approver step, declared on the task's spec by its process
// (activities.TaskSpec.Signing) or on its task kind in the registry (TaskKind.Signing) where it
// is fixed. The signers are UserIDs, in order; or Count distinct holders of Role at UnitCode, each
// taking one task of the step from the pool (two inspectors); or, with neither, everyone holding
// Role at UnitCode. Role and UnitCode default to the task's candidate role and unit. People the
// task bars (the applicant, earlier approvers) are never among the signers.
type Signing struct {
	Mode     string   `json:",omitempty"`
	UserIDs  []string `json:",omitempty"`
	Role     string   `json:",omitempty"`
	UnitCode string   `json:",omitempty"`
	Count    int      `json:",omitempty"`
	// Num/Den is the share of the signers that must pass a ratio step (2/3: at least two thirds).
	Num int `json:",omitempty"`
	Den int `json:",omitempty"`
	// Pass is the outcome that counts as passing; "" is the task's first outcome (approve, accept).
	Pass string `json:",omitempty"`
}

// Check reports what is wrong with a declared signing, for the registry's test and the kit.
func (s Signing) Check() error {
	switch {
	case !slices.Contains(SignModes, s.Mode):
		return fmt.Errorf("signing mode %q is not one of %v", s.Mode, SignModes)
	case s.Mode == SignRatio && (s.Num <= 0 || s.Den <= 0 || s.Num > s.Den):
		return fmt.Errorf("a ratio step needs 0 < Num <= Den, not %d/%d", s.Num, s.Den)
	case s.Mode != SignRatio && (s.Num != 0 || s.Den != 0):
		return fmt.Errorf("Num/Den are for ratio steps only")
	case s.Count < 0 || (s.Count > 0 && len(s.UserIDs) > 0):
		return fmt.Errorf("a step names its signers (UserIDs) or counts holders of a role (Count), not both")
	}
	return nil
}

// Label is the step's mode in Chinese, as the console shows it beside a signer's task.
func (s Signing) Label() string {
	switch s.Mode {
	case SignAll:
		return "会签"
	case SignAny:
		return "或签"
	case SignRatio:
		return fmt.Sprintf("票签（%d/%d 同意即通过）", s.Num, s.Den)
	case SignSequence:
		return "依次审批"
	}
	return ""
}

// Same-approver policies (TaskKind.SameApprover, activities.TaskSpec.SameApprover): when the
// person who passed the case's previous step may also decide this one, SameApproverOnce passes
// it with their decision (approve once for both); the default ("") asks them again.
const SameApproverOnce = "once"

// AutoCopy is a copy (抄送) the kit makes by itself when an event is put on record: the case is
// copied to everyone holding Role over the event's unit (Over "unit", the default) or anywhere in
// the county (Over "county"), once per person and case (a later event renews their unread copy).
// On is the audit action ("accountability.decided", "task.completed"); Match are values the
// entry's after-fields must hold ("kind": "summary"). The copy grants reading that case, nothing
// more.
type AutoCopy struct {
	On    string
	Match map[string]string
	Role  string
	Over  string
	Label string // what the copy is about, as the copied person's list names it
}

// AutoCopy scopes.
const (
	OverUnit   = "unit"
	OverCounty = "county"
)

// AutoCopies is every automatic copy: each process's own (Process.AutoCopies) and the
// accountability desk's, which serves every process.
func AutoCopies() []AutoCopy {
	out := slices.Clone(DeskAutoCopies)
	for _, p := range Processes {
		out = append(out, p.AutoCopies...)
	}
	return out
}

// DeskAutoCopies are the accountability desk's copies: the bureau leaders read every decision.
var DeskAutoCopies = []AutoCopy{
	{On: "accountability.decided", Role: RoleBureauLeader, Over: OverCounty, Label: "问责决定"},
}

// AutoCopiesOn are the automatic copies an event of action with after-fields after makes.
func AutoCopiesOn(action string, after map[string]any) []AutoCopy {
	var out []AutoCopy
	for _, c := range AutoCopies() {
		if c.On != action {
			continue
		}
		match := true
		for k, v := range c.Match {
			match = match && fmt.Sprint(after[k]) == v
		}
		if match {
			out = append(out, c)
		}
	}
	return out
}

// TaskKindNamed finds a task kind of any process.
func TaskKindNamed(name string) (TaskKind, bool) {
	for _, p := range Processes {
		for _, k := range p.TaskKinds {
			if k.Name == name {
				return k, true
			}
		}
	}
	return TaskKind{}, false
}

// RemindThen is a task kind's timeout policy as a ladder: a reminder when the task falls due,
// reminders every `every` after it until there were times of them, then the targets one after
// the other, every `every` (never a decision: no rung approves anything, a payment least of all).
func RemindThen(times int, every string, targets ...string) []Rung {
	out := []Rung{{"0s", TargetRemind}}
	n := 1
	for ; n < times; n++ {
		out = append(out, Rung{fmt.Sprintf("%d%s", n*atoiUnit(every), unitOf(every)), TargetRemind})
	}
	for _, t := range targets {
		out = append(out, Rung{fmt.Sprintf("%d%s", n*atoiUnit(every), unitOf(every)), t})
		n++
	}
	return out
}

// atoiUnit and unitOf split a spec such as "1wd" into 1 and "wd".
func atoiUnit(spec string) int {
	n := 0
	for _, r := range spec {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func unitOf(spec string) string {
	for i, r := range spec {
		if r < '0' || r > '9' {
			return spec[i:]
		}
	}
	return ""
}
