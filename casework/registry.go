package casework

import "slices"

// Process describes one process to everything that serves it: the worker registers its
// workflows, the API its routes and ladder kinds, the console its labels, config its settings.
// Each process's code in workflows/, activities/, api/ and console/ is in files of its own; this
// is what they share. A new process adds its value here, in a file of its own, and one line to
// Processes.
type Process struct {
	Name  string // as tasks, escalations and audit entries carry it
	Label string // 学生资助
	// Cases are the kinds of case the process opens (an application, a publicity batch …).
	Cases     []CaseKind
	TaskKinds []TaskKind
	// DeadlineKinds are the case deadlines of the process that are not a task's due time (a
	// return window, a rectification deadline): each has a ladder of its own, stored and edited
	// like a task kind's.
	DeadlineKinds []DeadlineKind
	// Outcomes name every outcome the process's tasks and cases record.
	Outcomes []Label
	// Events name the audit actions the process writes ("dropout.returned").
	Events   []Label
	Settings []Setting
	// Counts are settings that are whole numbers, not durations (a quota's default).
	Counts []Setting
	// AutoCopies are the copies (抄送) the kit makes by itself when the process's events are put
	// on record (a pairing's term summary to the school's leaders).
	AutoCopies []AutoCopy
}

// CaseKind is one kind of case of a process.
type CaseKind struct {
	Name     string // the label category of its states ("app", "batch", "dropout")
	Label    string
	IDPrefix string // every case id of the kind starts with it ("subsidy-")
	States   []Label
}

// TaskKind is one kind of human task.
type TaskKind struct {
	Name     string
	Label    string
	Outcomes []string
	// Setting is the env variable of its due time (in Settings), "" when the process sets it.
	Setting string
	// Ladder is the kind's timeout policy until an admin stores another (RemindThen: remind N
	// times, then escalate); without one, tasks of the kind climb the default ladder.
	Ladder []Rung
	// Signing makes every task of the kind a multi-approver step, where the kind fixes it (a
	// process may also ask for one on the task's spec).
	Signing *Signing
	// SameApprover is the kind's policy when the person who passed the case's previous step may
	// decide this one too: SameApproverOnce passes it with their decision; "" asks them again.
	SameApprover string
}

// DeadlineKind is one kind of case deadline, with the ladder it climbs when it passes unmet
// until an admin stores another.
type DeadlineKind struct {
	Name   string
	Label  string
	Ladder []Rung
}

// Rung is one step of a ladder as a process declares it: After past the due time (a calendar
// spec such as 1wd, or 0s for the instant itself), go to Target.
type Rung struct {
	After  string
	Target string
}

// Label is a fixed value and its Chinese name.
type Label struct{ Name, Label string }

// LabelOf is name's Chinese name among ls (name itself when it is not there).
func LabelOf(ls []Label, name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Label
		}
	}
	return name
}

// Setting is one env variable of a process: a duration spec with its default (in Settings), or
// a positive whole number (in Counts).
type Setting struct {
	Env     string
	Default string
	Meaning string
}

// Processes is every process jiaofu runs, in the order the console lists them.
var Processes = []Process{Subsidy, Dropout, Inspection, SendHome, Pairing, Plan, Hardship}

// DefaultLadderKind is the ladder of a task kind that has none of its own.
const DefaultLadderKind = "default"

// ProcessNames lists the process names, as list filters take them.
func ProcessNames() []string {
	out := make([]string, len(Processes))
	for i, p := range Processes {
		out[i] = p.Name
	}
	return out
}

// TaskKindNames lists every task kind of every process.
func TaskKindNames() []string {
	var out []string
	for _, p := range Processes {
		for _, k := range p.TaskKinds {
			out = append(out, k.Name)
		}
	}
	return out
}

// LadderKinds are the kinds an escalation ladder may be stored for: every task kind, every case
// deadline kind, and DefaultLadderKind.
func LadderKinds() []string {
	out := append([]string{DefaultLadderKind}, TaskKindNames()...)
	for _, p := range Processes {
		for _, d := range p.DeadlineKinds {
			out = append(out, d.Name)
		}
	}
	return out
}

// ProcessNamed finds a process by name.
func ProcessNamed(name string) (Process, bool) {
	i := slices.IndexFunc(Processes, func(p Process) bool { return p.Name == name })
	if i < 0 {
		return Process{}, false
	}
	return Processes[i], true
}

// DeadlineKindNamed finds a case deadline kind of any process.
func DeadlineKindNamed(name string) (DeadlineKind, bool) {
	for _, p := range Processes {
		for _, d := range p.DeadlineKinds {
			if d.Name == name {
				return d, true
			}
		}
	}
	return DeadlineKind{}, false
}

// CaseKindOf is the kind of case an id names, by its prefix.
func CaseKindOf(caseID string) (Process, CaseKind, bool) {
	for _, p := range Processes {
		for _, c := range p.Cases {
			if len(caseID) > len(c.IDPrefix) && caseID[:len(c.IDPrefix)] == c.IDPrefix {
				return p, c, true
			}
		}
	}
	return Process{}, CaseKind{}, false
}

// Settings lists every process's settings, in the order of Processes.
func Settings() []Setting {
	var out []Setting
	for _, p := range Processes {
		out = append(out, p.Settings...)
	}
	return out
}

// CountSettings lists every process's whole-number settings, in the order of Processes.
func CountSettings() []Setting {
	var out []Setting
	for _, p := range Processes {
		out = append(out, p.Counts...)
	}
	return out
}
