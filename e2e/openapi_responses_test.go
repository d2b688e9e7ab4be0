package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"jiaofu/api"
	"jiaofu/casework"
)

// TestOpenAPIResponses: where the served document describes a route's 200 answer, the service's
// real answer fits it (kin-openapi's schema check), as the route's callers get it after an
// application has opened a review task, so that a generated client decodes what it receives.
func TestOpenAPIResponses(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff := anon.as("staff01")
	stu := staff.studentOf("张小三")
	if code, raw := staff.raw("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": stu.ID, "programme": "living-primary", "term": term}); code != 201 {
		t.Fatalf("apply: %d %s", code, raw)
	}
	// A few more records, so that more lists are checked with entries in them.
	dropoutStu := staff.studentOf("王二小")
	if code, raw := staff.raw("POST", "/api/v1/dropout-cases", map[string]string{"student_id": dropoutStu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}); code != 201 {
		t.Fatalf("dropout case: %d %s", code, raw)
	}
	donation(t, anon.as("funds01"), "建始县某企业", 500000, "BANK-REF-19", false)
	if code, raw := anon.as("admin").raw("PUT", "/api/v1/admin/open-terms", map[string]any{"items": []string{"2027-2028-2"}}); code != 200 {
		t.Fatalf("open terms: %d %s", code, raw)
	}
	if code, raw := anon.as("inspector01").raw("POST", "/api/v1/inspection-rounds", map[string]any{"term": term, "kind": "routine",
		"units": []string{"JS-T01-S01"}, "planned_on": "2026-10-10"}); code != 201 {
		t.Fatalf("inspection round: %d %s", code, raw)
	}
	code, raw := anon.raw("GET", "/api/v1/openapi.json", nil)
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI 3: %v", err)
	}
	clients := map[string]*client{}
	checked := 0
	for _, r := range svc.API.Routes() {
		if r.Method != http.MethodGet || r.Resp == nil || strings.Contains(r.Path, ":") {
			continue
		}
		rule, err := api.ParseRule(r.Auth)
		if err != nil {
			t.Fatal(err)
		}
		// The school's head sees the review task; the admin and the supervision office see
		// what only they may.
		var c *client
		for _, role := range append([]string{casework.RoleSchoolLeader}, casework.Roles...) {
			if rule.Public || rule.Admits(role) {
				if clients[role] == nil {
					clients[role] = anon.as(matrixUser[role])
				}
				c = clients[role]
				break
			}
		}
		code, answer := sendRaw(t, c, http.MethodGet, r.Path, nil)
		if code != 200 {
			t.Errorf("GET %s: %d %s", r.Path, code, short(answer))
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(answer), &v); err != nil {
			t.Fatalf("GET %s: %v", r.Path, err)
		}
		schema := doc.Paths.Value(svc.API.DocumentPath(r.Path)).Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
		if err := schema.VisitJSON(v); err != nil {
			t.Errorf("GET %s: the answer does not fit the document: %v\n%s", r.Path, err, short(answer))
		}
		if items, ok := v.(map[string]any)["items"].([]any); ok && len(items) == 0 {
			t.Logf("GET %s: an empty list checks only its shape", r.Path)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d routes' answers checked", checked)
	}
}
