package sim

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"jiaofu/childproc"
	"jiaofu/config"
)

// childEnv is cfg as the variables of a jiaofu child: every process setting and count that differs
// from the defaults (config names each by its variable) and the other settings simConfig changes.
// The data dir and the ports are childproc.NewService's.
func childEnv(cfg config.Config) []string {
	def := config.Default()
	var env []string
	for name, d := range cfg.Durations {
		if d != def.Durations[name] {
			env = append(env, name+"="+d.String())
		}
	}
	for name, n := range cfg.Counts {
		if n != def.Counts[name] {
			env = append(env, fmt.Sprintf("%s=%d", name, n))
		}
	}
	sort.Strings(env) // the same run, the same environment
	env = append(env, "JIAOFU_ADMIN_PASSWORD="+cfg.AdminPassword, "JIAOFU_UPDATE_TIMEOUT="+cfg.UpdateTimeout.String(),
		"JIAOFU_PLAN_TASK_DUE_IN="+cfg.PlanTaskDueIn.String(), fmt.Sprintf("JIAOFU_SEED_DEMO_PLAN=%v", cfg.SeedDemoPlan))
	if cfg.DutyCheckEvery > 0 {
		env = append(env, "JIAOFU_DUTY_CHECK_EVERY="+cfg.DutyCheckEvery.String())
	}
	return env
}

// killer kills the child at seeded instants — each gap drawn in [½, 1½]× every from the moment the
// last incarnation was ready, as the crash harness draws them — and starts it again on the same
// data dir, until it has killed n times or done is closed (the actors are through).
type killer struct {
	svc      *childproc.Service
	n        int
	every    time.Duration
	rng      *rand.Rand
	logf     func(string, ...any)
	kills    atomic.Int64
	downFor  atomic.Int64 // nanoseconds from each kill to the next incarnation's readiness
	mu       sync.Mutex
	lastUp   time.Time      // when the last incarnation became ready
	down     [][2]time.Time // each kill's instant and the next incarnation's readiness
	finished chan error
}

func (k *killer) run(ctx context.Context, done <-chan struct{}) {
	k.finished <- k.loop(ctx, done)
}

func (k *killer) loop(ctx context.Context, done <-chan struct{}) error {
	for int(k.kills.Load()) < k.n {
		gap := time.Duration(float64(k.every) * (0.5 + k.rng.Float64()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return nil
		case <-time.After(gap):
		}
		if !k.svc.Alive() {
			return fmt.Errorf("the service exited by itself:\n%s", childproc.Tail(k.svc.LogPath(), 2000))
		}
		killed := time.Now()
		if err := k.svc.Kill(); err != nil {
			return err
		}
		n := k.kills.Add(1)
		k.logf("kill %d (SIGKILL) after %s up; restarting on the same data dir\n", n, gap.Round(time.Millisecond))
		if err := k.svc.Start(ctx); err != nil {
			return err
		}
		down := time.Since(killed)
		k.downFor.Add(int64(down))
		k.mu.Lock()
		k.lastUp = time.Now()
		k.down = append(k.down, [2]time.Time{killed, k.lastUp})
		k.mu.Unlock()
		k.logf("restart %d ready after %s\n", n, down.Round(time.Millisecond))
	}
	return nil
}

// dueWhileDown counts the escalations the oracle expects whose instant (or the span it may lie in)
// meets a time the service was down: those the restarted service had to catch up on.
func (k *killer) dueWhileDown(o *Oracle) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, e := range o.Expected {
		for _, d := range k.down {
			if !e.Latest.Before(d[0]) && !e.At.After(d[1]) {
				n++
				break
			}
		}
	}
	return n
}

func (k *killer) lastReady() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastUp
}

// retrying is the actors' transport while the service is killed: a request refused because the
// service is down (a refused or reset connection, a lost answer, a 503) is sent again every 250 ms
// until it is answered or within has passed. The actors time each request around the whole
// exchange, so the span the oracle sees runs from the first send to the final answer: the service
// may have taken the action at any moment in it.
//
// A write whose answer was lost may have been done by the lost attempt. So that a repeat is not a
// second case, every POST carries an Idempotency-Key (the same on every attempt): the creates that
// pick their own ids (hardship grants, findings) answer the first attempt's case. A task action
// repeated after a lost answer is refused 409 task_not_open because the lost attempt closed the
// task: that counts as done, and the answer becomes 200 (counted in refusedRepeats). Any other 409
// after a lost answer is passed on, and the actor reports it as an error.
type retrying struct {
	next   http.RoundTripper
	within time.Duration
	// retried counts requests sent again; uncertain the writes answered after an attempt that may
	// have landed; refusedRepeats those of them answered 409 task_not_open and counted as done.
	retried, uncertain, refusedRepeats atomic.Int64
}

func (r *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	req = req.Clone(req.Context())
	if req.Method == http.MethodPost && req.Header.Get("Idempotency-Key") == "" {
		var k [12]byte
		_, _ = crand.Read(k[:])
		req.Header.Set("Idempotency-Key", "sim-"+hex.EncodeToString(k[:]))
	}
	deadline := time.Now().Add(r.within)
	landed := false // an earlier attempt of this write may have been done
	for attempt := 0; ; attempt++ {
		if write {
			// Without GetBody, net/http does not send a write again by itself on a broken
			// connection (it would for one with an Idempotency-Key): this loop must see every
			// attempt that may have landed.
			req.Body, req.GetBody = io.NopCloser(bytes.NewReader(body)), nil
			req.ContentLength = int64(len(body))
		}
		resp, err := r.next.RoundTrip(req)
		if err == nil && resp.StatusCode != http.StatusServiceUnavailable {
			if landed {
				r.uncertain.Add(1)
			}
			if landed && resp.StatusCode == http.StatusConflict && strings.Contains(req.URL.Path, "/tasks/") {
				raw, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr == nil && bytes.Contains(raw, []byte("task_not_open")) {
					r.refusedRepeats.Add(1)
					resp.StatusCode, resp.Status = http.StatusOK, "200 OK (the lost attempt closed the task)"
				}
				resp.Body = io.NopCloser(bytes.NewReader(raw))
				resp.ContentLength = int64(len(raw))
			}
			return resp, nil
		}
		if err == nil {
			// 503: a restarted service whose store or Temporal is not back yet, or an update that
			// timed out — which may still be done.
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if write {
				landed = true
			}
		} else {
			if req.Context().Err() != nil {
				return nil, err
			}
			if write && !refused(err) {
				landed = true
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("503 for %s", r.within)
			}
			return nil, fmt.Errorf("%s %s: the service did not answer within %s: %w", req.Method, req.URL.Path, r.within, err)
		}
		if attempt == 0 {
			r.retried.Add(1)
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// refused tells a request that never reached the service (nothing listened on the port).
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// KillStream is the kill instants' random stream (seed, KillStream): kills change no other draw.
const KillStream = 1<<32 + 0x4b
