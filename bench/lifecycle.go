package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jiaofu/casework"
	"jiaofu/workflows"
)

// Workloads 1 and 2 (and 8): the subsidy lifecycle, bare on the SDK and whole through the HTTP
// API, on the same server, with the same clients count and publicity period.
//
// Batching. Publicity gathers a school's reviewed applications for a term into one batch, and a
// school has one batch open per term at a time; 32 clients sharing one (school, term) would
// serialize on it and measure the wait for the slowest member instead of the system. So every
// lifecycle applies for a term of its own (3000-3001-1, 3000-3001-2, …: the API accepts any
// well-formed term), which makes each lifecycle own its (school, term) and its batch — one
// application, one publicity batch, one sign-off — exactly what the bare lifecycle does. A
// county's real batches carry dozens of applications each, which amortizes the batch's work;
// one-per-batch is the expensive end, and the same on both sides of the ratio.

type lifecycleIDs struct {
	mu                 sync.Mutex
	realApp, realBatch string
	bareApp, bareBatch string
}

var lastIDs lifecycleIDs

// phases records how long each step of a lifecycle took, to see where the time goes.
type phases struct {
	mu sync.Mutex
	m  map[string]*Latencies
}

func (p *phases) add(name string, since time.Time) time.Time {
	now := time.Now()
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]*Latencies{}
	}
	l := p.m[name]
	if l == nil {
		l = &Latencies{}
		p.m[name] = l
	}
	p.mu.Unlock()
	l.Add(now.Sub(since))
	return now
}

func (p *phases) summary() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]any{}
	for k, l := range p.m {
		out[k] = map[string]float64{"p50_ms": l.Pct(50), "p99_ms": l.Pct(99), "max_ms": l.Pct(100), "mean_ms": l.Mean()}
	}
	return out
}

var barePhases, httpPhases phases

func searchAttrs(unit, state string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(workflows.AttrProcess.ValueSet(casework.ProcessSubsidy),
		workflows.AttrUnit.ValueSet(unit), workflows.AttrState.ValueSet(state))
}

func bareStartOptions(id, unit, state string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: bareQueue, WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    searchAttrs(unit, state)}
}

// bareLifecycle drives one bare lifecycle with the raw SDK client.
func (e *Env) bareLifecycle(ctx context.Context, run int64, i int) error {
	appID := fmt.Sprintf("bare-app-%d-%d", run, i)
	t := time.Now()
	if _, err := e.TC.ExecuteWorkflow(ctx, bareStartOptions(appID, e.School, "submitted"), BareApplication,
		BareAppInput{ID: appID, ReviewDue: time.Hour}); err != nil {
		return fmt.Errorf("start %s: %w", appID, err)
	}
	t = barePhases.add("1 apply", t)
	if err := bareUpdateUntilOpen(ctx, e.TC, appID, appID+"-t1", e.o.PollEvery, e.o.PollMax); err != nil {
		return fmt.Errorf("review %s: %w", appID, err)
	}
	t = barePhases.add("2-3 review task open + completed", t)
	batchID := fmt.Sprintf("bare-batch-%d-%d", run, i)
	opened := time.Now()
	if _, err := e.TC.ExecuteWorkflow(ctx, bareStartOptions(batchID, e.School, "publicizing"), BareBatch,
		BareBatchInput{ID: batchID, AppID: appID, Period: e.o.Period, SignoffDue: time.Hour}); err != nil {
		return fmt.Errorf("start %s: %w", batchID, err)
	}
	t = barePhases.add("4 open batch", t)
	sleepUntil(ctx, opened.Add(e.o.Period))
	t = barePhases.add("5 publicity period", t)
	if err := bareUpdateUntilOpen(ctx, e.TC, batchID, batchID+"-t1", e.o.PollEvery, e.o.PollMax); err != nil {
		return fmt.Errorf("sign-off %s: %w", batchID, err)
	}
	t = barePhases.add("6-7 sign-off task open + completed", t)
	if err := e.TC.GetWorkflow(ctx, appID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("result %s: %w", appID, err)
	}
	barePhases.add("8 disbursed", t)
	lastIDs.mu.Lock()
	lastIDs.bareApp, lastIDs.bareBatch = appID, batchID
	lastIDs.mu.Unlock()
	return nil
}

// httpLifecycle drives one lifecycle through the HTTP API as three people would: the school's
// staff apply and open publicity, the principal reviews, the aid center signs off. Waiting for a
// task or a state is polling (after -poll, then doubling up to -poll-max), as a client of this
// API must; the bare client pauses the same way between its tries.
func (e *Env) httpLifecycle(ctx context.Context) error {
	term := e.NextTerm()
	var app struct{ ID string }
	t := time.Now()
	if err := e.Staff.Expect(ctx, 201, "POST", "/api/v1/subsidy-applications",
		map[string]string{"student_id": e.StudentID, "programme": e.Programme, "term": term}, &app); err != nil {
		return err
	}
	t = httpPhases.add("1 apply", t)
	tk, err := e.waitTask(ctx, e.Head, "subsidy_review", app.ID)
	if err != nil {
		return err
	}
	t = httpPhases.add("2 review task shows", t)
	if err := e.Head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+tk+"/complete", map[string]string{"outcome": "approve"}, nil); err != nil {
		return err
	}
	t = httpPhases.add("3 review completed", t)
	// The batch gathers reviewed applications: 409 until the workflow has recorded the review.
	var batch struct {
		ID     string
		EndsAt *time.Time `json:"ends_at"`
	}
	err = pollFor(ctx, time.Minute, e.o.PollEvery, e.o.PollMax, func() (bool, error) {
		code, raw, err := e.Staff.DoRaw(ctx, "POST", "/api/v1/publicity-batches", map[string]string{"school_unit": e.School, "term": term})
		if err != nil {
			return false, err
		}
		switch code {
		case 201, 202:
			return true, jsonUnmarshal(raw, &batch)
		case 409:
			return false, nil
		}
		return false, fmt.Errorf("open batch: %d %.200s", code, raw)
	})
	if err != nil {
		return fmt.Errorf("batch for %s: %w", app.ID, err)
	}
	t = httpPhases.add("4 open batch", t)
	if batch.EndsAt != nil {
		sleepUntil(ctx, *batch.EndsAt)
	}
	t = httpPhases.add("5 publicity period", t)
	tk, err = e.waitTask(ctx, e.Aid, "publicity_signoff", batch.ID)
	if err != nil {
		return err
	}
	t = httpPhases.add("6 sign-off task shows", t)
	if err := e.Aid.Expect(ctx, 200, "POST", "/api/v1/tasks/"+tk+"/complete", map[string]string{"outcome": "approve"}, nil); err != nil {
		return err
	}
	t = httpPhases.add("7 sign-off completed", t)
	err = pollFor(ctx, time.Minute, e.o.PollEvery, e.o.PollMax, func() (bool, error) {
		var list struct{ Items []struct{ ID string } }
		if err := e.Staff.Expect(ctx, 200, "GET", "/api/v1/subsidy-applications?state=disbursed&term="+url.QueryEscape(term), nil, &list); err != nil {
			return false, err
		}
		return len(list.Items) == 1, nil
	})
	if err != nil {
		return fmt.Errorf("disbursement of %s: %w", app.ID, err)
	}
	httpPhases.add("8 disbursed", t)
	lastIDs.mu.Lock()
	lastIDs.realApp, lastIDs.realBatch = app.ID, batch.ID
	lastIDs.mu.Unlock()
	return nil
}

// waitTask polls a user's inbox until the open task of kind for caseID shows, and returns its id.
func (e *Env) waitTask(ctx context.Context, h *HTTP, kind, caseID string) (string, error) {
	var id string
	err := pollFor(ctx, 2*time.Minute, e.o.PollEvery, e.o.PollMax, func() (bool, error) {
		var inbox struct{ Items []struct{ ID string } }
		if err := h.Expect(ctx, 200, "GET", "/api/v1/tasks?status=open&kind="+kind+"&case_id="+url.QueryEscape(caseID), nil, &inbox); err != nil {
			return false, err
		}
		if len(inbox.Items) > 0 {
			id = inbox.Items[0].ID
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("%s task of %s: %w", kind, caseID, err)
	}
	return id, nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	if d := time.Until(t); d > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// lifecycleLimit bounds one measured phase.
func (o *Options) lifecycleLimit(n int) time.Duration {
	return 2*time.Minute + time.Duration(n)*time.Second
}

func (e *Env) measureBare(ctx context.Context, n int) RunResult {
	run := e.RunID()
	return runConcurrent(ctx, n, e.o.Clients, e.o.lifecycleLimit(n), func(ctx context.Context, i int) error {
		return e.bareLifecycle(ctx, run, i)
	})
}

func (e *Env) measureHTTP(ctx context.Context, n int) RunResult {
	return runConcurrent(ctx, n, e.o.Clients, e.o.lifecycleLimit(n), func(ctx context.Context, i int) error {
		return e.httpLifecycle(ctx)
	})
}

// runLifecycles measures the bare lifecycle (workload 1, or the bare side of 8) and, when http,
// the lifecycle through the API (workload 2, or 8), in -rounds alternating rounds.
func runLifecycles(ctx context.Context, o *Options, r *Report, e *Env, http bool, label string) error {
	wBare, wHTTP, n := 1, 2, o.Lifecycles
	if label != "" {
		wBare, wHTTP, n = 8, 8, o.ProdLifecycles
	}
	if o.Warmup > 0 {
		o.progress("[%s] warm-up: %d lifecycles each way", e.Name, o.Warmup)
		if res := e.measureBare(ctx, o.Warmup); res.FirstErr != nil {
			return fmt.Errorf("bare warm-up: %w", res.FirstErr)
		}
		if http {
			if res := e.measureHTTP(ctx, o.Warmup); res.FirstErr != nil {
				return fmt.Errorf("HTTP warm-up: %w", res.FirstErr)
			}
		}
		settle(ctx, time.Minute)
	}
	var bareRates, httpRates []float64
	var bareCPU, httpCPU lifeCPUs
	barePhases, httpPhases = phases{}, phases{}
	var bareLast, httpLast RunResult
	for round := 0; round < o.Rounds; round++ {
		order := []bool{false, true} // false = bare
		if round%2 == 1 {
			order = []bool{true, false}
		}
		for _, isHTTP := range order {
			if isHTTP && !http {
				continue
			}
			load := loadAvg()
			kind := map[bool]string{false: "bare SDK", true: "HTTP API"}[isHTTP]
			stop := o.startProfile(fmt.Sprintf("w%d-%s-%s-round%d", wHTTP, e.Name, map[bool]string{false: "bare", true: "http"}[isHTTP], round+1))
			var res RunResult
			cpu0, srv0, pg0 := cpuTicks(os.Getpid()), e.serverTicks(), e.postgresTicks()
			if isHTTP {
				res = e.measureHTTP(ctx, n)
			} else {
				res = e.measureBare(ctx, n)
			}
			perLife := func(ticks int64) float64 { return float64(ticks) * 10 / float64(max(1, res.Done)) }
			cpu := lifeCPU{External: e.ServerPID != 0, Here: perLife(cpuTicks(os.Getpid()) - cpu0), Server: perLife(e.serverTicks() - srv0),
				PGByDB: map[string]float64{}}
			for db, t := range e.postgresTicks() {
				if d := perLife(t - pg0[db]); d > 0 {
					cpu.PGByDB[db] = d
					cpu.PG += d
				}
			}
			stop()
			if res.FirstErr != nil {
				return fmt.Errorf("%s lifecycles: %d done, %d failed: %w", kind, res.Done, res.Failed, res.FirstErr)
			}
			o.progress("[%s] round %d %s: %d lifecycles in %s = %.2f/s (p50 %.0f ms, p99 %.0f ms; CPU ms each: %s; load %s)", e.Name, round+1, kind,
				res.Done, res.Elapsed.Round(time.Millisecond), res.Rate(), res.Lat.Pct(50), res.Lat.Pct(99), cpu, load)
			if isHTTP {
				httpRates, httpLast, httpCPU = append(httpRates, res.Rate()), res, append(httpCPU, cpu)
			} else {
				bareRates, bareLast, bareCPU = append(bareRates, res.Rate()), res, append(bareCPU, cpu)
			}
			settleSides(ctx, time.Minute)
		}
	}
	bare := median(bareRates)
	name := fmt.Sprintf("bare lifecycle, SDK, %s server, %d clients", e.Name, o.Clients)
	r.add(Result{Workload: wBare, Name: name, Unit: "lifecycles/s", Value: bare,
		Note: "baseline: the subsidy lifecycle's shape on the bare engine (no-op activities)",
		Extra: map[string]any{"rounds": bareRates, "latency": bareLast.Lat.summary(), "period": o.Period.String(),
			"phases": barePhases.summary(), "cpu_ms_per_lifecycle": bareCPU.median()}})
	if !http {
		return nil
	}
	hv := median(httpRates)
	extra := map[string]any{"rounds": httpRates, "latency": httpLast.Lat.summary(), "period": o.Period.String(),
		"phases": httpPhases.summary(), "cpu_ms_per_lifecycle": httpCPU.median()}
	if shape, err := e.historyShape(ctx); err == nil {
		extra["history_events"] = shape
	} else {
		o.logf("history shape: %v", err)
	}
	res := Result{Workload: wHTTP, Name: fmt.Sprintf("subsidy lifecycle, HTTP API, %s, %d clients", e.Name, o.Clients),
		Unit: "lifecycles/s", Value: hv, Baseline: fmt.Sprintf("bare (%d)", wBare), BaselineValue: bare, Extra: extra}
	if label == "" {
		res.Target, res.Pass = "≥ 0.8× bare", pass(hv >= 0.8*bare)
	}
	r.add(res)
	return nil
}

// historyShape counts the engine work of the last real and bare lifecycles — per application and
// per publicity batch: history events, workflow tasks, activity tasks and markers (local
// activities, versions, side effects) — the figures issue 20's second target is about. The bare one should match the real
// one's shape.
func (e *Env) historyShape(ctx context.Context) (map[string]engineWork, error) {
	lastIDs.mu.Lock()
	ids := map[string]string{"real_application": lastIDs.realApp, "real_batch": lastIDs.realBatch,
		"bare_application": lastIDs.bareApp, "bare_batch": lastIDs.bareBatch}
	lastIDs.mu.Unlock()
	out := map[string]engineWork{}
	for k, id := range ids {
		if id == "" {
			continue
		}
		it := e.TC.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var w engineWork
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return out, err
			}
			w.Events++
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
				w.WorkflowTasks++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				w.ActivityTasks++
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				w.Markers++
			}
		}
		out[k] = w
	}
	return out, nil
}

// engineWork is what one workflow's history cost the engine.
type engineWork struct {
	Events        int `json:"events"`
	WorkflowTasks int `json:"workflow_tasks"`
	ActivityTasks int `json:"activity_tasks"`
	Markers       int `json:"markers"` // local activities, versions (GetVersion) and side effects
}

// lifeCPU is the CPU time one lifecycle cost, in ms, by program: this process (the harness's
// clients and the service — with the embedded Temporal server in it on workload 2), and on the
// production path (workload 8) the Temporal server and PostgreSQL by database (every postgres
// process on the machine: its background processes count as "server"). Issue 20 asks for the
// server's share per lifecycle; together they are what the two cores must serve.
type lifeCPU struct {
	External         bool // the production path: a server process and PostgreSQL of its own
	Here, Server, PG float64
	PGByDB           map[string]float64
}

func (c lifeCPU) String() string {
	if !c.External {
		return fmt.Sprintf("this process %.0f", c.Here)
	}
	dbs := make([]string, 0, len(c.PGByDB))
	for db, ms := range c.PGByDB {
		if ms >= 1 {
			dbs = append(dbs, fmt.Sprintf("%s %.0f", db, ms))
		}
	}
	sort.Strings(dbs)
	return fmt.Sprintf("this process %.0f, Temporal server %.0f, PostgreSQL %.0f (%s), total %.0f", c.Here, c.Server, c.PG,
		strings.Join(dbs, ", "), c.Here+c.Server+c.PG)
}

type lifeCPUs []lifeCPU

// median is each program's median over the rounds; PostgreSQL's databases are the last round's.
func (cs lifeCPUs) median() map[string]float64 {
	pick := func(f func(lifeCPU) float64) float64 {
		v := make([]float64, len(cs))
		for i, c := range cs {
			v[i] = f(c)
		}
		return median(v)
	}
	out := map[string]float64{"this_process": pick(func(c lifeCPU) float64 { return c.Here })}
	if len(cs) == 0 || !cs[0].External {
		return out
	}
	out["temporal_server"] = pick(func(c lifeCPU) float64 { return c.Server })
	out["postgres"] = pick(func(c lifeCPU) float64 { return c.PG })
	for db, ms := range cs[len(cs)-1].PGByDB {
		out["postgres_"+db] = ms
	}
	return out
}

// serverTicks is the external Temporal server's CPU time (0 for the embedded one, which is in
// this process).
func (e *Env) serverTicks() int64 {
	if e.ServerPID == 0 {
		return 0
	}
	return cpuTicks(e.ServerPID)
}

// postgresTicks is PostgreSQL's CPU time by what each database is to this lifecycle (nil for the
// embedded server and a SQLite store: the database's time there would be other programs').
func (e *Env) postgresTicks() map[string]int64 {
	if e.ServerPID == 0 {
		return nil
	}
	out := map[string]int64{}
	for db, t := range postgresTicks() {
		role, ok := e.PGRoles[db]
		if !ok {
			role = "other"
			if db == "(server)" {
				role = "server"
			}
		}
		out[role] += t
	}
	return out
}
