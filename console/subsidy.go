package console

import (
	"html/template"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The subsidy process (资助申请·公示·发放): applications, publicity batches, the ledger and the
// omission report. The public publicity pages are in public.go.

func init() {
	addLabels("objection", map[string]string{"open": "待复核", "decided": "已复核"})
	addLabels("stage", map[string]string{"preschool": "学前", "primary": "小学", "junior": "初中", "senior": "普通高中", "vocational": "中职"})
	addLabels("field", map[string]string{"fields.evidence_note": "困难证明说明（修改后）", "fields.fraud": "是否认定为套取骗取", "confirm_reject": "确认不同意"})
	// The subsidy rules' refusals in a clerk's words, by reason (kept here, beside the process).
	refusalText["invalid/wrong_stage"] = func(p params) string {
		return p["student"] + " 在读" + p["grade"] + "年级（" + zh("stage", p["stage"]) + "），该项目只面向" + zh("stage", p["programme_stage"]) + "学生"
	}
	refusalText["invalid/exclusive"] = func(p params) string {
		if p["group"] == "living" {
			return p["student"] + " 在 " + p["term"] + " 学期已有「" + p["holds"] + "」：每名学生每学期只能享受一项生活补助"
		}
		return p["student"] + " 在 " + p["term"] + " 学期已有「" + p["holds"] + "」，与该项目不能同时享受"
	}
	refusalText["invalid/reason_required"] = fixed("退回修改或不同意时必须写明原因，申请人会看到")
	refusalText["invalid/unchanged"] = fixed("没有修改：请先修改困难证明说明，再重新提交")
	refusalText["invalid/unknown_channel"] = func(p params) string {
		return "不是可用的发放方式，请从列表中选择（" + p["channels"] + "）；发放方式由系统管理员维护"
	}
	register(&module{
		Order: 10,
		Name:  "subsidy",
		Nav: []navItem{
			{Order: 10, Label: "资助申请", Href: "/console/subsidy/applications", Show: anyone},
			{Order: 11, Label: "公示", Href: "/console/subsidy/batches", Show: anyone},
			{Order: 12, Label: "资助台账", Href: "/console/subsidy/ledger", Show: roles("township_staff", "aid_center", "education_section",
				"pa_office", "inspector", "supervision", "bureau_leader", "school_leader", "school_staff")},
			{Order: 13, Label: "遗漏名单", Href: "/console/subsidy/omissions", Show: roles("school_staff", "school_leader", "township_staff",
				"aid_center", "education_section", "pa_office", "inspector", "supervision", "bureau_leader")},
		},
		Routes: func(r *router) {
			r.get("/console/subsidy/applications", listApplications)
			r.get("/console/subsidy/applications/new", newApplication)
			r.post("/console/subsidy/applications", createApplication)
			r.get("/console/subsidy/applications/:id", showApplication)
			r.get("/console/subsidy/batches", listBatches)
			r.get("/console/subsidy/batches/new", newBatch)
			r.post("/console/subsidy/batches", createBatch)
			r.get("/console/subsidy/batches/:id", showBatch)
			r.get("/console/subsidy/ledger", subsidyLedger)
			r.get("/console/subsidy/omissions", omissions)
		},
		Facts: subsidyFacts,
		OutcomeFields: map[string][]outcomeField{
			"subsidy_resubmit": {{Name: "evidence_note", Label: "困难证明说明（修改后）", Outcomes: []string{"resubmit"}, Textarea: true,
				Hint: "重新提交时填写修改后的说明", FromFacts: func(q *req, t apiTask) string {
					var a appDetail
					if q.get("/api/v1/subsidy-applications/"+url.PathEscape(t.CaseID), &a) == nil {
						return a.EvidenceNote
					}
					return ""
				}}},
			"objection_review": {{Name: "fraud", Label: "是否认定为套取骗取", Default: "false", Outcomes: []string{"uphold"},
				Hint: "认定为套取骗取的，自动报监察室问责", Options: func(*req) ([]option, error) {
					return []option{{"false", "否"}, {"true", "是：报监察室问责"}}, nil
				}}},
			"publicity_signoff": {{Name: "channel", Label: "发放方式", Default: "一卡通", Outcomes: []string{"approve"},
				Hint: "管理员维护可选的发放方式", Options: func(q *req) ([]option, error) {
					var out struct{ Items []string }
					if err := q.get("/api/v1/admin/disbursement-channels", &out); err != nil {
						return nil, err
					}
					opts := make([]option, len(out.Items))
					for i, n := range out.Items {
						opts[i] = option{n, n}
					}
					return opts, nil
				}}},
		},
		CaseLink: func(id string) string {
			switch {
			case strings.HasPrefix(id, "subsidy-"):
				return "/console/subsidy/applications/" + url.PathEscape(id)
			case strings.HasPrefix(id, "publicity-"):
				return "/console/subsidy/batches/" + url.PathEscape(id)
			}
			return ""
		},
	})
}

// currentTerm is the term of today: autumn (1) from August, spring (2) from February.
func currentTerm() string {
	now := time.Now().In(calendar.CST)
	y, m := now.Year(), now.Month()
	switch {
	case m >= time.August:
		return itoa(y) + "-" + itoa(y+1) + "-1"
	case m >= time.February:
		return itoa(y-1) + "-" + itoa(y) + "-2"
	default:
		return itoa(y-1) + "-" + itoa(y) + "-1"
	}
}

type appDetail struct {
	store.Application
	Disbursement *store.Disbursement `json:"disbursement"`
	Tasks        []apiTask           `json:"tasks"`
	History      []store.AuditEntry  `json:"history"`
	Holdings     []store.Holding     `json:"holdings"`
}

type batchDetail struct {
	Batch      store.Batch          `json:"batch"`
	Entries    []store.Application  `json:"entries"`
	Objections []casework.Objection `json:"objections"`
	Highlight  string               `json:"-"`
	PublicURL  string               `json:"-"`
	Timeline   []store.AuditEntry   `json:"-"`
}

// entryNamed is the id of the entry an objection review's title names: by its subject, or by its id
// in the titles of tasks opened before they named the student.
func (b batchDetail) entryNamed(named string) string {
	for _, e := range b.Entries {
		if e.Subject() == named || e.ID == named {
			return e.ID
		}
	}
	return named
}

// EntrySubject names an objection's entry for people, not by its id.
func (b batchDetail) EntrySubject(id string) string {
	for _, e := range b.Entries {
		if e.ID == id {
			return e.Subject()
		}
	}
	return "—"
}

func subsidyFacts(q *req, t apiTask) (template.HTML, error) {
	switch {
	case strings.HasPrefix(t.CaseID, "publicity-"):
		var b batchDetail
		if err := q.get("/api/v1/publicity-batches/"+url.PathEscape(t.CaseID), &b); err != nil {
			return "", err
		}
		if named, ok := strings.CutPrefix(t.Title, "公示异议复核："); ok {
			b.Highlight = b.entryNamed(named)
		}
		return q.partial("facts_batch", b)
	default:
		var a appDetail
		if err := q.get("/api/v1/subsidy-applications/"+url.PathEscape(t.CaseID), &a); err != nil {
			return "", err
		}
		return q.partial("facts_application", a)
	}
}

type appListView struct {
	Items  []store.Application
	Term   string
	State  string
	States []option
	CanNew bool
}

func listApplications(q *req) error {
	v := appListView{Term: q.c.Query("term"), State: q.c.Query("state"), CanNew: somewhere(q.actor, api.MayApply)}
	v.States = stateOptions("app", []string{"submitted", "in_review", "returned", "reviewed", "in_publicity", "signed_off", "disbursed", "rejected"})
	qs := url.Values{"limit": {"500"}}
	if v.Term != "" {
		qs.Set("term", v.Term)
	}
	if v.State != "" {
		qs.Set("state", v.State)
	}
	var out struct{ Items []store.Application }
	if err := q.get("/api/v1/subsidy-applications?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	v.Items = out.Items
	return q.render(fiber.StatusOK, "subsidy_applications", "资助申请", v, nil)
}

func stateOptions(cat string, states []string) []option {
	out := []option{{"", "全部状态"}}
	for _, s := range states {
		out = append(out, option{s, zh(cat, s)})
	}
	return out
}

type applyView struct {
	Students   []option
	Programmes []option
}

var applyFields = []string{"student_id", "programme", "term", "evidence_note"}

func newApplication(q *req) error {
	f := newForm(applyFields...)
	f.Values["term"] = currentTerm()
	f.Values["student_id"] = q.c.Query("student")
	return q.applyForm(f, fiber.StatusOK)
}

func (q *req) applyForm(f *form, status int) error {
	var v applyView
	var sts []store.Student
	var err error
	if v.Students, sts, err = q.studentOptions(api.MayApply); err != nil {
		return q.fail(err)
	}
	var ps struct{ Items []store.Programme }
	if err := q.get("/api/v1/admin/subsidy-programmes", &ps); err != nil {
		return q.fail(err)
	}
	v.Programmes = applyProgrammes(ps.Items, sts, f.V("student_id"))
	return q.render(status, "subsidy_apply", "发起资助申请", v, f)
}

// applyProgrammes are the programmes the apply form offers: the active ones of the chosen
// student's stage, or, before a student is chosen, of the stages of the students the user may
// apply for (a primary school is offered no junior or senior programme). The API checks the
// stage and the one-per-term groups anyway; this keeps the form from offering what it refuses.
func applyProgrammes(ps []store.Programme, sts []store.Student, studentID string) []option {
	stages := map[string]bool{}
	for _, st := range sts {
		if studentID == "" || st.ID == studentID {
			stages[st.Stage()] = true
		}
	}
	out := []option{{"", "请选择资助项目"}}
	for _, p := range ps {
		if p.Active && stages[p.Stage] {
			out = append(out, option{p.Code, p.Name + "（" + yuan(p.AmountFen) + "）"})
		}
	}
	return out
}

// studentOptions lists the students in the user's scope for whom may (the API's rule of the
// form's action) holds, for a select, and those students.
func (q *req) studentOptions(may func(access.Actor, string) bool) ([]option, []store.Student, error) {
	var all struct{ Items []store.Student }
	if err := q.get("/api/v1/admin/students", &all); err != nil {
		return nil, nil, err
	}
	var sts struct{ Items []store.Student }
	for _, s := range all.Items {
		if may(q.actor, s.UnitPath) {
			sts.Items = append(sts.Items, s)
		}
	}
	schools := map[string]bool{}
	for _, s := range sts.Items {
		schools[s.UnitCode] = true
	}
	out := []option{{"", "请选择学生"}}
	for _, s := range sts.Items {
		label := s.Name + " · " + itoa(s.Grade) + "年级" + s.Class + "（" + zh("stage", s.Stage()) + "）"
		if len(schools) > 1 {
			label = s.UnitName + " · " + label
		}
		if s.PovertyRegistered {
			label += " · 建档立卡"
		}
		out = append(out, option{s.ID, label})
	}
	return out, sts.Items, nil
}

func createApplication(q *req) error {
	f := formFrom(q.c, applyFields...)
	body := api.ApplicationRequest{StudentID: f.V("student_id"), Programme: f.V("programme"), Term: f.V("term"), EvidenceNote: f.V("evidence_note")}
	if f.checked(q.con.api.ApplicationErrors(q.c.UserContext(), body, q.povertyRegistered(body.StudentID))) {
		return q.applyForm(f, fiber.StatusBadRequest)
	}
	var app store.Application
	if _, err := q.call(fiber.MethodPost, "/api/v1/subsidy-applications", body, &app); err != nil {
		return q.applyForm(f, f.failed(err))
	}
	return q.redirect("/console/subsidy/applications/"+url.PathEscape(app.ID), "申请已提交，等待学校审核。")
}

// povertyRegistered tells whether the student is poverty-registered (建档立卡), for the evidence
// note's check; true for a student the user's list does not hold, whom the API checks.
func (q *req) povertyRegistered(studentID string) bool {
	var st store.Student
	if studentID == "" || q.get("/api/v1/admin/students/"+url.PathEscape(studentID), &st) != nil {
		return true
	}
	return st.PovertyRegistered
}

func showApplication(q *req) error {
	var a appDetail
	if err := q.get("/api/v1/subsidy-applications/"+url.PathEscape(q.c.Params("id")), &a); err != nil {
		return q.fail(err)
	}
	return q.render(fiber.StatusOK, "subsidy_application", "资助申请 · "+a.StudentName, a, nil)
}

type batchListView struct {
	Items  []store.Batch
	State  string
	States []option
	CanNew bool
}

func listBatches(q *req) error {
	v := batchListView{State: q.c.Query("state"), CanNew: somewhere(q.actor, api.MayPublish)}
	v.States = stateOptions("batch", []string{casework.BatchOpen, casework.BatchAwaitingObjections, casework.BatchAwaitingSignoff, casework.BatchSignedOff, casework.BatchClosed})
	qs := url.Values{}
	if v.State != "" {
		qs.Set("state", v.State)
	}
	var out struct{ Items []store.Batch }
	if err := q.get("/api/v1/publicity-batches?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	v.Items = out.Items
	return q.render(fiber.StatusOK, "subsidy_batches", "公示", v, nil)
}

type batchFormView struct{ Schools []option }

var batchFields = []string{"school_unit", "term"}

func newBatch(q *req) error {
	f := newForm(batchFields...)
	f.Values["term"] = currentTerm()
	return q.batchForm(f, fiber.StatusOK)
}

func (q *req) batchForm(f *form, status int) error {
	v := batchFormView{Schools: []option{{"", "请选择学校"}}}
	seen := map[string]bool{}
	for _, r := range q.actor.Roles {
		if (r.Role == "school_staff" || r.Role == "school_leader") && !seen[r.UnitCode] {
			seen[r.UnitCode] = true
			name := r.UnitCode
			var u store.Unit
			if q.get("/api/v1/admin/org-units/"+url.PathEscape(r.UnitCode), &u) == nil {
				name = u.Name
			}
			v.Schools = append(v.Schools, option{r.UnitCode, name + "（" + r.UnitCode + "）"})
		}
	}
	if len(v.Schools) == 2 && f.V("school_unit") == "" {
		f.Values["school_unit"] = v.Schools[1].Value
	}
	return q.render(status, "subsidy_batch_new", "发起公示", v, f)
}

func createBatch(q *req) error {
	f := formFrom(q.c, batchFields...)
	var out struct {
		ID           string   `json:"id"`
		Applications []string `json:"applications"`
	}
	status, err := q.call(fiber.MethodPost, "/api/v1/publicity-batches", map[string]string{"school_unit": f.V("school_unit"), "term": f.V("term")}, &out)
	if err != nil {
		return q.batchForm(f, f.failed(err))
	}
	if status == fiber.StatusAccepted {
		return q.redirect("/console/subsidy/batches", "公示名单正在生成，稍后刷新即可看到。")
	}
	return q.redirect("/console/subsidy/batches/"+url.PathEscape(out.ID), "已开始公示，共 "+itoa(len(out.Applications))+" 人。")
}

func showBatch(q *req) error {
	var b batchDetail
	if err := q.get("/api/v1/publicity-batches/"+url.PathEscape(q.c.Params("id")), &b); err != nil {
		return q.fail(err)
	}
	if b.Batch.State == casework.BatchOpen && b.Batch.EndsAt != nil && time.Now().Before(*b.Batch.EndsAt) {
		b.PublicURL = "/gongshi/" + url.PathEscape(b.Batch.ID)
	}
	var tl struct{ Items []store.AuditEntry }
	if q.get("/api/v1/cases/"+url.PathEscape(b.Batch.ID)+"/timeline", &tl) == nil {
		b.Timeline = tl.Items
	}
	return q.render(fiber.StatusOK, "subsidy_batch", "公示 · "+b.Batch.UnitName+" "+b.Batch.Term, b, nil)
}

// ledgerView is a 台账: counts by state, by school, and the rows.
type ledgerView struct {
	Unit    string
	Units   []option
	Term    string
	State   string
	States  []option
	Counts  []stateCount
	Total   int
	Schools []schoolRow
	Columns []option
	Rows    any
	CanNew  bool
}

type stateCount struct {
	State, Label string
	N            int
}

type schoolRow struct {
	Name   string
	Counts []int
	Total  int
}

// unitOptions lists the township schools and schools in the user's scope, for ledger filters.
func (q *req) unitOptions() ([]option, map[string]store.Unit, error) {
	var us struct{ Items []store.Unit }
	if err := q.get("/api/v1/admin/org-units", &us); err != nil {
		return nil, nil, err
	}
	out := []option{{"", "我的全部范围"}}
	byCode := map[string]store.Unit{}
	for _, u := range us.Items {
		if (u.Kind == store.KindTownshipSchool || u.Kind == store.KindSchool || u.Kind == store.KindKindergarten) && q.actor.Sees(u.Path) {
			label := u.Name
			if u.Kind != store.KindTownshipSchool {
				label = "　" + label
			}
			out = append(out, option{u.Code, label})
			byCode[u.Code] = u
		}
	}
	return out, byCode, nil
}

// tally fills a ledger's counts by state and by school from rows' (school, state) pairs.
func (v *ledgerView) tally(cat string, states []string, rows [][2]string) {
	idx := map[string]int{}
	for i, s := range states {
		idx[s] = i
		v.Columns = append(v.Columns, option{s, zh(cat, s)})
	}
	totals := make([]int, len(states))
	bySchool := map[string]*schoolRow{}
	for _, r := range rows {
		i, ok := idx[r[1]]
		if !ok {
			continue
		}
		totals[i]++
		row := bySchool[r[0]]
		if row == nil {
			row = &schoolRow{Name: r[0], Counts: make([]int, len(states))}
			bySchool[r[0]] = row
		}
		row.Counts[i]++
		row.Total++
		v.Total++
	}
	for i, s := range states {
		v.Counts = append(v.Counts, stateCount{s, zh(cat, s), totals[i]})
	}
	for _, row := range bySchool {
		v.Schools = append(v.Schools, *row)
	}
	sort.Slice(v.Schools, func(i, j int) bool { return v.Schools[i].Name < v.Schools[j].Name })
}

var appStates = []string{"submitted", "in_review", "returned", "reviewed", "in_publicity", casework.BatchAwaitingObjections, casework.BatchAwaitingSignoff,
	"signed_off", "disbursed", "rejected"}

// ledgerState is the state a ledger shows an application in: an entry still in_publicity once its
// batch's period is over shows what the batch waits for, not 公示中.
func ledgerState(a store.Application) string {
	if a.State == casework.AppInPublicity && (a.BatchState == casework.BatchAwaitingObjections || a.BatchState == casework.BatchAwaitingSignoff) {
		return a.BatchState
	}
	return a.State
}

// subsidyLedger is the subsidy 台账 of a township or the county: ?unit=, ?term=, ?state=.
func subsidyLedger(q *req) error {
	v := ledgerView{Unit: q.c.Query("unit"), Term: q.c.Query("term", currentTerm()), State: q.c.Query("state")}
	v.States = stateOptions("app", appStates)
	units, byCode, err := q.unitOptions()
	if err != nil {
		return q.fail(err)
	}
	v.Units = units
	qs := url.Values{"limit": {"1000"}}
	if v.Term != "" {
		qs.Set("term", v.Term)
	}
	var out struct{ Items []store.Application }
	if err := q.get("/api/v1/subsidy-applications?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	prefix := ""
	if u, ok := byCode[v.Unit]; ok {
		prefix = u.Path
	}
	var rows [][2]string
	var items []store.Application
	for _, a := range out.Items {
		if prefix != "" && !strings.HasPrefix(a.UnitPath, prefix) {
			continue
		}
		a.State = ledgerState(a)
		rows = append(rows, [2]string{a.UnitName, a.State})
		if v.State == "" || a.State == v.State {
			items = append(items, a)
		}
	}
	v.tally("app", appStates, rows)
	v.Rows = items
	return q.render(fiber.StatusOK, "subsidy_ledger", "资助台账", v, nil)
}

type omissionView struct {
	Term  string
	Items []omission
	Count int
	Err   *fieldError
}

// omission is a student of the report with what they hold for the term (in review, returned), and
// whether the user may apply for them (only their school's staff may).
type omission struct {
	store.Student
	Holdings []store.Holding `json:"holdings"`
	CanApply bool            `json:"-"`
}

// omissions is the 遗漏 report: registered students with no approved application this term.
func omissions(q *req) error {
	v := omissionView{Term: q.c.Query("term", currentTerm())}
	var out struct {
		Count int
		Items []omission
	}
	if err := q.get("/api/v1/reports/subsidy-omissions?term="+url.QueryEscape(v.Term), &out); err != nil {
		var ae *apiError
		if asAPI(err, &ae) && ae.Field == "term" {
			v.Err = translateField(ae)
			return q.render(fiber.StatusBadRequest, "subsidy_omissions", "遗漏名单", v, nil)
		}
		return q.fail(err)
	}
	for i := range out.Items {
		out.Items[i].CanApply = api.MayApply(q.actor, out.Items[i].UnitPath)
	}
	v.Items, v.Count = out.Items, out.Count
	return q.render(fiber.StatusOK, "subsidy_omissions", "遗漏名单", v, nil)
}
