package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/service"
)

// exchange is one HTTP exchange as the test's clients saw it.
type exchange struct {
	method, path string
	status       int
	media        string
	body         []byte
}

// answerRecorder is an http.RoundTripper that keeps every answer the clients of a test receive,
// so that each can be checked against the served document after the flow.
type answerRecorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	answers []exchange
}

func (r *answerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	r.mu.Lock()
	r.answers = append(r.answers, exchange{method: req.Method, path: req.URL.Path, status: resp.StatusCode, media: media, body: body})
	r.mu.Unlock()
	return resp, nil
}

// recordAnswers makes http.DefaultClient (which every client of the e2e tests uses) keep the
// answers it receives until the test ends. The e2e tests run one at a time (none is parallel).
func recordAnswers(t testing.TB) *answerRecorder {
	t.Helper()
	before := http.DefaultClient.Transport
	next := before
	if next == nil {
		next = http.DefaultTransport
	}
	rec := &answerRecorder{next: next}
	http.DefaultClient.Transport = rec
	t.Cleanup(func() { http.DefaultClient.Transport = before })
	return rec
}

// routeOf finds the route of the table that serves a request, as Fiber does: the first of the
// method whose path matches.
func routeOf(routes []api.Route, method, path string) (api.Route, bool) {
	for _, r := range routes {
		if r.Method != method {
			continue
		}
		parts := regexp.MustCompile(`:[A-Za-z_]+`).Split(r.Path, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		if regexp.MustCompile("^" + strings.Join(parts, "[^/]+") + "$").MatchString(path) {
			return r, true
		}
	}
	return api.Route{}, false
}

// checkAnswers checks every recorded answer against the served document: a success status is
// one the route declares, in a media type it declares, with a JSON body that fits the declared
// schema (kin-openapi's schema check); a refusal or failure fits the Error schema. It returns
// how many success answers were checked, by route.
func checkAnswers(t testing.TB, svc *service.Service, doc *openapi3.T, answers []exchange) map[string]int {
	t.Helper()
	checked := map[string]int{}
	for _, a := range answers {
		r, ok := routeOf(svc.API.Routes(), a.method, a.path)
		if !ok {
			continue // the console's pages
		}
		what := a.method + " " + a.path + " " + strconv.Itoa(a.status)
		op := doc.Paths.Value(svc.API.DocumentPath(r.Path)).GetOperation(a.method)
		var resp *openapi3.ResponseRef
		if a.status >= 200 && a.status < 300 {
			if resp = op.Responses.Status(a.status); resp == nil {
				t.Errorf("%s: the document does not declare %d for %s %s", what, a.status, r.Method, r.Path)
				continue
			}
			checked[r.Method+" "+r.Path]++
		} else if resp = op.Responses.Value(strconv.Itoa(a.status/100) + "XX"); resp == nil {
			t.Errorf("%s: no %dXX answer in the document", what, a.status/100)
			continue
		}
		if len(a.body) == 0 && a.status == http.StatusNoContent {
			if len(resp.Value.Content) != 0 {
				t.Errorf("%s: answered without a body; the document gives it one", what)
			}
			continue
		}
		mt := resp.Value.Content.Get(a.media)
		if mt == nil {
			t.Errorf("%s: answered %s, which the document does not declare for it", what, a.media)
			continue
		}
		if a.media != "application/json" {
			continue
		}
		var v any
		if err := json.Unmarshal(a.body, &v); err != nil {
			t.Errorf("%s: not JSON: %v", what, err)
			continue
		}
		if err := mt.Schema.Value.VisitJSON(v); err != nil {
			t.Errorf("%s: the answer does not fit the document: %v\n%s", what, err, short(string(a.body)))
		}
	}
	return checked
}

// documentedAnswers checks, when the test ends, every answer its clients received against the
// document the service serves (checkAnswers): a flow test calls it after starting the service,
// so that the answers of its process's routes are checked as the flow really gets them.
func documentedAnswers(t testing.TB, svc *service.Service) {
	t.Helper()
	rec := recordAnswers(t)
	// Registered after startService's cleanup, so this runs first, while the service is up.
	t.Cleanup(func() {
		raw, err := json.Marshal(svc.API.Document())
		if err != nil {
			t.Fatal(err)
		}
		doc, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			t.Fatal(err)
		}
		rec.mu.Lock()
		answers := append([]exchange(nil), rec.answers...)
		rec.mu.Unlock()
		checked := checkAnswers(t, svc, doc, answers)
		t.Logf("%d answers of %d routes checked against the document", len(answers), len(checked))
	})
}

// TestOpenAPIResponses: every answer the service gives in a flow over most of its processes —
// the lists and reports with entries in them, the records the flow creates read one by one, task
// actions (claim, transfer, copy, signers added and removed, completion, withdrawal), a publicity
// batch, a work plan and its task, the admin's settings and records, creates with an
// Idempotency-Key, files — fits the
// served document: its status and
// media type are declared for the route and its JSON fits the declared schema, so that a
// generated client decodes what it receives.
func TestOpenAPIResponses(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	rec := recordAnswers(t)
	anon := newClient(t, svc)
	staff, head, teacher := anon.as("staff01"), anon.as("head01"), anon.as("teacher01")
	inspector, admin := anon.as("inspector01"), anon.as("admin")
	ok := func(c *client, method, path string, body any, want ...int) string {
		t.Helper()
		code, raw := c.raw(method, path, body)
		for _, w := range want {
			if code == w {
				return raw
			}
		}
		t.Fatalf("%s %s: %d %s, want %v", method, path, code, short(raw), want)
		return ""
	}
	var out struct {
		ID string `json:"id"`
	}

	stu := staff.studentOf("张小三")
	appID := ""
	if err := jsonInto(ok(staff, "POST", "/api/v1/subsidy-applications", map[string]string{"student_id": stu.ID, "programme": "living-primary", "term": term}, 201), &out); err != nil {
		t.Fatal(err)
	}
	appID = out.ID
	dropoutStu := staff.studentOf("王二小")
	if err := jsonInto(ok(staff, "POST", "/api/v1/dropout-cases", map[string]string{"student_id": dropoutStu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, 201, 202), &out); err != nil {
		t.Fatal(err)
	}
	dropoutID := out.ID
	funds := anon.as("funds01")
	donation(t, funds, "建始县某企业", 500000, "BANK-REF-19", false)
	repeated := donation(t, funds, "建始县某企业", 1000, "BANK-REF-20", false)
	ok(funds, "POST", "/api/v1/hardship/donations/"+repeated.ID+"/reverse", map[string]string{"reason": "重复登记"}, 201)
	ok(admin, "PUT", "/api/v1/admin/open-terms", map[string]any{"items": []string{"2027-2028-2"}}, 200)
	if err := jsonInto(ok(inspector, "POST", "/api/v1/inspection-rounds", map[string]any{"term": term, "kind": "routine",
		"units": []string{"JS-T01-S01"}, "planned_on": "2026-10-10"}, 201), &out); err != nil {
		t.Fatal(err)
	}
	roundID := out.ID

	// The two creates that take an Idempotency-Key, each sent twice with the same key.
	finding := map[string]any{"unit_code": "JS-T01-S01", "area": "dropout", "description": "控辍保学台账未按月更新", "severity": "minor"}
	keyedInspector := inspector.withHeader("Idempotency-Key", "openapi-finding-1")
	first := ok(keyedInspector, "POST", "/api/v1/inspection-rounds/"+roundID+"/findings", finding, 201, 202)
	again := ok(keyedInspector, "POST", "/api/v1/inspection-rounds/"+roundID+"/findings", finding, 201, 202)
	var f1, f2 struct{ ID string }
	if jsonInto(first, &f1) != nil || jsonInto(again, &f2) != nil || f1.ID == "" || f1.ID != f2.ID {
		t.Errorf("a finding repeated with one Idempotency-Key: %s then %s", short(first), short(again))
	}
	grant := map[string]any{"student_id": stu.ID, "amount_fen": 1000_00, "reason": "父亲重病住院，家庭无力承担医疗费用", "hardship_kind": "illness"}
	keyedStaff := staff.withHeader("Idempotency-Key", "openapi-grant-1")
	if err := jsonInto(ok(keyedStaff, "POST", "/api/v1/hardship/grants", grant, 201, 202), &out); err != nil {
		t.Fatal(err)
	}
	grantID := out.ID
	ok(keyedStaff, "POST", "/api/v1/hardship/grants", grant, 201, 202)

	// Task actions on the application's review task.
	tk := head.waitTask("subsidy_review", appID)
	ok(head, "GET", "/api/v1/tasks/"+tk.ID, nil, 200)
	ok(head, "POST", "/api/v1/tasks/"+tk.ID+"/claim", nil, 200, 202)
	ok(head, "POST", "/api/v1/tasks/"+tk.ID+"/unclaim", nil, 200, 202)
	ok(staff, "POST", "/api/v1/tasks/"+tk.ID+"/urge", map[string]string{"comment": "请尽快审核"}, 200, 202)
	// Handed to the deputy head, who copies the case to an inspector (who reads it), adds and
	// removes a signer, and approves.
	ok(head, "POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "head01b"}, 200, 202)
	deputy := anon.as("head01b")
	var inspectorMe struct {
		UserID string `json:"user_id"`
	}
	if err := jsonInto(ok(inspector, "GET", "/api/v1/me", nil, 200), &inspectorMe); err != nil {
		t.Fatal(err)
	}
	ok(deputy, "POST", "/api/v1/tasks/"+tk.ID+"/cc", map[string]any{"user_ids": []string{inspectorMe.UserID}}, 200, 202)
	ok(inspector, "POST", "/api/v1/cc/"+appID+"/read", nil, 200)
	ok(deputy, "POST", "/api/v1/tasks/"+tk.ID+"/add-signers", map[string]any{"user_ids": []string{"aid01"}, "position": "after"}, 200, 202)
	ok(deputy, "POST", "/api/v1/tasks/"+tk.ID+"/remove-signers", map[string]any{"user_ids": []string{"aid01"}}, 200, 202)
	ok(deputy, "POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]any{"outcome": "approve", "comment": "符合条件"}, 200, 202)
	ok(deputy, "GET", "/api/v1/tasks/"+tk.ID, nil, 200) // done: with its outcome
	ok(deputy, "GET", "/api/v1/tasks?state=done", nil, 200)
	// The reviewed application goes on a publicity list.
	eventually(t, 20*time.Second, func() bool {
		var app struct{ Status string }
		head.do("GET", "/api/v1/subsidy-applications/"+appID, nil, &app)
		return app.Status == casework.AppReviewed
	}, "the application reviewed")
	if err := jsonInto(ok(staff, "POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, 201, 202), &out); err != nil {
		t.Fatal(err)
	}
	batchID := out.ID
	eventually(t, 20*time.Second, func() bool {
		code, _ := staff.raw("GET", "/api/v1/publicity-batches/"+batchID, nil)
		return code == 200
	}, "the batch recorded")
	ok(anon, "GET", "/public/publicity-batches/"+batchID, nil, 200)
	var bulk struct {
		Items []struct{ ID string }
	}
	if err := jsonInto(ok(staff, "POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": []map[string]string{
		{"student_id": staff.studentOf("李梅").ID, "programme": "living-primary", "term": term}}}, 200), &bulk); err != nil || len(bulk.Items) != 1 || bulk.Items[0].ID == "" {
		t.Fatalf("bulk: %v %+v", err, bulk)
	}
	// The head returns a third application to its applicant (退回).
	third := staff.studentOf("向金花")
	if err := jsonInto(ok(staff, "POST", "/api/v1/subsidy-applications", map[string]string{"student_id": third.ID, "programme": "living-primary", "term": term}, 201, 202), &out); err != nil {
		t.Fatal(err)
	}
	ok(head, "POST", "/api/v1/tasks/"+head.waitTask("subsidy_review", out.ID).ID+"/return", map[string]string{"comment": "请补充村委会证明"}, 200, 202)
	// The applicant withdraws the second application before anyone takes it up.
	second := head.waitTask("subsidy_review", bulk.Items[0].ID)
	ok(staff, "POST", "/api/v1/tasks/"+second.ID+"/withdraw", map[string]string{"comment": "信息有误，撤回重报"}, 200, 202)

	// The admin's settings, each answering with what it set.
	var staffMe struct {
		UserID string `json:"user_id"`
	}
	if err := jsonInto(ok(staff, "GET", "/api/v1/me", nil, 200), &staffMe); err != nil {
		t.Fatal(err)
	}
	ok(admin, "GET", "/api/v1/admin/users/"+staffMe.UserID, nil, 200)
	ok(admin, "PUT", "/api/v1/admin/users/"+staffMe.UserID, map[string]any{"active": true}, 200)
	ok(admin, "PUT", "/api/v1/admin/subsidy-programmes/nutrition", map[string]any{"amount_fen": 450_00}, 200)
	ok(admin, "PUT", "/api/v1/admin/disbursement-channels", map[string]any{"items": []string{"一卡通", "银行卡"}}, 200)
	ok(admin, "POST", "/api/v1/admin/unit-aliases", map[string]string{"alias": "宣传股", "unit_code": "JS-BGS"}, 201)
	ok(admin, "POST", "/api/v1/admin/audit/checkpoints", nil, 201)
	ok(admin, "POST", "/api/v1/admin/calendar", map[string]any{"days": []map[string]string{{"Date": "2027-10-08", "Type": "holiday", "Name": "国庆节"}}}, 200)
	ok(admin, "GET", "/api/v1/admin/audit/verify", nil, 200)
	var unit struct{ ID string }
	if err := jsonInto(ok(admin, "POST", "/api/v1/admin/org-units", map[string]any{"code": "JS-T01-S09", "name": "文档测试学校",
		"kind": "school", "parent_code": "JS-T01"}, 201), &unit); err != nil {
		t.Fatal(err)
	}
	ok(admin, "POST", "/api/v1/admin/responsibilities", map[string]string{"subject_kind": "unit", "subject_id": unit.ID, "username": "head01"}, 201)
	ok(admin, "POST", "/api/v1/admin/students", map[string]any{"student_no": "L123", "name": "李四", "sex": "M", "birth_date": "2015-01-01",
		"unit_code": "JS-T01-S01", "grade": 3, "class": "1班"}, 201)
	ok(admin, "POST", "/api/v1/admin/subsidy-programmes", map[string]any{"code": "living-boarding-extra", "name": "寄宿生生活补助（县级加发）",
		"amount_fen": 200_00, "stage": "primary", "exclusive_group": "living"}, 201)
	ok(staff, "POST", "/api/v1/pairings/from-chain?unit=JS-T01-S01", nil, 200)
	var duties struct {
		Items []struct {
			ID       string `json:"id"`
			UnitCode string `json:"unit_code"`
			Kind     string `json:"kind"`
		}
	}
	if err := jsonInto(ok(staff, "GET", "/api/v1/school-duties?unit=JS-T01-S01", nil, 200), &duties); err != nil {
		t.Fatal(err)
	}
	for _, d := range duties.Items {
		if d.UnitCode == "JS-T01-S01" && d.Kind == casework.SchoolDutyProgressReport {
			ok(staff, "POST", "/api/v1/school-duties/"+d.ID+"/records", map[string]string{"done_on": time.Now().In(calendar.CST).Format("2006-01-02"),
				"title": "本学期教育扶贫工作进展"}, 201)
		}
	}

	// A work plan with a task, its report as JSON and as a workbook, a progress report and a
	// 包保 contact.
	pa := anon.as("pa01")
	if err := jsonInto(ok(pa, "POST", "/api/v1/plans", map[string]any{"year": time.Now().In(calendar.CST).Year(), "title": "配合任务方案"}, 201), &out); err != nil {
		t.Fatal(err)
	}
	planID := out.ID
	if err := jsonInto(ok(pa, "POST", "/api/v1/plans/"+planID+"/tasks", map[string]any{"level1": "重点项目", "description": "配合测试任务",
		"lead_unit": "教育股", "cooperating_units": []string{"经费中心"},
		"due_on": time.Now().In(calendar.CST).AddDate(0, 0, 7).Format("2006-01-02")}, 201, 202), &out); err != nil {
		t.Fatal(err)
	}
	planTaskID := out.ID
	ok(pa, "GET", "/api/v1/plans/"+planID, nil, 200)
	ok(pa, "GET", "/api/v1/plans/"+planID+"/report", nil, 200)
	if code, _ := sendRaw(t, pa, "GET", "/api/v1/plans/"+planID+"/report?format=xlsx", nil); code != 200 {
		t.Errorf("plan report as a workbook: %d", code)
	}
	eventually(t, 20*time.Second, func() bool {
		code, _ := pa.raw("GET", "/api/v1/plan-tasks/"+planTaskID, nil)
		return code == 200
	}, "the plan task recorded")
	edu := anon.as("edu01")
	ok(edu, "POST", "/api/v1/plan-tasks/"+planTaskID+"/reports", map[string]any{"summary": "已完成资助名单比对", "percent": 50}, 201)
	ok(edu, "POST", "/api/v1/contacts", map[string]string{"unit_code": "JS-T01-S01", "contacted_on": time.Now().In(calendar.CST).Format("2006-01-02"),
		"method": "visit", "summary": "了解控辍保学和资助落实情况"}, 201)

	// The dropout case's Update answers, and the grant withdrawn by its applicant.
	ok(teacher, "POST", "/api/v1/dropout-cases/"+dropoutID+"/attempts", map[string]string{"method": "phone", "notes": "电话联系家长"}, 200, 202)
	ok(staff, "POST", "/api/v1/hardship/grants/"+grantID+"/withdraw", map[string]string{"comment": "家庭情况好转"}, 200, 202)

	// Every record the flow created, read one by one, and its timeline.
	for _, read := range []struct {
		c    *client
		path string
	}{
		{head, "/api/v1/subsidy-applications/" + appID},
		{head, "/api/v1/cases/" + appID + "/timeline"},
		{staff, "/api/v1/dropout-cases/" + dropoutID},
		{inspector, "/api/v1/inspection-rounds/" + roundID},
		{inspector, "/api/v1/findings/" + f1.ID},
		{staff, "/api/v1/hardship/grants/" + grantID},
		{staff, "/api/v1/admin/students/" + stu.ID},
		{staff, "/api/v1/admin/org-units/JS-T01-S01"},
		{head, "/api/v1/reports/subsidy-omissions?term=" + url.QueryEscape(term)},
		{head, "/api/v1/reports/inspection-evaluation?term=" + url.QueryEscape(term)},
	} {
		ok(read.c, "GET", read.path, nil, 200)
	}
	if code, _ := sendRaw(t, admin, "GET", "/api/v1/exports/students.xlsx?term="+url.QueryEscape(term), nil); code != 200 {
		t.Errorf("export: %d", code)
	}

	code, raw := anon.raw("GET", "/api/v1/openapi.json", nil)
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI 3: %v", err)
	}

	// Every route without a path parameter, as a caller it admits: the lists with the flow's
	// entries in them, the reports, the admin's settings, the probes and /metrics.
	clients := map[string]*client{}
	for _, r := range svc.API.Routes() {
		if r.Method != http.MethodGet || strings.Contains(r.Path, ":") {
			continue
		}
		rule, err := api.ParseRule(r.Auth)
		if err != nil {
			t.Fatal(err)
		}
		// The school's head sees the review task; the admin and the supervision office see
		// what only they may.
		c := anon
		if !rule.Public {
			for _, role := range append([]string{casework.RoleSchoolLeader}, casework.Roles...) {
				if rule.Admits(role) {
					if clients[role] == nil {
						clients[role] = anon.as(matrixUser[role])
					}
					c = clients[role]
					break
				}
			}
		}
		if code, answer := sendRaw(t, c, http.MethodGet, r.Path, nil); code/100 != 2 && code != 400 {
			// A report without its ?term= may be a 400, which is checked as an error answer.
			t.Errorf("GET %s: %d %s", r.Path, code, short(answer))
		}
	}
	ok(staff, "POST", "/api/v1/auth/logout", nil, 204)

	rec.mu.Lock()
	answers := append([]exchange(nil), rec.answers...)
	rec.mu.Unlock()
	checked := checkAnswers(t, svc, doc, answers)
	for _, must := range []string{"GET /api/v1/tasks/:id", "POST /api/v1/tasks/:id/complete", "POST /api/v1/hardship/grants",
		"POST /api/v1/inspection-rounds/:id/findings", "GET /api/v1/dropout-cases/:id", "GET /api/v1/exports/:ledger.xlsx",
		"POST /api/v1/auth/logout", "GET /metrics", "GET /api/v1/subsidy-applications", "POST /api/v1/tasks/:id/transfer",
		"POST /api/v1/tasks/:id/add-signers", "POST /api/v1/tasks/:id/withdraw", "POST /api/v1/admin/org-units", "POST /api/v1/school-duties/:id/records", "POST /api/v1/tasks/:id/return", "POST /api/v1/admin/calendar", "GET /api/v1/publicity-batches/:id", "GET /api/v1/plans/:id/report", "POST /api/v1/plans/:id/tasks"} {
		if checked[must] == 0 {
			t.Errorf("no success answer of %s was checked", must)
		}
	}
	if len(checked) < 98 {
		t.Errorf("success answers of only %d routes checked", len(checked))
	}
	t.Logf("%d answers of %d routes checked against the document", len(answers), len(checked))
}
