package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jiaofu/config"
	"jiaofu/workflows"
)

// ensurePairingSchedule creates (or updates to the settings) the Temporal Schedule that starts a
// PairingSweep at every pairing month's end; the sweep starts one short check per school.
func ensurePairingSchedule(ctx context.Context, c client.Client, cfg config.Config, log *slog.Logger) error {
	month, term := specLength(cfg, "JIAOFU_PAIRING_MONTH"), specLength(cfg, "JIAOFU_PAIRING_TERM")
	in := workflows.PairingSweepInput{Month: month, Term: term, Threshold: cfg.Count("JIAOFU_PAIRING_SCHOOL_THRESHOLD")}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: month, Offset: workflows.PairingScheduleOffset(month)}}}
	action := &client.ScheduleWorkflowAction{ID: "pairing-sweep", Workflow: workflows.PairingSweep, Args: []any{in},
		TaskQueue: cfg.TemporalTaskQueue, WorkflowRunTimeout: time.Hour}
	sc := c.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: workflows.PairingScheduleID, Spec: spec, Action: action})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		h := sc.GetHandle(ctx, workflows.PairingScheduleID)
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			u.Description.Schedule.Spec = &spec
			u.Description.Schedule.Action = action
			return &client.ScheduleUpdate{Schedule: &u.Description.Schedule}, nil
		}})
	}
	if err == nil {
		log.Info("pairing schedule set", "every", month, "term", term)
	}
	return err
}

func specLength(cfg config.Config, name string) time.Duration {
	t := time.Unix(0, 0)
	return cfg.Duration(name).Due(nil, t).Sub(t)
}
