package e2e

// Delegation with the owner kept (委派), copies (抄送) and the done list (已办), through HTTP only.

import (
	"testing"

	"jiaofu/config"
	"jiaofu/demo"
	"jiaofu/store"
)

// outsider is a school leader at another township's school: they see none of JS-T01-S01's cases.
func outsider(t *testing.T, anon *client) *client {
	t.Helper()
	if code := anon.as("admin").do("POST", "/api/v1/admin/users", map[string]any{"username": "head21", "password": demo.DemoPassword,
		"display_name": "高坪镇中心小学校长", "roles": []map[string]string{{"role": "school_leader", "unit_code": "JS-T02-S01"}}}, nil); code != 201 && code != 200 {
		t.Fatalf("create outsider: %d", code)
	}
	return anon.as("head21")
}

type doneItem struct {
	ID          string
	CaseID      string `json:"case_id"`
	State       string
	Outcome     string
	CompletedBy string `json:"completed_by"`
	DelegateID  string `json:"delegate_id"`
	AssigneeID  string `json:"assignee_id"`
	MyAction    string `json:"my_action"`
}

func (c *client) userID() string {
	c.t.Helper()
	var me struct {
		UserID string `json:"user_id"`
	}
	if code := c.do("GET", "/api/v1/me", nil, &me); code != 200 || me.UserID == "" {
		c.t.Fatalf("me: %d %+v", code, me)
	}
	return me.UserID
}

func (c *client) doneList() map[string]doneItem {
	c.t.Helper()
	var out struct{ Items []doneItem }
	if code := c.do("GET", "/api/v1/tasks?status=done", nil, &out); code != 200 {
		c.t.Fatalf("done list: %d", code)
	}
	m := map[string]doneItem{}
	for _, it := range out.Items {
		m[it.ID] = it
	}
	return m
}

func (c *client) inboxItem(id string) (doneItem, bool) {
	c.t.Helper()
	var out struct{ Items []doneItem }
	c.do("GET", "/api/v1/tasks?status=open", nil, &out)
	for _, it := range out.Items {
		if it.ID == id {
			return it, true
		}
	}
	return doneItem{}, false
}

// TestDelegateResolveComplete: the head delegates a review to the class teacher (the applicant,
// the school's staff member, is barred from the case); while it is delegated it is in the
// teacher's inbox and still the head's; the teacher may not complete (not_candidate, delegate),
// nor the head (wrong_state, delegated); the teacher resolves and the head completes. The
// timeline and both done lists say who did what.
func TestDelegateResolveComplete(t *testing.T) {
	delegateResolveComplete(t, testConfig(t, t.TempDir()))
}

// TestDelegateResolveCompleteOnPostgres is the same walk with the store in PostgreSQL.
func TestDelegateResolveCompleteOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	delegateResolveComplete(t, cfg)
}

func delegateResolveComplete(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	staff, head, teacher := anon.as("staff01"), anon.as("head01"), anon.as("teacher01")
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
	tk := head.waitTask("subsidy_review", app.ID)
	path := "/api/v1/tasks/" + tk.ID

	head.expectCode("POST", path+"/delegate", map[string]string{}, 400, "invalid", "to_user_id")
	head.expectCode("POST", path+"/delegate", map[string]string{"to_user_id": "nobody"}, 400, "invalid", "to_user_id")
	head.expectCode("POST", path+"/delegate", map[string]string{"to_user_id": staff.userID()}, 403, "separation_of_duties", "to_user_id")
	head.expectCode("POST", path+"/delegate", map[string]string{"to_user_id": outsider(t, anon).userID()}, 403, "not_in_scope", "to_user_id")
	teacher.expectCode("POST", path+"/delegate", map[string]string{"to_user_id": head.userID()}, 403, "not_candidate", "")
	head.expectCode("POST", path+"/resolve", map[string]string{"comment": "x"}, 409, "wrong_state", "").wantReason(t, "not_delegated")

	tid := teacher.userID()
	var res struct {
		AssigneeID string `json:"assignee_id"`
		DelegateID string `json:"delegate_id"`
	}
	if code := head.do("POST", path+"/delegate", map[string]string{"to_user_id": tid, "comment": "请先家访核实"}, &res); code != 200 {
		t.Fatalf("delegate: %d", code)
	}
	if res.DelegateID != tid || res.AssigneeID != head.userID() {
		t.Errorf("delegate answered %+v", res)
	}
	if it, ok := teacher.inboxItem(tk.ID); !ok || it.DelegateID != tid {
		t.Errorf("the delegate's inbox: %+v %v", it, ok)
	}
	if it, ok := head.inboxItem(tk.ID); !ok || it.DelegateID != tid || it.AssigneeID != head.userID() {
		t.Errorf("the owner's inbox shows it delegated: %+v %v", it, ok)
	}
	if _, ok := anon.as("head01b").inboxItem(tk.ID); ok {
		t.Errorf("a delegated task is no longer in the pool")
	}
	teacher.expectCode("POST", path+"/complete", map[string]string{"outcome": "approve"}, 403, "not_candidate", "").wantReason(t, "delegate")
	teacher.expectCode("POST", path+"/transfer", map[string]string{"to_user": "head01b"}, 403, "not_candidate", "")
	head.expectCode("POST", path+"/complete", map[string]string{"outcome": "approve"}, 409, "wrong_state", "").wantReason(t, "delegated", "delegate", "teacher01")
	teacher.expectCode("POST", path+"/resolve", map[string]string{}, 400, "invalid", "comment")
	res.AssigneeID, res.DelegateID = "", ""
	if code := teacher.do("POST", path+"/resolve", map[string]string{"comment": "已家访，情况属实"}, &res); code != 200 || res.DelegateID != "" || res.AssigneeID != head.userID() {
		t.Fatalf("resolve: %d %+v", code, res)
	}
	teacher.expectCode("POST", path+"/resolve", map[string]string{"comment": "again"}, 409, "wrong_state", "")
	if code := head.do("POST", path+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("owner completes: %d", code)
	}

	var tl struct{ Items []store.AuditEntry }
	head.do("GET", "/api/v1/cases/"+app.ID+"/timeline", nil, &tl)
	var acts []string
	for _, e := range tl.Items {
		switch e.Action {
		case "task.delegated", "task.resolved", "task.completed":
			acts = append(acts, e.Action+" "+e.ActorName)
		}
	}
	if len(acts) < 3 || acts[0] != "task.delegated 业州小学校长" || acts[1] != "task.resolved 业州小学帮扶教师" || acts[2] != "task.completed 业州小学校长" {
		t.Errorf("timeline: %v", acts)
	}
	if d := teacher.doneList()[tk.ID]; d.MyAction != "resolved" || d.State != "done" || d.Outcome != "approve" || d.CompletedBy != head.userID() {
		t.Errorf("the delegate's done list: %+v", d)
	}
	if d := head.doneList()[tk.ID]; d.MyAction != "completed" || d.Outcome != "approve" {
		t.Errorf("the owner's done list: %+v", d)
	}
}

// TestDoneListAttribution: head01 transfers a review to head01b, who completes it: it is on
// head01's done list as transferred and on head01b's as completed; an open task nobody acted on
// is on no one's, and a task the caller's role could have done is not theirs unless they did.
func TestDoneListAttribution(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, head2 := anon.as("staff01"), anon.as("head01"), anon.as("head01b")
	app := apply(t, staff, staff.studentOf("王二小").ID, "living-primary", "父亲残疾，低保户")
	other := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
	tk := head.waitTask("subsidy_review", app.ID)
	untouched := head.waitTask("subsidy_review", other.ID)
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "head01b"}, nil); code != 200 {
		t.Fatalf("transfer: %d", code)
	}
	if code := head2.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("complete: %d", code)
	}
	d1, d2 := head.doneList(), head2.doneList()
	if d := d1[tk.ID]; d.MyAction != "transferred" || d.CompletedBy != head2.userID() || d.State != "done" {
		t.Errorf("head01's done list: %+v", d)
	}
	if d := d2[tk.ID]; d.MyAction != "completed" || d.Outcome != "approve" {
		t.Errorf("head01b's done list: %+v", d)
	}
	if _, ok := d1[untouched.ID]; ok {
		t.Errorf("an untouched task is on head01's done list")
	}
	if len(staff.doneList()) != 0 {
		t.Errorf("the applicant acted on no task: %+v", staff.doneList())
	}
}

// TestCCReadOnlyScope: the head copies a case to a leader of another township's school: they see it
// in their CC list, read that case and its timeline, but no other case of the school, and act on
// nothing; nobody gets a second copy; marking it read moves it from unread to read.
func TestCCReadOnlyScope(t *testing.T) { ccReadOnlyScope(t, testConfig(t, t.TempDir())) }

// TestCCReadOnlyScopeOnPostgres is the same with the store in PostgreSQL.
func TestCCReadOnlyScopeOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	ccReadOnlyScope(t, cfg)
}

func ccReadOnlyScope(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, insp := anon.as("staff01"), anon.as("head01"), outsider(t, anon)
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
	other := apply(t, staff, staff.studentOf("王二小").ID, "living-primary", "父亲残疾，低保户")
	tk := head.waitTask("subsidy_review", app.ID)
	iid := insp.userID()

	insp.expectCode("GET", "/api/v1/subsidy-applications/"+app.ID, nil, 404, "not_found", "")
	insp.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/cc", map[string]any{"user_ids": []string{head.userID()}}, 404, "not_found", "")
	head.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/cc", map[string]any{"user_ids": []string{}}, 400, "invalid", "user_ids")
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/cc", map[string]any{"user_ids": []string{iid}}, nil); code != 200 {
		t.Fatalf("cc: %d", code)
	}
	head.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/cc", map[string]any{"user_ids": []string{iid}}, 409, "duplicate", "user_ids")

	var list struct {
		Items  []store.CC
		Unread int
	}
	insp.do("GET", "/api/v1/cc?status=unread", nil, &list)
	if len(list.Items) != 1 || list.Items[0].CaseID != app.ID || list.Unread != 1 || list.Items[0].ByName != "业州小学校长" {
		t.Fatalf("unread copies: %+v", list)
	}
	if code := insp.do("GET", "/api/v1/subsidy-applications/"+app.ID, nil, nil); code != 200 {
		t.Errorf("the copied case: %d", code)
	}
	if code := insp.do("GET", "/api/v1/cases/"+app.ID+"/timeline", nil, nil); code != 200 {
		t.Errorf("the copied case's timeline: %d", code)
	}
	insp.expectCode("GET", "/api/v1/subsidy-applications/"+other.ID, nil, 404, "not_found", "")
	insp.expectCode("GET", "/api/v1/cases/"+other.ID+"/timeline", nil, 404, "not_found", "")
	insp.expectCode("GET", "/api/v1/tasks/"+tk.ID, nil, 404, "not_found", "")
	insp.expectCode("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 404, "not_found", "")
	var apps struct{ Items []struct{ ID string } }
	insp.do("GET", "/api/v1/subsidy-applications", nil, &apps)
	if len(apps.Items) != 0 {
		t.Errorf("a copy widened the outsider's list: %+v", apps.Items)
	}

	if code := insp.do("POST", "/api/v1/cc/"+app.ID+"/read", nil, nil); code != 200 {
		t.Fatalf("mark read: %d", code)
	}
	insp.expectCode("POST", "/api/v1/cc/"+other.ID+"/read", nil, 404, "not_found", "")
	insp.do("GET", "/api/v1/cc?status=unread", nil, &list)
	if len(list.Items) != 0 || list.Unread != 0 {
		t.Errorf("unread after reading: %+v", list)
	}
	insp.do("GET", "/api/v1/cc?status=read", nil, &list)
	if len(list.Items) != 1 || list.Items[0].ReadAt == nil {
		t.Errorf("read copies: %+v", list)
	}
	var tl struct{ Items []store.AuditEntry }
	head.do("GET", "/api/v1/cases/"+app.ID+"/timeline", nil, &tl)
	var cc, read bool
	for _, e := range tl.Items {
		cc = cc || e.Action == "task.cc"
		read = read || e.Action == "case.cc_read"
	}
	if !cc || !read {
		t.Errorf("the copy and its reading are on the trail: %v %v", cc, read)
	}
}
