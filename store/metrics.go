package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"jiaofu/casework"
)

// The counts /metrics reads at each scrape (telemetry.StoreCollector). Each is one query over a
// whole table, grouped by a handful of low-cardinality columns (process, kind, state), so its cost
// is bounded by the table's size and not by how often anything happens; nothing here is counted
// by the workflows, which replay.

// TaskCount is one process's tasks of one kind.
type TaskCount struct {
	Process string `db:"process"`
	Kind    string `db:"kind"`
	// Opened is every task ever opened (rows are never deleted), Completed those done (withdrawn
	// and cancelled ones are neither), Overdue the open ones past their due time at the query,
	// Escalated those at least one rung of whose ladder fired (a reminder is a rung).
	Opened    int64 `db:"opened"`
	Completed int64 `db:"completed"`
	Overdue   int64 `db:"overdue"`
	Escalated int64 `db:"escalated"`
}

// TaskCounts counts the tasks by process and kind, overdue as of now.
func (s *Store) TaskCounts(ctx context.Context, now time.Time) ([]TaskCount, error) {
	var out []TaskCount
	err := s.sel(ctx, s.db, &out, `SELECT process, kind, COUNT(*) AS opened,
		SUM(CASE WHEN state = ? THEN 1 ELSE 0 END) AS completed,
		SUM(CASE WHEN state = ? AND due_at < ? THEN 1 ELSE 0 END) AS overdue,
		SUM(CASE WHEN escalation_level > 0 THEN 1 ELSE 0 END) AS escalated
		FROM tasks GROUP BY process, kind ORDER BY process, kind`, casework.TaskDone, casework.TaskOpen, utc(now))
	if err != nil {
		return nil, fmt.Errorf("task counts: %w", err)
	}
	return out, nil
}

// EscalationCount is the escalation records of one process and kind (a task kind, or a case
// deadline's kind) to one target.
type EscalationCount struct {
	Process string `db:"process"`
	Kind    string `db:"kind"`
	Target  string `db:"target"`
	Count   int64  `db:"n"`
}

// EscalationCounts counts every escalation record ever recorded by process, kind and target.
func (s *Store) EscalationCounts(ctx context.Context) ([]EscalationCount, error) {
	var out []EscalationCount
	err := s.sel(ctx, s.db, &out, `SELECT process, task_kind AS kind, target, COUNT(*) AS n
		FROM escalations GROUP BY process, task_kind, target ORDER BY process, task_kind, target`)
	if err != nil {
		return nil, fmt.Errorf("escalation counts: %w", err)
	}
	return out, nil
}

// CaseCount is the cases of one kind of one process in one state.
type CaseCount struct {
	Process string `db:"process"`
	Case    string `db:"case_kind"`
	State   string `db:"state"`
	Count   int64  `db:"n"`
}

// CaseTable is where a kind of case keeps its state: the process and case kind of the registry
// (casework.Processes) and its table, whose column state holds one of the kind's states.
type CaseTable struct {
	Process, Case, Table string
}

// CaseTables are the case kinds whose state the store keeps, one table each. The kinds left out
// have one state only and no state column (a plan, a 包保 contact, a school duty: casework/plan.go);
// TestCaseTablesCoverTheRegistry keeps this list and the registry together.
var CaseTables = []CaseTable{
	{casework.ProcessSubsidy, "app", "subsidy_applications"},
	{casework.ProcessSubsidy, "batch", "publicity_batches"},
	{casework.ProcessDropout, "dropout", "dropout_cases"},
	{casework.ProcessInspection, "round", "inspection_rounds"},
	{casework.ProcessInspection, "finding", "inspection_findings"},
	{casework.ProcessSendHome, "sendhome", "send_home_plans"},
	{casework.ProcessPairing, "pairing", "pairings"},
	{casework.ProcessPlan, "plan_task", "plan_tasks"},
	{casework.ProcessHardship, "grant", "hardship_grants"},
	{casework.ProcessHardship, "donation", "hardship_donations"},
}

// CaseCounts counts the cases of every kind in CaseTables by state, in one query.
func (s *Store) CaseCounts(ctx context.Context) ([]CaseCount, error) {
	parts := make([]string, 0, len(CaseTables))
	var args []any
	for _, t := range CaseTables {
		// The table name comes from the list above, never from a request.
		parts = append(parts, `SELECT CAST(? AS TEXT) AS process, CAST(? AS TEXT) AS case_kind, state, COUNT(*) AS n FROM `+t.Table+` GROUP BY state`)
		args = append(args, t.Process, t.Case)
	}
	var out []CaseCount
	if err := s.sel(ctx, s.db, &out, strings.Join(parts, " UNION ALL ")+` ORDER BY process, case_kind, state`, args...); err != nil {
		return nil, fmt.Errorf("case counts: %w", err)
	}
	return out, nil
}
