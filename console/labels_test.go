package console

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

// sources is the text of every non-test .go file under the named directories of the module.
func sources(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join("..", d, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[f] = string(b)
		}
	}
	if len(out) == 0 {
		t.Fatal("no sources found")
	}
	return out
}

// auditPrefixes are the first words of the audit actions the code writes.
const auditPrefixes = `subsidy|publicity|objection|dropout|inspection|sendhome|task|escalation|student|user|org_unit|programme|accountability|plan|poverty_member|disability|household_roll|attendance|import|ledger|cross_check|hardship`

// Every audit action the code writes has a Chinese name in the timeline, so that nobody reads
// objection.dismiss (issue 15, item 12). Actions are read from the source: the literal ones, and the
// ones built from a prefix and a value, whose values are listed here. A new built action fails the
// test until its values are listed.
func TestEveryAuditActionHasALabel(t *testing.T) {
	literal := regexp.MustCompile(`"((?:` + auditPrefixes + `)\.[a-z_]+)"`)
	built := regexp.MustCompile(`"((?:` + auditPrefixes + `)\.)"\s*\+\s*([A-Za-z_.]+)`)
	// The values each built action takes: "task."+a.Action+"ed" is only written for the actions
	// that do not name their own (claim, unclaim); the rest are the processes' own constants.
	values := map[string][]string{
		"objection.+o.Decision": {casework.OutcomeUphold, casework.OutcomeDismiss},
		"task.+a.Action":        {workflows.ActionClaim + "ed", workflows.ActionUnclaim + "ed"},
		"escalation.+e.Target":  casework.EscalationTargets,
		"dropout.+o.Outcome":    {casework.OutcomeTransferred, casework.OutcomeSendHome, casework.OutcomeVocational},
		// an imported register row's action: the record's (dataio.ActionCreated, ActionUpdated)
		"poverty_member.+r.Action": {"created", "updated"},
		"disability.+r.Action":     {"created", "updated"},
		"household_roll.+r.Action": {"created", "updated"},
		"attendance.+r.Action":     {"created", "updated"},
	}
	actions := map[string]string{}
	for f, src := range sources(t, "workflows", "activities", "api", "demo", "dataio") {
		for _, m := range literal.FindAllStringSubmatch(src, -1) {
			actions[m[1]] = f
		}
		for _, m := range built.FindAllStringSubmatch(src, -1) {
			vs, ok := values[m[1]+"+"+m[2]]
			if !ok {
				t.Errorf("%s builds an audit action %s+%s: list the values it takes in this test", f, m[1], m[2])
			}
			for _, v := range vs {
				actions[m[1]+v] = f
			}
		}
	}
	if len(actions) < 20 {
		t.Fatalf("found only %d audit actions in the source: %v", len(actions), actions)
	}
	var missing []string
	for a, f := range actions {
		if _, ok := labels["action"][a]; !ok {
			missing = append(missing, a+" ("+f+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("audit action without a Chinese label: %s", m)
	}
}

// Every state and outcome the processes define has a Chinese name in its category (issue 15, item 12):
// a constant added without its registry label fails here.
func TestEveryStateAndOutcomeHasALabel(t *testing.T) {
	constant := regexp.MustCompile(`(?m)^\s*(?:const\s+)?(App|Batch|Dropout|Task|Escalation|Outcome)[A-Z]\w*\s*=\s*"([a-z_]+)"`)
	cats := map[string][]string{"App": {"app"}, "Batch": {"batch"}, "Dropout": {"dropout"}, "Task": {"task"},
		"Escalation": {"escalation"}, "Outcome": {"outcome", "dropout_outcome"}}
	seen := 0
	check := func(where, kind, v string) {
		seen++
		for _, c := range cats[kind] {
			if _, ok := labels[c][v]; ok {
				return
			}
		}
		t.Errorf("%s: %s %q has no label in %v", where, kind, v, cats[kind])
	}
	// The vocabulary is casework's; the registry there gives the labels the console shows.
	for f, src := range sources(t, "casework") {
		for _, m := range constant.FindAllStringSubmatch(src, -1) {
			check(f, m[1], m[2])
		}
	}
	if seen < 30 {
		t.Fatalf("found only %d constants in the source", seen)
	}
	// An objection's states are written as literals by the publicity workflow.
	for _, s := range []string{"open", "decided"} {
		if _, ok := labels["objection"][s]; !ok {
			t.Errorf("objection state %q has no label", s)
		}
	}
}

// An objection's audit entries read in Chinese on the batch's timeline, not open, decided or dismiss.
func TestObjectionSummaryInChinese(t *testing.T) {
	for after, want := range map[string]string{
		`{"objection_id":"o1","entry_id":"subsidy-st_1-living-primary-2026-2027-1","state":"open","decision":""}`:           "状态：待复核",
		`{"objection_id":"o1","entry_id":"subsidy-st_1-living-primary-2026-2027-1","state":"decided","decision":"dismiss"}`: "状态：已复核；处理决定：异议不成立",
	} {
		e := store.AuditEntry{Action: "objection.dismiss", Process: casework.ProcessSubsidy, CaseID: "publicity-JS-T01-S01-2026-2027-1-1", After: after}
		if got := auditSummary(e); got != want {
			t.Errorf("auditSummary(%s) = %q, want %q", after, got, want)
		}
	}
}
