package workflows_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/workflows"
)

// TestSweepsCheckThePeriodTheirScheduleMeant: a duty sweep or a pairing sweep started late — a
// compressed period's more than half a period late on a busy machine, a month's caught up the
// next afternoon after the service was switched off overnight — checks the period that ended at
// its Schedule's nominal time, not the one that has begun since; a sweep no Schedule started
// (no nominal time) takes its own start, as before.
func TestSweepsCheckThePeriodTheirScheduleMeant(t *testing.T) {
	const every = 40 * time.Second
	_, boundary := workflows.PairingPeriod(t0, every) // a period's end
	late := boundary.Add(every/2 + 5*time.Second)     // past half of the next period
	nominal := temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime").ValueSet(boundary))

	for _, tc := range []struct {
		name      string
		scheduled bool
		want      time.Time
	}{
		{"started late by its schedule", true, boundary},
		{"started by hand as late", false, boundary.Add(every)},
	} {
		t.Run("duty/"+tc.name, func(t *testing.T) {
			env := newTestEnv()
			env.SetStartTime(late)
			if tc.scheduled {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(nominal))
			}
			var acts *activities.Activities
			env.OnActivity(acts.DutyUnits, mock.Anything, mock.Anything).Return([]string{"JS-T01-M01"}, nil)
			var got workflows.DutyCheckInput
			env.OnWorkflow(workflows.DutyCheck, mock.Anything, mock.Anything).Return(
				func(_ workflow.Context, in workflows.DutyCheckInput) (workflows.DutyCheckResult, error) {
					got = in
					return workflows.DutyCheckResult{}, nil
				})
			env.ExecuteWorkflow(workflows.DutySweep, workflows.DutySweepInput{Every: every})
			require.NoError(t, env.GetWorkflowError())
			require.True(t, got.MonthEnd.Equal(tc.want), "checked the period ending %s, want %s", got.MonthEnd, tc.want)
		})
		t.Run("pairing/"+tc.name, func(t *testing.T) {
			env := newTestEnv()
			env.SetStartTime(late)
			if tc.scheduled {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(nominal))
			}
			var acts *activities.Activities
			env.OnActivity(acts.PairingSchools, mock.Anything).Return([]string{"JS-T01-M01"}, nil)
			var got workflows.PairingCheckInput
			env.OnWorkflow(workflows.PairingSchoolCheck, mock.Anything, mock.Anything).Return(
				func(_ workflow.Context, in workflows.PairingCheckInput) (workflows.PairingCheckResult, error) {
					got = in
					return workflows.PairingCheckResult{}, nil
				})
			env.ExecuteWorkflow(workflows.PairingSweep, workflows.PairingSweepInput{Month: every, Term: 4 * every})
			require.NoError(t, env.GetWorkflowError())
			require.True(t, got.MonthEnd.Equal(tc.want), "checked the month ending %s, want %s", got.MonthEnd, tc.want)
		})
	}
}

// TestSweepStartsItsChecksTogether: a duty sweep sends every unit's check in one workflow task
// (the real server's history, recorded by e2e TestScheduledWorkflowsComplete), where it used to
// take a workflow task per unit and so, on a loaded machine, outlast a compressed period.
func TestSweepStartsItsChecksTogether(t *testing.T) {
	f, err := os.Open("testdata/histories/schedule_duty_sweep_together.json")
	require.NoError(t, err)
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	first, last, starts := -1, -1, 0
	for i, e := range hist.Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED {
			if first < 0 {
				first = i
			}
			last, starts = i, starts+1
		}
	}
	tasksBetween := 0
	for _, e := range hist.Events[max(first, 0):max(last, 0)] {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			tasksBetween++
		}
	}
	require.GreaterOrEqual(t, starts, 2, "the recorded sweep must start several checks to show anything")
	require.Zero(t, tasksBetween, "workflow tasks completed between the sweep's %d starts", starts)
}

// TestRoutineRoundIsTheRoundOfItsScheduledDay: a routine round started late by its Schedule (a
// run buffered behind one stuck on the store, or caught up the next day) is the round of the day
// and term the Schedule meant, written at its real start; one started by hand takes its start.
func TestRoutineRoundIsTheRoundOfItsScheduledDay(t *testing.T) {
	nominal := time.Date(2027, 1, 31, 16, 0, 0, 0, time.UTC) // 1 February 00:00 in China: the spring term's first day
	late := time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC)     // 20:00 in China
	early := time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC)   // 31 January 23:00 in China: still the autumn term
	for _, tc := range []struct {
		name                     string
		scheduled                time.Time // zero: started by hand
		start                    time.Time
		wantID, wantTerm, wantOn string
	}{
		{"started late by its schedule", early, late, "round-routine-20270131-230000", "2026-2027-1", "2027-01-31"},
		{"started on time", nominal, nominal, "round-routine-20270201-000000", "2026-2027-2", "2027-02-01"},
		{"started by hand", time.Time{}, late, "round-routine-20270201-200000", "2026-2027-2", "2027-02-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv()
			env.SetStartTime(tc.start)
			if !tc.scheduled.IsZero() {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
					temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime").ValueSet(tc.scheduled))))
			}
			var acts *activities.Activities
			var got activities.RoutineRoundInput
			env.OnActivity(acts.OpenRoutineRound, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.RoutineRoundInput) (string, error) { got = in; return in.ID, nil })
			env.ExecuteWorkflow(workflows.RoutineRound, workflows.RoutineRoundStart{InspectorateUnit: "JS-DDB"})
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tc.wantID, got.ID)
			require.Equal(t, tc.wantTerm, got.Term)
			require.Equal(t, tc.wantOn, got.PlannedOn)
			require.True(t, got.At.Equal(tc.start), "written at %s, want its real start %s", got.At, tc.start)
		})
	}
}
