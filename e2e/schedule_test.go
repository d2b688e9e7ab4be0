package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"

	"jiaofu/service"
	"jiaofu/store"
	"jiaofu/workflows"
)

// TestScheduleOpensRoutineRounds: the routine-round schedule exists after the service starts (a
// second start keeps one), and with a short interval it opens routine rounds of the inspectorate
// over the township central schools by itself, without anyone planning them.
func TestScheduleOpensRoutineRounds(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.InspectionScheduleEvery = 3 * time.Second
	svc := startService(t, cfg)
	ctx := context.Background()
	h := svc.Temporal.ScheduleClient().GetHandle(ctx, workflows.RoutineRoundScheduleID)
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("the routine-round schedule after start: %v", err)
	}
	if d.Schedule.Spec == nil || len(d.Schedule.Spec.Intervals) != 1 {
		t.Errorf("schedule spec: %+v", d.Schedule.Spec)
	}
	inspector := newClient(t, svc).as("inspector01")
	var rounds struct {
		Items []store.InspectionRound
	}
	eventually(t, 90*time.Second, func() bool {
		inspector.do("GET", "/api/v1/inspection-rounds", nil, &rounds)
		return len(rounds.Items) > 0
	}, "a routine round opened by the schedule")
	r := rounds.Items[0]
	if r.Kind != "routine" || !strings.HasPrefix(r.ID, "round-routine-") || r.UnitCode != "JS-DDB" || r.CreatedBy != "system" {
		t.Errorf("round: %+v", r)
	}
	var full struct{ Round store.InspectionRound }
	inspector.do("GET", "/api/v1/inspection-rounds/"+r.ID, nil, &full)
	var codes []string
	for _, u := range full.Round.Units {
		codes = append(codes, u.Code)
		if u.Kind != store.KindTownshipSchool && u.ParentCode != "JS" {
			t.Errorf("a routine round of the inspectorate visits %s (%s), not a township central school or county school", u.Code, u.Kind)
		}
	}
	if len(codes) < 10 {
		t.Errorf("the round visits %v, want every township central school", codes)
	}
	if err := h.Delete(ctx); err != nil { // the embedded server goes with the test; stop its starts now
		t.Logf("delete schedule: %v", err)
	}
}

// TestScheduleKeptAcrossStarts: on the calendar (the default), the schedule is created once; a
// start that finds it brings it to the current settings instead of failing.
func TestScheduleKeptAcrossStarts(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	svc := startService(t, cfg)
	ctx := context.Background()
	d, err := svc.Temporal.ScheduleClient().GetHandle(ctx, workflows.RoutineRoundScheduleID).Describe(ctx)
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if n := len(d.Schedule.Spec.Calendars); n != 4 {
		t.Errorf("calendar spec: %d entries, want 4 (two rounds a term)", n)
	}
	// The sweeps keep a sweep that falls due while the one before still runs (each judges its own
	// period), and the routine rounds a round (a skipped one is a round the term never had); a
	// schedule an older build made skips it, and a start brings it over.
	kept := []string{workflows.DutyScheduleID, workflows.PairingScheduleID, workflows.RoutineRoundScheduleID}
	for _, id := range kept {
		if got := overlapOf(t, svc, id); got != enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL {
			t.Errorf("schedule %s: overlap %s, want BUFFER_ALL", id, got)
		}
		if err := svc.Temporal.ScheduleClient().GetHandle(ctx, id).Update(ctx, sdkclient.ScheduleUpdateOptions{
			DoUpdate: func(in sdkclient.ScheduleUpdateInput) (*sdkclient.ScheduleUpdate, error) {
				sch := in.Description.Schedule
				sch.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				return &sdkclient.ScheduleUpdate{Schedule: &sch}, nil
			}}); err != nil {
			t.Fatalf("make %s skip as an older build did: %v", id, err)
		}
	}
	cfg.SetCount("JIAOFU_INSPECTION_ROUNDS_PER_TERM", 3)
	svc.Config = cfg
	if err := svc.EnsureSchedules(ctx); err != nil {
		t.Fatalf("a second ensure: %v", err)
	}
	d, err = svc.Temporal.ScheduleClient().GetHandle(ctx, workflows.RoutineRoundScheduleID).Describe(ctx)
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if n := len(d.Schedule.Spec.Calendars); n != 6 {
		t.Errorf("after the setting changed: %d calendar entries, want 6", n)
	}
	for _, id := range kept {
		if got := overlapOf(t, svc, id); got != enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL {
			t.Errorf("schedule %s after a start: overlap %s, want BUFFER_ALL", id, got)
		}
	}
}

func overlapOf(t *testing.T, svc *service.Service, id string) enumspb.ScheduleOverlapPolicy {
	t.Helper()
	d, err := svc.Temporal.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d.Schedule.Policy.Overlap
}
