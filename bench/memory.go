package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"jiaofu/api"
	"jiaofu/demo"
	"jiaofu/store"
)

// Workload 6: memory. The all-in-one process (`jiaofu all`: embedded Temporal, worker, store,
// HTTP) runs as a child process of this one, on a data directory prepared with -cases students
// of one school; the harness opens a dropout case for each through POST /api/v1/dropout-cases
// and (with -consolidate) records the outcome "returned", which puts the case into its
// consolidation watch (包巩固, 20 weeks: a durable timer and an open workflow). Measured: the
// child's VmRSS from /proc/<pid>/status once idle after start (the baseline) and once idle with
// every case open, and its peak (VmHWM); at both points the Go runtime's account of the memory
// and the goroutine count, from the child's profiles listener (and with -profile its heap and
// goroutine profiles).

const memSchool = "JS-T01-S01"

func runMemory(ctx context.Context, o *Options, r *Report) error {
	n := o.Cases
	if n < 1 {
		return fmt.Errorf("-cases must be positive")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := filepath.Join(o.tmp, "memory")
	dataDir := filepath.Join(dir, "data")
	t0 := time.Now()
	students, err := prepareMemoryData(ctx, dataDir, n)
	if err != nil {
		return fmt.Errorf("prepare data: %w", err)
	}
	o.progress("[memory] data directory with %d students prepared in %s", n, time.Since(t0).Round(time.Second))
	svc, err := startAllInOne(ctx, o, self, dir, dataDir)
	if err != nil {
		return err
	}
	defer svc.stop()
	pid, base, hc := svc.pid, svc.base, svc.hc
	settle(ctx, time.Minute, pid)
	time.Sleep(5 * time.Second)
	idle := procStatus(pid, "VmRSS")
	o.progress("[memory] service idle: VmRSS %s", humanBytes(idle))
	svc.memorySnapshot(ctx, o, "w6-idle")

	e := &Env{Base: base, hc: hc, o: o}
	staff, err := e.Login(ctx, "staff01", demo.DemoPassword)
	if err != nil {
		return err
	}
	yesterday := time.Now().Add(-24 * time.Hour).Format("2006-01-02")
	ids := make([]string, n)
	t0 = time.Now()
	res := runConcurrent(ctx, n, o.Clients, 30*time.Minute, func(ctx context.Context, i int) error {
		var out struct{ ID string }
		code, raw, err := staff.DoRaw(ctx, "POST", "/api/v1/dropout-cases", map[string]string{"student_id": students[i],
			"reason": "开学未到校，电话联系不上", "last_attended_on": yesterday})
		if err != nil {
			return err
		}
		if code != 201 && code != 202 {
			return fmt.Errorf("open case: %d %.300s", code, raw)
		}
		if err := jsonUnmarshal(raw, &out); err != nil {
			return err
		}
		ids[i] = out.ID
		return nil
	})
	if res.FirstErr != nil {
		return fmt.Errorf("open dropout cases: %d done: %w", res.Done, res.FirstErr)
	}
	o.progress("[memory] %d cases opened in %s (%.1f/s), VmRSS %s", res.Done, time.Since(t0).Round(time.Second), res.Rate(),
		humanBytes(procStatus(pid, "VmRSS")))
	state := "open (first contact pending)"
	if o.Consolid {
		t0 = time.Now()
		res = runConcurrent(ctx, n, o.Clients, 30*time.Minute, func(ctx context.Context, i int) error {
			// The case's first record may still be being written (202 above): retry briefly.
			return waitFor(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
				code, raw, err := staff.DoRaw(ctx, "POST", "/api/v1/dropout-cases/"+ids[i]+"/outcome",
					map[string]string{"outcome": "returned", "note": "已返校"})
				switch {
				case err != nil:
					return false, err
				case code == 200:
					return true, nil
				case code == 404:
					return false, nil
				}
				return false, fmt.Errorf("outcome for %s: %d %.300s", ids[i], code, raw)
			})
		})
		if res.FirstErr != nil {
			return fmt.Errorf("record outcomes: %d done: %w", res.Done, res.FirstErr)
		}
		state = "in consolidation (包巩固)"
		o.progress("[memory] %d cases returned to school in %s (%.1f/s)", res.Done, time.Since(t0).Round(time.Second), res.Rate())
	}
	settle(ctx, 3*time.Minute, pid)
	time.Sleep(10 * time.Second) // let the Go runtime return what it freed after the burst
	rss, hwm := procStatus(pid, "VmRSS"), procStatus(pid, "VmHWM")
	parts := map[string]float64{}
	for _, f := range []string{"RssAnon", "RssFile", "RssShmem", "VmData", "VmStk"} {
		parts[f+"_mib"] = float64(procStatus(pid, f)) / (1 << 20)
	}
	o.logf("memory parts: %v", parts)
	svc.memorySnapshot(ctx, o, "w6-open")
	o.progress("[memory] %d cases %s: VmRSS %s (peak %s)", n, state, humanBytes(rss), humanBytes(hwm))
	const gib = 1 << 30
	r.add(Result{Workload: 6, Name: fmt.Sprintf("RSS with %d open dropout cases", n), Unit: "MiB", Value: float64(rss) / (1 << 20),
		Baseline: "MiB idle service", BaselineValue: float64(idle) / (1 << 20), Target: "≤ 1024 MiB", Pass: pass(rss <= gib),
		Note: "cases " + state, Extra: map[string]any{"vm_hwm_mib": float64(hwm) / (1 << 20), "cases": n,
			"per_case_kib": float64(rss-idle) / 1024 / float64(n), "status": parts}})
	r.add(Result{Workload: 6, Name: "peak RSS (VmHWM) during the run", Unit: "MiB", Value: float64(hwm) / (1 << 20),
		Baseline: "MiB idle service", BaselineValue: float64(idle) / (1 << 20), Target: "≤ 1024 MiB", Pass: pass(hwm <= gib)})
	return nil
}

// prepareMemoryData creates the service's store with the demo data and n students at one school
// (the service then starts on it and finds the demo there), and returns the students' ids.
func prepareMemoryData(ctx context.Context, dataDir string, n int) ([]string, error) {
	st, err := store.Open(ctx, "", dataDir, true)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := demo.Bootstrap(ctx, st, "bench-admin-password", api.HashPassword); err != nil {
		return nil, err
	}
	if err := demo.Seed(ctx, st, api.HashPassword); err != nil {
		return nil, err
	}
	ids := make([]string, n)
	res := runConcurrent(ctx, n, 4, 20*time.Minute, func(ctx context.Context, i int) error {
		s, err := st.CreateStudent(ctx, store.Student{StudentNo: fmt.Sprintf("M%08d", i), Name: fmt.Sprintf("学生%05d", i),
			Sex: []string{"男", "女"}[i%2], BirthDate: "2013-03-01", UnitCode: memSchool, Grade: 1 + i%9, Class: fmt.Sprintf("%d班", 1+i%6),
			PovertyRegistered: i%2 == 0})
		ids[i] = s.ID
		return err
	})
	return ids, res.FirstErr
}
