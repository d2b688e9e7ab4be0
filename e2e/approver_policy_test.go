package e2e

// The approver policies of issue 18, through HTTP on the real service: a task nobody can act on
// at its unit (no holder of the role there, or only the applicant) goes to the superior unit's
// holders and the admins are alerted; it is never a task nobody sees.

import (
	"strings"
	"testing"
	"time"

	"jiaofu/demo"
)

// createUser makes a user with one role at one unit, through the admin API.
func createUser(t *testing.T, anon *client, username, name, role, unit string, more ...map[string]string) *client {
	t.Helper()
	roles := append([]map[string]string{{"role": role, "unit_code": unit}}, more...)
	if code := anon.as("admin").do("POST", "/api/v1/admin/users", map[string]any{"username": username, "password": demo.DemoPassword,
		"display_name": name, "roles": roles}, nil); code != 201 && code != 200 {
		t.Fatalf("create %s: %d", username, code)
	}
	return anon.as(username)
}

type ccItem struct {
	CaseID string `json:"case_id"`
	Title  string
	Reason string
	ReadAt *string `json:"read_at"`
}

// ccs is the caller's copies (抄送我的) with status (unread, read, all), and the unread count.
func (c *client) ccs(status string) ([]ccItem, int) {
	c.t.Helper()
	var out struct {
		Items  []ccItem
		Unread int
	}
	if code := c.do("GET", "/api/v1/cc?status="+status, nil, &out); code != 200 {
		c.t.Fatalf("cc list: %d", code)
	}
	return out.Items, out.Unread
}

// TestEmptyApproverGoesToTheSuperior: 业州镇民族中学 (JS-T01-S02) has no school leader. Before
// issue 18 its subsidy review waited for a school leader at the school, and was in nobody's
// inbox (this test failed there: township01 did not see it). Now it goes to the superior unit's
// holders (the township central school's staff, township01), who decide it, and the admin has an
// unread copy of the case saying why. A school whose only leader is the applicant likewise: the
// applicant never reviews their own application.
func TestEmptyApproverGoesToTheSuperior(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	township, admin, head := anon.as("township01"), anon.as("admin"), anon.as("head01")

	staff2 := createUser(t, anon, "staff02", "民族中学资助专干", "school_staff", "JS-T01-S02")
	app := apply(t, staff2, staff2.studentOf("田永强").ID, "living-junior", "")
	tk := township.waitTask("subsidy_review", app.ID)
	if _, ok := head.inboxItem(tk.ID); ok {
		t.Errorf("another school's leader sees the review")
	}
	var row struct {
		UnitCode      string `json:"unit_code"`
		CandidateRole string `json:"candidate_role"`
	}
	township.do("GET", "/api/v1/tasks/"+tk.ID, nil, &row)
	if row.UnitCode != "JS-T01" || row.CandidateRole != "township_staff" {
		t.Errorf("the review went to %s at %s, want township_staff at JS-T01", row.CandidateRole, row.UnitCode)
	}
	items, unread := admin.ccs("unread")
	alerted := false
	for _, it := range items {
		alerted = alerted || (it.CaseID == app.ID && it.Reason == "unstaffed")
	}
	if !alerted || unread < 1 {
		t.Errorf("the admin was not alerted: %+v (unread %d)", items, unread)
	}
	township.ok("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve", "comment": "中心学校代为审核"})
	staff2.waitStatus(app.ID, "reviewed")

	// The school's only leader applies: they may not review their own application.
	lead := createUser(t, anon, "head02", "民族中学校长", "school_leader", "JS-T01-S02", map[string]string{"role": "school_staff", "unit_code": "JS-T01-S02"})
	app2 := apply(t, lead, lead.studentOf("谭欧阳小雨").ID, "living-junior", "")
	tk2 := township.waitTask("subsidy_review", app2.ID)
	if _, ok := lead.inboxItem(tk2.ID); ok {
		t.Errorf("the applicant has their own review in their inbox")
	}
	lead.expectCode("POST", "/api/v1/tasks/"+tk2.ID+"/complete", map[string]string{"outcome": "approve"}, 404, "not_found", "")
	township.ok("POST", "/api/v1/tasks/"+tk2.ID+"/complete", map[string]string{"outcome": "approve"})
	lead.waitStatus(app2.ID, "reviewed")
}

// TestAutoCopies: the registry's automatic copies, made by the kit as their events are recorded:
// a teacher's term summary of a pairing reaches the school's leaders (a home visit does not), and
// the supervision office's accountability decision reaches the bureau leader, each once, unread,
// with what it is about.
func TestAutoCopies(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", mustSpec(t, "1s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, staff, teacher, head, jcs, leader := anon.as("admin"), anon.as("staff01"), anon.as("teacher01"), anon.as("head01"), anon.as("jcs01"), anon.as("leader01")

	var p struct{ ID string }
	if code := staff.do("POST", "/api/v1/pairings", map[string]string{"teacher_id": teacher.userID(), "student_id": staff.studentOf("张小三").ID}, &p); code != 201 {
		t.Fatalf("pair: %d", code)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	record := func(kind, content string) {
		t.Helper()
		if code, raw := teacher.raw("POST", "/api/v1/pairings/"+p.ID+"/records", map[string]string{"kind": kind, "done_on": today, "content": content}); code != 201 {
			t.Fatalf("record %s: %d %s", kind, code, raw)
		}
	}
	record("home_visit", "家访")
	if items, _ := head.ccs("all"); len(items) != 0 {
		t.Errorf("a home visit was copied: %+v", items)
	}
	record("summary", "本学期帮扶总结")
	for _, c := range []*client{head, anon.as("head01b")} {
		items, unread := c.ccs("unread")
		if unread != 1 || len(items) != 1 || items[0].CaseID != p.ID || items[0].Reason != "auto" || !strings.Contains(items[0].Title, "学期总结") {
			t.Errorf("the school leader's copy of the summary: %+v (unread %d)", items, unread)
		}
	}
	if items, _ := teacher.ccs("all"); len(items) != 0 {
		t.Errorf("the teacher was copied their own summary: %+v", items)
	}

	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{
		{"after": "1s", "target": "supervision"}}}, nil); code != 200 {
		t.Fatalf("store the review's ladder: %d", code)
	}
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
	var desk struct{ Items []accountabilityRecord }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?state=open&case_id="+app.ID, nil, &desk)
		return len(desk.Items) == 1
	}, "the late review's accountability record")
	jcs.ok("POST", "/api/v1/accountability-records/"+desk.Items[0].ID+"/decision", map[string]any{"measures": []string{"reminder_talk"},
		"note": "审核逾期，提醒谈话"})
	items, unread := leader.ccs("unread")
	if unread != 1 || len(items) != 1 || items[0].CaseID != app.ID || items[0].Reason != "auto" || !strings.Contains(items[0].Title, "问责决定") {
		t.Errorf("the bureau leader's copy of the decision: %+v (unread %d)", items, unread)
	}
	if code := leader.do("GET", "/api/v1/cases/"+app.ID+"/timeline", nil, nil); code != 200 {
		t.Errorf("the bureau leader reads the case: %d", code)
	}
}
