package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// pairingSchool fakes a school's records: the shortfall the check reads, changed by a test as
// teachers record duties late.
type pairingSchool struct {
	mu    sync.Mutex
	state activities.PairingShortfall
	reads int
}

func (p *pairingSchool) set(s activities.PairingShortfall) { p.mu.Lock(); p.state = s; p.mu.Unlock() }

func newPairingCheck(t *testing.T, s activities.PairingShortfall) (*kittest.Harness, *pairingSchool) {
	env := newTestEnv()
	env.SetStartTime(t0)
	h := kittest.New(env)
	school := &pairingSchool{state: s}
	var acts *activities.Activities
	env.OnActivity(acts.PairingShortfalls, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PairingShortfallInput) (activities.PairingShortfall, error) {
			school.mu.Lock()
			defer school.mu.Unlock()
			school.reads++
			require.Equal(t, schoolCode, in.SchoolCode)
			return school.state, nil
		})
	return h, school
}

// monthEnding is a check input for the month ending at t0 (the check starts as it ends).
func monthEnding(threshold int) workflows.PairingCheckInput {
	return workflows.PairingCheckInput{SchoolCode: schoolCode, MonthStart: t0.Add(-28 * 24 * time.Hour), MonthEnd: t0, Threshold: threshold}
}

func runPairingCheck(t *testing.T, h *kittest.Harness, in workflows.PairingCheckInput) workflows.PairingCheckResult {
	h.Env.ExecuteWorkflow(workflows.PairingSchoolCheck, in)
	require.True(t, h.Env.IsWorkflowCompleted())
	require.NoError(t, h.Env.GetWorkflowError())
	var res workflows.PairingCheckResult
	require.NoError(t, h.Env.GetWorkflowResult(&res))
	return res
}

func TestPairingCheckDutiesMet(t *testing.T) {
	h, _ := newPairingCheck(t, activities.PairingShortfall{Owing: 3})
	res := runPairingCheck(t, h, monthEnding(80))
	require.Equal(t, 3, res.Owing)
	require.Empty(t, res.StillShort)
	require.Empty(t, h.Raised(), "a school whose pairings did every duty raises nothing")
}

// A missed duty climbs every rung of pairing_duty (the teacher's reminder as the month ends, the
// school leader's a working day later, the township central school three working days later);
// the school, below the threshold, reaches the supervision office.
func TestPairingCheckMissedClimbsEveryRung(t *testing.T) {
	h, _ := newPairingCheck(t, activities.PairingShortfall{Owing: 2, Short: []activities.PairingShort{
		{PairingID: "pairing-p1", TeacherID: "u-t1", Missing: []string{casework.DutyMeasure, casework.DutyActivity}}}})
	res := runPairingCheck(t, h, monthEnding(80))
	require.Equal(t, []string{"pairing-p1"}, res.StillShort)
	require.True(t, res.SchoolRaised)
	key := "1788224400" // t0's Unix seconds
	targets := map[string]string{}
	for _, r := range h.Raised() {
		targets[r.ID] = r.Target
		require.Equal(t, casework.ProcessPairing, r.Process)
		require.Equal(t, schoolCode, r.UnitCode)
	}
	require.Equal(t, map[string]string{
		"pairing-p1-duty-" + key + "-p1-r1":                       casework.TargetTeacher,
		"pairing-p1-duty-" + key + "-p1-r2":                       casework.TargetSchoolLeader,
		"pairing-p1-duty-" + key + "-p1-r3":                       casework.TargetSuperior,
		"pairing-school-" + schoolCode + "-school-" + key + "-r1": casework.TargetSupervision,
	}, targets)
	for _, r := range h.Raised() {
		if r.Rung == 1 && r.Kind == casework.DeadlinePairingDuty {
			require.Contains(t, r.Reason, "帮扶措施")
			require.True(t, r.At.Equal(t0), "the teacher's reminder falls as the month ends")
		}
		if r.Kind == casework.DeadlinePairingDuty {
			require.Equal(t, "u-t1", r.HolderID, "every rung of the pairing names its teacher")
		}
	}
}

// A duty recorded after the teacher's reminder stops the ladder: the school leader is not told,
// the reminder closes, and a school back above the threshold does not reach the supervision office.
func TestPairingCheckLateRecordClearsTheLadder(t *testing.T) {
	h, school := newPairingCheck(t, activities.PairingShortfall{Owing: 2, Short: []activities.PairingShort{
		{PairingID: "pairing-p1", TeacherID: "u-t1", Missing: []string{casework.DutyHomeVisit}}}})
	h.At(2*time.Hour, func() { school.set(activities.PairingShortfall{Owing: 2}) })
	res := runPairingCheck(t, h, monthEnding(80))
	require.Empty(t, res.StillShort)
	require.False(t, res.SchoolRaised)
	require.Len(t, h.Raised(), 1, "only the teacher's reminder: %v", h.RaisedIDs())
	require.Equal(t, casework.TargetTeacher, h.Raised()[0].Target)
	require.Equal(t, h.RaisedIDs(), h.Closed())
}

// Above the threshold, a school's few missed duties stay on the chain: no supervision office.
func TestPairingCheckAboveThresholdSparesSupervision(t *testing.T) {
	h, _ := newPairingCheck(t, activities.PairingShortfall{Owing: 10, Short: []activities.PairingShort{
		{PairingID: "pairing-p1", Missing: []string{casework.DutySummary}}}})
	res := runPairingCheck(t, h, monthEnding(80))
	require.False(t, res.SchoolRaised)
	for _, r := range h.Raised() {
		require.NotEqual(t, casework.TargetSupervision, r.Target)
	}
	require.Len(t, h.Raised(), 3)
}

func TestPairingPeriodsAlignToMidnightCST(t *testing.T) {
	start, end := workflows.PairingPeriod(t0, 24*time.Hour)
	require.Equal(t, time.Date(2026, 8, 31, 16, 0, 0, 0, time.UTC), start)
	require.Equal(t, start.Add(24*time.Hour), end)
	for _, every := range []time.Duration{3 * time.Second, 24 * time.Hour, 28 * 24 * time.Hour} {
		off := workflows.PairingScheduleOffset(every)
		_, e := workflows.PairingPeriod(time.Unix(0, 0).Add(off+every/2), every)
		require.Zero(t, (e.Unix()*int64(time.Second)-int64(off))%int64(every), "schedule runs fall on period ends (%s)", every)
	}
}
