package api

import (
	"crypto/subtle"
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
//	role, …, scraper            also a caller whose bearer token is JIAOFU_METRICS_TOKEN, with
//	                            no login (a Prometheus server); only beside a role, and nothing
//	                            is admitted by it when the setting is unset
//	…; words                    after a semicolon, the finer rule the handler applies to each
//	                            record (a task's candidate, the importer), for people to read
//
// A route whose Auth does not parse — empty, or naming a role that does not exist — stops the
// server at its start (and every test), so no route is served without a rule.
type Rule struct {
	Public bool
	Roles  []string // nil: every logged-in user
	Record string   // the per-record rule, in words; "" when none
	// Scraper admits, besides the roles, the bearer of the scrape token (JIAOFU_METRICS_TOKEN).
	Scraper bool
}

// ruleScraper is the word of the grammar for the bearer of the scrape token.
const ruleScraper = "scraper"

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
		if role == ruleScraper {
			if rule.Scraper {
				return Rule{}, fmt.Errorf("%s listed twice", ruleScraper)
			}
			rule.Scraper = true
			continue
		}
		if !slices.Contains(casework.Roles, role) {
			return Rule{}, fmt.Errorf("%q is not a role (casework.Roles)", role)
		}
		if slices.Contains(rule.Roles, role) {
			return Rule{}, fmt.Errorf("role %q listed twice", role)
		}
		rule.Roles = append(rule.Roles, role)
	}
	// Alone, scraper would leave Roles nil, which reads as every logged-in user.
	if rule.Scraper && len(rule.Roles) == 0 {
		return Rule{}, fmt.Errorf("%s needs a role beside it (who else may read the route with a login)", ruleScraper)
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
	case rule.Scraper:
		return []fiber.Handler{s.admitScraper, unlessScraper(s.requireLogin), unlessScraper(requireRole(rule.Roles...))}
	}
	return []fiber.Handler{s.requireLogin, requireRole(rule.Roles...)}
}

const scraperKey = "scraper"

// admitScraper marks a request whose bearer token is the scrape token (JIAOFU_METRICS_TOKEN),
// compared in constant time; with the setting unset nobody is a scraper. Anyone else goes on to
// the login and the roles.
func (s *Server) admitScraper(c *fiber.Ctx) error {
	if want := s.cfg.MetricsToken; want != "" && subtle.ConstantTimeCompare([]byte(bearer(c)), []byte(want)) == 1 {
		c.Locals(scraperKey, true)
	}
	return c.Next()
}

// unlessScraper is h, passed over for a request admitScraper let in.
func unlessScraper(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ok, _ := c.Locals(scraperKey).(bool); ok {
			return c.Next()
		}
		return h(c)
	}
}
