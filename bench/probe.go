package bench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"jiaofu/childproc"
	"jiaofu/temporalserver"
)

// Workload 7: the project's embedded persistent server against the official CLI dev server
// (`temporal server start-dev`, v1.5.1), file-backed and in memory. Each server runs as a child
// process of its own; this process runs the probe's worker and its -clients clients. The probe
// (issue 6): a workflow that runs an activity, waits for a signal and runs a second activity.
//
//	starts/s      -probe workflows started by -clients goroutines (the worker runs them up to
//	              their signal meanwhile)
//	lifecycles/s  -probe workflows each started, signalled and awaited to completion by one of
//	              -clients goroutines
//
// Each phase stops taking new work after -probe-for (a slow server measures a rate over that
// time instead of running all -probe workflows); the machine settles between phases.

const (
	serveEmbeddedArg = "-serve-embedded"
	probeQueue       = "bench-probe"
	cliVersion       = "v1.5.1"
)

// serveEmbedded is the child process of workload 7's case (c): the embedded server alone.
func serveEmbedded(args []string) error {
	fs := flag.NewFlagSet("serve-embedded", flag.ContinueOnError)
	dir := fs.String("dir", "", "data directory")
	port := fs.Int("port", 0, "frontend port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := temporalserver.Start(sctx, temporalserver.Options{DataDir: *dir, FrontendAddr: fmt.Sprintf("127.0.0.1:%d", *port),
		Namespace: "default", Retention: 24 * time.Hour, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	fmt.Println("embedded server ready on", s.FrontendAddr())
	<-ctx.Done()
	s.Stop()
	return nil
}

// ProbeResult is one server's probe figures.
type ProbeResult struct {
	Starts, Lifecycles float64
	ServerCPUPerLife   float64 // ms of the server process's CPU per lifecycle (0 when in-process)
	StartLat, LifeLat  *Latencies
}

// dialReady connects to a frontend, runs prepare once (e.g. registering the namespace on a fresh
// cluster) and waits until the namespace answers.
func dialReady(ctx context.Context, addr string, within time.Duration, prepare func(context.Context, client.Client) error) (client.Client, error) {
	var c client.Client
	err := waitFor(ctx, within, 250*time.Millisecond, func() (bool, error) {
		if c == nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			cc, err := client.DialContext(cctx, client.Options{HostPort: addr, Namespace: "default",
				Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
			if err != nil {
				return false, nil
			}
			c = cc
			if prepare != nil {
				if err := prepare(ctx, c); err != nil {
					return false, err
				}
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := c.WorkflowService().DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		return err == nil, nil
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("frontend %s not ready: %w", addr, err)
	}
	return c, nil
}

// runProbe measures starts/s and lifecycles/s on the server at c; serverPID (when not 0) is the
// server's process, whose CPU time is counted.
func runProbe(ctx context.Context, o *Options, c client.Client, label string, serverPID int) (ProbeResult, error) {
	w := sdkworker.New(c, probeQueue, sdkworker.Options{})
	w.RegisterWorkflow(ProbeWorkflow)
	w.RegisterActivity(ProbeActivity)
	if err := w.Start(); err != nil {
		return ProbeResult{}, err
	}
	defer w.Stop()
	n := o.Probe
	run := time.Now().UnixNano()
	opts := func(id string) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: id, TaskQueue: probeQueue, WorkflowExecutionTimeout: time.Hour}
	}
	// lifecycle starts a probe workflow, signals it and waits for its end.
	lifecycle := func(prefix string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			id := fmt.Sprintf("%s-%d-%d", prefix, run, i)
			r, err := c.ExecuteWorkflow(ctx, opts(id), ProbeWorkflow)
			if err != nil {
				return err
			}
			if err := c.SignalWorkflow(ctx, id, "", "go", nil); err != nil {
				return err
			}
			return r.Get(ctx, nil)
		}
	}
	// Warm-up: a few lifecycles, not counted.
	if res := runConcurrent(ctx, min(n, 2*o.Clients), o.Clients, 5*time.Minute, lifecycle("probe-warm")); res.FirstErr != nil {
		return ProbeResult{}, fmt.Errorf("%s warm-up: %w", label, res.FirstErr)
	}
	settle(ctx, time.Minute, serverPID)

	stop := o.startProfile("w7-" + label + "-starts")
	starts := runFor(ctx, n, o.Clients, o.ProbeFor, 10*time.Minute, func(ctx context.Context, i int) error {
		_, err := c.ExecuteWorkflow(ctx, opts(fmt.Sprintf("probe-s-%d-%d", run, i)), ProbeWorkflow)
		return err
	})
	stop()
	if starts.FirstErr != nil {
		return ProbeResult{}, fmt.Errorf("%s starts: %w", label, starts.FirstErr)
	}
	// The started workflows wait for their signal; waiting costs nothing, the server goes away after.
	settled := settle(ctx, 2*time.Minute, serverPID)

	cpu0 := cpuTicks(serverPID)
	stop = o.startProfile("w7-" + label + "-lifecycles")
	lives := runFor(ctx, n, o.Clients, o.ProbeFor, 10*time.Minute, lifecycle("probe-l"))
	stop()
	if lives.FirstErr != nil {
		return ProbeResult{}, fmt.Errorf("%s lifecycles: %w", label, lives.FirstErr)
	}
	res := ProbeResult{Starts: starts.Rate(), Lifecycles: lives.Rate(), StartLat: starts.Lat, LifeLat: lives.Lat}
	if serverPID != 0 && lives.Done > 0 {
		res.ServerCPUPerLife = float64(cpuTicks(serverPID)-cpu0) * 10 / float64(lives.Done)
	}
	o.progress("[%s] probe: %.1f starts/s, %.2f lifecycles/s (lifecycle p50 %.0f ms, p99 %.0f ms; settled in %s; load %s)", label,
		res.Starts, res.Lifecycles, lives.Lat.Pct(50), lives.Lat.Pct(99), settled.Round(time.Second), loadAvg())
	return res, nil
}

// cliBinary returns the official CLI, building it with `go install` into -tools when missing.
func cliBinary(ctx context.Context, o *Options) (string, error) {
	bin := filepath.Join(o.Tools, "temporal-cli-"+cliVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	gobin := filepath.Join(o.Tools, "gobin-cli")
	if err := os.MkdirAll(gobin, 0o755); err != nil {
		return "", err
	}
	o.progress("building the official CLI: go install github.com/temporalio/cli/cmd/temporal@%s (first run only; several minutes)", cliVersion)
	if err := goTool(ctx, o.Tools, []string{"GOBIN=" + gobin, "GOFLAGS=-mod=mod", "GOWORK=off"}, "install", "github.com/temporalio/cli/cmd/temporal@"+cliVersion); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(gobin, "temporal"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// server is a Temporal server child process.
type server struct {
	label string
	cmd   *exec.Cmd
	addr  string
	log   string
}

func (s *server) stop() {
	if s != nil && s.cmd != nil {
		childproc.Stop(s.cmd, 15*time.Second)
	}
}

func startServer(ctx context.Context, o *Options, label string, cmd *exec.Cmd, port int, prepare func(context.Context, client.Client) error) (*server, client.Client, error) {
	s := &server{label: label, cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), log: filepath.Join(o.tmp, label+".log")}
	lf, err := childproc.Start(cmd, s.log)
	if err != nil {
		return nil, nil, err
	}
	defer lf.Close()
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // a server that exits (a bad configuration) ends the wait at once
		for dctx.Err() == nil && !childproc.Exited(cmd) {
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
	}()
	c, err := dialReady(dctx, s.addr, 3*time.Minute, prepare)
	if err != nil {
		s.stop()
		return nil, nil, fmt.Errorf("%s: %w\n%s", label, err, childproc.Tail(s.log, 2000))
	}
	return s, c, nil
}

func runDevServers(ctx context.Context, o *Options, r *Report) error {
	cli, err := cliBinary(ctx, o)
	if err != nil {
		return fmt.Errorf("official CLI: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type side struct {
		label string
		cmd   func(port int) (*exec.Cmd, error)
	}
	devArgs := func(port int) ([]string, error) {
		hp, err := freePort()
		if err != nil {
			return nil, err
		}
		mp, err := freePort()
		if err != nil {
			return nil, err
		}
		return []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--http-port", strconv.Itoa(hp),
			"--metrics-port", strconv.Itoa(mp), "--headless", "--log-level", "error"}, nil
	}
	sides := []side{
		{"official-file", func(port int) (*exec.Cmd, error) {
			a, err := devArgs(port)
			if err != nil {
				return nil, err
			}
			dir, err := os.MkdirTemp(o.tmp, "devfile-")
			if err != nil {
				return nil, err
			}
			return exec.Command(cli, append(a, "--db-filename", filepath.Join(dir, "dev.db"))...), nil
		}},
		{"official-memory", func(port int) (*exec.Cmd, error) {
			a, err := devArgs(port)
			if err != nil {
				return nil, err
			}
			return exec.Command(cli, a...), nil
		}},
		{"embedded", func(port int) (*exec.Cmd, error) {
			dir, err := os.MkdirTemp(o.tmp, "embedded-")
			if err != nil {
				return nil, err
			}
			return exec.Command(self, "bench", serveEmbeddedArg, "-dir", dir, "-port", strconv.Itoa(port)), nil
		}},
	}
	results := map[string][]ProbeResult{}
	if o.Servers["embedded-inprocess"] {
		// For analysis only (-servers embedded-inprocess -profile DIR): the embedded server in
		// this process, so that the CPU profile shows the server's work beside the probe's.
		port, err := freePort()
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp(o.tmp, "inprocess-")
		if err != nil {
			return err
		}
		s, err := temporalserver.Start(ctx, temporalserver.Options{DataDir: dir, FrontendAddr: fmt.Sprintf("127.0.0.1:%d", port),
			Namespace: "default", Retention: 24 * time.Hour})
		if err != nil {
			return err
		}
		c, err := dialReady(ctx, s.FrontendAddr(), time.Minute, nil)
		if err != nil {
			s.Stop()
			return err
		}
		res, err := runProbe(ctx, o, c, "embedded-inprocess", 0)
		c.Close()
		s.Stop()
		if err != nil {
			return err
		}
		results["embedded-inprocess"] = append(results["embedded-inprocess"], res)
	}
	for round := 0; round < o.Rounds; round++ {
		order := sides
		if round%2 == 1 { // reverse, so that drift over the run hits every side alike
			order = []side{sides[2], sides[1], sides[0]}
		}
		for _, sd := range order {
			if !o.Servers[sd.label] {
				continue
			}
			port, err := freePort()
			if err != nil {
				return err
			}
			cmd, err := sd.cmd(port)
			if err != nil {
				return err
			}
			srv, c, err := startServer(ctx, o, fmt.Sprintf("%s-%d", sd.label, round+1), cmd, port, nil)
			if err != nil {
				return err
			}
			res, err := runProbe(ctx, o, c, sd.label, cmd.Process.Pid)
			c.Close()
			srv.stop()
			if err != nil {
				return fmt.Errorf("%w\n%s", err, childproc.Tail(srv.log, 2000))
			}
			results[sd.label] = append(results[sd.label], res)
		}
	}
	med := func(label string, f func(ProbeResult) float64) (float64, []float64) {
		var xs []float64
		for _, p := range results[label] {
			xs = append(xs, f(p))
		}
		return median(xs), xs
	}
	starts := func(p ProbeResult) float64 { return p.Starts }
	lives := func(p ProbeResult) float64 { return p.Lifecycles }
	cpu := func(p ProbeResult) float64 { return p.ServerCPUPerLife }
	fs, fss := med("official-file", starts)
	fl, fls := med("official-file", lives)
	ms, mss := med("official-memory", starts)
	ml, mls := med("official-memory", lives)
	es, ess := med("embedded", starts)
	el, els := med("embedded", lives)
	fc, _ := med("official-file", cpu)
	mc, _ := med("official-memory", cpu)
	ec, _ := med("embedded", cpu)
	r.add(Result{Workload: 7, Name: "(a) official dev server, SQLite file", Unit: "starts/s", Value: fs,
		Extra: map[string]any{"rounds_starts": fss, "rounds_lifecycles": fls, "lifecycles_per_s": fl, "server_cpu_ms_per_lifecycle": fc}})
	r.add(Result{Workload: 7, Name: "(b) official dev server, in memory", Unit: "starts/s", Value: ms,
		Extra: map[string]any{"rounds_starts": mss, "rounds_lifecycles": mls, "lifecycles_per_s": ml, "server_cpu_ms_per_lifecycle": mc}})
	r.add(Result{Workload: 7, Name: "(c) embedded persistent server: starts vs (a)", Unit: "starts/s", Value: es, Baseline: "(a) file",
		BaselineValue: fs, Target: "≥ 3× (a)", Pass: pass(es >= 3*fs), Extra: map[string]any{"rounds_starts": ess, "server_cpu_ms_per_lifecycle": ec}})
	r.add(Result{Workload: 7, Name: "(c) embedded: starts vs (b)", Unit: "starts/s", Value: es, Baseline: "(b) memory",
		BaselineValue: ms, Target: "≥ 0.7× (b)", Pass: pass(es >= 0.7*ms)})
	r.add(Result{Workload: 7, Name: "(a) official dev server, SQLite file", Unit: "lifecycles/s", Value: fl})
	r.add(Result{Workload: 7, Name: "(b) official dev server, in memory", Unit: "lifecycles/s", Value: ml})
	r.add(Result{Workload: 7, Name: "(c) embedded: lifecycles vs (a)", Unit: "lifecycles/s", Value: el, Baseline: "(a) file",
		BaselineValue: fl, Target: "≥ 3× (a)", Pass: pass(el >= 3*fl), Extra: map[string]any{"rounds_lifecycles": els}})
	r.add(Result{Workload: 7, Name: "(c) embedded: lifecycles vs (b)", Unit: "lifecycles/s", Value: el, Baseline: "(b) memory",
		BaselineValue: ml, Target: "≥ 0.7× (b)", Pass: pass(el >= 0.7*ml)})
	return nil
}
