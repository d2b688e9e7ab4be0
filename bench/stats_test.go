package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	l := &Latencies{}
	for i := 1; i <= 100; i++ {
		l.Add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {100, 100}, {0, 1}} {
		if got := l.Pct(c.p); got != c.want {
			t.Errorf("Pct(%v) = %v ms, want %v", c.p, got, c.want)
		}
	}
	if got := l.Mean(); got != 50.5 {
		t.Errorf("Mean = %v, want 50.5", got)
	}
	if got := (&Latencies{}).Pct(99); got != 0 {
		t.Errorf("empty Pct = %v, want 0", got)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{11.6, 11.0, 10.9}, 11.0}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

// The waiting client backs off: pauses double from first up to max.
func TestPollForBacksOff(t *testing.T) {
	var at []time.Time
	err := pollFor(context.Background(), time.Minute, 10*time.Millisecond, 40*time.Millisecond, func() (bool, error) {
		at = append(at, time.Now())
		return len(at) == 5, nil
	})
	if err != nil || len(at) != 5 {
		t.Fatalf("pollFor = %v after %d calls, want nil after 5", err, len(at))
	}
	for i, want := range []time.Duration{10, 20, 40, 40} {
		if gap := at[i+1].Sub(at[i]); gap < want*time.Millisecond {
			t.Errorf("pause %d = %s, want at least %dms", i+1, gap, want)
		}
	}
	boom := errors.New("boom")
	if err := pollFor(context.Background(), time.Minute, time.Millisecond, time.Millisecond, func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("pollFor with a failing condition = %v, want boom", err)
	}
	if err := waitFor(context.Background(), 20*time.Millisecond, 5*time.Millisecond, func() (bool, error) { return false, nil }); err == nil {
		t.Error("waitFor never true: want a timeout error")
	}
}

// runFor counts what finished, keeps the first error, and stops taking jobs after `soft`.
func TestRunForCountsAndStops(t *testing.T) {
	res := runConcurrent(context.Background(), 100, 4, time.Minute, func(ctx context.Context, i int) error {
		if i%10 == 0 {
			return errors.New("tenth")
		}
		return nil
	})
	if res.Done != 90 || res.Failed != 10 || res.FirstErr == nil || res.Lat.N() != 90 {
		t.Errorf("done %d failed %d err %v latencies %d; want 90, 10, an error, 90", res.Done, res.Failed, res.FirstErr, res.Lat.N())
	}
	res = runFor(context.Background(), 1_000_000, 2, 50*time.Millisecond, time.Minute, func(ctx context.Context, i int) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	})
	if res.Done == 0 || res.Done > 100 || res.FirstErr != nil {
		t.Errorf("soft stop: done %d (err %v), want a few (≤ 100) and no error", res.Done, res.FirstErr)
	}
	if r := (RunResult{Done: 10, Elapsed: 2 * time.Second}).Rate(); r != 5 {
		t.Errorf("Rate = %v, want 5", r)
	}
}

func TestBackendDatabase(t *testing.T) {
	for cmdline, want := range map[string]string{
		"postgres: 15/main: postgres bench_temporal_1_2 127.0.0.1(40112) idle\x00\x00": "bench_temporal_1_2",
		"postgres: postgres test [local] idle":                                         "test",
		"postgres: app store 10.0.0.5(5432) SELECT":                                    "store",
		"postgres: 15/main: checkpointer   ":                                           "",
		"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/postgresql/15/main":     "",
	} {
		if got := backendDatabase(cmdline); got != want {
			t.Errorf("backendDatabase(%q) = %q, want %q", cmdline, got, want)
		}
	}
}
