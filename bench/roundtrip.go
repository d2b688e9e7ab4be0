package bench

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Workload 3: the task completion round trip. Through the API: POST /api/v1/tasks/{id}/complete
// (auth, task lookup, the task-action Update with its ApplyTaskChange activity writing the
// projection and the audit entry) and then one GET of the inbox that must show the task done —
// the moment a person sees the result. Bare: the same Update (with a no-op activity) sent with
// the SDK client, waiting for its result. Measured one at a time (the latency a person sees on a
// quiet system; the target applies here) and with -clients at once (under load).

type openReview struct{ app, task string }

func runRoundTrip(ctx context.Context, o *Options, r *Report, e *Env) error {
	n := o.Roundtrips
	if n < 2 {
		return fmt.Errorf("-roundtrips must be at least 2")
	}
	var seqHTTP, seqBare, loadHTTP, loadBare []*Latencies
	var postOnly *Latencies
	for round := 0; round < o.Rounds; round++ {
		// Open 2n review tasks each way: n for the one-at-a-time pass, n for the loaded pass.
		o.progress("[%s] round %d: opening %d review tasks through the API and %d bare ones", e.Name, round+1, 2*n, 2*n)
		reviews, err := e.openReviews(ctx, 2*n)
		if err != nil {
			return err
		}
		run := e.RunID()
		bareIDs := make([]string, 2*n)
		res := runConcurrent(ctx, 2*n, o.Clients, 5*time.Minute, func(ctx context.Context, i int) error {
			bareIDs[i] = fmt.Sprintf("bare-rt-%d-%d", run, i)
			_, err := e.TC.ExecuteWorkflow(ctx, bareStartOptions(bareIDs[i], e.School, "submitted"), BareApplication,
				BareAppInput{ID: bareIDs[i], ReviewDue: time.Hour})
			return err
		})
		if res.FirstErr != nil {
			return fmt.Errorf("start bare applications: %w", res.FirstErr)
		}
		settleSides(ctx, 2*time.Minute)

		httpOne := func(ctx context.Context, rv openReview, post *Latencies) error {
			t0 := time.Now()
			if err := e.Head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+rv.task+"/complete", map[string]string{"outcome": "approve"}, nil); err != nil {
				return err
			}
			if post != nil {
				post.Add(time.Since(t0))
			}
			for tries := 0; ; tries++ {
				var inbox struct {
					Items []struct{ ID, State string }
				}
				if err := e.Head.Expect(ctx, 200, "GET", "/api/v1/tasks?status=done&kind=subsidy_review&case_id="+url.QueryEscape(rv.app), nil, &inbox); err != nil {
					return err
				}
				if len(inbox.Items) == 1 && inbox.Items[0].ID == rv.task && inbox.Items[0].State == "done" {
					return nil
				}
				if tries > 1000 {
					return fmt.Errorf("task %s never showed done", rv.task)
				}
				time.Sleep(time.Millisecond)
			}
		}
		bareOne := func(ctx context.Context, id string) error {
			for tries := 0; ; tries++ {
				retry, err := bareUpdateOnce(ctx, e.TC, id, id+"-t1")
				if !retry {
					return err
				}
				if tries > 100 {
					return fmt.Errorf("bare task %s never opened: %w", id, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}

		// One at a time, alternating the two sides so that drift hits both alike.
		sh, sb, po := &Latencies{}, &Latencies{}, &Latencies{}
		stop := o.startProfile(fmt.Sprintf("w3-%s-sequential-round%d", e.Name, round+1))
		for i := 0; i < n && ctx.Err() == nil; i++ {
			t0 := time.Now()
			if err := httpOne(ctx, reviews[i], po); err != nil {
				stop()
				return err
			}
			sh.Add(time.Since(t0))
			t0 = time.Now()
			if err := bareOne(ctx, bareIDs[i]); err != nil {
				stop()
				return err
			}
			sb.Add(time.Since(t0))
		}
		stop()
		seqHTTP, seqBare, postOnly = append(seqHTTP, sh), append(seqBare, sb), po
		o.progress("[%s] one at a time: HTTP round trip p50 %.1f ms p99 %.1f ms; bare Update p50 %.1f ms p99 %.1f ms",
			e.Name, sh.Pct(50), sh.Pct(99), sb.Pct(50), sb.Pct(99))
		settleSides(ctx, time.Minute)

		// Under load: -clients at once, HTTP first, then bare.
		lh := runConcurrent(ctx, n, o.Clients, 5*time.Minute, func(ctx context.Context, i int) error {
			return httpOne(ctx, reviews[n+i], nil)
		})
		if lh.FirstErr != nil {
			return fmt.Errorf("loaded HTTP round trips: %w", lh.FirstErr)
		}
		settleSides(ctx, time.Minute)
		lb := runConcurrent(ctx, n, o.Clients, 5*time.Minute, func(ctx context.Context, i int) error {
			return bareOne(ctx, bareIDs[n+i])
		})
		if lb.FirstErr != nil {
			return fmt.Errorf("loaded bare updates: %w", lb.FirstErr)
		}
		loadHTTP, loadBare = append(loadHTTP, lh.Lat), append(loadBare, lb.Lat)
		o.progress("[%s] %d clients: HTTP round trip p50 %.1f ms p99 %.1f ms; bare Update p50 %.1f ms p99 %.1f ms",
			e.Name, o.Clients, lh.Lat.Pct(50), lh.Lat.Pct(99), lb.Lat.Pct(50), lb.Lat.Pct(99))
		settleSides(ctx, 2*time.Minute) // the approved applications go on to their review records
	}
	h50, h50s := medianPct(seqHTTP, 50)
	b50, b50s := medianPct(seqBare, 50)
	h99, h99s := medianPct(seqHTTP, 99)
	b99, b99s := medianPct(seqBare, 99)
	r.add(Result{Workload: 3, Name: "task round trip p50, HTTP (complete → inbox shows done)", Unit: "ms", Value: h50,
		Baseline: "ms bare Update p50", BaselineValue: b50, Extra: map[string]any{"rounds_http": h50s, "rounds_bare": b50s,
			"post_only_p50_ms": postOnly.Pct(50), "n": n}})
	r.add(Result{Workload: 3, Name: "task round trip p99, HTTP, one at a time", Unit: "ms", Value: h99,
		Baseline: "ms bare Update p99", BaselineValue: b99, Target: "≤ bare p99 + 10 ms", Pass: pass(h99 <= b99+10),
		Extra: map[string]any{"rounds_http": h99s, "rounds_bare": b99s, "post_only_p99_ms": postOnly.Pct(99),
			"http": seqHTTP[len(seqHTTP)-1].summary(), "bare": seqBare[len(seqBare)-1].summary()}})
	l99, _ := medianPct(loadHTTP, 99)
	lb99, _ := medianPct(loadBare, 99)
	l50, _ := medianPct(loadHTTP, 50)
	lb50, _ := medianPct(loadBare, 50)
	r.add(Result{Workload: 3, Name: fmt.Sprintf("task round trip p50, HTTP, %d clients", o.Clients), Unit: "ms", Value: l50,
		Baseline: "ms bare Update p50", BaselineValue: lb50})
	r.add(Result{Workload: 3, Name: fmt.Sprintf("task round trip p99, HTTP, %d clients", o.Clients), Unit: "ms", Value: l99,
		Baseline: "ms bare Update p99", BaselineValue: lb99, Note: "under load; for information",
		Extra: map[string]any{"http": loadHTTP[len(loadHTTP)-1].summary(), "bare": loadBare[len(loadBare)-1].summary()}})
	return nil
}

// openReviews applies through the API for k fresh terms and waits until each review task shows
// in the principal's inbox.
func (e *Env) openReviews(ctx context.Context, k int) ([]openReview, error) {
	out := make([]openReview, k)
	res := runConcurrent(ctx, k, min(e.o.Clients, 8), 10*time.Minute, func(ctx context.Context, i int) error {
		var app struct{ ID string }
		if err := e.Staff.Expect(ctx, 201, "POST", "/api/v1/subsidy-applications",
			map[string]string{"student_id": e.StudentID, "programme": e.Programme, "term": e.NextTerm()}, &app); err != nil {
			return err
		}
		tk, err := e.waitTask(ctx, e.Head, "subsidy_review", app.ID)
		out[i] = openReview{app: app.ID, task: tk}
		return err
	})
	if res.FirstErr != nil {
		return nil, fmt.Errorf("open review tasks: %w", res.FirstErr)
	}
	return out, nil
}
