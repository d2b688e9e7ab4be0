package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"jiaofu/schema"
)

func TestRefusesBehindAndAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := schema.Check(ctx, schema.SQLite, db); !errors.Is(err, schema.ErrBehind) {
		t.Fatalf("empty database: %v, want ErrBehind", err)
	}
	if err := schema.Migrate(ctx, schema.SQLite, db); err != nil {
		t.Fatal(err)
	}
	if err := schema.Check(ctx, schema.SQLite, db); err != nil {
		t.Fatalf("migrated database: %v", err)
	}
	// A newer release migrated this database: an older binary must refuse it.
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, 1)`); err != nil {
		t.Fatal(err)
	}
	if err := schema.Check(ctx, schema.SQLite, db); !errors.Is(err, schema.ErrAhead) {
		t.Fatalf("database ahead: %v, want ErrAhead", err)
	}
	if err := schema.Migrate(ctx, schema.SQLite, db); !errors.Is(err, schema.ErrAhead) {
		t.Fatalf("migrate on a database ahead: %v, want ErrAhead", err)
	}
}

func TestEveryTokenExpands(t *testing.T) {
	t.Parallel()
	for _, d := range []schema.Dialect{schema.SQLite, schema.Postgres} {
		if _, err := schema.Files(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if _, err := schema.Files("oracle"); err == nil {
		t.Error("unknown dialect accepted")
	}
}
