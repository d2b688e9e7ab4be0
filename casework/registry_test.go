package casework_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"jiaofu/calendar"
	"jiaofu/casework"
)

// The registry is read by every layer; a slip in it (a duplicate kind, a setting a task kind
// names but nobody declares, a ladder with an unknown target) fails here, not in production.
func TestRegistryIsConsistent(t *testing.T) {
	seen := map[string]string{}
	unique := func(what, name string) {
		if prev, ok := seen[what+":"+name]; ok {
			t.Errorf("%s %q declared twice (%s)", what, name, prev)
		}
		seen[what+":"+name] = "again"
	}
	for _, p := range casework.Processes {
		unique("process", p.Name)
		if p.Label == "" {
			t.Errorf("process %s has no label", p.Name)
		}
		settings := map[string]bool{}
		for _, s := range p.Settings {
			unique("setting", s.Env)
			settings[s.Env] = true
			if !strings.HasPrefix(s.Env, "JIAOFU_") {
				t.Errorf("setting %s: variables start with JIAOFU_", s.Env)
			}
			if _, err := calendar.ParseSpec(s.Default); err != nil {
				t.Errorf("setting %s: default %q: %v", s.Env, s.Default, err)
			}
		}
		for _, s := range p.Counts {
			unique("setting", s.Env)
			if !strings.HasPrefix(s.Env, "JIAOFU_") {
				t.Errorf("setting %s: variables start with JIAOFU_", s.Env)
			}
			if n, err := strconv.Atoi(s.Default); err != nil || n <= 0 {
				t.Errorf("setting %s: default %q is not a positive whole number", s.Env, s.Default)
			}
		}
		for _, c := range p.Cases {
			unique("case id prefix", c.IDPrefix)
			if len(c.States) == 0 || c.Label == "" {
				t.Errorf("case kind %s of %s: no label or no states", c.Name, p.Name)
			}
		}
		for _, k := range p.TaskKinds {
			unique("ladder kind", k.Name)
			if k.Label == "" || len(k.Outcomes) == 0 {
				t.Errorf("task kind %s: no label or no outcomes", k.Name)
			}
			if k.Setting != "" && !settings[k.Setting] {
				t.Errorf("task kind %s: its due time %s is not among %s's settings", k.Name, k.Setting, p.Name)
			}
			for _, o := range k.Outcomes {
				if !slices.ContainsFunc(p.Outcomes, func(l casework.Label) bool { return l.Name == o }) {
					t.Errorf("task kind %s: outcome %s has no label in %s's outcomes", k.Name, o, p.Name)
				}
			}
		}
		for _, d := range p.DeadlineKinds {
			unique("ladder kind", d.Name)
			if d.Label == "" || len(d.Ladder) == 0 {
				t.Errorf("deadline kind %s: no label or no ladder", d.Name)
			}
			for _, r := range d.Ladder {
				if !slices.Contains(casework.EscalationTargets, r.Target) {
					t.Errorf("deadline kind %s: unknown target %s", d.Name, r.Target)
				}
				if _, err := calendar.ParseOffset(r.After); err != nil {
					t.Errorf("deadline kind %s: rung after %q: %v", d.Name, r.After, err)
				}
			}
		}
	}
	if !slices.Contains(casework.LadderKinds(), casework.DefaultLadderKind) {
		t.Error("the default ladder kind is not a ladder kind")
	}
}

func TestCaseKindOfAnId(t *testing.T) {
	for id, want := range map[string]string{"subsidy-st_1-living-2026-2027-1": "app", "publicity-JS-T01-S01-2026-2027-1-1": "batch",
		"dropout-st_9-ab12cd34": "dropout"} {
		if _, k, ok := casework.CaseKindOf(id); !ok || k.Name != want {
			t.Errorf("CaseKindOf(%s) = %s, %v; want %s", id, k.Name, ok, want)
		}
	}
	if _, _, ok := casework.CaseKindOf("user-1"); ok {
		t.Error("a user id named a case kind")
	}
}
