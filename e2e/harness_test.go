// Package e2e drives the whole service — embedded Temporal server, worker, store and HTTP API —
// the way a client would. It is the one test binary that links the Temporal server.
package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/demo"
	"jiaofu/service"
	"jiaofu/store"
	"jiaofu/temporalserver"
)

// testConfig is a configuration whose deadlines run in seconds.
func testConfig(t testing.TB, dataDir string) config.Config {
	t.Helper()
	cfg := config.Default()
	port, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	spec := func(s string) calendar.Spec {
		sp, err := calendar.ParseSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	cfg.DataDir = dataDir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.EmbeddedFrontend = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.EmbeddedUI = ""
	cfg.AdminPassword = "admin-password-for-tests"
	cfg.UpdateTimeout = 5 * time.Second
	cfg.PublicRateLimit = 1000
	// The seeded work plan is 52 running cases: only the plan's own tests start it.
	cfg.SeedDemoPlan = false
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", spec("6s")) // long enough for a test to object on a loaded machine
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", spec("1h"))
	cfg.SetDuration("JIAOFU_OBJECTION_REVIEW_DUE", spec("1h"))
	cfg.SetDuration("JIAOFU_PUBLICITY_SIGNOFF_DUE", spec("1h"))
	return cfg
}

func logger(t testing.TB) *slog.Logger {
	if os.Getenv("E2E_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startService starts the all-in-one service and stops it when the test ends.
func startService(t testing.TB, cfg config.Config) *service.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	svc, err := service.Start(ctx, cfg, service.All, logger(t))
	if err != nil {
		t.Fatalf("start service: %v", err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(svc.Stop) })
	return svc
}

// client is an HTTP client bound to one user.
type client struct {
	t     testing.TB
	base  string
	token string
	// header is sent with every request of this client (withHeader).
	header map[string]string
}

// withHeader is the same caller sending one more header with every request.
func (c *client) withHeader(name, value string) *client {
	h := map[string]string{name: value}
	for k, v := range c.header {
		h[k] = v
	}
	return &client{t: c.t, base: c.base, token: c.token, header: h}
}

func newClient(t testing.TB, svc *service.Service) *client {
	return &client{t: t, base: "http://" + svc.HTTPAddr()}
}

// as logs in and returns a client for that user.
func (c *client) as(username string) *client {
	c.t.Helper()
	pw := demo.DemoPassword
	if username == "admin" {
		pw = "admin-password-for-tests"
	}
	var out struct{ Token string }
	if code := c.do("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": pw}, &out); code != 200 {
		c.t.Fatalf("login %s: %d", username, code)
	}
	return &client{t: c.t, base: c.base, token: out.Token}
}

// do sends a request (body marshalled to JSON, or []byte as it is) and decodes the JSON answer
// into out (if not nil); it returns the status.
func (c *client) do(method, path string, body, out any) int {
	c.t.Helper()
	var rd io.Reader
	if raw, ok := body.([]byte); ok { // sent as it is: malformed on purpose
		rd = bytes.NewReader(raw)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// raw returns the body as text.
func (c *client) raw(method, path string, body any) (int, string) {
	c.t.Helper()
	var m json.RawMessage
	code := c.do(method, path, body, &m)
	return code, string(m)
}

type apiError struct {
	Error struct {
		Code, Message, Field string
		Params               map[string]string
	}
}

// expectCode is expectError that also checks the refusal code.
func (c *client) expectCode(method, path string, body any, status int, code, field string) apiError {
	c.t.Helper()
	e := c.expectError(method, path, body, status, field)
	if e.Error.Code != code {
		c.t.Errorf("%s %s: code %q (%s), want %q", method, path, e.Error.Code, e.Error.Message, code)
	}
	return e
}

// expectReason is expectError that also checks the reason (and params) a client words it by.
func (c *client) expectReason(method, path string, body any, status int, field, reason string, kv ...string) apiError {
	c.t.Helper()
	e := c.expectError(method, path, body, status, field)
	e.wantReason(c.t, reason, kv...)
	return e
}

// wantReason checks that an error answer carries the reason, and the params kv (key, value pairs).
func (e apiError) wantReason(t testing.TB, reason string, kv ...string) {
	t.Helper()
	if e.Error.Params["reason"] != reason {
		t.Errorf("%q: params %v, want reason %s", e.Error.Message, e.Error.Params, reason)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if e.Error.Params[kv[i]] != kv[i+1] {
			t.Errorf("%q: params %v, want %s=%s", e.Error.Message, e.Error.Params, kv[i], kv[i+1])
		}
	}
}

// expectError checks an error answer's status and the field it names.
func (c *client) expectError(method, path string, body any, status int, field string) apiError {
	c.t.Helper()
	var e apiError
	if code := c.do(method, path, body, &e); code != status {
		c.t.Fatalf("%s %s: status %d (%+v), want %d", method, path, code, e, status)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		c.t.Errorf("%s %s: error body lacks code/message: %+v", method, path, e)
	}
	if field != "" && e.Error.Field != field {
		c.t.Errorf("%s %s: field %q (%s), want %q", method, path, e.Error.Field, e.Error.Message, field)
	}
	return e
}

type task struct {
	ID       string
	Kind     string
	CaseID   string `json:"case_id"`
	State    string
	Outcomes []string
}

// waitTask polls the user's inbox until a task of kind for caseID appears.
func (c *client) waitTask(kind, caseID string) task {
	c.t.Helper()
	var found task
	eventually(c.t, 20*time.Second, func() bool {
		var inbox struct{ Items []task }
		c.do("GET", "/api/v1/tasks?status=open&kind="+kind, nil, &inbox)
		for _, t := range inbox.Items {
			if strings.HasPrefix(t.CaseID, caseID) {
				found = t
				return true
			}
		}
		return false
	}, "task %s of %s in inbox", kind, caseID)
	return found
}

func eventually(t testing.TB, within time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for "+format, args...)
}

// studentOf finds a demo student by name.
func (c *client) studentOf(name string) store.Student {
	c.t.Helper()
	var out struct{ Items []store.Student }
	c.do("GET", "/api/v1/admin/students", nil, &out)
	for _, s := range out.Items {
		if s.Name == name {
			return s
		}
	}
	c.t.Fatalf("no student %s", name)
	return store.Student{}
}

type application struct {
	ID         string
	Status     string
	AmountFen  int64 `json:"amount_fen"`
	Priority   bool
	BatchID    string `json:"batch_id"`
	BatchState string `json:"batch_state"`
}

func (c *client) application(id string) application {
	c.t.Helper()
	var a application
	if code := c.do("GET", "/api/v1/subsidy-applications/"+id, nil, &a); code != 200 {
		c.t.Fatalf("get application %s: %d", id, code)
	}
	return a
}

func (c *client) waitStatus(id, status string) {
	c.t.Helper()
	eventually(c.t, 20*time.Second, func() bool { return c.application(id).Status == status }, "application %s to be %s", id, status)
}

func mustSpec(t testing.TB, s string) calendar.Spec {
	t.Helper()
	sp, err := calendar.ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// postgresSchema returns a DATABASE_URL for a fresh schema on TEST_DATABASE_URL's server, dropped
// after the test; it skips the test when no server is configured.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL is not set; .ci/run sets it")
	}
	name := fmt.Sprintf("e2e_%d", time.Now().UnixNano())
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", base); err == nil {
			db.Exec("DROP SCHEMA " + name + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// publicized is one application in a publicity batch: staff applies for 张小三, head approves,
// staff opens the school's batch; it returns the application, the batch's id and the batch's
// public list once it shows the entry.
func publicized(t *testing.T, anon, staff, head *client) (application, string, api.PublicList) {
	t.Helper()
	app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
	tk := head.waitTask("subsidy_review", app.ID)
	if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	staff.waitStatus(app.ID, casework.AppReviewed)
	var batch struct{ ID string }
	if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 {
		t.Fatalf("open batch: %d", code)
	}
	var pub api.PublicList
	eventually(t, 10*time.Second, func() bool {
		return anon.do("GET", "/public/publicity-batches/"+batch.ID, nil, &pub) == 200 && len(pub.Entries) == 1
	}, "the public list of batch %s with its one entry", batch.ID)
	return app, batch.ID, pub
}
