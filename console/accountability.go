package console

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
	"jiaofu/store"
)

// The accountability desk (问责台, issue 16): the supervision office's one inbox, fed by every
// escalation addressed to it (each opens its record by itself); per item the case, the late
// unit, who answers for it on the 包保 chain and how long it has waited; the decision with its
// measures, persons and written note; organisational handling due within a month; the term's
// report by unit and measure.

func init() {
	addLabels("measure", pairs(casework.Measures()))
	addLabels("accountability", map[string]string{store.AccountabilityOpen: "待决定", store.AccountabilityDecided: "已决定"})
	addLabels("action", map[string]string{"accountability.opened": "进入问责台", "accountability.decided": "作出问责决定",
		"accountability.handling_done": "组织处理已落实"})
	addFieldLabels(map[string]string{"measures": "问责措施", "persons": "被问责人", "overdue": "逾期"})
	for k, fn := range map[string]func(params) string{
		"wrong_state/decided":          fixed("该问责事项已作出决定，不能重复决定。"),
		"wrong_state/no_handling":      fixed("该决定没有待落实的组织处理，或已记录落实情况。"),
		"wrong_state/handling_opening": fixed("组织处理的待办正在生成，请稍后再提交落实情况。"),
		"invalid/duplicate_measure":    fixed("同一问责措施只能选择一次"),
		"invalid/no_action_alone":      fixed("选择「不予问责」时不能同时选择其他措施"),
		"invalid/person_required":      fixed("对个人的问责措施须写明被问责人：该单位在包保责任链上没有责任人"),
		"invalid/person_name_post":     fixed("被问责人须写明姓名和职务，每行一人，如「张三 副校长」"),
	} {
		refusalText[k] = fn
	}
	register(&module{
		Order: 31,
		Label: "问责",
		Nav: []navItem{
			{Order: 31, Label: "问责台", Href: "/console/accountability", Show: roles(readersOfEscalations...)},
		},
		Routes: func(r *router) {
			r.get("/console/accountability", accountabilityDesk)
			r.get("/console/accountability/report", accountabilityReport)
			r.post("/console/accountability/:id/decide", decideAccountability)
			r.post("/console/accountability/:id/handling-done", handlingDone)
		},
	})
}

// apiAccountability is a record as the API gives it.
type apiAccountability struct {
	store.AccountabilityRecord
	Measures        []string       `json:"measures"`
	Persons         []store.Person `json:"persons"`
	WaitedSeconds   int64          `json:"waited_seconds"`
	HandlingOverdue bool           `json:"handling_overdue"`
}

// Waited says how long the record has waited (open) or waited until its decision, in words.
func (r apiAccountability) Waited() string {
	return waited(time.Duration(r.WaitedSeconds) * time.Second)
}

func waited(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "不到 1 分钟"
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d 小时", int(d.Hours()))
	}
	return fmt.Sprintf("%d 天", int(d.Hours()/24))
}

type measureGroup struct {
	Label    string
	Measures []option
}

type accountabilityDeskView struct {
	Items     []apiAccountability
	State     string
	Process   string
	Unit      string // a township school or school: it and everything under it
	Term      string
	Overdue   bool
	States    []option
	Processes []option
	Units     []option
	Groups    []measureGroup
	CanDecide bool
	FailedID  string
	FailedF   *form
}

// measureGroups are the two statutory lists and the rest, as the decision form offers them; an
// interview (约谈) is in the persons' list only once on the form.
func measureGroups() []measureGroup {
	opts := func(ls []casework.Label, skip string) []option {
		var out []option
		for _, l := range ls {
			if l.Name != skip {
				out = append(out, option{l.Name, l.Label})
			}
		}
		return out
	}
	return []measureGroup{{"对单位", opts(casework.UnitMeasures, "")}, {"对个人", opts(casework.PersonMeasures, "interview")},
		{"其他", opts(casework.OtherMeasures, "")}}
}

func accountabilityDesk(q *req) error {
	return q.accountabilityDesk(nil, "", fiber.StatusOK, store.AccountabilityOpen)
}

// accountabilityDesk renders the desk in the state the query asks for, else state: a refused
// form comes back among the records it was on (a handling's among the decided ones).
func (q *req) accountabilityDesk(failed *form, failedID string, status int, state string) error {
	v := accountabilityDeskView{State: q.c.Query("state", state), Process: q.c.Query("process"), Term: q.c.Query("term"),
		Overdue: q.c.Query("overdue") == "true", CanDecide: has(q.actor, "supervision"), FailedID: failedID, FailedF: failed, Groups: measureGroups()}
	v.States = []option{{store.AccountabilityOpen, "待决定"}, {store.AccountabilityDecided, "已决定"}, {"all", "全部"}}
	v.Processes = []option{{"", "全部业务"}}
	for _, p := range casework.Processes {
		v.Processes = append(v.Processes, option{p.Name, p.Label})
	}
	v.Unit = q.c.Query("unit")
	units, _, err := q.unitOptions()
	if err != nil {
		return q.fail(err)
	}
	v.Units = units
	qs := url.Values{}
	if v.State != "all" && v.State != "" {
		qs.Set("state", v.State)
	}
	for k, val := range map[string]string{"process": v.Process, "unit": v.Unit, "term": v.Term} {
		if val != "" {
			qs.Set(k, val)
		}
	}
	if v.Overdue {
		qs.Set("overdue", "true")
	}
	var out struct{ Items []apiAccountability }
	if err := q.get("/api/v1/accountability-records?"+qs.Encode(), &out); err != nil {
		return q.filterFailed(err, "accountability", "监察室 · 问责台", v)
	}
	v.Items = out.Items
	return q.render(status, "accountability", "监察室 · 问责台", v, failed)
}

// persons reads the form's persons, one a line: 姓名 职务 (or 姓名，职务).
func personsOf(text string) []map[string]string {
	var out []map[string]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.NewReplacer("，", " ", ",", " ", "、", " ").Replace(line))
		if line == "" {
			continue
		}
		name, post, _ := strings.Cut(line, " ")
		out = append(out, map[string]string{"name": strings.TrimSpace(name), "post": strings.TrimSpace(post)})
	}
	return out
}

func decideAccountability(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, "measures", "persons", "note")
	var measures []string
	if args := q.c.Request().PostArgs(); args != nil {
		for _, b := range args.PeekMulti("measures") {
			measures = append(measures, string(b))
		}
	}
	f.Values["measures"] = strings.Join(measures, ",")
	body := map[string]any{"measures": orNil(measures), "note": f.V("note")}
	if ps := personsOf(q.c.FormValue("persons")); len(ps) > 0 {
		body["persons"] = ps
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/accountability-records/"+url.PathEscape(id)+"/decision", body, nil); err != nil {
		var ae *apiError
		if asAPI(err, &ae) { // measures[1], persons[0]: next to the list's field
			ae.Field = indexRe.ReplaceAllString(ae.Field, "")
		}
		return q.accountabilityDesk(f, id, f.failed(err), store.AccountabilityOpen)
	}
	labels := make([]string, len(measures))
	for i, m := range measures {
		labels[i] = zh("measure", m)
	}
	return q.redirect("/console/accountability", "已作出问责决定："+strings.Join(labels, "、")+"。")
}

func orNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func handlingDone(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, "note")
	if _, err := q.call(fiber.MethodPost, "/api/v1/accountability-records/"+url.PathEscape(id)+"/handling-done",
		map[string]string{"note": f.V("note")}, nil); err != nil {
		return q.accountabilityDesk(f, id+"/handling", f.failed(err), store.AccountabilityDecided)
	}
	return q.redirect("/console/accountability?state=decided", "已记录组织处理落实情况。")
}

type reportCell struct {
	Measure string
	Count   int
}

type reportRow struct {
	UnitCode, UnitName string
	Cells              []int
	Total              int
}

type accountabilityReportView struct {
	Term     string
	Open     int
	Decided  int
	Measures []option
	Rows     []reportRow
	Totals   []int
	Overdue  []apiAccountability
}

func accountabilityReport(q *req) error {
	term := q.c.Query("term", store.TermOf(time.Now()))
	var out struct {
		Term     string
		Open     int
		Decided  int
		Rows     []store.AccountabilityCount
		Measures map[string]int
		Overdue  []apiAccountability `json:"overdue_handling"`
	}
	if err := q.get("/api/v1/reports/accountability?term="+url.QueryEscape(term), &out); err != nil {
		return q.filterFailed(err, "accountability_report", "问责情况统计", accountabilityReportView{Term: term})
	}
	v := accountabilityReportView{Term: out.Term, Open: out.Open, Decided: out.Decided, Overdue: out.Overdue}
	col := map[string]int{}
	for _, m := range casework.Measures() {
		if out.Measures[m.Name] > 0 {
			col[m.Name] = len(v.Measures)
			v.Measures = append(v.Measures, option{m.Name, m.Label})
		}
	}
	v.Totals = make([]int, len(v.Measures))
	row := map[string]int{}
	for _, c := range out.Rows {
		i, ok := row[c.UnitCode]
		if !ok {
			i = len(v.Rows)
			row[c.UnitCode] = i
			v.Rows = append(v.Rows, reportRow{UnitCode: c.UnitCode, UnitName: c.UnitName, Cells: make([]int, len(v.Measures))})
		}
		if j, ok := col[c.Measure]; ok {
			v.Rows[i].Cells[j] += c.Count
			v.Rows[i].Total += c.Count
			v.Totals[j] += c.Count
		}
	}
	return q.render(fiber.StatusOK, "accountability_report", "问责情况统计 · "+termLabel(out.Term), v, nil)
}
