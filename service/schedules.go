package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jiaofu/workflows"
)

// EnsureSchedules creates the service's Temporal Schedules, or brings existing ones to the
// current settings: every start does it, so it is idempotent. Today there is one, the
// inspectorate's routine rounds (workflows.RoutineRound): JIAOFU_INSPECTION_ROUNDS_PER_TERM a
// term by the term calendar (workflows.RoutineRoundSpec), or every
// JIAOFU_INSPECTION_SCHEDULE_EVERY when that is set.
func (s *Service) EnsureSchedules(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	spec := workflows.RoutineRoundSpec(s.Config.Count("JIAOFU_INSPECTION_ROUNDS_PER_TERM"), s.Config.InspectionScheduleEvery)
	action := &client.ScheduleWorkflowAction{ID: workflows.RoutineRoundScheduleID, Workflow: workflows.RoutineRound,
		Args: []any{workflows.RoutineRoundStart{InspectorateUnit: s.Config.InspectorateUnit}}, TaskQueue: s.Config.TemporalTaskQueue,
		WorkflowExecutionTimeout: time.Hour}
	sc := s.Temporal.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: workflows.RoutineRoundScheduleID, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: 24 * time.Hour, Note: "例行督查：每学期由督导办自动开启"})
	if err == nil {
		s.log.Info("schedule created", "schedule", workflows.RoutineRoundScheduleID)
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %s: %w", workflows.RoutineRoundScheduleID, err)
	}
	err = sc.GetHandle(ctx, workflows.RoutineRoundScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			sch.Spec, sch.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		}})
	if err != nil {
		return fmt.Errorf("schedule %s: update: %w", workflows.RoutineRoundScheduleID, err)
	}
	return nil
}
