package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"jiaofu/casework"
)

// TestConsoleSignersCopiesWithdraw: at a phone's width, issue 18's operations where a person looks
// for them. The head finds 加签 beside 委派, 抄送, 转办 and 退回 on the review's page, is told next
// to the field when nobody is named, adds the class teacher before them and then waits (the page
// says for whom, and offers 减签); the teacher finds the task marked 前加签 in their inbox and
// approves; the review comes back and the head approves it. The copy to the aid center is in
// their 抄送我的 with its unread count until they mark it read; the done lists say who did what;
// the applicant withdraws (撤回) an application nobody has taken up.
func TestConsoleSignersCopiesWithdraw(t *testing.T) {
	chromiumPath(t)
	svc := startService(t, testConfig(t, t.TempDir()))
	b := newBrowser(t, "http://"+svc.HTTPAddr())
	api := newClient(t, svc)
	staff := api.as("staff01")
	app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
	tk := api.as("head01").waitTask("subsidy_review", app.ID)
	page := "/console/tasks/" + tk.ID
	phone := func(p *tab, what string) {
		t.Helper()
		if w := eval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("%s is %dpx wider than a phone", what, w)
		}
	}

	head := b.session(t, "head01")
	head.login("head01")
	head.do(chromedp.EmulateViewport(390, 844))
	head.open(page)
	for _, sel := range []string{"#add-signers-form", "#delegate-form", "#cc-form", "#transfer-form", "#outcome-return", "#decide-form"} {
		if !head.exists(sel) {
			t.Errorf("the review's page offers no %s", sel)
		}
	}
	head.do(chromedp.Click(chromedp.CSS("details:has(#cc-form) > summary")))
	head.set("#f-user_ids", "aid01")
	if st := head.submit("#cc"); st != 200 {
		t.Fatalf("cc: %d %s", st, head.body())
	}
	head.do(chromedp.Click(chromedp.CSS("details:has(#add-signers-form) > summary")))
	head.set("#f-position", casework.SignBefore)
	if st := head.submit("#add-signers"); st != 400 {
		t.Fatalf("nobody named: %d, want 400", st)
	}
	if got := head.text(`.field-error[data-field="signer_ids"]`); !strings.Contains(got, "必填") {
		t.Errorf("the empty signer field's error: %q", got)
	}
	head.set("#f-signer_ids", "teacher01")
	head.set("#f-position", casework.SignBefore)
	if st := head.submit("#add-signers"); st != 200 {
		t.Fatalf("add signers: %d %s", st, head.body())
	}
	if got := head.text("#held"); !strings.Contains(got, "前加签") || head.exists("#decide-form") || !head.exists("#remove-signers-form") {
		t.Errorf("after 前加签 the head waits and may remove the signer: held %q, page %s", got, head.body())
	}
	if got := head.text("#step"); !strings.Contains(got, "前加签") || !strings.Contains(got, "待办") {
		t.Errorf("the step's progress: %q", got)
	}
	phone(head, "the held review")
	head.screenshot("signers-held-phone.png", 390, 844)

	teacher := b.session(t, "teacher01")
	teacher.login("teacher01")
	teacher.do(chromedp.EmulateViewport(390, 844))
	teacher.open("/console/")
	if got := teacher.text("#inbox"); !strings.Contains(got, "前加签") {
		t.Errorf("the teacher's inbox does not mark the task 前加签: %s", got)
	}
	signer := api.as("teacher01").waitTask("subsidy_review", app.ID)
	teacher.open("/console/tasks/" + signer.ID)
	if !teacher.exists("#decide-form") {
		t.Fatalf("the signer's page: %s", teacher.body())
	}
	teacher.set("#f-comment", "家访核实属实")
	if st := teacher.submit("#outcome-approve"); st != 200 {
		t.Fatalf("the teacher approves: %d %s", st, teacher.body())
	}

	head.open(page)
	if !head.exists("#decide-form") || head.exists("#held") {
		t.Fatalf("the review did not come back: %s", head.body())
	}
	if got := head.text("#step"); !strings.Contains(got, "同意") {
		t.Errorf("the step shows the teacher's approval: %q", got)
	}
	if st := head.submit("#outcome-approve"); st != 200 {
		t.Fatalf("the head approves: %d %s", st, head.body())
	}
	staff.waitStatus(app.ID, casework.AppReviewed)

	aid := b.session(t, "aid01")
	aid.login("aid01")
	aid.do(chromedp.EmulateViewport(390, 844))
	aid.open("/console/")
	if got := aid.text("#cc-notice"); !strings.Contains(got, "1 件未阅") {
		t.Errorf("the aid center's inbox does not count the unread copy: %q", got)
	}
	aid.open("/console/cc")
	if got := aid.text("#cc-unread"); !strings.Contains(got, "未阅 1 件") {
		t.Errorf("抄送我的: %q", got)
	}
	phone(aid, "抄送我的")
	aid.screenshot("cc-phone.png", 390, 844)
	if st := aid.submit("#cc button.read"); st != 200 {
		t.Fatalf("已阅: %d", st)
	}
	if aid.exists("#cc-unread") || !strings.Contains(aid.text("#cc"), "已阅") {
		t.Errorf("after 已阅: %s", aid.body())
	}

	teacher.open("/console/done")
	if got := teacher.text("#inbox"); !strings.Contains(got, "我办结") {
		t.Errorf("the teacher's done list: %s", got)
	}
	head.open("/console/done")
	if got := head.text("#inbox"); !strings.Contains(got, "我办结") {
		t.Errorf("the head's done list: %s", got)
	}

	// 撤回: the applicant withdraws an application nobody has taken up, from its review's page.
	app2 := apply(t, staff, staff.studentOf("张小三").ID, "nutrition", "")
	tk2 := api.as("head01").waitTask("subsidy_review", app2.ID)
	applicant := b.session(t, "staff01")
	applicant.login("staff01")
	applicant.do(chromedp.EmulateViewport(390, 844))
	applicant.open("/console/tasks/" + tk2.ID)
	if !applicant.exists("#withdraw") || applicant.exists("#decide-form") {
		t.Fatalf("the applicant's view of the review: %s", applicant.body())
	}
	phone(applicant, "the applicant's view of the review")
	if st := applicant.submit("#withdraw"); st != 200 {
		t.Fatalf("withdraw: %d %s", st, applicant.body())
	}
	if got := applicant.text("#flash"); !strings.Contains(got, "已撤回") {
		t.Errorf("after 撤回: %q", got)
	}
	staff.waitStatus(app2.ID, casework.AppRejected)
}
