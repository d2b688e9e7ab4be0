package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
	"jiaofu/store"
)

// The escalation inbox (督办·问责): what deadlines escalated to the user's units; the supervision
// office (监察室) sees all and closes the escalations addressed to it with an accountability
// decision (问责) and its written reason.

var readersOfEscalations = []string{"supervision", "bureau_leader", "township_staff", "school_leader", "aid_center",
	"education_section", "pa_office", "inspector"}

var decisions = []string{"no_action", "reminder_talk", "circulated_criticism", "admonishment", "referred"}

func init() {
	register(&module{
		Order: 30,
		Label: "督办",
		Nav: []navItem{
			{Order: 30, Label: "督办·问责", Href: "/console/escalations", Show: roles(readersOfEscalations...)},
		},
		Routes: func(r *router) {
			r.get("/console/escalations", escalations)
			r.post("/console/escalations/:id/close", closeEscalation)
		},
	})
}

type escalationsView struct {
	Items     []store.Escalation
	State     string
	Process   string
	Target    string
	States    []option
	Processes []option
	Targets   []option
	Decisions []option
	CanClose  bool
	FailedID  string
	FailedF   *form
}

func escalations(q *req) error { return q.escalations(nil, "", fiber.StatusOK) }

// deskTarget is the target the inbox shows when none is asked for: the supervision office's desk
// opens on what is addressed to it (the reminders and superior escalations of other units are
// theirs to answer, behind the filter); everyone else sees everything addressed to their units.
func deskTarget(supervision bool) string {
	if supervision {
		return casework.TargetSupervision
	}
	return "all"
}

func (q *req) escalations(failed *form, failedID string, status int) error {
	supervision := has(q.actor, "supervision")
	v := escalationsView{State: q.c.Query("state", "open"), Process: q.c.Query("process"), Target: q.c.Query("target", deskTarget(supervision)),
		CanClose: supervision, FailedID: failedID, FailedF: failed}
	v.States = []option{{"open", "未处理"}, {"closed", "已处理"}, {"all", "全部"}}
	v.Processes = []option{{"", "全部业务"}}
	for _, p := range casework.Processes {
		v.Processes = append(v.Processes, option{p.Name, p.Label})
	}
	v.Targets = []option{{"all", "全部去向"}}
	for _, t := range []string{"supervision", "bureau_leader", "county_hq", "township_gov", "superior", "remind"} {
		v.Targets = append(v.Targets, option{t, zh("target", t)})
	}
	v.Decisions = []option{{"", "请选择处理决定"}}
	for _, d := range decisions {
		v.Decisions = append(v.Decisions, option{d, zh("decision", d)})
	}
	qs := url.Values{}
	if v.State != "all" {
		qs.Set("state", v.State)
	}
	if v.Process != "" {
		qs.Set("process", v.Process)
	}
	if v.Target != "all" && v.Target != "" {
		qs.Set("target", v.Target)
	}
	var out struct{ Items []store.Escalation }
	if err := q.get("/api/v1/escalations?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	v.Items = out.Items
	title := "督办·问责"
	if supervision {
		title = "监察室 · 督办事项"
	}
	return q.render(status, "escalations", title, v, failed)
}

func closeEscalation(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, "decision", "note")
	if _, err := q.call(fiber.MethodPost, "/api/v1/escalations/"+url.PathEscape(id)+"/close",
		map[string]string{"decision": f.V("decision"), "note": f.V("note")}, nil); err != nil {
		return q.escalations(f, id, f.failed(err))
	}
	return q.redirect("/console/escalations", "已作出处理决定："+zh("decision", f.V("decision"))+"。")
}
