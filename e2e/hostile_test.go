package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/store"
)

// send posts body exactly as given (it may be malformed JSON or hold invalid UTF-8) and decodes
// the error answer.
func (c *client) send(method, path string, body []byte) (int, apiError) {
	c.t.Helper()
	var e apiError
	code := c.do(method, path, body, &e)
	return code, e
}

// duringHandOver sends a request until it answers want, repeating only the short refusal a case
// gives while it hands over to its next run (409 "moving to a new page of its history").
func (c *client) duringHandOver(method, path string, body any, want int) {
	c.t.Helper()
	for i := 0; ; i++ {
		code, raw := c.raw(method, path, body)
		if code == want {
			return
		}
		if code != 409 || !strings.Contains(raw, "moving to a new page") || i > 50 {
			c.t.Fatalf("%s %s: %d %s", method, path, code, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostileInput sends what an adversarial probe sent (issue 13): control characters, invalid
// UTF-8, megabyte texts, bodies that are not objects, urges in a loop. Each is refused with a 400
// (or 429) naming the field, nothing is half-done, and the cases go on.
func TestHostileInput(t *testing.T) { hostileInput(t, testConfig(t, t.TempDir())) }

// TestHostileInputOnPostgres is the same on PostgreSQL, where a NUL byte cannot be stored at all.
func TestHostileInputOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	hostileInput(t, cfg)
}

func hostileInput(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, staff, head, teacher := anon.as("admin"), anon.as("staff01"), anon.as("head01"), anon.as("teacher01")
	stu := staff.studentOf("王二小")
	nul := "正常文字\u0000后面"
	bell := "响铃\u0007"

	// Control characters, in every kind of field, on public and logged-in routes.
	for _, c := range []struct {
		who          *client
		method, path string
		body         map[string]any
		field        string
	}{
		{anon, "POST", "/api/v1/auth/login", map[string]any{"username": "head01\u0000", "password": "x"}, "username"},
		{anon, "POST", "/public/publicity-batches/b-1/objections", map[string]any{"entry_id": "e", "reason": nul, "contact": "1"}, "reason"},
		{anon, "POST", "/public/publicity-batches/b-1/objections", map[string]any{"entry_id": "e", "reason": "ok", "contact": bell}, "contact"},
		{staff, "POST", "/api/v1/subsidy-applications", map[string]any{"student_id": stu.ID, "programme": "living-primary", "term": "2026-2027-1", "evidence_note": nul}, "evidence_note"},
		{staff, "POST", "/api/v1/subsidy-applications", map[string]any{"student_id": stu.ID + "\u0000", "programme": "p", "term": "2026-2027-1"}, "student_id"},
		{staff, "POST", "/api/v1/subsidy-applications", map[string]any{"student_id": stu.ID, "programme": "p\u0000", "term": "2026-2027-1"}, "programme"},
		{staff, "POST", "/api/v1/dropout-cases", map[string]any{"student_id": stu.ID, "reason": nul, "last_attended_on": "2026-11-01"}, "reason"},
		{admin, "POST", "/api/v1/admin/org-units", map[string]any{"code": "JS-T01-S09", "name": "学校\u0000", "kind": "school", "parent_code": "JS-T01"}, "name"},
		{admin, "POST", "/api/v1/admin/users", map[string]any{"username": "u1", "password": "password-1", "display_name": "张\u0000三",
			"roles": []map[string]string{{"role": "teacher", "unit_code": "JS-T01-S01"}}}, "display_name"},
		{admin, "POST", "/api/v1/admin/users", map[string]any{"username": "u1", "password": "password-1", "display_name": "张三",
			"roles": []map[string]string{{"role": "teacher", "unit_code": "JS-T01-S01\u0000"}}}, "roles[0].unit_code"},
		{staff, "POST", "/api/v1/admin/students", map[string]any{"student_no": "L123", "name": "李\u0000四", "sex": "M", "birth_date": "2015-01-01",
			"unit_code": "JS-T01-S01", "grade": 3, "class": "1"}, "name"},
		{staff, "POST", "/api/v1/admin/students", map[string]any{"student_no": "L123", "name": "李四", "sex": "M", "birth_date": "2015-01-01",
			"unit_code": "JS-T01-S01", "grade": 3, "class": "1\u001b"}, "class"},
	} {
		e := c.who.expectError(c.method, c.path, c.body, 400, c.field)
		if !strings.Contains(e.Error.Message, "control character") && !strings.Contains(e.Error.Message, "NUL byte") {
			t.Errorf("%s %s: message %q does not say what is wrong", c.method, c.path, e.Error.Message)
		}
	}
	// The clean retry of a refused dropout case opens it: the refusal left nothing behind.
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case after a refused one: %d", code)
	}
	teacher.waitTask("dropout_first_contact", dc.ID)
	attempts := "/api/v1/dropout-cases/" + dc.ID + "/attempts"
	teacher.expectError("POST", attempts, map[string]any{"method": "home_visit", "notes": nul}, 400, "notes")
	// Free text may hold line breaks and tabs; other fields may not.
	teacher.expectError("POST", attempts, map[string]any{"method": "home_visit\n", "notes": "ok"}, 400, "method")
	if code, body := teacher.raw("POST", attempts, map[string]any{"method": "home_visit", "notes": "第一段\r\n第二段\t完", "visitors": []string{"班主任"}}); code != 200 {
		t.Fatalf("attempt with line breaks: %d %s", code, body)
	}
	// Query and path parameters too.
	staff.expectError("GET", "/api/v1/tasks?kind=%00", nil, 400, "kind")

	// Invalid UTF-8 is refused, naming the field (encoding/json would have turned it into U+FFFD).
	code, e := staff.send("POST", "/api/v1/dropout-cases", []byte(`{"student_id":"x","reason":"bad `+"\xff\xfe"+`","last_attended_on":"2026-11-01"}`))
	if code != 400 || e.Error.Field != "reason" {
		t.Errorf("invalid UTF-8: %d %+v, want 400 naming reason", code, e)
	}

	// Bodies that are not objects name the body, in words without Go types.
	for _, body := range []string{`"s"`, `123`, `[]`, `{"username":"a"} {"username":"b"}`} {
		code, e := anon.send("POST", "/api/v1/auth/login", []byte(body))
		if code != 400 || e.Error.Field != "body" || strings.Contains(e.Error.Message, "api.") {
			t.Errorf("body %s: %d %+v, want 400 naming body in plain words", body, code, e)
		}
	}
	code, e = anon.send("POST", "/api/v1/auth/login", []byte(`{"username": 5, "password": "x"}`))
	if code != 400 || e.Error.Field != "username" || strings.Contains(e.Error.Message, "string") {
		t.Errorf("wrong type: %d %+v, want 400 naming username in plain words", code, e)
	}

	// Length and count limits, and a short quote of the input in the message.
	huge := strings.Repeat("长", 900_000/3)
	e = admin.expectError("POST", "/api/v1/admin/org-units", map[string]any{"code": "JS-T01-S09", "name": "学校", "kind": "school", "parent_code": "JS-T01", "township_code": huge}, 400, "township_code")
	if len(e.Error.Message) > 300 {
		t.Errorf("message echoes the input: %d bytes", len(e.Error.Message))
	}
	e = staff.expectError("POST", "/api/v1/subsidy-applications", map[string]any{"student_id": strings.Repeat("x", 99), "programme": "p", "term": "2026-2027-1"}, 400, "student_id")
	if len(e.Error.Message) > 200 {
		t.Errorf("message echoes the input: %q", e.Error.Message)
	}
	teacher.expectError("POST", attempts, map[string]any{"method": "phone", "notes": strings.Repeat("记", 2001)}, 400, "notes")
	visitors := make([]string, 21)
	for i := range visitors {
		visitors[i] = "人"
	}
	teacher.expectError("POST", attempts, map[string]any{"method": "phone", "visitors": visitors}, 400, "visitors")
	teacher.expectError("POST", attempts, map[string]any{"method": "phone", "visitors": []string{strings.Repeat("人", 51)}}, 400, "visitors[0]")
	// Names of nothing visible are not names.
	admin.expectError("POST", "/api/v1/admin/org-units", map[string]any{"code": "JS-T01-S09", "name": "\u200b\u200b\ufeff", "kind": "school", "parent_code": "JS-T01"}, 400, "name")
	// Ladders are kept only for kinds that exist.
	for _, kind := range []string{"%00", "..", "no_such_kind"} {
		admin.expectError("PUT", "/api/v1/admin/escalation-ladders/"+kind, map[string]any{"rungs": []map[string]string{{"after": "1wd", "target": "remind"}}}, 400, "kind")
	}

	// A review task: a megabyte comment is refused, urging is limited per person and task.
	var app struct{ ID string }
	if code := staff.do("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": staff.studentOf("张小三").ID,
		"programme": "living-primary", "term": "2026-2027-1"}, &app); code != 201 && code != 202 {
		t.Fatalf("apply: %d", code)
	}
	review := head.waitTask("subsidy_review", app.ID)
	urge := "/api/v1/tasks/" + review.ID + "/urge"
	e = staff.expectError("POST", urge, map[string]string{"comment": strings.Repeat("催", 1001)}, 400, "comment")
	if !strings.Contains(e.Error.Message, "at most 1000 characters") {
		t.Errorf("long comment: %q", e.Error.Message)
	}
	if code, body := staff.raw("POST", urge, map[string]string{"comment": "请尽快审核"}); code != 200 {
		t.Fatalf("first urge: %d %s", code, body)
	}
	e = staff.expectError("POST", urge, map[string]string{"comment": "再催"}, 429, "")
	if e.Error.Code != "rate_limited" {
		t.Errorf("second urge within the hour: %+v", e)
	}
	// Another person may still urge; the task is untouched and completes.
	if code, body := anon.as("township01").raw("POST", urge, map[string]string{"comment": "乡镇催办"}); code != 200 {
		t.Fatalf("another person's urge: %d %s", code, body)
	}
	if code, body := head.raw("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve", "comment": "同意\n材料齐全"}); code != 200 {
		t.Fatalf("complete after the refusals: %d %s", code, body)
	}
	head.waitStatus(app.ID, "reviewed")
}

// TestLongHistoryContinuesAsNew: claims and releases in a loop (each adds to the history, and
// none is rate-limited) drive an application's review past JIAOFU_HISTORY_EVENTS; the workflow
// continues as new with its task open, the task keeps its urges and assignee, and the
// application is reviewed at the end instead of being terminated by Temporal.
func TestLongHistoryContinuesAsNew(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HistoryEvents = 100
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, head2 := anon.as("staff01"), anon.as("head01"), anon.as("head01b")
	var app struct{ ID string }
	if code := staff.do("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": staff.studentOf("张小三").ID,
		"programme": "living-primary", "term": "2026-2027-1"}, &app); code != 201 && code != 202 {
		t.Fatalf("apply: %d", code)
	}
	review := head.waitTask("subsidy_review", app.ID)
	var tv struct {
		WorkflowID string `json:"workflow_id"`
		UrgeCount  int    `json:"urge_count"`
		AssigneeID string `json:"assignee_id"`
		State      string
	}
	head.do("GET", "/api/v1/tasks/"+review.ID, nil, &tv)
	ctx := context.Background()
	runOf := func() string {
		d, err := svc.Temporal.DescribeWorkflowExecution(ctx, tv.WorkflowID, "")
		if err != nil {
			t.Fatalf("describe %s: %v", tv.WorkflowID, err)
		}
		return d.WorkflowExecutionInfo.Execution.RunId
	}
	firstRun := runOf()
	runs := map[string]bool{firstRun: true}
	act := func(who *client, action string, body any) {
		t.Helper()
		who.duringHandOver("POST", "/api/v1/tasks/"+review.ID+"/"+action, body, 200)
	}
	act(staff, "urge", map[string]string{"comment": "请尽快"})
	for i := 0; i < 25; i++ {
		act(head, "claim", nil)
		act(head, "unclaim", nil)
		runs[runOf()] = true
	}
	if len(runs) < 3 {
		t.Fatalf("the application ran in %d runs after 50 actions; want it to have continued as new at least twice", len(runs))
	}
	act(head2, "claim", nil)
	head.do("GET", "/api/v1/tasks/"+review.ID, nil, &tv)
	if tv.State != "open" || tv.UrgeCount != 1 || tv.AssigneeID == "" {
		t.Errorf("task after the runs = %+v, want open, urged once, claimed by head01b", tv)
	}
	// The carried task keeps its rate limit: staff01 urged it within the hour.
	staff.expectError("POST", "/api/v1/tasks/"+review.ID+"/urge", map[string]string{"comment": "再催"}, 429, "")
	act(head2, "complete", map[string]string{"outcome": "approve", "comment": "同意"})
	head.waitStatus(app.ID, "reviewed")
	recordRun(t, svc, tv.WorkflowID, firstRun, "subsidy_long_history_first_run")
	settled(t, svc, tv.WorkflowID, "")
	recordHistory(t, svc, tv.WorkflowID, "subsidy_long_history_last_run")
	var inbox struct{ Items []task }
	head2.do("GET", "/api/v1/tasks?status=open&kind=subsidy_review", nil, &inbox)
	for _, it := range inbox.Items {
		if it.ID == review.ID {
			t.Errorf("the review task is still open after completion")
		}
	}
}

// TestLongDropoutCaseContinuesAsNew: attempts logged in a loop drive a dropout case's history past
// JIAOFU_HISTORY_EVENTS; the idle case continues as new mid-round, and the round's deadline,
// counted before, still fires in the new run: the township government and the supervision
// office are seized once each, and the return is recorded after.
func TestLongDropoutCaseContinuesAsNew(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.HistoryEvents = 100
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "12s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, teacher, jcs := anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
	stu := staff.studentOf("王二小")
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	teacher.waitTask("dropout_first_contact", dc.ID)
	wfID := "dropout-" + stu.ID
	ctx := context.Background()
	runs := map[string]bool{}
	for i := 0; i < 30; i++ {
		for try := 0; ; try++ {
			code, raw := teacher.raw("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "phone", "notes": fmt.Sprintf("第 %d 次电话", i+1)})
			if code == 200 {
				break
			}
			if try > 20 {
				t.Fatalf("attempt %d: %d %s", i+1, code, raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
		d, err := svc.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
		if err != nil {
			t.Fatal(err)
		}
		runs[d.WorkflowExecutionInfo.Execution.RunId] = true
	}
	if len(runs) < 2 {
		t.Fatalf("the case ran in %d run(s) after 30 attempts; want it to have continued as new", len(runs))
	}
	var esc struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=dropout", nil, &esc)
		return len(esc.Items) >= 2
	}, "the township deadline's escalations after the case continued as new")
	time.Sleep(time.Second) // nothing fires twice
	jcs.do("GET", "/api/v1/escalations?process=dropout", nil, &esc)
	targets := map[string]int{}
	for _, e := range esc.Items {
		targets[e.Target]++
	}
	if targets["township_gov"] != 1 || targets["supervision"] != 1 || len(esc.Items) != 2 {
		t.Errorf("escalations = %v, want township_gov and supervision once each", targets)
	}
	var full struct {
		Case     dropoutCase
		Attempts []store.DropoutAttempt
	}
	staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
	if full.Case.State != casework.DropoutTownship || len(full.Attempts) != 30 {
		t.Errorf("case %s with %d attempts, want township_supervising with 30", full.Case.State, len(full.Attempts))
	}
	if code, raw := staff.raw("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"}); code != 200 {
		t.Fatalf("record return: %d %s", code, raw)
	}
	eventually(t, 10*time.Second, func() bool {
		staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
		return full.Case.State == casework.DropoutConsolidating
	}, "consolidation")
	settled(t, svc, wfID, "")
	recordHistory(t, svc, wfID, "dropout_long_history_last_run")
}

// TestLongPublicityContinuesAsNew: public objections (anyone may send them) drive a publicity
// batch's history past JIAOFU_HISTORY_EVENTS while its period runs; the batch continues as new
// with its open objection review (the objections to the one entry join it), the review is decided
// in a later run and decides every objection, the period still ends on time, and the sign-off
// disburses the application.
func TestLongPublicityContinuesAsNew(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	// Low enough that the objections alone pass it: those joining an open review open no task.
	cfg.HistoryEvents = 60
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", mustSpec(t, "12s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, aid := anon.as("staff01"), anon.as("head01"), anon.as("aid01")
	app, batchID, pub := publicized(t, anon, staff, head)
	const objections = 12
	for i := 0; i < objections; i++ {
		anon.duringHandOver("POST", "/public/publicity-batches/"+batchID+"/objections",
			map[string]string{"entry_id": pub.Entries[0].EntryID, "reason": fmt.Sprintf("异议 %d", i+1), "contact": "13900000000"}, 201)
	}
	reviews := 0
	eventually(t, 30*time.Second, func() bool {
		var inbox struct{ Items []task }
		aid.do("GET", "/api/v1/tasks?status=open&kind=objection_review", nil, &inbox)
		for _, it := range inbox.Items {
			if strings.HasPrefix(it.CaseID, batchID) {
				aid.duringHandOver("POST", "/api/v1/tasks/"+it.ID+"/complete", map[string]string{"outcome": "dismiss", "comment": "查无实据"}, 200)
				reviews++
			}
		}
		return reviews == 1
	}, "the objections' review in the aid center's inbox")
	d, err := svc.Temporal.DescribeWorkflowExecution(context.Background(), batchID, "")
	if err != nil {
		t.Fatal(err)
	}
	first := svc.Temporal.GetWorkflowHistory(context.Background(), batchID, d.WorkflowExecutionInfo.Execution.RunId, false, 0)
	ev, err := first.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId() == "" {
		t.Fatalf("the batch's current run did not continue from another: it never continued as new")
	}
	signoff := aid.waitTask("publicity_signoff", batchID)
	anon.as("aid02").duringHandOver("POST", "/api/v1/tasks/"+signoff.ID+"/complete", map[string]string{"outcome": "approve"}, 200)
	staff.waitStatus(app.ID, "disbursed")
	settled(t, svc, batchID, "")
	recordHistory(t, svc, batchID, "publicity_long_history_last_run")
	var b struct {
		Objections []casework.Objection
	}
	staff.do("GET", "/api/v1/publicity-batches/"+batchID, nil, &b)
	if len(b.Objections) != objections {
		t.Errorf("the batch holds %d objections, want %d", len(b.Objections), objections)
	}
	for _, o := range b.Objections {
		if o.State != "decided" || o.Decision != "dismiss" {
			t.Errorf("objection %s: %s %s, want decided dismiss", o.ID, o.State, o.Decision)
		}
	}
}
