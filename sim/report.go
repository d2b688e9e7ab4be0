package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"
)

// Recorded is an escalation as GET /api/v1/escalations returns it.
type Recorded struct {
	ID         string    `json:"id"`
	Process    string    `json:"process"`
	CaseID     string    `json:"case_id"`
	TaskID     string    `json:"task_id"`
	TaskKind   string    `json:"task_kind"`
	Rung       int       `json:"rung"`
	Target     string    `json:"target"`
	UnitCode   string    `json:"unit_code"`
	SourceUnit string    `json:"source_unit"`
	HolderName string    `json:"holder_name"` // who held the task when the rung fired ("" for nobody)
	State      string    `json:"state"`
	DueAt      time.Time `json:"due_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Row is one line of the report: a process, a task kind (or dropout_case) and a rung.
type Row struct {
	Process          string `json:"process"`
	Kind             string `json:"kind"`
	Rung             string `json:"rung"`
	Expected         int    `json:"expected"`
	Recorded         int    `json:"recorded"`
	SilentMisses     int    `json:"silent_misses"`
	FalseEscalations int    `json:"false_escalations"`
	Duplicates       int    `json:"duplicates"`
	WrongUnit        int    `json:"wrong_unit"`
	WrongHolder      int    `json:"wrong_holder"` // a transferred task's rung naming the wrong holder
	Ambiguous        int    `json:"ambiguous"`
	// MaxLateMS is how long after its rule's instant (the latest it can be) the latest expected
	// record was put on record.
	MaxLateMS int64 `json:"max_late_ms"`
}

// Report is the run's result; the JSON keys cases, silent_misses, false_escalations and
// duplicates are what CI and the issue read.
type Report struct {
	Seed             uint64   `json:"seed"`
	Unit             string   `json:"unit"`
	Store            string   `json:"store"` // SQLite or PostgreSQL
	Cases            int      `json:"cases"`
	SubsidyCases     int      `json:"subsidy_cases"`
	DropoutCases     int      `json:"dropout_cases"`
	Findings         int      `json:"findings"`
	HardshipGrants   int      `json:"hardship_grants"`
	SendHomePlans    int      `json:"sendhome_plans"`
	SendHomePeriods  int      `json:"sendhome_periods"` // periods of the plans that the oracle judged
	PlanTasks        int      `json:"plan_tasks"`
	Pairings         int      `json:"pairings"`
	PairingMonths    int      `json:"pairing_months"` // owed months of the pairings that the oracle judged
	Tasks            int      `json:"tasks"`
	Transfers        int      `json:"transfers"`         // subsidy reviews transferred (转办) to the school's second leader
	StandIns         int      `json:"stand_ins"`         // subsidy reviews of leave schools, which went to the stand-in
	Handlings        int      `json:"handlings"`         // organisational handlings the office decided on findings that reached it
	ContactDuties    int      `json:"contact_duties"`    // units owed a 包保 contact a month by the simulated 包保 people
	SchoolDuties     int      `json:"school_duties"`     // the generated schools' term duties (article, progress report), one case each
	DutyPeriods      int      `json:"duty_periods"`      // periods of those duties that the oracle judged
	Unjudged         int      `json:"unjudged"`          // duty escalations of periods that fell due after the store was read (not judged)
	Openers          int      `json:"openers"`           // openings in flight at most (0: a fixed rate)
	AcceptedOpenings int      `json:"accepted_openings"` // openings answered 202 "opening" and polled until their record was written
	SilentMisses     int      `json:"silent_misses"`
	FalseEscalations int      `json:"false_escalations"`
	Duplicates       int      `json:"duplicates"`
	WrongUnit        int      `json:"wrong_unit"`
	WrongHolder      int      `json:"wrong_holder"`
	Ambiguous        int      `json:"ambiguous"`
	AuditOK          bool     `json:"audit_ok"`
	AuditEntries     int64    `json:"audit_entries"`
	ActorErrors      []string `json:"actor_errors,omitempty"`
	Misses           []string `json:"misses,omitempty"` // the first few silent misses and false escalations, for a reader
	Rows             []Row    `json:"rows"`
	Elapsed          string   `json:"elapsed"`
	MaxRSSMB         int64    `json:"max_rss_mb"` // the whole process's peak: the service, embedded Temporal and the actors`
	// With -kills: the SIGKILLs asked for and done, the restarts, the mean time from a kill to the
	// restarted service's readiness, the requests sent again, the writes answered after an attempt
	// that may have landed, and those of them refused as repeats (409 task_not_open, counted done).
	KillsRequested  int    `json:"kills_requested,omitempty"`
	Kills           int    `json:"kills"`
	Restarts        int    `json:"restarts,omitempty"`
	MeanDowntime    string `json:"mean_downtime,omitempty"`
	Retried         int64  `json:"retried,omitempty"`
	UncertainWrites int64  `json:"uncertain_writes,omitempty"`
	RefusedRepeats  int64  `json:"refused_repeats,omitempty"`
	// DueWhileDown: expected escalations whose instant fell while the service was down.
	DueWhileDown int `json:"due_while_down,omitempty"`

	// LedgerProblems are what the hardship fund's books say that does not add up (sim/hardship.go).
	LedgerProblems []string `json:"ledger_problems,omitempty"`
	// StandInProblems are stand-in tasks whose timeline lacks its one task.stand_in entry (sim/leave.go).
	StandInProblems []string `json:"stand_in_problems,omitempty"`

	// How the oracle knew when the checks read (checkread.go): the pairing months and the 包保
	// contacts' first periods judged by the lag rule because their check's history could not be
	// read, and why; the latest a pairing rung's deciding read ended past the rung's instant.
	PairingByLag   int      `json:"pairing_months_by_lag"`
	PairingUnread  []string `json:"pairing_checks_unread,omitempty"`
	PairingReadLag int64    `json:"pairing_read_lag_ms"`
	ContactsByLag  int      `json:"contacts_by_lag"`
	ContactUnread  []string `json:"contact_checks_unread,omitempty"`
}

// Failed reports whether the run found anything the oracle and the store disagree on.
func (r *Report) Failed() bool {
	return r.Kills < r.KillsRequested || r.SilentMisses > 0 || r.FalseEscalations > 0 || r.Duplicates > 0 || r.WrongUnit > 0 || r.WrongHolder > 0 || !r.AuditOK || len(r.ActorErrors) > 0 ||
		len(r.LedgerProblems) > 0 || len(r.StandInProblems) > 0
}

// Compare sets the oracle beside what the store recorded and counts, per process, kind and rung.
func Compare(o *Oracle, recorded []Recorded, rep *Report) {
	rows := map[string]*Row{}
	row := func(process, kind, label string) *Row {
		k := process + "|" + kind + "|" + label
		if rows[k] == nil {
			rows[k] = &Row{Process: process, Kind: kind, Rung: label}
		}
		return rows[k]
	}
	o.stageSupervision(recorded)
	seen := map[string][]Recorded{}
	for _, e := range recorded {
		kind := o.kindOf(e)
		label := o.labelOf(e)
		k := Expected{Process: e.Process, CaseID: e.CaseID, TaskID: o.taskOf(e), Label: label}.key()
		if o.Unjudged[k] {
			rep.Unjudged++
			continue
		}
		seen[k] = append(seen[k], e)
		r := row(e.Process, kind, label)
		r.Recorded++
		if len(seen[k]) > 1 {
			r.Duplicates++
			first := seen[k][0]
			rep.Misses = appendCapped(rep.Misses, fmt.Sprintf("duplicate %s (%s) due %s and %s", k, e.UnitCode,
				first.DueAt.Format(time.StampMilli), e.DueAt.Format(time.StampMilli)))
			continue
		}
		switch ex, ok := o.Expected[k]; {
		case o.Ambiguous[k]:
		case !ok:
			r.FalseEscalations++
			rep.Misses = appendCapped(rep.Misses, fmt.Sprintf("false escalation %s (%s) due %s", k, e.UnitCode, e.DueAt.Format(time.StampMilli)))
		case ex.Unit != e.UnitCode:
			r.WrongUnit++
		case ex.HolderKnown && ex.Holder != e.HolderName:
			r.WrongHolder++
			rep.Misses = appendCapped(rep.Misses, fmt.Sprintf("wrong holder %s: %q, want %q", k, e.HolderName, ex.Holder))
		default:
			r.MaxLateMS = max(r.MaxLateMS, e.RecordedAt.Sub(ex.Latest).Milliseconds())
		}
	}
	for k, ex := range o.Expected {
		r := row(ex.Process, ex.Kind, ex.Label)
		r.Expected++
		if len(seen[k]) == 0 {
			r.SilentMisses++
			rep.Misses = appendCapped(rep.Misses, fmt.Sprintf("silent miss %s (%s) due %s", k, ex.Unit, ex.At.Format(time.StampMilli)))
		}
	}
	for k := range o.Ambiguous {
		var p, kind, label string
		if len(seen[k]) > 0 {
			e := seen[k][0]
			p, kind, label = e.Process, o.kindOf(e), o.labelOf(e)
		} else {
			continue // an ambiguous rung that did not fire has no row of its own to count in
		}
		row(p, kind, label).Ambiguous++
	}
	rep.Rows = rep.Rows[:0]
	for _, r := range rows {
		rep.Rows = append(rep.Rows, *r)
		rep.SilentMisses += r.SilentMisses
		rep.FalseEscalations += r.FalseEscalations
		rep.Duplicates += r.Duplicates
		rep.WrongUnit += r.WrongUnit
		rep.WrongHolder += r.WrongHolder
	}
	rep.Ambiguous = len(o.Ambiguous)
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if a.Process != b.Process { // as the README lists them
			order := map[string]int{"subsidy": 0, "dropout": 1, "inspection": 2, "hardship": 3, SendHomeProcess: 4, PlanProcess: 5, PairingProcess: 6}
			return order[a.Process] < order[b.Process]
		}
		if a.Kind != b.Kind {
			return a.Kind > b.Kind
		}
		return a.Rung < b.Rung
	})
}

func appendCapped(xs []string, s string) []string {
	if len(xs) >= 20 {
		return xs
	}
	return append(xs, s)
}

// Print writes the table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "seed %d, unit %s, store %s: %d cases (%d subsidy, %d more at leave schools, %d dropout, %d findings, %d hardship grants, %d send-home plans of %d periods, %d plan tasks, %d pairings of %d owed months, %d 包保 contact duties and %d school duties of %d judged periods), %d tasks (%d transferred, %d to a stand-in), %d organisational handlings, %s\n",
		r.Seed, r.Unit, r.Store, r.Cases, r.SubsidyCases, r.StandIns, r.DropoutCases, r.Findings, r.HardshipGrants, r.SendHomePlans, r.SendHomePeriods, r.PlanTasks,
		r.Pairings, r.PairingMonths, r.ContactDuties, r.SchoolDuties, r.DutyPeriods, r.Tasks, r.Transfers, r.StandIns, r.Handlings, r.Elapsed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "process\tkind\trung\texpected\trecorded\tsilent misses\tfalse escalations\tduplicates\twrong unit\twrong holder\tambiguous\tmax late ms\t")
	for _, x := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", x.Process, x.Kind, x.Rung, x.Expected, x.Recorded, x.SilentMisses,
			x.FalseEscalations, x.Duplicates, x.WrongUnit, x.WrongHolder, x.Ambiguous, x.MaxLateMS)
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.SilentMisses, r.FalseEscalations, r.Duplicates, r.WrongUnit, r.WrongHolder, r.Ambiguous)
	tw.Flush()
	fmt.Fprintf(w, "openings: at most %d in flight (0: a fixed rate), %d answered 202 and polled until open\n", r.Openers, r.AcceptedOpenings)
	fmt.Fprintf(w, "audit chain: ok=%v (%d entries); peak RSS %d MB; %d duty escalations of periods due after the store was read (not judged)\n", r.AuditOK, r.AuditEntries, r.MaxRSSMB, r.Unjudged)
	if r.KillsRequested > 0 {
		fmt.Fprintf(w, "kills: %d of %d (SIGKILL), %d restarts, mean downtime %s; %d expected escalations fell due while the service was down; %d requests retried, %d writes answered after an attempt that may have landed, %d of them refused as repeats (counted done)\n",
			r.Kills, r.KillsRequested, r.Restarts, r.MeanDowntime, r.DueWhileDown, r.Retried, r.UncertainWrites, r.RefusedRepeats)
		fmt.Fprintln(w, "(the peak RSS above is the simulator's own: the service ran as a child process)")
	}
	for _, m := range r.Misses {
		fmt.Fprintln(w, "  "+m)
	}
	if r.PairingMonths > 0 {
		fmt.Fprintf(w, "pairing months: %d judged by their school check's reads (Temporal history; the latest read before a rung ended %d ms past its instant), %d by the lag rule (history unread)\n",
			r.PairingMonths-r.PairingByLag, r.PairingReadLag, r.PairingByLag)
	}
	for _, u := range r.PairingUnread {
		fmt.Fprintln(w, "  pairing check history unread: "+u)
	}
	if r.ContactDuties > 0 {
		fmt.Fprintf(w, "包保 contact duties: %d owed from a period judged by their check's read (Temporal history), %d by the lag rule (history unread)\n",
			r.ContactDuties-r.ContactsByLag, r.ContactsByLag)
	}
	for _, u := range r.ContactUnread {
		fmt.Fprintln(w, "  duty check history unread: "+u)
	}
	for _, e := range r.ActorErrors {
		fmt.Fprintln(w, "  actor error: "+e)
	}
	for _, p := range r.LedgerProblems {
		fmt.Fprintln(w, "  hardship fund: "+p)
	}
	for _, p := range r.StandInProblems {
		fmt.Fprintln(w, "  stand-in: "+p)
	}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
