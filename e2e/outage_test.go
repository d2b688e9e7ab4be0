package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"jiaofu/demo"
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
