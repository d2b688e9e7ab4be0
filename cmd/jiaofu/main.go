// Command jiaofu runs the service. With no argument (or "all") it runs everything in one process:
// the embedded Temporal server, the worker and the HTTP API. "api" and "worker" run one part each
// against TEMPORAL_ADDRESS, for production; "migrate" applies the store's migrations and exits.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"jiaofu/bench"
	"jiaofu/config"
	"jiaofu/service"
	"jiaofu/sim"
	"jiaofu/store"
)

const usage = `usage: jiaofu [all|api|worker|migrate|healthcheck|bench|simulate]
  all      embedded Temporal (unless TEMPORAL_ADDRESS is set), worker and HTTP API (default)
  api      HTTP API only (needs TEMPORAL_ADDRESS)
  worker   Temporal worker only (needs TEMPORAL_ADDRESS)
  migrate  apply the store's schema migrations and exit
  healthcheck  exit 0 when the API on JIAOFU_HTTP_ADDR answers /readyz (for container probes)
  bench    performance benchmarks (docs/benchmarks.md; jiaofu bench -h lists its flags)
  simulate a simulated term checked by an oracle (docs/simulation.md; jiaofu simulate -h)
Configuration is read from environment variables; see README.md.`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("jiaofu stopped", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	cmd := "all"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "bench" { // its own flags and temporary services; no configuration from the environment
		return bench.Run(args[1:])
	}
	if cmd == "simulate" { // likewise: its own flags and a temporary service
		return sim.Run(args[1:])
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var parts service.Parts
	switch cmd {
	case "all":
		parts = service.All
	case "api":
		parts = service.Parts{API: true}
	case "worker":
		parts = service.Parts{Worker: true}
	case "migrate":
		st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, true)
		if err != nil {
			return err
		}
		log.Info("schema up to date")
		return st.Close()
	case "healthcheck":
		return healthcheck(cfg.HTTPAddr)
	case "-h", "--help", "help":
		fmt.Println(usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if cmd != "all" && cfg.TemporalAddress == "" {
		return fmt.Errorf("TEMPORAL_ADDRESS: required for %q (only \"all\" embeds a Temporal server)", cmd)
	}
	if cmd == "all" && cfg.TemporalAddress == "" {
		limitMemory(log)
	}
	svc, err := service.Start(ctx, cfg, parts, log)
	if err != nil {
		return err
	}
	log.Info("jiaofu running", "mode", cfg.Mode, "http", svc.HTTPAddr(), "temporal", svc.TemporalAddr())
	<-ctx.Done()
	log.Info("stopping")
	svc.Stop()
	return nil
}

// allInOneMemoryLimit is the all-in-one process's soft memory limit (Go heap, stacks and runtime)
// unless GOMEMLIMIT sets another: the embedded Temporal server, the worker and the API share one
// heap, and with the default GC pacing (GOGC=100) the heap grows to twice what is live before a
// collection — with 10,000 open cases that was 1.1 GiB of RSS for about 0.4 GiB live. Under the
// limit the GC collects earlier instead, so the process stays under 1 GiB (docs/benchmarks.md,
// workload 6); the binary's mapped code adds about 120 MiB to RSS on top.
const allInOneMemoryLimit = 768 << 20

func limitMemory(log *slog.Logger) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	debug.SetMemoryLimit(allInOneMemoryLimit)
	log.Info("soft memory limit set (GOMEMLIMIT overrides it)", "limit_mib", allInOneMemoryLimit>>20)
}

// healthcheck asks the local API whether it is ready; distroless images have no curl.
func healthcheck(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("JIAOFU_HTTP_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s", resp.Status)
	}
	return nil
}
