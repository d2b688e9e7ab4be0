package sim

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"time"

	_ "github.com/lib/pq" // the store's PostgreSQL driver, for the run's own schema
)

// pgSchema makes a fresh schema of the run's own on the PostgreSQL at base (`-pg`), so that a run
// never meets another's units, users or cases, and returns the store's URL (search_path set to
// it) and a drop that removes that schema, and only it, unless keep.
func pgSchema(ctx context.Context, base string, seed uint64, keep bool, log func(string, ...any)) (string, func(), error) {
	admin, err := sql.Open("postgres", base)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("jiaofu_sim_%d_%d_%d", seed, os.Getpid(), time.Now().Unix())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("-pg: create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	drop := func() {
		defer admin.Close()
		if keep {
			log("store kept in PostgreSQL schema %s\n", name)
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(cctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			log("drop schema %s: %v\n", name, err)
		}
	}
	return u.String(), drop, nil
}
