package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

type accountabilityRecord struct {
	ID              string
	EscalationID    string `json:"escalation_id"`
	Process         string
	CaseID          string `json:"case_id"`
	Title           string
	UnitCode        string `json:"unit_code"`
	UnitName        string `json:"unit_name"`
	ResponsibleID   string `json:"responsible_id"`
	ResponsibleName string `json:"responsible_name"`
	Term            string
	State           string
	Measures        []string
	Persons         []store.Person
	Note            string
	WaitedSeconds   int64      `json:"waited_seconds"`
	HandlingDueAt   *time.Time `json:"handling_due_at"`
}

// TestAccountabilityFromADropoutCase: a dropout case passes its windows with nobody acting; its
// escalations to the supervision office appear on the accountability desk without anyone
// forwarding them (the township government's and county HQ's do not); the supervision office's
// decision is checked at the edge, recorded once, and shows in the case's timeline and in the
// term's report.
func TestAccountabilityFromADropoutCase(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "2s"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	staff, jcs, leader, admin := anon.as("staff01"), anon.as("jcs01"), anon.as("leader01"), anon.as("admin")
	stu := staff.studentOf("王二小")
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学，外出务工", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}

	var desk struct{ Items []accountabilityRecord }
	eventually(t, 60*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?state=open&process=dropout&case_id="+dc.ID, nil, &desk)
		return len(desk.Items) >= 2
	}, "the two supervision escalations' accountability records")
	var esc struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?case_id="+dc.ID, nil, &esc)
		n := 0
		for _, e := range esc.Items {
			if e.Target == casework.TargetTownshipGov || e.Target == casework.TargetCountyHQ {
				n++
			}
		}
		return n == 2
	}, "the township government's and county HQ's escalations")
	supervision := map[string]store.Escalation{}
	for _, e := range esc.Items {
		if e.Target == casework.TargetSupervision {
			supervision[e.ID] = e
		}
	}
	if len(desk.Items) != len(supervision) {
		t.Errorf("%d records for %d supervision escalations (of %d)", len(desk.Items), len(supervision), len(esc.Items))
	}
	for _, r := range desk.Items {
		e, ok := supervision[r.EscalationID]
		if !ok {
			t.Errorf("record %s is of escalation %s, not one addressed to the supervision office", r.ID, r.EscalationID)
			continue
		}
		if r.UnitCode != e.SourceUnit || r.UnitName != "业州镇第一小学" || r.ResponsibleID != e.ResponsibleID || r.Term == "" ||
			!strings.Contains(r.Title, "王二小") || strings.Contains(r.Title, dc.ID) || r.State != "open" {
			t.Errorf("record = %+v (escalation %+v)", r, e)
		}
	}
	r := desk.Items[0]

	// Opening it by hand finds the same record; an escalation to another unit is no accountability matter.
	var again accountabilityRecord
	if code := jcs.do("POST", "/api/v1/escalations/"+r.EscalationID+"/accountability", nil, &again); code != 200 || again.ID != r.ID {
		t.Errorf("open again: %d %s, want 200 %s", code, again.ID, r.ID)
	}
	for _, e := range esc.Items {
		if e.Target == casework.TargetTownshipGov {
			jcs.expectCode("POST", "/api/v1/escalations/"+e.ID+"/accountability", nil, 409, "wrong_state", "").wantReason(t, "not_supervision")
		}
	}

	path := "/api/v1/accountability-records/" + r.ID + "/decision"
	jcs.expectReason("POST", path, map[string]any{"measures": []string{"admonishment"}}, 400, "note", "required_for_decision")
	jcs.expectReason("POST", path, map[string]any{"measures": []string{"admonishment", "caning"}, "note": "x"}, 400, "measures[1]", "one_of")
	jcs.expectReason("POST", path, map[string]any{"measures": []string{"admonishment"}, "note": "x", "persons": []string{"nobody"}}, 400, "persons[0]", "no_user")
	leader.expectError("POST", path, map[string]any{"measures": []string{"admonishment"}, "note": "x"}, 403, "")
	admin.expectError("POST", path, map[string]any{"measures": []string{"admonishment"}, "note": "x"}, 403, "")
	var still accountabilityRecord
	if jcs.do("GET", "/api/v1/accountability-records/"+r.ID, nil, &still); still.State != "open" {
		t.Fatalf("a refused decision changed the record: %+v", still)
	}

	var decided accountabilityRecord
	if code := jcs.do("POST", path, map[string]any{"measures": []string{"inspection_circular", "admonishment", "organisational_handling"},
		"persons": []any{map[string]string{"name": "张三", "post": "副校长"}}, "note": "劝返不力，限期返校逾期未报"}, &decided); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	if decided.State != "decided" || len(decided.Measures) != 3 || len(decided.Persons) != 1 || decided.HandlingDueAt == nil {
		t.Errorf("decided = %+v", decided)
	}
	jcs.expectCode("POST", path, map[string]any{"measures": []string{"reminder_talk"}, "note": "again"}, 409, "wrong_state", "").wantReason(t, "decided")
	if e, _ := jcs.escalation(r.EscalationID); e.State != casework.EscalationClosed {
		t.Errorf("the decided record's escalation is %s", e.State)
	}

	var tl struct{ Items []store.AuditEntry }
	staff.do("GET", "/api/v1/cases/"+dc.ID+"/timeline", nil, &tl)
	actions := map[string]int{}
	for _, e := range tl.Items {
		actions[e.Action]++
		if e.Action == "accountability.decided" && !strings.Contains(e.After, "劝返不力") {
			t.Errorf("the decision's entry: %s", e.After)
		}
	}
	if actions["accountability.opened"] != len(desk.Items) || actions["accountability.decided"] != 1 {
		t.Errorf("timeline actions %v", actions)
	}

	var rep struct {
		Term     string
		Decided  int
		Open     int
		Rows     []store.AccountabilityCount
		Measures map[string]int
	}
	if code := leader.do("GET", "/api/v1/reports/accountability?term="+r.Term, nil, &rep); code != 200 {
		t.Fatalf("report: %d", code)
	}
	if rep.Decided != 1 || rep.Open != len(desk.Items)-1 || rep.Measures["admonishment"] != 1 || len(rep.Rows) != 3 || rep.Rows[0].UnitCode != r.UnitCode {
		t.Errorf("report = %+v", rep)
	}
	jcs.expectError("GET", "/api/v1/reports/accountability?term=2026", nil, 400, "term")
	jcs.expectError("GET", "/api/v1/accountability-records?state=closed", nil, 400, "state")
}

// TestObjectionUpheldAsFraudReachesTheDesk: the aid centre upholds a public objection and marks
// the entry as fraud (套取骗取); the supervision office gets it on its accountability desk by
// itself, with the escalation saying why.
func TestObjectionUpheldAsFraudReachesTheDesk(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, aid, jcs := anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("jcs01")
	_, batchID, pub := publicized(t, anon, staff, head)
	if code := anon.do("POST", "/public/publicity-batches/"+batchID+"/objections",
		map[string]string{"entry_id": pub.Entries[0].EntryID, "reason": "其父母在县城经营超市，家庭并不困难", "contact": "13900000000"}, nil); code != 201 {
		t.Fatalf("objection: %d", code)
	}
	review := aid.waitTask("objection_review", batchID)
	if code := aid.do("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]any{"outcome": "uphold", "comment": "经核实，隐瞒家庭收入",
		"fields": map[string]string{"fraud": "true"}}, nil); code != 200 {
		t.Fatalf("uphold as fraud: %d", code)
	}
	var desk struct{ Items []accountabilityRecord }
	eventually(t, 15*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?state=open&process=subsidy&case_id="+batchID, nil, &desk)
		return len(desk.Items) == 1
	}, "the fraud's accountability record")
	if r := desk.Items[0]; !strings.Contains(r.Title, "学生资助") || r.UnitCode != "JS-T01-S01" {
		t.Errorf("accountability record = %+v", r)
	}
	var esc struct{ Items []store.Escalation }
	jcs.do("GET", "/api/v1/escalations?process=subsidy&case_id="+batchID, nil, &esc)
	if len(esc.Items) != 1 || esc.Items[0].Target != "supervision" || !strings.Contains(esc.Items[0].Reason, "套取骗取") {
		t.Errorf("escalations of the batch = %+v", esc.Items)
	}
	// The batch is still in its period, with the fraud's step on record: its history replays in
	// workflows/ (publicity-fraud-to-supervision).
	settled(t, svc, batchID, "")
	recordHistory(t, svc, batchID, "publicity_objection_fraud")
	recordHistory(t, svc, batchID, "publicity_objection_fraud_local_writes") // as publicity-local-writes records it (issue 20)
}

// TestOrganisationalHandlingReachesTheBureauLeader: a decision with organisational handling (组织
// 处理) opens the supervision office's task to record it carried out, due at the end of the
// handling's month (JIAOFU_ORGANISATIONAL_HANDLING_DUE, here seconds); left undone, the month's
// deadline reminds the office and then reaches the bureau leader by itself. Recorded carried out
// (a note is required), the record says so, on the case's timeline, and the deadline's
// escalations close.
func TestOrganisationalHandlingReachesTheBureauLeader(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
	cfg.SetDuration(casework.SettingOrganisationalHandlingDue, mustSpec(t, "3s"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	staff, jcs, leader, admin := anon.as("staff01"), anon.as("jcs01"), anon.as("leader01"), anon.as("admin")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+casework.DeadlineOrganisationalHandling, map[string]any{
		"rungs": []map[string]string{{"after": "0s", "target": "remind"}, {"after": "2s", "target": "bureau_leader"}}}, nil); code != 200 {
		t.Fatalf("put the organisational_handling_due ladder: %d", code)
	}
	stu := staff.studentOf("王二小")
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	var desk struct{ Items []accountabilityRecord }
	eventually(t, 60*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?state=open&case_id="+dc.ID, nil, &desk)
		return len(desk.Items) >= 1
	}, "the return window's accountability record")
	r := desk.Items[0]
	var decided accountabilityRecord
	if code := jcs.do("POST", "/api/v1/accountability-records/"+r.ID+"/decision", map[string]any{"measures": []string{"organisational_handling"},
		"persons": []any{map[string]string{"name": "张三", "post": "副校长"}}, "note": "劝返不力"}, &decided); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	if decided.HandlingDueAt == nil || decided.HandlingDueAt.Sub(time.Now()) > 10*time.Second {
		t.Fatalf("handling due at %v, want JIAOFU_ORGANISATIONAL_HANDLING_DUE (3s) from the decision", decided.HandlingDueAt)
	}

	// Nobody records it: the office is reminded, then the bureau leader seized, without anyone forwarding.
	handling := jcs.waitTask(casework.KindOrganisationalHandling, dc.ID)
	var esc struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		leader.do("GET", "/api/v1/escalations?state=open&target=bureau_leader&case_id="+dc.ID, nil, &esc)
		return len(esc.Items) == 1
	}, "the bureau leader's escalation of the overdue handling")
	if e := esc.Items[0]; e.TaskKind != casework.DeadlineOrganisationalHandling || e.SourceUnit != "JS-JCS" || !strings.Contains(e.Reason, "组织处理逾期未落实") {
		t.Errorf("bureau leader's escalation = %+v", e)
	}
	// Its history with the bureau leader seized and the task open replays in workflows/.
	settled(t, svc, workflows.HandlingWorkflowID(r.ID), "")
	recordHistory(t, svc, workflows.HandlingWorkflowID(r.ID), "accountability_handling_open_escalated")
	var overdue struct{ Items []accountabilityRecord }
	if jcs.do("GET", "/api/v1/accountability-records?overdue=true&case_id="+dc.ID, nil, &overdue); len(overdue.Items) != 1 {
		t.Errorf("overdue handlings: %+v", overdue.Items)
	}

	path := "/api/v1/accountability-records/" + r.ID + "/handling-done"
	jcs.expectReason("POST", path, map[string]any{"note": " "}, 400, "note", "required")
	leader.expectError("POST", path, map[string]any{"note": "已免职"}, 403, "")
	var done accountabilityRecord
	var doneAt struct {
		HandlingDoneAt *time.Time `json:"handling_done_at"`
		HandlingNote   string     `json:"handling_note"`
	}
	if code := jcs.do("POST", path, map[string]any{"note": "已免去副校长职务"}, &done); code != 200 {
		t.Fatalf("handling done: %d", code)
	}
	jcs.do("GET", "/api/v1/accountability-records/"+r.ID, nil, &doneAt)
	if doneAt.HandlingDoneAt == nil || doneAt.HandlingNote != "已免去副校长职务" {
		t.Errorf("after handling done: %+v", doneAt)
	}
	jcs.expectCode("POST", path, map[string]any{"note": "again"}, 409, "wrong_state", "").wantReason(t, "no_handling")
	var tk struct{ State, Outcome string }
	jcs.do("GET", "/api/v1/tasks/"+handling.ID, nil, &tk)
	if tk.State != casework.TaskDone || tk.Outcome != casework.OutcomeCarriedOut {
		t.Errorf("the handling's task: %+v", tk)
	}
	eventually(t, 15*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?state=open&case_id="+dc.ID, nil, &esc)
		for _, e := range esc.Items {
			if e.TaskKind == casework.DeadlineOrganisationalHandling {
				return false
			}
		}
		return true
	}, "the handling's reminder and the bureau leader's escalation closed")
	var tl struct{ Items []store.AuditEntry }
	staff.do("GET", "/api/v1/cases/"+dc.ID+"/timeline", nil, &tl)
	actions := map[string]int{}
	for _, e := range tl.Items {
		actions[e.Action]++
	}
	if actions["accountability.handling_done"] != 1 || actions["escalation.bureau_leader"] != 1 {
		t.Errorf("timeline actions %v", actions)
	}
	eventually(t, 15*time.Second, func() bool {
		return statusOf(t, svc, workflows.HandlingWorkflowID(r.ID), "") == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, "the handling's case to end")
	recordHistory(t, svc, workflows.HandlingWorkflowID(r.ID), "accountability_handling_done_late")
}

// TestAwaitedHandlingStartsAtServiceStart: a decision with organisational handling whose case
// never started (recorded while Temporal was unreachable, or before handlings ran on the kit) gets
// it from StartAwaitedHandlings, which the service runs at every start; a second run starts
// nothing twice, and the handling is then recorded as any other.
func TestAwaitedHandlingStartsAtServiceStart(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	jcs := anon.as("jcs01")
	ctx := context.Background()
	jcsUnit, err := svc.Store.UnitByCode(ctx, "JS-JCS")
	if err != nil {
		t.Fatal(err)
	}
	e := store.Escalation{ID: "dropout-legacy-1-window-r3", Process: casework.ProcessDropout, CaseID: "dropout-legacy-1",
		TaskKind: casework.DeadlineDropoutReturnWindow, Rung: 3, Target: casework.TargetSupervision, UnitID: jcsUnit.ID, UnitPath: jcsUnit.Path,
		SourceUnit: "JS-T01-S01", Reason: "限期返校逾期", DueAt: time.Now().UTC().Add(-time.Hour)}
	if _, err := svc.Store.RecordEscalation(ctx, e, nil, store.AuditEntry{EventKey: "esc/" + e.ID, Action: "escalation.supervision",
		Process: e.Process, CaseID: e.CaseID}); err != nil {
		t.Fatal(err)
	}
	id := store.AccountabilityID(e.ID)
	if _, err := svc.Store.DecideAccountability(ctx, id, store.AccountabilityDecision{Measures: []string{casework.MeasureOrganisationalHandling},
		Note: "劝返不力", By: "system", HandlingDue: time.Now().UTC().Add(time.Hour)},
		store.AuditEntry{Action: "accountability.decided", Process: e.Process, CaseID: e.CaseID}); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.API.StartAwaitedHandlings(ctx); err != nil || n != 1 {
		t.Fatalf("awaited handlings: %d %v, want the one decided", n, err)
	}
	jcs.waitTask(casework.KindOrganisationalHandling, e.CaseID)
	if n, err := svc.API.StartAwaitedHandlings(ctx); err != nil || n != 1 {
		t.Fatalf("a second run: %d %v, want the same one checked and nothing started twice", n, err)
	}
	var done accountabilityRecord
	if code := jcs.do("POST", "/api/v1/accountability-records/"+id+"/handling-done", map[string]string{"note": "已调整岗位"}, &done); code != 200 {
		t.Fatalf("handling done: %d", code)
	}
	if n, err := svc.API.StartAwaitedHandlings(ctx); err != nil || n != 0 {
		t.Errorf("after the handling was recorded: %d %v awaited", n, err)
	}
}
