package e2e

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/demo"
)

// TestConsolePlan: the first start seeds the bureau's own plan (annex 1, re-dated); at phone
// width the PA office reads it grouped by 一级指标, makes a new plan (a bad year refused beside its
// field) and imports a list with a section the bureau does not have (the row and column named
// in Chinese, nothing imported); the aid center reports progress (a bad percent refused beside
// it) and declares its task done on the task page; the PA office closes it out (销号); the plan's
// report and the duty map show it.
func TestConsolePlan(t *testing.T) {
	chromiumPath(t)
	cfg := testConfig(t, t.TempDir())
	cfg.SeedDemoPlan = true
	svc := startService(t, cfg)
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)
	api := newClient(t, svc)
	paAPI := api.as("pa01")
	var tasks []planTask
	eventually(t, 90*time.Second, func() bool {
		tasks = paAPI.planTasks(demo.PlanID)
		for _, pt := range tasks {
			if pt.State != casework.PlanTaskInProgress {
				return false
			}
		}
		return len(tasks) == 52
	}, "the seeded plan's 52 cases to start")

	pa := b.session(t, "pa01")
	pa.login("pa01")
	pa.do(chromedp.EmulateViewport(390, 844))
	pa.open("/console/plans")
	if !strings.Contains(pa.text("#plans"), demo.PlanTitle) {
		t.Fatalf("the seeded plan is not listed: %q", pa.text("#plans"))
	}
	pa.open("/console/plans/" + demo.PlanID)
	if n := eval[int](pa, `document.querySelectorAll('table.plan-tasks tbody tr').length`); n != 52 {
		t.Errorf("the plan page shows %d tasks, want 52", n)
	}
	for _, want := range []string{"重点项目", "改革举措", "组织领导", "资助中心", "推进中"} {
		if !strings.Contains(pa.body(), want) {
			t.Errorf("the plan page lacks %q", want)
		}
	}
	if w := eval[int](pa, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the plan page is %dpx wider than a phone", w)
	}
	pa.screenshot("plan-phone.png", 390, 844)

	// A new plan: a year that is not one is refused beside its field, the title kept.
	pa.open("/console/plans")
	pa.set("#f-year", "明年")
	pa.set("#f-title", "二〇二七年教育脱贫工作方案")
	if st := pa.submit("#create-plan"); st != 400 {
		t.Fatalf("a bad year: %d, want 400", st)
	}
	if got := pa.text(`.field-error[data-field="year"]`); !strings.Contains(got, "四位年份") {
		t.Errorf("year error: %q", got)
	}
	if v := pa.value("#f-title"); !strings.Contains(v, "二〇二七年") {
		t.Errorf("the title was not kept: %q", v)
	}
	pa.set("#f-year", "2027")
	if st := pa.submit("#create-plan"); st != 200 || !strings.Contains(pa.location(), "/console/plans/plan-") {
		t.Fatalf("create the plan: %d at %s", st, pa.location())
	}
	planURL := strings.TrimPrefix(pa.location(), base)

	// Import a list whose fourth row names 宣传股: refused, the row and column named in Chinese.
	rows, err := demo.RedatedPlan(2027)
	if err != nil {
		t.Fatal(err)
	}
	rows[3][3] = "宣传股"
	var buf bytes.Buffer
	_ = csv.NewWriter(&buf).WriteAll(rows)
	file := filepath.Join(t.TempDir(), "任务清单.csv")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pa.do(chromedp.SetUploadFiles("#import-file", []string{file}))
	if st := pa.submit("#import-tasks"); st != 400 {
		t.Fatalf("import with an unknown section: %d, want 400", st)
	}
	if got := pa.text(`#row-errors tr[data-row="4"]`); !strings.Contains(got, "第 4 行") || !strings.Contains(got, "牵头股室") ||
		!strings.Contains(got, "没有名为「宣传股」的单位") {
		t.Errorf("the row's error: %q; page %.600s", got, pa.body())
	}
	if !strings.Contains(pa.text("#row-errors"), "未导入任何任务") {
		t.Errorf("the banner does not say nothing was imported: %q", pa.text("#row-errors"))
	}
	if w := eval[int](pa, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the row errors are %dpx wider than a phone", w)
	}
	noRawCodes(t, pa, "plan import")
	pa.screenshot("plan-import-errors-phone.png", 390, 844)
	pa.open(planURL)
	if n := eval[int](pa, `document.querySelectorAll('table.plan-tasks tbody tr').length`); n != 0 {
		t.Errorf("a refused import left %d tasks", n)
	}

	// The aid center reports on its task and declares it done on the task page.
	first := tasks[0]
	aid := b.session(t, "aid01")
	aid.login("aid01")
	aid.do(chromedp.EmulateViewport(390, 844))
	aid.open("/console/plan-tasks/" + first.ID)
	aid.set("#f-summary", "已完成资助名单比对")
	aid.set("#f-percent", "一半")
	if st := aid.submit("#report-plan-task"); st != 400 {
		t.Fatalf("a bad percent: %d, want 400", st)
	}
	if got := aid.text(`.field-error[data-field="percent"]`); !strings.Contains(got, "0 到 100") {
		t.Errorf("percent error: %q", got)
	}
	aid.set("#f-percent", "60")
	if st := aid.submit("#report-plan-task"); st != 200 {
		t.Fatalf("report: %d", st)
	}
	if !strings.Contains(aid.text("#plan-task-reports"), "60%") {
		t.Errorf("the report is not listed: %q", aid.text("#plan-task-reports"))
	}
	declare := api.as("aid01").waitTask(casework.KindPlanTask, first.ID)
	aid.open("/console/tasks/" + declare.ID)
	if !strings.Contains(aid.text("#plan-task-facts"), "学生资助管理中心") {
		t.Errorf("the task page's facts: %q", aid.text("#plan-task-facts"))
	}
	aid.set("#f-summary", "建档立卡学生已全部资助")
	aid.set("#f-evidence_note", "资助名册及发放凭证")
	if st := aid.submit("#outcome-done"); st != 200 {
		t.Fatalf("declare done: %d: %.500s", st, aid.body())
	}
	review := paAPI.waitTask(casework.KindPlanTaskReview, first.ID)
	pa.open("/console/tasks/" + review.ID)
	pa.set("#f-comment", "材料齐全，同意销号")
	if st := pa.submit("#outcome-accept"); st != 200 {
		t.Fatalf("accept: %d: %.500s", st, pa.body())
	}
	pa.waitFor("/console/plans/"+demo.PlanID+"/report", 30*time.Second, "the close-out on the report", func() bool {
		return strings.Contains(pa.text("#plan-total"), "已销号 1 项")
	})
	if got := pa.text(`.plan-completion tr[data-key="` + demo.AidCenterCode + `"]`); !strings.Contains(got, time.Now().In(calendar.CST).Format("2006-01-02")) {
		t.Errorf("the aid center's row lacks today's 销号: %q", got)
	}
	if w := eval[int](pa, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the report is %dpx wider than a phone", w)
	}
	pa.screenshot("plan-report-phone.png", 390, 844)
	pa.open("/console/duty-map")
	if got := pa.text("#duty-map thead"); !strings.Contains(got, "任务清单") || !strings.Contains(got, "包保联系") || !strings.Contains(got, "学校任务") {
		t.Errorf("the duty map's columns: %q", got)
	}
	if got := pa.text(`#duty-map tr[data-unit="JS-ZB"]`); !strings.Contains(got, "招办") {
		t.Errorf("the duty map has no row for 招办: %q", got)
	}
	// A term the clerk typed wrong is refused above the map, whose filter stays to correct it.
	pa.open("/console/duty-map?term=2026秋")
	if got := pa.text("#banner"); !strings.Contains(got, "学期") || !pa.exists(`form.filters input[name="term"]`) {
		t.Errorf("a wrong term on the map: banner %q, filter kept %v", got, pa.exists(`form.filters input[name="term"]`))
	}

	// 包保联系: the section head who answers for 业州镇第一小学 records this month's contact (a
	// missing summary refused beside it); the PA office reads it without anyone forwarding it.
	edu := b.session(t, "edu01")
	edu.login("edu01")
	edu.do(chromedp.EmulateViewport(390, 844))
	edu.open("/console/contacts")
	if got := edu.text(`#contact-duties tr[data-unit="JS-T01-S01"]`); !strings.Contains(got, "未联系") {
		t.Errorf("the school's contact this month: %q", got)
	}
	edu.set("#f-unit_code", "JS-T01-S01")
	if st := edu.submit("#record-contact"); st != 400 {
		t.Fatalf("a contact without a summary: %d, want 400", st)
	}
	if got := edu.text(`.field-error[data-field="summary"]`); !strings.Contains(got, "必填") {
		t.Errorf("summary error: %q", got)
	}
	edu.set("#f-summary", "到校了解控辍保学和资助落实情况")
	if st := edu.submit("#record-contact"); st != 200 {
		t.Fatalf("record the contact: %d: %.400s", st, edu.body())
	}
	if w := eval[int](edu, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the contacts page is %dpx wider than a phone", w)
	}
	edu.screenshot("plan-contacts-phone.png", 390, 844)
	pa.open("/console/contacts")
	if got := pa.text("#contact-records"); !strings.Contains(got, "业州镇第一小学") || !strings.Contains(got, "实地走访") {
		t.Errorf("the PA office's contact records: %q", got)
	}

	// 学校任务: the school's leader records the term's article (the medium is required).
	head := b.session(t, "head01")
	head.login("head01")
	head.do(chromedp.EmulateViewport(390, 844))
	head.open("/console/school-duties")
	article := `tr[data-duty="schoolduty-article-JS-T01-S01"]`
	eval[bool](head, `(document.querySelector('`+article+` details').open = true) === true`)
	head.set(article+` input[name="title"]`, "建始县教育扶贫见闻")
	if st := head.submit(article + ` button[type="submit"]`); st != 400 {
		t.Fatalf("an article without its medium: %d, want 400", st)
	}
	if got := head.text(article + ` .field-error[data-field="outlet"]`); !strings.Contains(got, "必填") {
		t.Errorf("outlet error: %q", got)
	}
	head.set(article+` input[name="outlet"]`, "恩施日报")
	if st := head.submit(article + ` button[type="submit"]`); st != 200 {
		t.Fatalf("record the article: %d", st)
	}
	if got := head.text(article); !strings.Contains(got, "1 / 1") || !strings.Contains(got, "恩施日报") {
		t.Errorf("the article's row: %q", got)
	}
}
