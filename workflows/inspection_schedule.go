package workflows

import (
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/calendar"
)

// RoutineRoundScheduleID is the Temporal Schedule that opens the inspectorate's routine rounds
// (例行督查) by themselves; the service creates it at start (service.EnsureSchedules) and brings
// an existing one to the current settings.
const RoutineRoundScheduleID = "inspection-routine-rounds"

// RoutineRoundStart is the schedule's argument to RoutineRound.
type RoutineRoundStart struct {
	InspectorateUnit string // the inspectorate's unit code (督导办, JIAOFU_INSPECTORATE_UNIT)
}

// RoutineRound is the schedule's action: a short workflow that opens one routine round of the
// inspectorate for the term the scheduled day falls in, over the township central schools and
// county schools (activities.RoutineRoundUnits), planned for that day. Its id is the scheduled
// time's, so a second start for the same time finds the round already written.
//
// The scheduled time is the Schedule's nominal one (sweepTime): a round started late — buffered
// behind a run stuck on the store, or caught up after the service was off over the morning — is
// still the round of its day and its term. Runs before the change took their own start.
func RoutineRound(ctx workflow.Context, in RoutineRoundStart) (string, error) {
	at := sweepTime(ctx, "routine-round-scheduled-time")
	cst := at.In(calendar.CST)
	var id string
	err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).OpenRoutineRound, activities.RoutineRoundInput{
		ID: "round-routine-" + cst.Format("20060102-150405"), Term: activities.TermOf(at), PlannedOn: cst.Format("2006-01-02"),
		InspectorateUnit: in.InspectorateUnit, At: workflow.Now(ctx)}).Get(ctx, &id) // written (and audited) when it is
	return id, err
}

// maxRoundsPerTerm bounds JIAOFU_INSPECTION_ROUNDS_PER_TERM for the calendar: one round every few
// days is already more than any inspectorate visits.
const maxRoundsPerTerm = 30

// termSpan is the part of each term the routine rounds spread over: from a week after the term
// starts (1 September, 1 March) for 120 days, before the end-of-term examinations.
const (
	termLead = 7
	termSpan = 120
)

// RoutineRoundSpec is when the routine rounds start: perTerm rounds a term, spread evenly over
// each term's 120 days from its second week, at 08:00 China time (00:00 UTC: the server's
// calendar is read in UTC, so no time-zone data is needed). The county default is two a term
// (8 September and 7 November; 8 March and 7 May). every > 0 replaces the calendar with a plain
// interval, for tests and demonstrations (JIAOFU_INSPECTION_SCHEDULE_EVERY).
func RoutineRoundSpec(perTerm int, every time.Duration) client.ScheduleSpec {
	if every > 0 {
		return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	}
	perTerm = max(1, min(perTerm, maxRoundsPerTerm))
	var spec client.ScheduleSpec
	for _, start := range []time.Month{time.September, time.March} {
		for i := 0; i < perTerm; i++ {
			day := time.Date(2025, start, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, termLead+i*termSpan/perTerm)
			spec.Calendars = append(spec.Calendars, client.ScheduleCalendarSpec{
				Month: []client.ScheduleRange{{Start: int(day.Month())}}, DayOfMonth: []client.ScheduleRange{{Start: day.Day()}},
				Hour: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: 0}}, Second: []client.ScheduleRange{{Start: 0}},
				Comment: "例行督查"})
		}
	}
	return spec
}
