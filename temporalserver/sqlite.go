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

// The SQLite files inside Options.DataDir: the server's persistence (histories, mutable state,
// task queues, timers, namespaces) and its visibility store (the records the Web UI and
// `temporal workflow list` query). They are separate files so that each has its own connection:
// SQLite has one writer per file, and the visibility queue's inserts and updates — a row with
// fifty-eight indexes, forty-four of them partial (visindex.go) — otherwise waited behind the
// workflows' own transactions on the one connection (docs/benchmarks.md, workload 7: about a
// third more workflow starts per second with the split).
const (
	dbFileName  = "temporal.db"
	visFileName = "visibility.db"
)

// The embedded schema files of each database (server v1.32, SQLite v3 schema).
var (
	mainSchema       = []string{"sqlite/v3/temporal/schema.sql"}
	visibilitySchema = []string{"sqlite/v3/visibility/schema.sql"}
)

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
// MaxConns stays at 1 per file, as in the CLI dev server and the server's own
// sqlite sample config: all services share one connection to each file (the
// plugin pools it per DSN), so each file has exactly one writer and never an
// in-process SQLITE_BUSY. WAL still helps: commits are sequential appends and
// outside readers (a backup, the sqlite3 shell) do not block the server.
//
// Two files, two independent commits: a workflow's visibility record is
// written by the visibility queue after (and apart from) the workflow's own
// transaction, whose queue position is kept in temporal.db — as with one file,
// where they were separate transactions too. After a process crash the queue
// re-applies what visibility.db lacks. After a power loss each file may roll
// back to its own last synced point; should visibility.db lose more than
// temporal.db, some list entries show an older state (or are missing) until
// that workflow's next change. Histories and workflow state are unaffected.
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

// ensureDatabase creates the SQLite file at path with the given embedded
// schema files if it does not exist yet, and reports whether it did.
//
// The schema is built in a side file inside one transaction, made durable,
// then renamed into place, so a crash during first start never leaves a
// half-initialised database behind (the next start just starts over).
// The statements are the same embedded schema files, split the same way, as
// go.temporal.io/server/schema/sqlite.SetupSchema executes; that function is
// not used because it runs them one by one (not atomically) through the
// plugin's process-wide connection pool, which never closes connections.
//
// attach, when not empty, is an existing database file attached read-only as
// "old" (ATTACH cannot run inside a transaction), and fill, when not nil, runs
// inside the same transaction after the schema: the visibility store's move
// out of the one-file layout uses both.
func ensureDatabase(path string, schemaFiles []string, attach string, fill func(tx *sql.Tx) error) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("temporalserver: checking database file: %w", err)
	}

	tmp := path + ".init"
	removeSQLiteFiles(tmp)
	if err := createSchema(tmp, schemaFiles, attach, fill); err != nil {
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

// ensureVisibility creates visibility.db when it is missing. A data directory
// from before the split keeps its visibility rows in temporal.db: they are
// copied over (the insert trigger rebuilds the full-text indexes), in the
// same transaction that creates the schema. The old tables stay in
// temporal.db, unused.
func ensureVisibility(visPath, mainPath string) (bool, error) {
	if _, err := os.Stat(visPath); err == nil {
		return false, nil
	}
	if _, err := os.Stat(mainPath); err != nil {
		return ensureDatabase(visPath, visibilitySchema, "", nil) // a new data directory
	}
	return ensureDatabase(visPath, visibilitySchema, mainPath, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM old.sqlite_master WHERE type = 'table' AND name = 'executions_visibility'`).Scan(&n); err != nil {
			return fmt.Errorf("temporalserver: reading %s: %w", mainPath, err)
		}
		if n == 1 {
			cols, err := sharedColumns(tx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO main.executions_visibility (` + cols + `) SELECT ` + cols + ` FROM old.executions_visibility`); err != nil {
				return fmt.Errorf("temporalserver: copying visibility records from %s: %w", mainPath, err)
			}
		}
		return nil
	})
}

// sharedColumns lists the columns executions_visibility has in both files.
func sharedColumns(tx *sql.Tx) (string, error) {
	names := func(schema string) (map[string]bool, []string, error) {
		rows, err := tx.Query(`SELECT name FROM pragma_table_info('executions_visibility', '` + schema + `')`)
		if err != nil {
			return nil, nil, err
		}
		defer rows.Close()
		set, order := map[string]bool{}, []string(nil)
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, nil, err
			}
			set[n], order = true, append(order, n)
		}
		return set, order, rows.Err()
	}
	oldSet, _, err := names("old")
	if err != nil {
		return "", fmt.Errorf("temporalserver: visibility columns: %w", err)
	}
	_, newOrder, err := names("main")
	if err != nil {
		return "", fmt.Errorf("temporalserver: visibility columns: %w", err)
	}
	var cols []string
	for _, c := range newOrder {
		if oldSet[c] {
			cols = append(cols, `"`+c+`"`)
		}
	}
	if len(cols) == 0 {
		return "", fmt.Errorf("temporalserver: executions_visibility has no columns in common")
	}
	return strings.Join(cols, ", "), nil
}

func createSchema(path string, schemaFiles []string, attach string, fill func(tx *sql.Tx) error) error {
	stmts, err := schemaStatements(schemaFiles)
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
	db.SetMaxIdleConns(1) // the attached database belongs to the one connection
	if attach != "" {
		if _, err := db.Exec(`ATTACH DATABASE ? AS old`, "file:"+attach+"?mode=ro"); err != nil {
			return fmt.Errorf("temporalserver: reading %s: %w", attach, err)
		}
	}

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
	if fill != nil {
		if err := fill(tx); err != nil {
			_ = tx.Rollback()
			return err
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

// schemaStatements returns embedded schema files as individual statements, with visibility's
// search-attribute indexes partial (visindex.go).
func schemaStatements(files []string) ([]string, error) {
	stmts, err := loadSchema(files)
	if err != nil {
		return nil, err
	}
	return partialAttributeIndexes(stmts), nil
}

// loadSchema returns embedded schema files as individual statements, as the server ships them.
func loadSchema(files []string) ([]string, error) {
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
