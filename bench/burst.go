package bench

import (
	"context"
	"fmt"
	"time"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/store"
)

// Workload 4: the semester-start burst. N applications opened through
// POST /api/v1/subsidy-applications/bulk (chunks of -bulk-size items, -bulk-clients requests at a
// time; the endpoint checks each item as the single-application route does and starts the
// workflows 16 at a time), against the bare start rate: N bare application workflows started
// with the SDK by -clients goroutines on the same server. Both sides' workflows go on to run
// their first steps (registry check, opening the review task) while the burst runs, as they would.

const (
	burstSchool = "JS-T09-S90"
	burstStaff  = "bench-burst-staff"
	burstPass   = "bench-burst-password"
)

// burstProgramme is the one programme each burst student applies for: the living allowance of
// their stage (a programme must fit the student's stage, and the living allowances exclude each
// other). The burst used to give each student five programmes of every stage, which the
// eligibility check (1fbc01e) refuses.
func burstProgramme(st store.Student) string {
	if st.Grade <= 6 {
		return "living-primary"
	}
	return "living-junior"
}

func runBurst(ctx context.Context, o *Options, r *Report, e *Env) error {
	n := o.Burst
	if n < 1 {
		return fmt.Errorf("-n must be positive")
	}
	students, staff, err := e.burstSetup(ctx, n)
	if err != nil {
		return fmt.Errorf("burst setup: %w", err)
	}
	var bareRates, bulkRates []float64
	var bulkLat *Latencies
	bareSide := func(round int) error {
		run := e.RunID()
		o.progress("[%s] round %d: %d bare starts, %d clients", e.Name, round+1, n, o.Clients)
		stop := o.startProfile(fmt.Sprintf("w4-%s-bare-round%d", e.Name, round+1))
		bare := runConcurrent(ctx, n, o.Clients, 20*time.Minute, func(ctx context.Context, i int) error {
			id := fmt.Sprintf("bare-burst-%d-%d", run, i)
			_, err := e.TC.ExecuteWorkflow(ctx, bareStartOptions(id, burstSchool, "submitted"), BareApplication,
				BareAppInput{ID: id, ReviewDue: time.Hour})
			return err
		})
		stop()
		if bare.FirstErr != nil {
			return fmt.Errorf("bare starts: %d done: %w", bare.Done, bare.FirstErr)
		}
		o.progress("[%s] bare: %d starts in %s = %.1f/s (load %s)", e.Name, bare.Done,
			bare.Elapsed.Round(time.Millisecond), bare.Rate(), loadAvg())
		bareRates = append(bareRates, bare.Rate())
		return nil
	}
	bulkSide := func(round int) error {
		term := e.NextTerm()
		items := make([]map[string]string, n)
		for i := range items {
			st := students[i]
			items[i] = map[string]string{"student_id": st.ID, "programme": burstProgramme(st), "term": term}
			if !st.PovertyRegistered {
				items[i]["evidence_note"] = "父母务工收入低，村委会证明已附"
			}
		}
		chunks := (n + o.BulkSize - 1) / o.BulkSize
		created := make([]int, chunks)
		o.progress("[%s] round %d: %d applications through the bulk API in %d requests of up to %d, %d at a time", e.Name, round+1,
			n, chunks, o.BulkSize, o.BulkConc)
		stop := o.startProfile(fmt.Sprintf("w4-%s-bulk-round%d", e.Name, round+1))
		bulk := runConcurrent(ctx, chunks, o.BulkConc, 30*time.Minute, func(ctx context.Context, c int) error {
			lo, hi := c*o.BulkSize, min(n, (c+1)*o.BulkSize)
			var res api.BulkResult
			if err := staff.Expect(ctx, 200, "POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": items[lo:hi]}, &res); err != nil {
				return err
			}
			created[c] = res.Counts[201]
			if created[c] != hi-lo {
				for _, it := range res.Items {
					if it.Status != 201 {
						return fmt.Errorf("item %d: %d %+v (counts %v)", lo+it.Index, it.Status, it.Error, res.Counts)
					}
				}
			}
			return nil
		})
		stop()
		if bulk.FirstErr != nil {
			return fmt.Errorf("bulk: %w", bulk.FirstErr)
		}
		total := 0
		for _, c := range created {
			total += c
		}
		rate := float64(total) / bulk.Elapsed.Seconds()
		o.progress("[%s] bulk: %d created in %s = %.1f/s (load %s)", e.Name, total, bulk.Elapsed.Round(time.Millisecond), rate, loadAvg())
		bulkRates, bulkLat = append(bulkRates, rate), bulk.Lat
		return nil
	}
	// Every start leaves an open workflow behind, so the server's database grows with each side:
	// the sides take turns going first, and each starts once the previous side's workflows have
	// run their first steps.
	for round := 0; round < o.Rounds; round++ {
		sides := []func(int) error{bareSide, bulkSide}
		if round%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			settleSides(ctx, 5*time.Minute)
			if err := side(round); err != nil {
				return err
			}
		}
	}
	bare, bulk := median(bareRates), median(bulkRates)
	r.add(Result{Workload: 4, Name: fmt.Sprintf("bare start rate, SDK, %d clients", o.Clients), Unit: "starts/s", Value: bare,
		Note: "baseline for 4", Extra: map[string]any{"rounds": bareRates, "n": n}})
	r.add(Result{Workload: 4, Name: fmt.Sprintf("burst: %d applications via bulk API", n), Unit: "starts/s", Value: bulk,
		Baseline: "bare starts/s", BaselineValue: bare, Target: "≥ 0.8× bare", Pass: pass(bulk >= 0.8*bare),
		Extra: map[string]any{"rounds": bulkRates, "n": n, "bulk_size": o.BulkSize, "bulk_clients": o.BulkConc,
			"request_latency": bulkLat.summary()}})
	return nil
}

// burstSetup creates a school of its own with k students (two in three poverty-registered) and
// a staff member, and logs the staff member in.
func (e *Env) burstSetup(ctx context.Context, k int) ([]store.Student, *HTTP, error) {
	st := e.Svc.Store
	if _, err := st.UnitByCode(ctx, burstSchool); err != nil {
		if _, err := st.CreateUnit(ctx, burstSchool, "茅田乡开学季测试学校", store.KindSchool, "JS-T09", ""); err != nil {
			return nil, nil, err
		}
		h, err := api.HashPassword(burstPass)
		if err != nil {
			return nil, nil, err
		}
		if _, err := st.CreateUser(ctx, burstStaff, h, "开学季资助专干", []store.RoleAt{{Role: casework.RoleSchoolStaff, UnitCode: burstSchool}}); err != nil {
			return nil, nil, err
		}
		// A school has a leader to review its applications: without one every review would go to
		// the superior unit and alert the admins (the empty-approver policy), which is not the
		// workload measured here.
		if _, err := st.CreateUser(ctx, burstStaff+"-head", h, "开学季测试学校校长", []store.RoleAt{{Role: casework.RoleSchoolLeader, UnitCode: burstSchool}}); err != nil {
			return nil, nil, err
		}
	}
	students := make([]store.Student, k)
	t0 := time.Now()
	res := runConcurrent(ctx, k, 4, 10*time.Minute, func(ctx context.Context, i int) error {
		s, err := st.CreateStudent(ctx, store.Student{StudentNo: fmt.Sprintf("B%08d-%d", i, time.Now().UnixNano()%100000),
			Name: fmt.Sprintf("学生%05d", i), Sex: []string{"男", "女"}[i%2], BirthDate: "2014-09-01", UnitCode: burstSchool,
			Grade: 1 + i%9, Class: fmt.Sprintf("%d班", 1+i%4), PovertyRegistered: i%3 != 2})
		students[i] = s
		return err
	})
	if res.FirstErr != nil {
		return nil, nil, res.FirstErr
	}
	e.o.logf("burst setup: %d students in %s", k, time.Since(t0).Round(time.Millisecond))
	staff, err := e.Login(ctx, burstStaff, burstPass)
	return students, staff, err
}
