package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"

	"jiaofu/access"
	"jiaofu/service"
	"jiaofu/workflows"
)

// Stop lets a running activity finish (JIAOFU_SHUTDOWN_TIMEOUT, the worker's WorkerStopTimeout)
// instead of cutting it off: a dropout case's first activity is held up by the store's write
// lock, taken by another connection, when the service is told to stop; the lock is released a
// few seconds later, and when Stop returns the activity's row is on record.
func TestStopWaitsForTheRunningActivity(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.ShutdownTimeout = 30 * time.Second
	ctx := context.Background()
	svc, err := service.Start(ctx, cfg, service.All, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(svc.Stop) })
	stu := newClient(t, svc).as("staff01").studentOf("王二小")

	// Another writer holds the store's write lock (as another process could).
	db, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, "jiaofu.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}

	wfID := workflows.DropoutWorkflowID(stu.ID)
	caseID := workflows.DropoutCaseID(wfID, "stop")
	if _, err := svc.Temporal.ExecuteWorkflow(ctx, sdkclient.StartWorkflowOptions{ID: wfID, TaskQueue: cfg.TemporalTaskQueue}, workflows.DropoutCase,
		workflows.DropoutInput{CaseID: caseID, StudentID: stu.ID, Reason: "厌学", LastAttendedOn: "2026-11-01",
			OpenedBy: access.Actor{UserID: "u-test", Username: "test"}, Timings: workflows.DropoutTimings{FirstContact: cfg.Duration("JIAOFU_DROPOUT_FIRST_CONTACT"),
				ReturnWindow: cfg.Duration("JIAOFU_DROPOUT_RETURN_WINDOW"), HQWindow: cfg.Duration("JIAOFU_DROPOUT_HQ_WINDOW"),
				Consolidation: cfg.Duration("JIAOFU_DROPOUT_CONSOLIDATION"), CloseApprovalDue: cfg.Duration("JIAOFU_DROPOUT_CLOSE_APPROVAL_DUE")}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool {
		d, err := svc.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
		if err != nil {
			return false
		}
		for _, a := range d.PendingActivities {
			if a.State == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return true
			}
		}
		return false
	}, "the first activity to be running")

	stopped := make(chan time.Duration, 1)
	began := time.Now()
	go func() { once.Do(svc.Stop); stopped <- time.Since(began) }()
	const hold = 3 * time.Second
	select {
	case took := <-stopped:
		t.Fatalf("Stop returned after %s with the activity still running", took)
	case <-time.After(hold):
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	var took time.Duration
	select {
	case took = <-stopped:
	case <-time.After(cfg.ShutdownTimeout + 10*time.Second):
		t.Fatal("Stop did not return within the shutdown timeout")
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM dropout_cases WHERE id = ?`, caseID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %s; the activity's row: %d", took.Round(10*time.Millisecond), n)
	if n != 1 {
		t.Errorf("the activity running at Stop did not finish: its row is not on record")
	}
	if took > cfg.ShutdownTimeout {
		t.Errorf("Stop took %s, more than the shutdown timeout %s", took, cfg.ShutdownTimeout)
	}
}
