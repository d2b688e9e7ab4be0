package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestAccountabilityDecisionAtTheEdge: a decision's body is refused before anything is read or
// written when it has no note, an unknown or repeated measure, or no_action beside others; each
// refusal names its field.
func TestAccountabilityDecisionAtTheEdge(t *testing.T) {
	app := NewApp(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	var got decisionRequest
	app.Post("/d", func(c *fiber.Ctx) error {
		got = decisionRequest{}
		if err := parseBody(c, &got); err != nil {
			return err
		}
		if _, err := checkDecision(got); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
	for _, c := range []struct {
		body, field, reason string
	}{
		{`{"measures": ["admonishment"]}`, "note", "required_for_decision"},
		{`{"measures": ["admonishment"], "note": "   "}`, "note", "required_for_decision"},
		{`{"measures": ["no_action"]}`, "note", "required_for_decision"},
		{`{"measures": [], "note": "x"}`, "measures", "min_entries"},
		{`{"note": "x"}`, "measures", "min_entries"},
		{`{"measures": ["admonishment", "flogging"], "note": "x"}`, "measures[1]", "one_of"},
		{`{"measures": ["referred"], "note": "x"}`, "measures[0]", "one_of"},
		{`{"measures": ["interview", "interview"], "note": "x"}`, "measures[1]", "duplicate_measure"},
		{`{"measures": ["admonishment", "no_action"], "note": "x"}`, "measures[1]", "no_action_alone"},
		{`{"measures": "admonishment", "note": "x"}`, "measures", "json_type"},
		{`{"measures": ["admonishment"], "note": "x", "decision": "y"}`, "decision", "unknown_field"},
		{`{"measures": ["admonishment"], "note": "x", "persons": [{"name": "张三", "post": "校长", "age": 3}]}`, "age", "unknown_field"},
	} {
		resp, err := app.Test(httptest.NewRequest("POST", "/d", strings.NewReader(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error Error }
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 400 || e.Error.Field != c.field || e.Error.Params["reason"] != c.reason {
			t.Errorf("%s: %d field %q reason %q, want 400 %s %s", c.body, resp.StatusCode, e.Error.Field, e.Error.Params["reason"], c.field, c.reason)
		}
	}
	resp, _ := app.Test(httptest.NewRequest("POST", "/d", strings.NewReader(
		`{"measures": ["public_criticism", "admonishment", "organisational_handling"], "note": "劝返不力",
		  "persons": ["u-1", {"user_id": "u-2"}, {"name": "张三", "post": "副校长"}]}`)))
	if resp.StatusCode != 204 || len(got.Persons) != 3 || got.Persons[0].UserID != "u-1" || got.Persons[1].UserID != "u-2" ||
		got.Persons[2].Name != "张三" || got.Persons[2].Post != "副校长" {
		t.Errorf("a good decision: %d %+v", resp.StatusCode, got)
	}
	resp, _ = app.Test(httptest.NewRequest("POST", "/d", strings.NewReader(`{"measures": ["no_action"], "note": "已及时整改，情节轻微"}`)))
	if resp.StatusCode != 204 {
		t.Errorf("no_action with its reason: %d", resp.StatusCode)
	}
}
