package console

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The pairing process (结对帮扶·一生一责任人·"六个一"): the pairings in scope with the form that
// pairs a teacher with a poverty-registered student, and a pairing's page — its handbook (this
// month's and term's six duties, done or owed), the student's growth record (成长档案) and the form
// that records a duty — and the progress map (dutymap.go).
func init() {
	addFieldLabels(map[string]string{"teacher_id": "帮扶教师", "done_on": "完成日期"})
	addLabels("pairing_per", map[string]string{"term": "每学期", "month": "每月"})
	for k, v := range map[string]func(params) string{
		"invalid/not_registered": fixed("该学生不是建档立卡学生，不能建立结对帮扶"),
		"invalid/unknown_value":  fixed("不是可选的值"),
		"duplicate/pairing":      fixed("该学生已有结对帮扶教师，不能重复结对。"),
	} {
		refusalText[k] = v
	}
	register(&module{
		Order: 32,
		Name:  casework.ProcessPairing,
		Nav: []navItem{{Order: 31, Label: "结对帮扶", Href: "/console/pairings", Show: anyone},
			{Order: 32, Label: "挂图作战", Href: "/console/duty-map", Show: anyone}},
		Routes: func(r *router) {
			r.get("/console/pairings", pairingList)
			r.post("/console/pairings", createPairing)
			r.get("/console/pairings/:id", showPairing)
			r.post("/console/pairings/:id/records", recordPairingDuty)
			r.get("/console/duty-map", dutyMapPage)
		},
		CaseLink: func(id string) string {
			if strings.HasPrefix(id, "pairing-") && !strings.HasPrefix(id, "pairing-school-") {
				return "/console/pairings/" + url.PathEscape(id)
			}
			return ""
		},
	})
}

var (
	pairFields   = []string{"student_id", "teacher_id"}
	recordFields = []string{"kind", "done_on", "content", "evidence_note"}
)

type pairingListView struct {
	Items              []store.Pairing
	CanNew             bool
	Students, Teachers []option
}

func pairingList(q *req) error { return q.pairings(newForm(pairFields...), fiber.StatusOK) }

func (q *req) pairings(f *form, status int) error {
	var out struct{ Items []store.Pairing }
	if err := q.get("/api/v1/pairings", &out); err != nil {
		return q.fail(err)
	}
	v := pairingListView{Items: out.Items, CanNew: somewhere(q.actor, api.MayPair)}
	if v.CanNew {
		opts, sts, err := q.studentOptions(api.MayPair)
		if err != nil {
			return q.fail(err)
		}
		v.Students = opts[:1]
		for i, st := range sts { // only poverty-registered students are paired
			if st.PovertyRegistered {
				v.Students = append(v.Students, opts[i+1])
			}
		}
		if v.Teachers, err = q.teacherOptions("请选择帮扶教师"); err != nil {
			return q.fail(err)
		}
	}
	return q.render(status, "pairings", "结对帮扶", v, f)
}

func createPairing(q *req) error {
	f := formFrom(q.c, pairFields...)
	var p store.Pairing
	if _, err := q.call(fiber.MethodPost, "/api/v1/pairings", map[string]string{"student_id": f.V("student_id"), "teacher_id": f.V("teacher_id")}, &p); err != nil {
		return q.pairings(f, f.failed(err))
	}
	return q.redirect("/console/pairings/"+url.PathEscape(p.ID), "结对帮扶已建立：帮扶教师按月、按学期完成“六个一”。")
}

type pairingPage struct {
	Pairing      store.Pairing         `json:"pairing"`
	Handbook     []api.PairingDuty     `json:"handbook"`
	GrowthRecord []store.PairingRecord `json:"growth_record"`
	Kinds        []option
	CanRecord    bool
	Today        string
}

func showPairing(q *req) error { return q.pairing(q.c.Params("id"), nil, fiber.StatusOK) }

func (q *req) pairing(id string, filled *form, status int) error {
	var p pairingPage
	if err := q.get("/api/v1/pairings/"+url.PathEscape(id), &p); err != nil {
		return q.fail(err)
	}
	p.Today = time.Now().In(calendar.CST).Format("2006-01-02")
	f := filled
	if f == nil {
		f = newForm(recordFields...)
		f.Values["done_on"] = p.Today
		for _, d := range p.Handbook { // the first duty still owed
			if !d.Done {
				f.Values["kind"] = d.Kind
				break
			}
		}
	}
	p.Kinds = []option{{"", "请选择帮扶事项"}}
	for _, k := range casework.DutyKinds {
		p.Kinds = append(p.Kinds, option{k, zh("pairing_outcome", k)})
	}
	p.CanRecord = p.Pairing.State == casework.PairingActive && (p.Pairing.TeacherID == q.actor.UserID ||
		q.actor.Can(casework.RoleSchoolStaff, p.Pairing.UnitPath) || q.actor.Can(casework.RoleSchoolLeader, p.Pairing.UnitPath))
	return q.render(status, "pairing", "结对帮扶 · "+p.Pairing.StudentName, p, f)
}

func recordPairingDuty(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, recordFields...)
	var p pairingPage
	if err := q.get("/api/v1/pairings/"+url.PathEscape(id), &p); err != nil {
		return q.fail(err)
	}
	// School staff and leaders record for the pairing's teacher; the teacher for themself.
	body := map[string]string{"kind": f.V("kind"), "done_on": f.V("done_on"), "content": f.V("content"),
		"evidence_note": f.V("evidence_note"), "teacher_id": p.Pairing.TeacherID}
	if _, err := q.call(fiber.MethodPost, "/api/v1/pairings/"+url.PathEscape(id)+"/records", body, nil); err != nil {
		return q.pairing(id, f, f.failed(err))
	}
	return q.redirect("/console/pairings/"+url.PathEscape(id), "已记录："+zh("pairing_outcome", f.V("kind"))+"。")
}
