package api

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
)

// Rule is who may call a route, read from the route's Auth text, which therefore is data and
// not prose: Mount enforces it (login, then the roles) before any handler runs, the OpenAPI
// document shows it, and the authorization matrix (e2e/authz_test.go) checks every route
// against it for every role and for a caller without a login. The grammar:
//
//	public                      no login (the public pages, health, login itself)
//	login                       any logged-in user; the record's scope decides (404 outside it)
//	role, role, …               only these roles (an admin only where admin is listed)
//	…; words                    after a semicolon, the finer rule the handler applies to each
//	                            record (a task's candidate, the importer), for people to read
//
// A route whose Auth does not parse — empty, or naming a role that does not exist — stops the
// server at its start (and every test), so no route is served without a rule.
type Rule struct {
	Public bool
	Roles  []string // nil: every logged-in user
	Record string   // the per-record rule, in words; "" when none
}

// ParseRule reads a route's Auth text.
func ParseRule(auth string) (Rule, error) {
	head, record, _ := strings.Cut(auth, ";")
	rule := Rule{Record: strings.TrimSpace(record)}
	switch head = strings.TrimSpace(head); head {
	case "":
		return Rule{}, fmt.Errorf("no rule: say public, login or the roles admitted")
	case "public":
		if rule.Record != "" {
			return Rule{}, fmt.Errorf("a public route has no per-record rule")
		}
		rule.Public = true
		return rule, nil
	case "login":
		return rule, nil
	}
	for _, role := range strings.Split(head, ",") {
		role = strings.TrimSpace(role)
		if !slices.Contains(casework.Roles, role) {
			return Rule{}, fmt.Errorf("%q is not a role (casework.Roles)", role)
		}
		if slices.Contains(rule.Roles, role) {
			return Rule{}, fmt.Errorf("role %q listed twice", role)
		}
		rule.Roles = append(rule.Roles, role)
	}
	return rule, nil
}

// Rule is the route's parsed rule; the table is checked at New, so it parses here.
func (r Route) Rule() Rule {
	rule, err := ParseRule(r.Auth)
	if err != nil {
		panic("api: route " + r.Method + " " + r.Path + ": " + err.Error())
	}
	return rule
}

// Admits reports whether the rule lets a caller holding role past the route's gate.
func (r Rule) Admits(role string) bool {
	return !r.Public && (r.Roles == nil || slices.Contains(r.Roles, role))
}

// gate is the handlers a route's rule puts before its own: none for a public route, the login,
// and the roles when the rule names them.
func (s *Server) gate(rule Rule) []fiber.Handler {
	switch {
	case rule.Public:
		return nil
	case rule.Roles == nil:
		return []fiber.Handler{s.requireLogin}
	}
	return []fiber.Handler{s.requireLogin, requireRole(rule.Roles...)}
}
