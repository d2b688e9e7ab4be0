package e2e

import (
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

type dropoutCase struct {
	ID        string
	State     string
	Outcome   string
	TeacherID string `json:"teacher_id"`
}

// TestDropoutEscalatesByItself: a case is opened and nobody acts; the township government, the
// county HQ and the supervision office receive escalations without anyone forwarding them.
func TestDropoutEscalatesByItself(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "2s"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	staff, teacher, jcs, township, leader := anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01"), anon.as("township01"), anon.as("leader01")
	stu := staff.studentOf("王二小")

	staff.expectError("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "last_attended_on": "2026-11-01"}, 400, "reason")
	staff.expectError("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "01/11/2026"}, 400, "last_attended_on")
	staff.expectError("POST", "/api/v1/dropout-cases", map[string]string{"student_id": "nope", "reason": "厌学", "last_attended_on": "2026-11-01"}, 400, "student_id")
	anon.as("aid01").expectError("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, 403, "")

	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学，外出务工", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	staff.expectError("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "again", "last_attended_on": "2026-11-01"}, 409, "")
	// The responsible teacher (包保 chain) has the first-contact task.
	fc := teacher.waitTask("dropout_first_contact", dc.ID)
	if fc.ID == "" {
		t.Fatal("no first-contact task for the responsible teacher")
	}

	var esc struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=dropout&target=supervision", nil, &esc)
		return len(esc.Items) >= 2
	}, "two supervision escalations (township rung and county rung)")
	for _, e := range esc.Items {
		if e.CaseID != dc.ID || e.UnitCode != "JS-JCS" || e.State != "open" {
			t.Errorf("supervision escalation = %+v", e)
		}
	}
	// Each rung records its escalations in its own writes: the county rung's county_hq entry may
	// land just after its supervision entry.
	targets := map[string]string{}
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=dropout", nil, &esc)
		targets = map[string]string{}
		for _, e := range esc.Items {
			targets[e.Target] = e.UnitCode
		}
		return targets["township_gov"] != "" && targets["county_hq"] != ""
	}, "township_gov and county_hq escalations")
	if targets["township_gov"] != "JS-T01-GOV" || targets["county_hq"] != "JS-HQ" {
		t.Errorf("escalation targets = %v, want township_gov→JS-T01-GOV and county_hq→JS-HQ", targets)
	}
	var ledger struct {
		Items  []dropoutCase
		Counts map[string]int
	}
	township.do("GET", "/api/v1/dropout-cases?unit=JS-T01", nil, &ledger)
	if len(ledger.Items) != 1 || ledger.Items[0].State != casework.DropoutCountyHQ || ledger.Counts[casework.DropoutCountyHQ] != 1 {
		t.Errorf("township ledger = %+v", ledger)
	}
	leader.do("GET", "/api/v1/dropout-cases", nil, &ledger)
	if len(ledger.Items) != 1 {
		t.Errorf("county ledger has %d cases", len(ledger.Items))
	}

	// The teacher finally visits; the student returns; consolidation begins.
	teacher.expectError("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]string{"method": "fax", "notes": "x"}, 400, "method")
	if code := teacher.do("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit", "notes": "家访，家长同意返校",
		"visitors": []string{"teacher01", "村干部"}}, nil); code != 200 {
		t.Fatalf("log attempt: %d", code)
	}
	staff.expectError("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "transferred"}, 400, "receiving_school")
	if code := staff.do("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"}, nil); code != 200 {
		t.Fatalf("record return: %d", code)
	}
	var full struct {
		Case     dropoutCase
		Attempts []store.DropoutAttempt
		Timeline []store.AuditEntry
	}
	eventually(t, 10*time.Second, func() bool {
		staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
		return full.Case.State == casework.DropoutConsolidating
	}, "consolidation")
	if len(full.Attempts) != 1 || !strings.Contains(full.Attempts[0].Notes, "家访") {
		t.Errorf("attempts = %+v", full.Attempts)
	}
	recordHistory(t, svc, "dropout-"+stu.ID, "dropout_escalated_returned")

	var notice bool
	for _, h := range full.Timeline {
		notice = notice || h.Action == "dropout.return_notice"
	}
	if !notice {
		t.Error("no return-by-deadline notice (限期返校通知书) on record")
	}
}

// TestDropoutWindowLadderAnAdminEdits: a dropout's return window is a case deadline with a
// stored ladder (kind dropout_return_window). The admin sees the ladder the process declares,
// replaces it, and a case opened afterwards escalates where the new ladder says: to the
// township's central school (superior on the 包保 chain) and the supervision office, not to the
// township government. Clearing the deadline (the student returns) closes the superior's
// escalation and leaves the supervision office's for it to decide.
func TestDropoutWindowLadderAnAdminEdits(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, staff, jcs := anon.as("admin"), anon.as("staff01"), anon.as("jcs01")

	var ladders struct{ Items []store.Rung }
	admin.do("GET", "/api/v1/admin/escalation-ladders", nil, &ladders)
	var declared []string
	for _, r := range ladders.Items {
		if r.TaskKind == casework.DeadlineDropoutReturnWindow {
			declared = append(declared, r.Target)
		}
	}
	if strings.Join(declared, ",") != "township_gov,supervision" {
		t.Errorf("the return window's ladder as listed: %v, want the declared township_gov,supervision", declared)
	}
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+casework.DeadlineDropoutReturnWindow, map[string]any{"rungs": []map[string]string{
		{"after": "1s", "target": "superior"}, {"after": "1s", "target": "supervision"}}}, nil); code != 200 {
		t.Fatalf("put the window's ladder: %d", code)
	}

	stu := staff.studentOf("王二小")
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	var esc struct{ Items []store.Escalation }
	targets := map[string]store.Escalation{}
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=dropout", nil, &esc)
		for _, e := range esc.Items {
			targets[e.Target] = e
		}
		return len(targets) >= 2
	}, "the window's two escalations")
	if sup, ok := targets["superior"]; !ok || sup.UnitCode != "JS-T01" || sup.ID != dc.ID+"-return-window-r1" || !strings.Contains(sup.Reason, "限期返校通知书") {
		t.Errorf("superior escalation = %+v (all: %v)", sup, targets)
	}
	if _, ok := targets["township_gov"]; ok {
		t.Errorf("the township government was seized though the ladder no longer names it: %v", targets)
	}
	if code := staff.do("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"}, nil); code != 200 {
		t.Fatalf("record return: %d", code)
	}
	eventually(t, 10*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=dropout", nil, &esc)
		states := map[string]string{}
		for _, e := range esc.Items {
			states[e.Target] = e.State
		}
		return states["superior"] == "closed" && states["supervision"] == "open"
	}, "the return closes the superior's escalation, not the supervision office's")
}
