package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestConsoleFormsAndRoles: the console's forms show every field's error at once (the console
// runs the API's own field checks before sending), and its pages offer an action only to those
// the API lets take it (issue 15, items 11 and 16).
func TestConsoleFormsAndRoles(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	b := newBrowser(t, "http://"+svc.HTTPAddr())
	api := newClient(t, svc)
	t.Run("EveryFieldErrorAtOnce", func(t *testing.T) { consoleEveryFieldError(t, b, api) })
	t.Run("ActionsByRole", func(t *testing.T) { consoleActionsByRole(t, b) })
}

// fieldErrors are the fields that show an error on the page.
func (p *tab) fieldErrors() string {
	p.t.Helper()
	return eval[string](p, `[...document.querySelectorAll(".field-error[data-field]")].map(e => e.dataset.field).sort().join(" ")`)
}

func consoleEveryFieldError(t *testing.T, b *browser, api *client) {
	staff := b.session(t, "staff01")
	staff.login("staff01")

	// No programme, a bad term and no evidence note for an unregistered pupil: all three at once.
	staff.open("/console/subsidy/applications/new")
	staff.set("#f-student_id", api.as("staff01").studentOf("王二小").ID)
	staff.set("#f-term", "2026-27-1")
	if st := staff.submit("#submit-application"); st != 400 {
		t.Errorf("apply: status %d, want 400", st)
	}
	if got := staff.fieldErrors(); got != "evidence_note programme term" {
		t.Errorf("apply form flags %q, want evidence_note programme term", got)
	}
	if got := staff.text(`.field-error[data-field="term"]`); !strings.Contains(got, "学期格式应为") {
		t.Errorf("term error = %q", got)
	}
	staff.screenshot("apply-errors-phone.png", 390, 844)

	// A case with no student and no reason.
	staff.open("/console/dropout/cases/new")
	staff.set("#f-last_attended_on", time.Now().AddDate(0, 0, -3).Format("2006-01-02"))
	if st := staff.submit("#open-case"); st != 400 {
		t.Errorf("dropout case: status %d, want 400", st)
	}
	if got := staff.fieldErrors(); got != "reason student_id" {
		t.Errorf("dropout form flags %q, want reason student_id", got)
	}
	staff.screenshot("dropout-new-errors-phone.png", 390, 844)

	// A student with nothing filled in but the school.
	staff.open("/console/admin/students")
	staff.set("#f-id_card_no", "123")
	if st := staff.submit(`form[action="/console/admin/students"] button[type="submit"]`); st != 400 {
		t.Errorf("student: status %d, want 400", st)
	}
	if got := staff.fieldErrors(); got != "birth_date class grade id_card_no name sex student_no" {
		t.Errorf("student form flags %q, want birth_date class grade id_card_no name sex student_no", got)
	}
	if v := staff.value("#f-id_card_no"); v != "123" {
		t.Errorf("typed ID-card number not kept: %q", v)
	}
	staff.screenshot("student-errors-phone.png", 390, 1400)
}

func consoleActionsByRole(t *testing.T, b *browser) {
	count := func(p *tab, sel string) int {
		p.t.Helper()
		return eval[int](p, `document.querySelectorAll(`+jsString(sel)+`).length`)
	}
	applyLinks, caseLinks := `a[href^="/console/subsidy/applications/new"]`, `a[href^="/console/dropout/cases/new"]`

	// School staff apply and open cases for their own pupils.
	staff := b.session(t, "staff01")
	staff.login("staff01")
	staff.open("/console/admin/students")
	if n, rows := count(staff, `#students `+applyLinks), count(staff, "#students tbody tr"); n == 0 || n != rows || count(staff, `#students `+caseLinks) != rows {
		t.Errorf("staff01's students page: %d apply links for %d pupils", n, rows)
	}
	staff.open("/console/subsidy/omissions")
	if n, rows := count(staff, `#omissions `+applyLinks), count(staff, `#omissions td[data-label="学生"]`); n != rows {
		t.Errorf("staff01's omission report: %d apply links for %d pupils", n, rows)
	}
	for path, sel := range map[string]string{"/console/subsidy/applications": "#new-application", "/console/dropout/cases": "#new-case",
		"/console/subsidy/batches": "#new-batch"} {
		staff.open(path)
		if !staff.exists(sel) {
			t.Errorf("staff01 is not offered %s on %s", sel, path)
		}
	}

	// The aid centre reviews county-wide but applies for no one.
	aid := b.session(t, "aid01")
	aid.login("aid01")
	aid.open("/console/subsidy/omissions")
	if count(aid, `#omissions td[data-label="学生"]`) == 0 {
		t.Fatalf("aid01's omission report is empty; the check below would prove nothing: %.800s", aid.body())
	}
	if n := count(aid, applyLinks); n != 0 {
		t.Errorf("aid01's omission report offers %d 为其申请 links", n)
	}
	aid.open("/console/subsidy/applications/new")
	if n := count(aid, "#f-student_id option[value]:not([value=''])"); n != 0 {
		t.Errorf("aid01's apply form lists %d students under 只列出您所在学校的学生", n)
	}

	// The township opens cases for its schools' pupils but applies for none.
	township := b.session(t, "township01")
	township.login("township01")
	township.open("/console/dropout/cases")
	if !township.exists("#new-case") {
		t.Errorf("township01 is not offered 新建劝返案件")
	}
	township.open("/console/subsidy/applications")
	if township.exists("#new-application") {
		t.Errorf("township01 is offered 发起资助申请")
	}

	// The admin keeps the registers but does neither.
	admin := b.session(t, "admin")
	admin.login("admin")
	admin.open("/console/admin/students")
	if count(admin, "#students tbody tr") == 0 {
		t.Fatalf("the admin's students page is empty: %.800s", admin.body())
	}
	if n := count(admin, applyLinks) + count(admin, caseLinks); n != 0 {
		t.Errorf("the admin's students page offers %d 申请资助/劝返立案 links", n)
	}
	for path, sel := range map[string]string{"/console/subsidy/applications": "#new-application", "/console/dropout/cases": "#new-case",
		"/console/subsidy/batches": "#new-batch"} {
		admin.open(path)
		if admin.exists(sel) {
			t.Errorf("the admin is offered %s on %s", sel, path)
		}
	}
}
