package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestDropoutSendHomeStartsPlan: a dropout case recorded as send_home starts the student's
// send-home plan (GET /api/v1/send-home-plans shows it), led by the case's responsible teacher,
// with the outcome's plan fields and the county defaults. Bad plan fields are refused with 400
// naming the field and leave the case open. A student who already has a running plan keeps it:
// the case closes all the same and says so.
func TestDropoutSendHomeStartsPlan(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, teacher := anon.as("staff01"), anon.as("teacher01")
	var me struct {
		UserID string `json:"user_id"`
	}
	teacher.do("GET", "/api/v1/me", nil, &me)
	stu := staff.studentOf("王二小")

	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "重度残疾，无法到校", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	teacher.waitTask("dropout_first_contact", dc.ID) // the case is open (its updates answer)
	out := "/api/v1/dropout-cases/" + dc.ID + "/outcome"
	staff.expectError("POST", out, map[string]any{"outcome": "send_home", "teacher_ids": []string{"u-nobody"}}, 400, "teacher_ids[0]")
	staff.expectError("POST", out, map[string]any{"outcome": "send_home", "period": "fortnightly"}, 400, "period")
	staff.expectError("POST", out, map[string]any{"outcome": "send_home", "visits_per_period": 0}, 400, "visits_per_period")
	var ledger struct {
		Items []sendHomeView
	}
	staff.do("GET", "/api/v1/send-home-plans", nil, &ledger)
	if len(ledger.Items) != 0 {
		t.Fatalf("refused outcomes started plans: %+v", ledger.Items)
	}
	staff.ok("POST", out, map[string]any{"outcome": "send_home", "note": "经评估转送教上门", "disability_type": "肢体残疾",
		"disability_grade": "一级", "goals": "生活自理"})
	var plan sendHomeView
	eventually(t, 30*time.Second, func() bool {
		staff.do("GET", "/api/v1/send-home-plans", nil, &ledger)
		for _, p := range ledger.Items {
			if p.ID != "" {
				plan = p
			}
		}
		return len(ledger.Items) == 1
	}, "a send-home plan for the student")
	var detail struct {
		Plan planRow `json:"plan"`
	}
	staff.do("GET", "/api/v1/send-home-plans/"+plan.ID, nil, &detail)
	row := detail.Plan
	if row.StudentID != stu.ID || row.DisabilityType != "肢体残疾" || !slices.Equal(row.TeacherIDs, []string{me.UserID}) ||
		row.State != casework.SendHomeAssessing || row.VisitsPer != cfg.Count("JIAOFU_SENDHOME_VISITS_PER_PERIOD") {
		t.Errorf("plan = %+v, want the student's, led by %s, assessing, county quota", row, me.UserID)
	}
	var c struct {
		Case     dropoutCase
		Timeline []store.AuditEntry
	}
	eventually(t, 10*time.Second, func() bool {
		staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &c)
		return c.Case.State == casework.DropoutClosed
	}, "the case closed")
	if c.Case.Outcome != casework.OutcomeSendHome {
		t.Errorf("case = %+v", c.Case)
	}
	// The responsible teacher sees the plan and may log its first visit (the assessment).
	// (The plan answers 409 opening until its first period has started.)
	eventually(t, 10*time.Second, func() bool {
		code, _ := teacher.raw("POST", "/api/v1/send-home-plans/"+plan.ID+"/visits", map[string]any{"visited_on": time.Now().In(calendar.CST).Format("2006-01-02"),
			"minutes": 150, "content": "入户评估", "teacher_ids": []string{me.UserID}})
		return code == 200
	}, "the responsible teacher's first visit")

	// A student with a running plan: a send_home outcome closes the case and starts nothing.
	stu2 := staff.studentOf("向金花")
	if code := staff.do("POST", "/api/v1/send-home-plans", map[string]any{"student_id": stu2.ID, "disability_type": "智力残疾",
		"teacher_ids": []string{me.UserID}}, nil); code != 201 && code != 202 {
		t.Fatalf("start a plan directly: %d", code)
	}
	var dc2 dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu2.ID, "reason": "重度残疾", "last_attended_on": "2026-11-01"}, &dc2); code != 201 {
		t.Fatalf("open second case: %d", code)
	}
	teacher.waitTask("dropout_first_contact", dc2.ID)
	staff.ok("POST", "/api/v1/dropout-cases/"+dc2.ID+"/outcome", map[string]any{"outcome": "send_home", "teacher_ids": []string{me.UserID}})
	eventually(t, 10*time.Second, func() bool {
		staff.do("GET", "/api/v1/dropout-cases/"+dc2.ID, nil, &c)
		return c.Case.State == casework.DropoutClosed
	}, "the second case closed")
	staff.do("GET", "/api/v1/send-home-plans", nil, &ledger)
	n := 0
	for _, p := range ledger.Items {
		var d struct {
			Plan planRow `json:"plan"`
		}
		staff.do("GET", "/api/v1/send-home-plans/"+p.ID, nil, &d)
		if d.Plan.StudentID == stu2.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s has %d plans, want 1: the one already running", stu2.Name, n)
	}
	var said bool
	for _, h := range c.Timeline {
		said = said || (h.Action == "dropout.send_home" && strings.Contains(h.After, "already_running"))
	}
	if !said {
		t.Errorf("the second case's closing should say the plan was already running: %+v", c.Timeline)
	}
}

// planRow is a send-home plan's row as GET /api/v1/send-home-plans/{id} shows it.
type planRow struct {
	StudentID      string   `json:"student_id"`
	DisabilityType string   `json:"disability_type"`
	TeacherIDs     []string `json:"teacher_ids"`
	State          string   `json:"state"`
	VisitsPer      int      `json:"visits_per_period"`
}
