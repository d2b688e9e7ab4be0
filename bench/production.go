package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	_ "github.com/lib/pq" // the store's PostgreSQL driver, for setup and teardown

	"jiaofu/childproc"
	"jiaofu/workflows"
)

// Workload 8: the production path. Temporal server v1.32.0 on PostgreSQL — its cmd/server and
// cmd/tools/sql built with `go build` from the module cache into -tools, the schemas shipped in
// the module (schema/postgresql/v12/{temporal,visibility}/versioned) applied with plugin
// postgres12 to two fresh databases, the server configured through its embedded config template
// from environment variables exactly as docker-compose.yml does (512 shards, the same dynamic
// config file) — and jiaofu's store in a fresh PostgreSQL schema. Then the probe of workload 7
// and workloads 1 and 2 run against it. Everything is dropped afterwards.

const serverVersion = "v1.32.0"

type pgConn struct {
	host, port, user, password, database string
}

func parsePG(raw string) (pgConn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return pgConn{}, err
	}
	c := pgConn{host: u.Hostname(), port: u.Port(), user: u.User.Username(), database: strings.TrimPrefix(u.Path, "/")}
	c.password, _ = u.User.Password()
	if c.port == "" {
		c.port = "5432"
	}
	return c, nil
}

// withSearchPath returns the URL with search_path set to schema.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// moduleDir finds the jiaofu module (the current directory's go.mod), whose pinned dependencies
// the tools are built with; "" when the current directory is outside it.
func moduleDir(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return ""
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return ""
	}
	b, err := os.ReadFile(gomod)
	if err != nil || !strings.HasPrefix(string(b), "module jiaofu\n") {
		return ""
	}
	return filepath.Dir(gomod)
}

// serverTools builds temporal-server and temporal-sql-tool (once; cached in -tools, outside the
// repository) and returns their paths, the directory of the module's schemas and the dynamic
// config file docker-compose mounts.
func serverTools(ctx context.Context, o *Options) (srvBin, sqlBin, schemaDir, dynCfg string, err error) {
	dir := moduleDir(ctx)
	if dir == "" {
		return "", "", "", "", fmt.Errorf("run from the jiaofu module (its go.mod pins go.temporal.io/server %s)", serverVersion)
	}
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "go.temporal.io/server").Output()
	if err != nil {
		return "", "", "", "", fmt.Errorf("go list -m go.temporal.io/server: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[1] != serverVersion {
		return "", "", "", "", fmt.Errorf("go.temporal.io/server is %q, want %s", strings.TrimSpace(string(out)), serverVersion)
	}
	schemaDir = filepath.Join(f[0], "schema", "postgresql", "v12")
	srvBin = filepath.Join(o.Tools, "temporal-server-"+serverVersion)
	sqlBin = filepath.Join(o.Tools, "temporal-sql-tool-"+serverVersion)
	// Built in the server module's own directory in the module cache, with its own go.mod and
	// go.sum (the release's dependency versions, as its docker image has them); the go command
	// fetches what the cache lacks from GOPROXY.
	for _, b := range []struct{ bin, pkg string }{{srvBin, "./cmd/server"}, {sqlBin, "./cmd/tools/sql"}} {
		if _, err := os.Stat(b.bin); err == nil {
			continue
		}
		o.progress("building go.temporal.io/server/%s %s from the module cache (first run only; several minutes)", strings.TrimPrefix(b.pkg, "./"), serverVersion)
		if err := goTool(ctx, f[0], []string{"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false"}, "build", "-o", b.bin, b.pkg); err != nil {
			return "", "", "", "", err
		}
	}
	return srvBin, sqlBin, schemaDir, filepath.Join(dir, "deploy", "temporal", "dynamicconfig.yaml"), nil
}

func runProduction(ctx context.Context, o *Options, r *Report) error {
	srvBin, sqlBin, schemaDir, dynCfg, err := serverTools(ctx, o)
	if err != nil {
		return err
	}
	pg, err := parsePG(o.PG)
	if err != nil {
		return fmt.Errorf("-pg: %w", err)
	}
	admin, err := sql.Open("postgres", o.PG)
	if err != nil {
		return err
	}
	defer admin.Close()
	tag := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().Unix()%100000)
	dbMain, dbVis, storeSchema := "bench_temporal_"+tag, "bench_temporal_vis_"+tag, "bench_prod_"+tag
	defer func() {
		// Drop what this workload created, even after a failure.
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, db := range []string{dbMain, dbVis} {
			if _, err := admin.ExecContext(cctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
				o.progress("dropping database %s: %v", db, err)
			}
		}
		if _, err := admin.ExecContext(cctx, "DROP SCHEMA IF EXISTS "+storeSchema+" CASCADE"); err != nil {
			o.progress("dropping schema %s: %v", storeSchema, err)
		}
	}()

	// Schema setup, as deploy/temporal/setup-schema.sh does it.
	sqltool := func(db string, args ...string) error {
		a := append([]string{"--plugin", "postgres12", "--endpoint", pg.host, "--port", pg.port, "--user", pg.user, "--database", db}, args...)
		cmd := exec.CommandContext(ctx, sqlBin, a...)
		cmd.Env = append(os.Environ(), "SQL_PASSWORD="+pg.password)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("temporal-sql-tool %s: %v\n%s", strings.Join(args, " "), err, lastLines(string(out), 10))
		}
		return nil
	}
	for _, d := range []struct{ db, dir string }{{dbMain, "temporal"}, {dbVis, "visibility"}} {
		for _, step := range [][]string{{"create"}, {"setup-schema", "-v", "0.0"}, {"update-schema", "-d", filepath.Join(schemaDir, d.dir, "versioned")}} {
			if err := sqltool(d.db, step...); err != nil {
				return err
			}
		}
	}
	o.progress("[production] Temporal databases %s and %s created and migrated with temporal-sql-tool (postgres12; the server runs postgres12_pgx on them, as compose does)", dbMain, dbVis)

	// The server, configured by environment variables through its embedded template, as compose does.
	ports, used := map[string]int{}, map[int]bool{}
	for _, k := range []string{"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT",
		"HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"} {
		if ports[k], err = lowPort(used); err != nil {
			return err
		}
	}
	if o.DynamicConfig != "" {
		if dynCfg, err = filepath.Abs(o.DynamicConfig); err != nil {
			return err
		}
	}
	if _, err := os.Stat(dynCfg); err != nil {
		return fmt.Errorf("dynamic config %s: %w", dynCfg, err)
	}
	cmd := exec.Command(srvBin, "start")
	cmd.Env = append(os.Environ(), "DB=postgres12_pgx", "DB_PORT="+pg.port, "POSTGRES_SEEDS="+pg.host, "POSTGRES_USER="+pg.user,
		"POSTGRES_PWD="+pg.password, "DBNAME="+dbMain, "VISIBILITY_DBNAME="+dbVis, "NUM_HISTORY_SHARDS="+strconv.Itoa(o.Shards),
		"DYNAMIC_CONFIG_FILE_PATH="+dynCfg, "BIND_ON_IP=127.0.0.1", "LOG_LEVEL=warn",
		// The local PostgreSQL allows 100 connections and is shared with the test suites; compose
		// raises max_connections to 200 for the default pools (20 + 10 per service). Smaller pools here.
		"SQL_MAX_CONNS=8", "SQL_MAX_IDLE_CONNS=8", "SQL_VIS_MAX_CONNS=3", "SQL_VIS_MAX_IDLE_CONNS=3")
	for k, v := range ports {
		cmd.Env = append(cmd.Env, k+"="+strconv.Itoa(v))
	}
	if o.ServerEnv != "" {
		cmd.Env = append(cmd.Env, strings.Split(o.ServerEnv, ",")...)
	}
	t0 := time.Now()
	srv, c, err := startServer(ctx, o, "production-server", cmd, ports["FRONTEND_GRPC_PORT"], registerNamespace)
	if err != nil {
		return err
	}
	defer srv.stop()
	defer c.Close()
	o.progress("[production] Temporal server on PostgreSQL up in %s (%d shards, dynamic config %s, extra environment %q)", time.Since(t0).Round(time.Second), o.Shards, dynCfg, o.ServerEnv)

	if err := namespaceUsable(ctx, c); err != nil {
		return fmt.Errorf("%w\n%s", err, childproc.Tail(srv.log, 2000))
	}
	probe, err := runProbe(ctx, o, c, "production", cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, childproc.Tail(srv.log, 2000))
	}
	r.add(Result{Workload: 8, Name: "production probe (Temporal on PostgreSQL)", Unit: "starts/s", Value: probe.Starts,
		Note:  "issue 6 measured 171–193 starts/s here before any project code",
		Extra: map[string]any{"server_cpu_ms_per_lifecycle": probe.ServerCPUPerLife, "shards": o.Shards}})
	r.add(Result{Workload: 8, Name: "production probe (Temporal on PostgreSQL)", Unit: "lifecycles/s", Value: probe.Lifecycles,
		Note: "issue 6 measured 26–28 lifecycles/s here before any project code"})

	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+storeSchema); err != nil {
		return err
	}
	storeURL, err := withSearchPath(o.PG, storeSchema)
	if err != nil {
		return err
	}
	env, err := StartEnv(ctx, o, EnvSpec{Name: "production", DatabaseURL: storeURL, TemporalAddress: srv.addr, ServerPID: cmd.Process.Pid,
		PGRoles: map[string]string{dbMain: "temporal", dbVis: "temporal_visibility", pg.database: "store"}})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, childproc.Tail(srv.log, 2000))
	}
	defer env.Close()
	if err := runLifecycles(ctx, o, r, env, true, "production"); err != nil {
		return fmt.Errorf("%w\n%s", err, childproc.Tail(srv.log, 2000))
	}
	// Beside the embedded figures of this run, when workload 2 ran.
	for _, x := range r.Results {
		if x.Workload == 2 && strings.HasPrefix(x.Name, "subsidy lifecycle, HTTP API") {
			last := r.Results[len(r.Results)-1]
			r.add(Result{Workload: 8, Name: "production lifecycle vs embedded lifecycle (2)", Unit: "lifecycles/s", Value: last.Value,
				Baseline: "embedded HTTP (2)", BaselineValue: x.Value})
			break
		}
	}
	return nil
}

// registerNamespace creates the default namespace and jiaofu's search attributes on a fresh
// cluster, as deploy/temporal/init-namespace.sh does.
func registerNamespace(ctx context.Context, c client.Client) error {
	err := waitFor(ctx, 2*time.Minute, 500*time.Millisecond, func() (bool, error) {
		_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "default",
			WorkflowExecutionRetentionPeriod: durationpb.New(720 * time.Hour)})
		if err != nil && !strings.Contains(strings.ToLower(err.Error()), "already") {
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("register namespace: %w", err)
	}
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return waitFor(ctx, 2*time.Minute, 500*time.Millisecond, func() (bool, error) {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "default", SearchAttributes: attrs})
		if err != nil && !strings.Contains(strings.ToLower(err.Error()), "already") {
			return false, nil
		}
		return true, nil
	})
}

// namespaceUsable waits until workflows can start in the new namespace (every service's namespace
// registry has refreshed).
func namespaceUsable(ctx context.Context, c client.Client) error {
	n := 0
	return waitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		n++
		id := fmt.Sprintf("bench-ready-%d-%d", time.Now().UnixNano(), n)
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "bench-ready"}, "Nothing"); err != nil {
			return false, nil
		}
		_ = c.TerminateWorkflow(ctx, id, "", "readiness check")
		return true, nil
	})
}
