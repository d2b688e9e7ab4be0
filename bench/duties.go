package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/demo"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Workload 9: the recurring duties of issue 17. The all-in-one process (`jiaofu all`) runs as a
// child of this one on a data directory prepared with -pairings active pairings spread over
// -duty-schools schools (added to the demo county, spread over the townships; the month measured
// is the first that begins after they were made) and -plans students for whom the harness then
// starts send-home plans through POST /api/v1/send-home-plans. The pairing month is -duty-month
// (the Schedule's interval); each plan's period is -duty-month too. Nobody records anything, so
// every pairing and every plan misses its period. Measured:
//   - the child's VmRSS idle after start, with every plan open, and after the month's check has
//     raised its rungs (and VmHWM, the peak);
//   - the pairing check: from the month's end (the Schedule's run) until every pairing's first
//     rung (its teacher's reminder) is on record — the sweep, one PairingSchoolCheck per school,
//     one read of the school's shortfall and one Raise per short pairing;
//   - the plans' quota check: from the last plan's period end until every plan's first rung is on
//     record (each plan's own deadline timer).
//
// Rungs are counted in the child's store (SQLite, read from this process while the child runs).

func runDuties(ctx context.Context, o *Options, r *Report) error {
	if o.Pairings < 1 || o.Plans < 0 || o.DutySchools < 1 {
		return fmt.Errorf("-pairings and -duty-schools must be positive, -plans not negative")
	}
	month := o.DutyMonth
	if month < 30*time.Second {
		return fmt.Errorf("-duty-month must be at least 30s")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := filepath.Join(o.tmp, "duties")
	dataDir := filepath.Join(dir, "data")
	t0 := time.Now()
	made := time.Now()
	planStudents, err := prepareDutiesData(ctx, o, dataDir, made)
	if err != nil {
		return fmt.Errorf("prepare data: %w", err)
	}
	o.progress("[duties] %d pairings over %d schools and %d students for plans prepared in %s", o.Pairings, o.DutySchools,
		len(planStudents), time.Since(t0).Round(time.Second))
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	tPort, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "all")
	cmd.Env = append(os.Environ(), "JIAOFU_DATA_DIR="+dataDir, "JIAOFU_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"JIAOFU_TEMPORAL_FRONTEND_ADDR=127.0.0.1:"+strconv.Itoa(tPort), "JIAOFU_TEMPORAL_UI_ADDR=off",
		"JIAOFU_ADMIN_PASSWORD=bench-admin-password", "JIAOFU_ENV=development", "JIAOFU_SEED_DEMO=true", "JIAOFU_UPDATE_TIMEOUT=60s",
		"JIAOFU_PAIRING_MONTH="+month.String(), "JIAOFU_PAIRING_TERM="+(100*month).String())
	logPath := filepath.Join(dir, "service.log")
	lf, err := startChild(cmd, logPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	defer stopChild(cmd, 30*time.Second)
	pid := cmd.Process.Pid
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	hc := newHTTPClient(2 * o.Clients)
	if err := waitFor(ctx, 3*time.Minute, 250*time.Millisecond, func() (bool, error) {
		if exited(cmd) {
			return false, fmt.Errorf("the service exited:\n%s", tail(logPath, 2000))
		}
		resp, err := hc.Get(base + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		return err
	}
	settle(ctx, time.Minute, pid)
	idle := procStatus(pid, "VmRSS")
	o.progress("[duties] service idle with %d pairings: VmRSS %s", o.Pairings, humanBytes(idle))

	// The month measured is the first that began after the pairings were made (they owe no month
	// they were made in, so the sweeps before it find nothing short), and one that does not end
	// while the plans are being started.
	mStart, monthEnd := workflows.PairingPeriod(time.Now(), month)
	if mStart.Before(made) || time.Until(monthEnd) < month/2 {
		monthEnd = monthEnd.Add(month)
	}
	reader, err := store.Open(ctx, "", dataDir, false)
	if err != nil {
		return err
	}
	defer reader.Close()
	// First rungs on record: the plans' (any period), the pairings' of the month measured (their
	// ids carry the month's end).
	rungs := func(process string) (int, error) {
		like := "%"
		if process == casework.ProcessPairing {
			like = "%-duty-" + strconv.FormatInt(monthEnd.Unix(), 10) + "-%"
		}
		var n int
		err := reader.DB().GetContext(ctx, &n, reader.DB().Rebind(`SELECT count(*) FROM escalations WHERE process = ? AND rung = 1 AND id LIKE ?`),
			process, like)
		return n, err
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
			"visits_per_period": 2, "period": month.String(), "min_minutes": 90})
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
	lastPeriodEnd := time.Now().Add(month) // a plan's first period ends one period after it starts
	o.progress("[duties] %d send-home plans started in %s (%.1f/s), VmRSS %s", res.Done, time.Since(t0).Round(time.Second), res.Rate(),
		humanBytes(procStatus(pid, "VmRSS")))
	settle(ctx, 2*time.Minute, pid)
	withPlans := procStatus(pid, "VmRSS")
	o.progress("[duties] idle with %d pairings and %d open plans: VmRSS %s", o.Pairings, len(planStudents), humanBytes(withPlans))

	// Wait for every rung; poll the store each half second.
	waitRungs := func(process string, want int, limit time.Duration) (time.Time, error) {
		var last int
		err := waitFor(ctx, limit, 500*time.Millisecond, func() (bool, error) {
			if exited(cmd) {
				return false, fmt.Errorf("the service exited:\n%s", tail(logPath, 2000))
			}
			n, err := rungs(process)
			last = n
			return n >= want, err
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("%d of %d %s rungs on record: %w", last, want, process, err)
		}
		return time.Now(), nil
	}
	o.progress("[duties] the month ends at %s", monthEnd.Format(time.TimeOnly))
	pairingDone, err := waitRungs(casework.ProcessPairing, o.Pairings, time.Until(monthEnd)+time.Hour)
	if err != nil {
		return err
	}
	pairingCheck := pairingDone.Sub(monthEnd)
	o.progress("[duties] the month's check: %d teacher reminders on record %s after the month's end", o.Pairings, pairingCheck.Round(time.Millisecond))
	planDone, err := waitRungs(casework.ProcessSendHome, len(planStudents), time.Until(lastPeriodEnd)+20*time.Minute)
	if err != nil {
		return err
	}
	planCheck := max(planDone.Sub(lastPeriodEnd), 0)
	o.progress("[duties] the plans' periods: %d teacher reminders on record %s after the last period's end", len(planStudents), planCheck.Round(time.Millisecond))
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
		Unit: "s", Value: planCheck.Seconds(), Note: "each plan's own visit_quota deadline"})
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
