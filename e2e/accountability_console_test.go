package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jiaofu/casework"
)

// TestAccountabilityDeskConsole: at phone width, the supervision office finds a dropout case on
// its accountability desk without anyone forwarding it — named by the student and the school, with
// the person who answers for it and how long it has waited — decides it (a decision without a
// reason is refused next to its field, in Chinese) with organisational handling, records the
// handling carried out (its task in the office's inbox meanwhile), and finds the decision in the
// term's report.
func TestAccountabilityDeskConsole(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)
	api := newClient(t, svc)
	staff := api.as("staff01")
	stu := staff.studentOf("向金花")
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": stu.ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}

	jcs := b.session(t, "jcs01-desk")
	jcs.login("jcs01")
	jcs.do(chromedp.EmulateViewport(390, 844))
	if !strings.Contains(jcs.text("nav"), "问责台") {
		t.Errorf("the supervision office's nav lacks the desk: %q", jcs.text("nav"))
	}
	card := fmt.Sprintf(`article.acc[data-case=%q][data-state="open"]`, dc.ID)
	jcs.waitFor("/console/accountability", 60*time.Second, "the case on the accountability desk", func() bool {
		return jcs.exists(card)
	})
	txt := jcs.text(card)
	for _, want := range []string{"向金花", "业州镇第一小学", "包保责任人", "已等待", "待决定"} {
		if !strings.Contains(txt, want) {
			t.Errorf("desk item lacks %q: %q", want, txt)
		}
	}
	if strings.Contains(txt, dc.ID) || strings.Contains(txt, "JS-T01") {
		t.Errorf("desk item shows an id or code: %q", txt)
	}
	noRawCodes(t, jcs, "accountability desk")
	// The desk's unit filter: the case's township keeps it, another township's does not.
	if got := jcs.text(`select[name="unit"]`); !strings.Contains(got, "业州镇中心学校") {
		t.Errorf("the unit filter's choices: %q", got)
	}
	jcs.open("/console/accountability?unit=JS-T02")
	if jcs.exists(card) {
		t.Errorf("another township's filter lists the case")
	}
	jcs.open("/console/accountability?unit=JS-T01")
	if !jcs.exists(card) {
		t.Errorf("the case's township's filter does not list it")
	}
	if w := eval[int](jcs, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the desk is %dpx wider than a phone", w)
	}
	jcs.screenshot("accountability-phone.png", 390, 844)
	jcs.do(chromedp.EmulateViewport(390, 844))

	// No reason: refused next to the note, what was ticked kept.
	eval[bool](jcs, fmt.Sprintf(`document.querySelector(%q).checked = true`, card+` input[name="measures"][value="admonishment"]`))
	if st := jcs.submit(card + ` button[type="submit"]`); st != 400 {
		t.Errorf("a decision without a reason: %d, want 400", st)
	}
	if got := jcs.text(card + ` .field-error[data-field="note"]`); !strings.Contains(got, "须写明理由") {
		t.Errorf("note error = %q; page %.800s", got, jcs.body())
	}
	if !eval[bool](jcs, fmt.Sprintf(`document.querySelector(%q).checked`, card+` input[name="measures"][value="admonishment"]`)) {
		t.Errorf("the ticked measure was not kept")
	}
	eval[bool](jcs, fmt.Sprintf(`document.querySelector(%q).checked = true`, card+` input[name="measures"][value="organisational_handling"]`))
	jcs.set(card+` textarea[name="note"]`, "劝返不力，逾期未报")
	jcs.set(card+` textarea[name="persons"]`, "张三 副校长")
	if st := jcs.submit(card + ` button[type="submit"]`); st != 200 {
		t.Fatalf("decide: %d %s", st, jcs.body())
	}
	if !strings.Contains(jcs.text("#flash"), "诫勉") {
		t.Errorf("after deciding: flash %q", jcs.text("#flash"))
	}
	jcs.open("/console/accountability?state=decided")
	decided := fmt.Sprintf(`article.acc[data-case=%q][data-state="decided"]`, dc.ID)
	if txt := jcs.text(decided); !strings.Contains(txt, "诫勉") || !strings.Contains(txt, "张三（副校长）") || !strings.Contains(txt, "劝返不力") {
		t.Errorf("decided item = %q", txt)
	}

	// Organisational handling: a month to carry it out, the office's task in its inbox, recorded
	// with what was done (a note required, refused beside it).
	if txt := jcs.text(decided + " .handling"); !strings.Contains(txt, "组织处理应于") {
		t.Errorf("the decision's handling line: %q", txt)
	}
	jcs.waitFor("/console/", 30*time.Second, "the handling's task in the office's inbox", func() bool {
		return strings.Contains(jcs.text("#inbox"), "组织处理落实")
	})
	handling := api.as("jcs01").waitTask(casework.KindOrganisationalHandling, dc.ID)
	jcs.open("/console/tasks/" + handling.ID)
	if body := jcs.body(); !strings.Contains(body, "向金花") || !strings.Contains(body, "已落实") {
		t.Errorf("the handling's task page lacks the case or its 已落实 button: %.1500s", body)
	}
	noRawCodes(t, jcs, "organisational handling task")
	jcs.open("/console/accountability?state=decided")
	if st := jcs.submit(decided + ` .handling-form button[type="submit"]`); st != 400 {
		t.Errorf("handling done without a note: %d, want 400", st)
	}
	if got := jcs.text(decided + ` .field-error[data-field="note"]`); got == "" {
		t.Errorf("no error beside the handling's note: %.800s", jcs.body())
	}
	jcs.set(decided+` .handling-form input[name="note"]`, "已免去副校长职务")
	if st := jcs.submit(decided + ` .handling-form button[type="submit"]`); st != 200 {
		t.Fatalf("handling done: %d %.800s", st, jcs.body())
	}
	if txt := jcs.text(decided + " .handling"); !strings.Contains(txt, "落实：已免去副校长职务") {
		t.Errorf("the handling after it was recorded: %q", txt)
	}
	noRawCodes(t, jcs, "accountability decided")
	if w := eval[int](jcs, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the decided desk is %dpx wider than a phone", w)
	}
	jcs.screenshot("accountability-handling-phone.png", 390, 844)
	jcs.do(chromedp.EmulateViewport(390, 844))

	jcs.open("/console/accountability/report")
	if txt := jcs.text("#acc-report"); !strings.Contains(txt, "业州镇第一小学") || !strings.Contains(txt, "诫勉") {
		t.Errorf("report = %q (%s)", txt, jcs.body())
	}
	noRawCodes(t, jcs, "accountability report")
	if w := eval[int](jcs, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the report is %dpx wider than a phone", w)
	}
	jcs.screenshot("accountability-report-phone.png", 390, 844)
	// A term typed wrong is refused above the report and the desk, which stay.
	for _, page := range []string{"/console/accountability/report?term=2026秋", "/console/accountability?term=2026秋"} {
		jcs.open(page)
		if got := jcs.text("#banner"); !strings.Contains(got, "学期") || strings.Contains(jcs.body(), "系统错误") {
			t.Errorf("%s: banner %q", page, got)
		}
	}

	// The case's timeline says so too.
	jcs.open("/console/cases/" + dc.ID)
	if !strings.Contains(jcs.body(), "作出问责决定") {
		t.Errorf("the case page lacks the decision: %.1500s", jcs.body())
	}
}
