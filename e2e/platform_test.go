package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/demo"
	"jiaofu/store"
	"jiaofu/workflows"
)

// TestEscalationReachesSupervision: nobody reviews; the ladder climbs by itself to the township
// and then the supervision office, which sees it without anyone forwarding it.
func TestEscalationReachesSupervision(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", mustSpec(t, "1s"))
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	admin, staff, head, township, jcs := anon.as("admin"), anon.as("staff01"), anon.as("head01"), anon.as("township01"), anon.as("jcs01")

	admin.expectError("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{{"after": "soon", "target": "remind"}}}, 400, "rungs[0].after")
	admin.expectError("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{{"after": "1s", "target": "mayor"}}}, 400, "rungs[0].target")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{
		{"after": "1s", "target": "remind"}, {"after": "2s", "target": "superior"}, {"after": "3s", "target": "supervision"}}}, nil); code != 200 {
		t.Fatalf("set ladder: %d", code)
	}
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")

	var esc struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?state=open&target=supervision", nil, &esc)
		return len(esc.Items) == 1
	}, "a supervision escalation")
	e := esc.Items[0]
	if e.Process != "subsidy" || e.CaseID != app.ID || e.UnitCode != "JS-JCS" || e.SourceUnit != "JS-T01-S01" || e.Rung != 3 ||
		e.ResponsibleName != "教育股干部" {
		t.Errorf("supervision escalation = %+v", e)
	}
	var tw struct{ Items []store.Escalation }
	township.do("GET", "/api/v1/escalations?target=superior", nil, &tw)
	if len(tw.Items) != 1 || tw.Items[0].UnitCode != "JS-T01" {
		t.Errorf("township sees %+v, want the superior rung addressed to JS-T01", tw.Items)
	}
	var sup struct{ Items []store.Escalation }
	township.do("GET", "/api/v1/escalations?target=supervision", nil, &sup)
	if len(sup.Items) != 0 {
		t.Errorf("township sees the supervision office's escalation: %+v", sup.Items)
	}
	// A school staffer holds no role that reads escalations.
	staff.expectError("GET", "/api/v1/escalations", nil, 403, "")

	// Late is still done: the task completes, the reminders close, supervision's stays open.
	tk := head.waitTask("subsidy_review", app.ID)
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("late approval: %d", code)
	}
	eventually(t, 10*time.Second, func() bool {
		township.do("GET", "/api/v1/escalations?state=open&target=superior", nil, &tw)
		return len(tw.Items) == 0
	}, "superior escalation to close once the task is done")
	jcs.do("GET", "/api/v1/escalations?state=open&target=supervision", nil, &esc)
	if len(esc.Items) != 1 {
		t.Fatalf("supervision escalation closed by itself: %+v", esc.Items)
	}
	jcs.expectError("POST", "/api/v1/escalations/"+e.ID+"/close", map[string]string{"decision": "fire_them"}, 400, "decision")
	if code := jcs.do("POST", "/api/v1/escalations/"+e.ID+"/close", map[string]string{"decision": "reminder_talk", "note": "提醒谈话"}, nil); code != 200 {
		t.Fatalf("close escalation: %d", code)
	}
	jcs.expectError("POST", "/api/v1/escalations/"+e.ID+"/close", map[string]string{"decision": "reminder_talk", "note": "再次约谈"}, 409, "")
	var timeline struct{ Items []store.AuditEntry }
	jcs.do("GET", "/api/v1/cases/"+app.ID+"/timeline", nil, &timeline)
	var rungs []string
	for _, h := range timeline.Items {
		if strings.HasPrefix(h.Action, "escalation.") {
			rungs = append(rungs, h.Action)
		}
	}
	if !slices.Equal(rungs, []string{"escalation.remind", "escalation.superior", "escalation.supervision", "escalation.closed"}) {
		t.Errorf("rungs on record: %v", rungs)
	}
}

// TestTaskOperations: claim, transfer, urge, return and resubmit through the API.
func TestTaskOperations(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, head2, other := anon.as("staff01"), anon.as("head01"), anon.as("head01b"), anon.as("township01")
	app := apply(t, staff, staff.studentOf("向金花").ID, "nutrition", "")
	tk := head.waitTask("subsidy_review", app.ID)

	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/claim", nil, nil); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	// Each refusal answers with its code (README.md, "Error codes") and the code's status.
	head.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/claim", nil, 409, "duplicate", "")
	head2.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/claim", nil, 403, "not_candidate", "")
	head2.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "not_candidate", "")
	head.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "uphold"}, 400, "outcome_not_allowed", "outcome")
	if e := staff.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/withdraw", nil, 409, "wrong_state", ""); e.Error.Params["reason"] != "claimed" {
		t.Errorf("withdrawal of a claimed task: params %v, want reason claimed", e.Error.Params)
	}
	var inbox struct{ Items []task }
	head2.do("GET", "/api/v1/tasks", nil, &inbox)
	if len(inbox.Items) != 0 {
		t.Errorf("a claimed task still shows in a colleague's inbox: %+v", inbox.Items)
	}
	head.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "teacher01"}, 400, "invalid", "to_user")
	head.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "staff01"}, 403, "separation_of_duties", "to_user")
	head.expectReason("POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "nobody"}, 400, "to_user", "no_user")
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "head01b", "comment": "出差，转副校长"}, nil); code != 200 {
		t.Fatalf("transfer: %d", code)
	}
	head2.do("GET", "/api/v1/tasks", nil, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].ID != tk.ID {
		t.Fatalf("transferred task not in the colleague's inbox: %+v", inbox.Items)
	}
	if code := staff.do("POST", "/api/v1/tasks/"+tk.ID+"/urge", map[string]string{"comment": "请尽快审核"}, nil); code != 200 {
		t.Fatalf("urge: %d", code)
	}
	// The township central school above the school may urge it too (催办 from the superior).
	if code := other.do("POST", "/api/v1/tasks/"+tk.ID+"/urge", nil, nil); code != 200 {
		t.Fatalf("township urge: %d", code)
	}
	var got struct {
		UrgeCount int `json:"urge_count"`
	}
	eventually(t, 5*time.Second, func() bool { head2.do("GET", "/api/v1/tasks/"+tk.ID, nil, &got); return got.UrgeCount == 2 }, "urge count")

	// Return for correction: the applicant gets a resubmit task; after it the review comes back.
	if code := head2.do("POST", "/api/v1/tasks/"+tk.ID+"/return", map[string]string{"comment": "请补充证明"}, nil); code != 200 {
		t.Fatalf("return: %d", code)
	}
	staff.waitStatus(app.ID, casework.AppReturned)
	fix := staff.waitTask("subsidy_resubmit", app.ID)
	head.expectCode("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]string{"outcome": "resubmit"}, 403, "not_candidate", "")
	if code := staff.do("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit", "fields": map[string]string{"evidence_note": "已补充低保证明"}}, nil); code != 200 {
		t.Fatalf("resubmit: %d", code)
	}
	again := head.waitTask("subsidy_review", app.ID)
	if again.ID == tk.ID {
		t.Fatal("the review after resubmission must be a new task")
	}
	if code := head.do("POST", "/api/v1/tasks/"+again.ID+"/complete", map[string]string{"outcome": "reject", "comment": "不符合条件"}, nil); code != 200 {
		t.Fatalf("reject: %d", code)
	}
	staff.waitStatus(app.ID, casework.AppRejected)

	// Withdrawal (撤回) by the applicant while the review has not been taken up.
	app2 := apply(t, staff, staff.studentOf("张小三").ID, "nutrition", "")
	tk2 := head.waitTask("subsidy_review", app2.ID)
	head.expectCode("POST", "/api/v1/tasks/"+tk2.ID+"/withdraw", nil, 403, "not_candidate", "")
	if code := staff.do("POST", "/api/v1/tasks/"+tk2.ID+"/withdraw", map[string]string{"comment": "家长放弃"}, nil); code != 200 {
		t.Fatalf("withdraw: %d", code)
	}
	staff.waitStatus(app2.ID, casework.AppRejected)
	head.expectCode("POST", "/api/v1/tasks/"+tk2.ID+"/complete", map[string]string{"outcome": "approve"}, 409, "task_not_open", "")
}

// TestRestartMidPublicity: the process stops during the publicity period and comes back; nothing
// is lost and the period still ends on time.
func TestRestartMidPublicity(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", mustSpec(t, "8s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head := anon.as("staff01"), anon.as("head01")
	app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
	tk := head.waitTask("subsidy_review", app.ID)
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	staff.waitStatus(app.ID, casework.AppReviewed)
	var batch struct {
		ID     string
		EndsAt time.Time `json:"ends_at"`
	}
	if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 {
		t.Fatalf("open batch: %d", code)
	}
	svc.Stop()
	time.Sleep(2 * time.Second)

	svc2 := startService(t, cfg)
	anon2 := newClient(t, svc2)
	if code := anon2.do("GET", "/public/publicity-batches/"+batch.ID, nil, nil); code != 200 {
		t.Fatalf("public list after restart: %d, want 200 until %s", code, batch.EndsAt)
	}
	aid := anon2.as("aid01")
	st := aid.waitTask("publicity_signoff", batch.ID)
	if now := time.Now(); now.Before(batch.EndsAt) || now.After(batch.EndsAt.Add(5*time.Second)) {
		t.Errorf("sign-off opened at %s; the period ended at %s", now.Format(time.RFC3339Nano), batch.EndsAt.Format(time.RFC3339Nano))
	}
	if code := aid.do("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("sign-off: %d", code)
	}
	anon2.as("staff01").waitStatus(app.ID, casework.AppDisbursed)
}

// TestNoWorkerAnswers503: an Update needs a live worker; when none answers the API says 503 and
// nothing changes.
func TestNoWorkerAnswers503(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.UpdateTimeout = time.Second
	svc := startService(t, cfg)
	ctx := context.Background()
	staff := newClient(t, svc).as("staff01")
	st := staff.studentOf("李梅")
	// A workflow on a queue no worker polls, with a task projected for it.
	run, err := svc.Temporal.ExecuteWorkflow(ctx, sdkclient.StartWorkflowOptions{ID: "orphan", TaskQueue: "nobody-polls-this",
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL}, workflows.SubsidyApplication, workflows.SubsidyInput{})
	if err != nil {
		t.Fatal(err)
	}
	unit, _ := svc.Store.UnitByCode(ctx, "JS-T01-S01")
	if err := svc.Store.UpsertTask(ctx, casework.Task{ID: "orphan-t1", WorkflowID: run.GetID(), Process: "subsidy", Kind: "subsidy_review",
		CaseID: "orphan", Title: "x", CandidateRole: casework.RoleSchoolLeader, UnitID: unit.ID, UnitPath: unit.Path, State: casework.TaskOpen,
		Outcomes: "approve", DueAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	head := newClient(t, svc).as("head01")
	head.expectReason("POST", "/api/v1/tasks/orphan-t1/complete", map[string]string{"outcome": "approve"}, 503, "", "worker")
	if tk, _ := svc.Store.TaskByID(ctx, "orphan-t1"); tk.State != casework.TaskOpen {
		t.Errorf("task changed to %s after a 503", tk.State)
	}
	_ = st
}

// TestOpenAPIMatchesRoutes keeps the served document true: every route the app serves is in
// it, and it documents nothing the app does not serve.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := newClient(t, svc).do("GET", "/api/v1/openapi.json", nil, &doc); code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %d %q", code, doc.OpenAPI)
	}
	served := map[string]bool{}
	for _, r := range svc.App.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions || r.Path == "/" || strings.HasSuffix(r.Path, "*") {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/") && !strings.HasPrefix(r.Path, "/public/") && r.Path != "/healthz" && r.Path != "/readyz" && r.Path != "/metrics" {
			continue // the console's pages are HTML, not API
		}
		key := strings.ToLower(r.Method) + " " + svc.API.DocumentPath(r.Path)
		served[key] = true
		if _, ok := doc.Paths[svc.API.DocumentPath(r.Path)][strings.ToLower(r.Method)]; !ok {
			t.Errorf("served but not documented: %s", key)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !served[m+" "+p] {
				t.Errorf("documented but not served: %s %s", m, p)
			}
		}
	}
	for _, must := range []string{"/api/v1/tasks/{id}/complete", "/api/v1/subsidy-applications", "/public/publicity-batches/{id}/objections", "/api/v1/escalations"} {
		if doc.Paths[must] == nil {
			t.Errorf("%s missing from the document", must)
		}
	}
}

// TestAccessAndErrors: every bad request gets the one error shape with the right status.
func TestAccessAndErrors(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	anon.expectError("GET", "/api/v1/tasks", nil, 401, "")
	anon.expectError("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "wrong"}, 401, "")
	anon.expectError("POST", "/api/v1/auth/login", map[string]string{"username": "admin"}, 400, "password")
	bogus := &client{t: t, base: anon.base, token: "not-a-token"}
	bogus.expectError("GET", "/api/v1/tasks", nil, 401, "")
	admin, staff := anon.as("admin"), anon.as("staff01")
	staff.expectError("POST", "/api/v1/admin/org-units", map[string]string{"code": "X", "name": "x", "kind": "school", "parent_code": "JS"}, 403, "")
	staff.expectError("GET", "/api/v1/tasks/nope", nil, 404, "")
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]string{"code": "bad code", "name": "x", "kind": "school", "parent_code": "JS"}, 400, "code")
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]string{"code": "X1", "name": "x", "kind": "castle", "parent_code": "JS"}, 400, "kind")
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]string{"code": "X1", "name": "x", "kind": "school", "parent_code": "NOPE"}, 400, "parent_code")
	admin.expectCode("POST", "/api/v1/admin/org-units", map[string]string{"code": "JS-T01", "name": "x", "kind": "school", "parent_code": "JS"}, 409, "duplicate", "code")
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]any{"code": "X1", "name": "x", "kind": "school", "parent_code": "JS", "colour": "red"}, 400, "colour")
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]any{"code": 7}, 400, "code")
	var unit store.Unit
	if code := admin.do("POST", "/api/v1/admin/org-units", map[string]string{"code": "JS-T02-S09", "name": "高坪镇九小", "kind": "school", "parent_code": "JS-T02"}, &unit); code != 201 || unit.ID == "" || unit.TownshipCode != "T02" {
		t.Fatalf("create unit: %d %+v", code, unit)
	}
	// Unit codes keep to one alphabet (README.md, "Org units"): codes that SQL's LIKE reads as
	// patterns, or that differ from another's only in case, are refused in the clerk's words.
	for _, code := range []string{"JS_HQ", "js-t01", "JS-T0%", "JS-T01/S1", strings.Repeat("A", 33)} {
		e := admin.expectError("POST", "/api/v1/admin/org-units", map[string]string{"code": code, "name": "x", "kind": "township_school", "parent_code": "JS"}, 400, "code")
		if !strings.Contains(e.Error.Message, "capital letters A–Z, digits and '-'") {
			t.Errorf("code %q refused as %q: the message should say what a code may hold", code, e.Error.Message)
		}
		e.wantReason(t, "unit_code_format", "example", "JS-T01-S03")
	}
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]string{"code": "JS-T11", "name": "x", "kind": "township_school", "parent_code": "JS", "township_code": "t_11"}, 400, "township_code")
	admin.expectError("POST", "/api/v1/admin/users", map[string]any{"username": "u1", "password": "longenough", "display_name": "x",
		"roles": []map[string]string{{"role": "wizard", "unit_code": "JS"}}}, 400, "roles[0].role").wantReason(t, "one_of")
	admin.expectError("POST", "/api/v1/admin/users", map[string]any{"username": "u1", "password": "longenough", "display_name": "x",
		"roles": []map[string]string{{"role": "teacher", "unit_code": "NOPE"}}}, 400, "roles[0].unit_code").wantReason(t, "no_unit")
	admin.expectError("POST", "/api/v1/admin/users", map[string]any{"username": "u1", "password": "short", "display_name": "x",
		"roles": []map[string]string{{"role": "teacher", "unit_code": "JS"}}}, 400, "password")
	student := map[string]any{"student_no": "G42282220150101001X", "name": "测试", "sex": "男", "birth_date": "2015-01-01",
		"id_card_no": "42282220150101001X", "unit_code": "JS-T02-S09", "grade": 3, "class": "1班", "poverty_registered": true}
	student["id_card_no"], student["student_no"] = "422822201501010010", "G422822201501010010"
	admin.expectReason("POST", "/api/v1/admin/students", student, 400, "id_card_no", "id_card_check")
	good := "422822201501010012"
	for _, c := range "0123456789X" {
		cand := good[:17] + string(c)
		if api.ValidIDCard(cand) == nil {
			good = cand
		}
	}
	student["id_card_no"], student["student_no"] = good, "G"+good
	student["birth_date"] = "2015-01-02"
	admin.expectReason("POST", "/api/v1/admin/students", student, 400, "id_card_no", "id_card_birth_mismatch")
	student["birth_date"] = "2015-01-01"
	student["student_no"] = "X123"
	admin.expectReason("POST", "/api/v1/admin/students", student, 400, "student_no", "student_no_format")
	student["student_no"] = "G" + good
	student["unit_code"] = "JS-NOPE"
	admin.expectReason("POST", "/api/v1/admin/students", student, 400, "unit_code", "no_unit")
	student["unit_code"] = "JS-T02-S09"
	var created store.Student
	if code := admin.do("POST", "/api/v1/admin/students", student, &created); code != 201 || created.ID == "" {
		t.Fatalf("create student: %d", code)
	}
	admin.expectCode("POST", "/api/v1/admin/students", student, 409, "duplicate", "id_card_no")
	// A responsibility (包保) names a unit, class or student on record, by a bounded id.
	responsibility := func(kind, id string) map[string]string {
		return map[string]string{"subject_kind": kind, "subject_id": id, "username": "head01"}
	}
	for _, r := range []map[string]string{responsibility("unit", "ou_nope"), responsibility("unit", unit.Code), responsibility("student", "st_nope"),
		responsibility("class", unit.ID+"/9班"), responsibility("class", "ou_nope/1班"), responsibility("unit", strings.Repeat("x", 900_000))} {
		admin.expectError("POST", "/api/v1/admin/responsibilities", r, 400, "subject_id")
	}
	for _, r := range []map[string]string{responsibility("unit", unit.ID), responsibility("student", created.ID), responsibility("class", unit.ID+"/1班")} {
		if code, body := admin.raw("POST", "/api/v1/admin/responsibilities", r); code != 201 {
			t.Errorf("responsibility for %s %s: %d %s", r["subject_kind"], r["subject_id"], code, body)
		}
	}
	staff.expectCode("POST", "/api/v1/admin/students", map[string]any{"student_no": "L1", "name": "x", "sex": "男", "birth_date": "2015-01-01",
		"unit_code": "JS-T02-S09", "grade": 3, "class": "1"}, 403, "not_in_scope", "")
	// An admin resets a password and deactivates a user; both end the user's sessions.
	teacher := anon.as("teacher01")
	var me struct {
		UserID string `json:"user_id"`
	}
	teacher.do("GET", "/api/v1/me", nil, &me)
	admin.expectError("PUT", "/api/v1/admin/users/"+me.UserID, map[string]any{"password": "short"}, 400, "password")
	if code := admin.do("PUT", "/api/v1/admin/users/"+me.UserID, map[string]any{"active": false}, nil); code != 200 {
		t.Fatalf("deactivate: %d", code)
	}
	teacher.expectError("GET", "/api/v1/tasks", nil, 401, "")
	anon.expectError("POST", "/api/v1/auth/login", map[string]string{"username": "teacher01", "password": "jiaofu-demo"}, 401, "")
	if code := admin.do("PUT", "/api/v1/admin/users/"+me.UserID, map[string]any{"active": true, "password": "new-password-1"}, nil); code != 200 {
		t.Fatalf("reactivate: %d", code)
	}
	var tok struct{ Token string }
	if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "teacher01", "password": "new-password-1"}, &tok); code != 200 {
		t.Errorf("login with the reset password: %d", code)
	}
	admin.expectError("PUT", "/api/v1/admin/users/u_nope", map[string]any{"active": true}, 404, "")

	// Password guessing: ten wrong passwords for one username lock its logins (even with the right
	// password) until the window ends or an admin resets the password; other users are not
	// affected, and a made-up username is answered the same way as a real one.
	var guess store.User
	if code := admin.do("POST", "/api/v1/admin/users", map[string]any{"username": "guess01", "password": "right-password", "display_name": "被猜密码",
		"roles": []map[string]string{{"role": "teacher", "unit_code": "JS-T02-S09"}}}, &guess); code != 201 {
		t.Fatalf("create guess01: %d", code)
	}
	for _, name := range []string{"guess01", "nobody-at-all"} {
		for range 10 {
			anon.expectError("POST", "/api/v1/auth/login", map[string]string{"username": name, "password": "wrong-guess"}, 401, "")
		}
		anon.expectError("POST", "/api/v1/auth/login", map[string]string{"username": name, "password": "right-password"}, 429, "username")
	}
	anon.as("edu01")
	if code := admin.do("PUT", "/api/v1/admin/users/"+guess.ID, map[string]any{"password": "reset-password"}, nil); code != 200 {
		t.Fatalf("reset guess01: %d", code)
	}
	if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "guess01", "password": "reset-password"}, &tok); code != 200 {
		t.Errorf("login after the reset: %d", code)
	}

	// Programmes are data an admin maintains; a new standard applies to new applications.
	var prog store.Programme
	if code := admin.do("PUT", "/api/v1/admin/subsidy-programmes/nutrition", map[string]any{"amount_fen": 450_00}, &prog); code != 200 || prog.AmountFen != 450_00 {
		t.Errorf("update programme: %d %+v", code, prog)
	}
	admin.expectError("PUT", "/api/v1/admin/subsidy-programmes/nutrition", map[string]any{"stage": "university"}, 400, "stage")
	admin.expectError("PUT", "/api/v1/admin/subsidy-programmes/nope", map[string]any{"amount_fen": 1}, 404, "")
	staff.expectError("PUT", "/api/v1/admin/subsidy-programmes/nutrition", map[string]any{"amount_fen": 1}, 403, "")
	app := apply(t, staff, staff.studentOf("李梅").ID, "nutrition", "")
	eventually(t, 10*time.Second, func() bool { return staff.application(app.ID).AmountFen == 450_00 }, "the new standard on a new application")
	admin.expectError("POST", "/api/v1/admin/subsidy-programmes", map[string]any{"code": "x1", "name": "n", "amount_fen": -5, "stage": "primary"}, 400, "amount_fen")

	// The ID-card number is masked for people outside the student's school.
	var seen store.Student
	anon.as("township01").do("GET", "/api/v1/admin/students/"+staff.studentOf("张小三").ID, nil, &seen)
	if strings.Contains(seen.IDCardNo[4:14], "2") || !strings.Contains(seen.IDCardNo, "*") {
		t.Errorf("township staff sees the whole ID-card number: %s", seen.IDCardNo)
	}
	// 5xx bodies never leak internals; unknown paths answer in the same shape.
	var e apiError
	if code := anon.do("GET", "/api/v1/no-such-route", nil, &e); code != 404 || e.Error.Code == "" {
		t.Errorf("unknown route: %d %+v", code, e)
	}
	var body json.RawMessage
	if code := anon.do("GET", "/healthz", nil, &body); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code := anon.do("GET", "/readyz", nil, &body); code != 200 {
		t.Errorf("readyz: %d %s", code, body)
	}
}

// TestObjectionsAreRateLimited: the public objection form is limited per client. The client is
// the connection's peer unless the peer is a trusted reverse proxy (JIAOFU_TRUSTED_PROXIES); only
// then does X-Forwarded-For name it.
func TestObjectionsAreRateLimited(t *testing.T) {
	const path = "/public/publicity-batches/nope/objections"
	body := `{"entry_id": "x", "reason": "r", "contact": "c"}`
	post := func(base, forwardedFor string) int {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, trusted := range []bool{false, true} {
		cfg := testConfig(t, t.TempDir())
		cfg.PublicRateLimit = 2
		if trusted {
			cfg.TrustedProxies = []string{"127.0.0.1"}
		}
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		// Two objections from one client pass the limit (and find no such batch), the third does not.
		for i := 0; i < 2; i++ {
			if code := post(anon.base, "203.0.113.7, 10.0.0.2"); code != 404 {
				t.Fatalf("trusted=%v objection %d: %d, want 404", trusted, i+1, code)
			}
		}
		if code := post(anon.base, "203.0.113.7"); code != 429 {
			t.Errorf("trusted=%v: third objection from the same client: %d, want 429", trusted, code)
		}
		// Another client behind the proxy: counted apart only when the proxy is trusted; from an
		// untrusted peer the header is ignored, so nobody escapes the limit by inventing it.
		want := 429
		if trusted {
			want = 404
		}
		if code := post(anon.base, "198.51.100.9"); code != want {
			t.Errorf("trusted=%v: another forwarded client: %d, want %d", trusted, code, want)
		}
		// Reading the lists is not limited.
		if code := anon.do("GET", "/public/publicity-batches", nil, nil); code != 200 {
			t.Errorf("public lists: %d", code)
		}
	}
}

// TestBulkApplications: the semester-start path answers one result per item, each checked as a
// single application would be.
func TestBulkApplications(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff := anon.as("staff01")
	zhang, wang := staff.studentOf("张小三"), staff.studentOf("王二小")
	staff.expectError("POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": []any{}}, 400, "items")
	var res struct {
		Items []struct {
			Index  int
			Status int
			ID     string
			Error  *struct{ Code, Message, Field string }
		}
		Counts map[string]int
	}
	items := []map[string]string{
		{"student_id": zhang.ID, "programme": "living-primary", "term": term},
		{"student_id": "st_nope", "programme": "living-primary", "term": term},
		{"student_id": wang.ID, "programme": "living-primary", "term": term},
		{"student_id": zhang.ID, "programme": "nutrition", "term": "2026"},
	}
	if code := staff.do("POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": items}, &res); code != 200 || len(res.Items) != 4 {
		t.Fatalf("bulk: %d %+v", code, res)
	}
	want := []struct {
		status int
		field  string
	}{{201, ""}, {400, "student_id"}, {400, "evidence_note"}, {400, "term"}}
	for i, w := range want {
		got := res.Items[i]
		if got.Index != i || got.Status != w.status || (w.field != "" && (got.Error == nil || got.Error.Field != w.field)) {
			t.Errorf("item %d = %+v, want %d %s", i, got, w.status, w.field)
		}
	}
	staff.waitStatus(res.Items[0].ID, casework.AppInReview)
	// Again: the application exists, so the item is a 409 and nothing changes.
	staff.do("POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": items[:1]}, &res)
	if res.Items[0].Status != 409 {
		t.Errorf("repeated item: %+v", res.Items[0])
	}
}

// TestPersonalFieldsByViewer: a student's ID-card number, 学籍号 and birth date are whole only
// for the student's own school and the aid center, on the student page and in the audit
// timeline alike; everyone else sees the last four characters and the birth year, so that
// neither read can be combined with the other to rebuild the number.
func TestPersonalFieldsByViewer(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	id := demo.IDCard("42282220140506123")
	var st store.Student
	if code := anon.as("staff01").do("POST", "/api/v1/admin/students", map[string]any{"student_no": "G" + id, "name": "向小云", "sex": "女",
		"birth_date": "2014-05-06", "id_card_no": id, "unit_code": "JS-T01-S01", "grade": 5, "class": "2班"}, &st); code != 201 {
		t.Fatalf("create student: %d", code)
	}
	read := func(c *client, path string) string {
		t.Helper()
		code, body := c.raw("GET", path, nil)
		if code != 200 {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
		return body
	}
	var created struct {
		StudentNo string `json:"student_no"`
	}
	for _, who := range []string{"staff01", "aid01"} {
		c := anon.as(who)
		page := read(c, "/api/v1/admin/students/"+st.ID)
		var seen store.Student
		if err := json.Unmarshal([]byte(page), &seen); err != nil || seen.IDCardNo != id || seen.StudentNo != "G"+id || seen.BirthDate != "2014-05-06" {
			t.Errorf("%s sees the student as %s", who, page)
		}
		var tl struct{ Items []store.AuditEntry }
		if err := json.Unmarshal([]byte(read(c, "/api/v1/cases/"+st.ID+"/timeline")), &tl); err != nil || len(tl.Items) != 1 ||
			json.Unmarshal([]byte(tl.Items[0].After), &created) != nil || created.StudentNo != "G"+id {
			t.Errorf("%s sees the timeline as %+v", who, tl.Items)
		}
	}
	for _, who := range []string{"jcs01", "township01", "leader01", "edu01"} {
		c := anon.as(who)
		for _, path := range []string{"/api/v1/admin/students/" + st.ID, "/api/v1/cases/" + st.ID + "/timeline"} {
			body := read(c, path)
			// The last four characters are all an outsider gets: no longer piece of the number
			// (six characters are rare enough elsewhere in a body not to match a timestamp or
			// hash by chance), and not the birth date, which is characters 7–14.
			pieces := []string{id[13:], "2014-05-06"}
			for i := 0; i+6 <= len(id); i++ {
				pieces = append(pieces, id[i:i+6])
			}
			for _, forbidden := range pieces {
				if strings.Contains(body, forbidden) {
					t.Errorf("%s: %s shows %q: %s", who, path, forbidden, body)
				}
			}
			if !strings.Contains(body, "*"+id[14:]) {
				t.Errorf("%s: %s does not show the last four characters masked: %s", who, path, body)
			}
		}
	}
	var items struct{ Items []store.Student }
	anon.as("township01").do("GET", "/api/v1/admin/students", nil, &items)
	for _, s := range items.Items {
		if len(s.BirthDate) > 4 || len(s.IDCardNo) > 4 && strings.Trim(s.IDCardNo[:len(s.IDCardNo)-4], "*") != "" {
			t.Errorf("township's student list shows %s born %s", s.IDCardNo, s.BirthDate)
		}
	}
}
