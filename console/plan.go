package console

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The work plan's pages (任务清单·包保联系·动态销号): the plans and a plan's list with every
// task's state (the PA office adds a task or imports a list there), a task with its progress
// reports (its sections report; declaring done and the review are the task page's), the plan's
// report a bureau leader reads at a glance, the 包保 contacts and the schools' term duties.
func init() {
	addFieldLabels(map[string]string{"level1": "一级指标", "level2": "二级指标", "lead_unit": "牵头股室",
		"cooperating_units": "配合股室", "due_on": "完成时限", "percent": "完成进度", "year": "年度", "title": "标题", "doc_no": "文号",
		"contacted_on": "联系日期", "outlet": "刊发媒体",
		"month": "月份"})
	addLabels("action", map[string]string{"org_unit.alias_set": "记录单位别名"})
	for _, m := range casework.ContactMethods {
		addLabels("contact_method", map[string]string{m.Name: m.Label})
	}
	for _, k := range casework.SchoolDutyKinds {
		addLabels("school_duty", map[string]string{k.Name: k.Label})
	}
	for k, v := range map[string]func(params) string{
		"invalid/bool":       fixed("请填 true 或 false"),
		"invalid/csv":        func(p params) string { return "文件第 " + p["row"] + " 行不是规范的 CSV 格式" },
		"invalid/xlsx":       fixed("无法读取该 Excel 文件，请另存为 .xlsx 后重试"),
		"invalid/file_type":  fixed("请上传 .csv 或 .xlsx 文件"),
		"invalid/file_size":  fixed("文件不能超过 4 MB"),
		"invalid/unreadable": fixed("文件无法读取，请重新选择"),
		"invalid/row_errors": func(p params) string {
			return "清单中有 " + p["count"] + " 行存在错误，未导入任何任务，请按下表修改后重新导入"
		},
		"invalid/duplicate_contact": fixed("您当天对该单位的联系已登记过"),
		"invalid/month_format":      fixed("月份格式应为 2026-09"),
		"invalid/not_responsible": func(p params) string {
			return "您不是" + p["unit"] + "的包保责任人，不能登记对它的联系"
		},
		"invalid/percent":        fixed("完成进度应为 0 到 100 的整数"),
		"invalid/year":           fixed("请填写四位年份，如 2026"),
		"invalid/no_unit_named":  func(p params) string { return nameOr(p, "没有这个单位") },
		"invalid/ambiguous_unit": func(p params) string { return "有多个单位名为「" + p["name"] + "」，请填写单位代码" },
		"invalid/not_section":    func(p params) string { return "「" + p["name"] + "」不是局机关股室或二级单位" },
		"invalid/lead_cooperating": func(p params) string {
			return "「" + p["name"] + "」是牵头股室，不能同时作为配合股室"
		},
		"invalid/beyond_plan":          func(p params) string { return "完成时限距方案年度（" + p["year"] + "）超过五年" },
		"invalid/missing_column":       fixed("表头缺少这一列"),
		"invalid/duplicate_row":        func(p params) string { return "与第 " + p["first"] + " 行重复" },
		"invalid/no_tasks":             fixed("表头下没有任务"),
		"invalid/too_many_rows":        func(p params) string { return "一次最多导入 " + p["max"] + " 项任务" },
		"invalid/empty":                fixed("文件是空的"),
		"not_in_scope/not_on_task":     fixed("只有该任务的牵头或配合股室可以报送进展"),
		"wrong_state/plan_task_closed": fixed("该任务已销号，不再报送进展"),
		"invalid/unit_name":            fixed("这是一个单位本身的名称，不能作为别的单位的别名"),
		"duplicate/plan_task":          fixed("该任务已在清单中"),
	} {
		refusalText[k] = v
	}
	register(&module{
		Order: 5,
		Name:  casework.ProcessPlan,
		Nav: []navItem{{Order: 5, Label: "任务清单", Href: "/console/plans", Show: anyone},
			{Order: 6, Label: "包保联系", Href: "/console/contacts", Show: anyone},
			{Order: 7, Label: "学校任务", Href: "/console/school-duties", Show: anyone}},
		Routes: func(r *router) {
			r.get("/console/plans", planList)
			r.post("/console/plans", createPlan)
			r.get("/console/plans/:id", showPlan)
			r.post("/console/plans/:id/tasks", addPlanTask)
			r.post("/console/plans/:id/import", importPlanTasks)
			r.get("/console/plans/:id/report", planReportPage)
			r.get("/console/plans/:id/report.xlsx", planReportXLSX)
			r.get("/console/plan-tasks/:id", showPlanTask)
			r.post("/console/plan-tasks/:id/reports", reportPlanTask)
			r.get("/console/contacts", contactsPage)
			r.post("/console/contacts", recordContact)
			r.get("/console/school-duties", schoolDutiesPage)
			r.post("/console/school-duties/:id/records", recordSchoolDuty)
		},
		Facts: func(q *req, t apiTask) (template.HTML, error) {
			var d PlanTaskDetail
			if err := q.get("/api/v1/plan-tasks/"+url.PathEscape(t.CaseID), &d); err != nil {
				return "", err
			}
			return q.partial("facts_plan_task", d)
		},
		OutcomeFields: map[string][]outcomeField{
			casework.KindPlanTask: {
				{Name: "summary", Label: "完成情况", Outcomes: []string{casework.OutcomeDone}, Textarea: true, Hint: "写明任务完成的情况"},
				{Name: "evidence_note", Label: "佐证材料说明", Outcomes: []string{casework.OutcomeDone}, Textarea: true, Hint: "如文件、台账、照片的名称与份数"},
			},
			casework.KindPlanTaskContribution: {
				{Name: "summary", Label: "配合工作情况", Outcomes: []string{casework.OutcomeContributed}, Textarea: true},
			},
		},
		// A rejected declaration goes back to the lead section with a new deadline.
		RejectSendsBack: []string{casework.KindPlanTaskReview},
		CaseLink: func(id string) string {
			if strings.HasPrefix(id, "plantask-") {
				return "/console/plan-tasks/" + url.PathEscape(id)
			}
			return ""
		},
	})
}

func nameOr(p params, s string) string {
	if p["name"] != "" {
		return "没有名为「" + p["name"] + "」的单位"
	}
	return s
}

func keepsPlans(a access.Actor) bool { return a.Has(casework.RolePAOffice) }

type planListView struct {
	Rows    []store.Plan
	CanKeep bool
}

var planFields = []string{"year", "title", "doc_no"}

func planList(q *req) error {
	f := newForm(planFields...)
	f.Values["year"] = itoa(time.Now().In(calendar.CST).Year())
	return q.planList(f, fiber.StatusOK)
}

func (q *req) planList(f *form, status int) error {
	var out struct{ Items []store.Plan }
	if err := q.get("/api/v1/plans", &out); err != nil {
		return q.fail(err)
	}
	return q.render(status, "plans", "任务清单", planListView{Rows: out.Items, CanKeep: keepsPlans(q.actor)}, f)
}

func createPlan(q *req) error {
	f := formFrom(q.c, planFields...)
	year := 0
	for _, c := range f.V("year") {
		if c < '0' || c > '9' {
			year = -1
			break
		}
		year = year*10 + int(c-'0')
	}
	var p store.Plan
	if _, err := q.call(fiber.MethodPost, "/api/v1/plans", map[string]any{"year": year, "title": f.V("title"), "doc_no": f.V("doc_no")}, &p); err != nil {
		return q.planList(f, f.failed(err))
	}
	return q.redirect("/console/plans/"+url.PathEscape(p.ID), "工作方案已建立。可逐项添加任务，或导入任务清单。")
}

type planDetail struct {
	Plan  store.Plan         `json:"plan"`
	Tasks []api.PlanTaskView `json:"tasks"`
}

type planPage struct {
	planDetail
	CanKeep   bool
	Sections  []option
	RowErrors []rowErrorView
	Preview   []api.PlanTaskRequest
	Groups    []planGroup
}

// planGroup is the list's tasks under one 一级指标, as the annex groups them.
// rowErrorView is one row's error, in Chinese.
type rowErrorView struct {
	api.RowError
	Text, Detail string
}

func withReason(p map[string]string, reason string) map[string]string {
	out := map[string]string{"reason": reason}
	for k, v := range p {
		out[k] = v
	}
	return out
}

type planGroup struct {
	Level1 string
	Tasks  []api.PlanTaskView
}

var planTaskFields = []string{"level1", "level2", "description", "lead_unit", "cooperating_units", "due_on"}

func showPlan(q *req) error {
	return q.planPage(q.c.Params("id"), newForm(planTaskFields...), nil, nil, fiber.StatusOK)
}

func (q *req) planPage(id string, f *form, rowErrs []api.RowError, preview []api.PlanTaskRequest, status int) error {
	var d planDetail
	if err := q.get("/api/v1/plans/"+url.PathEscape(id), &d); err != nil {
		return q.fail(err)
	}
	p := planPage{planDetail: d, CanKeep: keepsPlans(q.actor), Preview: preview}
	for _, e := range rowErrs {
		fe := translateField(&apiError{Code: "invalid", Field: e.Field, Message: e.Message, Params: withReason(e.Params, e.Reason)})
		p.RowErrors = append(p.RowErrors, rowErrorView{RowError: e, Text: fe.Message, Detail: fe.Detail})
	}
	for _, t := range d.Tasks {
		if n := len(p.Groups); n == 0 || p.Groups[n-1].Level1 != t.Level1 {
			p.Groups = append(p.Groups, planGroup{Level1: t.Level1})
		}
		p.Groups[len(p.Groups)-1].Tasks = append(p.Groups[len(p.Groups)-1].Tasks, t)
	}
	if p.CanKeep {
		var us struct{ Items []store.Unit }
		if err := q.get("/api/v1/admin/org-units", &us); err != nil {
			return q.fail(err)
		}
		p.Sections = []option{{"", "请选择牵头股室"}}
		for _, u := range us.Items {
			if u.Kind == store.KindSection {
				p.Sections = append(p.Sections, option{u.Code, u.Name})
			}
		}
	}
	return q.render(status, "plan", d.Plan.Title, p, f)
}

func addPlanTask(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, planTaskFields...)
	coop := strings.FieldsFunc(f.V("cooperating_units"), func(r rune) bool { return strings.ContainsRune("、，,;； ", r) })
	if coop == nil {
		coop = []string{}
	}
	body := api.PlanTaskRequest{Level1: f.V("level1"), Level2: f.V("level2"), Description: f.V("description"), LeadUnit: f.V("lead_unit"),
		CooperatingUnits: coop, DueOn: f.V("due_on")}
	if _, err := q.call(fiber.MethodPost, "/api/v1/plans/"+url.PathEscape(id)+"/tasks", body, nil); err != nil {
		return q.planPage(id, f, nil, nil, f.failed(err))
	}
	return q.redirect("/console/plans/"+url.PathEscape(id), "任务已列入清单，已通知牵头股室和配合股室。")
}

// importPlanTasks sends the chosen file to the API's import as it came, and shows every row's
// errors in a table (nothing is imported then), or what a dry run found.
func importPlanTasks(q *req) error {
	id := q.c.Params("id")
	f := newForm(planTaskFields...)
	fh, err := q.c.FormFile("file")
	if err != nil {
		f.Errors["file"] = &fieldError{Message: "请选择 .csv 或 .xlsx 文件"}
		f.Banner = &uiError{Message: "请选择要导入的任务清单文件。"}
		return q.planPage(id, f, nil, nil, fiber.StatusBadRequest)
	}
	file, err := fh.Open()
	if err != nil {
		return q.fail(err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, 5<<20))
	if err != nil {
		return q.fail(err)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	dry := q.c.FormValue("dry_run") == "true"
	if dry {
		_ = w.WriteField("dry_run", "true")
	}
	part, err := w.CreateFormFile("file", fh.Filename)
	if err != nil {
		return q.fail(err)
	}
	if _, err := part.Write(data); err != nil {
		return q.fail(err)
	}
	if err := w.Close(); err != nil {
		return q.fail(err)
	}
	var out struct {
		Count   int                   `json:"count"`
		Tasks   []api.PlanTaskRequest `json:"tasks"`
		Created []string              `json:"created"`
		Already int                   `json:"already_on_list"`
	}
	_, resp, err := q.callRaw(fiber.MethodPost, "/api/v1/plans/"+url.PathEscape(id)+"/tasks/import", w.FormDataContentType(), buf.Bytes())
	if err != nil {
		// The refusal's body lists the rows beside the error.
		var rows struct {
			RowErrors []api.RowError `json:"row_errors"`
		}
		_ = json.Unmarshal(resp.Body, &rows)
		status := f.failed(err)
		return q.planPage(id, f, rows.RowErrors, nil, status)
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return q.fail(err)
	}
	if dry {
		f.Banner = &uiError{Message: "检查通过：共 " + itoa(out.Count) + " 项任务，可以导入。"}
		return q.planPage(id, f, nil, out.Tasks, fiber.StatusOK)
	}
	msg := "已导入 " + itoa(len(out.Created)) + " 项任务。"
	if out.Already > 0 {
		msg += itoa(out.Already) + " 项已在清单中，未重复导入。"
	}
	return q.redirect("/console/plans/"+url.PathEscape(id), msg)
}

type PlanTaskDetail struct {
	Task    api.PlanTaskView       `json:"task"`
	Reports []store.PlanTaskReport `json:"reports"`
	Tasks   []apiTask              `json:"tasks"`
}

type planTaskPage struct {
	PlanTaskDetail
	CanReport bool
	Open      []apiTask // the human tasks it waits on: the kit's task page acts on them
}

var planReportFields = []string{"summary", "evidence_note", "percent"}

func showPlanTask(q *req) error {
	return q.planTaskPage(q.c.Params("id"), newForm(planReportFields...), fiber.StatusOK)
}

func (q *req) planTaskPage(id string, f *form, status int) error {
	var d PlanTaskDetail
	if err := q.get("/api/v1/plan-tasks/"+url.PathEscape(id), &d); err != nil {
		return q.fail(err)
	}
	p := planTaskPage{PlanTaskDetail: d}
	units := append([]string{d.Task.LeadUnit}, d.Task.CooperatingUnits...)
	p.CanReport = d.Task.State != casework.PlanTaskClosed && slices.ContainsFunc(q.actor.Roles, func(r access.Role) bool {
		return slices.Contains(units, r.UnitCode)
	})
	for _, t := range d.Tasks {
		if t.State == casework.TaskOpen {
			p.Open = append(p.Open, t)
		}
	}
	if f.V("percent") == "" {
		f.Values["percent"] = itoa(d.Task.Percent)
	}
	return q.render(status, "plan_task", "清单任务", p, f)
}

func reportPlanTask(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, planReportFields...)
	body := map[string]any{"summary": f.V("summary"), "evidence_note": f.V("evidence_note")}
	if n, ok := wholeNumber(f.V("percent")); ok {
		body["percent"] = n
	} else if f.V("percent") != "" {
		body["percent"] = -1 // the API words it
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/plan-tasks/"+url.PathEscape(id)+"/reports", body, nil); err != nil {
		return q.planTaskPage(id, f, f.failed(err))
	}
	return q.redirect("/console/plan-tasks/"+url.PathEscape(id), "进展已报送，局扶贫办可随时查看。")
}

func wholeNumber(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func planReportPage(q *req) error {
	var rep api.PlanReportOf
	if err := q.get("/api/v1/plans/"+url.PathEscape(q.c.Params("id"))+"/report", &rep); err != nil {
		return q.fail(err)
	}
	return q.render(fiber.StatusOK, "plan_report", "完成情况 · "+rep.Plan.Title, rep, nil)
}

func planReportXLSX(q *req) error {
	_, resp, err := q.callRaw(fiber.MethodGet, "/api/v1/plans/"+url.PathEscape(q.c.Params("id"))+"/report?format=xlsx", "", nil)
	if err != nil {
		return q.fail(err)
	}
	q.c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	q.c.Set(fiber.HeaderContentDisposition, `attachment; filename="plan-report.xlsx"`)
	return q.c.Send(resp.Body)
}

type contactsView struct {
	Month   string
	Duties  []api.ContactDutyView
	Records []store.Contact
	Mine    []option // the units the user answers for, for the form
	Methods []option
	Today   string
}

var contactFields = []string{"unit_code", "contacted_on", "method", "summary", "evidence_note"}

func contactsPage(q *req) error {
	f := newForm(contactFields...)
	f.Values["contacted_on"] = time.Now().In(calendar.CST).Format("2006-01-02")
	f.Values["method"] = "visit"
	return q.contactsPage(f, fiber.StatusOK)
}

func (q *req) contactsPage(f *form, status int) error {
	v := contactsView{Month: q.c.Query("month"), Today: time.Now().In(calendar.CST).Format("2006-01-02")}
	qs := url.Values{}
	if v.Month != "" {
		qs.Set("month", v.Month)
	}
	var duties struct{ Items []api.ContactDutyView }
	if err := q.get("/api/v1/contact-duties?"+qs.Encode(), &duties); err != nil {
		return q.fail(err)
	}
	v.Duties = duties.Items
	var recs struct{ Items []store.Contact }
	if err := q.get("/api/v1/contacts?"+qs.Encode(), &recs); err != nil {
		return q.fail(err)
	}
	v.Records = recs.Items
	for _, d := range v.Duties {
		if d.ResponsibleID == q.actor.UserID {
			v.Mine = append(v.Mine, option{d.UnitCode, d.UnitName})
		}
	}
	for _, m := range casework.ContactMethods {
		v.Methods = append(v.Methods, option{m.Name, m.Label})
	}
	return q.render(status, "contacts", "包保联系", v, f)
}

func recordContact(q *req) error {
	f := formFrom(q.c, contactFields...)
	body := map[string]string{}
	for _, k := range contactFields {
		body[k] = f.V(k)
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/contacts", body, nil); err != nil {
		return q.contactsPage(f, f.failed(err))
	}
	return q.redirect("/console/contacts", "联系记录已登记，局扶贫办和乡镇中心学校可直接查看。")
}

type schoolDutiesView struct {
	Term     string
	Items    []api.SchoolDutyView
	CanWrite map[string]bool // duty id → the user records for its school
	FailedID string
	Blank    *form // every row's form but the one just refused (F)
	Today    string
}

var schoolDutyFields = []string{"done_on", "title", "outlet", "evidence_note"}

func schoolDutiesPage(q *req) error {
	return q.schoolDuties(newForm(schoolDutyFields...), "", fiber.StatusOK)
}

func (q *req) schoolDuties(f *form, failedID string, status int) error {
	var out struct {
		Term  string               `json:"term"`
		Items []api.SchoolDutyView `json:"items"`
	}
	if err := q.get("/api/v1/school-duties", &out); err != nil {
		return q.fail(err)
	}
	v := schoolDutiesView{Term: out.Term, Items: out.Items, CanWrite: map[string]bool{}, FailedID: failedID,
		Today: time.Now().In(calendar.CST).Format("2006-01-02")}
	for _, d := range out.Items {
		for _, r := range q.actor.Roles {
			if r.UnitCode == d.UnitCode && (r.Role == casework.RoleSchoolStaff || r.Role == casework.RoleSchoolLeader) {
				v.CanWrite[d.ID] = true
			}
		}
	}
	if f.V("done_on") == "" {
		f.Values["done_on"] = v.Today
	}
	v.Blank = newForm(schoolDutyFields...)
	v.Blank.Values["done_on"] = v.Today
	return q.render(status, "school_duties", "学校任务", v, f)
}

func recordSchoolDuty(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, schoolDutyFields...)
	body := map[string]string{}
	for _, k := range schoolDutyFields {
		body[k] = f.V(k)
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/school-duties/"+url.PathEscape(id)+"/records", body, nil); err != nil {
		return q.schoolDuties(f, id, f.failed(err))
	}
	return q.redirect("/console/school-duties", "已登记。")
}
