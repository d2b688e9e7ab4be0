// Package service assembles jiaofu: the embedded Temporal server (unless TEMPORAL_ADDRESS points
// elsewhere), the store, the worker and the HTTP API, in one process or as separate parts.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/api"
	"jiaofu/auditkey"
	"jiaofu/calendar"
	"jiaofu/config"
	"jiaofu/console"
	"jiaofu/demo"
	"jiaofu/store"
	"jiaofu/telemetry"
	"jiaofu/temporalserver"
	"jiaofu/worker"
	"jiaofu/workflows"
)

// Parts says which parts this process runs.
type Parts struct {
	API    bool
	Worker bool
}

// All is the all-in-one process.
var All = Parts{API: true, Worker: true}

// Service is a running jiaofu.
type Service struct {
	Config   config.Config
	Store    *store.Store
	Temporal client.Client
	API      *api.Server
	App      *fiber.App
	// GeneratedAdminPassword is the password of user admin when this start created the user
	// with a generated one (development without JIAOFU_ADMIN_PASSWORD); the caller shows it once.
	GeneratedAdminPassword string
	// Metrics is the registry /metrics serves: the HTTP requests, the store's counts, the
	// Temporal SDK's series, and the Go runtime's and the process's.
	Metrics *prometheus.Registry

	embedded *temporalserver.Server
	worker   sdkworker.Worker
	listener net.Listener
	// metricsListener is a worker-only process's /metrics listener (JIAOFU_METRICS_ADDR).
	metricsListener net.Listener
	// pprof serves the runtime's profiles when JIAOFU_PPROF_ADDR is set (loopback only).
	pprof         *http.Server
	pprofListener net.Listener
	log           *slog.Logger
	// dataDirLock is held while this process runs on the data dir (one process per data dir).
	dataDirLock *os.File
}

// Start brings the parts up in dependency order; on any failure it stops what it started.
func Start(ctx context.Context, cfg config.Config, parts Parts, log *slog.Logger) (_ *Service, err error) {
	s := &Service{Config: cfg, log: log, Metrics: telemetry.NewRegistry()}
	sdkMetrics := telemetry.NewSDKMetrics()
	s.Metrics.MustRegister(sdkMetrics)
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	// Before anything in the data dir is opened: a second process on it stops here.
	if ownsDataDir(cfg.TemporalAddress) {
		if s.dataDirLock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	// The audit trail's signing key, from outside the database; in development generated into
	// the data dir on the first start (production refuses to start without JIAOFU_AUDIT_KEY_FILE).
	auditKey, err := auditkey.Open(cfg.AuditKeyFile, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if s.Store, err = store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, true); err != nil {
		return nil, err
	}
	// The password is not logged: logs are kept and shipped, and it is shown once by the caller.
	if s.GeneratedAdminPassword, err = demo.Bootstrap(ctx, s.Store, cfg.AdminPassword, api.HashPassword); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if cfg.SeedDemo {
		if err := demo.Seed(ctx, s.Store, api.HashPassword); err != nil {
			return nil, fmt.Errorf("demo data: %w", err)
		}
		if err := demo.SeedPlanUnits(ctx, s.Store, api.HashPassword); err != nil {
			return nil, fmt.Errorf("demo data: the plan's sections: %w", err)
		}
	}

	if cfg.PprofAddr != "" {
		if s.pprof, s.pprofListener, err = servePprof(cfg.PprofAddr, log); err != nil {
			return nil, err
		}
		log.Info("runtime profiles listening (loopback only)", "addr", s.pprofListener.Addr().String())
	}

	addr := cfg.TemporalAddress
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if addr == "" {
		s.embedded, err = temporalserver.Start(ctx, temporalserver.Options{DataDir: filepath.Join(cfg.DataDir, "temporal"),
			FrontendAddr: cfg.EmbeddedFrontend, UIAddr: cfg.EmbeddedUI, Namespace: cfg.TemporalNamespace,
			Retention: cfg.TemporalRetention, SearchAttributes: attrs, Logger: log.With("component", "temporal")})
		if err != nil {
			return nil, fmt.Errorf("embedded temporal: %w", err)
		}
		addr = s.embedded.FrontendAddr()
		log.Info("embedded temporal server started", "frontend", addr, "ui", s.embedded.UIAddr())
	}
	// The propagator carries an HTTP request's id into the workflows and activities it starts,
	// signals or updates; the worker, made from this client, takes it from the client.
	s.Temporal, err = client.DialContext(ctx, temporalClientOptions(cfg, addr, log, sdkMetrics.Handler()))
	if err != nil {
		return nil, fmt.Errorf("temporal at %s: %w", addr, err)
	}
	if cfg.TemporalAddress != "" {
		s.registerSearchAttributes(ctx, attrs)
	}

	if parts.Worker {
		s.worker = worker.New(s.Temporal, cfg.TemporalTaskQueue, &activities.Activities{Store: s.Store, AuditKey: auditKey}, cfg.ShutdownTimeout)
		if err := s.worker.Start(); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		// The process that runs the workflows keeps their schedules (routine inspection rounds, the
		// pairing duties' period checks).
		if err := s.EnsureSchedules(ctx); err != nil {
			return nil, err
		}
	}
	// A worker on its own has no API; its SDK series (workflow and activity task latencies) are
	// served on a listener of their own when asked for, with the route table's rules.
	if parts.Worker && !parts.API && cfg.MetricsAddr != "" {
		ops := api.New(cfg, s.Store, s.Temporal, log, auditKey)
		ops.ServeMetrics(s.Metrics)
		s.App = api.NewApp(log, cfg.TrustedProxies, api.NewHTTPMetrics(s.Metrics))
		ops.MountOnly(s.App, "/healthz", "/metrics")
		if s.metricsListener, err = s.listen(cfg.MetricsAddr, "JIAOFU_METRICS_ADDR"); err != nil {
			return nil, err
		}
		log.Info("worker metrics listening", "addr", s.metricsListener.Addr().String())
	}
	if parts.API {
		s.API = api.New(cfg, s.Store, s.Temporal, log, auditKey)
		if err := s.seedPlan(ctx); err != nil {
			return nil, err
		}
		// Decisions whose organisational handling has no case running get theirs (decided while
		// Temporal was unreachable, or before handlings ran on the kit).
		if n, err := s.API.StartAwaitedHandlings(ctx); err != nil {
			return nil, fmt.Errorf("organisational handlings: %w", err)
		} else if n > 0 {
			log.Info("organisational handlings checked", "count", n)
		}
		// The store's counts are read by the process serving /metrics, at each scrape; an api and a
		// worker process each serve their own SDK series.
		s.Metrics.MustRegister(telemetry.NewStoreCollector(s.Store, log, 5*time.Second))
		s.API.ServeMetrics(s.Metrics)
		s.App = api.NewApp(log, cfg.TrustedProxies, api.NewHTTPMetrics(s.Metrics))
		s.API.Mount(s.App)
		console.Mount(s.App, s.API, cfg)
		if s.listener, err = s.listen(cfg.HTTPAddr, "JIAOFU_HTTP_ADDR"); err != nil {
			return nil, err
		}
		log.Info("http api listening", "addr", s.listener.Addr().String())
	}
	return s, nil
}

// listen serves s.App on addr (the setting named variable).
func (s *Service) listen(addr, variable string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", variable, addr, err)
	}
	go func() {
		if err := s.App.Listener(ln); err != nil {
			s.log.Error("http server stopped", "error", err)
		}
	}()
	return ln, nil
}

// registerSearchAttributes adds jiaofu's search attributes to an external cluster (best effort:
// an operator may have done it already, or may not allow it).
func (s *Service) registerSearchAttributes(ctx context.Context, attrs map[string]enumspb.IndexedValueType) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.Temporal.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: attrs, Namespace: s.Config.TemporalNamespace})
	if err != nil {
		s.log.Warn("could not register search attributes (they may exist already)", "error", err)
	}
}

// HTTPAddr is the address the API listens on (useful when configured with port 0).
func (s *Service) HTTPAddr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// MetricsAddr is where a worker-only process serves /metrics (JIAOFU_METRICS_ADDR), "" when it
// does not; a process with the API serves it on HTTPAddr.
func (s *Service) MetricsAddr() string {
	if s.metricsListener == nil {
		return ""
	}
	return s.metricsListener.Addr().String()
}

// PprofAddr is where the process serves its runtime profiles (JIAOFU_PPROF_ADDR), "" when it
// does not.
func (s *Service) PprofAddr() string {
	if s.pprofListener == nil {
		return ""
	}
	return s.pprofListener.Addr().String()
}

// TemporalAddr is the Temporal frontend in use.
func (s *Service) TemporalAddr() string {
	if s.embedded != nil {
		return s.embedded.FrontendAddr()
	}
	return s.Config.TemporalAddress
}

// Stop shuts the parts down in reverse order: HTTP, worker, client, embedded server, store, and
// last the data dir's lock. The HTTP server stops listening at once (new connections are
// refused) and lets the requests in flight finish; then the worker stops polling and lets its
// running activities finish. Both share one budget, JIAOFU_SHUTDOWN_TIMEOUT, so that the
// process is gone before an orchestrator's SIGKILL: HTTP first, because a request in flight
// may wait on the worker (a task action is an Update a workflow task must run).
func (s *Service) Stop() {
	timeout := s.Config.ShutdownTimeout
	if timeout <= 0 { // a Service built without a validated config (tests)
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if s.App != nil {
		if err := s.App.ShutdownWithTimeout(timeout); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("http shutdown: requests still in flight were cut off", "timeout", timeout, "error", err)
		}
	}
	if s.worker != nil {
		// The worker waits for its activities up to its own WorkerStopTimeout (the same
		// setting); what HTTP used of the budget is taken off here. An activity cut off is
		// retried after the next start: activities are idempotent.
		stopped := make(chan struct{})
		go func() { s.worker.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(time.Until(deadline)):
			s.log.Warn("worker stop: activities still running when the shutdown timeout passed; they run again after the next start", "timeout", timeout)
		}
	}
	if s.Temporal != nil {
		s.Temporal.Close()
	}
	if s.embedded != nil {
		s.embedded.Stop()
	}
	if s.Store != nil {
		s.Store.Close()
	}
	if s.pprof != nil {
		s.pprof.Close()
	}
	if s.dataDirLock != nil {
		s.dataDirLock.Close()
		s.dataDirLock = nil
	}
}

// seedPlan records the seed's own work plan with the demo data (JIAOFU_SEED_DEMO_PLAN), once, and
// starts the case of every plan task recorded whose case has not started yet (the seeded plan,
// an import an outage cut short).
func (s *Service) seedPlan(ctx context.Context) error {
	if s.Config.SeedDemoPlan {
		year := time.Now().In(calendar.CST).Year()
		rows, err := demo.RedatedPlan(year)
		if err != nil {
			return fmt.Errorf("demo plan: %w", err)
		}
		if err := s.API.SeedPlan(ctx, store.Plan{ID: demo.PlanID, Year: year, Title: demo.PlanTitle, DocNo: demo.PlanDocNo,
			UnitCode: demo.PAOffice}, rows); err != nil {
			return fmt.Errorf("demo plan: %w", err)
		}
	}
	n, err := s.API.StartOpeningPlanTasks(ctx)
	if err != nil {
		return fmt.Errorf("plan tasks: %w", err)
	}
	if n > 0 {
		s.log.Info("plan tasks started", "count", n)
	}
	return nil
}

// temporalClientOptions are the process's one Temporal client's: its worker polls and its API
// starts, signals and updates through it.
func temporalClientOptions(cfg config.Config, addr string, log *slog.Logger, metrics client.MetricsHandler) client.Options {
	// The SDK gzips every call unless told otherwise, and the server then gzips its answers: with
	// Temporal on the same host or LAN (embedded, compose) that was about a tenth of the process's
	// CPU per subsidy lifecycle, for bytes that never cross a slow link (docs/benchmarks.md,
	// "Uncompressed calls to Temporal").
	var compression client.GrpcCompression = &client.GrpcCompressionNone{}
	if cfg.TemporalCompression == "gzip" {
		compression = &client.GrpcCompressionGzip{}
	}
	return client.Options{HostPort: addr, Namespace: cfg.TemporalNamespace,
		Logger: sdklog.NewStructuredLogger(log.With("component", "sdk")), MetricsHandler: metrics,
		ContextPropagators: []workflow.ContextPropagator{telemetry.Propagator{}},
		ConnectionOptions:  client.ConnectionOptions{GrpcCompression: compression}}
}
