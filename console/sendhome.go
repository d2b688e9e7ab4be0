package console

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The send-to-home process (送教上门·一人一案): the ledger of plans with visits and hours this
// term against the quota, the form that starts a plan, and a plan's page with its visits, the
// visit form and ending the plan.

func init() {
	addLabels("period", map[string]string{casework.PeriodWeek: "每周", casework.PeriodMonth: "每月"})
	addFieldLabels(map[string]string{"visited_on": "送教日期", "minutes": "时长（分钟）", "content": "送教内容", "teacher_ids": "送教教师",
		"disability_type": "残疾类型", "disability_grade": "残疾等级", "goals": "教育目标", "visits_per_period": "每周期次数",
		"period": "周期", "min_minutes": "每次最短时长", "teacher2": "第二位送教教师"})
	for k, v := range map[string]func(params) string{
		"invalid/too_short":       func(p params) string { return "每次送教至少 " + p["min"] + " 分钟" },
		"invalid/not_on_plan":     fixed("该教师不是本方案的送教教师"),
		"invalid/duplicate_visit": fixed("这次送教已经记录过了（同一天、同样的教师），不能重复记录"),
		"invalid/before_plan":     func(p params) string { return "日期不能早于建立之日（" + p["start"] + "）" },
		"invalid/period_format":   fixed("周期应写成每周、每月、每两周或每若干天（如：每 10 天）"),
		"invalid/count_range":     func(p params) string { return "应在 " + p["min"] + " 到 " + p["max"] + " 之间" },
		"invalid/duplicate_entry": fixed("同一项不能重复选择"),
		"duplicate/sendhome_plan": fixed("该学生已有正在执行的送教上门方案，不能重复建立。"),
	} {
		refusalText[k] = v
	}
	register(&module{
		Order: 30,
		Name:  casework.ProcessSendHome,
		Nav:   []navItem{{Order: 30, Label: "送教上门", Href: "/console/sendhome/plans", Show: anyone}},
		Routes: func(r *router) {
			r.get("/console/sendhome/plans", sendHomeLedger)
			r.get("/console/sendhome/plans/new", newSendHomePlan)
			r.post("/console/sendhome/plans", createSendHomePlan)
			r.get("/console/sendhome/plans/:id", showSendHomePlan)
			r.post("/console/sendhome/plans/:id/visits", logSendHomeVisit)
			r.post("/console/sendhome/plans/:id/end", endSendHomePlan)
		},
		CaseLink: func(id string) string {
			if strings.HasPrefix(id, "sendhome-") {
				return "/console/sendhome/plans/" + url.PathEscape(id)
			}
			return ""
		},
	})
}

// shPlan is a plan as the API shows it.
type shPlan struct {
	store.SendHomePlan
	Teachers         []string `json:"teacher_ids"`
	TermMinutesQuota int      `json:"term_minutes_quota"`
}

// Behind says the plan owes visits this term.
func (p shPlan) Behind() bool { return p.State != casework.SendHomeEnded && p.TermVisits < p.TermQuota }

// Hours is the term's minutes as class hours of 45 minutes.
func (p shPlan) Hours() string { return strconv.FormatFloat(float64(p.TermMinutes)/45, 'f', 1, 64) }

// QuotaHours is the term's minutes owed as class hours.
func (p shPlan) QuotaHours() string {
	return strconv.FormatFloat(float64(p.TermMinutesQuota)/45, 'f', 1, 64)
}

// Percent is the term's visits against its quota, 0–100.
func (p shPlan) Percent() int {
	if p.TermQuota == 0 {
		return 100
	}
	return min(100, p.TermVisits*100/p.TermQuota)
}

// PeriodLabel words the plan's period.
func (p shPlan) PeriodLabel() string { return periodWords(p.Period) }

// periodWords words a period as a clerk says it: week → 每周, 2w → 每 2 周, 10d → 每 10 天; a
// spec of another shape (seconds for demonstrations) as it is.
func periodWords(period string) string {
	if l := zh("period", period); l != period {
		return l
	}
	if n, unit, ok := countOf(period, periodUnits); ok {
		if n == "1" && unit == "周" {
			return "每周"
		}
		return "每 " + n + " " + unit
	}
	return "每 " + period
}

// periodSpec reads a period as a clerk may type it (每周, 每月, 每两周, 每2周, 10天) into the
// API's words (week, month, 2w, 10d); anything else goes to the API as typed, which refuses
// it beside the field.
func periodSpec(typed string) string {
	v := strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(typed), " ", ""), "每")
	switch v {
	case "周", "一周", "1周", "星期", "个星期":
		return casework.PeriodWeek
	case "月", "一月", "个月", "1月", "1个月", "一个月":
		return casework.PeriodMonth
	case "两周", "二周":
		return "2w"
	}
	if n, unit, ok := countOf(v, periodWordUnits); ok {
		return n + unit
	}
	return strings.TrimSpace(typed)
}

// The units of a period: the API's suffixes with their words, and the words a clerk types.
var (
	periodUnits     = [][2]string{{"wd", "个工作日"}, {"w", "周"}, {"d", "天"}}
	periodWordUnits = [][2]string{{"个工作日", "wd"}, {"工作日", "wd"}, {"周", "w"}, {"天", "d"}}
)

// countOf splits s into a whole number and the unit of units it ends with, answering that unit's
// other name.
func countOf(s string, units [][2]string) (n, unit string, ok bool) {
	for _, u := range units {
		if num, found := strings.CutSuffix(s, u[0]); found {
			if k, err := strconv.Atoi(num); err == nil && k > 0 {
				return num, u[1], true
			}
		}
	}
	return "", "", false
}

type shLedger struct {
	ledgerView
	Plans []shPlan
}

func sendHomeLedger(q *req) error {
	v := shLedger{ledgerView: ledgerView{Unit: q.c.Query("unit"), State: q.c.Query("state")}}
	v.States = stateOptions("sendhome", casework.SendHomeStates)
	units, _, err := q.unitOptions()
	if err != nil {
		return q.fail(err)
	}
	v.Units = units
	qs := url.Values{}
	if v.Unit != "" {
		qs.Set("unit", v.Unit)
	}
	var out struct {
		Items []shPlan
	}
	if err := q.get("/api/v1/send-home-plans?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	var rows [][2]string
	for _, p := range out.Items {
		rows = append(rows, [2]string{p.UnitName, p.State})
		if v.State == "" || p.State == v.State {
			v.Plans = append(v.Plans, p)
		}
	}
	v.tally("sendhome", casework.SendHomeStates, rows)
	v.CanNew = somewhere(q.actor, api.MayStartSendHomePlan)
	return q.render(fiber.StatusOK, "sendhome_ledger", "送教上门台账", v, nil)
}

// A new plan names its lead teacher and, optionally, a second one (teacher2): a refusal of
// teacher_ids[1] is shown beside the lead's select, which names the list.
var shPlanFields = []string{"student_id", "disability_type", "disability_grade", "teacher_ids", "teacher2", "goals",
	"visits_per_period", "period", "min_minutes"}

func newSendHomePlan(q *req) error {
	f := newForm(shPlanFields...)
	visits, period, minMinutes := q.con.api.SendHomeDefaults()
	f.Values["student_id"] = q.c.Query("student")
	f.Values["visits_per_period"], f.Values["period"], f.Values["min_minutes"] = strconv.Itoa(visits), periodWords(period), strconv.Itoa(minMinutes)
	return q.sendHomePlanForm(f, fiber.StatusOK)
}

func (q *req) sendHomePlanForm(f *form, status int) error {
	students, sts, err := q.studentOptions(api.MayStartSendHomePlan)
	if err != nil {
		return q.fail(err)
	}
	// Children with a disability on record come first: they are whom plans are for.
	var disabled, others []option
	for i, st := range sts {
		o := students[i+1] // students[0] is the prompt
		if st.Disability == "" {
			others = append(others, o)
			continue
		}
		o.Label += " · 残疾：" + st.Disability
		disabled = append(disabled, o)
	}
	students = append(append(students[:1:1], disabled...), others...)
	teachers, err := q.teacherOptions("请选择送教教师")
	if err != nil {
		return q.fail(err)
	}
	second := append([]option{{"", "（不填）"}}, teachers[1:]...)
	return q.render(status, "sendhome_new", "新建送教上门方案", struct {
		Students, Teachers, Second, Periods []option
	}{students, teachers, second, []option{{casework.PeriodWeek, "每周"}, {casework.PeriodMonth, "每月"}}}, f)
}

// teacherOptions lists the teachers in the user's scope for a select, with their school when
// the scope has several.
func (q *req) teacherOptions(prompt string) ([]option, error) {
	ts, err := q.con.api.TeachersInScope(q.c.UserContext(), q.actor)
	if err != nil {
		return nil, err
	}
	schools := map[string]bool{}
	for _, t := range ts {
		schools[t.UnitCode] = true
	}
	out := []option{{"", prompt}}
	for _, t := range ts {
		label := t.Name
		if len(schools) > 1 {
			label = t.UnitName + " · " + t.Name
		}
		out = append(out, option{t.UserID, label})
	}
	return out, nil
}

func createSendHomePlan(q *req) error {
	f := formFrom(q.c, shPlanFields...)
	body := map[string]any{"student_id": f.V("student_id"), "disability_type": f.V("disability_type"),
		"disability_grade": f.V("disability_grade"), "goals": f.V("goals"), "period": periodSpec(f.V("period"))}
	teachers := []string{}
	for _, id := range []string{f.V("teacher_ids"), f.V("teacher2")} {
		if id != "" {
			teachers = append(teachers, id)
		}
	}
	body["teacher_ids"] = teachers
	for _, n := range []string{"visits_per_period", "min_minutes"} {
		v, err := strconv.Atoi(f.V(n))
		if err != nil {
			f.put(n, translateField(errorf(n, "json_type", "%s: a whole number", n)))
			return q.sendHomePlanForm(f, fiber.StatusBadRequest)
		}
		body[n] = v
	}
	var out struct {
		ID string `json:"id"`
	}
	status, err := q.call(fiber.MethodPost, "/api/v1/send-home-plans", body, &out)
	if err != nil {
		return q.sendHomePlanForm(f, f.failed(err))
	}
	if status == fiber.StatusAccepted || out.ID == "" {
		return q.redirect("/console/sendhome/plans", "送教方案正在建立，稍后刷新即可看到。")
	}
	return q.redirect("/console/sendhome/plans/"+url.PathEscape(out.ID), "送教方案已建立：首次送教即评估，请送教教师按周期记录。")
}

type shDetail struct {
	Plan     shPlan                `json:"plan"`
	Visits   []store.SendHomeVisit `json:"visits"`
	Tasks    []apiTask             `json:"tasks"`
	Timeline []store.AuditEntry    `json:"timeline"`
	Status   *struct {
		Periods []struct {
			N      int       `json:"n"`
			Start  time.Time `json:"start"`
			End    time.Time `json:"end"`
			Visits int       `json:"visits"`
			Met    bool      `json:"met"`
		} `json:"periods"`
	} `json:"status"`
}

type shPage struct {
	shDetail
	VisitF, EndF *form
	CanVisit     bool
	CanEnd       bool
	Reasons      []option
	Today        string
}

var (
	shVisitFields = []string{"visited_on", "minutes", "content", "evidence_note"}
	shEndFields   = []string{"reason", "note"}
)

func showSendHomePlan(q *req) error { return q.sendHomePlan(q.c.Params("id"), nil, fiber.StatusOK) }

func (q *req) sendHomePlan(id string, filled *form, status int) error {
	var d shDetail
	if err := q.get("/api/v1/send-home-plans/"+url.PathEscape(id), &d); err != nil {
		return q.fail(err)
	}
	p := shPage{shDetail: d, Today: time.Now().In(calendar.CST).Format("2006-01-02")}
	p.VisitF, p.EndF = newForm(shVisitFields...), newForm(shEndFields...)
	p.VisitF.Prefix, p.EndF.Prefix = "visit-", "end-"
	p.VisitF.Values["visited_on"] = p.Today
	p.VisitF.Values["minutes"] = strconv.Itoa(d.Plan.MinMinutes)
	if filled != nil {
		if filled.Prefix == "end-" {
			p.EndF = filled
		} else {
			p.VisitF = filled
		}
	}
	open := d.Plan.State != casework.SendHomeEnded
	p.CanVisit = open && (slices.Contains(d.Plan.Teachers, q.actor.UserID) || q.actor.Can(casework.RoleSchoolStaff, d.Plan.UnitPath) ||
		q.actor.Can(casework.RoleSchoolLeader, d.Plan.UnitPath))
	p.CanEnd = open && api.MayStartSendHomePlan(q.actor, d.Plan.UnitPath)
	p.Reasons = []option{{"", "请选择原因"}}
	for _, r := range casework.SendHomeEndReasons {
		p.Reasons = append(p.Reasons, option{r, zh("outcome", r)})
	}
	return q.render(status, "sendhome_plan", "送教上门 · "+d.Plan.StudentName, p, nil)
}

func logSendHomeVisit(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, shVisitFields...)
	f.Prefix = "visit-"
	minutes, err := strconv.Atoi(strings.TrimSpace(f.V("minutes")))
	if err != nil {
		f.put("minutes", translateField(errorf("minutes", "json_type", "minutes: a whole number of minutes")))
		return q.sendHomePlan(id, f, fiber.StatusBadRequest)
	}
	var d shDetail
	if err := q.get("/api/v1/send-home-plans/"+url.PathEscape(id), &d); err != nil {
		return q.fail(err)
	}
	// The visit is by the person logging it when they are one of the plan's teachers, otherwise
	// by the plan's teachers.
	teachers := d.Plan.Teachers
	if slices.Contains(teachers, q.actor.UserID) {
		teachers = []string{q.actor.UserID}
	}
	body := api.VisitRequest{VisitedOn: f.V("visited_on"), Minutes: minutes, Content: f.V("content"), EvidenceNote: f.V("evidence_note"), TeacherIDs: teachers}
	var out struct {
		Assessment bool `json:"assessment"`
		QuotaMet   bool `json:"quota_met"`
	}
	status, err := q.call(fiber.MethodPost, "/api/v1/send-home-plans/"+url.PathEscape(id)+"/visits", body, &out)
	if err != nil {
		return q.sendHomePlan(id, f, f.failed(err))
	}
	msg := "送教记录已保存。"
	switch {
	case status == fiber.StatusAccepted:
		msg = "已受理，记录稍后显示。"
	case out.Assessment:
		msg = "首次送教（评估）已记录，方案进入送教阶段。"
	case out.QuotaMet:
		msg = "送教记录已保存，本周期次数已达标。"
	}
	return q.redirect("/console/sendhome/plans/"+url.PathEscape(id), msg)
}

func endSendHomePlan(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, shEndFields...)
	f.Prefix = "end-"
	status, err := q.call(fiber.MethodPost, "/api/v1/send-home-plans/"+url.PathEscape(id)+"/end",
		map[string]string{"reason": f.V("reason"), "note": f.V("note")}, nil)
	if err != nil {
		return q.sendHomePlan(id, f, f.failed(err))
	}
	msg := "送教方案已结束：" + zh("outcome", f.V("reason")) + "。"
	if status == fiber.StatusAccepted {
		msg = "已受理，稍后刷新即可看到。"
	}
	return q.redirect("/console/sendhome/plans/"+url.PathEscape(id), msg)
}
