// Package temporalserver embeds a persistent, single-process Temporal server
// (frontend, history, matching and worker services in this process) backed by
// SQLite files, plus optionally the Temporal Web UI. It serves the service's
// all-in-one mode and integration tests.
//
// Unlike the CLI's `temporal server start-dev` it is meant to keep its state:
// the databases live in Options.DataDir (temporal.db, and visibility.db for the
// records the UI lists) and survive restarts, and the namespace settings given
// in Options are re-applied to an existing database on every start.
//
// Options.SQL puts the same in-process server on SQL databases instead (the
// production persistence, PostgreSQL through plugin postgres12_pgx): the e2e
// production-path test runs it so, on schemas the server's own tooling applied.
package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/config"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configures Start.
type Options struct {
	// DataDir holds the SQLite files DataDir/temporal.db and
	// DataDir/visibility.db. They are created if missing, with their schemas;
	// a directory from before visibility.db gets it with its records copied.
	DataDir string
	// FrontendAddr is host:port for the gRPC frontend, e.g. "127.0.0.1:7233".
	// The host must be an IP address, "localhost" or empty (all interfaces).
	// Port 0 picks a free port; see Server.FrontendAddr. Default "127.0.0.1:7233".
	FrontendAddr string
	// UIAddr is host:port for the Web UI, e.g. "127.0.0.1:8233"; port 0 picks
	// a free port. "" disables the UI.
	UIAddr string
	// Namespace is registered if missing. Default "default".
	Namespace string
	// Retention is how long closed workflows of Namespace are kept. It is
	// applied when the namespace is created and, on an existing database,
	// updated through the frontend if it differs. Default 24h; the server
	// rejects less than 1h for a local namespace.
	Retention time.Duration
	// SearchAttributes are custom search attributes registered in Namespace:
	// at creation, or on an existing database added (if missing) through the
	// operator service. An existing attribute of another type is an error.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's logs (and the Web UI's start error).
	// nil discards them.
	Logger *slog.Logger
	// LogLevel is the minimum level passed on to Logger. The zero value
	// (slog.LevelInfo) means slog.LevelWarn, because the server is very chatty
	// at Info; to really get Info records set it to slog.LevelInfo-1.
	LogLevel slog.Level
	// SQL, when set, puts the server on existing SQL databases instead of the
	// SQLite files in DataDir (which is then not used): PostgreSQL through the
	// server's postgres12_pgx plugin, the persistence production runs on, in this
	// process. Their schemas must already be in place, applied by the server's
	// own tooling (temporal-sql-tool, or its go.temporal.io/server/tools/sql
	// package); Start registers Namespace through the frontend when it is
	// missing, as a cluster's operator would.
	SQL *SQLPersistence
}

// SQLPersistence is the server's two SQL databases and its shard count.
type SQLPersistence struct {
	// Main holds histories, mutable state, task queues, timers and
	// namespaces; Visibility the records the Web UI and CLI list.
	Main, Visibility *config.SQL
	// HistoryShards is written into the cluster metadata on the first start
	// and fixed for the life of the databases (see numHistoryShards).
	// Default 1.
	HistoryShards int32
}

// Server is a running embedded Temporal server. Stop it with Stop.
type Server struct {
	srv          temporal.Server
	ui           *uiserver.Server
	frontendAddr string
	uiAddr       string
	logger       *slog.Logger
	logLevel     *slog.LevelVar
	stopOnce     sync.Once
}

const (
	// clusterName is persisted in the database's cluster metadata on first
	// start and must never change for that database.
	clusterName = "active"

	// numHistoryShards is written into the cluster metadata on first start
	// and is fixed for the life of the database: every workflow ID is mapped
	// to a shard by hashing modulo this number, so it can never be changed
	// later (the server ignores a different configured value and keeps the
	// persisted one). One shard is plenty for a single process on SQLite,
	// which has a single writer anyway.
	numHistoryShards = 1

	loopback = "127.0.0.1"

	defaultFrontendAddr = "127.0.0.1:7233"
	defaultNamespace    = "default"
	defaultRetention    = 24 * time.Hour
	minRetention        = time.Hour
)

// Start opens (or creates) the SQLite databases — or, with Options.SQL, uses
// the SQL databases given, registering the namespace on them through the
// frontend — starts all Temporal services in this process and, if enabled, the
// Web UI. It returns once the frontend answers
// for Options.Namespace and the namespace's retention and search attributes
// match Options, or with an error when ctx ends first. (The services' own
// start-up is bounded by the server's internal timeout, not by ctx; ctx bounds
// the wait for the frontend and the namespace reconciliation.)
func Start(ctx context.Context, o Options) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	level := new(slog.LevelVar)
	level.Set(o.LogLevel)
	if o.LogLevel == 0 {
		level.Set(slog.LevelWarn)
	}
	logger := slog.New(levelHandler{min: level, h: o.Logger.Handler()})

	// Addresses and ports.
	bindIP, frontendPort, err := parseFrontendAddr(o.FrontendAddr)
	if err != nil {
		return nil, err
	}
	dialHost := bindIP
	if ip := net.ParseIP(bindIP); ip.IsUnspecified() {
		dialHost = loopback
		if ip.To4() == nil {
			dialHost = "::1"
		}
	}
	ports := portPicker{used: map[int]bool{}}
	if frontendPort == 0 {
		if frontendPort, err = ports.pick(bindIP); err != nil {
			return nil, err
		}
	} else {
		if err := portIsFree(bindIP, frontendPort); err != nil {
			return nil, fmt.Errorf("temporalserver: frontend address %s: %w", o.FrontendAddr, err)
		}
		ports.used[frontendPort] = true
	}
	addrs := serverAddrs{bindIP: bindIP, dialHost: dialHost, frontendPort: frontendPort}
	if addrs.httpPort, err = ports.pick(bindIP); err != nil {
		return nil, err
	}
	// The internal services only talk to each other: loopback only.
	for _, p := range []*int{&addrs.historyPort, &addrs.matchingPort, &addrs.workerPort} {
		if *p, err = ports.pick(loopback); err != nil {
			return nil, err
		}
	}

	var uiHost string
	var uiPort int
	if o.UIAddr != "" {
		if uiHost, uiPort, err = parseUIAddr(o.UIAddr, &ports); err != nil {
			return nil, err
		}
	}

	var sqlConf, visConf *config.SQL
	shards := int32(numHistoryShards)
	if o.SQL != nil {
		sqlConf, visConf = o.SQL.Main, o.SQL.Visibility
		if o.SQL.HistoryShards > 0 {
			shards = o.SQL.HistoryShards
		}
	} else if sqlConf, visConf, err = bootstrapSQLite(o, logger); err != nil {
		return nil, err
	}

	srvOpts, err := serverOptions(addrs, sqlConf, visConf, shards, serverLogger{l: logger})
	if err != nil {
		return nil, err
	}
	srv, err := temporal.NewServer(srvOpts...)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: creating server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("temporalserver: starting server: %w", err)
	}
	s := &Server{
		srv:          srv,
		frontendAddr: net.JoinHostPort(dialHost, strconv.Itoa(frontendPort)),
		logger:       logger,
		logLevel:     level,
	}

	if o.SQL != nil {
		// The SQLite path writes the namespace into the file before the server starts; on
		// databases set up by the server's tooling only the frontend can register it.
		if err := s.registerNamespace(ctx, o); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := s.awaitAndReconcile(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}

	if o.UIAddr != "" {
		if err := s.startUI(uiHost, uiPort, o.Namespace); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// bootstrapSQLite creates (or opens) the SQLite files in DataDir and writes the namespace into
// them before the server starts, so that it exists from the first request on; it returns their
// datastore configs.
func bootstrapSQLite(o Options, logger *slog.Logger) (sqlConf, visConf *config.SQL, err error) {
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("temporalserver: creating data dir: %w", err)
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("temporalserver: data dir: %w", err)
	}
	dbPath, visPath := filepath.Join(dataDir, dbFileName), filepath.Join(dataDir, visFileName)
	if err := checkDBPath(dbPath); err != nil {
		return nil, nil, err
	}
	// Visibility first: a data directory from before the split carries its
	// records over from temporal.db.
	created, err := ensureVisibility(visPath, dbPath)
	if err != nil {
		return nil, nil, err
	}
	if created {
		logger.Info("temporalserver: created visibility database", "path", visPath)
	} else if n, err := partialIndexesInPlace(visPath); err != nil {
		return nil, nil, err
	} else if n > 0 {
		logger.Info("temporalserver: made visibility's search-attribute indexes partial", "path", visPath, "indexes", n)
	}
	if created, err = ensureDatabase(dbPath, mainSchema, "", nil); err != nil {
		return nil, nil, err
	}
	if created {
		logger.Info("temporalserver: created database", "path", dbPath)
	}
	sqlConf, visConf = sqliteConfig(dbPath), sqliteConfig(visPath)
	nsConf, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, nil, fmt.Errorf("temporalserver: namespace %q: %w", o.Namespace, err)
	}
	// NewNamespaceConfig hard-codes a 24h retention.
	nsConf.Detail.Config.Retention = durationpb.New(o.Retention)
	// No-op when the namespace already exists; reconcileNamespace then
	// brings retention and search attributes in line after start.
	if err := sqliteschema.CreateNamespaces(sqlConf, nsConf); err != nil {
		return nil, nil, fmt.Errorf("temporalserver: registering namespace %q: %w", o.Namespace, err)
	}
	return sqlConf, visConf, nil
}

// FrontendAddr is the host:port clients dial for the gRPC frontend (the actual
// port when Options.FrontendAddr asked for port 0; 127.0.0.1 when it bound
// all interfaces).
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIAddr is the Web UI's host:port, or "" when the UI is disabled.
func (s *Server) UIAddr() string { return s.uiAddr }

// Stop stops the Web UI and the server; it takes about a second. It is safe
// to call more than once: later calls return at once (concurrent ones wait for
// the first to finish).
//
// While stopping, the server's internal workers log a burst of warnings
// ("Failed to poll for task", dial errors) as their peers go away; like the
// CLI dev server, Stop raises the log threshold to Error first to hide them.
//
// Note: the server's SQLite plugin keeps its pooled connection to the file
// open for the life of the process (it never closes pooled connections), so
// the file stays open after Stop; starting again on the same DataDir in the
// same process reuses that connection.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.logLevel.Level() < slog.LevelError {
			s.logLevel.Set(slog.LevelError)
		}
		if s.ui != nil {
			s.ui.Stop()
		}
		if err := s.srv.Stop(); err != nil {
			s.logger.Error("temporalserver: stopping server", "error", err)
		}
		// The server's worker service starts SDK workers in this process that nothing stops
		// (v1.32.0: the scanner's task-queue and history scanners — "TODO: Nothing is gracefully
		// stopping these workers" in service/worker/scanner/scanner.go — and the
		// parent-close-policy processor). The SDK's sticky cache is shared by every worker in
		// the process and cleared only when the last one stops, so after Stop it kept every
		// workflow the process had cached, coroutines and all, for good, and a server started
		// again in this process (tests, the benchmark) ran beside them. Callers stop their own
		// workers before the server.
		sdkworker.PurgeStickyWorkflowCache()
	})
}

func (o *Options) setDefaults() error {
	if o.DataDir == "" && o.SQL == nil {
		return errors.New("temporalserver: Options.DataDir is required")
	}
	if o.SQL != nil && (o.SQL.Main == nil || o.SQL.Visibility == nil) {
		return errors.New("temporalserver: Options.SQL needs both its Main and its Visibility database")
	}
	if o.FrontendAddr == "" {
		o.FrontendAddr = defaultFrontendAddr
	}
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = defaultRetention
	}
	if o.Retention < minRetention {
		return fmt.Errorf("temporalserver: Options.Retention %v is below the server's minimum of %v", o.Retention, minRetention)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// parseFrontendAddr returns the IP to bind and the port (0: pick one).
// The server needs an IP, not a host name, to bind on.
func parseFrontendAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("temporalserver: frontend address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("temporalserver: frontend address %q: bad port", addr)
	}
	switch {
	case host == "":
		host = "0.0.0.0"
	case host == "localhost":
		host = loopback
	case net.ParseIP(host) == nil:
		return "", 0, fmt.Errorf("temporalserver: frontend address %q: host must be an IP address or localhost", addr)
	}
	return host, port, nil
}

func parseUIAddr(addr string, ports *portPicker) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("temporalserver: UI address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("temporalserver: UI address %q: bad port", addr)
	}
	probeHost := host
	if probeHost == "" {
		probeHost = "0.0.0.0"
	}
	if port == 0 {
		if port, err = ports.pick(probeHost); err != nil {
			return "", 0, err
		}
		return host, port, nil
	}
	// The UI server exits the whole process (echo's Logger.Fatal) when it
	// cannot listen, so refuse a busy port here instead.
	if err := portIsFree(probeHost, port); err != nil {
		return "", 0, fmt.Errorf("temporalserver: UI address %s: %w", addr, err)
	}
	ports.used[port] = true
	return host, port, nil
}

// portPicker hands out distinct free ports within one Start.
type portPicker struct {
	used map[int]bool
}

func (p *portPicker) pick(host string) (int, error) {
	for range 20 {
		port, err := FreePort(host)
		if err != nil {
			return 0, err
		}
		if !p.used[port] {
			p.used[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("temporalserver: could not find distinct free ports on %s", host)
}

// startUI starts the Web UI. Its Start blocks until Stop, so it runs in a
// goroutine; a failure there can only be reported through the logger.
func (s *Server) startUI(host string, port int, namespace string) (err error) {
	cfg := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		// The UI is served over plain HTTP, so its CSRF cookie must not be
		// marked Secure or browsers drop it (outside of localhost).
		CORS: uiconfig.CORS{CookieInsecure: true},
		// Its request log goes to stdout, not to our logger.
		HideLogs: true,
		// No calls home from a self-hosted service.
		DisableNewsFetch: true,
	}
	// Check the port again right before starting: the server start took a
	// moment, and the UI server exits the process if it cannot listen.
	probeHost := host
	if probeHost == "" {
		probeHost = "0.0.0.0"
	}
	if err := portIsFree(probeHost, port); err != nil {
		return fmt.Errorf("temporalserver: UI port %d: %w", port, err)
	}
	// NewServer panics on bad config or missing embedded assets.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("temporalserver: creating UI server: %v", r)
		}
	}()
	ui := uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg))
	s.ui = ui
	s.uiAddr = net.JoinHostPort(host, strconv.Itoa(port))
	go func() {
		if err := ui.Start(); err != nil {
			s.logger.Error("temporalserver: UI server failed", "addr", s.uiAddr, "error", err)
		}
	}()
	return nil
}
