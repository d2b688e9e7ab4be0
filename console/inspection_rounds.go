package console

import (
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The inspectorate's side of the inspection module: plan a round (term, kind, the units it
// visits, the day), and during the visit record its findings, one short form per finding, at a
// phone's width. Both forms post to the API (POST /api/v1/inspection-rounds and
// …/{id}/findings) and show its refusals next to their fields, in Chinese.
func init() {
	addLabels("round_kind", map[string]string{casework.RoundRoutine: "例行督查", casework.RoundSpecial: "专项督查"})
	addLabels("round", map[string]string{casework.RoundOpen: "进行中"})
	register(&module{
		Order: 31,
		Name:  casework.ProcessInspection + "-rounds",
		Nav: []navItem{{Order: 31, Label: "督查轮次", Href: "/console/inspection/rounds", Show: mayInspect},
			{Order: 32, Label: "督查考评", Href: "/console/inspection/evaluation", Show: anyone}},
		Routes: func(r *router) {
			r.get("/console/inspection/rounds", roundList)
			r.get("/console/inspection/rounds/new", newRound)
			r.post("/console/inspection/rounds", createRound)
			r.get("/console/inspection/rounds/:id", showRound)
			r.post("/console/inspection/rounds/:id/findings", recordFinding)
			r.get("/console/inspection/evaluation", evaluationPage)
		},
	})
}

func mayInspect(a access.Actor) bool { _, ok := api.Inspector(a); return ok }

type roundListView struct {
	Rows   []store.InspectionRound
	CanNew bool
}

func roundList(q *req) error {
	var out struct{ Items []store.InspectionRound }
	if err := q.get("/api/v1/inspection-rounds", &out); err != nil {
		return q.fail(err)
	}
	return q.render(fiber.StatusOK, "inspection_rounds", "督查轮次", roundListView{Rows: out.Items, CanNew: mayInspect(q.actor)}, nil)
}

var roundFields = []string{"term", "kind", "units", "planned_on"}

// unitChoice is one unit a round may visit, ticked or not.
type unitChoice struct {
	Code, Name string
	Township   bool // a township central school (乡镇中心学校)
	Checked    bool
}

type roundFormView struct {
	Kinds  []option
	Units  []unitChoice
	Chosen []string
	Today  string
}

func newRound(q *req) error {
	f := newForm(roundFields...)
	f.Values["term"] = currentTerm()
	f.Values["kind"] = casework.RoundRoutine
	f.Values["planned_on"] = time.Now().In(calendar.CST).Format("2006-01-02")
	return q.roundForm(f, nil, fiber.StatusOK)
}

// roundUnits lists the units the user may inspect: township central schools first, then the
// schools and kindergartens, in the order of their paths.
func (q *req) roundUnits(chosen []string) ([]unitChoice, error) {
	var us struct{ Items []store.Unit }
	if err := q.get("/api/v1/admin/org-units", &us); err != nil {
		return nil, err
	}
	role, _ := api.Inspector(q.actor)
	var town, rest []unitChoice
	for _, u := range us.Items {
		if u.Kind != store.KindTownshipSchool && u.Kind != store.KindSchool && u.Kind != store.KindKindergarten {
			continue
		}
		if !q.actor.Can(role.Role, u.Path) {
			continue
		}
		c := unitChoice{Code: u.Code, Name: u.Name, Township: u.Kind == store.KindTownshipSchool, Checked: slices.Contains(chosen, u.Code)}
		if c.Township {
			town = append(town, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(town, rest...), nil
}

func (q *req) roundForm(f *form, chosen []string, status int) error {
	units, err := q.roundUnits(chosen)
	if err != nil {
		return q.fail(err)
	}
	v := roundFormView{Units: units, Chosen: chosen, Today: time.Now().In(calendar.CST).Format("2006-01-02")}
	for _, k := range casework.RoundKinds {
		v.Kinds = append(v.Kinds, option{k, zh("round_kind", k)})
	}
	return q.render(status, "inspection_round_new", "制定督查计划", v, f)
}

// multi is every value of a repeated form field (ticked checkboxes).
func multi(q *req, name string) []string {
	var out []string
	for _, v := range q.c.Request().PostArgs().PeekMulti(name) {
		if s := string(v); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func createRound(q *req) error {
	f := formFrom(q.c, roundFields...)
	units := multi(q, "units")
	if units == nil {
		units = []string{}
	}
	body := api.RoundRequest{Term: f.V("term"), Kind: f.V("kind"), Units: units, PlannedOn: f.V("planned_on")}
	var r store.InspectionRound
	if _, err := q.call(fiber.MethodPost, "/api/v1/inspection-rounds", body, &r); err != nil {
		return q.roundForm(f, units, f.failed(err))
	}
	return q.redirect("/console/inspection/rounds/"+url.PathEscape(r.ID), "督查计划已制定。督查时可在本页逐条记录问题。")
}

type roundPage struct {
	Round     store.InspectionRound
	Findings  []store.Finding
	CanRecord bool
	Units     []option
	Areas     []option
	Severity  []option
	Today     string
}

var findingFields = []string{"unit_code", "area", "description", "severity", "rectify_by"}

func showRound(q *req) error {
	return q.roundPage(q.c.Params("id"), newForm(findingFields...), fiber.StatusOK)
}

func (q *req) roundPage(id string, f *form, status int) error {
	var d struct {
		Round    store.InspectionRound `json:"round"`
		Findings []store.Finding       `json:"findings"`
	}
	if err := q.get("/api/v1/inspection-rounds/"+url.PathEscape(id), &d); err != nil {
		return q.fail(err)
	}
	p := roundPage{Round: d.Round, Findings: d.Findings, Today: time.Now().In(calendar.CST).Format("2006-01-02")}
	// The round's unit path is not sent; whoever holds the round's reviewing role at its unit records.
	for _, r := range q.actor.Roles {
		p.CanRecord = p.CanRecord || (r.Role == d.Round.ReviewerRole && (r.UnitCode == d.Round.UnitCode || r.Role == casework.RoleInspector))
	}
	p.Units = []option{{"", "请选择受检单位"}}
	for _, u := range d.Round.Units {
		p.Units = append(p.Units, option{u.Code, u.Name})
	}
	p.Areas = []option{{"", "请选择问题领域"}}
	for _, a := range casework.FindingAreas {
		p.Areas = append(p.Areas, option{a.Name, a.Label})
	}
	p.Severity = []option{{"", "请选择严重程度"}}
	for _, s := range casework.FindingSeverities {
		p.Severity = append(p.Severity, option{s.Name, s.Label})
	}
	if len(d.Round.Units) == 1 && f.V("unit_code") == "" {
		f.Values["unit_code"] = d.Round.Units[0].Code
	}
	return q.render(status, "inspection_round", "督查轮次 · "+termLabel(d.Round.Term), p, f)
}

func recordFinding(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, findingFields...)
	body := api.FindingRequest{UnitCode: f.V("unit_code"), Area: f.V("area"), Description: f.V("description"), Severity: f.V("severity"),
		RectifyBy: f.V("rectify_by")}
	status, err := q.call(fiber.MethodPost, "/api/v1/inspection-rounds/"+url.PathEscape(id)+"/findings", body, nil)
	if err != nil {
		return q.roundPage(id, f, f.failed(err))
	}
	msg := "问题已记录，已通知受检单位限期整改。"
	if status == fiber.StatusAccepted {
		msg = "已受理，问题稍后显示。"
	}
	return q.redirect("/console/inspection/rounds/"+url.PathEscape(id), msg)
}

type evaluationView struct {
	Report  *api.EvaluationReport
	Weights []option // area label, weight
	Points  []option // severity label, points
}

// evaluationPage shows a term's inspection evaluation (考评): every school's score by township,
// and beside it the findings it came from, area by area.
func evaluationPage(q *req) error {
	f := newForm("term")
	f.Values["term"] = currentTerm()
	if q.c.Context().QueryArgs().Has("term") {
		f.Values["term"] = q.c.Query("term")
	}
	var v evaluationView
	var rep api.EvaluationReport
	if err := q.get("/api/v1/reports/inspection-evaluation?"+url.Values{"term": {f.V("term")}}.Encode(), &rep); err != nil {
		st := f.failed(err)
		return q.render(st, "inspection_evaluation", "督查考评", v, f)
	}
	v.Report = &rep
	for _, a := range casework.FindingAreas {
		v.Weights = append(v.Weights, option{a.Label, itoa(rep.Weights[a.Name])})
	}
	for _, s := range casework.FindingSeverities {
		v.Points = append(v.Points, option{s.Label, itoa(rep.SeverityPoints[s.Name])})
	}
	return q.render(fiber.StatusOK, "inspection_evaluation", "督查考评 · "+termLabel(rep.Term), v, f)
}
