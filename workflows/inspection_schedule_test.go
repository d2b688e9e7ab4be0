package workflows_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/workflows"
)

// firings lists the instants in [from, to) a schedule spec of calendars fires at (the test
// environment runs no schedules: this reads the spec as the server would, for the fields the
// routine-round spec uses).
func firings(spec client.ScheduleSpec, from, to time.Time) []time.Time {
	var out []time.Time
	for d := from.Truncate(24 * time.Hour); d.Before(to); d = d.AddDate(0, 0, 1) {
		for _, c := range spec.Calendars {
			if int(d.Month()) == c.Month[0].Start && d.Day() == c.DayOfMonth[0].Start {
				at := d.Add(time.Duration(c.Hour[0].Start) * time.Hour)
				if !at.Before(from) && at.Before(to) {
					out = append(out, at)
				}
			}
		}
	}
	return out
}

// TestScheduleRoundsPerTerm: the county default is two routine rounds a term, in each term's
// teaching weeks; the setting changes how many; an interval replaces the calendar.
func TestScheduleRoundsPerTerm(t *testing.T) {
	year := [2]time.Time{time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 8, 1, 0, 0, 0, 0, time.UTC)}
	got := firings(workflows.RoutineRoundSpec(2, 0), year[0], year[1])
	want := []string{"2026-09-08", "2026-11-07", "2027-03-08", "2027-05-07"}
	var days []string
	for _, at := range got {
		days = append(days, at.Format("2006-01-02"))
	}
	if !slices.Equal(days, want) {
		t.Fatalf("two a term: %v, want %v", days, want)
	}
	if n := len(firings(workflows.RoutineRoundSpec(4, 0), year[0], year[1])); n != 8 {
		t.Errorf("four a term: %d rounds a year, want 8", n)
	}
	if n := len(firings(workflows.RoutineRoundSpec(500, 0), year[0], year[1])); n != 60 {
		t.Errorf("a huge setting: %d rounds a year, want the cap of 60", n)
	}
	if s := workflows.RoutineRoundSpec(2, time.Minute); len(s.Calendars) != 0 || len(s.Intervals) != 1 || s.Intervals[0].Every != time.Minute {
		t.Errorf("an interval: %+v", s)
	}
}

// TestScheduleOpensRoutineRoundsAcrossAYear drives RoutineRound, the schedule's action, at every
// instant the default spec fires in a school year, on the workflow clock (time skipping): each
// opens one round of the inspectorate for the term the day falls in, planned for that day, with
// an id of its own from the scheduled time.
func TestScheduleOpensRoutineRoundsAcrossAYear(t *testing.T) {
	env := newTestEnv()
	env.SetTestTimeout(time.Minute)
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	var mu sync.Mutex
	var opened []activities.RoutineRoundInput
	var acts *activities.Activities
	env.OnActivity(acts.OpenRoutineRound, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RoutineRoundInput) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, in)
		return in.ID, nil
	})
	env.RegisterWorkflow(workflows.RoutineRound)
	at := firings(workflows.RoutineRoundSpec(2, 0), start, start.AddDate(1, 0, 0))
	driver := func(ctx workflow.Context) ([]string, error) {
		var ids []string
		for _, t := range at {
			if err := workflow.Sleep(ctx, t.Sub(workflow.Now(ctx))); err != nil {
				return nil, err
			}
			var id string
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflows.RoutineRoundScheduleID + "-" + t.Format(time.RFC3339)})
			if err := workflow.ExecuteChildWorkflow(cctx, workflows.RoutineRound, workflows.RoutineRoundStart{InspectorateUnit: "JS-DDB"}).Get(ctx, &id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	env.RegisterWorkflow(driver)
	env.ExecuteWorkflow(driver)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := env.GetWorkflowResult(&ids); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 4 || len(ids) != 4 {
		t.Fatalf("rounds opened: %+v (ids %v), want 4", opened, ids)
	}
	want := []struct{ term, day, id string }{
		{"2026-2027-1", "2026-09-08", "round-routine-20260908-080000"},
		{"2026-2027-1", "2026-11-07", "round-routine-20261107-080000"},
		{"2026-2027-2", "2027-03-08", "round-routine-20270308-080000"},
		{"2026-2027-2", "2027-05-07", "round-routine-20270507-080000"},
	}
	for i, w := range want {
		o := opened[i]
		if o.Term != w.term || o.PlannedOn != w.day || o.ID != w.id || o.InspectorateUnit != "JS-DDB" || ids[i] != w.id {
			t.Errorf("round %d: %+v (id %s), want %+v", i, o, ids[i], w)
		}
	}
}
