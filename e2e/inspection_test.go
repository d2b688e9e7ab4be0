package e2e

import (
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

type finding struct {
	ID        string
	RoundID   string `json:"round_id"`
	UnitCode  string `json:"unit_code"`
	State     string
	Attempts  int
	RectifyBy time.Time `json:"rectify_by"`
}

type roundView struct {
	Round    struct{ ID string }
	Findings []finding
}

func planRound(t *testing.T, c *client, units ...string) string {
	t.Helper()
	var r struct{ ID string }
	if code := c.do("POST", "/api/v1/inspection-rounds", map[string]any{"term": "2026-2027-1", "kind": "routine", "units": units,
		"planned_on": "2026-10-10"}, &r); code != 201 || r.ID == "" {
		t.Fatalf("plan a round: %d %+v", code, r)
	}
	return r.ID
}

// TestInspectionBadInput: unknown area or severity, a deadline in the past, a unit outside the
// inspector's scope: 400 naming the field, and nothing written.
func TestInspectionBadInput(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	inspector, township, head := anon.as("inspector01"), anon.as("township01"), anon.as("head01")

	round := map[string]any{"term": "2026-2027-1", "kind": "routine", "units": []string{"JS-T01-S01"}, "planned_on": "2026-10-10"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range round {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	inspector.expectError("POST", "/api/v1/inspection-rounds", with("kind", "weekly"), 400, "kind")
	inspector.expectError("POST", "/api/v1/inspection-rounds", with("term", "2026"), 400, "term")
	inspector.expectError("POST", "/api/v1/inspection-rounds", with("units", []string{}), 400, "units")
	inspector.expectError("POST", "/api/v1/inspection-rounds", with("units", []string{"JS-T01-S01", "JS-NOPE"}), 400, "units[1]")
	inspector.expectError("POST", "/api/v1/inspection-rounds", with("planned_on", "10/10/2026"), 400, "planned_on")
	township.expectReason("POST", "/api/v1/inspection-rounds", with("units", []string{"JS-T01-S01", "JS-T02-S01"}), 400, "units[1]", "out_of_scope")
	head.expectError("POST", "/api/v1/inspection-rounds", round, 403, "")
	var rounds struct{ Items []any }
	inspector.do("GET", "/api/v1/inspection-rounds", nil, &rounds)
	if len(rounds.Items) != 0 {
		t.Fatalf("refused rounds were written: %+v", rounds.Items)
	}

	// The township's own round: a finding at another township's school is outside its scope.
	tr := planRound(t, township, "JS-T01-S01")
	ir := planRound(t, inspector, "JS-T01-S01", "JS-T02-S01")
	ok := map[string]any{"unit_code": "JS-T01-S01", "area": "student_aid", "description": "资助档案不全", "severity": "major"}
	f := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	inspector.expectReason("POST", "/api/v1/inspection-rounds/"+ir+"/findings", f("area", "sports"), 400, "area", "one_of")
	inspector.expectReason("POST", "/api/v1/inspection-rounds/"+ir+"/findings", f("severity", "huge"), 400, "severity", "one_of")
	inspector.expectReason("POST", "/api/v1/inspection-rounds/"+ir+"/findings", f("rectify_by", "2020-01-01"), 400, "rectify_by", "past")
	inspector.expectError("POST", "/api/v1/inspection-rounds/"+ir+"/findings", f("rectify_by", "soon"), 400, "rectify_by")
	inspector.expectError("POST", "/api/v1/inspection-rounds/"+ir+"/findings", f("description", ""), 400, "description")
	inspector.expectReason("POST", "/api/v1/inspection-rounds/"+ir+"/findings", f("unit_code", "JS-T05-S01"), 400, "unit_code", "not_in_round")
	township.expectReason("POST", "/api/v1/inspection-rounds/"+tr+"/findings", f("unit_code", "JS-T02-S01"), 400, "unit_code", "out_of_scope")
	for _, id := range []string{tr, ir} {
		var rv roundView
		if code := inspector.do("GET", "/api/v1/inspection-rounds/"+id, nil, &rv); code != 200 || len(rv.Findings) != 0 {
			t.Errorf("round %s after refusals: %d, %d findings written", id, code, len(rv.Findings))
		}
	}
	var all struct{ Items []finding }
	inspector.do("GET", "/api/v1/findings", nil, &all)
	if len(all.Items) != 0 {
		t.Errorf("refused findings were written: %+v", all.Items)
	}
}

// TestFindingIgnoredReachesSupervision: a finding nobody rectifies climbs its deadline's ladder
// (an admin stored a short one) to the supervision office's escalation inbox without anyone
// forwarding it; the school leader then rectifies, is rejected once with a reason, redoes it,
// and the inspector closes it out (销号).
func TestFindingIgnoredReachesSupervision(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_RECTIFICATION_DUE", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_RECTIFICATION_REDO_DUE", mustSpec(t, "1h"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	admin, inspector, head, jcs := anon.as("admin"), anon.as("inspector01"), anon.as("head01"), anon.as("jcs01")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+casework.DeadlineRectificationDue, map[string]any{"rungs": []map[string]string{
		{"after": "1s", "target": "remind"}, {"after": "2s", "target": "superior"}, {"after": "3s", "target": "supervision"}}}, nil); code != 200 {
		t.Fatalf("put the rectification deadline's ladder: %d", code)
	}
	rid := planRound(t, inspector, "JS-T01-S01")
	var fd finding
	if code := inspector.do("POST", "/api/v1/inspection-rounds/"+rid+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "dropout",
		"description": "控辍保学台账未按月更新", "severity": "serious"}, &fd); code != 201 || fd.State != casework.FindingRectifying {
		t.Fatalf("record a finding: %d %+v", code, fd)
	}
	rect := head.waitTask(casework.KindRectification, fd.ID)

	byTarget := map[string]store.Escalation{}
	eventually(t, 30*time.Second, func() bool {
		var esc struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?process=inspection&case_id="+fd.ID, nil, &esc)
		for _, e := range esc.Items {
			byTarget[e.Target] = e
		}
		return len(byTarget) == 3
	}, "the reminder, the superior's and the supervision office's escalations")
	sup := byTarget[casework.TargetSupervision]
	if sup.UnitCode != "JS-JCS" || sup.TaskKind != casework.DeadlineRectificationDue || sup.ID != fd.ID+"-rectify-by-r3" || sup.State != "open" {
		t.Errorf("supervision escalation = %+v", sup)
	}
	if byTarget[casework.TargetSuperior].UnitCode != "JS-T01" {
		t.Errorf("superior escalation went to %s, want the township's central school JS-T01", byTarget[casework.TargetSuperior].UnitCode)
	}
	// The supervision office's escalation opened an accountability record on its desk by itself,
	// titled by what was found, with nobody forwarding anything.
	var desk struct{ Items []accountabilityRecord }
	eventually(t, 10*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?state=open&process=inspection&case_id="+fd.ID, nil, &desk)
		return len(desk.Items) == 1
	}, "the finding's accountability record")
	if r := desk.Items[0]; r.EscalationID != sup.ID || !strings.Contains(r.Title, "控辍保学台账未按月更新") || r.UnitCode != "JS-T01-S01" {
		t.Errorf("accountability record = %+v", r)
	}

	// Late, the school rectifies; the review rejects without a reason (400), then with one.
	head.expectError("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已更新台账"}, 400, "evidence_note")
	if code := head.do("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已更新台账", "evidence_note": "台账照片 3 张"}, nil); code != 200 {
		t.Fatalf("submit the rectification: %d", code)
	}
	head.expectCode("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "再次", "evidence_note": "x"}, 409, "wrong_state", "")
	review := inspector.waitTask(casework.KindRectificationReview, fd.ID)
	inspector.expectError("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "reject"}, 400, "comment")
	if code := inspector.do("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "reject", "comment": "照片看不清"}, nil); code != 200 {
		t.Fatalf("reject: %d", code)
	}
	var redo task
	eventually(t, 20*time.Second, func() bool {
		redo = head.waitTask(casework.KindRectification, fd.ID)
		return redo.ID != rect.ID
	}, "a new rectification task")
	if code := head.do("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已重新更新台账", "evidence_note": "清晰照片"}, nil); code != 200 {
		t.Fatalf("redo: %d", code)
	}
	var review2 task
	eventually(t, 20*time.Second, func() bool {
		review2 = inspector.waitTask(casework.KindRectificationReview, fd.ID)
		return review2.ID != review.ID
	}, "a second review")
	if code := inspector.do("POST", "/api/v1/tasks/"+review2.ID+"/complete", map[string]string{"outcome": "accept"}, nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
	acceptSecond(t, anon, fd.ID) // a serious finding: two reviewers accept (会签)
	var got struct{ Finding finding }
	eventually(t, 20*time.Second, func() bool {
		head.do("GET", "/api/v1/findings/"+fd.ID, nil, &got)
		return got.Finding.State == casework.FindingClosed
	}, "the finding closed out (销号)")
	if got.Finding.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", got.Finding.Attempts)
	}
	if e, _ := jcs.escalation(sup.ID); e.State != casework.EscalationOpen {
		t.Errorf("the supervision office's escalation is %s; it decides on it itself", e.State)
	}
	if e, _ := jcs.escalation(byTarget[casework.TargetRemind].ID); e.State != casework.EscalationClosed {
		t.Errorf("the reminder is %s after the submission, want closed", e.State)
	}
}

// TestFindingCopiedIsReadOnly: the school leader copies a finding to a leader of another township
// (抄送), who may then read that finding, and no other one.
func TestFindingCopiedIsReadOnly(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	inspector, head := anon.as("inspector01"), anon.as("head01")
	out := outsider(t, anon)
	rid := planRound(t, inspector, "JS-T01-S01")
	var fd, other finding
	for _, f := range []*finding{&fd, &other} {
		if code := inspector.do("POST", "/api/v1/inspection-rounds/"+rid+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "ict",
			"description": "多媒体教室设备长期未用", "severity": "minor"}, f); code != 201 {
			t.Fatalf("record a finding: %d", code)
		}
	}
	out.expectCode("GET", "/api/v1/findings/"+fd.ID, nil, 404, "not_found", "")
	tk := head.waitTask(casework.KindRectification, fd.ID)
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/cc", map[string]any{"user_ids": []string{out.userID()}}, nil); code != 200 {
		t.Fatalf("cc: %d", code)
	}
	if code := out.do("GET", "/api/v1/findings/"+fd.ID, nil, nil); code != 200 {
		t.Errorf("the copied finding: %d", code)
	}
	out.expectCode("GET", "/api/v1/findings/"+other.ID, nil, 404, "not_found", "")
	out.expectCode("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "x", "evidence_note": "y"}, 404, "not_found", "")
}
