package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jiaofu/casework"
)

// phoneWide fails if the page is wider than a phone (390 px).
func phoneWide(t *testing.T, p *tab, what string) {
	t.Helper()
	p.do(chromedp.EmulateViewport(390, 844))
	if w := eval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("%s is %dpx wider than a phone", what, w)
	}
}

// TestConsoleHardship: in real Chromium at a phone's width, in Chinese: the funds center records
// donations (a bad amount refused next to its field, what was typed kept; a large one waits for
// a second person, who confirms it); a school's staff apply for a grant (refusals beside the
// fields); the aid center decides on its task page with the decision screen beside it (the
// student's regular subsidy this school year, the total already received), the PA office
// approves, the funds center pays on its task page with channel and voucher; the ledger shows the
// running balance; the public reads the month's disclosure with the student's name masked.
func TestConsoleHardship(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)
	api := newClient(t, svc)

	funds := b.session(t, "funds01")
	funds.login("funds01")
	if nav := funds.text("nav"); !strings.Contains(nav, "救助基金") {
		t.Errorf("the funds center's nav lacks the fund: %q", nav)
	}
	funds.open("/console/hardship/fund")
	funds.do(chromedp.EmulateViewport(390, 844))
	funds.set("#f-donor", "建始县某建材公司")
	funds.set("#f-donor_kind", "enterprise")
	funds.set("#f-amount", "1万")
	funds.set("#f-reference", "SJ-001")
	if st := funds.submit("#record-donation"); st != 400 {
		t.Fatalf("a bad amount: %d, want 400: %s", st, funds.body())
	}
	if got := funds.text(`.field-error[data-field="amount"]`); !strings.Contains(got, "金额格式应为") {
		t.Errorf("amount error: %q", got)
	}
	if v := funds.value("#f-donor"); v != "建始县某建材公司" {
		t.Errorf("the typed donor was not kept: %q", v)
	}
	phoneWide(t, funds, "the fund page with an error")
	funds.screenshot("hardship-donation-error-phone.png", 390, 844)
	funds.do(chromedp.EmulateViewport(390, 844))
	funds.set("#f-amount", "10000.00")
	if st := funds.submit("#record-donation"); st != 200 {
		t.Fatalf("record a donation: %d: %s", st, funds.body())
	}
	if got := funds.text("#balance"); got != "¥10000.00" {
		t.Errorf("balance after the donation: %q", got)
	}
	funds.set("#f-donor", "对口帮扶区教育局")
	funds.set("#f-donor_kind", "twinned_district")
	funds.set("#f-amount", "60000")
	funds.set("#f-reference", "SJ-002")
	if st := funds.submit("#record-donation"); st != 200 {
		t.Fatalf("record a large donation: %d: %s", st, funds.body())
	}
	if !strings.Contains(funds.text("#flash"), "复核确认") || funds.exists(".confirm-donation") {
		t.Errorf("a large donation waits for someone else: flash %q, confirm button shown to its recorder: %v", funds.text("#flash"), funds.exists(".confirm-donation"))
	}
	other := b.session(t, "funds02")
	other.login("funds02")
	other.open("/console/hardship/fund")
	if st := other.submit(".confirm-donation"); st != 200 {
		t.Fatalf("confirm: %d: %s", st, other.body())
	}
	if got := other.text("#balance"); got != "¥70000.00" {
		t.Errorf("balance after the confirmation: %q", got)
	}

	staff := b.session(t, "staff01")
	staff.login("staff01")
	student := api.as("staff01").studentOf("张小三")
	apply(t, api.as("staff01"), student.ID, "living-primary", "")
	staff.open("/console/hardship/grants")
	staff.do(chromedp.EmulateViewport(390, 844))
	if st := staff.submit("#new-grant"); st != 200 {
		t.Fatalf("new grant form: %d", st)
	}
	staff.set("#f-student_id", student.ID)
	staff.set("#f-amount", "3000.5.0")
	if st := staff.submit("#submit-grant"); st != 400 {
		t.Fatalf("a bad grant: %d, want 400", st)
	}
	for field, want := range map[string]string{"amount": "金额格式应为", "hardship_kind": "请从列表中选择", "reason": "必填"} {
		if got := staff.text(`.field-error[data-field="` + field + `"]`); !strings.Contains(got, want) {
			t.Errorf("%s error: %q, want %q", field, got, want)
		}
	}
	phoneWide(t, staff, "the grant form with errors")
	staff.screenshot("hardship-grant-errors-phone.png", 390, 844)
	staff.set("#f-amount", "3000")
	staff.set("#f-hardship_kind", "illness")
	staff.set("#f-reason", "父亲重病住院，家庭无力承担医疗费用")
	if st := staff.submit("#submit-grant"); st != 200 {
		t.Fatalf("apply: %d: %s", st, staff.body())
	}
	if !strings.Contains(staff.location(), "/console/hardship/grants/hardship-") {
		t.Fatalf("after applying: %s", staff.location())
	}
	grantID := staff.location()[strings.LastIndex(staff.location(), "/")+1:]

	head := api.as("head01")
	complete(t, head, head.waitTask(casework.KindHardshipVerification, grantID).ID, "approve", nil)
	aidAPI := api.as("aid01")
	tk := aidAPI.waitTask(casework.KindHardshipApproval, grantID)
	aid := b.session(t, "aid01")
	aid.login("aid01")
	aid.open("/console/tasks/" + tk.ID)
	aid.do(chromedp.EmulateViewport(390, 844))
	facts := aid.text("#grant-facts") + aid.text("#benefits")
	for _, want := range []string{"¥3000.00", "资助中心 → 局扶贫办", "义务教育家庭经济困难寄宿生生活补助（小学）", "¥500.00"} {
		if !strings.Contains(facts, want) {
			t.Errorf("the decision screen lacks %q: %s", want, facts)
		}
	}
	if got := aid.text("#already"); got != "¥500.00" {
		t.Errorf("already received this school year: %q", got)
	}
	phoneWide(t, aid, "the approval's task page")
	aid.screenshot("hardship-decision-phone.png", 390, 844)
	aid.do(chromedp.EmulateViewport(390, 844))
	if st := aid.submit("#outcome-approve"); st != 200 {
		t.Fatalf("approve: %d: %s", st, aid.body())
	}
	pa := api.as("pa01")
	complete(t, pa, pa.waitTask(casework.KindHardshipApproval, grantID).ID, "approve", nil)
	pay := api.as("funds01").waitTask(casework.KindHardshipDisbursement, grantID)

	funds.open("/console/tasks/" + pay.ID)
	funds.do(chromedp.EmulateViewport(390, 844))
	if v := funds.value("#f-channel"); v != "一卡通" {
		t.Errorf("the channel's default: %q", v)
	}
	if st := funds.submit("#outcome-disburse"); st != 400 {
		t.Fatalf("a payment without its voucher: %d, want 400: %s", st, funds.body())
	}
	if got := funds.text(`.field-error[data-field="reference"]`); !strings.Contains(got, "必填") {
		t.Errorf("reference error: %q; page %s", got, funds.body())
	}
	funds.set("#f-reference", "YKT-20261207-01")
	if st := funds.submit("#outcome-disburse"); st != 200 {
		t.Fatalf("pay: %d: %s", st, funds.body())
	}
	funds.waitFor("/console/hardship/grants/"+grantID, 20*time.Second, "the grant paid", func() bool {
		return funds.text("#grant-state") == "已发放"
	})
	funds.open("/console/hardship/fund")
	funds.do(chromedp.EmulateViewport(390, 844))
	if got := funds.text("#balance"); got != "¥67000.00" {
		t.Errorf("balance after the payment: %q", got)
	}
	ledger := funds.text("#ledger")
	if !strings.Contains(ledger, "救助发放") || !strings.Contains(ledger, "张小三") || !strings.Contains(ledger, "¥67000.00") {
		t.Errorf("the ledger: %s", ledger)
	}
	phoneWide(t, funds, "the ledger")
	funds.screenshot("hardship-ledger-phone.png", 390, 844)
	noRawCodes(t, funds, "the fund page")

	public := b.session(t, "public")
	public.open("/gongshi/hardship/disclosures")
	public.do(chromedp.EmulateViewport(390, 844))
	page := public.body()
	for _, want := range []string{"特困学生救助基金信息公开", "张*三", "业州镇第一小学", "¥3000.00", "对口帮扶区教育局", "¥67000.00"} {
		if !strings.Contains(page, want) {
			t.Errorf("the public disclosure lacks %q: %s", want, page)
		}
	}
	for _, secret := range []string{"张小三", student.IDCardNo, "父亲重病", "YKT-20261207-01"} {
		if strings.Contains(page, secret) {
			t.Errorf("the public disclosure shows %q", secret)
		}
	}
	phoneWide(t, public, "the public disclosure")
	public.screenshot("hardship-disclosure-phone.png", 390, 844)

	// A grant above 5,000 yuan reaches the bureau leaders' 票签: leader01 approved, and leader02's
	// task page shows the step's progress (one of the two approvals two thirds of three need);
	// leader02's approval makes the ratio and the grant is approved.
	big := applyGrant(t, api.as("staff01"), api.as("staff01").studentOf("向金花").ID, 6000_00)
	complete(t, head, head.waitTask(casework.KindHardshipVerification, big.ID).ID, "approve", nil)
	complete(t, aidAPI, aidAPI.waitTask(casework.KindHardshipApproval, big.ID).ID, "approve", nil)
	complete(t, pa, pa.waitTask(casework.KindHardshipApproval, big.ID).ID, "approve", nil)
	leader1 := api.as("leader01")
	complete(t, leader1, leader1.waitTask(casework.KindHardshipApproval, big.ID).ID, "approve", nil)
	vote := api.as("leader02").waitTask(casework.KindHardshipApproval, big.ID)
	leader := b.session(t, "leader02")
	leader.login("leader02")
	leader.open("/console/tasks/" + vote.ID)
	leader.do(chromedp.EmulateViewport(390, 844))
	if got := leader.text("#task-signing"); !strings.Contains(got, "票签") || !strings.Contains(got, "2/3") {
		t.Errorf("the leader's task is not shown as a 票签 of 2/3: %q", got)
	}
	if got := leader.text("#step-progress"); got != "已同意 1 人，需 2 人同意（共 3 人）" {
		t.Errorf("the step's progress: %q", got)
	}
	if got := leader.text("#step"); !strings.Contains(got, "已办 · 同意") || !strings.Contains(got, "局领导（三）") {
		t.Errorf("the step's signers: %q", got)
	}
	phoneWide(t, leader, "the leaders' 票签 task page")
	leader.screenshot("hardship-leaders-vote-phone.png", 390, 844)
	leader.do(chromedp.EmulateViewport(390, 844))
	if st := leader.submit("#outcome-approve"); st != 200 {
		t.Fatalf("the leader's approval: %d: %s", st, leader.body())
	}
	api.as("staff01").waitGrant(big.ID, casework.GrantApproved)
	noRawCodes(t, leader, "the leaders' 票签 task page")
}
