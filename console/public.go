package console

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/workflows"
)

// The public publicity pages (资助公示), without login: the lists open now, and one list with an
// objection form per entry. Every list comes from api.Server.PublicListOf, which shows only what a
// public list may show (masked name, school, grade, class, programme, amount).

func init() {
	register(&module{
		Order: 50,
		Label: "公示",
		Routes: func(r *router) {
			r.publicGet("/gongshi", publicLists)
			r.publicGet("/gongshi/:id", publicList)
			r.publicPost("/gongshi/:id/objections", publicObjection)
		},
	})
}

type publicListsView struct {
	Items []struct {
		ID     string     `json:"id"`
		School string     `json:"school"`
		Term   string     `json:"term"`
		EndsAt *time.Time `json:"ends_at"`
	}
}

func publicLists(q *req) error {
	var v publicListsView
	if err := q.get("/public/publicity-batches", &v); err != nil {
		return q.fail(err)
	}
	return q.render(fiber.StatusOK, "public_lists", "学生资助公示", v, nil)
}

type publicListView struct {
	List     api.PublicList
	Entries  []publicEntry
	FailedID string // the entry whose objection form was refused
	FailedF  *form
	Banner   *uiError
}

// publicEntry is an entry as the page shows it: the public fields, and the API's opaque entry
// reference for the objection form (never the application's id, which names the student's record).
type publicEntry struct {
	api.PublicEntry
	Ref string
}

var objectionFields = []string{"entry", "reason", "contact"}

func publicList(q *req) error { return q.publicList(q.c.Params("id"), nil, fiber.StatusOK) }

func (q *req) publicList(id string, failed *form, status int) error {
	l, err := q.con.api.PublicListOf(q.c, id)
	if err != nil {
		return q.fail(&apiError{Status: fiber.StatusNotFound, Code: "not_found", Message: "publicity list (it may have ended and been withdrawn)",
			Params: params{"reason": "publicity_list"}})
	}
	v := publicListView{List: l}
	for _, e := range l.Entries {
		v.Entries = append(v.Entries, publicEntry{PublicEntry: e, Ref: e.EntryID})
	}
	if failed != nil {
		v.FailedID, v.FailedF, v.Banner = failed.V("entry"), failed, failed.Banner
	}
	return q.render(status, "public_list", "资助公示 · "+l.School, v, nil)
}

func publicObjection(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, objectionFields...)
	// An objection after the period says when the period ended, not that the list is gone.
	if err := q.con.api.CheckObjectable(q.c.UserContext(), id); err != nil {
		return q.fail(err)
	}
	l, err := q.con.api.PublicListOf(q.c, id)
	if err != nil {
		return q.fail(&apiError{Status: fiber.StatusNotFound, Code: "not_found", Message: "publicity list (it may have ended and been withdrawn)",
			Params: params{"reason": "publicity_list"}})
	}
	entryID := ""
	for _, e := range l.Entries {
		if e.EntryID == f.V("entry") {
			entryID = e.EntryID
		}
	}
	if entryID == "" {
		f.Banner = &uiError{Status: fiber.StatusBadRequest, Title: "填写有误", Message: "该条目不在本公示名单中，请刷新页面后重试。"}
		return q.publicList(id, f, fiber.StatusBadRequest)
	}
	// Every field's error at once, by the API's own checks.
	if f.checked(api.ObjectionErrors(api.ObjectionRequest{EntryID: entryID, Reason: f.V("reason"), Contact: f.V("contact")})) {
		return q.publicList(id, f, fiber.StatusBadRequest)
	}
	var out struct {
		ID string `json:"id"`
	}
	_, err = q.call(fiber.MethodPost, "/public/publicity-batches/"+url.PathEscape(id)+"/objections",
		map[string]string{"entry_id": entryID, "reason": f.V("reason"), "contact": f.V("contact")}, &out)
	if err != nil {
		status := f.failed(err)
		var ae *apiError
		if asAPI(err, &ae) && (ae.Status == fiber.StatusNotFound || ae.Code == workflows.CodePublicityEnded) {
			return q.fail(err)
		}
		return q.publicList(id, f, status)
	}
	msg := "您的异议已受理，县学生资助管理中心将在规定时间内复核。"
	if out.ID != "" {
		msg = "您的异议已受理（编号 " + out.ID + "），县学生资助管理中心将在规定时间内复核。"
	}
	return q.redirect("/gongshi/"+url.PathEscape(id), msg)
}
