package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/childproc"
	"jiaofu/demo"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Workload 9: the recurring duties of issue 17. The all-in-one process (`jiaofu all`) runs as a
// child of this one on a data directory prepared with -pairings active pairings spread over
// -duty-schools schools (added to the demo county, spread over the townships; made a day ago, so
// that they owe every month) and -plans students for whom the harness then starts send-home plans
// through POST /api/v1/send-home-plans, each with periods of -plan-period. The pairing month is
// -duty-month (the Schedule's interval), long enough that one month's check ends before the next
// begins. Nobody records anything, so every pairing and every plan misses its period. Measured:
//   - the child's VmRSS idle after start, with every plan open, and after the checks have raised
//     their rungs (and VmHWM, the peak);
//   - the pairing check: from the pairing-check Schedule's run at a month's end (or, when the
//     service came up after it, the harness's trigger of the Schedule early in the month) until
//     every pairing's first rung (its teacher's reminder) is on record — the sweep, one PairingSchoolCheck per school, one read of the
//     school's shortfall and one Raise per short pairing;
//   - the plans' quota check: from the last plan's first period end until every plan's first rung
//     is on record (each plan's own deadline timer), and the longest any plan's rung waited.
//
// Rungs are counted in the child's store (SQLite, read from this process while the child runs),
// and timed by their own due_at and recorded_at.

func runDuties(ctx context.Context, o *Options, r *Report) error {
	if o.Pairings < 1 || o.Plans < 0 || o.DutySchools < 1 {
		return fmt.Errorf("-pairings and -duty-schools must be positive, -plans not negative")
	}
	month := o.DutyMonth
	if month < time.Minute || o.PlanPeriod <= 0 {
		return fmt.Errorf("-duty-month must be at least 1m, -plan-period positive")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := filepath.Join(o.tmp, "duties")
	dataDir := filepath.Join(dir, "data")
	t0 := time.Now()
	made := time.Now().Add(-24 * time.Hour)
	planStudents, err := prepareDutiesData(ctx, o, dataDir, made)
	if err != nil {
		return fmt.Errorf("prepare data: %w", err)
	}
	o.progress("[duties] %d pairings over %d schools and %d students for plans prepared in %s", o.Pairings, o.DutySchools,
		len(planStudents), time.Since(t0).Round(time.Second))
	svc, err := startAllInOne(ctx, o, self, dir, dataDir,
		"JIAOFU_PAIRING_MONTH="+month.String(), "JIAOFU_PAIRING_TERM="+(100*month).String())
	if err != nil {
		return err
	}
	defer svc.stop()
	cmd, logPath, pid, base, hc := svc.cmd, svc.logPath, svc.pid, svc.base, svc.hc
	up := time.Now()
	settle(ctx, time.Minute, pid)
	idle := procStatus(pid, "VmRSS")
	o.progress("[duties] service idle with %d pairings: VmRSS %s", o.Pairings, humanBytes(idle))

	var monthEnd time.Time // the end of the month checked, set when the check is triggered
	reader, err := store.Open(ctx, "", dataDir, false)
	if err != nil {
		return err
	}
	defer reader.Close()
	// First rungs on record: the plans' of their first period, the pairings' of the month measured
	// (escalation ids carry the deadline's name: quota-1, duty-<month end>-…), with when each fell
	// due and when it was recorded — the figures come from these, not from when this process
	// happened to look.
	pattern := func(process string) string {
		if process == casework.ProcessPairing {
			return "%-duty-" + strconv.FormatInt(monthEnd.Unix(), 10) + "-%"
		}
		return "%-quota-1-r1"
	}
	type rung struct {
		DueAt      time.Time `db:"due_at"`
		RecordedAt time.Time `db:"recorded_at"`
	}
	count := func(process string) (int, error) {
		var n int
		err := reader.DB().GetContext(ctx, &n, reader.DB().Rebind(`SELECT count(*) FROM escalations
			WHERE process = ? AND rung = 1 AND id LIKE ?`), process, pattern(process))
		return n, err
	}
	rungs := func(process string) ([]rung, error) {
		var rs []rung
		err := reader.DB().SelectContext(ctx, &rs, reader.DB().Rebind(`SELECT due_at, recorded_at FROM escalations
			WHERE process = ? AND rung = 1 AND id LIKE ?`), process, pattern(process))
		return rs, err
	}
	// lags are the latest rung's due and recorded instants and the longest a rung waited.
	lags := func(rs []rung) (lastDue, lastRecorded time.Time, longest time.Duration) {
		for _, r := range rs {
			if r.DueAt.After(lastDue) {
				lastDue = r.DueAt
			}
			if r.RecordedAt.After(lastRecorded) {
				lastRecorded = r.RecordedAt
			}
			longest = max(longest, r.RecordedAt.Sub(r.DueAt))
		}
		return
	}

	e := &Env{Base: base, hc: hc, o: o}
	staff, err := e.Login(ctx, "staff01", demo.DemoPassword)
	if err != nil {
		return err
	}
	teacher, err := reader.UserByUsername(ctx, "teacher01")
	if err != nil {
		return err
	}
	t0 = time.Now()
	res := runConcurrent(ctx, len(planStudents), o.Clients, 20*time.Minute, func(ctx context.Context, i int) error {
		code, raw, err := staff.DoRaw(ctx, "POST", "/api/v1/send-home-plans", map[string]any{"student_id": planStudents[i],
			"disability_type": "智力残疾", "disability_grade": "二级", "teacher_ids": []string{teacher.ID}, "goals": "生活自理",
			"visits_per_period": 2, "period": o.PlanPeriod.String(), "min_minutes": 90})
		if err != nil {
			return err
		}
		if code != 201 && code != 202 {
			return fmt.Errorf("start plan: %d %.300s", code, raw)
		}
		return nil
	})
	if res.FirstErr != nil {
		return fmt.Errorf("start send-home plans: %d done: %w", res.Done, res.FirstErr)
	}
	o.progress("[duties] %d send-home plans started in %s (%.1f/s), VmRSS %s", res.Done, time.Since(t0).Round(time.Second), res.Rate(),
		humanBytes(procStatus(pid, "VmRSS")))
	settle(ctx, 2*time.Minute, pid)
	withPlans := procStatus(pid, "VmRSS")
	o.progress("[duties] idle with %d pairings and %d open plans: VmRSS %s", o.Pairings, len(planStudents), humanBytes(withPlans))

	// Wait for every rung; poll the store each half second.
	waitRungs := func(process string, want int, limit time.Duration) ([]rung, error) {
		var n int
		err := waitFor(ctx, limit, 500*time.Millisecond, func() (bool, error) {
			if childproc.Exited(cmd) {
				return false, fmt.Errorf("the service exited:\n%s", childproc.Tail(logPath, 2000))
			}
			var err error
			n, err = count(process)
			return n >= want, err
		})
		if err != nil {
			return nil, fmt.Errorf("%d of %d %s rungs on record: %w", n, want, process, err)
		}
		return rungs(process)
	}
	// The Schedule's run at a month's end checks the month that ended. When the service was up at
	// the start of the month under way, that run has happened (or is happening): it is the one
	// measured. Otherwise the harness triggers the Schedule early in the month, as the missed run
	// would have been (the sweep checks the month before the one it runs in while in its first
	// half), or, late in the month, waits for the next run.
	start, _ := workflows.PairingPeriod(time.Now(), month)
	ref := start // when the check began
	if !start.After(up) {
		if time.Since(start) > month/3 {
			ref = start.Add(month)
			o.progress("[duties] waiting %s for the Schedule's run at the month's end", time.Until(ref).Round(time.Second))
		} else {
			tc, err := client.DialContext(ctx, client.Options{HostPort: svc.temporal, Namespace: "default",
				Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
			if err != nil {
				return err
			}
			defer tc.Close()
			ref = time.Now()
			if err := tc.ScheduleClient().GetHandle(ctx, workflows.PairingScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
				return fmt.Errorf("trigger the pairing check: %w", err)
			}
			o.progress("[duties] the pairing check triggered at %s", ref.Format(time.TimeOnly))
		}
	}
	_, monthEnd = workflows.PairingPeriod(ref.Add(-month/2), month)
	o.progress("[duties] checking the month ended %s, from %s", monthEnd.Format(time.TimeOnly), ref.Format(time.TimeOnly))
	rs, err := waitRungs(casework.ProcessPairing, o.Pairings, time.Until(ref)+50*time.Minute)
	if err != nil {
		return err
	}
	_, last, _ := lags(rs)
	pairingCheck := last.Sub(ref)
	o.progress("[duties] the month's check: %d teacher reminders on record %s after it began", o.Pairings, pairingCheck.Round(time.Millisecond))
	rs, err = waitRungs(casework.ProcessSendHome, len(planStudents), o.PlanPeriod+20*time.Minute)
	if err != nil {
		return err
	}
	lastDue, last, longest := lags(rs)
	planCheck := max(last.Sub(lastDue), 0)
	o.progress("[duties] the plans' first periods: %d teacher reminders, the last on record %s after the last period's end; the longest wait %s",
		len(planStudents), planCheck.Round(time.Millisecond), longest.Round(time.Millisecond))
	settle(ctx, 2*time.Minute, pid)
	time.Sleep(5 * time.Second)
	rss, hwm := procStatus(pid, "VmRSS"), procStatus(pid, "VmHWM")
	o.progress("[duties] after the checks: VmRSS %s (peak %s)", humanBytes(rss), humanBytes(hwm))

	const gib = 1 << 30
	held := fmt.Sprintf("%d open pairings + %d send-home plans", o.Pairings, len(planStudents))
	r.add(Result{Workload: 9, Name: "RSS holding " + held + ", after the month's check", Unit: "MiB", Value: float64(rss) / (1 << 20),
		Baseline: "MiB idle service with the pairings", BaselineValue: float64(idle) / (1 << 20), Target: "≤ 1024 MiB", Pass: pass(rss <= gib),
		Extra: map[string]any{"with_plans_mib": float64(withPlans) / (1 << 20), "schools": o.DutySchools, "month": month.String()}})
	r.add(Result{Workload: 9, Name: "peak RSS (VmHWM) during the run", Unit: "MiB", Value: float64(hwm) / (1 << 20),
		Baseline: "MiB idle service", BaselineValue: float64(idle) / (1 << 20), Target: "≤ 1024 MiB", Pass: pass(hwm <= gib)})
	r.add(Result{Workload: 9, Name: fmt.Sprintf("pairing check: month's end → %d teacher reminders (%d schools)", o.Pairings, o.DutySchools),
		Unit: "s", Value: pairingCheck.Seconds(), Note: "Schedule → PairingSweep → one PairingSchoolCheck per school"})
	r.add(Result{Workload: 9, Name: fmt.Sprintf("send-home quota: last period's end → %d teacher reminders", len(planStudents)),
		Unit: "s", Value: planCheck.Seconds(), Note: "each plan's own visit_quota deadline",
		Extra: map[string]any{"longest_wait_s": longest.Seconds()}})
	return nil
}

// prepareDutiesData creates the service's store with the demo data, -duty-schools more schools
// (spread over the townships), -pairings poverty-registered students paired at made with the demo's
// teacher, spread evenly over the schools, and -plans students at the demo school for the plans;
// it returns the plans' students.
func prepareDutiesData(ctx context.Context, o *Options, dataDir string, made time.Time) ([]string, error) {
	st, err := store.Open(ctx, "", dataDir, true)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := demo.Bootstrap(ctx, st, "bench-admin-password", api.HashPassword); err != nil {
		return nil, err
	}
	if err := demo.Seed(ctx, st, api.HashPassword); err != nil {
		return nil, err
	}
	teacher, err := st.UserByUsername(ctx, "teacher01")
	if err != nil {
		return nil, err
	}
	schools := make([]store.Unit, o.DutySchools)
	for i := range schools {
		t := demo.Townships[i%len(demo.Townships)]
		if schools[i], err = st.CreateUnit(ctx, fmt.Sprintf("JS-%s-B%03d", t.Code, i), fmt.Sprintf("%s第%d基准学校", t.Name, i), store.KindSchool,
			"JS-"+t.Code, ""); err != nil {
			return nil, err
		}
	}
	bench := access.Actor{UserID: "bench", DisplayName: "bench"}
	res := runConcurrent(ctx, o.Pairings, 4, 30*time.Minute, func(ctx context.Context, i int) error {
		school := schools[i%len(schools)]
		s, err := st.CreateStudent(ctx, store.Student{StudentNo: fmt.Sprintf("P%08d", i), Name: fmt.Sprintf("结对%05d", i),
			Sex: []string{"男", "女"}[i%2], BirthDate: "2013-03-01", UnitCode: school.Code, Grade: 1 + i%9, Class: fmt.Sprintf("%d班", 1+i%6),
			PovertyRegistered: true})
		if err != nil {
			return err
		}
		id := "pairing-bench" + strconv.Itoa(i)
		return st.CreatePairing(ctx, store.Pairing{ID: id, TeacherID: teacher.ID, StudentID: s.ID, UnitID: school.ID, UnitPath: school.Path,
			Class: s.Class, State: casework.PairingActive, CreatedBy: bench.UserID, CreatedAt: made},
			store.AuditEntry{ActorID: bench.UserID, ActorName: bench.DisplayName, Action: "pairing.created", Process: casework.ProcessPairing,
				CaseID: id, At: made})
	})
	if res.FirstErr != nil {
		return nil, res.FirstErr
	}
	ids := make([]string, o.Plans)
	res = runConcurrent(ctx, o.Plans, 4, 20*time.Minute, func(ctx context.Context, i int) error {
		s, err := st.CreateStudent(ctx, store.Student{StudentNo: fmt.Sprintf("H%08d", i), Name: fmt.Sprintf("送教%04d", i),
			Sex: []string{"男", "女"}[i%2], BirthDate: "2014-05-01", UnitCode: "JS-T01-S01", Grade: 1 + i%9, Class: "1班",
			Disability: "智力残疾"})
		ids[i] = s.ID
		return err
	})
	return ids, res.FirstErr
}
