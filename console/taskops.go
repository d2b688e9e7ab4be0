package console

// Issue 18's operations where a person looks for them: the cases copied to them (抄送我的) with
// what is unread, and the done list (已办) in the navigation. The task page's own buttons
// (委派, 加签, 减签, 抄送, 转办, 退回, 撤回, 催办) are in core.go and task.html.

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
)

func init() {
	addLabels("signing", map[string]string{casework.SignAll: "会签", casework.SignAny: "或签", casework.SignRatio: "票签",
		casework.SignSequence: "依次审批", casework.SignBefore: "前加签", casework.SignAfter: "后加签", casework.SignParallel: "并加签"})
	addLabels("ccreason", map[string]string{"": "抄送", "auto": "自动抄送", "unstaffed": "系统提醒"})
	register(&module{
		Order: 1,
		Label: "抄送·已办",
		Nav: []navItem{
			{Order: 1, Label: "抄送我的", Href: "/console/cc", Show: anyone},
			{Order: 2, Label: "已办", Href: "/console/done", Show: anyone},
		},
		Routes: func(r *router) {
			r.get("/console/cc", ccList)
			r.post("/console/cc/:id/read", ccRead)
			r.get("/console/done", func(q *req) error { return q.c.Redirect("/console/?state=done", fiber.StatusSeeOther) })
		},
	})
}

type ccView struct {
	Items  []apiCC
	Unread int
	Status string
	States []option
}

// apiCC is a copy as GET /api/v1/cc lists it.
type apiCC struct {
	CaseID    string     `json:"case_id"`
	Process   string     `json:"process"`
	TaskID    string     `json:"task_id"`
	Title     string     `json:"title"`
	ByName    string     `json:"by_name"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
	Reason    string     `json:"reason"`
	Label     string     `json:"label"`
}

// ccList is 抄送我的: ?status=unread|read|all, with the count of unread copies.
func ccList(q *req) error {
	v := ccView{Status: q.c.Query("status", "all")}
	v.States = []option{{"all", "全部"}, {"unread", "未阅"}, {"read", "已阅"}}
	var out struct {
		Items  []apiCC
		Unread int
	}
	if err := q.get("/api/v1/cc?status="+url.QueryEscape(v.Status), &out); err != nil {
		return q.fail(err)
	}
	v.Items, v.Unread = out.Items, out.Unread
	return q.render(fiber.StatusOK, "cc", "抄送我的", v, nil)
}

// ccRead marks a copy read (已阅) and opens its case.
func ccRead(q *req) error {
	id := q.c.Params("id")
	if _, err := q.call(fiber.MethodPost, "/api/v1/cc/"+url.PathEscape(id)+"/read", nil, nil); err != nil {
		return q.fail(err)
	}
	return q.redirect("/console/cc", "已标记为已阅。")
}
