package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"jiaofu/demo"
	"jiaofu/service"
	"jiaofu/store"
)

// The console's browser tests drive the real service through headless Chromium (Debian's
// chromium package): people in different roles log in and click through a subsidy from the
// application to the disbursement and a dropout case to the supervision office, field errors
// show in Chinese next to their fields, forms without their CSRF token are refused, and the run
// leaves screenshots of the inbox in e2e/testdata-out/.

// chromiumPath finds the browser. Without it the tests skip on a developer's machine, and fail
// in CI (CI=true), where .ci/run installs it: the proof must not pass silently.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium fonts-noto-cjk)")
	}
	t.Skip("chromium is not installed (apt-get install chromium fonts-noto-cjk); the console's browser tests need it")
	return ""
}

// browser is one headless Chromium; each session is a separate browser context (its own
// cookies), so several people can be logged in at once.
type browser struct {
	t    *testing.T
	root context.Context
	base string

	mu   sync.Mutex
	urls []string // every URL any tab requested, to check nothing sensitive travels in one
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	if err := chromedp.Do(root); err != nil { // starts the browser, with no timeout
		cancelRoot()
		cancelAlloc()
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	return &browser{t: t, root: root, base: base}
}

// tab is one person's browser session.
type tab struct {
	t    *testing.T
	b    *browser
	ctx  context.Context
	name string
}

func (b *browser) session(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.urls = append(b.urls, e.Request.URL)
			b.mu.Unlock()
		}
	}))
	t.Cleanup(cancel)
	// The first run creates the tab and binds it to the context it gets: give it one with no
	// timeout (see chromedp's docs), then bound each step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab for %s: %v", name, err)
	}
	p := &tab{t: t, b: b, ctx: ctx, name: name}
	p.do(chromedp.EmulateViewport(1280, 900))
	return p
}

const step = 30 * time.Second

func (p *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: browser: %v (at %s)", p.name, err, p.location())
	}
}

func (p *tab) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	l, _ := chromedp.Run(ctx, chromedp.Location())
	return l
}

// open loads a page of the service.
func (p *tab) open(path string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.b.base + path))
}

// submit clicks a button or link and waits for the page that follows; it returns its status.
func (p *tab) submit(sel string) int64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s: click %s: %v (at %s)", p.name, sel, err, p.location())
	}
	return resp.Status
}

// set fills an input, a textarea or a select, as typing or choosing would.
func (p *tab) set(sel, value string) {
	p.t.Helper()
	s, v := jsString(sel), jsString(value)
	js := `(() => { const e = document.querySelector(` + s + `); if (!e) return false; e.value = ` + v + `;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));
		return e.value === ` + v + `; })()`
	if !eval[bool](p, js) {
		p.t.Fatalf("%s: could not set %s to %q (at %s)", p.name, sel, value, p.location())
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// eval runs JavaScript in the page.
func eval[T any](p *tab, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: eval %s: %v", p.name, js, err)
	}
	return v
}

// text is the visible text of the first element matching sel, "" when there is none.
func (p *tab) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

func (p *tab) exists(sel string) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

func (p *tab) value(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {value: ""}).value`, sel))
}

func (p *tab) body() string { p.t.Helper(); return p.text("body") }

// href is the link of the first element matching sel.
func (p *tab) href(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute("href")`, sel))
}

// waitFor reloads path until cond holds.
func (p *tab) waitFor(path string, within time.Duration, what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		p.open(path)
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out waiting for %s on %s; page: %.1500s", p.name, what, path, p.body())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (p *tab) login(username string) {
	p.t.Helper()
	p.open("/console/login")
	p.set("#f-username", username)
	pw := demo.DemoPassword
	if username == "admin" { // as the API client logs in (harness_test.go)
		pw = "admin-password-for-tests"
	}
	p.set("#f-password", pw)
	if st := p.submit("#login"); st != 200 {
		p.t.Fatalf("login %s: status %d: %s", username, st, p.body())
	}
	if !strings.Contains(p.location(), "/console/") || strings.Contains(p.location(), "/login") {
		p.t.Fatalf("login %s did not reach the console: %s: %s", username, p.location(), p.body())
	}
}

func (p *tab) screenshot(name string, width, height int64) string {
	p.t.Helper()
	p.do(chromedp.EmulateViewport(width, height))
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	p.do(chromedp.EmulateViewport(1280, 900))
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "testdata-out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", out)
	return out
}

// startConsoleService: deadlines in seconds, so that tasks fall overdue, the publicity period ends and
// a dropout case climbs to the supervision office while the test watches.
func startConsoleService(t *testing.T) *service.Service {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", mustSpec(t, "8s"))
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "2s"))
	return startService(t, cfg)
}

// TestConsole runs the browser tests on one service and one browser.
func TestConsole(t *testing.T) {
	chromiumPath(t)
	svc := startConsoleService(t)
	base := "http://" + svc.HTTPAddr()
	b := newBrowser(t, base)
	api := newClient(t, svc)

	t.Run("SubsidyToDisbursement", func(t *testing.T) { consoleSubsidy(t, b, api) })
	t.Run("DropoutToEscalation", func(t *testing.T) { consoleDropout(t, b, api) })
	t.Run("CSRFAndSessions", func(t *testing.T) { consoleCSRF(t, base, api) })
	t.Run("PublicPagesAndErrors", func(t *testing.T) { consolePublicAndErrors(t, b) })
	t.Run("NothingSensitiveInURLs", func(t *testing.T) { consoleURLs(t, b, api) })
}

func consoleSubsidy(t *testing.T, b *browser, api *client) {
	staff := b.session(t, "staff01")
	staff.login("staff01")
	if !strings.Contains(staff.text("nav"), "我的待办") || !strings.Contains(staff.text("nav"), "资助申请") {
		t.Fatalf("staff nav: %q", staff.text("nav"))
	}
	students := map[string]string{}
	for _, name := range []string{"张小三", "王二小", "向金花"} {
		students[name] = api.as("staff01").studentOf(name).ID
	}

	// A wrong term comes back in Chinese next to the field, with what was typed kept.
	staff.open("/console/subsidy/applications/new")
	staff.set("#f-student_id", students["王二小"])
	staff.set("#f-programme", "living-primary")
	staff.set("#f-term", "2026-2028-1")
	if st := staff.submit("#submit-application"); st != 400 {
		t.Errorf("bad term: status %d, want 400", st)
	}
	if got := staff.text(`.field-error[data-field="term"]`); !strings.Contains(got, "学期") || !strings.Contains(got, "2026-2027-1") {
		t.Errorf("term error = %q, want a Chinese sentence about the term's format", got)
	}
	if v := staff.value("#f-term"); v != "2026-2028-1" {
		t.Errorf("typed term not kept: %q", v)
	}
	if v := staff.value("#f-student_id"); v != students["王二小"] {
		t.Errorf("chosen student not kept: %q", v)
	}
	// An unregistered student needs an evidence note: 必填 next to 困难证明说明.
	staff.set("#f-term", term)
	staff.submit("#submit-application")
	if got := staff.text(`.field-error[data-field="evidence_note"]`); !strings.Contains(got, "必填") {
		t.Errorf("evidence_note error = %q, want 必填", got)
	}
	if !strings.Contains(staff.text(`label[for="f-evidence_note"]`), "困难证明说明") {
		t.Errorf("evidence note label: %q", staff.text(`label[for="f-evidence_note"]`))
	}
	staff.screenshot("apply-error-phone.png", 375, 812)
	staff.set("#f-evidence_note", "父亲残疾，低保户，附村委会证明")
	if st := staff.submit("#submit-application"); st != 200 {
		t.Fatalf("apply for 王二小: %d %s", st, staff.body())
	}
	if !strings.Contains(staff.text("#flash"), "申请已提交") || !strings.Contains(staff.body(), "王二小") {
		t.Fatalf("after applying: %s", staff.body())
	}
	for _, name := range []string{"张小三", "向金花"} {
		staff.open("/console/subsidy/applications/new")
		staff.set("#f-student_id", students[name])
		staff.set("#f-programme", "living-primary")
		staff.set("#f-term", term)
		if st := staff.submit("#submit-application"); st != 200 {
			t.Fatalf("apply for %s: %d %s", name, st, staff.body())
		}
	}
	// A second application for the same student, programme and term: the API's 409, in Chinese.
	staff.open("/console/subsidy/applications/new")
	staff.set("#f-student_id", students["张小三"])
	staff.set("#f-programme", "living-primary")
	staff.set("#f-term", term)
	if st := staff.submit("#submit-application"); st != 409 {
		t.Errorf("duplicate application: %d, want 409", st)
	}
	if got := staff.text("#banner"); !strings.Contains(got, "不能重复申请") {
		t.Errorf("duplicate banner = %q", got)
	}

	// The school leader's inbox: three reviews, overdue in red after their 2s due time.
	head := b.session(t, "head01")
	head.login("head01")
	head.waitFor("/console/", 20*time.Second, "three overdue reviews", func() bool {
		return eval[int](head, `document.querySelectorAll('#inbox tr.task[data-kind="subsidy_review"].overdue-row').length`) == 3
	})
	if got := head.text("#inbox tr.task .kind"); got != "资助审核" {
		t.Errorf("kind shown as %q, want 资助审核", got)
	}
	if !strings.Contains(head.text("#inbox-summary"), "逾期 3 件") {
		t.Errorf("inbox summary = %q", head.text("#inbox-summary"))
	}
	color := eval[string](head, `getComputedStyle(document.querySelector('#inbox td.due.overdue')).color`)
	if color != "rgb(179, 38, 30)" {
		t.Errorf("overdue due date colour = %s, want red rgb(179, 38, 30)", color)
	}
	head.screenshot("inbox.png", 1280, 720)
	head.screenshot("inbox-phone.png", 375, 812)
	// The filter by process: no dropout tasks.
	head.open("/console/?process=dropout&state=open")
	if n := eval[int](head, `document.querySelectorAll('#inbox tr.task').length`); n != 0 {
		t.Errorf("dropout filter shows %d tasks", n)
	}

	// The staff member may see the task but not decide it; the leader decides on the task page.
	appID := "subsidy-" + safeID(students["张小三"]) + "-living-primary-" + term
	staff.open("/console/")
	reviewOf := func(p *tab, caseID string) string {
		p.t.Helper()
		p.open("/console/")
		h := p.href(fmt.Sprintf(`#inbox tr.task[data-case=%q] a.task-link`, caseID))
		if h == "" {
			p.t.Fatalf("%s: no task for %s in the inbox: %s", p.name, caseID, p.body())
		}
		return h
	}
	taskURL := reviewOf(head, appID)
	staff.open(taskURL)
	if staff.exists("#outcome-approve") || !strings.Contains(staff.body(), "您不能作出决定") {
		t.Errorf("staff01 is offered the school leader's decision: %s", staff.body())
	}
	if !staff.exists("#urge") {
		t.Errorf("staff01 is not offered 催办 on a task of their school")
	}
	head.open(taskURL)
	for _, want := range []string{"张小三", "¥500.00", "业州镇第一小学", "办理过程", "提交申请"} {
		if !strings.Contains(head.body(), want) {
			t.Errorf("task page lacks %q: %s", want, head.body())
		}
	}
	for _, sel := range []string{"#outcome-approve", "#outcome-reject", "#outcome-return", "#claim"} {
		if !head.exists(sel) {
			t.Errorf("task page lacks %s", sel)
		}
	}
	if head.exists("#outcome-uphold") || head.exists("#outcome-dismiss") {
		t.Error("task page offers outcomes the task does not take")
	}
	head.screenshot("task.png", 1280, 900)
	// A decision that the API refuses shows in Chinese: head01b decides it first (via the API),
	// then head01 clicks on the page that is now stale.
	tk := api.as("head01b").waitTask("subsidy_review", appID)
	if code := api.as("head01b").do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve", "comment": "同意"}, nil); code != 200 {
		t.Fatalf("head01b approves: %d", code)
	}
	head.set("#f-comment", "材料齐全")
	if st := head.submit("#outcome-approve"); st != 409 {
		t.Errorf("stale approve: status %d, want 409", st)
	}
	if got := head.text("#banner"); !strings.Contains(got, "已办结") {
		t.Errorf("409 banner = %q, want Chinese 已办结", got)
	}
	for _, name := range []string{"王二小", "向金花"} {
		id := "subsidy-" + safeID(students[name]) + "-living-primary-" + term
		head.open(reviewOf(head, id))
		head.set("#f-comment", "材料齐全，同意")
		head.submit("#outcome-approve")
		if !strings.Contains(head.text("#flash"), "已办理「资助审核」：同意") {
			t.Errorf("after approving %s: flash %q", name, head.text("#flash"))
		}
	}

	// Staff opens the publicity batch once the three are reviewed.
	staff.waitFor("/console/subsidy/applications?state=reviewed", 20*time.Second, "three reviewed applications", func() bool {
		return eval[int](staff, `document.querySelectorAll('#applications tbody tr a').length`) == 3
	})
	staff.open("/console/subsidy/batches/new")
	if v := staff.value("#f-school_unit"); v != "JS-T01-S01" {
		t.Errorf("school not preselected: %q", v)
	}
	staff.set("#f-term", term)
	if st := staff.submit("#open-batch"); st != 200 {
		t.Fatalf("open batch: %d %s", st, staff.body())
	}
	if !strings.Contains(staff.text("#flash"), "已开始公示，共 3 人") {
		t.Fatalf("after opening the batch: %s", staff.body())
	}
	publicURL := staff.href("#public-link")
	if !strings.HasPrefix(publicURL, "/gongshi/publicity-") {
		t.Fatalf("public link = %q", publicURL)
	}

	// The public page, without login: masked names only, and an objection to 王*小.
	anon := b.session(t, "public")
	anon.open("/gongshi/")
	anon.submit(`#public-lists a`)
	page := anon.body()
	for _, masked := range []string{"张*三", "王*小", "向*花", "¥500.00", "业州镇第一小学"} {
		if !strings.Contains(page, masked) {
			t.Errorf("public page lacks %q: %s", masked, page)
		}
	}
	html := eval[string](anon, `document.documentElement.outerHTML`)
	for name, id := range students {
		st := api.as("staff01").studentOf(name)
		for _, forbidden := range []string{name, st.IDCardNo, st.StudentNo, st.BirthDate, st.HouseholdID, id} {
			if forbidden != "" && strings.Contains(html, forbidden) {
				t.Errorf("public page shows %q", forbidden)
			}
		}
	}
	ref := eval[string](anon, `[...document.querySelectorAll('article.entry')].find(a => a.querySelector('.pname').innerText === '王*小').dataset.entry`)
	entry := fmt.Sprintf(`article.entry[data-entry=%q]`, ref)
	anon.do(chromedp.Click(chromedp.CSS(entry + " summary")))
	anon.set(entry+` textarea[name="reason"]`, "")
	anon.set(entry+` input[name="contact"]`, "13900000000")
	if st := anon.submit(entry + ` button[type="submit"]`); st != 400 {
		t.Errorf("objection without reason: %d, want 400", st)
	}
	if got := anon.text(entry + ` .field-error[data-field="reason"]`); !strings.Contains(got, "必填") {
		t.Errorf("objection reason error = %q", got)
	}
	if v := anon.value(entry + ` input[name="contact"]`); v != "13900000000" {
		t.Errorf("contact not kept after the error: %q", v)
	}
	anon.screenshot("public-phone.png", 375, 812)
	anon.set(entry+` textarea[name="reason"]`, "其家庭在县城有商铺两间")
	if st := anon.submit(entry + ` button[type="submit"]`); st != 200 {
		t.Fatalf("objection: %d %s", st, anon.body())
	}
	if !strings.Contains(anon.text("#flash"), "异议已受理") {
		t.Fatalf("after the objection: %s", anon.body())
	}

	// The aid center dismisses the objection on its task page.
	aid := b.session(t, "aid01")
	aid.login("aid01")
	aid.waitFor("/console/", 20*time.Second, "an objection review", func() bool {
		return aid.exists(`#inbox tr.task[data-kind="objection_review"]`)
	})
	aid.open(aid.href(`#inbox tr.task[data-kind="objection_review"] a.task-link`))
	for _, want := range []string{"公示异议复核", "其家庭在县城有商铺两间", "王二小"} {
		if !strings.Contains(aid.body(), want) {
			t.Errorf("objection task page lacks %q", want)
		}
	}
	noRawCodes(t, aid, "objection task page")
	if !aid.exists("#outcome-uphold") || !aid.exists("#outcome-dismiss") || aid.exists("#outcome-approve") {
		t.Errorf("objection review offers the wrong outcomes")
	}
	aid.set("#f-comment", "经核实，商铺为租用，异议不成立")
	aid.submit("#outcome-dismiss")
	if !strings.Contains(aid.text("#flash"), "异议不成立") {
		t.Errorf("after dismissing: flash %q", aid.text("#flash"))
	}

	// The batch page names the objection's student and reads its review in Chinese.
	aid.waitFor("/console/subsidy/batches/"+strings.TrimPrefix(publicURL, "/gongshi/"), 20*time.Second, "the objection's review on the timeline",
		func() bool { return strings.Contains(aid.text(".timeline"), "异议复核：异议不成立") })
	if !strings.Contains(aid.body(), "王二小 · ") {
		t.Errorf("batch page does not name the objection's student: %s", aid.body())
	}
	noRawCodes(t, aid, "batch page")

	// After the period, the county sign-off; the channel field is prefilled.
	aid.waitFor("/console/", 40*time.Second, "the publicity sign-off", func() bool {
		return aid.exists(`#inbox tr.task[data-kind="publicity_signoff"]`)
	})
	aid.open(aid.href(`#inbox tr.task[data-kind="publicity_signoff"] a.task-link`))
	if v := aid.value("#f-channel"); v != "一卡通" {
		t.Errorf("channel = %q, want 一卡通", v)
	}
	aid.submit("#outcome-approve")
	if !strings.Contains(aid.text("#flash"), "公示结果审定") {
		t.Errorf("after sign-off: flash %q", aid.text("#flash"))
	}

	// The application shows 已发放, with the disbursement.
	staff.waitFor("/console/subsidy/applications/"+url.PathEscape(appID), 20*time.Second, "已发放", func() bool {
		return staff.text("#app-state") == "已发放"
	})
	if !strings.Contains(staff.body(), "一卡通") || !strings.Contains(staff.body(), "资金已发放") {
		t.Errorf("application page lacks the disbursement: %s", staff.body())
	}
	noRawCodes(t, staff, "application page")
	staff.screenshot("application.png", 1280, 900)
	// The ledger counts it.
	staff.open("/console/subsidy/ledger?term=" + term)
	if n := staff.text(`.count [data-state="disbursed"]`); n != "3" {
		t.Errorf("ledger disbursed count = %q, want 3: %s", n, staff.body())
	}
}

// noRawCodes fails if the page shows people an entry's or a batch's id, or an audit action's code,
// where a name or a Chinese label belongs (issue 15, item 12).
func noRawCodes(t *testing.T, p *tab, where string) {
	t.Helper()
	page := p.body()
	for _, raw := range []string{"subsidy-st_", "dropout-st_", "publicity-", "objection.", "publicity.", "subsidy.", "dropout.", "task."} {
		if strings.Contains(page, raw) {
			t.Errorf("%s shows %q: %s", where, raw, page)
		}
	}
	if code := unitCode.FindString(page); code != "" {
		t.Errorf("%s shows the unit code %s where its name belongs: %s", where, code, page)
	}
}

// unitCode is how the county's unit codes look (JS-T01-S01).
var unitCode = regexp.MustCompile(`JS-[A-Z][0-9]{2}[A-Z0-9-]*`)

func safeID(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(s, "_")
}

func consoleDropout(t *testing.T, b *browser, api *client) {
	staff := b.session(t, "staff01-dropout")
	staff.login("staff01")
	li := api.as("staff01").studentOf("李梅")
	lastDay := time.Now().AddDate(0, 0, -7).Format("2006-01-02")

	staff.open("/console/dropout/cases/new")
	staff.set("#f-student_id", li.ID)
	staff.set("#f-last_attended_on", lastDay)
	if st := staff.submit("#open-case"); st != 400 {
		t.Errorf("case without a reason: %d, want 400", st)
	}
	if got := staff.text(`.field-error[data-field="reason"]`); got != "必填" {
		t.Errorf("reason error = %q, want 必填", got)
	}
	if v := staff.value("#f-last_attended_on"); v != lastDay {
		t.Errorf("typed date not kept: %q", v)
	}
	staff.set("#f-reason", "厌学，随父母外出务工")
	if st := staff.submit("#open-case"); st != 200 {
		t.Fatalf("open case: %d %s", st, staff.body())
	}
	if !strings.Contains(staff.text("#flash"), "劝返案件已建立") || staff.text("#case-state") != "劝返中" {
		t.Fatalf("after opening the case: %s", staff.body())
	}
	caseURL := staff.location()
	caseID := caseURL[strings.LastIndex(caseURL, "/")+1:]

	// Nobody acts: with 2s windows the case reaches the supervision office by itself.
	jcs := b.session(t, "jcs01")
	jcs.login("jcs01")
	card := fmt.Sprintf(`article.esc[data-case=%q][data-target="supervision"]`, caseID)
	jcs.waitFor("/console/escalations", 40*time.Second, "the case in the supervision office's inbox", func() bool {
		return eval[int](jcs, fmt.Sprintf(`document.querySelectorAll(%q).length`, card)) >= 2
	})
	if txt := jcs.text(card); !strings.Contains(txt, "李梅") || !strings.Contains(txt, "监察室") || !strings.Contains(txt, "控辍保学") {
		t.Errorf("escalation card = %q", txt)
	}
	if !strings.Contains(jcs.text("h1"), "监察室") {
		t.Errorf("supervision page title = %q", jcs.text("h1"))
	}
	jcs.screenshot("escalations.png", 1280, 900)
	// Closing without a decision: the field error; then with one.
	jcs.submit(card + ` button[type="submit"]`)
	if got := jcs.text(card + ` .field-error[data-field="decision"]`); !strings.Contains(got, "请从列表中选择") {
		t.Errorf("decision error = %q", got)
	}
	jcs.set(card+` select[name="decision"]`, "reminder_talk")
	jcs.set(card+` input[name="note"]`, "约谈校长")
	jcs.submit(card + ` button[type="submit"]`)
	if !strings.Contains(jcs.text("#flash"), "提醒谈话") {
		t.Errorf("after closing: flash %q, page %s", jcs.text("#flash"), jcs.body())
	}
	jcs.open("/console/escalations?state=closed&process=dropout")
	if !strings.Contains(jcs.body(), "提醒谈话") {
		t.Errorf("closed escalation lacks its decision")
	}

	// The township's ledger counts the case at the county HQ level.
	township := b.session(t, "township01")
	township.login("township01")
	township.open("/console/dropout/cases?unit=JS-T01")
	if n := township.text(`.count [data-state="county_supervising"]`); n != "1" {
		t.Errorf("township ledger county_supervising = %q: %s", n, township.body())
	}
	if !strings.Contains(township.text("#cases"), "李梅") {
		t.Errorf("township ledger lacks the case")
	}
	township.screenshot("dropout-ledger.png", 1280, 900)

	// The teacher logs a home visit; it completes the first-contact task.
	teacher := b.session(t, "teacher01")
	teacher.login("teacher01")
	teacher.waitFor("/console/?process=dropout", 20*time.Second, "the first-contact task", func() bool {
		return teacher.exists(fmt.Sprintf(`#inbox tr.task[data-kind="dropout_first_contact"][data-case=%q]`, caseID))
	})
	if got := teacher.text(`#inbox tr.task[data-kind="dropout_first_contact"] .kind`); got != "首次联系" {
		t.Errorf("kind = %q, want 首次联系", got)
	}
	teacher.open(caseURL[strings.Index(caseURL, "/console/"):])
	teacher.set("#f-attempt-method", "home_visit")
	teacher.set("#f-attempt-notes", "家访，家长同意送孩子返校")
	teacher.set("#f-attempt-visitors", "teacher01，村干部")
	teacher.submit("#log-attempt")
	if !strings.Contains(teacher.text("#flash"), "首次联系待办已自动办结") {
		t.Errorf("after the attempt: flash %q", teacher.text("#flash"))
	}
	if !strings.Contains(teacher.text("#attempts"), "家长同意送孩子返校") || !strings.Contains(teacher.text("#attempts"), "家访") {
		t.Errorf("attempts = %q", teacher.text("#attempts"))
	}
	// A transfer without the receiving school: the workflow's field error, in Chinese.
	teacher.do(chromedp.Click(chromedp.CSS("details:has(#outcome-form) > summary")))
	teacher.set("#f-outcome-outcome", "transferred")
	teacher.submit("#record-outcome")
	if got := teacher.text(`.field-error[data-field="receiving_school"]`); !strings.Contains(got, "转入学校") {
		t.Errorf("receiving_school error = %q", got)
	}
	noRawCodes(t, teacher, "dropout case page")
	teacher.screenshot("dropout-case-phone.png", 375, 812)
}

func consoleCSRF(t *testing.T, base string, api *client) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	post := func(path string, form url.Values, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	tokenIn := func(html string) string {
		m := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("no CSRF token in the page")
		}
		return m[1]
	}
	cookie := func(resp *http.Response, name string) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c
			}
		}
		return nil
	}

	// Login: a double-submit cookie and the form's token.
	resp, html := get("/console/login")
	c := cookie(resp, "jiaofu_csrf")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("CSRF cookie = %+v", c)
	}
	loginToken := tokenIn(html)
	creds := url.Values{"username": {"staff01"}, "password": {demo.DemoPassword}}
	if r := post("/console/login", creds); r.StatusCode != 403 {
		t.Errorf("login without the token: %d, want 403", r.StatusCode)
	}
	bad := url.Values{"username": {"staff01"}, "password": {demo.DemoPassword}, "_csrf": {strings.Repeat("0", 64)}}
	if r := post("/console/login", bad); r.StatusCode != 403 {
		t.Errorf("login with a wrong token: %d, want 403", r.StatusCode)
	}
	creds.Set("_csrf", loginToken)
	r := post("/console/login", creds)
	if r.StatusCode != 303 {
		t.Fatalf("login: %d", r.StatusCode)
	}
	sess := cookie(r, "jiaofu_session")
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Value == "" {
		t.Fatalf("session cookie = %+v", sess)
	}
	if sess.Secure {
		t.Errorf("session cookie Secure on plain HTTP in development")
	}
	if loc := r.Header.Get("Location"); strings.Contains(loc, sess.Value) || strings.Contains(loc, "staff01") {
		t.Errorf("redirect carries credentials: %s", loc)
	}

	// A logged-in form without the token (or with another session's) is refused; nothing is made.
	_, html = get("/console/subsidy/batches/new")
	token := tokenIn(html)
	if token == loginToken {
		t.Error("the session's CSRF token equals the login form's")
	}
	var before struct{ Items []store.Batch }
	api.as("staff01").do("GET", "/api/v1/publicity-batches", nil, &before)
	form := url.Values{"school_unit": {"JS-T01-S01"}, "term": {"2027-2028-1"}}
	if r := post("/console/subsidy/batches", form); r.StatusCode != 403 {
		t.Errorf("POST without the token: %d, want 403", r.StatusCode)
	}
	form.Set("_csrf", loginToken)
	if r := post("/console/subsidy/batches", form); r.StatusCode != 403 {
		t.Errorf("POST with the login form's token: %d, want 403", r.StatusCode)
	}
	form.Set("_csrf", token)
	if r := post("/console/subsidy/batches", form, "Origin", "https://evil.example"); r.StatusCode != 403 {
		t.Errorf("POST from another origin: %d, want 403", r.StatusCode)
	}
	var after struct{ Items []store.Batch }
	api.as("staff01").do("GET", "/api/v1/publicity-batches", nil, &after)
	if len(after.Items) != len(before.Items) {
		t.Errorf("a refused POST created a batch")
	}
	// With the token the same POST reaches the API (which has nothing to publish for that term: 409).
	if r := post("/console/subsidy/batches", form); r.StatusCode != 409 {
		t.Errorf("POST with the token: %d, want the API's 409", r.StatusCode)
	}

	// Pages are not cached and carry a strict CSP.
	resp, _ = get("/console/")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}

	// Logout ends the session server-side: the old token no longer works, even on the API.
	if r := post("/console/logout", url.Values{"_csrf": {token}}); r.StatusCode != 303 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	stale := &client{t: t, base: base, token: sess.Value}
	if code := stale.do("GET", "/api/v1/me", nil, nil); code != 401 {
		t.Errorf("token after logout: %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", base+"/console/", nil)
	req.AddCookie(&http.Cookie{Name: "jiaofu_session", Value: sess.Value})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
		t.Errorf("old cookie after logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func consolePublicAndErrors(t *testing.T, b *browser) {
	// The browser itself: a form posted without the token (as a forged page would) is refused.
	p := b.session(t, "staff01-csrf")
	p.login("staff01")
	forged := `(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/console/dropout/cases';
		for (const [k, v] of Object.entries({student_id: 'x', reason: '厌学', last_attended_on: '2026-01-01'})) {
			const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); f.submit(); })()`
	ctx, cancel := context.WithTimeout(p.ctx, step)
	resp, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](forged))
	cancel()
	if err != nil {
		t.Fatalf("forged post: %v", err)
	}
	if resp.Status != 403 || !strings.Contains(p.body(), "CSRF") {
		t.Errorf("browser POST without the token: %d %s, want 403 and a CSRF message", resp.Status, p.body())
	}
	// Logging out through the header button.
	p.submit("#logout")
	if !strings.Contains(p.location(), "/console/login") || !strings.Contains(p.text("#flash"), "退出") {
		t.Errorf("after logout: %s %s", p.location(), p.body())
	}
	p.open("/console/")
	if !strings.Contains(p.location(), "/console/login") {
		t.Errorf("console reachable after logout: %s", p.location())
	}
	// A wrong password, in Chinese.
	p.set("#f-username", "staff01")
	p.set("#f-password", "wrong-password")
	if st := p.submit("#login"); st != 401 {
		t.Errorf("wrong password: %d", st)
	}
	if !strings.Contains(p.text("#banner"), "用户名或密码错误") {
		t.Errorf("wrong password banner = %q", p.text("#banner"))
	}
	// The root redirects to the console; an unknown page is a Chinese 404.
	p.open("/")
	if !strings.Contains(p.location(), "/console/login") {
		t.Errorf("/ went to %s", p.location())
	}
	p.open("/console/no-such-page")
	if !strings.Contains(p.body(), "页面不存在") {
		t.Errorf("unknown page: %s", p.body())
	}
	// A publicity list that does not exist (or has ended) is a 404 on the public side too.
	p.open("/gongshi/publicity-nope")
	if !strings.Contains(p.body(), "该公示已结束或不存在") {
		t.Errorf("missing public list: %s", p.body())
	}
}

// consoleURLs checks every URL the browser requested during the tests: no token, ID-card number,
// student number or student name travels in one.
func consoleURLs(t *testing.T, b *browser, api *client) {
	b.mu.Lock()
	urls := append([]string(nil), b.urls...)
	b.mu.Unlock()
	if len(urls) < 20 {
		t.Fatalf("only %d URLs recorded", len(urls))
	}
	var sts struct{ Items []store.Student } // as the aid center reads them: every school's, unmasked
	api.as("aid01").do("GET", "/api/v1/admin/students", nil, &sts)
	for _, u := range urls {
		dec, _ := url.QueryUnescape(u)
		for _, st := range sts.Items {
			for _, s := range []string{st.Name, st.IDCardNo, st.StudentNo} {
				if s != "" && (strings.Contains(u, s) || strings.Contains(dec, s)) {
					t.Errorf("URL carries %q: %s", s, u)
				}
			}
		}
		if regexp.MustCompile(`[0-9a-f]{64}`).MatchString(u) {
			t.Errorf("URL carries a token-like value: %s", u)
		}
		if strings.Contains(dec, "password") {
			t.Errorf("URL mentions a password: %s", u)
		}
	}
}
