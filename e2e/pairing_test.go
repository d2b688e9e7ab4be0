package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"jiaofu/store"
)

// TestPairingAndDutyMap: school staff pair the responsible teacher with a poverty-registered
// student; the teacher records the term's help plan; a bad record is refused naming its field and
// writes nothing; the pairing's handbook shows the plan done and the rest owed; the progress map
// lists the school under its township with the pairing's duties counted.
func TestPairingAndDutyMap(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	documentedAnswers(t, svc)
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

// TestPairingMissedDutiesReachTheSchoolLeader: with a pairing month of a few seconds, nobody
// records the month's duties; the schedule's sweep checks the school at the month's end and the
// pairing's ladder (stored short by the admin) reminds the pairing's teacher, then the school's
// leader, then the township's central school, without anyone forwarding anything.
func TestPairingMissedDutiesReachTheSchoolLeader(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_PAIRING_MONTH", mustSpec(t, "4s"))
	cfg.SetDuration("JIAOFU_PAIRING_TERM", mustSpec(t, "400s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, staff, teacher, jcs := anon.as("admin"), anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/pairing_duty", map[string]any{"rungs": []map[string]string{
		{"after": "0s", "target": "teacher"}, {"after": "1s", "target": "school_leader"}, {"after": "2s", "target": "superior"}}}, nil); code != 200 {
		t.Fatalf("put the pairing ladder: %d", code)
	}
	var me struct {
		ID string `json:"user_id"`
	}
	teacher.do("GET", "/api/v1/me", nil, &me)
	var p struct{ ID string }
	if code := staff.do("POST", "/api/v1/pairings", map[string]string{"teacher_id": me.ID, "student_id": staff.studentOf("李梅").ID}, &p); code != 201 {
		t.Fatalf("pair: %d", code)
	}
	var head struct {
		ID string `json:"user_id"`
	}
	anon.as("head01").do("GET", "/api/v1/me", nil, &head)
	byTarget := map[string]store.Escalation{}
	eventually(t, 60*time.Second, func() bool {
		var esc struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?process=pairing&case_id="+p.ID, nil, &esc)
		byTarget = map[string]store.Escalation{}
		for _, e := range esc.Items {
			if _, seen := byTarget[e.Target]; !seen {
				byTarget[e.Target] = e
			}
		}
		return len(byTarget) >= 3
	}, "the pairing's reminder to its teacher, its escalation to the school leader and to the township's central school")
	if e := byTarget["teacher"]; e.UnitCode != "JS-T01-S01" || e.ResponsibleID != me.ID {
		t.Errorf("the teacher's rung went to %s naming %q, want the school naming the teacher %s", e.UnitCode, e.ResponsibleID, me.ID)
	}
	if e := byTarget["school_leader"]; e.UnitCode != "JS-T01-S01" || head.ID == "" || e.ResponsibleID != head.ID {
		t.Errorf("the school leader's rung went to %s naming %q, want the school naming its leader %s", e.UnitCode, e.ResponsibleID, head.ID)
	}
	if e := byTarget["superior"]; e.UnitCode != "JS-T01" {
		t.Errorf("the third rung went to %s, want the township's central school", e.UnitCode)
	}
	// The school's leader has the school's rungs in the escalation inbox.
	var seen struct{ Items []store.Escalation }
	anon.as("head01").do("GET", "/api/v1/escalations?process=pairing&case_id="+p.ID, nil, &seen)
	if len(seen.Items) < 2 {
		t.Errorf("the school leader sees %d of the pairing's escalations, want the teacher's and the leader's", len(seen.Items))
	}
}
