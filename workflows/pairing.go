package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/casework"
)

func init() { registerWorkflows(casework.ProcessPairing, PairingSweep, PairingSchoolCheck) }

// PairingScheduleID is the Temporal Schedule that starts PairingSweep at every month's end.
const PairingScheduleID = "pairing-check"

// cstOffset puts period boundaries at midnight China Standard Time (UTC+8) when a period is a
// whole number of days: boundaries are epoch − 8h + k × length.
const cstOffset = 8 * time.Hour

// PairingPeriod is the period of the given length that t falls in, [start, end).
func PairingPeriod(t time.Time, length time.Duration) (start, end time.Time) {
	base := time.Unix(0, 0).UTC().Add(-cstOffset)
	k := t.Sub(base) / length
	start = base.Add(k * length)
	return start, start.Add(length)
}

// PairingScheduleOffset is the offset of a Temporal interval schedule of every length whose runs
// fall on the period boundaries of PairingPeriod.
func PairingScheduleOffset(length time.Duration) time.Duration {
	return ((length - cstOffset%length) % length)
}

// PairingSweepInput is what the schedule starts every sweep with: the lengths of a month and a
// term (a whole number of months) and the school threshold in percent.
type PairingSweepInput struct {
	Month, Term time.Duration
	Threshold   int
}

// PairingCheckInput is one school's check of one month (and of the term ending with it).
type PairingCheckInput struct {
	SchoolCode           string
	MonthStart, MonthEnd time.Time
	TermStart, TermEnd   time.Time // zero when no term ends with this month
	Threshold            int
}

// PairingCheckWorkflowID names a school's check of the month ending at monthEnd.
func PairingCheckWorkflowID(school string, monthEnd time.Time) string {
	return "pairing-check-" + safe(school) + "-" + strconv.FormatInt(monthEnd.Unix(), 10)
}

// PairingSweep runs at a month's end (the schedule): it starts one short PairingSchoolCheck per
// school with active pairings, for the month that just ended and the term when it ends too, and
// ends; the checks run on their own (abandoned by the sweep).
func PairingSweep(ctx workflow.Context, in PairingSweepInput) (int, error) {
	if in.Month <= 0 || in.Term < in.Month {
		return 0, fmt.Errorf("pairing sweep: month %s, term %s", in.Month, in.Term)
	}
	// The run is meant to start at the boundary: the month that ended is the one before then.
	now := sweepTime(ctx, "pairing-sweep-scheduled-time").Add(-in.Month / 2)
	mStart, mEnd := PairingPeriod(now, in.Month)
	check := PairingCheckInput{MonthStart: mStart, MonthEnd: mEnd, Threshold: in.Threshold}
	if tStart, tEnd := PairingPeriod(now, in.Term); tEnd.Equal(mEnd) {
		check.TermStart, check.TermEnd = tStart, tEnd
	}
	var schools []string
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).PairingSchools).Get(ctx, &schools); err != nil {
		return 0, err
	}
	checks := make([]sweepCheck, len(schools))
	for i, school := range schools {
		c := check
		c.SchoolCode = school
		checks[i] = sweepCheck{ID: PairingCheckWorkflowID(school, mEnd), Unit: school, Input: c}
	}
	return startSweepChecks(ctx, "pairing-sweep-starts-together", PairingSchoolCheck, checks), nil
}

// PairingCheckResult is what a school's check returns.
type PairingCheckResult struct {
	Owing, Short int      // at the period's end
	StillShort   []string // pairings whose ladder ran to its end
	SchoolRaised bool     // the supervision office was told
}

// PairingSchoolCheck checks one school's pairings against the month's (and term's) duties at the
// period's end. Each pairing that misses one gets a case deadline (kind pairing_duty, case the
// pairing) at the period's end, whose ladder climbs teacher → school leader → township central
// school; the school gets one more (pairing_school, the supervision office) when its share of
// pairings with every duty done is below the threshold. Before each rung the school's records
// are read again: a duty recorded late clears its pairing's deadline (and closes its open
// reminders), and a school back above the threshold clears its own. The workflow ends when every
// deadline is cleared or has fired its last rung: its history holds a handful of events per
// short pairing, and nothing runs for a pairing between periods.
func PairingSchoolCheck(ctx workflow.Context, in PairingCheckInput) (PairingCheckResult, error) {
	var res PairingCheckResult
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return res, err
	}
	q := activities.PairingShortfallInput{SchoolCode: in.SchoolCode, MonthStart: in.MonthStart, MonthEnd: in.MonthEnd,
		TermStart: in.TermStart, TermEnd: in.TermEnd}
	var state activities.PairingShortfall
	read := func(ctx workflow.Context) error {
		return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).PairingShortfalls, q).Get(ctx, &state)
	}
	if err := read(ctx); err != nil {
		return res, err
	}
	res.Owing, res.Short = state.Owing, len(state.Short)
	key := strconv.FormatInt(in.MonthEnd.Unix(), 10)
	schoolCase := "pairing-school-" + safe(in.SchoolCode)
	schoolName := "school-" + key
	names := map[string]string{} // deadline name → pairing id
	below := func() bool {
		return state.Owing > 0 && (state.Owing-len(state.Short))*100 < in.Threshold*state.Owing
	}
	missingOf := func(id string) []string {
		for _, s := range state.Short {
			if s.PairingID == id {
				return s.Missing
			}
		}
		return nil
	}
	mu := workflow.NewMutex(ctx)
	var readAt time.Time
	inflight := 0 // rungs and clearings being written: the check ends only once none is
	tasks.Guard(func(ctx workflow.Context, fire func() error) error {
		inflight++
		defer func() { inflight-- }()
		if err := mu.Lock(ctx); err != nil {
			return err
		}
		defer mu.Unlock()
		if now := workflow.Now(ctx); !now.Equal(readAt) { // one read per rung instant, however many deadlines share it
			readAt = now
			if err := read(ctx); err != nil {
				return err
			}
			var met []string
			for name, id := range names {
				if tasks.Deadline(name) != nil && len(missingOf(id)) == 0 {
					met = append(met, name)
				}
			}
			if tasks.Deadline(schoolName) != nil && !below() {
				met = append(met, schoolName)
			}
			if len(met) > 0 {
				slices.Sort(met) // map order is not replayed: the activity's input must be
				if err := tasks.ClearDeadlines(ctx, "已补齐帮扶记录", met...); err != nil {
					return err
				}
			}
		}
		return fire()
	})
	step := func(_ workflow.Context, d *DeadlineState, _ activities.RungAt) (string, error) {
		if d.Spec.Name == schoolName {
			return fmt.Sprintf("结对帮扶完成率低于 %d%%：%d 个结对中 %d 个未完成本周期“六个一”", in.Threshold, state.Owing, len(state.Short)), nil
		}
		labels := make([]string, 0, 6)
		for _, k := range missingOf(names[d.Spec.Name]) {
			labels = append(labels, dutyLabel(k))
		}
		return "结对帮扶本周期未完成：" + strings.Join(labels, "、"), nil
	}
	for _, s := range state.Short {
		name := "duty-" + key + "-" + strings.TrimPrefix(s.PairingID, "pairing-")
		names[name] = s.PairingID
		if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: name, Kind: casework.DeadlinePairingDuty, Process: casework.ProcessPairing,
			CaseID: s.PairingID, UnitCode: in.SchoolCode, At: in.MonthEnd, HolderID: s.TeacherID}, step); err != nil {
			return res, err
		}
	}
	if below() {
		if err := tasks.SetDeadline(ctx, DeadlineSpec{Name: schoolName, Kind: casework.DeadlinePairingSchool, Process: casework.ProcessPairing,
			CaseID: schoolCase, UnitCode: in.SchoolCode, At: in.MonthEnd}, step); err != nil {
			return res, err
		}
	}
	if err := workflow.Await(ctx, func() bool {
		if tasks.DeadlineFailed() != nil {
			return true
		}
		if inflight > 0 {
			return false
		}
		for name := range names {
			if !tasks.DeadlineSpent(name) {
				return false
			}
		}
		return tasks.DeadlineSpent(schoolName)
	}); err != nil {
		return res, err
	}
	if err := tasks.DeadlineFailed(); err != nil {
		return res, err
	}
	for name, id := range names {
		if tasks.Deadline(name) != nil {
			res.StillShort = append(res.StillShort, id)
		}
	}
	slices.Sort(res.StillShort)
	res.SchoolRaised = tasks.Deadline(schoolName) != nil
	return res, nil
}

func dutyLabel(kind string) string {
	for _, l := range casework.Pairing.Outcomes {
		if l.Name == kind {
			return l.Label
		}
	}
	return kind
}
