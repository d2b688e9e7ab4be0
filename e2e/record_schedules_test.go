package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"

	"jiaofu/service"
	"jiaofu/workflows"
)

// TestScheduledWorkflowsComplete: the workflows the service's Schedules start — the routine round,
// the plan's duty sweep, the pairing sweep and its per-school check, the audit checkpoint — run to
// completion on the real service, each started by its Schedule (the short intervals below, or a
// trigger). Their histories are recorded for the replay test (workflows.
// TestEveryWorkflowHasARecordedHistory asks for one of every registered workflow).
func TestScheduledWorkflowsComplete(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.InspectionScheduleEvery = 3 * time.Second
	cfg.DutyCheckEvery = 6 * time.Second
	cfg.SetDuration("JIAOFU_PAIRING_MONTH", mustSpec(t, "4s"))
	cfg.SetDuration("JIAOFU_PAIRING_TERM", mustSpec(t, "400s"))
	svc := startService(t, cfg)
	ctx := context.Background()
	anon := newClient(t, svc)
	admin, staff, teacher := anon.as("admin"), anon.as("staff01"), anon.as("teacher01")
	// A pairing, so that the pairing sweep has a school to check; its ladder short, so that the
	// check ends within the test.
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/pairing_duty", map[string]any{"rungs": []map[string]string{
		{"after": "0s", "target": "teacher"}, {"after": "1s", "target": "school_leader"}}}, nil); code != 200 {
		t.Fatalf("put the pairing ladder: %d", code)
	}
	var me struct {
		ID string `json:"user_id"`
	}
	teacher.do("GET", "/api/v1/me", nil, &me)
	if code := staff.do("POST", "/api/v1/pairings", map[string]string{"teacher_id": me.ID, "student_id": staff.studentOf("李梅").ID}, nil); code != 201 {
		t.Fatalf("pair: %d", code)
	}
	if err := svc.Temporal.ScheduleClient().GetHandle(ctx, workflows.AuditCheckpointScheduleID).Trigger(ctx, sdkclient.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("trigger the audit checkpoint: %v", err)
	}

	for _, c := range []struct{ workflowType, record string }{
		{"RoutineRound", "schedule_routine_round_scheduled_time"},
		{"DutySweep", "schedule_duty_sweep_together"},
		{"PairingSweep", "schedule_pairing_sweep_together"},
		{"PairingSchoolCheck", "schedule_pairing_school_check"},
		{"AuditCheckpoint", "schedule_audit_checkpoint"},
	} {
		id, run := completedRunOf(t, svc, c.workflowType, 90*time.Second)
		recordRun(t, svc, id, run, c.record)
	}
	// The embedded server goes with the test; stop the schedules' starts now.
	for _, id := range []string{workflows.RoutineRoundScheduleID, workflows.DutyScheduleID, workflows.PairingScheduleID, workflows.AuditCheckpointScheduleID} {
		if err := svc.Temporal.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
			t.Logf("delete schedule %s: %v", id, err)
		}
	}
}

// completedRunOf waits for a completed run of a workflow type and returns its id and run id.
func completedRunOf(t *testing.T, svc *service.Service, workflowType string, within time.Duration) (string, string) {
	t.Helper()
	var id, run string
	eventually(t, within, func() bool {
		resp, err := svc.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", workflowType), PageSize: 1})
		if err != nil || len(resp.GetExecutions()) == 0 {
			return false
		}
		e := resp.GetExecutions()[0].GetExecution()
		id, run = e.GetWorkflowId(), e.GetRunId()
		return true
	}, "a completed %s", workflowType)
	return id, run
}
