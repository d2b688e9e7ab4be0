package temporalserver

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/persistence"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (the server's plugin uses it too)
)

// dbFileName is the SQLite file inside Options.DataDir.
const dbFileName = "temporal.db"

// dbBusyTimeoutMillis bounds how long a statement waits for a lock held by
// another connection (in practice: another process such as the sqlite3 shell
// reading the file) before failing with SQLITE_BUSY.
const dbBusyTimeoutMillis = "5000"

// sqliteConfig is the datastore config the server (and our namespace
// bootstrap) use for the database file at path.
//
// The server's sqlite plugin (go.temporal.io/server/common/persistence/sql/
// sqlplugin/sqlite, v1.32.0) turns ConnectAttributes into the DSN
// "file:<DatabaseName>?...": the keys cache, immutable, mode, modeof, nolock,
// psow, setup and vfs are passed as SQLite URI parameters; every other key is
// sent as `_pragma=<key>=<value>`, which the modernc driver runs as
// "PRAGMA <key>=<value>" on every new connection.
//
// Durability of journal_mode=WAL + synchronous=NORMAL:
//   - A commit is complete once its frames are appended to the -wal file with
//     write(2); SQLite does not fsync on each commit (only at checkpoints).
//   - Process crash (panic, OOM kill, kill -9): nothing committed is lost. The
//     data is in the OS page cache / -wal file and is replayed on next open.
//   - OS crash or power loss: the database stays consistent (never corrupt),
//     but the most recent commits since the last WAL sync/checkpoint may be
//     rolled back. For Temporal this looks like the server "going back in time"
//     by up to a few seconds: e.g. an acknowledged workflow start or a recorded
//     activity completion can be missing, and the activity runs again.
//     synchronous=FULL would close that gap at the price of an fsync per commit.
//
// MaxConns stays at 1, as in the CLI dev server and the server's own sqlite
// sample config: all services share one connection (the plugin pools it per
// DSN), so there is exactly one writer and never an in-process SQLITE_BUSY.
// WAL still helps: commits are sequential appends and outside readers (a
// backup, the sqlite3 shell) do not block the server.
func sqliteConfig(path string) *config.SQL {
	return &config.SQL{
		PluginName:      sqliteplugin.PluginName,
		DatabaseName:    path,
		ConnectAddr:     "localhost", // unused by sqlite; non-empty to satisfy config validation
		ConnectProtocol: "tcp",       // idem
		ConnectAttributes: map[string]string{
			// "rw", not "rwc": ensureDatabase creates the file (with its
			// schema) atomically; if it vanished we want an error, not an
			// empty schema-less database.
			"mode":         "rw",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": dbBusyTimeoutMillis,
		},
		MaxConns:     1,
		MaxIdleConns: 1,
	}
}

// checkDBPath rejects paths the plugin's unescaped "file:%s?..." DSN would
// misparse.
func checkDBPath(path string) error {
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("temporalserver: DataDir %q must not contain '?' or '#'", filepath.Dir(path))
	}
	return nil
}

// ensureDatabase creates the SQLite file at path with Temporal's schema if it
// does not exist yet, and reports whether it did.
//
// The schema is built in a side file inside one transaction, made durable,
// then renamed into place, so a crash during first start never leaves a
// half-initialised temporal.db behind (the next start just starts over).
// The statements are the same embedded schema files, split the same way, as
// go.temporal.io/server/schema/sqlite.SetupSchema executes; that function is
// not used because it runs them one by one (not atomically) through the
// plugin's process-wide connection pool, which never closes connections.
func ensureDatabase(path string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("temporalserver: checking database file: %w", err)
	}

	tmp := path + ".init"
	removeSQLiteFiles(tmp)
	if err := createSchema(tmp); err != nil {
		removeSQLiteFiles(tmp)
		return false, err
	}
	if err := syncPath(tmp); err != nil {
		removeSQLiteFiles(tmp)
		return false, fmt.Errorf("temporalserver: syncing new database: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		removeSQLiteFiles(tmp)
		return false, fmt.Errorf("temporalserver: installing new database: %w", err)
	}
	// Make the rename itself durable. Best effort: some platforms (Windows)
	// cannot fsync a directory, and the file is already complete either way.
	_ = syncPath(filepath.Dir(path))
	return true, nil
}

func createSchema(path string) error {
	stmts, err := schemaStatements()
	if err != nil {
		return err
	}
	// Default rollback journal and synchronous=FULL here: when Commit returns
	// the schema is on disk in the main file alone, ready to be renamed.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rwc")
	if err != nil {
		return fmt.Errorf("temporalserver: creating database: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("temporalserver: creating database: %w", err)
	}
	for _, stmt := range stmts {
		if _, err := tx.Exec(stmt); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("temporalserver: creating schema: executing %q: %w", stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("temporalserver: creating schema: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("temporalserver: closing new database: %w", err)
	}
	return nil
}

// schemaStatements returns the v1.32 SQLite schema (main store, then
// visibility) as individual statements.
func schemaStatements() ([]string, error) {
	files := []string{
		"sqlite/v3/temporal/schema.sql",
		"sqlite/v3/visibility/schema.sql",
	}
	readers := make([]io.Reader, 0, len(files))
	for _, f := range files {
		b, err := fs.ReadFile(schema.Assets(), f)
		if err != nil {
			return nil, fmt.Errorf("temporalserver: reading embedded schema %s: %w", f, err)
		}
		readers = append(readers, bytes.NewReader(b))
	}
	stmts, err := persistence.LoadAndSplitQueryFromReaders(readers)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: parsing embedded schema: %w", err)
	}
	return stmts, nil
}

func removeSQLiteFiles(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
}

// syncPath fsyncs a file or directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
