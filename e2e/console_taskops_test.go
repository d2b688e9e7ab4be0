package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDelegateInTheConsole: 委派, 委派回复, 抄送 and 已办 where a person looks for them on the task
// page and in the inbox, in a browser.
func TestDelegateInTheConsole(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	b := newBrowser(t, "http://"+svc.HTTPAddr())
	api := newClient(t, svc)
	staff := api.as("staff01")
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
	tk := api.as("head01").waitTask("subsidy_review", app.ID)
	page := "/console/tasks/" + tk.ID

	head := b.session(t, "head01")
	head.login("head01")
	head.open(page)
	if !head.exists("#delegate-form") || !head.exists("#cc-form") {
		t.Fatalf("the task page offers no 委派 or 抄送: %s", head.body())
	}
	head.do(chromedp.Click(chromedp.CSS("details:has(#delegate-form) > summary")))
	head.set("#f-to_user_id", "staff01")
	if st := head.submit("#delegate"); st != 403 {
		t.Errorf("delegating to the applicant: %d, want 403", st)
	}
	if got := head.body(); !strings.Contains(got, "职务分离") {
		t.Errorf("the refusal is not worded: %s", got)
	}
	head.open(page)
	head.do(chromedp.Click(chromedp.CSS("details:has(#delegate-form) > summary")))
	head.set("#f-to_user_id", "teacher01")
	if st := head.submit("#delegate"); st != 200 {
		t.Fatalf("delegate: %d %s", st, head.body())
	}
	if got := head.body(); !strings.Contains(got, "已委派给 teacher01") || head.exists("#decide-form") || !head.exists("#recall") {
		t.Errorf("after delegating, the owner waits: %s", got)
	}

	teacher := b.session(t, "teacher01")
	teacher.login("teacher01")
	teacher.open("/console/")
	if !strings.Contains(teacher.text("#inbox"), "委派给我") {
		t.Errorf("the delegate's inbox: %s", teacher.text("#inbox"))
	}
	teacher.open(page)
	if teacher.exists("#decide-form") || !teacher.exists("#resolve-form") {
		t.Fatalf("the delegate may resolve, not decide: %s", teacher.body())
	}
	teacher.set("#f-comment", "已家访，情况属实")
	if st := teacher.submit("#resolve"); st != 200 {
		t.Fatalf("resolve: %d %s", st, teacher.body())
	}

	head.open(page)
	head.do(chromedp.Click(chromedp.CSS("details:has(#cc-form) > summary")))
	head.set("#f-user_ids", "aid01, aid02")
	if st := head.submit("#cc"); st != 200 {
		t.Fatalf("cc: %d %s", st, head.body())
	}
	if !strings.Contains(head.body(), "已抄送给 aid01、aid02") || !strings.Contains(head.text("body"), "抄送") {
		t.Errorf("after cc: %s", head.body())
	}
	if st := head.submit("#outcome-approve"); st != 200 {
		t.Fatalf("the owner approves: %d %s", st, head.body())
	}

	teacher.open("/console/?state=done")
	if !strings.Contains(teacher.text("#inbox"), "我受委派办理") {
		t.Errorf("the delegate's done list: %s", teacher.text("#inbox"))
	}
	head.open("/console/?state=done")
	if !strings.Contains(head.text("#inbox"), "我办结") {
		t.Errorf("the owner's done list: %s", head.text("#inbox"))
	}
}
