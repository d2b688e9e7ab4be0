package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Latencies collects durations from many goroutines.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Pct returns the p-th percentile (nearest rank), in milliseconds.
func (l *Latencies) Pct(p float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	rank = max(0, min(rank, len(s)-1))
	return float64(s[rank].Microseconds()) / 1000
}

func (l *Latencies) N() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

func (l *Latencies) Mean() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range l.d {
		t += d
	}
	return float64(t.Microseconds()) / 1000 / float64(len(l.d))
}

func (l *Latencies) summary() map[string]any {
	return map[string]any{"n": l.N(), "p50_ms": l.Pct(50), "p90_ms": l.Pct(90), "p99_ms": l.Pct(99), "max_ms": l.Pct(100), "mean_ms": l.Mean()}
}

// RunResult is what runConcurrent measured.
type RunResult struct {
	Done     int
	Failed   int
	Elapsed  time.Duration
	Lat      *Latencies
	FirstErr error
}

func (r RunResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Done) / r.Elapsed.Seconds()
}

// runConcurrent runs job(i) for i in [0, n) on `clients` goroutines, recording each job's
// duration; it stops early (counting what finished) when ctx ends or after `limit`.
func runConcurrent(ctx context.Context, n, clients int, limit time.Duration, job func(ctx context.Context, i int) error) RunResult {
	return runFor(ctx, n, clients, 0, limit, job)
}

// runFor is runConcurrent that also stops taking new jobs once `soft` (when > 0) has passed, so
// that a slow side measures a rate over a bounded time instead of running all n jobs.
func runFor(ctx context.Context, n, clients int, soft, limit time.Duration, job func(ctx context.Context, i int) error) RunResult {
	softEnd := time.Time{}
	if soft > 0 {
		softEnd = time.Now().Add(soft)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var next, done, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	lat := &Latencies{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if !softEnd.IsZero() && time.Now().After(softEnd) {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := job(ctx, i); err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					errOnce.Do(func() { firstErr = fmt.Errorf("job %d: %w", i, err) })
					continue
				}
				lat.Add(time.Since(t0))
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	res := RunResult{Done: int(done.Load()), Failed: int(failed.Load()), Elapsed: time.Since(start), Lat: lat, FirstErr: firstErr}
	if ctx.Err() != nil && res.FirstErr == nil && res.Done < n {
		res.FirstErr = fmt.Errorf("stopped after %s with %d of %d done", limit, res.Done, n)
	}
	return res
}

// median of a few repeated measurements.
// medianPct is the median over rounds of each round's p-th percentile, and the rounds' values.
func medianPct(ls []*Latencies, p float64) (float64, []float64) {
	var xs []float64
	for _, l := range ls {
		xs = append(xs, l.Pct(p))
	}
	return median(xs), xs
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// waitFor polls cond every `every` until it is true, ctx ends, or `within` passes.
func waitFor(ctx context.Context, within, every time.Duration, cond func() (bool, error)) error {
	return pollFor(ctx, within, every, every, cond)
}

// pollFor polls cond until it is true, ctx ends, or `within` passes, with a waiting client's
// manners: it re-checks after first, then doubles the pause up to max, so a long wait costs a few requests rather than one every few milliseconds.
func pollFor(ctx context.Context, within, first, max time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	pause := first
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, max)
	}
}
