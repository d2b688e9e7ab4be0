package e2e

import (
	"strings"
	"testing"
	"time"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

type sendHomeView struct {
	ID    string
	State string
	Plan  struct {
		ID            string
		State         string
		TeacherIDs    []string `json:"teacher_ids"`
		TermVisits    int      `json:"term_visits"`
		TermQuota     int      `json:"term_quota"`
		MissedPeriods int      `json:"missed_periods"`
		PeriodNo      int      `json:"period_no"`
	}
	Visits []store.SendHomeVisit
}

// TestSendHomeMissedPeriodReachesSupervision: a plan of 3-second periods is started and nobody
// visits; its first period's quota climbs the visit_quota ladder (stored short by the admin) —
// the plan's teacher, the school leader, the education section — to the supervision office by
// itself. Bad input is refused with 400 naming the field and writes
// nothing; the first visit is the assessment; the plan ends with a reason.
func TestSendHomeMissedPeriodReachesSupervision(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_SENDHOME_TERM", mustSpec(t, "1h"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	admin, staff, teacher, jcs, leader := anon.as("admin"), anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01"), anon.as("leader01")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+casework.DeadlineVisitQuota, map[string]any{"rungs": []map[string]string{
		{"after": "0s", "target": "teacher"}, {"after": "1s", "target": "school_leader"}, {"after": "2s", "target": "education_section"},
		{"after": "3s", "target": "supervision"}}}, nil); code != 200 {
		t.Fatalf("put the visit_quota ladder: %d", code)
	}
	var me struct {
		UserID string `json:"user_id"`
	}
	teacher.do("GET", "/api/v1/me", nil, &me)
	if me.UserID == "" {
		t.Fatal("no user id for teacher01")
	}
	stu := staff.studentOf("王二小")
	plan := map[string]any{"student_id": stu.ID, "disability_type": "智力残疾", "disability_grade": "二级", "teacher_ids": []string{me.UserID},
		"goals": "生活自理、认读 50 字", "visits_per_period": 2, "period": "3s", "min_minutes": 90}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range plan {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	// Bad input: 400 naming the field, and nothing written.
	staff.expectError("POST", "/api/v1/send-home-plans", with("student_id", "nope"), 400, "student_id")
	staff.expectError("POST", "/api/v1/send-home-plans", with("disability_type", nil), 400, "disability_type")
	staff.expectError("POST", "/api/v1/send-home-plans", with("teacher_ids", []string{}), 400, "teacher_ids")
	staff.expectError("POST", "/api/v1/send-home-plans", with("teacher_ids", []string{"u-nobody"}), 400, "teacher_ids[0]")
	staff.expectError("POST", "/api/v1/send-home-plans", with("period", "fortnightly"), 400, "period")
	staff.expectError("POST", "/api/v1/send-home-plans", with("visits_per_period", 0), 400, "visits_per_period")
	staff.expectError("POST", "/api/v1/send-home-plans", with("min_minutes", -5), 400, "min_minutes")
	var ledger struct {
		Items  []sendHomeView
		Counts map[string]int
	}
	staff.do("GET", "/api/v1/send-home-plans", nil, &ledger)
	if len(ledger.Items) != 0 {
		t.Fatalf("refused plans were written: %+v", ledger.Items)
	}

	var created sendHomeView
	if code := staff.do("POST", "/api/v1/send-home-plans", plan, &created); code != 201 {
		t.Fatalf("start plan: %d %+v", code, created)
	}
	if created.Plan.State != casework.SendHomeAssessing {
		t.Errorf("a new plan is %q, want assessing", created.Plan.State)
	}
	staff.expectError("POST", "/api/v1/send-home-plans", plan, 409, "student_id")
	id := created.ID

	// Nobody visits: the first period's ladder reaches the supervision office by itself.
	var esc struct{ Items []store.Escalation }
	eventually(t, 40*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=sendhome&target=supervision", nil, &esc)
		return len(esc.Items) >= 1
	}, "a supervision escalation of the missed period")
	e := esc.Items[0]
	if e.CaseID != id || e.UnitCode != "JS-JCS" || e.TaskKind != casework.DeadlineVisitQuota || !strings.Contains(e.Reason, "未达到") {
		t.Errorf("supervision escalation = %+v", e)
	}
	// Every rung of the period's ladder is on record: the plan's teacher, the school's leader, the
	// education section (特教资源中心), the supervision office.
	var head struct {
		UserID string `json:"user_id"`
	}
	anon.as("head01").do("GET", "/api/v1/me", nil, &head)
	targets := map[string]store.Escalation{}
	jcs.do("GET", "/api/v1/escalations?process=sendhome&case_id="+id, nil, &esc)
	for _, e := range esc.Items {
		if strings.Contains(e.ID, "-quota-1-r") {
			targets[e.Target] = e
		}
	}
	for _, want := range []struct{ target, unit, responsible string }{
		{"teacher", "JS-T01-S01", me.UserID}, {"school_leader", "JS-T01-S01", head.UserID}, {"education_section", "JS-JYG", ""},
		{"supervision", "JS-JCS", ""}} {
		e, ok := targets[want.target]
		if !ok {
			t.Errorf("no %s escalation of the missed period: %v", want.target, esc.Items)
			continue
		}
		if e.UnitCode != want.unit || (want.responsible != "" && e.ResponsibleID != want.responsible) {
			t.Errorf("%s escalation went to %s naming %q, want %s naming %q", want.target, e.UnitCode, e.ResponsibleID, want.unit, want.responsible)
		}
	}
	// The missed visits are on the supervision office's accountability desk, forwarded by nobody:
	// the plan's school, who answers for it, how long it has waited; the reminders are not.
	var desk struct{ Items []accountabilityRecord }
	jcs.do("GET", "/api/v1/accountability-records?process=sendhome&case_id="+id, nil, &desk)
	if len(desk.Items) == 0 {
		t.Fatalf("no accountability record of the missed visits")
	}
	for _, r := range desk.Items {
		if r.State != "open" || r.UnitCode != "JS-T01-S01" || r.Title == "" || r.Term == "" {
			t.Errorf("accountability record of the missed visits = %+v", r)
		}
		if esc, _ := jcs.escalation(r.EscalationID); esc.Target != casework.TargetSupervision {
			t.Errorf("record %s is of an escalation to %s", r.ID, esc.Target)
		}
	}

	// Visits: refusals at the edge name the field and write nothing.
	today := time.Now().In(calendar.CST).Format("2006-01-02")
	tomorrow := time.Now().In(calendar.CST).Add(48 * time.Hour).Format("2006-01-02")
	visit := map[string]any{"visited_on": today, "minutes": 120, "content": "生活技能训练", "evidence_note": "照片", "teacher_ids": []string{me.UserID}}
	vwith := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range visit {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	path := "/api/v1/send-home-plans/" + id
	teacher.expectError("POST", path+"/visits", vwith("visited_on", tomorrow), 400, "visited_on")
	teacher.expectError("POST", path+"/visits", vwith("minutes", 30), 400, "minutes")
	teacher.expectError("POST", path+"/visits", vwith("teacher_ids", []string{"u-nobody"}), 400, "teacher_ids[0]")
	teacher.expectError("POST", path+"/visits", vwith("visited_on", "01/09/2026"), 400, "visited_on")
	var got struct {
		VisitID    string `json:"visit_id"`
		Assessment bool
		State      string
	}
	if code := teacher.do("POST", path+"/visits", visit, &got); code != 200 || !got.Assessment || got.State != casework.SendHomeActive {
		t.Fatalf("first visit: %d %+v", code, got)
	}
	teacher.expectError("POST", path+"/visits", visit, 400, "visited_on") // the same visit again
	var detail sendHomeView
	staff.do("GET", path, nil, &detail)
	if len(detail.Visits) != 1 || detail.Plan.State != casework.SendHomeActive || detail.Plan.TermVisits != 1 {
		t.Errorf("plan after one visit: %+v", detail)
	}
	leader.do("GET", "/api/v1/send-home-plans?unit=JS-T01", nil, &ledger)
	if len(ledger.Items) != 1 || ledger.Items[0].Plan.ID != "" && ledger.Items[0].Plan.ID != id {
		t.Errorf("ledger = %+v", ledger)
	}

	// Ending: a reason is required; then the plan is ended and takes no more visits.
	staff.expectError("POST", path+"/end", map[string]string{"reason": "bored"}, 400, "reason")
	staff.expectError("POST", path+"/end", map[string]string{"reason": "other"}, 400, "note")
	if code := staff.do("POST", path+"/end", map[string]string{"reason": "enrolled", "note": "随班就读"}, nil); code != 200 {
		t.Fatalf("end plan: %d", code)
	}
	eventually(t, 10*time.Second, func() bool {
		staff.do("GET", path, nil, &detail)
		return detail.Plan.State == casework.SendHomeEnded
	}, "the plan ended")
	teacher.expectError("POST", path+"/visits", vwith("minutes", 100), 409, "")
}
