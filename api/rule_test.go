package api

import (
	"slices"
	"strings"
	"testing"

	"jiaofu/casework"
	"jiaofu/config"
)

func TestParseRule(t *testing.T) {
	for _, c := range []struct {
		auth   string
		want   Rule
		refuse bool
	}{
		{auth: "public", want: Rule{Public: true}},
		{auth: "login", want: Rule{}},
		{auth: "login; the task's candidates", want: Rule{Record: "the task's candidates"}},
		{auth: "admin, supervision", want: Rule{Roles: []string{"admin", "supervision"}}},
		{auth: "school_staff; of their own school", want: Rule{Roles: []string{"school_staff"}, Record: "of their own school"}},
		{auth: "", refuse: true},                       // a route without a rule
		{auth: "candidate", refuse: true},              // words where roles belong
		{auth: "school, township_staff", refuse: true}, // no role "school"
		{auth: "admin, admin", refuse: true},
		{auth: "public; anyone", refuse: true},
		{auth: "admin, scraper", want: Rule{Roles: []string{"admin"}, Scraper: true}},
		{auth: "scraper", refuse: true}, // alone it would read as any login
		{auth: "admin, scraper, scraper", refuse: true},
		{auth: "public, scraper", refuse: true},
	} {
		got, err := ParseRule(c.auth)
		if c.refuse {
			if err == nil {
				t.Errorf("%q: accepted as %+v", c.auth, got)
			}
			continue
		}
		if err != nil || got.Public != c.want.Public || !slices.Equal(got.Roles, c.want.Roles) || got.Record != c.want.Record || got.Scraper != c.want.Scraper {
			t.Errorf("%q: %+v, %v; want %+v", c.auth, got, err, c.want)
		}
	}
}

// TestRouteTableRules: every route of the table carries a rule that parses (New refuses to build
// a server otherwise), and the admin's pages stay the admin's.
func TestRouteTableRules(t *testing.T) {
	s := New(config.Default(), nil, nil, nil, nil)
	if len(s.Routes()) < 100 {
		t.Fatalf("%d routes: the table is incomplete", len(s.Routes()))
	}
	for _, r := range s.Routes() {
		rule := r.Rule()
		if rule.Public && !strings.HasPrefix(r.Path, "/public/") && !slices.Contains([]string{"/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/auth/login"}, r.Path) {
			t.Errorf("%s %s is public but neither under /public/ nor health, the document or login", r.Method, r.Path)
		}
		if rule.Roles != nil && rule.Admits(casework.RoleAdmin) && slices.Contains([]string{"/api/v1/escalations/:id/close", "/api/v1/accountability-records/:id/decision"}, r.Path) {
			t.Errorf("%s %s admits an admin: accountability is the supervision office's", r.Method, r.Path)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a route without a rule did not stop the server")
		}
	}()
	_ = Route{Method: "GET", Path: "/api/v1/new"}.Rule()
}
