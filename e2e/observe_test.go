package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/service"
	"jiaofu/telemetry"
)

// scrapeToken is the test's JIAOFU_METRICS_TOKEN.
var scrapeToken = strings.Repeat("s", 40)

// send is one request with extra headers (a bearer token, a request id); it returns the status,
// the answer's headers and its body.
func send(t testing.TB, method, url, token string, body any, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// seriesLine is the first line of a Prometheus text exposition for the metric name carrying every
// label of labels, "" when there is none.
func seriesLine(body, name string, labels map[string]string) string {
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", k, v)) {
				ok = false
				break
			}
		}
		if ok {
			return line
		}
	}
	return ""
}

// TestMetrics scrapes /metrics after a subsidy application, its review task read and an unknown
// path: who may read it (the scrape token or an admin; no login 401, another role 403), and the
// named series with their labels — HTTP requests by route template (the task's id appears
// nowhere), tasks by process and kind, cases by state, the store's counts up, a Temporal SDK
// series — and nothing personal of the run's student in it.
func TestMetrics(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.MetricsToken = scrapeToken
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, admin := anon.as("staff01"), anon.as("head01"), anon.as("admin")
	zhang := staff.studentOf("张小三")
	app := apply(t, staff, zhang.ID, "living-primary", "")
	review := head.waitTask("subsidy_review", app.ID)
	if code := head.do("GET", "/api/v1/tasks/"+review.ID, nil, nil); code != 200 {
		t.Fatalf("read the review task: %d", code)
	}
	if code, _, _ := send(t, "GET", anon.base+"/no/such/page/"+review.ID, "", nil, nil); code != 404 {
		t.Fatalf("an unknown path: %d", code)
	}

	url := anon.base + "/metrics"
	for _, c := range []struct {
		who, token string
		want       int
	}{
		{"no login", "", 401},
		{"a wrong token", strings.Repeat("x", 40), 401},
		{"school staff", staff.token, 403},
		{"an admin", admin.token, 200},
	} {
		if code, _, body := send(t, "GET", url, c.token, nil, nil); code != c.want {
			t.Errorf("/metrics as %s: %d, want %d (%s)", c.who, code, c.want, short(body))
		}
	}
	code, hdr, body := send(t, "GET", url, scrapeToken, nil, nil)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics with the scrape token: %d %s %s", code, hdr.Get("Content-Type"), short(body))
	}

	for _, want := range []struct {
		name   string
		labels map[string]string
	}{
		{"jiaofu_http_requests_total", map[string]string{"route": "/api/v1/tasks/:id", "method": "GET", "status": "200"}},
		{"jiaofu_http_requests_total", map[string]string{"route": "/api/v1/subsidy-applications", "method": "POST", "status": "201"}},
		{"jiaofu_http_requests_total", map[string]string{"route": "/metrics", "method": "GET", "status": "401"}},
		{"jiaofu_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}},
		{"jiaofu_http_request_duration_seconds_bucket", map[string]string{"route": "/api/v1/tasks/:id", "method": "GET", "status": "200", "le": "+Inf"}},
		{"jiaofu_tasks_opened_total", map[string]string{"process": "subsidy", "kind": "subsidy_review"}},
		{"jiaofu_tasks_completed_total", map[string]string{"process": "subsidy", "kind": "subsidy_review"}},
		{"jiaofu_tasks_overdue", map[string]string{"process": "subsidy", "kind": "subsidy_review"}},
		{"jiaofu_tasks_escalated_total", map[string]string{"process": "subsidy", "kind": "subsidy_review"}},
		{"jiaofu_cases", map[string]string{"process": "subsidy", "case": "app", "state": "in_review"}},
		{"jiaofu_store_metrics_up", nil},
		{"temporal_request_total", map[string]string{"namespace": cfg.TemporalNamespace}},
		{"go_goroutines", nil},
	} {
		if seriesLine(body, want.name, want.labels) == "" {
			if os.Getenv("E2E_VERBOSE") != "" {
				t.Log(body)
			}
			t.Errorf("no series %s with %v in /metrics", want.name, want.labels)
		}
	}
	if l := seriesLine(body, "jiaofu_tasks_opened_total", map[string]string{"process": "subsidy", "kind": "subsidy_review"}); !strings.HasSuffix(l, " 1") {
		t.Errorf("one review task opened: %q", l)
	}
	if l := seriesLine(body, "jiaofu_store_metrics_up", nil); !strings.HasSuffix(l, " 1") {
		t.Errorf("the store's counts were read: %q", l)
	}
	// Route templates only: no series per record.
	if strings.Contains(body, review.ID) || strings.Contains(body, app.ID) {
		t.Errorf("/metrics names a record (%s or %s): the route label must be the template", review.ID, app.ID)
	}
	if hits := personalIn(seriesNames(body), []string{zhang.BirthDate}, []string{zhang.Name}); len(hits) > 0 {
		t.Errorf("/metrics shows personal data: %v", hits)
	}
}

// syncBuffer is a buffer the service's logger writes to from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// records parses every line of a JSON log; a line that is not one JSON object fails the test.
func records(t testing.TB, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("a log line is not JSON (%v): %s", err, short(sc.Text()))
		}
		out = append(out, rec)
	}
	return out
}

// TestRequestIDInLogs runs the service with the JSON log format at debug level, captured: a
// client's X-Request-Id comes back in the answer, is on the access log line, and reaches the log
// records of the activities of the workflow the request started — and of the activity a later
// request's task action (a workflow Update, with an id of its own) runs. A request without an id,
// or with one that is not sane, gets a generated one. Every line of the log parses as JSON.
func TestRequestIDInLogs(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	svc, err := service.Start(ctx, testConfig(t, t.TempDir()), service.All, log)
	if err != nil {
		t.Fatalf("start service: %v", err)
	}
	t.Cleanup(svc.Stop)
	anon := newClient(t, svc)
	staff, head := anon.as("staff01"), anon.as("head01")
	zhang := staff.studentOf("张小三")

	const applyID, completeID = "e2e-apply-0001", "e2e-complete.0002"
	code, hdr, raw := send(t, "POST", anon.base+"/api/v1/subsidy-applications", staff.token,
		map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": term}, map[string]string{telemetry.RequestIDHeader: applyID})
	var app application
	if code != 201 || jsonInto(raw, &app) != nil {
		t.Fatalf("apply: %d %s", code, raw)
	}
	if got := hdr.Get(telemetry.RequestIDHeader); got != applyID {
		t.Errorf("the answer's %s = %q, want the client's %q", telemetry.RequestIDHeader, got, applyID)
	}
	review := head.waitTask("subsidy_review", app.ID)
	code, _, raw = send(t, "POST", anon.base+"/api/v1/tasks/"+review.ID+"/complete", head.token,
		map[string]string{"outcome": "approve", "comment": "材料齐全"}, map[string]string{telemetry.RequestIDHeader: completeID})
	if code != 200 {
		t.Fatalf("complete the review: %d %s", code, raw)
	}
	for _, sent := range []string{"", "has spaces in it", strings.Repeat("a", 65), `quote"d`} {
		_, hdr, _ := send(t, "GET", anon.base+"/healthz", "", nil, map[string]string{telemetry.RequestIDHeader: sent})
		if got := hdr.Get(telemetry.RequestIDHeader); got == sent || !telemetry.SaneRequestID(got) {
			t.Errorf("request id %q: answered %q, want a generated one", sent, got)
		}
	}

	// activity is a debug record of an activity run under the request id (telemetry's interceptor,
	// through activity.GetLogger), with the activity's type.
	activityOf := func(recs []map[string]any, id string) map[string]any {
		for _, r := range recs {
			if r["request_id"] == id && (r["msg"] == "activity done" || r["msg"] == "activity attempt failed") {
				return r
			}
		}
		return nil
	}
	var recs []map[string]any
	eventually(t, 20*time.Second, func() bool {
		recs = records(t, buf.String())
		return activityOf(recs, applyID) != nil && activityOf(recs, completeID) != nil
	}, "activity log records with request ids %s and %s", applyID, completeID)
	if r := activityOf(recs, completeID); r["ActivityType"] != "ApplyTaskChange" {
		t.Errorf("the task action's activity record: %v, want ActivityType ApplyTaskChange", r)
	}
	var access map[string]any
	for _, r := range recs {
		if r["msg"] == "http request" && r["request_id"] == applyID {
			access = r
		}
	}
	if access == nil || access["route"] != "/api/v1/subsidy-applications" || access["method"] != "POST" || access["status"] != float64(201) {
		t.Errorf("the access log line of the application: %v", access)
	}
}

// seriesNames is a Prometheus text exposition without its sample values: the names, labels, help
// and type lines, where anything personal would be (the values are numbers, and a long float's
// digits look like a card number to the scanner).
func seriesNames(body string) string {
	var sb strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "#") {
			if i := strings.LastIndexByte(line, ' '); i > 0 {
				line = line[:i]
			}
		}
		sb.WriteString(line + "\n")
	}
	return sb.String()
}

// TestWorkerMetrics: a worker-only process (jiaofu worker, here beside an all-in-one one, on its
// Temporal server and store) serves /metrics and /healthz on JIAOFU_METRICS_ADDR and nothing
// else, /metrics under the same rule; its series are its own SDK's, workers by type.
func TestWorkerMetrics(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	allInOne := startService(t, cfg)
	wcfg := cfg
	wcfg.TemporalAddress = allInOne.TemporalAddr()
	wcfg.SeedDemo, wcfg.SeedDemoPlan = false, false
	wcfg.MetricsAddr, wcfg.MetricsToken = "127.0.0.1:0", scrapeToken
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := service.Start(ctx, wcfg, service.Parts{Worker: true}, logger(t))
	if err != nil {
		t.Fatalf("start a worker: %v", err)
	}
	t.Cleanup(w.Stop)
	if w.HTTPAddr() != "" || w.MetricsAddr() == "" {
		t.Fatalf("a worker serves no API (%q) and its metrics (%q)", w.HTTPAddr(), w.MetricsAddr())
	}
	base := "http://" + w.MetricsAddr()
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 401, "/api/v1/me": 404, "/console/": 404} {
		if code, _, body := send(t, "GET", base+path, "", nil, nil); code != want {
			t.Errorf("worker GET %s: %d, want %d (%s)", path, code, want, short(body))
		}
	}
	code, _, body := send(t, "GET", base+"/metrics", scrapeToken, nil, nil)
	if code != 200 {
		t.Fatalf("worker /metrics with the scrape token: %d %s", code, short(body))
	}
	for _, wt := range []string{"WorkflowWorker", "ActivityWorker"} {
		if seriesLine(body, "temporal_worker_start_total", map[string]string{"worker_type": wt}) == "" {
			t.Errorf("no temporal_worker_start_total of the %s in the worker's /metrics", wt)
		}
	}
	if seriesLine(body, "jiaofu_store_metrics_up", nil) != "" {
		t.Error("the worker serves the store's counts too: the API's process serves them, once")
	}
}
