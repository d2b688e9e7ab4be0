package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/workflows"
)

// EnsureSchedules creates the service's Temporal Schedules, or brings existing ones to the
// current settings: every start does it, so it is idempotent.
//   - the inspectorate's routine rounds (workflows.RoutineRound): JIAOFU_INSPECTION_ROUNDS_PER_TERM
//     a term by the term calendar (workflows.RoutineRoundSpec), or every
//     JIAOFU_INSPECTION_SCHEDULE_EVERY when that is set;
//   - the work plan's duty sweep (workflows.DutySweep) after every month, which starts one short
//     check per unit owed a 包保 contact, and at a term's end per school (docs/plan.md);
//   - the pairing duties' sweep (workflows.PairingSweep) at every pairing month's end, which
//     starts one short check per school (docs/pairing.md);
//   - the audit trail's daily signed checkpoint (workflows.AuditCheckpoint, README "Audit
//     checkpoints").
func (s *Service) EnsureSchedules(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg := s.Config
	rounds := workflows.RoutineRoundSpec(cfg.Count("JIAOFU_INSPECTION_ROUNDS_PER_TERM"), cfg.InspectionScheduleEvery)
	if err := s.ensureSchedule(ctx, client.ScheduleOptions{ID: workflows.RoutineRoundScheduleID, Spec: rounds,
		Action: &client.ScheduleWorkflowAction{ID: workflows.RoutineRoundScheduleID, Workflow: workflows.RoutineRound,
			Args: []any{workflows.RoutineRoundStart{InspectorateUnit: cfg.InspectorateUnit}}, TaskQueue: cfg.TemporalTaskQueue,
			WorkflowExecutionTimeout: time.Hour},
		Overlap: everyRun, CatchupWindow: 24 * time.Hour, Note: "例行督查：每学期由督导办自动开启"}); err != nil {
		return err
	}
	if err := s.ensureSchedule(ctx, client.ScheduleOptions{ID: workflows.DutyScheduleID, Spec: workflows.DutyScheduleSpec(cfg.DutyCheckEvery),
		Action: &client.ScheduleWorkflowAction{ID: "plan-duty-sweep", Workflow: workflows.DutySweep,
			Args: []any{workflows.DutySweepInput{Every: cfg.DutyCheckEvery, Quotas: map[string]int{
				casework.SchoolDutyArticle:        cfg.Count(casework.SchoolDutyQuotaSetting(casework.SchoolDutyArticle)),
				casework.SchoolDutyProgressReport: cfg.Count(casework.SchoolDutyQuotaSetting(casework.SchoolDutyProgressReport))}}},
			TaskQueue: cfg.TemporalTaskQueue, WorkflowRunTimeout: time.Hour},
		Overlap: everyRun, CatchupWindow: 24 * time.Hour, Note: "任务清单：每月检查包保联系，每学期末检查学校任务"}); err != nil {
		return err
	}
	if err := s.ensureSchedule(ctx, client.ScheduleOptions{ID: workflows.AuditCheckpointScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.AuditCheckpointEvery, Offset: workflows.AuditCheckpointOffset}}},
		Action: &client.ScheduleWorkflowAction{ID: "audit-checkpoint", Workflow: workflows.AuditCheckpoint,
			TaskQueue: cfg.TemporalTaskQueue, WorkflowRunTimeout: time.Hour},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: 24 * time.Hour, Note: "审计链：每日签署检查点"}); err != nil {
		return err
	}
	month, term := specLength(cfg, "JIAOFU_PAIRING_MONTH"), specLength(cfg, "JIAOFU_PAIRING_TERM")
	return s.ensureSchedule(ctx, client.ScheduleOptions{ID: workflows.PairingScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: month, Offset: workflows.PairingScheduleOffset(month)}}},
		Action: &client.ScheduleWorkflowAction{ID: "pairing-sweep", Workflow: workflows.PairingSweep,
			Args:      []any{workflows.PairingSweepInput{Month: month, Term: term, Threshold: cfg.Count("JIAOFU_PAIRING_SCHOOL_THRESHOLD")}},
			TaskQueue: cfg.TemporalTaskQueue, WorkflowRunTimeout: time.Hour},
		Overlap: everyRun, Note: "结对帮扶：每月末按学校检查六个一"})
}

// everyRun is what the sweeps' and the routine rounds' Schedules do with a run that falls due
// while the one before it still runs: keep it, and start it when that one ends. Each sweep judges
// the period that ended at its nominal time (workflows.sweepTime), so a skipped sweep (the default
// policy) was a period nobody ever checked: a simulated term with short periods on a loaded
// machine lost three of its nine duty sweeps that way. A routine round skipped was a round the
// term never had (its run is one activity, so it only overlaps the next when that activity is
// stuck, the store down, for the whole gap). The audit checkpoint keeps SKIP: it signs the chain
// as it is when it runs, so the next one covers what a skipped one would have.
const everyRun = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL

// ensureSchedule creates a schedule, or updates an existing one's spec, action and policies to
// opts (a service started by an older build brings its schedules to this build's settings).
func (s *Service) ensureSchedule(ctx context.Context, opts client.ScheduleOptions) error {
	sc := s.Temporal.ScheduleClient()
	_, err := sc.Create(ctx, opts)
	if err == nil {
		s.log.Info("schedule created", "schedule", opts.ID)
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %s: %w", opts.ID, err)
	}
	err = sc.GetHandle(ctx, opts.ID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			sch.Spec, sch.Action = &opts.Spec, opts.Action
			if sch.Policy == nil {
				sch.Policy = &client.SchedulePolicies{}
			}
			// A policy left unset in opts is the server's default, as at creation.
			sch.Policy.Overlap = opts.Overlap
			if opts.CatchupWindow > 0 {
				sch.Policy.CatchupWindow = opts.CatchupWindow
			}
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		}})
	if err != nil {
		return fmt.Errorf("schedule %s: update: %w", opts.ID, err)
	}
	return nil
}

// specLength is a setting's period as a fixed length (a schedule's interval).
func specLength(cfg config.Config, name string) time.Duration {
	t := time.Unix(0, 0)
	return cfg.Duration(name).Due(nil, t).Sub(t)
}
