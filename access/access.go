// Package access decides who may act where. It has no dependencies so that workflow update
// validators (which must be deterministic) apply exactly the rules the API applies.
//
// Units form a tree addressed by materialized paths ("/JS/JS-T01/JS-S0101/"); a role held at a
// unit reaches that unit and everything below it, except that a role held at a bureau section
// (aid center, education section, …) reaches the whole county, as DOMAIN.md says.
package access

import "strings"

// Role is one role a person holds at one unit.
type Role struct {
	Role     string `json:"role"`
	UnitCode string `json:"unit_code"`
	UnitKind string `json:"unit_kind"`
	UnitPath string `json:"unit_path"`
	// UnitName is for people (the console's header); rules go by code, kind and path.
	UnitName string `json:"unit_name,omitempty"`
}

// Actor is the person behind a request, as the API resolved them from their token.
type Actor struct {
	UserID      string `json:"user_id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Roles       []Role `json:"roles"`
}

// Public is the actor for unauthenticated public requests (objections).
var Public = Actor{UserID: "public", Username: "public", DisplayName: "公众"}

// System is the actor for what the service does by itself (timers, escalations).
var System = Actor{UserID: "system", Username: "system", DisplayName: "系统"}

// SectionStaff is the role of a bureau section's own staff (股室工作人员, casework.RoleSectionStaff)
// for the work plan's duties of that section: it reaches its section only, so that a task of
// one section waits in that section's inbox, not in every section's.
const SectionStaff = "section_staff"

// Scope returns the path prefix a role reaches.
func (r Role) Scope() string {
	if r.UnitKind == "section" && r.Role != SectionStaff {
		return parentPath(r.UnitPath)
	}
	return r.UnitPath
}

func parentPath(p string) string {
	trimmed := strings.TrimSuffix(p, "/")
	i := strings.LastIndex(trimmed, "/")
	if i <= 0 {
		return p
	}
	return trimmed[:i+1]
}

// Within reports whether unitPath lies at or below scope.
func Within(unitPath, scope string) bool {
	return scope != "" && strings.HasPrefix(unitPath, scope)
}

// Can reports whether the actor holds role at a unit whose scope covers unitPath.
func (a Actor) Can(role, unitPath string) bool {
	for _, r := range a.Roles {
		if r.Role == role && Within(unitPath, r.Scope()) {
			return true
		}
	}
	return false
}

// Has reports whether the actor holds role anywhere.
func (a Actor) Has(role string) bool {
	for _, r := range a.Roles {
		if r.Role == role {
			return true
		}
	}
	return false
}

// ReadsAll reports whether the actor may read every unit's records (supervision, admin).
func (a Actor) ReadsAll() bool { return a.Has("supervision") || a.Has("admin") }

// Sees reports whether any of the actor's roles covers unitPath.
func (a Actor) Sees(unitPath string) bool {
	if a.ReadsAll() {
		return true
	}
	for _, r := range a.Roles {
		if Within(unitPath, r.Scope()) {
			return true
		}
	}
	return false
}

// Scopes returns the distinct path prefixes the actor reaches, widest first; nil when ReadsAll.
func (a Actor) Scopes() []string {
	if a.ReadsAll() {
		return nil
	}
	var out []string
	for _, r := range a.Roles {
		s := r.Scope()
		covered := false
		for i, o := range out {
			if strings.HasPrefix(s, o) {
				covered = true
				break
			}
			if strings.HasPrefix(o, s) {
				out[i] = s
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, s)
		}
	}
	return out
}
