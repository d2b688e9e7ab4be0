package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jiaofu/store"
)

// TestDataConsole: at phone width, school staff upload a roster with a bad row and see the row,
// its column and the reason in Chinese, with the error workbook to download; a file with the wrong
// headers is refused next to the file input; a running import shows its progress bar and reloads
// itself; the aid center reads the indicators with their chart, misses in red; the township runs
// the cross-check and sees its suspects.
func TestDataConsole(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)
	api := newClient(t, svc)
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := newPupil("页面甲", "2016-08-08", 401, "JS-T01-S01", 4)
	bad := newPupil("页面乙", "2016-09-09", 402, "JS-T01-S01", 4)
	bad[4] = bad[4][:17] + map[bool]string{true: "0", false: "1"}[bad[4][17] != '0']
	withErrors := write("学生.xlsx", workbook(t, studentColumns, good, bad))
	wrong := write("错表.xlsx", workbook(t, []string{"编号", "名字"}, []string{"1", "张三"}))

	staff := b.session(t, "staff01-import")
	staff.login("staff01")
	staff.do(chromedp.EmulateViewport(390, 844))
	staff.open("/console/imports")
	if !strings.Contains(staff.text("nav"), "数据导入") || !strings.Contains(staff.text("#templates"), "学生学籍导入模板") {
		t.Fatalf("imports page: %s", staff.body())
	}
	staff.set("#f-kind", "students")
	staff.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{withErrors}))
	if st := staff.submit("#upload"); st != 200 {
		t.Fatalf("upload: %d %s", st, staff.body())
	}
	report := staff.location()
	if !strings.Contains(report, "/console/imports/imp_") {
		t.Fatalf("upload lands on %s", report)
	}
	path := strings.TrimPrefix(report, base)
	staff.waitFor(path, time.Minute, "the import to finish", func() bool { return staff.exists(`#import-report[data-state="done"]`) })
	errs := staff.text("#import-errors")
	for _, want := range []string{"第 3 行", "身份证号", "校验位"} {
		if !strings.Contains(errs, want) {
			t.Errorf("error list lacks %q: %q", want, errs)
		}
	}
	if strings.Contains(staff.body(), bad[4]) {
		t.Errorf("the report shows the ID-card number")
	}
	if !staff.exists("#error-download") || !strings.Contains(staff.text("#import-report"), "有错误，未导入") {
		t.Errorf("report: %s", staff.text("#import-report"))
	}
	noRawCodes(t, staff, "import report")
	if w := eval[int](staff, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the import report is %dpx wider than a phone", w)
	}
	staff.screenshot("import-errors-phone.png", 390, 844)
	staff.do(chromedp.EmulateViewport(390, 844))

	// Wrong headers: refused next to the file input, in Chinese.
	staff.open("/console/imports")
	staff.set("#f-kind", "students")
	staff.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{wrong}))
	if st := staff.submit("#upload"); st != 400 {
		t.Fatalf("wrong headers: %d", st)
	}
	if got := staff.text(`.field-error[data-field="file"]`); !strings.Contains(got, "缺少必填列") || !strings.Contains(got, "学籍号") {
		t.Errorf("wrong headers: %q", got)
	}

	// A running import shows its progress and reloads itself.
	var me struct {
		UserID string `json:"user_id"`
	}
	api.as("staff01").do("GET", "/api/v1/me", nil, &me)
	actorJSON, _ := json.Marshal(map[string]string{"user_id": me.UserID})
	ctx := context.Background()
	im, err := svc.Store.CreateImport(ctx, store.Import{ID: store.NewID("imp"), Kind: "students", Mode: "all_or_nothing", FileName: "大文件.xlsx",
		ActorJSON: string(actorJSON), CreatedBy: me.UserID}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Store.SetImportProgress(ctx, im.ID, store.ImportProgress{Total: 60000, Read: 24000, Valid: 23990, Invalid: 10}); err != nil {
		t.Fatal(err)
	}
	staff.open("/console/imports/" + im.ID)
	if v := eval[string](staff, `document.querySelector('#import-progress').getAttribute('value')`); v != "40" {
		t.Errorf("progress bar at %s, want 40", v)
	}
	if !staff.exists(`meta[http-equiv="refresh"]`) || !strings.Contains(staff.text("#import-report"), "校验中") || staff.exists("#error-download") {
		t.Errorf("running import page: %s", staff.text("#import-report"))
	}
	staff.screenshot("import-progress-phone.png", 390, 844)
	_ = svc.Store.FailImport(ctx, im.ID, "test")

	// Indicators with the chart, at phone width.
	aid := b.session(t, "aid01-indicators")
	aid.login("aid01")
	aid.do(chromedp.EmulateViewport(390, 844))
	aid.open("/console/indicators?term=2026-2027-1")
	if !aid.exists("#indicator-chart svg") || !aid.exists(`#indicators tr[data-key="subsidy_coverage"]`) {
		t.Fatalf("indicators page: %s", aid.body())
	}
	if n := eval[int](aid, `document.querySelectorAll('#indicator-chart rect.missed').length`); n == 0 {
		t.Errorf("no missed indicator is drawn red")
	}
	if n := eval[int](aid, `document.querySelectorAll('#indicators tr[data-missed="true"]').length`); n == 0 {
		t.Errorf("no missed indicator is marked in the table")
	}
	if !strings.Contains(aid.text("#indicators"), "分母") {
		t.Errorf("the table lacks the inputs' sources")
	}
	if w := eval[int](aid, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the indicators page is %dpx wider than a phone", w)
	}
	aid.screenshot("indicators-phone.png", 390, 844)

	// The cross-check: the township runs it and sees the suspect its roll has.
	township := api.as("township01")
	lost := newPupil("页面丙", "2017-03-03", 403, "", 0)
	var rep struct{ Created int }
	if code := township.upload("/api/v1/imports/household-roll", "户籍.xlsx", workbook(t, []string{"乡镇代码", "村（社区）", "姓名", "性别", "出生日期", "身份证号", "监护人"},
		[]string{"T01", "三里坝村", "页面丙", "女", "2017-03-03", lost[4], "家长"}), nil, &rep); code != 200 || rep.Created != 1 {
		t.Fatalf("roll: %d %+v", code, rep)
	}
	tw := b.session(t, "township01-xc")
	tw.login("township01")
	tw.do(chromedp.EmulateViewport(390, 844))
	tw.open("/console/cross-checks")
	tw.set("#township_code", "T01")
	tw.set("#term", "2026-2027-1")
	if st := tw.submit("#run-cross-check"); st != 200 {
		t.Fatalf("run: %d", st)
	}
	if !strings.Contains(tw.text("#suspects"), "页面丙") || !strings.Contains(tw.text("#suspects"), "户籍在册、适龄未入学籍") {
		t.Errorf("suspects: %s", tw.text("#suspects"))
	}
	tw.screenshot("cross-check-phone.png", 390, 844)
	// The three ledgers are pages too.
	tw.open("/console/ledgers/school-age-children?unit=JS-T01&term=2026-2027-1")
	if got := tw.text("main"); !strings.Contains(got, "页面丙") || !strings.Contains(got, "未入学籍") {
		t.Errorf("school-age ledger: %.500s", got)
	}
	tw.open("/console/ledgers/suspected-dropouts?term=2026-2027-1")
	if got := tw.text("main"); !strings.Contains(got, "页面丙") || !strings.Contains(got, "待核查") {
		t.Errorf("suspects ledger: %.500s", got)
	}
	if w := eval[int](tw, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the ledger page is %dpx wider than a phone", w)
	}
}
