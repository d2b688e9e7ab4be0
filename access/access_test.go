package access

import "testing"

func TestScopes(t *testing.T) {
	t.Parallel()
	aid := Actor{Roles: []Role{{Role: "aid_center", UnitKind: "section", UnitPath: "/JS/JS-ZZ/"}}}
	head := Actor{Roles: []Role{{Role: "school_leader", UnitKind: "school", UnitPath: "/JS/JS-T01/JS-S0101/"}}}
	cases := []struct {
		name  string
		actor Actor
		role  string
		path  string
		want  bool
	}{
		{"section role reaches a school in the county", aid, "aid_center", "/JS/JS-T02/JS-S0201/", true},
		{"section role needs the right role", aid, "school_leader", "/JS/JS-T02/JS-S0201/", false},
		{"school role reaches its own school", head, "school_leader", "/JS/JS-T01/JS-S0101/", true},
		{"school role does not reach a sibling", head, "school_leader", "/JS/JS-T01/JS-S0102/", false},
		{"school role does not reach its parent", head, "school_leader", "/JS/JS-T01/", false},
		{"prefix of a code is not containment", head, "school_leader", "/JS/JS-T01/JS-S01011/", false},
	}
	for _, c := range cases {
		if got := c.actor.Can(c.role, c.path); got != c.want {
			t.Errorf("%s: Can(%s, %s) = %v, want %v", c.name, c.role, c.path, got, c.want)
		}
	}
	if got := aid.Scopes(); len(got) != 1 || got[0] != "/JS/" {
		t.Errorf("aid scopes = %v, want [/JS/]", got)
	}
	sup := Actor{Roles: []Role{{Role: "supervision", UnitKind: "section", UnitPath: "/JS/JS-JC/"}}}
	if !sup.Sees("/JS/JS-T09/X/") || sup.Scopes() != nil {
		t.Errorf("supervision must read everything")
	}
}

// A section's own staff (section_staff) reach their section only, where the sections' business
// roles reach the county: a task of one section waits in that section's inbox alone.
func TestSectionStaffReachesItsSectionOnly(t *testing.T) {
	t.Parallel()
	zb := Actor{Roles: []Role{{Role: SectionStaff, UnitKind: "section", UnitPath: "/JS/JS-ZB/"}}}
	if !zb.Can(SectionStaff, "/JS/JS-ZB/") {
		t.Error("section staff do not reach their own section")
	}
	if zb.Can(SectionStaff, "/JS/JS-JFZX/") || zb.Sees("/JS/JS-T01/") {
		t.Error("section staff reach beyond their section")
	}
	if got := zb.Scopes(); len(got) != 1 || got[0] != "/JS/JS-ZB/" {
		t.Errorf("scopes = %v", got)
	}
}
