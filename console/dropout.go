package console

import (
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The dropout persuasion process (控辍保学·劝返): the ledger, opening a case, and a case's page
// with its attempts and the forms to log an attempt, record an outcome or report an absence.

var dropoutStates = []string{"open", "township_supervising", "county_supervising", "consolidating", "closing", "closed"}

// Roles that may work a case (the workflow checks the unit; this only decides what is shown).
var dropoutWorkers = []string{"teacher", "school_staff", "school_leader", "township_staff"}

func init() {
	addLabels("method", map[string]string{"home_visit": "家访", "phone": "电话", "other": "其他"})
	register(&module{
		Order: 20,
		Name:  "dropout",
		Nav: []navItem{
			{Order: 20, Label: "控辍台账", Href: "/console/dropout/cases", Show: anyone},
		},
		Routes: func(r *router) {
			r.get("/console/dropout/cases", dropoutLedger)
			r.get("/console/dropout/cases/new", newDropoutCase)
			r.post("/console/dropout/cases", createDropoutCase)
			r.get("/console/dropout/cases/:id", showDropoutCase)
			r.post("/console/dropout/cases/:id/attempts", logAttempt)
			r.post("/console/dropout/cases/:id/outcome", recordOutcome)
			r.post("/console/dropout/cases/:id/absences", recordAbsence)
		},
		Facts: func(q *req, t apiTask) (template.HTML, error) {
			var d dropoutDetail
			if err := q.get("/api/v1/dropout-cases/"+url.PathEscape(t.CaseID), &d); err != nil {
				return "", err
			}
			return q.partial("facts_dropout", d)
		},
		CaseLink: func(id string) string {
			if strings.HasPrefix(id, "dropout-") {
				return "/console/dropout/cases/" + url.PathEscape(id)
			}
			return ""
		},
	})
}

type dropoutDetail struct {
	Case     store.DropoutCase      `json:"case"`
	Attempts []store.DropoutAttempt `json:"attempts"`
	Tasks    []apiTask              `json:"tasks"`
	Timeline []store.AuditEntry     `json:"timeline"`
	Status   *struct {
		TownshipDueAt     *time.Time `json:"township_due_at"`
		CountyDueAt       *time.Time `json:"county_due_at"`
		ConsolidationEnds *time.Time `json:"consolidation_ends"`
		Attempts          int        `json:"attempts"`
		Relapses          int        `json:"relapses"`
	} `json:"status"`
}

func dropoutLedger(q *req) error {
	v := ledgerView{Unit: q.c.Query("unit"), State: q.c.Query("state")}
	v.States = stateOptions("dropout", dropoutStates)
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
		Items  []store.DropoutCase
		Counts map[string]int
	}
	if err := q.get("/api/v1/dropout-cases?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	var rows [][2]string
	var items []store.DropoutCase
	for _, c := range out.Items {
		rows = append(rows, [2]string{c.UnitName, c.State})
		if v.State == "" || c.State == v.State {
			items = append(items, c)
		}
	}
	v.tally("dropout", dropoutStates, rows)
	v.Rows = items
	v.CanNew = somewhere(q.actor, api.MayOpenDropoutCase)
	return q.render(fiber.StatusOK, "dropout_ledger", "控辍保学台账", v, nil)
}

var dropoutFields = []string{"student_id", "reason", "last_attended_on"}

func newDropoutCase(q *req) error {
	f := newForm(dropoutFields...)
	f.Values["student_id"] = q.c.Query("student")
	return q.dropoutForm(f, fiber.StatusOK)
}

func (q *req) dropoutForm(f *form, status int) error {
	students, _, err := q.studentOptions(api.MayOpenDropoutCase)
	if err != nil {
		return q.fail(err)
	}
	today := time.Now().In(calendar.CST).Format("2006-01-02")
	return q.render(status, "dropout_new", "新建劝返案件", struct {
		Students []option
		Today    string
	}{students, today}, f)
}

func createDropoutCase(q *req) error {
	f := formFrom(q.c, dropoutFields...)
	body := api.DropoutRequest{StudentID: f.V("student_id"), Reason: f.V("reason"), LastAttendedOn: f.V("last_attended_on")}
	if f.checked(api.DropoutErrors(body)) {
		return q.dropoutForm(f, fiber.StatusBadRequest)
	}
	var dc store.DropoutCase
	status, err := q.call(fiber.MethodPost, "/api/v1/dropout-cases", body, &dc)
	if err != nil {
		return q.dropoutForm(f, f.failed(err))
	}
	if status == fiber.StatusAccepted {
		return q.redirect("/console/dropout/cases", "案件正在建立，稍后刷新即可看到。")
	}
	return q.redirect("/console/dropout/cases/"+url.PathEscape(dc.ID), "劝返案件已建立，已通知责任教师首次联系。")
}

type dropoutPage struct {
	dropoutDetail
	AttemptF, OutcomeF, AbsenceF *form
	CanWork                      bool
	CanAttempt                   bool
	CanOutcome                   bool
	CanAbsence                   bool
	Methods                      []option
	Outcomes                     []option
	Today                        string
}

var (
	attemptFields = []string{"method", "notes", "visitors"}
	outcomeFields = []string{"outcome", "note", "receiving_school"}
	absenceFields = []string{"date", "note"}
)

func showDropoutCase(q *req) error { return q.dropoutCase(q.c.Params("id"), nil, fiber.StatusOK) }

// dropoutCase renders a case; filled is the form that was just refused (its values and errors).
func (q *req) dropoutCase(id string, filled *form, status int) error {
	var d dropoutDetail
	if err := q.get("/api/v1/dropout-cases/"+url.PathEscape(id), &d); err != nil {
		return q.fail(err)
	}
	p := dropoutPage{dropoutDetail: d, Today: time.Now().In(calendar.CST).Format("2006-01-02")}
	p.AttemptF, p.OutcomeF, p.AbsenceF = newForm(attemptFields...), newForm(outcomeFields...), newForm(absenceFields...)
	p.AttemptF.Prefix, p.OutcomeF.Prefix, p.AbsenceF.Prefix = "attempt-", "outcome-", "absence-"
	p.AttemptF.Values["method"] = "home_visit"
	p.AbsenceF.Values["date"] = p.Today
	if filled != nil {
		switch filled.Prefix {
		case "attempt-":
			p.AttemptF = filled
		case "outcome-":
			p.OutcomeF = filled
		case "absence-":
			p.AbsenceF = filled
		}
	}
	for _, r := range dropoutWorkers {
		p.CanWork = p.CanWork || q.actor.Can(r, d.Case.UnitPath)
	}
	st := d.Case.State
	p.CanAttempt = p.CanWork && st != casework.DropoutClosed
	p.CanOutcome = p.CanWork && (st == casework.DropoutOpen || st == casework.DropoutTownship || st == casework.DropoutCountyHQ)
	p.CanAbsence = p.CanWork && st == casework.DropoutConsolidating
	p.Methods = []option{{"home_visit", "家访"}, {"phone", "电话"}, {"other", "其他"}}
	p.Outcomes = []option{{"", "请选择办理结果"}}
	for _, o := range []string{"returned", "transferred", "send_home", "vocational", "closed"} {
		p.Outcomes = append(p.Outcomes, option{o, zh("dropout_outcome", o)})
	}
	return q.render(status, "dropout_case", "劝返案件 · "+d.Case.StudentName, p, nil)
}

func logAttempt(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, attemptFields...)
	f.Prefix = "attempt-"
	visitors := []string{}
	for _, v := range strings.FieldsFunc(f.V("visitors"), func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ';' || r == '；' }) {
		if v = strings.TrimSpace(v); v != "" {
			visitors = append(visitors, v)
		}
	}
	body := api.AttemptRequest{Method: f.V("method"), Notes: f.V("notes"), Visitors: visitors}
	if f.checked(api.AttemptErrors(body)) {
		return q.dropoutCase(id, f, fiber.StatusBadRequest)
	}
	var out struct {
		FirstContact bool `json:"first_contact"`
	}
	status, err := q.call(fiber.MethodPost, "/api/v1/dropout-cases/"+url.PathEscape(id)+"/attempts", body, &out)
	if err != nil {
		return q.dropoutCase(id, f, f.failed(err))
	}
	msg := "劝返记录已保存。"
	if out.FirstContact {
		msg = "劝返记录已保存，首次联系待办已自动办结。"
	}
	if status == fiber.StatusAccepted {
		msg = "已受理，记录稍后显示。"
	}
	return q.redirect("/console/dropout/cases/"+url.PathEscape(id), msg)
}

func recordOutcome(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, outcomeFields...)
	f.Prefix = "outcome-"
	body := map[string]string{"outcome": f.V("outcome"), "note": f.V("note")}
	if f.V("receiving_school") != "" {
		body["receiving_school"] = f.V("receiving_school")
	}
	status, err := q.call(fiber.MethodPost, "/api/v1/dropout-cases/"+url.PathEscape(id)+"/outcome", body, nil)
	if err != nil {
		return q.dropoutCase(id, f, f.failed(err))
	}
	msg := "已记录办理结果：" + zh("dropout_outcome", f.V("outcome")) + "。"
	if f.V("outcome") == "closed" {
		msg = "结案申请已提交，等待校领导审批。"
	}
	if status == fiber.StatusAccepted {
		msg = "已受理，记录稍后显示。"
	}
	return q.redirect("/console/dropout/cases/"+url.PathEscape(id), msg)
}

func recordAbsence(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, absenceFields...)
	f.Prefix = "absence-"
	status, err := q.call(fiber.MethodPost, "/api/v1/dropout-cases/"+url.PathEscape(id)+"/absences",
		map[string]string{"date": f.V("date"), "note": f.V("note")}, nil)
	if err != nil {
		return q.dropoutCase(id, f, f.failed(err))
	}
	msg := "已报告缺勤，案件重新进入劝返。"
	if status == fiber.StatusAccepted {
		msg = "已受理，记录稍后显示。"
	}
	return q.redirect("/console/dropout/cases/"+url.PathEscape(id), msg)
}
