package e2e

import (
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// TestSupervisionDeskCloses: the supervision office decides on what is addressed to it, with a
// written reason; a reminder or a superior's escalation is not its to decide (it closes when the
// task is done).
func TestSupervisionDeskCloses(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", mustSpec(t, "1s"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	admin, staff, jcs := anon.as("admin"), anon.as("staff01"), anon.as("jcs01")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{
		{"after": "1s", "target": "remind"}, {"after": "2s", "target": "superior"}, {"after": "3s", "target": "supervision"}}}, nil); code != 200 {
		t.Fatalf("set ladder: %d", code)
	}
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")

	byTarget := map[string]store.Escalation{}
	eventually(t, 30*time.Second, func() bool {
		var esc struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?state=open&case_id="+app.ID, nil, &esc)
		for _, e := range esc.Items {
			byTarget[e.Target] = e
		}
		return len(byTarget) == 3
	}, "the reminder, the superior's and the supervision office's escalations")
	sup := byTarget[casework.TargetSupervision]
	if sup.SourceUnitName != "业州镇第一小学" || sup.ResponsibleName == "" {
		t.Errorf("supervision escalation: source unit %q (%q), responsible %q", sup.SourceUnitName, sup.SourceUnit, sup.ResponsibleName)
	}

	for _, target := range []string{casework.TargetRemind, casework.TargetSuperior} {
		e := jcs.expectCode("POST", "/api/v1/escalations/"+byTarget[target].ID+"/close",
			map[string]string{"decision": "reminder_talk", "note": "约谈"}, 409, "wrong_state", "")
		if e.Error.Params["reason"] != "not_supervision" {
			t.Errorf("closing the %s escalation: params %v, want reason not_supervision", target, e.Error.Params)
		}
	}
	jcs.expectError("POST", "/api/v1/escalations/"+sup.ID+"/close", map[string]string{"decision": "reminder_talk"}, 400, "note")
	jcs.expectError("POST", "/api/v1/escalations/"+sup.ID+"/close", map[string]string{"decision": "reminder_talk", "note": "  "}, 400, "note")
	var closed store.Escalation
	if code := jcs.do("POST", "/api/v1/escalations/"+sup.ID+"/close", map[string]string{"decision": "reminder_talk", "note": "约谈校长"}, &closed); code != 200 ||
		closed.State != casework.EscalationClosed || closed.Decision != "reminder_talk" {
		t.Fatalf("close with a reason: %d %+v", code, closed)
	}
	for _, target := range []string{casework.TargetRemind, casework.TargetSuperior} {
		if got, _ := jcs.escalation(byTarget[target].ID); got.State != casework.EscalationOpen {
			t.Errorf("the %s escalation is %s; it waits for its task", target, got.State)
		}
	}
}

// escalation finds one escalation in the caller's inbox.
func (c *client) escalation(id string) (store.Escalation, bool) {
	c.t.Helper()
	var esc struct{ Items []store.Escalation }
	c.do("GET", "/api/v1/escalations", nil, &esc)
	for _, e := range esc.Items {
		if e.ID == id {
			return e, true
		}
	}
	return store.Escalation{}, false
}

// TestDropoutNoticeAndStatus: nobody logs an attempt, so the 限期返校通知书 says the school has no
// persuasion on record; the first attempt after it is the first contact in its reply and in the
// case's status.
func TestDropoutNoticeAndStatus(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, teacher := anon.as("staff01"), anon.as("teacher01")
	stu := staff.studentOf("王二小")
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	var full struct {
		Case     dropoutCase
		Timeline []store.AuditEntry
		Status   struct {
			FirstContactDone bool `json:"first_contact_done"`
			Attempts         int
		}
	}
	notice := ""
	eventually(t, 30*time.Second, func() bool {
		staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
		for _, h := range full.Timeline {
			if h.Action == "dropout.return_notice" {
				notice = h.After
			}
		}
		return notice != ""
	}, "the return notice")
	if strings.Contains(notice, "经劝返") || !strings.Contains(notice, "尚无劝返记录") {
		t.Errorf("no attempt was logged; the notice says %s", notice)
	}

	var logged struct {
		FirstContact bool `json:"first_contact"`
	}
	if code := teacher.do("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]string{"method": "phone", "notes": "电话联系家长"}, &logged); code != 200 {
		t.Fatalf("log attempt: %d", code)
	}
	staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
	if !logged.FirstContact || !full.Status.FirstContactDone || full.Status.Attempts != 1 {
		t.Errorf("attempt answered first_contact %v; the case's status says first_contact_done %v, attempts %d",
			logged.FirstContact, full.Status.FirstContactDone, full.Status.Attempts)
	}
}
