package temporalserver

import (
	"strings"
	"testing"

	"go.temporal.io/server/common/config"
)

// TestSQLOptions: on SQL databases DataDir is not needed, but both databases are; the datastores
// are named after their plugin and the shard count is the one asked for (one by default, as on
// SQLite, whose datastore names stay what they were).
func TestSQLOptions(t *testing.T) {
	pg := func(db string) *config.SQL {
		return &config.SQL{PluginName: "postgres12", ConnectAddr: "127.0.0.1:5432", DatabaseName: db}
	}
	if err := (&Options{SQL: &SQLPersistence{Main: pg("t"), Visibility: pg("v")}}).setDefaults(); err != nil {
		t.Errorf("SQL without DataDir: %v", err)
	}
	if err := (&Options{SQL: &SQLPersistence{Main: pg("t")}}).setDefaults(); err == nil || !strings.Contains(err.Error(), "Visibility") {
		t.Errorf("SQL without its visibility database: %v, want an error naming Visibility", err)
	}
	if err := (&Options{}).setDefaults(); err == nil || !strings.Contains(err.Error(), "DataDir") {
		t.Errorf("neither DataDir nor SQL: %v, want an error naming DataDir", err)
	}

	a := serverAddrs{bindIP: loopback, dialHost: loopback, frontendPort: 1, httpPort: 2, historyPort: 3, matchingPort: 4, workerPort: 5}
	conf := serverConfig(a, pg("t"), pg("v"), 4)
	if conf.Persistence.NumHistoryShards != 4 || conf.Persistence.DefaultStore != "postgres12-default" ||
		conf.Persistence.VisibilityStore != "postgres12-visibility" || conf.Persistence.DataStores["postgres12-default"].SQL.DatabaseName != "t" {
		t.Errorf("persistence on PostgreSQL: %+v", conf.Persistence)
	}
	conf = serverConfig(a, sqliteConfig("/x/temporal.db"), sqliteConfig("/x/visibility.db"), numHistoryShards)
	if conf.Persistence.NumHistoryShards != 1 || conf.Persistence.DefaultStore != "sqlite-default" || conf.Persistence.VisibilityStore != "sqlite-visibility" {
		t.Errorf("persistence on SQLite: %+v", conf.Persistence)
	}
}
