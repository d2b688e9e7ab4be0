package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPairingAndDutyMap: school staff pair the responsible teacher with a poverty-registered
// student; the teacher records the term's help plan; a bad record is refused naming its field and
// writes nothing; the pairing's handbook shows the plan done and the rest owed; the progress map
// lists the school under its township with the pairing's duties counted.
func TestPairingAndDutyMap(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, teacher, leader := anon.as("staff01"), anon.as("teacher01"), anon.as("leader01")
	var me struct {
		ID string `json:"user_id"`
	}
	teacher.do("GET", "/api/v1/me", nil, &me)
	if me.ID == "" {
		t.Fatal("no id for teacher01")
	}
	stu := staff.studentOf("张小三")
	staff.expectError("POST", "/api/v1/pairings", map[string]string{"teacher_id": me.ID, "student_id": staff.studentOf("王二小").ID}, 400, "student_id")
	var p struct{ ID string }
	if code := staff.do("POST", "/api/v1/pairings", map[string]string{"teacher_id": me.ID, "student_id": stu.ID}, &p); code != 201 || p.ID == "" {
		t.Fatalf("pair: %d %+v", code, p)
	}
	staff.expectError("POST", "/api/v1/pairings", map[string]string{"teacher_id": me.ID, "student_id": stu.ID}, 409, "")

	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	future := time.Now().Add(72 * time.Hour).Format("2006-01-02")
	teacher.expectError("POST", "/api/v1/pairings/"+p.ID+"/records", map[string]string{"kind": "party", "done_on": today, "content": "x"}, 400, "kind")
	teacher.expectError("POST", "/api/v1/pairings/"+p.ID+"/records", map[string]string{"kind": "plan", "done_on": future, "content": "x"}, 400, "done_on")
	if code := teacher.do("POST", "/api/v1/pairings/"+p.ID+"/records", map[string]string{"kind": "plan", "done_on": today,
		"content": "制定帮扶计划：每周辅导数学两次", "evidence_note": "帮扶手册第 1 页"}, nil); code != 201 && code != 200 {
		t.Fatalf("record the plan: %d", code)
	}
	teacher.expectError("POST", "/api/v1/pairings/"+p.ID+"/records", map[string]string{"kind": "plan", "done_on": today, "content": "again"}, 400, "")

	var got map[string]any
	if code := teacher.do("GET", "/api/v1/pairings/"+p.ID, nil, &got); code != 200 {
		t.Fatalf("get pairing: %d", code)
	}
	growth, _ := got["growth_record"].([]any)
	if len(growth) != 1 || !strings.Contains(toJSON(t, got["handbook"]), "plan") {
		t.Errorf("pairing = %s", toJSON(t, got))
	}

	var m map[string]any
	if code := leader.do("GET", "/api/v1/reports/duty-map?unit=JS-T01", nil, &m); code != 200 {
		t.Fatalf("duty map: %d", code)
	}
	if s := toJSON(t, m); !strings.Contains(s, "JS-T01-S01") {
		t.Errorf("duty map does not list the school: %s", s)
	}
	anon.as("leader01").expectError("GET", "/api/v1/reports/duty-map?unit=NOPE", nil, 400, "unit")
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
