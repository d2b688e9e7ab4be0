package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/lib/pq"

	"jiaofu/schema"
)

// The errors a database outage produces are recognised as ErrUnavailable on both dialects, and
// the errors that are the database refusing a statement are not.

func TestInterpretRecognisesUnavailable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"bad connection after database/sql's retries", fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"connection cut (EOF)", io.EOF, true},
		{"connection cut mid-message", io.ErrUnexpectedEOF, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{"admin shutdown", &pq.Error{Code: "57P01", Severity: "FATAL"}, true},
		{"crash shutdown", &pq.Error{Code: "57P02"}, true},
		{"cannot connect now (starting up)", &pq.Error{Code: "57P03", Severity: "FATAL"}, true},
		{"connection failure", &pq.Error{Code: "08006"}, true},
		{"client unable to establish connection", &pq.Error{Code: "08001"}, true},
		{"unique violation", &pq.Error{Code: "23505"}, false},
		{"syntax error", &pq.Error{Code: "42601"}, false},
		{"query cancelled", &pq.Error{Code: "57014"}, false},
		{"the caller's deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"the caller's cancellation", context.Canceled, false},
		{"a dial the deadline cut short", &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}, true},
		{"no rows", sql.ErrNoRows, false},
		{"anything else", errors.New("boom"), false},
	} {
		got := interpret(c.err)
		if errors.Is(got, ErrUnavailable) != c.want {
			t.Errorf("%s: interpret(%v) = %v; unavailable %v, want %v", c.name, c.err, got, !c.want, c.want)
		}
		if c.want && !errors.Is(got, c.err) {
			t.Errorf("%s: the driver's error is not kept in the chain: %v", c.name, got)
		}
	}
}

// A real PostgreSQL driver error: nothing listens on the port.
func TestPostgresDownIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	db, err := sql.Open("postgres", "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "SELECT 1")
	if err == nil {
		t.Fatalf("something answers on %s", addr)
	}
	if got := interpret(err); !errors.Is(got, ErrUnavailable) {
		t.Errorf("interpret(%v) is not ErrUnavailable", err)
	}
	// Nothing reached the server, so even a write's failure to connect keeps the promise.
	pg := &Store{dialect: schema.Postgres}
	if got := pg.writeOutcome(interpret(err)); !errors.Is(got, ErrUnavailable) {
		t.Errorf("writeOutcome(%v) is not ErrUnavailable", got)
	}
}

// A connection lost after a write may have reached PostgreSQL: the outcome is unknown, so it is
// not ErrUnavailable (which promises nothing was written). SQLite commits in-process.
func TestWriteLostMidFlightIsNotUnavailable(t *testing.T) {
	lost := interpret(&pq.Error{Code: "57P01", Severity: "FATAL"})
	pg := &Store{dialect: schema.Postgres}
	if got := pg.writeOutcome(lost); errors.Is(got, ErrUnavailable) || got == nil {
		t.Errorf("postgres: writeOutcome(%v) = %v, want an unknown outcome", lost, got)
	}
	if got := pg.writeOutcome(interpret(&pq.Error{Code: "57P03"})); !errors.Is(got, ErrUnavailable) {
		t.Errorf("postgres: refused at connect = %v, want ErrUnavailable", got)
	}
	sq := &Store{dialect: schema.SQLite}
	if got := sq.writeOutcome(lost); !errors.Is(got, ErrUnavailable) {
		t.Errorf("sqlite: writeOutcome(%v) = %v, want ErrUnavailable", lost, got)
	}
}

// A real SQLite driver error: another connection holds the write lock past busy_timeout.
func TestSQLiteBusyIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(50)&_txlock=immediate"
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	holder, waiter := open(), open()
	ctx := context.Background()
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	start := time.Now()
	tx2, err := waiter.BeginTx(ctx, nil)
	if err == nil {
		tx2.Rollback()
		t.Fatal("a second writer got the lock")
	}
	if got := interpret(err); !errors.Is(got, ErrUnavailable) {
		t.Errorf("interpret(%v) is not ErrUnavailable", err)
	}
	if time.Since(start) < 40*time.Millisecond {
		t.Errorf("busy after %s: busy_timeout was not waited", time.Since(start))
	}
}
