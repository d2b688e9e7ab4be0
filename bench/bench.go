// Package bench is jiaofu's benchmark harness (`jiaofu bench`, `make bench`): it runs the
// workloads of issue 6 side by side in one run, each against a baseline measured in the same run
// (absolute times on a shared machine drift; ratios much less), prints a table and writes JSON.
//
// It is not part of `go test` and has no timed tests. Every loop is bounded, every child process
// it starts (official dev servers, the PostgreSQL-backed Temporal server, the all-in-one service
// for the memory workload) is killed when its workload ends, and every database and schema it
// creates is dropped. See docs/benchmarks.md for the workloads, their targets and the results.
package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"jiaofu/childproc"
)

// Options are the harness's settings; every one is a flag.
type Options struct {
	Only           map[int]bool
	Servers        map[string]bool
	Clients        int
	Lifecycles     int
	ProdLifecycles int
	Warmup         int
	Roundtrips     int
	Burst          int
	BulkSize       int
	BulkConc       int
	InboxTasks     int
	InboxReads     int
	Cases          int
	Consolid       bool
	Pairings       int
	Plans          int
	DutySchools    int
	DutyMonth      time.Duration
	PlanPeriod     time.Duration
	Probe          int
	ProbeFor       time.Duration
	Period         time.Duration
	PollEvery      time.Duration
	PollMax        time.Duration
	PG             string
	JSON           string
	Tools          string
	Shards         int
	DynamicConfig  string
	ServerEnv      string
	Profile        string
	Keep           bool
	Verbose        bool
	Rounds         int

	args []string
	out  io.Writer
	log  *slog.Logger
	tmp  string
}

const usage = `usage: jiaofu bench [flags]

Runs the performance workloads of issue 6 side by side and prints a table; every figure is a
ratio to a baseline measured in the same run. Results go to -json (default docs/bench-results.json).

Workloads (-only): 1 engine baseline · 2 subsidy lifecycle over HTTP · 3 task completion round trip
· 4 semester-start burst (bulk) · 5 inbox read, PostgreSQL · 6 memory with open dropout cases
· 7 embedded server vs the official dev server · 8 production path (Temporal + store on PostgreSQL)
· 9 recurring duties: open pairings and send-home plans held, and one period's quota check (only
when named: -only 9; it waits up to twenty minutes for a pairing month's end)

The defaults finish in about twenty minutes on a 2-core machine; the issue's sizes, each
comparison repeated, are -n 10000 -cases 10000 -tasks 1000000 -rounds 3 (70 to 90 minutes; see
docs/benchmarks.md). The first run also builds the official CLI and the Temporal server for
workloads 7 and 8 (several minutes; the binaries are kept in -tools, outside the repository).
`

// Run is the `jiaofu bench` subcommand.
func Run(args []string) error {
	// Hidden child modes: the embedded server as its own process (workload 7).
	if len(args) > 0 && args[0] == serveEmbeddedArg {
		return serveEmbedded(args[1:])
	}
	o := Options{out: os.Stdout, args: args}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage, "\nFlags:\n"); fs.PrintDefaults() }
	only := fs.String("only", "1,2,3,4,5,6,7,8", "workloads to run, comma-separated (9 only when named: it waits for a pairing month's end)")
	servers := fs.String("servers", "official-file,official-memory,embedded", "workload 7's servers, comma-separated (also embedded-inprocess: the embedded server inside this process, for -profile)")
	fs.IntVar(&o.Clients, "clients", 32, "concurrent clients (workloads 1, 2, 3-loaded, 4-bare, 7, 8)")
	fs.IntVar(&o.Lifecycles, "lifecycles", 320, "lifecycles measured per side in workloads 1 and 2")
	fs.IntVar(&o.ProdLifecycles, "prod-lifecycles", 160, "lifecycles measured per side in workload 8")
	fs.IntVar(&o.Warmup, "warmup", 32, "lifecycles run before measuring, not counted")
	fs.IntVar(&o.Roundtrips, "roundtrips", 1000, "task completions measured per side in workload 3 (its p99 is the 10th slowest of 1000)")
	fs.IntVar(&o.Burst, "n", 3000, "applications in the semester-start burst (workload 4; the issue's size is 10000)")
	fs.IntVar(&o.BulkSize, "bulk-size", 500, "items per bulk request (workload 4; the endpoint takes up to 1000)")
	fs.IntVar(&o.BulkConc, "bulk-clients", 2, "concurrent bulk requests (workload 4)")
	fs.IntVar(&o.InboxTasks, "tasks", 1_000_000, "task rows loaded into PostgreSQL (workload 5)")
	fs.IntVar(&o.InboxReads, "reads", 2000, "inbox page reads measured (workload 5)")
	fs.IntVar(&o.Cases, "cases", 2000, "open dropout cases held (workload 6; the issue's size is 10000)")
	fs.BoolVar(&o.Consolid, "consolidate", true, "move each dropout case into consolidation (outcome returned) before measuring (workload 6)")
	fs.IntVar(&o.Pairings, "pairings", 10000, "open pairings held (workload 9; the issue's size)")
	fs.IntVar(&o.Plans, "plans", 500, "send-home plans held (workload 9; the issue's size)")
	fs.IntVar(&o.DutySchools, "duty-schools", 100, "schools the pairings are spread over (workload 9)")
	fs.DurationVar(&o.DutyMonth, "duty-month", 30*time.Minute, "pairing month (workload 9): longer than a month's check; the harness may wait two-thirds of one")
	fs.DurationVar(&o.PlanPeriod, "plan-period", 2*time.Minute, "send-home plans' period (workload 9)")
	fs.IntVar(&o.Probe, "probe", 1000, "workflows per probe phase against each server (workloads 7 and 8)")
	fs.DurationVar(&o.ProbeFor, "probe-for", 20*time.Second, "stop a probe phase after this long even if -probe workflows are not done")
	fs.DurationVar(&o.Period, "period", time.Second, "publicity period (workloads 1, 2, 8)")
	fs.DurationVar(&o.PollEvery, "poll", 25*time.Millisecond, "first pause of a client waiting for a task or a state (doubling up to -poll-max)")
	fs.DurationVar(&o.PollMax, "poll-max", 200*time.Millisecond, "longest pause between a waiting client's reads")
	fs.StringVar(&o.PG, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL for workloads 5 and 8 (own schemas and databases, dropped after)")
	fs.StringVar(&o.JSON, "json", "docs/bench-results.json", "where to write the results; empty: do not write")
	fs.StringVar(&o.Tools, "tools", filepath.Join(os.TempDir(), "jiaofu-bench-tools"), "cache for the binaries built for workloads 7 and 8 (outside the repository)")
	fs.IntVar(&o.Shards, "shards", 512, "history shards of the PostgreSQL-backed server (workload 8; docker-compose uses 512)")
	fs.StringVar(&o.ServerEnv, "server-env", "", "extra environment of the PostgreSQL-backed server (workload 8), comma-separated KEY=VALUE (e.g. GOGC=200)")
	fs.StringVar(&o.DynamicConfig, "dynamic-config", "", "dynamic config file of the PostgreSQL-backed server (workload 8); empty: the one docker-compose mounts, deploy/temporal/dynamicconfig.yaml")
	fs.StringVar(&o.Profile, "profile", "", "directory for CPU profiles (pprof) of this process during each measured phase, and workload 6's heap and goroutine profiles of the service it starts; empty: none")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (logs, SQLite files) and workload 5's PostgreSQL schema")
	fs.BoolVar(&o.Verbose, "v", false, "log progress and the service's warnings to stderr")
	fs.IntVar(&o.Rounds, "rounds", 1, "repeat the paired comparisons (1↔2, 3, 4, 7, 8) and the inbox reads (5) this many times, alternating the pairs' order, and report the medians")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	o.Servers = map[string]bool{}
	for _, s := range strings.Split(*servers, ",") {
		o.Servers[strings.TrimSpace(s)] = true
	}
	o.Only = map[int]bool{}
	for _, s := range strings.Split(*only, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 9 {
			return fmt.Errorf("-only: %q is not a workload number 1–9", s)
		}
		o.Only[n] = true
	}
	if o.Clients < 1 || o.Lifecycles < 1 || o.ProdLifecycles < 1 || o.Rounds < 1 {
		return fmt.Errorf("-clients, -lifecycles, -prod-lifecycles and -rounds must be positive")
	}
	if o.BulkSize < 1 || o.BulkSize > 1000 {
		return fmt.Errorf("-bulk-size must be 1–1000")
	}
	level := slog.LevelWarn
	if o.Verbose {
		level = slog.LevelInfo
	}
	o.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var err error
	if o.tmp, err = os.MkdirTemp("", "jiaofu-bench-"); err != nil {
		return err
	}
	if !o.Keep {
		defer os.RemoveAll(o.tmp)
	} else {
		fmt.Fprintf(o.out, "temporary files kept in %s\n", o.tmp)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer childproc.KillAll()

	rep := newReport(o)
	fmt.Fprintf(o.out, "jiaofu bench — %s — %s, %d CPU, %s RAM — load %s\n", rep.Date, rep.Machine.CPU, rep.Machine.NProc,
		humanBytes(rep.Machine.MemBytes), rep.Machine.LoadStart)

	type workload struct {
		n   int
		run func(context.Context, *Options, *Report) error
	}
	var embeddedEnv *Env
	closeEnv := func() {
		if embeddedEnv != nil {
			embeddedEnv.Close()
			embeddedEnv = nil
		}
	}
	defer closeEnv()
	env := func(ctx context.Context) (*Env, error) {
		if embeddedEnv == nil {
			var err error
			embeddedEnv, err = StartEnv(ctx, &o, EnvSpec{Name: "embedded"})
			if err != nil {
				return nil, err
			}
		}
		return embeddedEnv, nil
	}
	// Workload 5 runs first, before this process has hosted a service. A stopped in-process
	// service leaves things behind: the embedded server's never-stopped workers and some of its
	// objects, and until temporalserver.Server.Stop purged it, the SDK's sticky cache with the
	// cached workflows' coroutines — after workload 4 at -n 3000, 58 MiB live and 2,150
	// goroutines against 7 MiB and 5. Every GC cycle then marked them for 60 ms instead of 2 ms
	// while the inbox reads ran, which was the 8–12 ms p99 of runs 4–8 (gctrace; the slow reads
	// were not slow in PostgreSQL's log). No process serving inbox reads holds a stopped
	// server's leftovers; the other workloads compare two sides in the same process.
	all := []workload{
		{5, runInbox},
		{1, func(ctx context.Context, o *Options, r *Report) error { // 1 and 2 run interleaved
			e, err := env(ctx)
			if err != nil {
				return err
			}
			return runLifecycles(ctx, o, r, e, o.Only[2], "")
		}},
		{2, func(ctx context.Context, o *Options, r *Report) error {
			if o.Only[1] {
				return nil // ran with 1
			}
			e, err := env(ctx)
			if err != nil {
				return err
			}
			return runLifecycles(ctx, o, r, e, true, "")
		}},
		{3, func(ctx context.Context, o *Options, r *Report) error {
			e, err := env(ctx)
			if err != nil {
				return err
			}
			return runRoundTrip(ctx, o, r, e)
		}},
		{4, func(ctx context.Context, o *Options, r *Report) error {
			e, err := env(ctx)
			if err != nil {
				return err
			}
			err = runBurst(ctx, o, r, e)
			closeEnv() // the burst leaves thousands of open workflows behind
			return err
		}},
		{6, func(ctx context.Context, o *Options, r *Report) error { closeEnv(); return runMemory(ctx, o, r) }},
		{7, func(ctx context.Context, o *Options, r *Report) error { closeEnv(); return runDevServers(ctx, o, r) }},
		{8, func(ctx context.Context, o *Options, r *Report) error { closeEnv(); return runProduction(ctx, o, r) }},
		{9, func(ctx context.Context, o *Options, r *Report) error { closeEnv(); return runDuties(ctx, o, r) }},
	}
	failed := 0
	for _, w := range all {
		if !o.Only[w.n] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		load := loadAvg()
		err := w.run(ctx, &o, rep)
		rep.Workloads = append(rep.Workloads, WorkloadRun{N: w.n, Seconds: time.Since(start).Seconds(), LoadBefore: load, LoadAfter: loadAvg()})
		if err != nil {
			failed++
			rep.Errors = append(rep.Errors, fmt.Sprintf("workload %d: %v", w.n, err))
			fmt.Fprintf(o.out, "workload %d failed: %v\n", w.n, err)
		}
		o.logf("workload %d done in %s (load %s → %s)", w.n, time.Since(start).Round(time.Second), load, loadAvg())
	}
	sort.SliceStable(rep.Results, func(i, j int) bool { return rep.Results[i].Workload < rep.Results[j].Workload })
	rep.Machine.LoadEnd = loadAvg()
	rep.Seconds = time.Since(rep.started).Seconds()
	rep.print(o.out)
	if o.JSON != "" {
		if err := rep.write(o.JSON); err != nil {
			return err
		}
		fmt.Fprintf(o.out, "results written to %s\n", o.JSON)
	}
	if failed > 0 {
		return fmt.Errorf("%d workload(s) failed", failed)
	}
	return nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Verbose {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
}

// progress always prints: a long phase should show it is alive.
func (o *Options) progress(format string, args ...any) {
	fmt.Fprintf(o.out, "  "+format+"\n", args...)
}

// Result is one measured figure beside its baseline.
type Result struct {
	Workload      int            `json:"workload"`
	Name          string         `json:"name"`
	Unit          string         `json:"unit"`
	Value         float64        `json:"value"`
	Baseline      string         `json:"baseline,omitempty"`
	BaselineValue float64        `json:"baseline_value,omitempty"`
	Ratio         float64        `json:"ratio,omitempty"`
	Target        string         `json:"target,omitempty"`
	Pass          *bool          `json:"pass,omitempty"`
	Note          string         `json:"note,omitempty"`
	Extra         map[string]any `json:"extra,omitempty"`
}

// WorkloadRun records how long a workload took and the machine's load around it.
type WorkloadRun struct {
	N          int     `json:"workload"`
	Seconds    float64 `json:"seconds"`
	LoadBefore string  `json:"load_before"`
	LoadAfter  string  `json:"load_after"`
}

// Machine describes where the run happened.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPU       string `json:"cpu"`
	MemBytes  int64  `json:"mem_bytes"`
	Go        string `json:"go"`
	OS        string `json:"os"`
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
}

// Report is what the run prints and writes.
type Report struct {
	Date      string         `json:"date"`
	Command   string         `json:"command"`
	Machine   Machine        `json:"machine"`
	Settings  map[string]any `json:"settings"`
	Results   []Result       `json:"results"`
	Workloads []WorkloadRun  `json:"workloads"`
	Errors    []string       `json:"errors,omitempty"`
	Seconds   float64        `json:"seconds"`

	started time.Time
}

func newReport(o Options) *Report {
	r := &Report{started: time.Now(), Date: time.Now().Format(time.RFC3339),
		Command: strings.TrimSpace("jiaofu bench " + strings.Join(o.args, " ")),
		Machine: Machine{NProc: runtime.NumCPU(), CPU: cpuModel(), MemBytes: memTotal(), Go: runtime.Version(),
			OS: runtime.GOOS + "/" + runtime.GOARCH, LoadStart: loadAvg()}}
	var only []int
	for n := range o.Only {
		only = append(only, n)
	}
	sort.Ints(only)
	r.Settings = map[string]any{"only": only, "clients": o.Clients, "lifecycles": o.Lifecycles, "prod_lifecycles": o.ProdLifecycles, "warmup": o.Warmup,
		"roundtrips": o.Roundtrips, "burst": o.Burst, "bulk_size": o.BulkSize, "bulk_clients": o.BulkConc,
		"tasks": o.InboxTasks, "reads": o.InboxReads, "cases": o.Cases, "consolidate": o.Consolid, "probe": o.Probe, "probe_for": o.ProbeFor.String(),
		"period": o.Period.String(), "poll": o.PollEvery.String(), "poll_max": o.PollMax.String(), "shards": o.Shards, "rounds": o.Rounds,
		"pairings": o.Pairings, "plans": o.Plans, "duty_schools": o.DutySchools, "duty_month": o.DutyMonth.String(), "plan_period": o.PlanPeriod.String()}
	return r
}

func (r *Report) add(res Result) {
	if res.BaselineValue != 0 && res.Ratio == 0 {
		res.Ratio = res.Value / res.BaselineValue
	}
	r.Results = append(r.Results, res)
}

func pass(ok bool) *bool { return &ok }

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%-3s %-52s %14s %-40s %8s %-22s %s\n", "#", "measurement", "value", "baseline (same run)", "ratio", "target", "")
	fmt.Fprintln(w, strings.Repeat("─", 150))
	for _, x := range r.Results {
		ok := ""
		if x.Pass != nil {
			ok = map[bool]string{true: "met", false: "MISSED"}[*x.Pass]
		}
		base := ""
		if x.Baseline != "" {
			base = fmt.Sprintf("%s %s", fmtNum(x.BaselineValue), x.Baseline)
		}
		ratio := ""
		if x.Ratio != 0 {
			ratio = fmt.Sprintf("%.2f×", x.Ratio)
		}
		fmt.Fprintf(w, "%-3d %-52s %14s %-40s %8s %-22s %s\n", x.Workload, trunc(x.Name, 52), fmtNum(x.Value)+" "+x.Unit,
			trunc(base, 40), ratio, x.Target, ok)
	}
	fmt.Fprintln(w, strings.Repeat("─", 150))
	// Engine work per lifecycle (issue 20, target 2): what one application's and one batch's
	// histories cost, for the HTTP lifecycles that measured it.
	for _, x := range r.Results {
		shape, ok := x.Extra["history_events"].(map[string]engineWork)
		if !ok {
			continue
		}
		for _, k := range []string{"real_application", "real_batch", "bare_application", "bare_batch"} {
			if ew, ok := shape[k]; ok {
				fmt.Fprintf(w, "workload %d %-17s %4d events, %3d workflow tasks, %3d activity tasks, %3d markers\n", x.Workload, k+":",
					ew.Events, ew.WorkflowTasks, ew.ActivityTasks, ew.Markers)
			}
		}
	}
	// CPU per lifecycle by program (issue 20, target 2 asks for the server's).
	for _, x := range r.Results {
		if cpu, ok := x.Extra["cpu_ms_per_lifecycle"].(map[string]float64); ok {
			keys := make([]string, 0, len(cpu))
			for k := range cpu {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s %.0f", k, cpu[k])
			}
			fmt.Fprintf(w, "workload %d CPU ms per lifecycle, %s: %s\n", x.Workload, trunc(x.Name, 40), strings.Join(parts, ", "))
		}
	}
	for _, wr := range r.Workloads {
		fmt.Fprintf(w, "workload %d: %.0fs, load average %s → %s\n", wr.N, wr.Seconds, wr.LoadBefore, wr.LoadAfter)
	}
	for _, e := range r.Errors {
		fmt.Fprintln(w, "error:", e)
	}
	fmt.Fprintf(w, "total %.0fs; load average at start %s, at end %s\n", r.Seconds, r.Machine.LoadStart, r.Machine.LoadEnd)
}

func (r *Report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
