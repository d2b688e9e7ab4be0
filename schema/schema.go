// Package schema holds jiaofu's numbered SQL migrations and applies them.
//
// One set of migration files serves both databases: a few tokens ({{TIME}}, {{BOOL}}, …) are
// expanded per dialect, so the tables and columns are the same on SQLite and PostgreSQL.
// {{PATTERN_OPS}} after an indexed text column lets PostgreSQL use the index for byte-order
// prefix ranges (~>=~, ~<~: the store's unit-path scopes) and prefix LIKEs under any collation
// (text_pattern_ops); SQLite has no operator classes and drops it. {{BYTES}} is a column of raw
// bytes (an uploaded file).
package schema

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"testing/fstest"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect names the SQL flavour a database speaks.
type Dialect string

// The two supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

var tokens = map[Dialect][]string{
	Postgres: {"{{TIME}}", "TIMESTAMPTZ", "{{BOOL}}", "BOOLEAN", "{{TRUE}}", "TRUE", "{{FALSE}}", "FALSE",
		"{{SERIAL}}", "BIGSERIAL PRIMARY KEY", "{{PATTERN_OPS}}", "text_pattern_ops", "{{BYTES}}", "BYTEA"},
	SQLite: {"{{TIME}}", "DATETIME", "{{BOOL}}", "BOOLEAN", "{{TRUE}}", "1", "{{FALSE}}", "0",
		"{{SERIAL}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{PATTERN_OPS}}", "", "{{BYTES}}", "BLOB"},
}

// Files returns the migrations expanded for d.
func Files(d Dialect) (fs.FS, error) {
	repl, ok := tokens[d]
	if !ok {
		return nil, fmt.Errorf("schema: unknown dialect %q", d)
	}
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(repl); i += 2 {
			b = bytes.ReplaceAll(b, []byte(repl[i]), []byte(repl[i+1]))
		}
		if i := bytes.Index(b, []byte("{{")); i >= 0 {
			return nil, fmt.Errorf("schema: %s has an unknown token near %q", e.Name(), b[i:min(len(b), i+20)])
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	return out, nil
}

func provider(d Dialect, db *sql.DB) (*goose.Provider, error) {
	files, err := Files(d)
	if err != nil {
		return nil, err
	}
	gd := goose.DialectPostgres
	if d == SQLite {
		gd = goose.DialectSQLite3
	}
	return goose.NewProvider(gd, db, files, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, d Dialect, db *sql.DB) error {
	p, err := provider(d, db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("schema: migrate: %w", err)
	}
	return check(ctx, p)
}

// ErrBehind is returned by Check when the database lacks migrations this binary knows.
var ErrBehind = errors.New("schema: database schema is behind this binary; run `jiaofu migrate`")

// Check refuses a database whose schema is behind the binary's migrations.
func Check(ctx context.Context, d Dialect, db *sql.DB) error {
	p, err := provider(d, db)
	if err != nil {
		return err
	}
	return check(ctx, p)
}

func check(ctx context.Context, p *goose.Provider) error {
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("schema: read version: %w", err)
	}
	if current < target {
		return fmt.Errorf("%w (database at %d, binary at %d)", ErrBehind, current, target)
	}
	if current > target {
		return fmt.Errorf("%w (database at %d, binary at %d)", ErrAhead, current, target)
	}
	return nil
}

// ErrAhead is returned when the database was migrated by a newer binary: an older one would
// misread it, so it refuses to serve.
var ErrAhead = errors.New("schema: database schema is newer than this binary; run the newer release")

// Version is the schema version of the database at db (the newest migration applied): a backup
// records it.
func Version(ctx context.Context, d Dialect, db *sql.DB) (int64, error) {
	p, err := provider(d, db)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("schema: read version: %w", err)
	}
	return v, nil
}

// Latest is the version of the newest migration this binary has: a restore refuses a backup
// made at a newer one.
func Latest() (int64, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return 0, fmt.Errorf("schema: %s: %w", e.Name(), err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}
