package temporalserver

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// TestVisibilityMovesOutOfTemporalDB: a data directory from before the split keeps its
// visibility records in temporal.db; the first start with visibility.db copies them over (the
// full-text tables included) and later starts leave both files alone.
func TestVisibilityMovesOutOfTemporalDB(t *testing.T) {
	dir := t.TempDir()
	mainPath, visPath := filepath.Join(dir, dbFileName), filepath.Join(dir, visFileName)
	if err := createSchema(mainPath, append(append([]string{}, mainSchema...), visibilitySchema...), "", nil); err != nil {
		t.Fatalf("legacy database: %v", err)
	}
	legacy, err := sql.Open("sqlite", "file:"+mainPath+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := legacy.Exec(`INSERT INTO executions_visibility (namespace_id, run_id, start_time, execution_time, workflow_id,
			workflow_type_name, status, encoding, search_attributes) VALUES ('ns', ?, '2026-01-01 00:00:00+00:00',
			'2026-01-01 00:00:00+00:00', ?, 'greet', 1, 'Proto3', '{"Keyword01": "p-1", "Text01": "hello world"}')`,
			fmt.Sprintf("run-%d", i), fmt.Sprintf("wf-legacy-%d", i)); err != nil {
			t.Fatalf("legacy row: %v", err)
		}
	}
	legacy.Close()

	created, err := ensureVisibility(visPath, mainPath)
	if err != nil || !created {
		t.Fatalf("ensureVisibility = %v, %v; want true, nil", created, err)
	}
	vis, err := sql.Open("sqlite", "file:"+visPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer vis.Close()
	var n, fts int
	var kw string
	if err := vis.QueryRow(`SELECT count(*), max(Keyword01) FROM executions_visibility`).Scan(&n, &kw); err != nil || n != 3 || kw != "p-1" {
		t.Errorf("copied rows = %d (Keyword01 %q, %v), want 3 (p-1)", n, kw, err)
	}
	if err := vis.QueryRow(`SELECT count(*) FROM executions_visibility_fts_text WHERE executions_visibility_fts_text MATCH 'hello'`).Scan(&fts); err != nil || fts != 3 {
		t.Errorf("full-text rows = %d (%v), want 3", fts, err)
	}
	if created, err := ensureVisibility(visPath, mainPath); err != nil || created {
		t.Errorf("second ensureVisibility = %v, %v; want false, nil", created, err)
	}
}

// TestVisibilityInItsOwnFile: a new server lists its workflows from visibility.db.
func TestVisibilityInItsOwnFile(t *testing.T) {
	dir := t.TempDir()
	s := startTestServer(t, dir, 24*time.Hour, nil)
	defer s.Stop()
	c := dial(t, s)
	defer c.Close()
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "listed", TaskQueue: testTaskQueue}, greetWorkflow, "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace, Query: `WorkflowId = "listed"`})
		if err == nil && len(resp.GetExecutions()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow not listed: %v %v", resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	vis, err := sql.Open("sqlite", "file:"+filepath.Join(dir, visFileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer vis.Close()
	var n int
	if err := vis.QueryRow(`SELECT count(*) FROM executions_visibility WHERE workflow_id = 'listed'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("visibility.db rows for the workflow = %d (%v), want 1", n, err)
	}
	var tables int
	if err := vis.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'executions'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("visibility.db has the main schema's tables (%d, %v)", tables, err)
	}
}

// TestSearchAttributeIndexesArePartial: a new visibility database has its search-attribute
// indexes partial; one from before (full indexes) is rebuilt once, keeps its rows, and a filter on
// an attribute still reads through that attribute's index.
func TestSearchAttributeIndexesArePartial(t *testing.T) {
	visPath := filepath.Join(t.TempDir(), visFileName)
	if err := createSchema(visPath, visibilitySchema, "", nil); err != nil {
		t.Fatal(err)
	}
	partial := func(db *sql.DB) int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility'
			AND sql LIKE '% IS NOT NULL'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	db, err := sql.Open("sqlite", "file:"+visPath+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	want := partial(db)
	if want < 40 {
		t.Fatalf("a new visibility database has %d partial indexes, want the ~44 search-attribute ones", want)
	}
	if n, err := partialIndexesInPlace(visPath); n != 0 || err != nil {
		t.Fatalf("on a new database partialIndexesInPlace = %d, %v; want 0, nil", n, err)
	}

	// The database as the server's own schema makes it: every index full.
	raw, err := loadSchema(visibilitySchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range raw {
		if m := attributeIndex.FindStringSubmatch(stmt); m != nil {
			if _, err := db.Exec(`DROP INDEX ` + m[1]); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := partial(db); n != 0 {
		t.Fatalf("legacy database still has %d partial indexes", n)
	}
	for i, attrs := range []string{`{"Keyword01": "p-1"}`, `{"Keyword01": "p-2"}`, `{}`} {
		if _, err := db.Exec(`INSERT INTO executions_visibility (namespace_id, run_id, start_time, execution_time, workflow_id,
			workflow_type_name, status, encoding, search_attributes) VALUES ('ns', ?, '2026-01-01 00:00:00+00:00',
			'2026-01-01 00:00:00+00:00', ?, 'greet', 1, 'Proto3', ?)`, fmt.Sprintf("run-%d", i), fmt.Sprintf("wf-%d", i), attrs); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	if n, err := partialIndexesInPlace(visPath); n != want || err != nil {
		t.Fatalf("upgrade: partialIndexesInPlace = %d, %v; want %d, nil", n, err, want)
	}
	if n, err := partialIndexesInPlace(visPath); n != 0 || err != nil {
		t.Fatalf("second upgrade: partialIndexesInPlace = %d, %v; want 0, nil", n, err)
	}
	db, err = sql.Open("sqlite", "file:"+visPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := partial(db); n != want {
		t.Errorf("after the upgrade %d partial indexes, want %d", n, want)
	}
	const query = `SELECT workflow_id FROM executions_visibility WHERE namespace_id = 'ns' AND Keyword01 = 'p-2'
		ORDER BY COALESCE(close_time, '9999-12-31 23:59:59+00:00') DESC, start_time DESC, run_id`
	var got string
	if err := db.QueryRow(query).Scan(&got); err != nil || got != "wf-1" {
		t.Errorf("Keyword01 = 'p-2' found %q (%v), want wf-1", got, err)
	}
	var plan []string
	rows, err := db.Query(`EXPLAIN QUERY PLAN ` + query)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	rows.Close()
	if !strings.Contains(strings.Join(plan, "; "), "by_keyword_01") {
		t.Errorf("a filter on Keyword01 does not use its partial index: %v", plan)
	}
}
