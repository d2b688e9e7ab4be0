package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/apiclient"
	"jiaofu/config"
)

// The actors' transport under kills: a 503 is sent again; a task action whose first answer was
// lost (the connection dropped after the action was done) and is then refused 409 task_not_open
// counts as done; every attempt of one POST carries the same Idempotency-Key; a 409 after an
// answered first attempt stays a 409.
func TestRetryingTransport(t *testing.T) {
	var mu sync.Mutex
	keys := map[string][]string{}
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		n := calls[r.URL.Path]
		keys[r.URL.Path] = append(keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		switch r.URL.Path {
		case "/busy": // down for the first two attempts
			if n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"ok":true}`))
		case "/api/v1/tasks/t1/complete": // done by the first attempt, whose answer is lost
			if n == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"code":"task_not_open"}`))
		case "/api/v1/tasks/t2/complete": // refused at once: somebody else closed it
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"code":"task_not_open"}`))
		}
	}))
	defer srv.Close()
	rt := &retrying{next: http.DefaultTransport, within: 10 * time.Second}
	c := apiclient.New(srv.URL, &http.Client{Transport: rt, Timeout: time.Minute})
	ctx := t.Context()
	if err := c.Expect(ctx, 200, "POST", "/busy", map[string]string{"a": "b"}, nil); err != nil {
		t.Errorf("busy: %v", err)
	}
	if err := c.Expect(ctx, 200, "POST", "/api/v1/tasks/t1/complete", map[string]string{"outcome": "approve"}, nil); err != nil {
		t.Errorf("a lost answer then task_not_open: %v", err)
	}
	if code, _, err := c.DoRaw(ctx, "POST", "/api/v1/tasks/t2/complete", nil); err != nil || code != 409 {
		t.Errorf("a first refusal: %d %v, want 409", code, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for path, ks := range keys {
		for _, k := range ks {
			if k == "" || k != ks[0] {
				t.Errorf("%s: keys %q, want one key on every attempt", path, ks)
			}
		}
	}
	if calls["/busy"] != 3 || calls["/api/v1/tasks/t1/complete"] != 2 {
		t.Errorf("calls %v", calls)
	}
	if rt.refusedRepeats.Load() != 1 || rt.uncertain.Load() != 2 {
		t.Errorf("refused repeats %d, uncertain %d; want 1 and 2", rt.refusedRepeats.Load(), rt.uncertain.Load())
	}
}

// The child is given every setting simConfig changes, as variables config reads back to the same
// configuration.
func TestChildEnvLoadsAsSimConfig(t *testing.T) {
	cfg, err := simConfig(t.TempDir(), timingsFor(3*time.Second, DefaultDutyMonth))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range childEnv(cfg) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	got, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range cfg.Durations {
		if got.Durations[name] != d {
			t.Errorf("%s: %s in the child, %s in simConfig", name, got.Durations[name], d)
		}
	}
	for name, n := range cfg.Counts {
		if got.Counts[name] != n {
			t.Errorf("%s: %d in the child, %d in simConfig", name, got.Counts[name], n)
		}
	}
	if cfg.DutyCheckEvery == 0 || got.DutyCheckEvery != cfg.DutyCheckEvery {
		t.Errorf("JIAOFU_DUTY_CHECK_EVERY: %s in the child, %s in simConfig", got.DutyCheckEvery, cfg.DutyCheckEvery)
	}
	if got.PlanTaskDueIn != cfg.PlanTaskDueIn || got.UpdateTimeout != cfg.UpdateTimeout || got.AdminPassword != cfg.AdminPassword || got.SeedDemoPlan != cfg.SeedDemoPlan {
		t.Errorf("child %+v\nsim %+v", got, cfg)
	}
}
