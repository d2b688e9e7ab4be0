package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleSendHomeAndPairing: at phone width, school staff start a send-home plan from the
// console (a plan without its disability type is refused beside the field, the rest kept) with
// periods of a few seconds; the teacher logs the first visit (the assessment) on the plan's
// page. Staff pair the teacher with a poverty-registered student; the teacher records the
// term's help plan (an empty record refused beside its field), and the handbook shows it done
// and the rest owed, the growth record lists it. The bureau leader's progress map shows the
// school behind — the plan's periods pass short of visits — coloured, first, without scrolling
// sideways.
func TestConsoleSendHomeAndPairing(t *testing.T) {
	chromiumPath(t)
	svc := startService(t, testConfig(t, t.TempDir()))
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)
	api := newClient(t, svc)
	var me struct {
		UserID string `json:"user_id"`
	}
	api.as("teacher01").do("GET", "/api/v1/me", nil, &me)
	child, paired := api.as("staff01").studentOf("王二小"), api.as("staff01").studentOf("张小三")
	phone := func(p *tab) *tab { p.do(chromedp.EmulateViewport(390, 844)); return p }
	noSideScroll := func(p *tab, where string) {
		t.Helper()
		if w := eval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("%s is %dpx wider than a phone", where, w)
		}
	}

	// Staff start a plan.
	staff := b.session(t, "staff01")
	staff.login("staff01")
	phone(staff)
	staff.open("/console/sendhome/plans")
	if st := staff.submit("#new-plan"); st != 200 {
		t.Fatalf("the new-plan form: %d", st)
	}
	noSideScroll(staff, "the new-plan form")
	if got := staff.value("#f-visits_per_period"); got != "2" {
		t.Errorf("the county default of visits per period is not filled in: %q", got)
	}
	staff.set("#f-student_id", child.ID)
	staff.set("#f-teacher_ids", me.UserID)
	staff.set("#f-goals", "生活自理、认读 50 字")
	staff.set("#f-period", "3s")
	staff.set("#f-min_minutes", "90")
	if st := staff.submit("#start-plan"); st != 400 {
		t.Fatalf("a plan without its disability type: %d, want 400", st)
	}
	if got := staff.text(`.field-error[data-field="disability_type"]`); got == "" {
		t.Errorf("no error beside the disability type: %.600s", staff.body())
	}
	if got := staff.value("#f-goals"); !strings.Contains(got, "认读") {
		t.Errorf("the goals were not kept: %q", got)
	}
	noRawCodes(t, staff, "the refused plan form")
	staff.set("#f-disability_type", "智力残疾")
	staff.set("#f-disability_grade", "二级")
	if st := staff.submit("#start-plan"); st != 200 || !strings.Contains(staff.location(), "/console/sendhome/plans/sendhome-") {
		t.Fatalf("start the plan: %d at %s: %.600s", st, staff.location(), staff.body())
	}
	planPath := strings.TrimPrefix(staff.location(), base)
	if got := staff.text("#plan-state"); !strings.Contains(got, "待评估") {
		t.Errorf("a new plan is %q, want 待评估", got)
	}

	// The teacher logs the first visit: the assessment.
	teacher := b.session(t, "teacher01")
	teacher.login("teacher01")
	phone(teacher)
	teacher.open(planPath)
	teacher.set("#f-visit-minutes", "120")
	teacher.set("#f-visit-content", "生活技能训练：穿衣、洗手")
	teacher.set("#f-visit-evidence_note", "照片 2 张")
	if st := teacher.submit("#log-visit"); st != 200 {
		t.Fatalf("log the first visit: %d: %.600s", st, teacher.body())
	}
	teacher.waitFor(planPath, 20*time.Second, "the visit on the plan", func() bool {
		return strings.Contains(teacher.text("#visits"), "穿衣") && strings.Contains(teacher.text("#plan-state"), "送教中")
	})
	noSideScroll(teacher, "the plan page")

	// Staff pair the teacher with a poverty-registered student.
	staff.open("/console/pairings")
	if eval[bool](staff, `[...document.querySelectorAll('#f-student_id option')].some(o => o.value === `+jsString(child.ID)+`)`) {
		t.Errorf("a student who is not poverty-registered is offered for pairing")
	}
	staff.set("#f-student_id", paired.ID)
	staff.set("#f-teacher_id", me.UserID)
	if st := staff.submit("#pair"); st != 200 || !strings.Contains(staff.location(), "/console/pairings/pairing-") {
		t.Fatalf("pair: %d at %s: %.600s", st, staff.location(), staff.body())
	}
	pairingPath := strings.TrimPrefix(staff.location(), base)
	if n := eval[int](staff, `document.querySelectorAll('#handbook tr[data-done="false"]').length`); n != 6 {
		t.Errorf("a new pairing owes %d duties, want 6", n)
	}

	// The teacher records the term's help plan.
	teacher.open(pairingPath)
	noSideScroll(teacher, "the pairing page")
	teacher.set("#f-kind", "plan")
	if st := teacher.submit("#record-duty"); st != 400 {
		t.Fatalf("an empty record: %d, want 400", st)
	}
	if got := teacher.text(`.field-error[data-field="content"]`); got == "" {
		t.Errorf("no error beside the content: %.600s", teacher.body())
	}
	teacher.set("#f-kind", "plan")
	teacher.set("#f-content", "制定帮扶计划：每周辅导数学两次")
	teacher.set("#f-evidence_note", "帮扶手册第 1 页")
	if st := teacher.submit("#record-duty"); st != 200 {
		t.Fatalf("record the plan: %d: %.600s", st, teacher.body())
	}
	if !eval[bool](teacher, `document.querySelector('#handbook tr[data-kind="plan"]').dataset.done === "true"`) {
		t.Errorf("the handbook does not show the plan done: %q", teacher.text("#handbook"))
	}
	if n := eval[int](teacher, `document.querySelectorAll('#handbook tr[data-done="false"]').length`); n != 5 {
		t.Errorf("after the plan the pairing owes %d duties, want 5", n)
	}
	if got := teacher.text("#growth-record"); !strings.Contains(got, "每周辅导数学") || !strings.Contains(got, "帮扶计划") {
		t.Errorf("the growth record: %q", got)
	}

	// The leader's progress map: the school is behind (the plan's periods pass short), red, first.
	leader := b.session(t, "leader01")
	leader.login("leader01")
	phone(leader)
	leader.waitFor("/console/duty-map?unit=JS-T01", 40*time.Second, "the school behind on the map", func() bool {
		return leader.exists(`#duty-map tbody tr[data-unit="JS-T01-S01"][data-status="behind"]`)
	})
	if first := eval[string](leader, `document.querySelector('#duty-map tbody tr').dataset.status`); first != "behind" {
		t.Errorf("the first row of the map is %q, want a unit behind", first)
	}
	// Colour, not only numbers: the row (a card on a phone) is tinted red with a red bar down its
	// edge, a unit with nothing late is not, and every column is named.
	row := `getComputedStyle(document.querySelector('#duty-map tbody tr[data-unit="JS-T01-S01"]'))`
	if bg := eval[string](leader, row+`.backgroundColor`); bg != "rgb(253, 226, 225)" {
		t.Errorf("the school behind is coloured %s, want the red of dm-behind", bg)
	}
	if edge := eval[string](leader, row+`.borderLeftColor`); edge != "rgb(179, 38, 30)" {
		t.Errorf("the school behind has a %s edge, want red", edge)
	}
	if bg := eval[string](leader, `getComputedStyle(document.querySelector('#duty-map tbody tr:not([data-status="behind"])')).backgroundColor`); bg == "rgb(253, 226, 225)" {
		t.Errorf("a unit not behind is coloured as behind")
	}
	if !strings.Contains(leader.text(`#duty-map tbody tr[data-unit="JS-T01-S01"]`), "有逾期") {
		t.Errorf("the school's card does not say it is behind: %q", leader.text(`#duty-map tbody tr[data-unit="JS-T01-S01"]`))
	}
	if n := eval[int](leader, `[...document.querySelectorAll('#duty-map td')].filter(td => !td.dataset.label).length`); n != 0 {
		t.Errorf("%d cells of the map have no column name", n)
	}
	if got := leader.text(`#duty-map tbody tr[data-unit="JS-T01-S01"]`); !strings.Contains(got, "（") {
		t.Errorf("the school's row shows no overdue count: %q", got)
	}
	noSideScroll(leader, "the progress map")
	leader.screenshot("duty-map-phone.png", 390, 844)
}
