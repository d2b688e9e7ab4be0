// Package store is jiaofu's permanent record: org units, people, students, the task and
// escalation projections, the audit trail and each process's case tables, on SQLite or PostgreSQL.
//
// SQL is written once with ? placeholders and rebound per driver; instants are stored in UTC.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"jiaofu/schema"
)

// Domain errors every caller can test with errors.Is; the API maps them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrUnstorable is a write the database refuses for what it holds (text it cannot store, a
	// value out of range, a key too large to index): no retry can ever make it succeed.
	ErrUnstorable = errors.New("the database cannot store this value")
	// ErrUnavailable: the database could not be reached or would not take the statement (down,
	// restarting, connection cut, SQLite locked past busy_timeout). The statement did not run, so
	// the caller may retry once the database is back. The driver's error stays in the chain.
	ErrUnavailable = errors.New("database unavailable")
)

// Store is the one handle on the database.
type Store struct {
	db      *sqlx.DB
	dialect schema.Dialect
	// writer admits one SQLite writer of this process at a time (nil on PostgreSQL). SQLite allows
	// one writer anyway, but a connection that finds the write lock taken sleeps in SQLite's busy
	// handler (1, 2, 5 … 100 ms) however soon the lock frees: in a burst of writes the writers
	// spent more time asleep than writing (docs/benchmarks.md, workload 4). Waiting here instead
	// wakes the next writer the moment the last one commits. busy_timeout still covers writers in
	// other processes.
	writer chan struct{}
	// stmts keeps the store's statements prepared (stmtcache.go).
	stmts *stmtCache
}

// Open connects to PostgreSQL when databaseURL is set, else to the SQLite file dataDir/jiaofu.db,
// and applies pending migrations when migrate is true; otherwise it refuses a schema that is behind.
func Open(ctx context.Context, databaseURL, dataDir string, migrate bool) (*Store, error) {
	var (
		db      *sqlx.DB
		dialect schema.Dialect
		err     error
	)
	if databaseURL != "" {
		dialect = schema.Postgres
		db, err = sqlx.Open("postgres", customPlans(databaseURL))
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
	} else {
		dialect = schema.SQLite
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("store: data dir: %w", err)
		}
		db, err = sqlx.Open("sqlite", SQLiteDSN(filepath.Join(dataDir, "jiaofu.db")))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// One writer at a time is SQLite's rule; a small pool lets WAL readers run beside it. All
		// four stay open: a connection closed when idle takes its prepared statements with it.
		db.SetMaxOpenConns(4)
		db.SetMaxIdleConns(4)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	s := &Store{db: db, dialect: dialect, stmts: newStmtCache(db, stmtCacheSize)}
	if dialect == schema.SQLite {
		s.writer = make(chan struct{}, 1)
	}
	if migrate {
		err = schema.Migrate(ctx, dialect, db.DB)
	} else {
		err = schema.Check(ctx, dialect, db.DB)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// customPlans asks PostgreSQL to plan each execution of a prepared statement for its own values,
// as it plans an unprepared query: after five executions it would otherwise consider one generic
// plan for all values, and a scope's range or an optional filter can make that plan right for a
// school and wrong for the county. The statement cache (stmtcache.go) then saves the parsing and
// a round trip, never a plan that the unprepared query would not have had. A setting already in
// the URL is kept.
func customPlans(databaseURL string) string {
	const key, value = "plan_cache_mode", "force_custom_plan"
	if strings.Contains(databaseURL, key) {
		return databaseURL
	}
	if u, err := url.Parse(databaseURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return databaseURL + " " + key + "=" + value // key=value form
}

// SQLiteDSN is the connection string for a durable SQLite file: WAL with synchronous=FULL, so a
// committed write survives a power loss; immediate transactions so writers queue instead of
// failing on lock upgrades.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// Close releases the connection pool.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

// Dialect tells which database this store speaks to.
func (s *Store) Dialect() schema.Dialect { return s.dialect }

// DB exposes the pool for health checks and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// q is what both *sqlx.DB and *sqlx.Tx offer; helpers take it so they work inside a transaction.
type q interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// WithTx runs fn in one transaction, committed only when fn returns nil.
func (s *Store) WithTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	release, err := s.admitWriter(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", interpret(err))
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", s.writeOutcome(interpret(err)))
	}
	return nil
}

// admitWriter waits for this process's turn to write (see Store.writer); release ends it.
func (s *Store) admitWriter(ctx context.Context) (release func(), err error) {
	if s.writer == nil {
		return func() {}, nil
	}
	select {
	case s.writer <- struct{}{}:
		return func() { <-s.writer }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("store: waiting to write: %w", ctx.Err())
	}
}

// exec runs a write: inside the caller's transaction, or as its own when db is the pool (then it
// takes its turn like a transaction; a write inside WithTx must use the tx, never the pool).
func (s *Store) exec(ctx context.Context, db q, query string, args ...any) (sql.Result, error) {
	if db == q(s.db) {
		release, err := s.admitWriter(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	var res sql.Result
	query = db.Rebind(query)
	err := s.prepared(ctx, db, query,
		func(st *sqlx.Stmt) (err error) { res, err = st.ExecContext(ctx, args...); return err },
		func() (err error) { res, err = db.ExecContext(ctx, query, args...); return err })
	err = interpret(err)
	if db == q(s.db) {
		err = s.writeOutcome(err)
	}
	return res, err
}

// writeOutcome qualifies the error of a statement that commits (COMMIT, or a write outside a
// transaction): ErrUnavailable promises that nothing was written, which PostgreSQL cannot promise
// once the statement may have reached the server and the connection was lost before the reply.
// Only a failure to connect proves it never got there; anything else becomes an unknown outcome,
// reported (and logged) as an internal error. SQLite commits in this process, so its errors are
// never ambiguous.
func (s *Store) writeOutcome(err error) error {
	if s.dialect != schema.Postgres || !errors.Is(err, ErrUnavailable) {
		return err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return err
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "57P03" { // refused at connect: starting up or shutting down
		return err
	}
	return fmt.Errorf("connection lost during a write, outcome unknown: %v", err)
}

func (s *Store) get(ctx context.Context, db q, dest any, query string, args ...any) error {
	query = db.Rebind(query)
	return interpret(s.prepared(ctx, db, query,
		func(st *sqlx.Stmt) error { return st.GetContext(ctx, dest, args...) },
		func() error { return db.GetContext(ctx, dest, query, args...) }))
}

func (s *Store) sel(ctx context.Context, db q, dest any, query string, args ...any) error {
	query = db.Rebind(query)
	return interpret(s.prepared(ctx, db, query,
		func(st *sqlx.Stmt) error { return st.SelectContext(ctx, dest, args...) },
		func() error { return db.SelectContext(ctx, dest, query, args...) }))
}

// interpret translates driver errors into the store's domain errors, in this one place.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pqErr.Constraint)
	}
	// Class 22 is data exceptions (invalid byte sequence, value too long, out of range), class 54
	// program limits (an index row too large).
	if pqErr != nil && (strings.HasPrefix(pqErr.SQLState(), "22") || strings.HasPrefix(pqErr.SQLState(), "54")) {
		return fmt.Errorf("%w: %s", ErrUnstorable, pqErr.Message)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", ErrConflict, sqErr.Error())
		case sqlite3.SQLITE_TOOBIG:
			return fmt.Errorf("%w: %s", ErrUnstorable, sqErr.Error())
		}
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// unreachable recognises, for both dialects, a driver error that says the database did not take
// the statement, as opposed to refusing it. It is applied to errors that come from the driver only
// (through interpret), which is why a bare io.EOF may count: from the driver it is a cut connection.
func unreachable(err error) bool {
	// The caller's deadline or cancellation is not the database being unreachable (a context
	// error satisfies net.Error); a dial that the deadline cut short is, and is kept below.
	var op *net.OpError
	if (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) && !errors.As(err, &op) {
		return false
	}
	// database/sql retries a driver.ErrBadConn on fresh connections; one that still surfaces
	// means no connection could be had.
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// Connection refused, reset, host unreachable, DNS: the server is down or cannot be reached.
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now (starting up)
			return true
		}
		return pqErr.Code.Class() == "08" // connection_exception
	}
	// SQLite: the file is locked by another writer for longer than busy_timeout (SQLITE_BUSY) or a
	// table lock conflicts (SQLITE_LOCKED); extended codes keep the primary one in the low byte.
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// NewID returns a random identifier with a readable prefix ("u_", "st_", …).
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// now is the store's clock: UTC, microsecond precision (what PostgreSQL keeps).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func itoa(n int) string { return fmt.Sprint(n) }
