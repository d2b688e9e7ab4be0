package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	toolschema "go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"

	"jiaofu/temporalserver"
	"jiaofu/workflows"
)

// The production path (issue 19): the Temporal server on PostgreSQL, its schema applied by its own
// tooling as docker-compose's temporal-schema service does (deploy/temporal/setup-schema.sh), and
// jiaofu's store on PostgreSQL too. bench/production.go does the same for the benchmark with the
// server's binaries; here the server runs in the test binary, from the same module.

// productionShards is the test cluster's history shard count. Compose runs 512; a handful keeps
// the start quick on two shared cores while a workflow's shard is still one of several, as in
// production (a single shard would hide any mistake in routing between shards).
const productionShards = 4

// requirePostgres is TEST_DATABASE_URL. Without it the test is skipped, except in CI, where the
// production path must run.
func requirePostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set; CI must run the production path (.ci/run sets it)")
		}
		t.Skip("TEST_DATABASE_URL is not set; the production path needs PostgreSQL")
	}
	return base
}

// temporalOnPostgres creates two fresh databases on base's server, applies the Temporal server's
// PostgreSQL schemas to them with the server's own tooling (tools/sql's connection and the schema
// tool's setup and update tasks over the schema files embedded in the server module — what
// `temporal-sql-tool create / setup-schema -v 0.0 / update-schema` runs), starts the server in
// this process on them through plugin postgres12_pgx (compose's) and returns its frontend address. The server
// stops and the databases are dropped when the test ends.
func temporalOnPostgres(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	password, _ := u.User.Password()
	defaultDB := strings.TrimPrefix(u.Path, "/")
	if defaultDB == "" {
		defaultDB = "postgres"
	}
	tag := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
	dbMain, dbVis := "e2e_temporal_"+tag, "e2e_temporal_vis_"+tag

	// Dropped after the server has stopped (cleanups run last-registered first); FORCE ends any
	// session the server's pools left behind.
	t.Cleanup(func() {
		admin, err := sql.Open("postgres", base)
		if err != nil {
			t.Errorf("drop the Temporal databases: %v", err)
			return
		}
		defer admin.Close()
		for _, db := range []string{dbMain, dbVis} {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", db, err)
			}
		}
	})

	sqlConf := func(db string, conns int) *config.SQL {
		// Small pools: the shared PostgreSQL allows 100 connections for every test and engineer
		// (compose raises it to 200 for the server's default pools).
		return &config.SQL{PluginName: postgresql.PluginNamePGX, ConnectAddr: net.JoinHostPort(u.Hostname(), port),
			User: u.User.Username(), Password: password, DatabaseName: db, MaxConns: conns, MaxIdleConns: conns,
			MaxConnLifetime: time.Hour}
	}
	toolLog := log.NewNoopLogger()
	for _, d := range []struct{ db, schema string }{
		{dbMain, "postgresql/v12/temporal"},
		{dbVis, "postgresql/v12/visibility"},
	} {
		if err := sqltool.DoCreateDatabase(sqlConf(d.db, 1), defaultDB, toolLog); err != nil {
			t.Fatalf("temporal-sql-tool create %s: %v", d.db, err)
		}
		conn, err := sqltool.NewConnection(sqlConf(d.db, 1), toolLog)
		if err != nil {
			t.Fatalf("connect to %s: %v", d.db, err)
		}
		err = toolschema.NewSetupSchemaTask(conn, &toolschema.SetupConfig{InitialVersion: "0.0"}, toolLog).Run()
		if err == nil {
			err = toolschema.NewUpdateSchemaTask(conn, &toolschema.UpdateConfig{DBName: d.db, SchemaName: d.schema}, toolLog).Run()
		}
		conn.Close()
		if err != nil {
			t.Fatalf("schema %s on %s: %v", d.schema, d.db, err)
		}
	}

	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := temporalserver.Start(ctx, temporalserver.Options{
		SQL: &temporalserver.SQLPersistence{Main: sqlConf(dbMain, 8), Visibility: sqlConf(dbVis, 3), HistoryShards: productionShards},
		// Port 0: a free port, never 7233.
		FrontendAddr: "127.0.0.1:0", Retention: 24 * time.Hour, SearchAttributes: attrs,
		Logger: logger(t).With("component", "temporal"),
	})
	if err != nil {
		t.Fatalf("Temporal server on PostgreSQL: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.FrontendAddr()
}

// TestSubsidyEndToEndProductionPath is TestSubsidyEndToEnd on the production path: the Temporal
// server on PostgreSQL (schema by its own tooling), the store on PostgreSQL, the worker and the
// API beside them as `jiaofu api` and `jiaofu worker` run against a cluster (TEMPORAL_ADDRESS).
func TestSubsidyEndToEndProductionPath(t *testing.T) {
	base := requirePostgres(t)
	start := time.Now()
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	cfg.TemporalAddress = temporalOnPostgres(t, base)
	t.Logf("Temporal on PostgreSQL (%d shards) up in %s", productionShards, time.Since(start).Round(time.Millisecond))
	subsidyEndToEnd(t, cfg)
	t.Logf("production path: %s in all", time.Since(start).Round(time.Millisecond))
}
