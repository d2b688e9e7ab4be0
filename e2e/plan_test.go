package e2e

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/demo"
	"jiaofu/store"
	"jiaofu/workflows"
)

// planTask is a task of a plan's list as GET /api/v1/plans/{id} shows it.
type planTask struct {
	ID               string     `json:"id"`
	Seq              int        `json:"seq"`
	Level1           string     `json:"level1"`
	LeadUnit         string     `json:"lead_unit"`
	CooperatingUnits []string   `json:"cooperating_units"`
	State            string     `json:"state"`
	Percent          int        `json:"percent"`
	DueOn            string     `json:"due_on"`
	ClosedAt         *time.Time `json:"closed_at"`
	Overdue          bool       `json:"overdue"`
}

type rowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// importTasks posts a task list to a plan's import as a form would (multipart field file).
func (c *client) importTasks(planID, name string, data []byte, dryRun bool, out any) int {
	c.t.Helper()
	fields := map[string]string{}
	if dryRun {
		fields["dry_run"] = "true"
	}
	return c.upload("/api/v1/plans/"+planID+"/tasks/import", name, data, fields, out)
}

func (c *client) planTasks(planID string) []planTask {
	c.t.Helper()
	var d struct{ Tasks []planTask }
	if code := c.do("GET", "/api/v1/plans/"+planID, nil, &d); code != 200 {
		c.t.Fatalf("GET plan %s: %d", planID, code)
	}
	return d.Tasks
}

// TestPlanImportMapAndCloseOut: the PA office makes this year's plan and imports the seed's annex
// 1 (its 2019 deadlines refused row by row, nothing imported; re-dated, all 52 tasks, each a case
// of its lead section); the list is on the duty map by section; one task is reported on, declared
// done by its section, closed out (销号) by the PA office, and the plan's report counts it. Bad
// input is refused naming its field (and its row), on SQLite and on PostgreSQL.
func TestPlanImportMapAndCloseOut(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			if db == "postgres" {
				cfg.DatabaseURL = postgresSchema(t)
			}
			svc := startService(t, cfg)
			documentedAnswers(t, svc)
			accepted, redone := planImportMapAndCloseOut(t, svc.HTTPAddr())
			if db == "sqlite" {
				settled(t, svc, accepted, "")
				recordHistory(t, svc, accepted, "plan_task_accepted")
				settled(t, svc, redone, "")
				recordHistory(t, svc, redone, "plan_task_rejected_redone")
			}
		})
	}
}

// planImportMapAndCloseOut runs the test on a service at addr; it returns the ids of the task
// accepted at once and of the task rejected and redone.
func planImportMapAndCloseOut(t *testing.T, addr string) (accepted, redone string) {
	anon := &client{t: t, base: "http://" + addr}
	pa, edu, aid, leader, teacher := anon.as("pa01"), anon.as("edu01"), anon.as("aid01"), anon.as("leader01"), anon.as("teacher01")
	year := time.Now().In(calendar.CST).Year()

	edu.expectCode("POST", "/api/v1/plans", map[string]any{"year": year, "title": "方案"}, 403, "forbidden", "")
	pa.expectReason("POST", "/api/v1/plans", map[string]any{"year": 19, "title": "方案"}, 400, "year", "year")
	pa.expectReason("POST", "/api/v1/plans", map[string]any{"year": year, "title": " "}, 400, "title", "required")
	var plan struct{ ID string }
	if code := pa.do("POST", "/api/v1/plans", map[string]any{"year": year, "title": demo.PlanTitle, "doc_no": "建教办〔2026〕18号"}, &plan); code != 201 {
		t.Fatalf("create plan: %d", code)
	}
	tomorrow := time.Now().In(calendar.CST).AddDate(0, 0, 1).Format("2006-01-02")
	task := func(lead, due string) map[string]any {
		return map[string]any{"level1": "重点项目", "description": "测试任务", "lead_unit": lead, "cooperating_units": []string{}, "due_on": due}
	}
	pa.expectReason("POST", "/api/v1/plans/"+plan.ID+"/tasks", task("不存在股", tomorrow), 400, "lead_unit", "no_unit_named", "name", "不存在股")
	pa.expectReason("POST", "/api/v1/plans/"+plan.ID+"/tasks", task("业州镇第一小学", tomorrow), 400, "lead_unit", "not_section")
	pa.expectReason("POST", "/api/v1/plans/"+plan.ID+"/tasks", task("教育股", "2019年12月31日"), 400, "due_on", "past")
	pa.expectReason("POST", "/api/v1/plans/"+plan.ID+"/tasks", task("教育股", "年底"), 400, "due_on", "date_format")
	edu.expectCode("POST", "/api/v1/plans/"+plan.ID+"/tasks", task("教育股", tomorrow), 403, "forbidden", "")

	// The seed's list as the document dates it: every 2019/2020 deadline is in the past and one
	// row has none; nothing is imported.
	var refused struct {
		Error     struct{ Code, Field string }
		RowErrors []rowError `json:"row_errors"`
	}
	if code := pa.importTasks(plan.ID, "annex1.csv", demo.Plan2019CSV, false, &refused); code != 400 {
		t.Fatalf("import of the 2019 list: %d, want 400", code)
	}
	if refused.Error.Field != "file" || len(refused.RowErrors) != 52 {
		t.Errorf("2019 list: error %+v with %d row errors, want file and 52", refused.Error, len(refused.RowErrors))
	}
	blank := rowError{}
	for _, e := range refused.RowErrors {
		if e.Reason == "required" {
			blank = e
		}
	}
	if blank != (rowError{Row: 49, Column: "完成时限", Field: "due_on", Reason: "required"}) {
		t.Errorf("the row without a deadline: %+v", blank)
	}
	if n := len(pa.planTasks(plan.ID)); n != 0 {
		t.Fatalf("a refused import left %d tasks", n)
	}
	// One section the bureau does not have: the row and column are named.
	rows, err := demo.RedatedPlan(year)
	if err != nil {
		t.Fatal(err)
	}
	rows[3][3] = "宣传股"
	var buf bytes.Buffer
	_ = csv.NewWriter(&buf).WriteAll(rows)
	if code := pa.importTasks(plan.ID, "annex1.csv", buf.Bytes(), false, &refused); code != 400 || len(refused.RowErrors) != 1 ||
		refused.RowErrors[0] != (rowError{Row: 4, Column: "牵头股室", Field: "lead_unit", Reason: "no_unit_named"}) {
		t.Errorf("unknown section: %d %+v", code, refused.RowErrors)
	}
	// The name the list gives a section can be recorded as its alias; then the row imports.
	admin := anon.as("admin")
	admin.expectReason("POST", "/api/v1/admin/unit-aliases", map[string]string{"alias": "宣传股", "unit_code": "JS-NONE"}, 400, "unit_code", "no_unit")
	admin.expectReason("POST", "/api/v1/admin/unit-aliases", map[string]string{"alias": "教育股", "unit_code": "JS-BGS"}, 400, "alias", "unit_name")
	pa.expectCode("POST", "/api/v1/admin/unit-aliases", map[string]string{"alias": "宣传股", "unit_code": "JS-BGS"}, 403, "forbidden", "")
	if code := admin.do("POST", "/api/v1/admin/unit-aliases", map[string]string{"alias": "宣传股", "unit_code": "JS-BGS"}, nil); code != 201 {
		t.Fatalf("record an alias: %d", code)
	}
	var dryAlias struct{ Count int }
	if code := pa.importTasks(plan.ID, "annex1.csv", buf.Bytes(), true, &dryAlias); code != 200 || dryAlias.Count != 52 {
		t.Errorf("the list naming the alias: %d %+v", code, dryAlias)
	}
	// A dry run checks and writes nothing; then the import records all 52 and starts their cases.
	redated, err := demo.RedatedPlanCSV(year)
	if err != nil {
		t.Fatal(err)
	}
	var dry struct{ Count int }
	if code := pa.importTasks(plan.ID, "annex1.csv", redated, true, &dry); code != 200 || dry.Count != 52 {
		t.Fatalf("dry run: %d %+v", code, dry)
	}
	if n := len(pa.planTasks(plan.ID)); n != 0 {
		t.Fatalf("a dry run left %d tasks", n)
	}
	var imported struct {
		Created []string `json:"created"`
		Already int      `json:"already_on_list"`
	}
	if code := pa.importTasks(plan.ID, "annex1.csv", redated, false, &imported); code != 201 || len(imported.Created) != 52 {
		t.Fatalf("import: %d, %d created", code, len(imported.Created))
	}
	var tasks []planTask
	eventually(t, 90*time.Second, func() bool {
		tasks = pa.planTasks(plan.ID)
		for _, pt := range tasks {
			if pt.State != casework.PlanTaskInProgress {
				return false
			}
		}
		return len(tasks) == 52
	}, "the 52 tasks' cases to start")
	// The same list again, through the data route's plan-tasks kind this time: nothing new.
	if code := pa.upload("/api/v1/imports/plan-tasks", "annex1.csv", redated, map[string]string{"plan_id": plan.ID}, &imported); code != 201 ||
		len(imported.Created) != 0 || imported.Already != 52 {
		t.Errorf("the same list again: %d, %+v", code, imported)
	}
	var noPlan apiError
	if code := pa.upload("/api/v1/imports/plan-tasks", "annex1.csv", redated, nil, &noPlan); code != 400 || noPlan.Error.Field != "plan_id" {
		t.Errorf("a list without its plan: %d %+v", code, noPlan)
	}
	if code, _, b := pa.file("/api/v1/imports/templates/plan-tasks.xlsx"); code != 200 || strings.Join(table(t, b).Header, ",") != "一级指标,二级指标,工作任务,牵头股室,配合股室,完成时限" {
		t.Errorf("the plan-tasks template: %d", code)
	}
	if tasks[0].Level1 != "重点项目" || tasks[0].LeadUnit != demo.AidCenterCode || tasks[0].DueOn != strconv.Itoa(year+1)+"-12-31" ||
		strings.Join(tasks[0].CooperatingUnits, ",") != "JS-JFZX" {
		t.Errorf("first task: %+v", tasks[0])
	}

	// The duty map by section: every task is open at its lead section.
	var dm struct {
		Processes []string
		Rows      []struct {
			UnitCode  string `json:"unit_code"`
			Processes map[string]store.DutyCount
		}
	}
	leader.do("GET", "/api/v1/reports/duty-map", nil, &dm)
	open := 0
	for _, r := range dm.Rows {
		if r.UnitCode != "JS" {
			open += r.Processes["plan"].Open
		}
	}
	if open != 52 || !strings.Contains(strings.Join(dm.Processes, ","), "plan,contact,school_duty") {
		t.Errorf("duty map: %d plan tasks open at the sections, columns %v", open, dm.Processes)
	}

	// Close out the first task (资助中心 leads, 经费中心 cooperates).
	first := tasks[0]
	teacher.expectCode("POST", "/api/v1/plan-tasks/"+first.ID+"/reports", map[string]any{"summary": "进展", "percent": 10}, 403, "not_in_scope", "")
	aid.expectReason("POST", "/api/v1/plan-tasks/"+first.ID+"/reports", map[string]any{"summary": "进展", "percent": 150}, 400, "percent", "percent")
	aid.expectReason("POST", "/api/v1/plan-tasks/"+first.ID+"/reports", map[string]any{"summary": "", "percent": 50}, 400, "summary", "required")
	if code := aid.do("POST", "/api/v1/plan-tasks/"+first.ID+"/reports", map[string]any{"summary": "已完成建档立卡学生资助名单比对",
		"evidence_note": "比对台账", "percent": 60}, nil); code != 201 {
		t.Fatalf("report: %d", code)
	}
	declare := aid.waitTask(casework.KindPlanTask, first.ID)
	aid.expectReason("POST", "/api/v1/tasks/"+declare.ID+"/complete", map[string]any{"outcome": "done",
		"fields": map[string]string{"summary": "已全部资助"}}, 400, "evidence_note", "required")
	if code := aid.do("POST", "/api/v1/tasks/"+declare.ID+"/complete", map[string]any{"outcome": "done",
		"fields": map[string]string{"summary": "已全部资助", "evidence_note": "资助名册及发放凭证"}}, nil); code != 200 {
		t.Fatalf("declare done: %d", code)
	}
	review := pa.waitTask(casework.KindPlanTaskReview, first.ID)
	pa.expectReason("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]any{"outcome": "reject"}, 400, "comment", "reason_required")
	if code := pa.do("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]any{"outcome": "accept", "comment": "材料齐全"}, nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
	eventually(t, 30*time.Second, func() bool {
		for _, pt := range pa.planTasks(plan.ID) {
			if pt.ID == first.ID {
				first = pt
			}
		}
		return first.State == casework.PlanTaskClosed && first.ClosedAt != nil
	}, "the task closed out")
	if first.Percent != 60 {
		t.Errorf("the task's progress = %d, want the reported 60", first.Percent)
	}
	aid.expectReason("POST", "/api/v1/plan-tasks/"+first.ID+"/reports", map[string]any{"summary": "再报", "percent": 100}, 409, "", "plan_task_closed")
	leader.do("GET", "/api/v1/reports/duty-map?unit=JS", nil, &dm)
	for _, r := range dm.Rows {
		if r.UnitCode == demo.AidCenterCode {
			if c := r.Processes["plan"]; c.Done != 1 || c.LastClosedAt == nil {
				t.Errorf("the aid center's plan tasks on the map: %+v", c)
			}
		}
	}

	// The plan's report, as JSON and as a workbook.
	var rep struct {
		Total     struct{ Total, Closed int }
		ByLevel1  []struct{ Key string } `json:"by_level1"`
		BySection []struct{ Key string } `json:"by_section"`
	}
	leader.do("GET", "/api/v1/plans/"+plan.ID+"/report", nil, &rep)
	if rep.Total.Total != 52 || rep.Total.Closed != 1 || len(rep.ByLevel1) != 3 || len(rep.BySection) < 10 {
		t.Errorf("report: %+v", rep)
	}
	req, _ := http.NewRequest("GET", leader.base+"/api/v1/plans/"+plan.ID+"/report?format=xlsx", nil)
	req.Header.Set("Authorization", "Bearer "+leader.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	book, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatalf("the report is not a workbook: %v", err)
	}
	if got := strings.Join(book.GetSheetList(), ","); got != "按一级指标,按牵头股室,任务明细" {
		t.Errorf("sheets: %s", got)
	}
	if v, _ := book.GetCellValue("按一级指标", "A5"); v != "合计" {
		t.Errorf("按一级指标 A5 = %q, want 合计", v)
	}

	// A task of 教育股 (cooperating: 电教站, 经费中心): rejected with a reason, redone, accepted.
	var second planTask
	for _, pt := range tasks {
		if pt.LeadUnit == "JS-JYG" && len(pt.CooperatingUnits) == 2 {
			second = pt
			break
		}
	}
	for attempt := 1; attempt <= 2; attempt++ {
		d := edu.waitTask(casework.KindPlanTask, second.ID)
		if code := edu.do("POST", "/api/v1/tasks/"+d.ID+"/complete", map[string]any{"outcome": "done",
			"fields": map[string]string{"summary": "康复设备已配齐", "evidence_note": "设备清单第" + strconv.Itoa(attempt) + "版"}}, nil); code != 200 {
			t.Fatalf("declare %d: %d", attempt, code)
		}
		r := pa.waitTask(casework.KindPlanTaskReview, second.ID)
		body := map[string]any{"outcome": "accept"}
		if attempt == 1 {
			body = map[string]any{"outcome": "reject", "comment": "缺少验收单"}
		}
		if code := pa.do("POST", "/api/v1/tasks/"+r.ID+"/complete", body, nil); code != 200 {
			t.Fatalf("review %d: %d", attempt, code)
		}
	}
	eventually(t, 30*time.Second, func() bool {
		for _, pt := range pa.planTasks(plan.ID) {
			if pt.ID == second.ID {
				second = pt
			}
		}
		return second.State == casework.PlanTaskClosed
	}, "the redone task closed out")
	return first.ID, second.ID
}

// TestPlanContactMonthEscalates: with periods of a few seconds (JIAOFU_DUTY_CHECK_EVERY), the
// Schedule's sweep checks every unit someone answers for on the 包保 chain: the school whose
// section head made no contact is reminded (naming the section head) and the township's central
// school is told one rung up (naming the township's bureau leader); the school's term duties,
// missed, remind the school. A contact is refused naming its field when the unit is not the
// caller's, the method unknown or the date ahead; recorded, the PA office reads it at once. The
// check's history is recorded.
func TestPlanContactMonthEscalates(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DutyCheckEvery = 6 * time.Second
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, edu, pa, jcs := anon.as("admin"), anon.as("edu01"), anon.as("pa01"), anon.as("jcs01")
	for kind, rungs := range map[string][]map[string]string{
		casework.DeadlineContactDuty: {{"after": "0s", "target": "remind"}, {"after": "1s", "target": "superior"}},
		casework.DeadlineSchoolDuty:  {{"after": "0s", "target": "remind"}},
	} {
		if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+kind, map[string]any{"rungs": rungs}, nil); code != 200 {
			t.Fatalf("put the %s ladder: %d", kind, code)
		}
	}
	today := time.Now().In(calendar.CST).Format("2006-01-02")
	contact := func(unit, on, method string) map[string]string {
		return map[string]string{"unit_code": unit, "contacted_on": on, "method": method, "summary": "了解控辍保学和资助落实情况"}
	}
	edu.expectReason("POST", "/api/v1/contacts", contact("JS-T01", today, "visit"), 400, "unit_code", "not_responsible")
	edu.expectReason("POST", "/api/v1/contacts", contact("JS-T01-S01", today, "letter"), 400, "method", "one_of")
	edu.expectReason("POST", "/api/v1/contacts", contact("JS-T01-S01", "2099-01-01", "visit"), 400, "contacted_on", "future")

	var esc []store.Escalation
	school := "contact-JS-T01-S01"
	eventually(t, 60*time.Second, func() bool {
		var out struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?process=plan&case_id="+school, nil, &out)
		esc = out.Items
		targets := map[string]bool{}
		for _, e := range esc {
			targets[e.Target] = true
		}
		return targets["remind"] && targets["superior"]
	}, "the school's missed contact reminded and told one rung up")
	var me, lead struct {
		ID string `json:"user_id"`
	}
	edu.do("GET", "/api/v1/me", nil, &me)
	anon.as("leader01").do("GET", "/api/v1/me", nil, &lead)
	first := esc[0]
	for _, e := range esc {
		switch e.Target {
		case "remind":
			if e.SourceUnit != "JS-T01-S01" || e.ResponsibleID != me.ID || !strings.Contains(e.Reason, "未联系本单位") {
				t.Errorf("reminder: %+v, want at the school naming edu01", e)
			}
			if e.DueAt.Before(first.DueAt) {
				first = e
			}
		case "superior":
			if e.ResponsibleID != lead.ID {
				t.Errorf("one rung up: %+v, want leader01 named", e)
			}
		}
	}
	var duty struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=plan&case_id=schoolduty-article-JS-T01-S01", nil, &duty)
		return len(duty.Items) > 0
	}, "the school's missed article reminded")
	if duty.Items[0].Target != "remind" || duty.Items[0].SourceUnit != "JS-T01-S01" {
		t.Errorf("the school's missed article: %+v", duty.Items)
	}

	var ct store.Contact
	if code := edu.do("POST", "/api/v1/contacts", contact("JS-T01-S01", today, "visit"), &ct); code != 201 {
		t.Fatalf("record a contact: %d", code)
	}
	edu.expectReason("POST", "/api/v1/contacts", contact("JS-T01-S01", today, "phone"), 400, "contacted_on", "duplicate_contact")
	var seen struct{ Items []store.Contact }
	pa.do("GET", "/api/v1/contacts", nil, &seen)
	if len(seen.Items) != 1 || seen.Items[0].ID != ct.ID || seen.Items[0].UnitName != "业州镇第一小学" {
		t.Errorf("the PA office's list: %+v", seen.Items)
	}
	// The check whose reminder came first, recorded once its ladder has run.
	end := strings.TrimSuffix(strings.TrimPrefix(first.ID, school+"-contact-"), "-r1")
	unix, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		t.Fatalf("escalation id %s: %v", first.ID, err)
	}
	wf := workflows.DutyCheckWorkflowID("JS-T01-S01", time.Unix(unix, 0))
	settled(t, svc, wf, "")
	recordHistory(t, svc, wf, "plan_duty_check_contact_missed")
}

// TestRecordPlanContributionOpen records, from the code before cooperating sections' contributions
// had deadlines of their own (plan-contribution-deadlines), a plan task of 教育股 with 经费中心
// cooperating, both still open before the task's 完成时限: a case running when that changes.
func TestRecordPlanContributionOpen(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	pa := anon.as("pa01")
	var plan struct{ ID string }
	if code := pa.do("POST", "/api/v1/plans", map[string]any{"year": time.Now().In(calendar.CST).Year(), "title": "配合任务方案"}, &plan); code != 201 {
		t.Fatalf("create plan: %d", code)
	}
	var pt struct{ ID string }
	if code := pa.do("POST", "/api/v1/plans/"+plan.ID+"/tasks", map[string]any{"level1": "重点项目", "description": "配合测试任务",
		"lead_unit": "教育股", "cooperating_units": []string{"经费中心"},
		"due_on": time.Now().In(calendar.CST).AddDate(0, 0, 7).Format("2006-01-02")}, &pt); code != 201 {
		t.Fatalf("add a task: %d", code)
	}
	eventually(t, 20*time.Second, func() bool {
		var v struct {
			Task struct{ Waiting []struct{ Kind string } }
		}
		pa.do("GET", "/api/v1/plan-tasks/"+pt.ID, nil, &v)
		return len(v.Task.Waiting) == 2
	}, "the lead's task and the contribution open")
	settled(t, svc, pt.ID, "")
	recordHistory(t, svc, pt.ID, "plan_task_contribution_open")
}

// TestPlanTaskOverdueEscalatesByItself: with JIAOFU_PLAN_TASK_DUE_IN a task added is due seconds
// later and an admin's short ladders let its deadline run through HTTP on the real service: nobody
// declares it, so it reminds 教育股, reaches the section's leader on the 包保 chain (leader01) and
// the supervision office, whose accountability record opens, all by itself; the cooperating
// 经费中心's contribution, not given either, is reminded at its own section. The plan shows the
// task overdue. Declared and contributed late, the reminders and the leader's escalation close;
// the supervision office's stays for its decision.
func TestPlanTaskOverdueEscalatesByItself(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.PlanTaskDueIn = 4 * time.Second
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, pa, edu, jfzx, jcs := anon.as("admin"), anon.as("pa01"), anon.as("edu01"), anon.as("jfzx01"), anon.as("jcs01")
	for kind, rungs := range map[string][]map[string]string{
		casework.DeadlinePlanTaskDue:         {{"after": "0s", "target": "remind"}, {"after": "1s", "target": "superior"}, {"after": "2s", "target": "supervision"}},
		casework.DeadlinePlanContributionDue: {{"after": "0s", "target": "remind"}},
	} {
		if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+kind, map[string]any{"rungs": rungs}, nil); code != 200 {
			t.Fatalf("put the %s ladder: %d", kind, code)
		}
	}
	var plan struct{ ID string }
	if code := pa.do("POST", "/api/v1/plans", map[string]any{"year": time.Now().In(calendar.CST).Year(), "title": "逾期测试方案"}, &plan); code != 201 {
		t.Fatalf("create plan: %d", code)
	}
	var pt struct{ ID string }
	if code := pa.do("POST", "/api/v1/plans/"+plan.ID+"/tasks", map[string]any{"level1": "重点项目", "description": "逾期测试任务",
		"lead_unit": "教育股", "cooperating_units": []string{"经费中心"}, "due_on": time.Now().In(calendar.CST).Format("2006-01-02")}, &pt); code != 201 {
		t.Fatalf("add a task: %d", code)
	}

	var esc []store.Escalation
	byID := map[string]store.Escalation{}
	eventually(t, 60*time.Second, func() bool {
		var out struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?process=plan&case_id="+pt.ID, nil, &out)
		esc, byID = out.Items, map[string]store.Escalation{}
		for _, e := range esc {
			byID[e.ID] = e
		}
		return len(byID) == 4
	}, "the task's deadline climbing to the supervision office, and the contribution's reminder")
	var lead struct {
		ID string `json:"user_id"`
	}
	anon.as("leader01").do("GET", "/api/v1/me", nil, &lead)
	for id, want := range map[string]string{pt.ID + "-due-r1": "remind", pt.ID + "-due-r2": "superior", pt.ID + "-due-r3": "supervision",
		pt.ID + "-contribution-JS-JFZX-r1": "remind"} {
		e, ok := byID[id]
		if !ok || e.Target != want || !strings.Contains(e.Reason, "逾期未完成") {
			t.Errorf("escalation %s: %+v, want %s", id, e, want)
		}
	}
	if e := byID[pt.ID+"-due-r1"]; e.SourceUnit != "JS-JYG" {
		t.Errorf("the reminder: %+v, want at 教育股", e)
	}
	if e := byID[pt.ID+"-contribution-JS-JFZX-r1"]; e.SourceUnit != "JS-JFZX" {
		t.Errorf("the contribution's reminder: %+v, want at 经费中心", e)
	}
	if e := byID[pt.ID+"-due-r2"]; e.ResponsibleID != lead.ID {
		t.Errorf("the superior's escalation: %+v, want leader01 named", e)
	}
	var recs struct {
		Items []struct {
			CaseID string `json:"case_id"`
		}
	}
	eventually(t, 20*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?case_id="+pt.ID, nil, &recs)
		return len(recs.Items) == 1
	}, "the supervision office's accountability record")
	for _, task := range pa.planTasks(plan.ID) {
		if task.ID == pt.ID && (!task.Overdue || task.State != casework.PlanTaskInProgress) {
			t.Errorf("the plan's task: %+v, want overdue and in progress", task)
		}
	}

	declared := edu.waitTask(casework.KindPlanTask, pt.ID)
	edu.ok("POST", "/api/v1/tasks/"+declared.ID+"/complete", map[string]any{"outcome": "done",
		"fields": map[string]string{"summary": "已补做完成", "evidence_note": "工作台账"}})
	contribution := jfzx.waitTask(casework.KindPlanTaskContribution, pt.ID)
	jfzx.ok("POST", "/api/v1/tasks/"+contribution.ID+"/complete", map[string]any{"outcome": "contributed",
		"fields": map[string]string{"summary": "经费已拨付"}})
	eventually(t, 20*time.Second, func() bool {
		var out struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?process=plan&case_id="+pt.ID, nil, &out)
		open := map[string]bool{}
		for _, e := range out.Items {
			open[e.ID] = e.State == casework.EscalationOpen
		}
		return len(open) == 4 && !open[pt.ID+"-due-r1"] && !open[pt.ID+"-due-r2"] && open[pt.ID+"-due-r3"] &&
			!open[pt.ID+"-contribution-JS-JFZX-r1"]
	}, "the reminders and the leader's escalation closed, the supervision office's open")
}
