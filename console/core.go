package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/store"
)

// apiTask is a task as the API shows it.
type apiTask struct {
	casework.Task
	Outcomes []string `json:"outcomes"`
	Overdue  bool     `json:"overdue"`
	// MyAction is what the caller did to the task, on the done list (已办).
	MyAction string `json:"my_action"`
	// Step lists the tasks of the task's multi-approver step (会签/或签/…, or signers added).
	Step []apiStepMember `json:"step"`
}

// apiStepMember is one task of a step, with its signer's name.
type apiStepMember struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	Outcome       string `json:"outcome"`
	Signing       string `json:"signing"`
	AddedTo       string `json:"added_to"`
	CandidateRole string `json:"candidate_role"`
	AssigneeID    string `json:"assignee_id"`
	SignerName    string `json:"signer_name"`
}

// routesCore registers login, logout, the inbox and the task page.
func (r *router) routesCore() {
	r.publicGet("/console/login", loginPage)
	r.publicPost("/console/login", loginSubmit)
	r.post("/console/logout", logout)
	r.get("/console", inbox)
	r.get("/console/tasks/:id", taskPage)
	r.post("/console/tasks/:id/:action", taskAction)
	r.get("/console/cases/:id", caseRedirect)
}

func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") &&
		!strings.HasPrefix(next, "/console/login") {
		return next
	}
	return "/console/"
}

func loginPage(q *req) error {
	if q.loggedIn {
		return q.c.Redirect("/console/", fiber.StatusSeeOther)
	}
	f := newForm("username", "password")
	f.Values["next"] = safeNext(q.c.Query("next"))
	return q.render(fiber.StatusOK, "login", "登录", nil, f)
}

func loginSubmit(q *req) error {
	f := formFrom(q.c, "username", "password")
	f.Values["next"] = safeNext(q.c.FormValue("next"))
	password := q.c.FormValue("password")
	f.Values["password"] = "" // never echoed back
	if f.V("username") == "" {
		f.Errors["username"] = &fieldError{Label: "用户名", Message: "必填"}
	}
	if password == "" {
		f.Errors["password"] = &fieldError{Label: "密码", Message: "必填"}
	}
	if len(f.Errors) > 0 {
		return q.render(fiber.StatusBadRequest, "login", "登录", nil, f)
	}
	token, _, err := q.con.api.Authenticate(q.c, f.V("username"), password)
	if err != nil {
		if ae := (*api.Error)(nil); errors.As(err, &ae) && ae.Status == fiber.StatusUnauthorized {
			f.Banner = &uiError{Status: 401, Title: "登录失败", Message: "用户名或密码错误，或账号已停用。"}
			return q.render(fiber.StatusUnauthorized, "login", "登录", nil, f)
		} else if ae != nil && ae.Status == fiber.StatusBadRequest && (ae.Field == "username" || ae.Field == "password") {
			f.Errors[ae.Field] = translateField(fromAPI(ae))
			return q.render(fiber.StatusBadRequest, "login", "登录", nil, f)
		} else if ae != nil && ae.Status == fiber.StatusTooManyRequests {
			f.Banner = &uiError{Status: 429, Title: "登录已暂停", Message: "该用户名密码错误次数过多，请 15 分钟后再试，或请管理员重置密码。"}
			return q.render(fiber.StatusTooManyRequests, "login", "登录", nil, f)
		}
		return q.fail(err)
	}
	q.con.setCookie(q.c, sessionCookie, token, q.con.cfg.SessionTTL)
	q.con.clearCookie(q.c, csrfCookie)
	return q.c.Redirect(f.V("next"), fiber.StatusSeeOther)
}

// logout ends the session server-side (the API deletes the token's record) and drops the cookie.
func logout(q *req) error {
	if _, err := q.call(fiber.MethodPost, "/api/v1/auth/logout", nil, nil); err != nil {
		var ae *apiError
		if !asAPI(err, &ae) || ae.Status != fiber.StatusUnauthorized {
			return q.fail(err)
		}
	}
	q.con.clearCookie(q.c, sessionCookie)
	return q.redirect("/console/login", "您已安全退出。")
}

type inboxView struct {
	Items     []apiTask
	Process   string
	State     string
	Processes []option
	States    []option
	Overdue   int
	Me        string
	UnreadCC  int // copies (抄送) not read yet
}

// inbox is 我的待办: ?process=, ?state=open|done|all.
func inbox(q *req) error {
	v := inboxView{Process: q.c.Query("process"), State: q.c.Query("state", "open"), Me: q.actor.UserID}
	v.Processes = []option{{"", "全部业务"}}
	for _, p := range casework.Processes {
		v.Processes = append(v.Processes, option{p.Name, p.Label})
	}
	v.States = []option{{"open", "待办"}, {"done", "已办"}, {"all", "全部"}}
	qs := url.Values{"status": {v.State}, "limit": {"200"}}
	if v.Process != "" {
		qs.Set("process", v.Process)
	}
	var out struct{ Items []apiTask }
	if err := q.get("/api/v1/tasks?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	v.Items = out.Items
	for _, t := range v.Items {
		if t.Overdue {
			v.Overdue++
		}
	}
	var cc struct{ Unread int }
	if err := q.get("/api/v1/cc?status=unread&limit=1", &cc); err == nil {
		v.UnreadCC = cc.Unread
	}
	return q.render(fiber.StatusOK, "inbox", "我的待办", v, nil)
}

type taskView struct {
	Task       apiTask
	Facts      template.HTML
	Timeline   []store.AuditEntry
	CanDecide  bool
	CanClaim   bool
	CanUnclaim bool
	CanUrge    bool
	// Delegation (委派) and copies (抄送).
	CanDelegate bool
	CanResolve  bool // the caller is the delegate
	CanRecall   bool // the caller is the owner of a delegated task
	CanCC       bool
	// Signers (加签·减签) and withdrawal (撤回).
	CanAddSigners    bool
	CanRemoveSigners bool
	CanWithdraw      bool
	HeldBy           []string // the signers added before this task who have not signed yet
	Positions        []option
	Delegate         string   // who the task is delegated to, by username
	Decisions        []option // outcomes other than return
	CanReturn        bool
	// ConfirmReject asks for a tick before 不同意, which ends the case for good (confirmReject).
	ConfirmReject bool
	Fields        []fieldView
	Assignee      string
	CaseLink      string
	// StepProgress is how far the step's own signers are: who approved, how many must.
	StepProgress string
}

// stepProgress says how far a multi-approver step is (票签 2/3: 已同意 1 人，需 2 人同意，共 3 人):
// its own signers (not those added by 加签) who passed with the task's first outcome, against
// how many must by its mode, out of all its own signers; those whose task ended without a vote
// (moot once the step was decided) are named as such, so that the total stays the one the step
// began with. "" for a task not in such a step.
func stepProgress(t apiTask) string {
	mode, share, _ := strings.Cut(t.Signing, ":")
	if t.StepID == "" || len(t.Outcomes) == 0 || !slices.Contains(casework.SignModes, mode) {
		return ""
	}
	n, passed, moot := 0, 0, 0
	for _, m := range t.Step {
		if m.AddedTo != "" {
			continue
		}
		n++
		switch {
		case m.Outcome == t.Outcomes[0]:
			passed++
		case m.State != casework.TaskOpen && m.Outcome == "":
			moot++
		}
	}
	need := n
	switch mode {
	case casework.SignAny:
		need = 1
	case casework.SignRatio:
		num, den, _ := strings.Cut(share, "/")
		a, err1 := strconv.Atoi(num)
		b, err2 := strconv.Atoi(den)
		if err1 != nil || err2 != nil || b <= 0 {
			return ""
		}
		need = (a*n + b - 1) / b
	}
	if moot > 0 {
		return fmt.Sprintf("已同意 %d 人，需 %d 人同意（共 %d 人，%d 人未表态时本环节已有结果）", passed, need, n, moot)
	}
	return fmt.Sprintf("已同意 %d 人，需 %d 人同意（共 %d 人）", passed, need, n)
}

// taskPage shows a task: its case's facts, the case's timeline and the actions this user may
// take (and only those: the API and the workflow refuse anything else anyway).
func taskPage(q *req) error { return q.showTask(q.c.Params("id"), nil, fiber.StatusOK) }

func (q *req) showTask(id string, f *form, status int) error {
	var t apiTask
	if err := q.get("/api/v1/tasks/"+url.PathEscape(id), &t); err != nil {
		return q.fail(err)
	}
	v := taskView{Task: t, StepProgress: stepProgress(t)}
	m := moduleOf(t.Process)
	if m != nil && m.Facts != nil {
		facts, err := m.Facts(q, t)
		if err != nil {
			var ae *apiError
			if !asAPI(err, &ae) {
				return q.fail(err)
			}
			facts = template.HTML("<p class=\"muted\">案件信息暂不可用。</p>")
		}
		v.Facts = facts
	}
	if m != nil && m.CaseLink != nil {
		v.CaseLink = m.CaseLink(t.CaseID)
	}
	var tl struct{ Items []store.AuditEntry }
	if err := q.get("/api/v1/cases/"+url.PathEscape(t.CaseID)+"/timeline", &tl); err == nil {
		v.Timeline = tl.Items
	}
	a := q.actor
	open := t.State == casework.TaskOpen
	mine := t.AssigneeID == a.UserID
	candidate := t.AssigneeID == "" && a.Can(t.CandidateRole, t.UnitPath)
	delegated := open && t.DelegateID != ""
	iAmDelegate := delegated && t.DelegateID == a.UserID
	for _, m := range t.Step {
		if m.AddedTo == t.ID && m.Signing == casework.SignBefore && m.State == casework.TaskOpen {
			v.HeldBy = append(v.HeldBy, m.SignerName)
		}
	}
	held := len(v.HeldBy) > 0
	v.CanDecide = open && (mine || candidate) && !delegated && !held
	v.CanClaim = open && candidate
	v.CanUnclaim = open && mine && !delegated && !held && !processAssigned(v.Timeline, t.ID)
	v.CanUrge = open && !(mine || candidate) && !delegated && a.Sees(t.UnitPath)
	v.CanDelegate = v.CanDecide
	v.CanAddSigners = v.CanDecide
	v.CanRemoveSigners = open && mine && signersAdded(v.Timeline, t.ID)
	v.CanWithdraw = open && t.OwnerID == a.UserID && !mine
	v.Positions = []option{{casework.SignBefore, "前加签（先由加签人审批，再回到我）"}, {casework.SignAfter, "后加签（我同意后再由加签人审批）"},
		{casework.SignParallel, "并加签（与我同时审批）"}}
	v.CanResolve = iAmDelegate
	v.CanRecall = delegated && mine
	v.CanCC = open && (v.CanDecide || iAmDelegate || v.CanRecall || (held && mine))
	if delegated {
		v.Delegate = delegatedTo(v.Timeline, t.ID)
	}
	for _, o := range t.Outcomes {
		if o == "return" {
			v.CanReturn = true
			continue
		}
		v.Decisions = append(v.Decisions, option{o, zh("outcome", o)})
		v.ConfirmReject = v.ConfirmReject || (o == "reject" && rejectEnds(t))
	}
	switch {
	case !open:
		// A decided task names who decided it, not who may still take it up.
		v.Assignee = zh("task", t.State)
		if who := decidedBy(v.Timeline, t.ID); who != "" {
			v.Assignee += "（" + who + "）"
		}
	case iAmDelegate:
		v.Assignee = "委派给我（我办理后回到委派人，由其办结）"
	case delegated && mine:
		v.Assignee = "我（已委派给 " + v.Delegate + "，待其回复）"
	case held && mine:
		v.Assignee = "我（已前加签给 " + strings.Join(v.HeldBy, "、") + "，待其审批后回到我）"
	case delegated:
		v.Assignee = "已委派"
	case t.AssigneeID == "":
		v.Assignee = "待领取（" + zh("role", t.CandidateRole) + "）"
	case mine:
		v.Assignee = "我"
	default:
		v.Assignee = "已由他人领取"
	}
	if f == nil {
		f = newForm(taskFormFields...)
	}
	if m != nil && v.CanDecide {
		for _, of := range m.OutcomeFields[t.Kind] {
			if _, typed := f.Values[of.Name]; !typed {
				f.Values[of.Name] = of.Default
				if of.FromFacts != nil {
					if d := of.FromFacts(q, t); d != "" {
						f.Values[of.Name] = d
					}
				}
			}
			fv := inputField(f, of.Name, of.Label, "text", of.Hint)
			if of.Textarea {
				fv.Type = "textarea"
			}
			if of.Options != nil {
				opts, err := of.Options(q)
				if err != nil {
					return q.fail(err)
				}
				fv.Type, fv.Options = "select", opts
			}
			v.Fields = append(v.Fields, fv)
		}
	}
	return q.render(status, "task", kindLabel(t.Kind), v, f)
}

// processAssigned tells whether the process itself gave the task to one person (it then cannot
// be released to the group, only transferred).
// decidedBy names who completed or withdrew the task, from the case's timeline ("" if not there).
func decidedBy(tl []store.AuditEntry, taskID string) string {
	for _, e := range tl {
		if e.Action != "task.completed" && e.Action != "task.withdrawn" {
			continue
		}
		var after struct {
			TaskID string `json:"task_id"`
		}
		if json.Unmarshal([]byte(e.After), &after) == nil && after.TaskID == taskID {
			return e.ActorName
		}
	}
	return ""
}

// delegatedTo names, by username, who the task was last delegated to (from the timeline).
func delegatedTo(tl []store.AuditEntry, taskID string) string {
	who := ""
	for _, e := range tl {
		if e.Action != "task.delegated" {
			continue
		}
		var after struct {
			TaskID string `json:"task_id"`
			ToUser string `json:"to_user"`
		}
		if json.Unmarshal([]byte(e.After), &after) == nil && after.TaskID == taskID {
			who = after.ToUser
		}
	}
	return who
}

// signersAdded tells whether signers were added to the task (加签), from the timeline: its holder
// may then remove those who have not signed (减签).
func signersAdded(tl []store.AuditEntry, taskID string) bool {
	for _, e := range tl {
		var after struct {
			TaskID string `json:"task_id"`
		}
		if e.Action == "task.signers_added" && json.Unmarshal([]byte(e.After), &after) == nil && after.TaskID == taskID {
			return true
		}
	}
	return false
}

// taskFormFields are the inputs of the task page's forms.
var taskFormFields = []string{"comment", "to_user", "confirm_reject", "to_user_id", "user_ids", "signer_ids", "position", "remove_ids"}

func processAssigned(tl []store.AuditEntry, taskID string) bool {
	for _, e := range tl {
		if e.Action != "task.opened" {
			continue
		}
		var after struct {
			TaskID   string `json:"task_id"`
			Assignee string `json:"assignee"`
		}
		if json.Unmarshal([]byte(e.After), &after) == nil && after.TaskID == taskID {
			return after.Assignee != ""
		}
	}
	return false
}

// taskAction sends one action to the API: complete (with the clicked outcome), claim, unclaim,
// transfer, urge, return.
func taskAction(q *req) error {
	id, action := q.c.Params("id"), q.c.Params("action")
	var t apiTask
	if err := q.get("/api/v1/tasks/"+url.PathEscape(id), &t); err != nil {
		return q.fail(err)
	}
	fields := append([]string{}, taskFormFields...)
	m := moduleOf(t.Process)
	if m != nil {
		for _, of := range m.OutcomeFields[t.Kind] {
			fields = append(fields, of.Name)
		}
	}
	f := formFrom(q.c, fields...)
	target := "/api/v1/tasks/" + url.PathEscape(id) + "/"
	var body any
	var done string
	switch action {
	case "complete":
		outcome := q.c.FormValue("outcome")
		if outcome == "reject" && rejectEnds(t) && !f.Checked("confirm_reject") {
			f.put("confirm_reject", confirmReject)
			return q.showTask(id, f, fiber.StatusBadRequest)
		}
		if outcome == "return" {
			target += "return"
			body = map[string]string{"comment": f.V("comment")}
		} else {
			target += "complete"
			extra := map[string]string{}
			if m != nil {
				for _, of := range m.OutcomeFields[t.Kind] {
					if contains(of.Outcomes, outcome) && f.V(of.Name) != "" {
						extra[of.Name] = f.V(of.Name)
					}
				}
			}
			b := map[string]any{"outcome": outcome, "comment": f.V("comment")}
			if len(extra) > 0 {
				b["fields"] = extra
			}
			body = b
		}
		done = "已办理「" + kindLabel(t.Kind) + "」：" + zh("outcome", outcome) + "。"
	case "claim":
		target += "claim"
		done = "已领取该待办，请及时办理。"
	case "unclaim":
		target += "unclaim"
		done = "已释放该待办，同岗位的同事可以领取。"
	case "transfer":
		target += "transfer"
		body = map[string]string{"to_user": f.V("to_user"), "comment": f.V("comment")}
		done = "已转办给 " + f.V("to_user") + "。"
	case "delegate":
		target += "delegate"
		body = map[string]string{"to_user_id": f.V("to_user_id"), "comment": f.V("comment")}
		done = "已委派给 " + f.V("to_user_id") + "：其办理后回到您这里，由您办结。"
	case "resolve":
		target += "resolve"
		body = map[string]string{"comment": f.V("comment")}
		done = "已提交委派办理意见，待办已回到委派人。"
	case "recall":
		target += "resolve"
		body = map[string]string{"comment": f.V("comment")}
		done = "已收回委派，请您办理。"
	case "cc":
		target += "cc"
		users := splitNames(f.V("user_ids"))
		body = map[string]any{"user_ids": users}
		done = "已抄送给 " + strings.Join(users, "、") + "。"
	case "add_signers":
		target += "add-signers"
		users := splitNames(f.V("signer_ids"))
		body = map[string]any{"user_ids": users, "position": f.V("position"), "comment": f.V("comment")}
		done = "已" + zh("signing", f.V("position")) + "：" + strings.Join(users, "、") + "。"
	case "remove_signers":
		target += "remove-signers"
		users := splitNames(f.V("remove_ids"))
		body = map[string]any{"user_ids": users}
		done = "已减签：" + strings.Join(users, "、") + "。"
	case "withdraw":
		target += "withdraw"
		body = map[string]string{"comment": f.V("comment")}
		done = "已撤回申请。"
	case "urge":
		target += "urge"
		body = map[string]string{"comment": f.V("comment")}
		done = "已催办。"
	default:
		return q.fail(&apiError{Status: fiber.StatusNotFound, Code: "not_found", Message: "page not found", Params: params{"reason": "page"}})
	}
	status, err := q.call(fiber.MethodPost, target, body, nil)
	if err != nil {
		// The signer forms name their people in inputs of their own; the API calls them user_ids.
		var ae *apiError
		if as := map[string]string{"add_signers": "signer_ids", "remove_signers": "remove_ids"}[action]; as != "" && asAPI(err, &ae) && ae.Field == "user_ids" {
			ae.Field = as
		}
		st := f.failed(err)
		return q.showTask(id, f, st)
	}
	if status == fiber.StatusAccepted {
		done = "已受理，办理记录稍后显示。"
	}
	if action == "complete" || action == "withdraw" {
		return q.redirect("/console/", done)
	}
	return q.redirect("/console/tasks/"+url.PathEscape(id), done)
}

// confirmReject is the answer to 不同意 clicked without its tick: a rejection ends the case and
// cannot be undone, so the console asks once more (no script: the page's CSP allows none).
var confirmReject = &fieldError{Label: "确认不同意", Message: "不同意后申请即办结，不能恢复：请勾选「确认不同意」后再提交"}

// splitNames splits a list of usernames typed with commas, spaces or 、.
func splitNames(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '、' })
}

// caseRedirect opens the page of any case id (from timelines and escalations).
func caseRedirect(q *req) error {
	id := q.c.Params("id")
	for _, m := range modules {
		if m.CaseLink != nil {
			if l := m.CaseLink(id); l != "" {
				return q.c.Redirect(l, fiber.StatusSeeOther)
			}
		}
	}
	return q.fail(&apiError{Status: fiber.StatusNotFound, Code: "not_found", Message: "case not found"})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
