package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"jiaofu/api"
	"jiaofu/casework"
)

// TestOpenAPIRequiredFields: an empty object posted to each route with a body, by a caller the
// route admits, is refused — when the handler gets as far as the body — for a field the served
// document calls required, so that a client generated from the document sends what the handler
// needs.
func TestOpenAPIRequiredFields(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct{ Required []string }
				}
			}
		}
	}
	if code := anon.do("GET", "/api/v1/openapi.json", nil, &doc); code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	createUser(t, anon, "section01", "教育股工作人员", casework.RoleSectionStaff, "JS-JYG")
	clients := map[string]*client{}
	checked := 0
	for _, r := range svc.API.Routes() {
		if r.Body == nil || r.Method == http.MethodGet {
			continue
		}
		rule, err := api.ParseRule(r.Auth)
		if err != nil {
			t.Fatal(err)
		}
		var c *client
		for _, role := range casework.Roles {
			if rule.Public || rule.Admits(role) {
				if clients[role] == nil {
					clients[role] = anon.as(matrixUser[role])
				}
				c = clients[role]
				break
			}
		}
		code, answer := sendRaw(t, c, r.Method, probePath(r.Path), []byte(`{}`))
		var e apiError
		_ = json.Unmarshal([]byte(answer), &e)
		if code != 400 || !strings.HasPrefix(e.Error.Params["reason"], "required") || strings.ContainsAny(e.Error.Field, ".[") {
			continue // refused for something else first (a probe id not found, a value's form), or accepted
		}
		checked++
		required := doc.Paths[svc.API.DocumentPath(r.Path)][strings.ToLower(r.Method)].RequestBody.Content["application/json"].Schema.Required
		if !slices.Contains(required, e.Error.Field) {
			t.Errorf("%s %s: {} is refused for missing %s, which the document does not call required (it lists %v)", r.Method, r.Path, e.Error.Field, required)
		}
	}
	t.Logf("%d routes refused {} for a missing field", checked)
	if checked < 10 {
		t.Fatalf("only %d routes refused {} for a missing field: the probe no longer reaches the body checks", checked)
	}
}
