// Command jiaofu runs the service. With no argument (or "all") it runs everything in one process:
// the embedded Temporal server, the worker and the HTTP API. "api" and "worker" run one part each
// against TEMPORAL_ADDRESS, for production; "migrate" applies the store's migrations and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"jiaofu/api"
	"jiaofu/bench"
	"jiaofu/config"
	"jiaofu/crash"
	"jiaofu/demo"
	"jiaofu/service"
	"jiaofu/sim"
	"jiaofu/store"
	"jiaofu/telemetry"
)

const usage = `usage: jiaofu [all|api|worker|migrate|healthcheck|reset-admin-password|backup|restore|bench|simulate|crash]
  all      embedded Temporal (unless TEMPORAL_ADDRESS is set), worker and HTTP API (default)
  api      HTTP API only (needs TEMPORAL_ADDRESS)
  worker   Temporal worker only (needs TEMPORAL_ADDRESS)
  migrate  apply the store's schema migrations and exit
  healthcheck  exit 0 when the API on JIAOFU_HTTP_ADDR answers /readyz (for container probes)
  reset-admin-password  give user admin JIAOFU_ADMIN_PASSWORD, or a new generated password it
           prints, and end its sessions (when the admin's password is lost); then restart jiaofu
  backup DIR  copy the embedded deployment's data dir (JIAOFU_DATA_DIR) into the new directory
           DIR while jiaofu runs: the store, Temporal's files, the audit key and a manifest
  restore [-force] BACKUP  check BACKUP against its manifest and put it into JIAOFU_DATA_DIR,
           which must be empty (or -force) and not in use by a running jiaofu
  bench    performance benchmarks (docs/benchmarks.md; jiaofu bench -h lists its flags)
  simulate a simulated term checked by an oracle (docs/simulation.md; jiaofu simulate -h)
  crash    a mixed load while the all-in-one process is killed (SIGKILL) and restarted, then the
           store checked for lost and doubled work (docs/reliability.md; jiaofu crash -h)
Configuration is read from environment variables; see README.md.`

func main() {
	// The format is read ahead of the configuration, so that even its refusal is logged in it.
	log := telemetry.NewLogger(os.Stderr, config.LogFormatOf(os.LookupEnv))
	err := run(log, os.Stdout, os.Args[1:])
	var ce configError
	var inUse *service.DataDirInUseError
	var failed commandError
	switch {
	case errors.Is(err, flag.ErrHelp):
		// A subcommand's -h: its flags are printed; asking for help is not a failure.
	case errors.As(err, &ce):
		// Plain lines, not a log record: a record quotes the message and shows its line breaks
		// as \n, and whoever starts jiaofu has to read and fix each variable.
		fmt.Fprintln(os.Stderr, "jiaofu cannot start: the configuration has mistakes (see README.md, Configuration):")
		for _, l := range strings.Split(ce.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		os.Exit(2)
	case errors.As(err, &failed):
		// What an operator running backup or restore reads and acts on, in plain lines.
		fmt.Fprintf(os.Stderr, "jiaofu %s failed: %s\n", failed.cmd, failed.Error())
		os.Exit(1)
	case errors.As(err, &inUse):
		// A plain line too: whoever started the second one has to read it, not a log parser.
		fmt.Fprintln(os.Stderr, "jiaofu cannot start: "+inUse.Error())
		os.Exit(1)
	case err != nil:
		log.Error("jiaofu stopped", "error", err)
		os.Exit(1)
	}
}

// configError is a configuration the service refused before it started anything.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// commandError is the failure of a command that is not the service (backup, restore).
type commandError struct {
	cmd string
	error
}

func (e commandError) Unwrap() error { return e.error }

// run runs the command of args; out is where it writes what a person starting it must read (the
// console's address, a generated password).
func run(log *slog.Logger, out io.Writer, args []string) error {
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
	if cmd == "crash" { // likewise: its own flags, and the service as a child process it kills
		return crash.Run(args[1:])
	}
	// The configuration is checked before anything is created: store.Open makes the data dir.
	cfg, err := config.FromEnv()
	if err != nil {
		return configError{err}
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
	case "reset-admin-password":
		return resetAdminPassword(ctx, out, cfg)
	case "backup":
		if err := runBackup(ctx, out, cfg, args[1:]); err != nil {
			return commandError{cmd, err}
		}
		return nil
	case "restore":
		if err := runRestore(ctx, out, cfg, args[1:]); err != nil {
			return commandError{cmd, err}
		}
		return nil
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
	log.Info("jiaofu running", "mode", cfg.Mode, "http", svc.HTTPAddr(), "metrics", svc.MetricsAddr(), "temporal", svc.TemporalAddr())
	announce(out, svc.HTTPAddr(), svc.GeneratedAdminPassword)
	<-ctx.Done()
	log.Info("stopping")
	svc.Stop()
	return nil
}

// announce prints, on plain lines of their own, what the person who started jiaofu needs: where
// the console is and, when this start created user admin with a generated password, that
// password — once: it is in no log.
func announce(out io.Writer, httpAddr, generatedPassword string) {
	if httpAddr != "" {
		fmt.Fprintf(out, "console:  %s\n", consoleURL(httpAddr))
	}
	if generatedPassword != "" {
		fmt.Fprintf(out, "admin password (generated, shown once): %s\n", generatedPassword)
		fmt.Fprintln(out, "  user admin; set JIAOFU_ADMIN_PASSWORD to choose it, or run `jiaofu reset-admin-password` if it is lost")
	}
}

// consoleURL is the console's address as a browser on this machine reaches it: a listener on
// every interface (":8080", "0.0.0.0:8080") is reached at localhost.
func consoleURL(httpAddr string) string {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return "http://" + httpAddr + "/console/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/console/"
}

// resetAdminPassword is the way back in when the admin's password is lost: user admin gets
// JIAOFU_ADMIN_PASSWORD, or a generated password printed here, and its sessions end. Another
// running jiaofu keeps its count of wrong passwords (per process) until it restarts.
func resetAdminPassword(ctx context.Context, out io.Writer, cfg config.Config) error {
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, true)
	if err != nil {
		return err
	}
	defer st.Close()
	generated, err := demo.ResetAdminPassword(ctx, st, cfg.AdminPassword, api.HashPassword)
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(out, "admin password (generated, shown once): %s\n", generated)
	} else {
		fmt.Fprintln(out, "admin password: set to JIAOFU_ADMIN_PASSWORD")
	}
	fmt.Fprintln(out, "  the admin's sessions have ended; restart a running jiaofu to clear its count of wrong passwords")
	return nil
}

// allInOneMemoryLimit is the all-in-one process's soft memory limit (Go heap, stacks and runtime)
// unless GOMEMLIMIT sets another: the embedded Temporal server, the worker and the API share one
// heap, and with the default GC pacing (GOGC=100) the heap grows to twice what is live before a
// collection — with 10,000 open cases that was 1.1 GiB of RSS for about 0.4 GiB live. Under the
// limit the GC collects earlier instead, so the process stays under 1 GiB (docs/benchmarks.md,
// workload 6); the binary's mapped code adds about 120 MiB to RSS on top.
const allInOneMemoryLimit = 768 << 20

// allInOneGCPercent is the all-in-one process's GC pacing unless GOGC sets another: the heap may
// grow by half the live set before a collection instead of by all of it. With GOGC=100 the heap
// in use was twice the live set (307 MiB for 122–140 MB live with 1,488 open cases) while the
// 768 MiB limit above never bound, so the garbage between collections was RSS that grew with
// the cases. With the smaller caches (worker.StickyCacheSize and the embedded server's), 10,000
// open cases took 19.7 KiB each at 100 and 12.9–14.3 KiB at 50 (two runs), 34.4 before any of
// the three (docs/benchmarks.md, workload 6). The price is collections twice as often, over a
// small live set.
const allInOneGCPercent = 50

func limitMemory(log *slog.Logger) {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(allInOneGCPercent)
		log.Info("GC pacing set (GOGC overrides it)", "gc_percent", allInOneGCPercent)
	}
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
