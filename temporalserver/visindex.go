package temporalserver

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Visibility's search-attribute indexes, made partial.
//
// The SQLite visibility schema indexes every search-attribute column — the custom slots Bool01 …
// Keyword10 and the server's own Temporal* columns, some forty — and SQLite maintains all of them
// on every insert and every replace of a workflow's visibility row (a start, each state change,
// the close), although for almost every row almost all of them are NULL: a workflow sets the few
// attributes its namespace uses. Each such index here carries "WHERE <column> IS NOT NULL", so a
// row enters only the indexes of the attributes it has. Queries are unchanged: a filter on an
// attribute (=, IN, <, >, STARTS_WITH …) implies the column is not NULL, which is what SQLite
// needs to use a partial index; only "<attr> IS NULL" scans, as it would without an index on a
// table where that is most rows. See docs/benchmarks.md, workload 7.

var (
	generatedColumn = regexp.MustCompile(`(?m)^\s*(\w+)\s+[\w(), ]*?GENERATED ALWAYS AS`)
	attributeIndex  = regexp.MustCompile(`(?s)^\s*CREATE INDEX (\w+)\s+ON executions_visibility \(namespace_id, (\w+),.*\)\s*;?\s*$`)
)

// partialAttributeIndexes rewrites the visibility schema's statements: every index whose first
// column after namespace_id is a search attribute (a generated column) becomes partial.
func partialAttributeIndexes(stmts []string) []string {
	attrs := map[string]bool{}
	for _, s := range stmts {
		if strings.Contains(s, "CREATE TABLE executions_visibility") {
			for _, m := range generatedColumn.FindAllStringSubmatch(s, -1) {
				attrs[m[1]] = true
			}
		}
	}
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s
		if m := attributeIndex.FindStringSubmatch(s); m != nil && attrs[m[2]] {
			out[i] = strings.TrimRight(s, " \t\n;") + " WHERE " + m[2] + " IS NOT NULL"
		}
	}
	return out
}

// partialIndexesInPlace brings an existing visibility database's search-attribute indexes to
// their partial form (a data directory created before this change), in one transaction, and
// returns how many it rebuilt. Already partial: nothing is written.
func partialIndexesInPlace(path string) (int, error) {
	raw, err := loadSchema(visibilitySchema)
	if err != nil {
		return 0, err
	}
	stmts := partialAttributeIndexes(raw)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout%3d"+dbBusyTimeoutMillis)
	if err != nil {
		return 0, fmt.Errorf("temporalserver: opening %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		return 0, fmt.Errorf("temporalserver: %s: %w", path, err)
	}
	defer tx.Rollback()
	rebuilt := 0
	for i, stmt := range stmts {
		if stmt == raw[i] {
			continue // not a search-attribute index
		}
		m := attributeIndex.FindStringSubmatch(raw[i])
		var have string
		err := tx.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, m[1]).Scan(&have)
		if err == nil && have == stmt {
			continue
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("temporalserver: reading index %s: %w", m[1], err)
		}
		if _, err := tx.Exec(`DROP INDEX IF EXISTS ` + m[1]); err != nil {
			return 0, fmt.Errorf("temporalserver: dropping index %s: %w", m[1], err)
		}
		if _, err := tx.Exec(stmt); err != nil {
			return 0, fmt.Errorf("temporalserver: creating index %s: %w", m[1], err)
		}
		rebuilt++
	}
	if rebuilt == 0 {
		return 0, nil
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("temporalserver: %s: %w", path, err)
	}
	return rebuilt, nil
}
