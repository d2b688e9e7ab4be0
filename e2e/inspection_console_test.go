package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jiaofu/casework"
)

// TestConsoleInspection: at phone width, an inspector plans a round (bad input is refused next to
// its field, in Chinese, with what was typed kept) and records a finding during the visit (an
// unknown date and an empty description refused beside their fields); the unit's leader finds it
// on their list with its rectification deadline, and submits the rectification on its task page
// (evidence required, refused beside its field); the inspector reviews it on theirs (a rejection
// needs a reason) and closes it out (销号), all at phone width.
func TestConsoleInspection(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)

	insp := b.session(t, "inspector01")
	insp.login("inspector01")
	insp.do(chromedp.EmulateViewport(390, 844))
	if !strings.Contains(insp.text("nav"), "督查轮次") {
		t.Errorf("the inspector's nav lacks the rounds: %q", insp.text("nav"))
	}
	insp.open("/console/inspection/rounds")
	if st := insp.submit("#new-round"); st != 200 {
		t.Fatalf("new round form: %d", st)
	}
	// A term in the wrong form and no unit ticked: refused, the term's error next to it.
	insp.set("#f-term", "2026秋")
	if st := insp.submit("#plan-round"); st != 400 {
		t.Fatalf("a bad term: %d, want 400: %s", st, insp.body())
	}
	if got := insp.text(`.field-error[data-field="term"]`); !strings.Contains(got, "学期格式应为") {
		t.Errorf("term error: %q; page %s", got, insp.body())
	}
	if v := insp.value("#f-term"); v != "2026秋" {
		t.Errorf("the typed term was not kept: %q", v)
	}
	insp.set("#f-term", "2026-2027-1")
	if st := insp.submit("#plan-round"); st != 400 {
		t.Fatalf("no unit: %d, want 400", st)
	}
	if got := insp.text(`.field-error[data-field="units"]`); !strings.Contains(got, "至少选择 1 项") {
		t.Errorf("units error: %q", got)
	}
	if w := eval[int](insp, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the round form is %dpx wider than a phone", w)
	}
	insp.screenshot("inspection-round-errors-phone.png", 390, 844)
	insp.do(chromedp.EmulateViewport(390, 844))
	eval[bool](insp, `document.querySelector('input[name="units"][value="JS-T01"]').checked = true`)
	eval[bool](insp, `document.querySelector('input[name="units"][value="JS-T01-S01"]').checked = true`)
	insp.set("#f-planned_on", "2026-12-10")
	if st := insp.submit("#plan-round"); st != 200 {
		t.Fatalf("plan the round: %d: %s", st, insp.body())
	}
	if !strings.Contains(insp.location(), "/console/inspection/rounds/round-") {
		t.Fatalf("planning did not lead to the round: %s", insp.location())
	}
	roundURL := strings.TrimPrefix(insp.location(), base)
	if txt := insp.text("#round-facts"); !strings.Contains(txt, "业州镇第一小学") || !strings.Contains(txt, "2026-12-10") {
		t.Errorf("round facts: %q", txt)
	}

	// During the visit: a deadline that is not a date, and no description: refused beside them.
	insp.set("#f-unit_code", "JS-T01-S01")
	insp.set("#f-area", "student_aid")
	insp.set("#f-severity", "major")
	// A phone browser without a date picker lets anything be typed.
	eval[bool](insp, `(document.querySelector('#f-rectify_by').type = 'text') === 'text'`)
	insp.set("#f-rectify_by", "下周")
	if st := insp.submit("#record-finding"); st != 400 {
		t.Fatalf("no description: %d, want 400", st)
	}
	if got := insp.text(`.field-error[data-field="description"]`); !strings.Contains(got, "必填") {
		t.Errorf("description error: %q; page %.800s", got, insp.body())
	}
	if v := insp.value("#f-area"); v != "student_aid" {
		t.Errorf("the chosen area was not kept: %q", v)
	}
	insp.set("#f-description", "资助档案缺 3 名学生的家庭经济困难证明")
	eval[bool](insp, `(document.querySelector('#f-rectify_by').type = 'text') === 'text'`)
	insp.set("#f-rectify_by", "下周")
	if st := insp.submit("#record-finding"); st != 400 {
		t.Fatalf("a bad deadline: %d, want 400", st)
	}
	if got := insp.text(`.field-error[data-field="rectify_by"]`); !strings.Contains(got, "日期格式应为") {
		t.Errorf("rectify_by error: %q; page %.800s", got, insp.body())
	}
	insp.set("#f-rectify_by", "2020-01-01")
	if st := insp.submit("#record-finding"); st != 400 {
		t.Fatalf("a past deadline: %d, want 400", st)
	}
	if got := insp.text(`.field-error[data-field="rectify_by"]`); !strings.Contains(got, "日期不能早于今天") {
		t.Errorf("past rectify_by error: %q", got)
	}
	if v := insp.value("#f-description"); !strings.Contains(v, "资助档案") {
		t.Errorf("the description was not kept: %q", v)
	}
	due := time.Now().AddDate(0, 0, 20).Format("2006-01-02")
	insp.set("#f-rectify_by", due)
	if st := insp.submit("#record-finding"); st != 200 {
		t.Fatalf("record the finding: %d: %s", st, insp.body())
	}
	insp.waitFor(roundURL, 30*time.Second, "the finding on the round", func() bool {
		return strings.Contains(insp.text("#round-findings"), "资助档案缺")
	})
	if w := eval[int](insp, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the round page is %dpx wider than a phone", w)
	}
	noRawCodes(t, insp, "inspection round")
	insp.screenshot("inspection-round-phone.png", 390, 844)

	// The school's leader sees it, with its deadline.
	head := b.session(t, "head01")
	head.login("head01")
	head.do(chromedp.EmulateViewport(390, 844))
	head.waitFor("/console/inspection/findings", 30*time.Second, "the finding at the school", func() bool {
		return strings.Contains(head.text("#findings"), "资助档案缺")
	})
	row := head.text("#findings tbody tr")
	for _, want := range []string{"学生资助", "较重", due, "整改中"} {
		if !strings.Contains(row, want) {
			t.Errorf("the leader's row lacks %q: %q", want, row)
		}
	}
	if strings.Contains(head.text("nav"), "督查轮次") {
		t.Errorf("a school leader is offered the inspectors' rounds")
	}

	// The term's evaluation: the school loses student aid's weight (3) × a major finding's points
	// (2); the inputs are shown beside the score, by township.
	api := newClient(t, svc)
	var rep struct {
		Weights   map[string]int
		Townships []struct {
			Code    string
			Schools []struct {
				UnitCode string `json:"unit_code"`
				Score    float64
				Areas    []struct {
					Area      string
					Weight    int
					Major     int
					Deduction float64
				}
			}
		}
	}
	if code := api.as("inspector01").do("GET", "/api/v1/reports/inspection-evaluation?term=2026-2027-1", nil, &rep); code != 200 {
		t.Fatalf("evaluation: %d", code)
	}
	found := false
	for _, tw := range rep.Townships {
		for _, sc := range tw.Schools {
			if sc.UnitCode == "JS-T01-S01" {
				found = true
				if tw.Code != "JS-T01" || sc.Score != 94 || len(sc.Areas) != 1 || sc.Areas[0].Area != "student_aid" || sc.Areas[0].Weight != 3 ||
					sc.Areas[0].Major != 1 || sc.Areas[0].Deduction != 6 {
					t.Errorf("the school's evaluation: township %s %+v", tw.Code, sc)
				}
			} else if sc.Score != 100 {
				t.Errorf("a school without findings scores %v", sc.Score)
			}
		}
	}
	if !found || len(rep.Townships) < 10 {
		t.Errorf("evaluation lists %d townships, the school found: %v", len(rep.Townships), found)
	}
	api.as("inspector01").expectReason("GET", "/api/v1/reports/inspection-evaluation", nil, 400, "term", "required")
	api.as("inspector01").expectReason("GET", "/api/v1/reports/inspection-evaluation?term=2026", nil, 400, "term", "term_format")
	head.open("/console/inspection/evaluation?term=2026-2027-1")
	row = head.text(`tr[data-unit="JS-T01-S01"]`)
	for _, want := range []string{"业州镇第一小学", "94", "学生资助：权重 3", "较重 1", "扣 6 分"} {
		if !strings.Contains(row, want) {
			t.Errorf("the evaluation row lacks %q: %q", want, row)
		}
	}
	if w := eval[int](head, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the evaluation is %dpx wider than a phone", w)
	}
	head.screenshot("inspection-evaluation-phone.png", 390, 844)
	head.open("/console/inspection/evaluation?term=2026秋")
	if got := head.text(`.field-error[data-field="term"]`); !strings.Contains(got, "学期格式应为") {
		t.Errorf("the evaluation's term error: %q", got)
	}

	// The school's leader rectifies on the task page: without the evidence note, refused beside it.
	rect := api.as("head01").waitTask(casework.KindRectification, "finding-")
	head.open("/console/tasks/" + rect.ID)
	if !strings.Contains(head.body(), "资助档案缺") {
		t.Errorf("the rectification's task page lacks the finding: %.800s", head.body())
	}
	head.set("#f-summary", "已补齐 3 名学生的家庭经济困难证明")
	if st := head.submit("#outcome-submitted"); st != 400 {
		t.Fatalf("a rectification without evidence: %d, want 400", st)
	}
	if got := head.text(`.field-error[data-field="evidence_note"]`); got == "" {
		t.Errorf("no error beside the evidence note: %.800s", head.body())
	}
	if w := eval[int](head, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the rectification's task page is %dpx wider than a phone", w)
	}
	head.screenshot("inspection-rectification-phone.png", 390, 844)
	head.do(chromedp.EmulateViewport(390, 844))
	head.set("#f-evidence_note", "证明材料扫描件 3 份")
	if st := head.submit("#outcome-submitted"); st != 200 {
		t.Fatalf("submit the rectification: %d: %.800s", st, head.body())
	}

	// The inspector reviews it: a rejection without a reason is refused; accepted, it is closed out.
	review := api.as("inspector01").waitTask(casework.KindRectificationReview, "finding-")
	insp.open("/console/tasks/" + review.ID)
	if body := insp.body(); !strings.Contains(body, "证明材料扫描件") || !strings.Contains(body, "通过（销号）") {
		t.Errorf("the review's task page lacks the evidence or the 销号 button: %.1500s", body)
	}
	if st := insp.submit("#outcome-reject"); st != 400 {
		t.Fatalf("a rejection without a reason: %d, want 400", st)
	}
	if got := insp.text(`.field-error[data-field="comment"]`); got == "" {
		t.Errorf("no error beside the comment: %.800s", insp.body())
	}
	if body := insp.body(); strings.Contains(body, "确认不同意") || strings.Contains(body, "JS-T01-S01") {
		t.Errorf("the review offers a subsidy's 确认不同意 (a rejection here sends it back), or names the unit by code: %.1500s", body)
	}
	noRawCodes(t, insp, "rectification review")
	if w := eval[int](insp, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the review's task page is %dpx wider than a phone", w)
	}
	insp.screenshot("inspection-review-phone.png", 390, 844)
	insp.do(chromedp.EmulateViewport(390, 844))
	insp.set("#f-comment", "材料齐全，同意销号")
	if st := insp.submit("#outcome-accept"); st != 200 {
		t.Fatalf("accept the rectification: %d: %.800s", st, insp.body())
	}
	insp.waitFor("/console/inspection/findings?state=closed", 30*time.Second, "the finding closed out", func() bool {
		return strings.Contains(insp.text("#findings"), "资助档案缺")
	})
	if row := insp.text("#findings tbody tr"); !strings.Contains(row, "已销号") {
		t.Errorf("the closed finding's row: %q", row)
	}
}
