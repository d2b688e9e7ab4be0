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
			checkLadder(t, "task kind "+k.Name, k.Ladder)
			if k.Signing != nil {
				if err := k.Signing.Check(); err != nil {
					t.Errorf("task kind %s: %v", k.Name, err)
				}
				if k.Signing.Pass != "" && !slices.Contains(k.Outcomes, k.Signing.Pass) {
					t.Errorf("task kind %s: its signers pass with %s, not one of its outcomes", k.Name, k.Signing.Pass)
				}
			}
			if k.SameApprover != "" && k.SameApprover != casework.SameApproverOnce {
				t.Errorf("task kind %s: same-approver policy %q", k.Name, k.SameApprover)
			}
		}
		for _, d := range p.DeadlineKinds {
			unique("ladder kind", d.Name)
			if d.Label == "" || len(d.Ladder) == 0 {
				t.Errorf("deadline kind %s: no label or no ladder", d.Name)
			}
			checkLadder(t, "deadline kind "+d.Name, d.Ladder)
		}
	}
	for _, c := range casework.AutoCopies() {
		if c.On == "" || c.Label == "" || !slices.Contains(casework.Roles, c.Role) ||
			(c.Over != "" && c.Over != casework.OverUnit && c.Over != casework.OverCounty) {
			t.Errorf("automatic copy %+v: it needs an event, a label, a role and a scope (unit or county)", c)
		}
	}
	if !slices.Contains(casework.LadderKinds(), casework.DefaultLadderKind) {
		t.Error("the default ladder kind is not a ladder kind")
	}
}

// checkLadder: every rung goes to a known target after a valid offset. No target decides a task
// (there is no auto-approve): a late payment is escalated, never paid by a timer.
func checkLadder(t *testing.T, what string, ladder []casework.Rung) {
	t.Helper()
	for _, r := range ladder {
		if !slices.Contains(casework.EscalationTargets, r.Target) {
			t.Errorf("%s: unknown target %s", what, r.Target)
		}
		if _, err := calendar.ParseOffset(r.After); err != nil {
			t.Errorf("%s: rung after %q: %v", what, r.After, err)
		}
	}
}

func TestRemindThen(t *testing.T) {
	got := casework.RemindThen(3, "1wd", casework.TargetSuperior, casework.TargetSupervision)
	want := []casework.Rung{{"0s", "remind"}, {"1wd", "remind"}, {"2wd", "remind"}, {"3wd", "superior"}, {"4wd", "supervision"}}
	if !slices.Equal(got, want) {
		t.Errorf("RemindThen = %v, want %v", got, want)
	}
}

func TestSigningCheck(t *testing.T) {
	for _, s := range []casework.Signing{{Mode: "all"}, {Mode: "ratio", Num: 2, Den: 3}, {Mode: "sequence", UserIDs: []string{"a", "b"}},
		{Mode: "all", Role: "inspector", Count: 2}} {
		if err := s.Check(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []casework.Signing{{Mode: "most"}, {Mode: "ratio"}, {Mode: "ratio", Num: 3, Den: 2}, {Mode: "all", Num: 1, Den: 2},
		{Mode: "all", UserIDs: []string{"a"}, Count: 2}} {
		if err := s.Check(); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

func TestAutoCopiesOn(t *testing.T) {
	if got := casework.AutoCopiesOn("pairing.recorded", map[string]any{"kind": "summary"}); len(got) != 1 || got[0].Role != casework.RoleSchoolLeader {
		t.Errorf("a pairing summary copies %+v, want the school leaders", got)
	}
	if got := casework.AutoCopiesOn("pairing.recorded", map[string]any{"kind": "home_visit"}); len(got) != 0 {
		t.Errorf("a home visit copies %+v, want nobody", got)
	}
	if got := casework.AutoCopiesOn("accountability.decided", nil); len(got) != 1 || got[0].Over != casework.OverCounty {
		t.Errorf("an accountability decision copies %+v, want the bureau leaders", got)
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
