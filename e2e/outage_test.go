package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/demo"
	"jiaofu/store"
	"jiaofu/temporalserver"
)

// privatePostgres is a PostgreSQL cluster of this test's own, on its own port, so that the test can
// stop it: the shared server on 5432 serves every other test and engineer and is never stopped.
type privatePostgres struct {
	version, name string
	url           string
}

// newPrivatePostgres creates and starts a throw-away cluster (trust auth, 127.0.0.1 only) and
// drops it when the test ends. Without Debian's pg_createcluster the test is skipped, except in CI.
func newPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	if _, err := exec.LookPath("pg_createcluster"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_createcluster is not on PATH (Debian's postgresql-common); CI must be able to run the outage test")
		}
		t.Skip("pg_createcluster is not on PATH; this test needs a PostgreSQL cluster of its own to stop")
	}
	dirs, err := os.ReadDir("/usr/lib/postgresql")
	if err != nil {
		t.Fatalf("no PostgreSQL server installed: %v", err)
	}
	var versions []int
	for _, d := range dirs {
		if v, err := strconv.Atoi(d.Name()); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		t.Fatal("no PostgreSQL version under /usr/lib/postgresql")
	}
	sort.Ints(versions)
	port, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pg := &privatePostgres{version: strconv.Itoa(versions[len(versions)-1]), name: fmt.Sprintf("jiaofu-outage-%d", time.Now().UnixNano())}
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if out, err := exec.Command("pg_createcluster", "-p", strconv.Itoa(port), pg.version, pg.name, "--", "--auth=trust").CombinedOutput(); err != nil {
		t.Fatalf("pg_createcluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pg_dropcluster", "--stop", pg.version, pg.name).CombinedOutput(); err != nil {
			t.Errorf("pg_dropcluster %s %s: %v\n%s", pg.version, pg.name, err, out)
		}
	})
	pg.ctl(t, "start")
	return pg
}

// ctl runs pg_ctlcluster start|stop; stop is "fast": sessions are cut, as in a real outage.
func (pg *privatePostgres) ctl(t *testing.T, action string) {
	t.Helper()
	args := []string{"--skip-systemctl-redirect", pg.version, pg.name, action}
	if action == "stop" {
		args = append(args, "-m", "fast")
	}
	if out, err := exec.Command("pg_ctlcluster", args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

// TestStoreOutageAnswers503: while the database is down every kind of route — login, the inbox,
// a public list, a console page and a public console page — answers 503 "unavailable" with a
// Retry-After, not 500; when the database is back the same requests succeed without a restart.
func TestStoreOutageAnswers503(t *testing.T) {
	pg := newPrivatePostgres(t)
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = pg.url
	svc := startService(t, cfg)
	base := "http://" + svc.HTTPAddr()
	token := newClient(t, svc).as("staff01").token

	// A client that shows redirects instead of following them: a console page that sends a
	// logged-in user to the login page during an outage would have logged them out.
	hc := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type probe struct {
		name, method, path string
		body               any
		token, cookie      string
		console            bool // an HTML page, not the JSON API
	}
	probes := []probe{
		{name: "inbox", method: "GET", path: "/api/v1/tasks", token: token},
		{name: "login", method: "POST", path: "/api/v1/auth/login", body: map[string]string{"username": "head01", "password": demo.DemoPassword}},
		{name: "public lists", method: "GET", path: "/public/publicity-batches"},
		{name: "console inbox", method: "GET", path: "/console/", cookie: token, console: true},
		{name: "public console page", method: "GET", path: "/gongshi", console: true},
	}
	send := func(p probe) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if p.body != nil {
			b, _ := json.Marshal(p.body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(p.method, base+p.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if p.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if p.token != "" {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		if p.cookie != "" {
			req.AddCookie(&http.Cookie{Name: "jiaofu_session", Value: p.cookie})
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	for _, p := range probes {
		if resp, body := send(p); resp.StatusCode != 200 {
			t.Fatalf("%s before the outage: %d %s", p.name, resp.StatusCode, body)
		}
	}

	pg.ctl(t, "stop")
	for _, p := range probes {
		start := time.Now()
		resp, body := send(p)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: the 503 took %s", p.name, took)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d %s, want 503", p.name, resp.StatusCode, body)
			continue
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 {
			t.Errorf("%s: Retry-After %q, want a number of seconds", p.name, resp.Header.Get("Retry-After"))
		}
		if p.console {
			if !strings.Contains(body, "数据库暂时无法连接") || !strings.Contains(body, "未做任何更改") {
				t.Errorf("%s: the page does not say the database is unreachable and nothing changed:\n%s", p.name, body)
			}
			continue
		}
		var e apiError
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "unavailable" ||
			!strings.Contains(e.Error.Message, "database is not reachable") || e.Error.Params["reason"] != "database" {
			t.Errorf("%s: body %s, want code unavailable naming the database", p.name, body)
		}
	}
	if t.Failed() {
		return
	}

	// Back up: the pool replaces the connections the shutdown cut, by itself.
	pg.ctl(t, "start")
	for _, p := range probes {
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, body := send(p)
			if resp.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after the database is back: %d %s, want 200", p.name, resp.StatusCode, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// outageSeconds is how long TestOutageMidLoadResumes keeps the database down: 30 s, as the issue
// asks and CI runs it; JIAOFU_OUTAGE_SECONDS shortens it for a quick local run.
func outageSeconds(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("JIAOFU_OUTAGE_SECONDS")
	if s == "" {
		return 30 * time.Second
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("JIAOFU_OUTAGE_SECONDS=%q: want a whole number of seconds, at least 1", s)
	}
	return time.Duration(n) * time.Second
}

// answer is one HTTP exchange of the load, which runs in its own goroutine and so never stops the
// test from there (t.Fatal belongs to the test's goroutine).
type answer struct {
	what   string
	status int
	body   string
	err    error
}

var loadClient = &http.Client{Timeout: 30 * time.Second}

func call(base, token, method, path string, body any) answer {
	a := answer{what: method + " " + path}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.err = err
			return a
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		a.err = err
		return a
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := loadClient.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a.status, a.body = resp.StatusCode, string(raw)
	return a
}

// outageProblem says what is wrong with an answer given while the database was down ("" when
// nothing): it must be a 503 "unavailable" whose body carries no internals — no driver, socket or
// address words. wantPart, when set, is /readyz's params.part.
func outageProblem(a answer, pgAddr, wantPart string) string {
	if a.err != nil {
		return fmt.Sprintf("%s: no answer: %v", a.what, a.err)
	}
	if a.status != http.StatusServiceUnavailable {
		return fmt.Sprintf("%s: %d %s, want 503", a.what, a.status, a.body)
	}
	var e apiError
	if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error.Code != "unavailable" || e.Error.Message == "" {
		return fmt.Sprintf("%s: body %s, want code unavailable with a message", a.what, a.body)
	}
	for _, internal := range []string{"dial tcp", "connection refused", "pq:", "sql:", "driver", "goroutine", pgAddr} {
		if strings.Contains(a.body, internal) {
			return fmt.Sprintf("%s: the 503 carries internals (%q): %s", a.what, internal, a.body)
		}
	}
	if wantPart != "" && (e.Error.Params["part"] != wantPart || e.Error.Params["reason"] != wantPart) {
		return fmt.Sprintf("%s: params %v, want part and reason %s", a.what, e.Error.Params, wantPart)
	}
	return ""
}

// TestOutageMidLoadResumes: the store's PostgreSQL (a cluster of the test's own; Temporal stays
// embedded on SQLite) stops for 30 s while cases are in flight — subsidy applications in review
// and in publicity, dropout cases whose return windows run out during the outage, hardship grants
// between their steps, and new applications still arriving. While it is down every read and write
// answers 503 "unavailable" without internals and /readyz names the store; nothing answers 500.
// When it is back the activities that failed retry by themselves, every case reaches the state it
// was going to, every write accepted before or during the outage is there once, and the audit
// trail verifies.
func TestOutageMidLoadResumes(t *testing.T) {
	pg := newPrivatePostgres(t)
	outage := outageSeconds(t)
	began := time.Now()
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = pg.url
	cfg.SetCount("JIAOFU_HARDSHIP_CONFIRM_ABOVE", 20000)
	// The dropout cases' windows run out while the database is down: their escalations are
	// activities that fail then and must land afterwards.
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "2s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	base := anon.base
	pgAddr := strings.TrimPrefix(strings.SplitN(pg.url, "/", 4)[2], "postgres@")
	staff, head, aid, pa, funds, jcs := anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("pa01"), anon.as("funds01"), anon.as("jcs01")
	leader1, leader2 := anon.as("leader01"), anon.as("leader02")

	// Ten more registered primary pupils at the school, so that the load has cases of its own.
	var pupils []store.Student
	for i := range 10 {
		id := demo.IDCard(fmt.Sprintf("42282220160312%03d", 500+i))
		var st store.Student
		if code, raw := staff.raw("POST", "/api/v1/admin/students", map[string]any{"student_no": "G" + id, "name": fmt.Sprintf("负载学生%02d", i),
			"sex": "女", "birth_date": "2016-03-12", "id_card_no": id, "unit_code": "JS-T01-S01", "grade": 4, "class": "1班",
			"poverty_registered": true, "household_id": fmt.Sprintf("422822099%05d", i)}); code != 201 || jsonInto(raw, &st) != nil {
			t.Fatalf("create pupil %d: %d %s", i, code, raw)
		}
		pupils = append(pupils, st)
	}
	donation(t, funds, "建始县某建材公司", 10_000_00, "SJ-OUTAGE-1", false)

	// In flight before the outage. Subsidy: four applications reviewed and in a publicity batch
	// whose period ends during the outage, one more reviewed at the last moment, one still in
	// review.
	var apps []application
	for _, p := range pupils[:6] {
		apps = append(apps, apply(t, staff, p.ID, "living-primary", ""))
	}
	reviewTasks := map[string]task{}
	for _, a := range apps {
		reviewTasks[a.ID] = head.waitTask("subsidy_review", a.ID)
	}
	for _, a := range apps[:4] {
		complete(t, head, reviewTasks[a.ID].ID, "approve", nil)
	}
	for _, a := range apps[:4] {
		staff.waitStatus(a.ID, casework.AppReviewed)
	}
	var batch struct {
		ID           string
		Applications []string
	}
	if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 || len(batch.Applications) != 4 {
		t.Fatalf("open the batch: %d, %d applications", code, len(batch.Applications))
	}
	// Hardship: one grant verified by the school (its approval is next), one just applied.
	grants := []grantOut{applyGrant(t, staff, staff.studentOf("张小三").ID, 1000_00), applyGrant(t, staff, staff.studentOf("李梅").ID, 1000_00)}
	complete(t, head, head.waitTask(casework.KindHardshipVerification, grants[0].ID).ID, "approve", nil)
	// Dropout: three cases whose return windows (2 s, then 2 s more at the county) run out during
	// the outage.
	var dropouts []dropoutCase
	for _, p := range []store.Student{staff.studentOf("向金花"), pupils[8], pupils[9]} {
		var dc dropoutCase
		if code, raw := staff.raw("POST", "/api/v1/dropout-cases", map[string]string{"student_id": p.ID, "reason": "厌学，外出务工", "last_attended_on": "2026-11-01"}); code != 201 || jsonInto(raw, &dc) != nil {
			t.Fatalf("open a dropout case: %d %s", code, raw)
		}
		dropouts = append(dropouts, dc)
	}

	// The load that goes on through the outage: a nutrition application for each of eight pupils,
	// each sent again after a 503 until it is accepted. Every answer is kept.
	type accepted struct{ student, app string }
	var (
		mu       sync.Mutex
		answers  []answer
		accepts  []accepted
		loadDone = make(chan struct{})
	)
	go func() {
		defer close(loadDone)
		deadline := time.Now().Add(outage + 3*time.Minute)
		for _, p := range pupils[:8] {
			refused := false
			for time.Now().Before(deadline) {
				a := call(base, staff.token, "POST", "/api/v1/subsidy-applications", map[string]string{"student_id": p.ID, "programme": "nutrition", "term": term})
				a.what += " (nutrition for " + p.Name + ")"
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
				if a.status == 201 || (a.status == 409 && refused) {
					// A 409 after a 503: the earlier attempt's commit landed although its answer
					// was lost with the connection; the application is looked up below.
					var out application
					_ = json.Unmarshal([]byte(a.body), &out)
					mu.Lock()
					accepts = append(accepts, accepted{p.ID, out.ID})
					mu.Unlock()
					// Spread the eight over the outage: an application is accepted in a few
					// milliseconds now (its first writes are local activities), and back to back
					// all eight were in before the database stopped, so none met the outage.
					time.Sleep(outage / 6)
					break
				}
				refused = refused || a.status == 503
				time.Sleep(300 * time.Millisecond)
			}
		}
	}()

	// The last write before the outage: the fifth review, whose follow-on activities run into it.
	complete(t, head, reviewTasks[apps[4].ID].ID, "approve", nil)
	stopped := time.Now()
	pg.ctl(t, "stop")
	// Down for certain from here (pg_ctlcluster waits for the shutdown) until the start below.
	down := time.Now()
	t.Logf("database stopped %s after the test began; down for %s", stopped.Sub(began).Round(time.Millisecond), outage)

	// During the outage: reads, writes and /readyz, every two seconds.
	var problems []string
	probes := 0
	for time.Since(stopped) < outage {
		for _, p := range []struct {
			a    answer
			part string
		}{
			{call(base, "", "GET", "/readyz", nil), "store"},
			{call(base, staff.token, "GET", "/api/v1/subsidy-applications/"+apps[0].ID, nil), ""},
			{call(base, head.token, "GET", "/api/v1/tasks?status=open", nil), ""},
			{call(base, head.token, "POST", "/api/v1/tasks/"+reviewTasks[apps[5].ID].ID+"/complete", map[string]string{"outcome": "approve"}), ""},
			{call(base, staff.token, "POST", "/api/v1/dropout-cases", map[string]string{"student_id": pupils[7].ID, "reason": "厌学", "last_attended_on": "2026-11-01"}), ""},
		} {
			probes++
			if msg := outageProblem(p.a, pgAddr, p.part); msg != "" {
				problems = append(problems, msg)
			}
		}
		time.Sleep(2 * time.Second)
	}
	if len(problems) > 0 {
		t.Errorf("%d of %d answers during the outage were wrong; the first ones:\n%s", len(problems), probes, strings.Join(problems[:min(len(problems), 8)], "\n"))
	}
	upAgain := time.Now() // nothing can commit before this
	pg.ctl(t, "start")
	restarted := time.Now()
	eventually(t, 30*time.Second, func() bool { return call(base, "", "GET", "/readyz", nil).status == 200 }, "/readyz to answer 200 after the database is back")
	t.Logf("/readyz 200 %s after the database started", time.Since(restarted).Round(time.Millisecond))

	select {
	case <-loadDone:
	case <-time.After(outage + 3*time.Minute):
		t.Fatal("the load's applications were not all accepted after the outage")
	}
	mu.Lock()
	for _, a := range answers {
		// The load's writes around the outage: accepted, refused as a duplicate of an accepted
		// one, or 503 — never 500 and never internals.
		if a.err != nil || a.status >= 500 {
			if msg := outageProblem(a, pgAddr, ""); msg != "" {
				t.Errorf("load: %s", msg)
			}
		}
	}
	if len(accepts) != 8 {
		t.Fatalf("%d of 8 nutrition applications accepted", len(accepts))
	}
	n503 := 0
	for _, a := range answers {
		if a.status == 503 {
			n503++
		}
	}
	t.Logf("load: %d answers, %d of them 503 during the outage; %d probes during it", len(answers), n503, probes)
	if n503 == 0 {
		t.Errorf("no load write met the outage: the test did not test what it says")
	}
	mu.Unlock()
	db, err := sql.Open("postgres", pg.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, acc := range accepts {
		if acc.app == "" { // accepted through a 409: the application the lost answer was for
			if err := db.QueryRow(`SELECT id FROM subsidy_applications WHERE student_id = $1 AND programme_code = 'nutrition' AND term = $2`,
				acc.student, term).Scan(&accepts[i].app); err != nil {
				t.Fatalf("the nutrition application of %s, refused as a duplicate after a 503: %v", acc.student, err)
			}
		}
	}

	// Everything resumes and finishes: the reviews still open are done, the batch's sign-off
	// (opened when its period ended, during the outage) is approved, the grants go through
	// their approvals and payment. The retries back off up to 32 s, so this takes a while.
	tracked := map[string]bool{batch.ID: true}
	for _, a := range apps {
		tracked[a.ID] = true
	}
	for _, acc := range accepts {
		tracked[acc.app] = true
	}
	for _, g := range grants {
		tracked[g.ID] = true
	}
	outcomes := map[string]struct {
		outcome string
		fields  map[string]string
	}{
		"subsidy_review":                  {"approve", nil},
		"publicity_signoff":               {"approve", map[string]string{"channel": "一卡通"}},
		casework.KindHardshipVerification: {"approve", nil},
		casework.KindHardshipApproval:     {"approve", nil},
		casework.KindHardshipDisbursement: {"disburse", map[string]string{"channel": "一卡通", "reference": "YKT-OUTAGE"}},
	}
	done := func() bool {
		for _, c := range []*client{head, aid, pa, funds, leader1, leader2} {
			var inbox struct{ Items []task }
			if c.do("GET", "/api/v1/tasks?status=open", nil, &inbox) != 200 {
				return false
			}
			for _, tk := range inbox.Items {
				o, ok := outcomes[tk.Kind]
				if !ok || tk.State != "open" {
					continue
				}
				for id := range tracked {
					if id != "" && strings.HasPrefix(tk.CaseID, id) {
						body := map[string]any{"outcome": o.outcome}
						if o.fields != nil {
							body["fields"] = o.fields
						}
						c.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", body, nil)
						break
					}
				}
			}
		}
		for _, a := range apps[:4] {
			if staff.application(a.ID).Status != casework.AppDisbursed {
				return false
			}
		}
		for _, a := range apps[4:] {
			if staff.application(a.ID).Status != casework.AppReviewed {
				return false
			}
		}
		for _, acc := range accepts {
			if acc.app == "" || staff.application(acc.app).Status != casework.AppReviewed {
				return false
			}
		}
		for _, g := range grants {
			if staff.grant(g.ID).Grant.State != casework.GrantDisbursed {
				return false
			}
		}
		var esc struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations?process=dropout&target=supervision", nil, &esc)
		perCase := map[string]int{}
		for _, e := range esc.Items {
			perCase[e.CaseID]++
		}
		for _, dc := range dropouts {
			var full struct{ Case dropoutCase }
			staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
			if full.Case.State != casework.DropoutCountyHQ || perCase[dc.ID] < 2 {
				return false
			}
		}
		return true
	}
	// A second between rounds: each round reads a dozen cases and six inboxes.
	for deadline := time.Now().Add(4 * time.Minute); !done(); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for every case to resume and finish after the outage")
		}
	}
	t.Logf("every case finished %s after the database started (test %s in all)", time.Since(restarted).Round(time.Second), time.Since(began).Round(time.Second))

	// The escalations that fell due while the database was down were written after it came
	// back (recorded_at is the instant of the attempt that committed): the activities that
	// failed then retried by themselves.
	var dueDuring, recordedAfter int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE recorded_at >= $2) FROM escalations
		WHERE process = 'dropout' AND due_at >= $1 AND due_at < $2`, down, upAgain).Scan(&dueDuring, &recordedAfter); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d dropout escalations fell due during the outage, %d of them recorded after it", dueDuring, recordedAfter)
	if recordedAfter != dueDuring || (outage >= 10*time.Second && dueDuring < len(dropouts)) {
		t.Errorf("%d dropout escalations fell due during the outage and %d were recorded after it; want all, and at least one a case",
			dueDuring, recordedAfter)
	}

	// Nothing twice: straight from the store's tables.
	for _, q := range []struct{ what, query string }{
		{"applications for one student, programme and term", `SELECT count(*) FROM (SELECT 1 FROM subsidy_applications GROUP BY student_id, programme_code, term HAVING count(*) > 1) d`},
		{"open tasks of one kind on one case", `SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'open' GROUP BY case_id, kind HAVING count(*) > 1) d`},
		// A case's two deadlines (the return window, then the county's) each have a rung 1: the
		// deadline's kind is part of what makes an escalation one.
		{"escalations of one task's or deadline's rung to one target", `SELECT count(*) FROM (SELECT 1 FROM escalations GROUP BY case_id, task_id, task_kind, rung, target HAVING count(*) > 1) d`},
		{"applications applied for twice on the audit trail", `SELECT count(*) FROM (SELECT 1 FROM audit_log WHERE action = 'subsidy.applied' GROUP BY case_id HAVING count(*) > 1) d`},
		{"applications disbursed twice on the audit trail", `SELECT count(*) FROM (SELECT 1 FROM audit_log WHERE action = 'subsidy.disbursed' GROUP BY case_id HAVING count(*) > 1) d`},
	} {
		var n int
		if err := db.QueryRow(q.query).Scan(&n); err != nil {
			t.Errorf("%s: %v", q.what, err)
		} else if n != 0 {
			t.Errorf("%d duplicated %s", n, q.what)
		}
	}
	var napps, nbatchMembers int
	if err := db.QueryRow(`SELECT count(*) FROM subsidy_applications`).Scan(&napps); err != nil || napps != len(apps)+len(accepts) {
		t.Errorf("%d applications stored (%v), want the %d accepted", napps, err, len(apps)+len(accepts))
	}
	if err := db.QueryRow(`SELECT count(*) FROM disbursements`).Scan(&nbatchMembers); err != nil || nbatchMembers != 4 {
		t.Errorf("%d subsidy disbursements (%v), want the batch's 4", nbatchMembers, err)
	}
	var verify store.VerifyResult
	if code := jcs.do("GET", "/api/v1/admin/audit/verify", nil, &verify); code != 200 || !verify.OK {
		t.Errorf("audit chain after the outage: %d %+v", code, verify)
	}
}
