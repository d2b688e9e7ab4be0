package store

import (
	"context"
	"strings"
	"testing"

	"jiaofu/access"
	"jiaofu/casework"
)

// TestInboxPlansOnSQLite pins the indexes SQLite (no planner statistics) takes for the inbox: a
// page is found from the covering indexes alone, each branch from its own (the role branch by its
// scope's range as well), and one case's tasks
// through tasks_case alone. Before tasks_assignee became partial, SQLite answered the role branch
// (assignee_id = ”) from it, walking every unclaimed task of every role (found in benchmark
// workload 3: the round trip's inbox read slowed as tasks accumulated).
func TestInboxPlansOnSQLite(t *testing.T) {
	s, err := Open(context.Background(), "", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := access.Actor{UserID: "u1", Roles: []access.Role{{Role: casework.RoleSchoolLeader, UnitKind: KindSchool, UnitPath: "/JS/JS-T01/JS-T01-S01/"}}}
	plan := func(f TaskFilter) string {
		t.Helper()
		query, args := s.inboxQuery(a, f)
		return explainSQLite(t, s, query, args...)
	}
	page := plan(TaskFilter{})
	// The scope is a byte range (store.underPath), so SQLite narrows tasks_inbox by it too; under
	// the LIKE it replaced (which ignores case, so SQLite cannot serve it from a binary index), the
	// branch read every unclaimed task of the role in the county.
	for _, want := range []string{"COVERING INDEX tasks_inbox (state=? AND candidate_role=? AND assignee_id=? AND unit_path>? AND unit_path<?)",
		"COVERING INDEX tasks_assignee"} {
		if !strings.Contains(page, want) {
			t.Errorf("page plan lacks %q: %s", want, page)
		}
	}
	if p := plan(TaskFilter{State: "done", Kind: "subsidy_review", CaseID: "app-1"}); !strings.Contains(p, "tasks_case") ||
		strings.Contains(p, "tasks_inbox") || strings.Contains(p, "tasks_assignee") {
		t.Errorf("one case's tasks are not read through tasks_case: %s", p)
	}
}

// TestBatchStatePlanOnSQLite: a batch's state, read from its entries (batchState) for every batch
// and every application listed, finds them through subsidy_applications_batch, not by reading
// every application of the county.
func TestBatchStatePlanOnSQLite(t *testing.T) {
	s, err := Open(context.Background(), "", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if plan := explainSQLite(t, s, `SELECT `+batchCols+` FROM publicity_batches b JOIN org_units o ON o.id = b.unit_id WHERE b.id = ?`, "b1"); !strings.Contains(plan, "INDEX subsidy_applications_batch (batch_id=? AND state=?)") {
		t.Errorf("a batch's entries are not found through subsidy_applications_batch: %s", plan)
	}
}

// explainSQLite is SQLite's query plan for query, its steps joined by "; ".
func explainSQLite(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.db.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; ")
}
