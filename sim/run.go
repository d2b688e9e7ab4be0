// Package sim is the simulated term (`jiaofu simulate`): it starts the real service in-process
// (embedded Temporal, store, HTTP API) with every duration compressed, generates a county and a
// term's work, lets seeded actors act on time, late or never, and compares what an oracle —
// written from the rules, not from the workflows — says must have been escalated with what the
// store recorded. See docs/simulation.md.
package sim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"jiaofu/apiclient"
	"jiaofu/calendar"
	"jiaofu/childproc"
	"jiaofu/config"
	"jiaofu/demo"
	"jiaofu/service"
	storepkg "jiaofu/store"
	"jiaofu/temporalserver"
)

// Size is how big a county and term to simulate.
type Size struct {
	Townships, Schools, Students int     // townships (of the demo's ten), schools per township, students per school
	DropoutShare                 float64 // share of students who also leave school
	FindingShare                 float64 // share of schools where the inspector records a finding
	SendHomeShare                float64 // share of schools where the staff start a send-home plan
	SendHomePeriods              int     // periods of each plan the teacher works through (then the plan ends)
	PlanTasks                    int     // tasks of the PA office's work plan, each led by a bureau section
	PairingShare                 float64 // share of schools where the staff pair a poverty-registered student with the teacher
	PairingMonths                int     // owed months of each pairing the teacher works through (then on time until the store is read)
	TransferShare                float64 // share of schools with a second leader, to whom the leader transfers some reviews (转办)
	LeaveShare                   float64 // share of townships with one more school whose leader is on leave (its reviews go to a stand-in)
	ContactShare                 float64 // share of schools a township's 包保 person answers for and owes a contact a month
	DutyShare                    float64 // share of schools whose term duties follow their profile (the others record on time)
	DutyMonths                   int     // whole duty periods simulated by profile (contacts: the first only; 0: no duties)
}

// Timings are the compressed deadlines, all multiples of one unit u, spaced so that every action
// the actors take lies at least one unit from any instant a rule depends on.
type Timings struct {
	ReviewDue, ResubmitDue, FirstContact, ReturnWindow, HQWindow time.Duration
	RectifyDue                                                   time.Duration   // a finding's rectification deadline, from its recording
	PayDue                                                       time.Duration   // a hardship grant's payment deadline, from its approval
	Ladder                                                       []time.Duration // rung offsets from the due time: remind, superior, supervision
	// A send-home plan's period and visits a period; its visit_quota ladder's rung offsets from
	// the period's end (the kit's targets, compressed offsets: the first as the period ends).
	SendHomePeriod time.Duration
	SendHomeQuota  int
	SendHomeLadder []time.Duration
	// A plan task is due PlanDue after it is added (JIAOFU_PLAN_TASK_DUE_IN); its plan_task_due
	// ladder's rung offsets from then (the process's targets, compressed offsets).
	PlanDue    time.Duration
	PlanLadder []time.Duration
	// A pairing's month and term (JIAOFU_PAIRING_MONTH, JIAOFU_PAIRING_TERM: two months, so that
	// term duties fall due too); its pairing_duty ladder's rung offsets from the month's end (the
	// kit's targets, compressed offsets); PairingCheckLag is how long after a month's end the
	// school's check is taken to read the records when its history cannot be read (pairing.go).
	PairingMonth, PairingTerm, PairingCheckLag time.Duration
	PairingLadder                              []time.Duration
	// Organisational handling is due HandlingDue after the office's decision
	// (JIAOFU_ORGANISATIONAL_HANDLING_DUE); its ladder's offsets from then (remind, bureau leader).
	HandlingDue    time.Duration
	HandlingLadder []time.Duration
	// The work plan's duty period (JIAOFU_DUTY_CHECK_EVERY: each both a month and a term), the
	// contact_duty and school_duty ladders' offsets from its end, and how long after the end a
	// unit's check is taken to read the unit when its history cannot be read (duty.go).
	DutyMonth, DutyCheckLag time.Duration
	DutyLadder              []time.Duration
}

// DefaultOpeners is how many openings may be in flight unless -openers says otherwise: enough to
// keep two cores busy, few enough that each answers within the update timeout.
const DefaultOpeners = 8

// waitsFor is how long an actor waits for a task to reach an inbox or a 202 opening's record to be
// written: ten units and twenty seconds for a small county, and a quarter of the spread more for a
// big one, whose service stays busy for as long as the openings last.
func waitsFor(u, spread time.Duration) time.Duration {
	return 10*u + 20*time.Second + spread/4
}

// DefaultDutyMonth is the duty period in units unless -duty-month says otherwise.
const DefaultDutyMonth = 8

func timingsFor(u time.Duration, dutyMonth int) Timings {
	return Timings{ReviewDue: 3 * u, ResubmitDue: 3 * u, FirstContact: 3 * u, ReturnWindow: 12 * u, HQWindow: 8 * u, RectifyDue: 4 * u,
		PayDue: 4 * u, Ladder: []time.Duration{u, 3 * u, 5 * u},
		// A period outlasts its ladder (6u) by two units, so the plan can end between the last
		// simulated period's last rung and the next period's end.
		SendHomePeriod: 8 * u, SendHomeQuota: 2, SendHomeLadder: []time.Duration{0, 2 * u, 4 * u, 6 * u},
		// A task is read back, reported on and, on time, declared 1.5u before its due time: 6u
		// leaves a busy service four and a half units to open it.
		PlanDue: 6 * u, PlanLadder: []time.Duration{0, 2 * u, 4 * u},
		// The late teacher records after the first rung at 3u past the month's end, a unit past the
		// span (2u) in which the sweep may still be reaching the school's check.
		PairingMonth: 8 * u, PairingTerm: 16 * u, PairingCheckLag: 2 * u, PairingLadder: []time.Duration{0, 6 * u, 8 * u},
		HandlingDue: 4 * u, HandlingLadder: []time.Duration{0, 2 * u},
		// A late record lands after the period's end, between the rungs (2u) or past the last (6u):
		// a period of 8u or more keeps it in the next period.
		DutyMonth: time.Duration(dutyMonth) * u, DutyCheckLag: 2 * u, DutyLadder: []time.Duration{0, 4 * u}}
}

// Options configure one run.
type Options struct {
	Seed   uint64
	Unit   time.Duration
	Spread time.Duration // the cases open evenly over this (0: three units)
	// DutyMonth is the work plan's duty period in units (0: DefaultDutyMonth).
	DutyMonth int
	// Openers bound the openings in flight (open.go; 0: none, every opening at its place in the spread).
	Openers int
	Size    Size
	Verbose bool
	// Diagnose splits each dropout window's lateness by the case's Temporal history (diagnose.go).
	Diagnose bool
	// PG, when set, keeps the store in a fresh schema of this PostgreSQL (postgres://…) instead
	// of SQLite; KeepPG leaves the schema behind after the run.
	PG     string
	KeepPG bool
	// Kills > 0 runs the service as a child process (Self, with Env besides the run's settings) and
	// kills it with SIGKILL that many times at seeded instants, each gap drawn in [½, 1½]× KillEvery
	// from the last readiness, restarting it on the same data dir (kill.go).
	Kills     int
	KillEvery time.Duration
	Self      string
	Env       []string
	Log       io.Writer
}

// Run is `jiaofu simulate`.
func Run(args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	o := Options{Log: os.Stdout}
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the run: the same seed generates the same county and behaviour")
	fs.DurationVar(&o.Unit, "unit", time.Second, "the compressed time unit (a review is due in 3 units, the township window is 12)")
	fs.IntVar(&o.Size.Townships, "townships", 4, "townships (1–10) that get simulated schools")
	fs.IntVar(&o.Size.Schools, "schools", 2, "simulated schools per township")
	fs.IntVar(&o.Size.Students, "students", 25, "students per school; each has a subsidy application")
	fs.Float64Var(&o.Size.DropoutShare, "dropout-share", 0.3, "share of students who also leave school (a dropout case)")
	fs.Float64Var(&o.Size.FindingShare, "finding-share", 0.75, "share of schools where the inspector records a finding (rectification deadline, ladder rectification_due)")
	fs.Float64Var(&o.Size.SendHomeShare, "sendhome-share", 0.5, "share of schools where the staff start a send-home plan (period 8 units, 2 visits a period, ladder visit_quota)")
	fs.IntVar(&o.Size.SendHomePeriods, "sendhome-periods", 3, "periods of each send-home plan the teacher works through before the plan ends")
	fs.IntVar(&o.Size.PlanTasks, "plan-tasks", 6, "tasks the PA office adds to a work plan, each led by a bureau section in turn (due in 6 units, ladder plan_task_due)")
	fs.Float64Var(&o.Size.PairingShare, "pairing-share", 0.5, "share of schools where the staff pair a poverty-registered student with the teacher (month 8 units, term 2 months, ladder pairing_duty)")
	fs.IntVar(&o.Size.PairingMonths, "pairing-months", 2, "owed months of each pairing the teacher works through (then on time until the store is read)")
	fs.Float64Var(&o.Size.TransferShare, "transfer-share", 0.5, "share of schools with a second leader, to whom the leader transfers (转办) some subsidy reviews (as the school's profile says)")
	fs.Float64Var(&o.Size.LeaveShare, "leave-share", 0.5, "share of townships with one more school whose leader is on leave: its subsidy reviews go to the stand-in at the central school")
	fs.Float64Var(&o.Size.ContactShare, "contact-share", 0.5, "share of schools the township's 包保 person answers for: one contact a month owed (ladder contact_duty)")
	fs.Float64Var(&o.Size.DutyShare, "duty-share", 0.5, "share of schools whose term duties (article, progress report) follow the school's profile; the others record on time (ladder school_duty)")
	fs.IntVar(&o.Size.DutyMonths, "duty-months", 2, "duty periods simulated by profile (0: no contacts or school duties)")
	fs.IntVar(&o.DutyMonth, "duty-month", DefaultDutyMonth, "the work plan's duty period (a month and a term: JIAOFU_DUTY_CHECK_EVERY) in units, at least 8")
	fs.IntVar(&o.Openers, "openers", DefaultOpeners, "openings (subsidy applications, dropout cases) in flight at most: the next waits for an answer, so the rate follows the service (0: no bound, a fixed rate over -spread)")
	fs.DurationVar(&o.Spread, "spread", 0, "open the cases evenly over this long (default three units; a big county needs longer: the service opens some tens of cases a second on two cores)")
	fs.BoolVar(&o.Verbose, "v", false, "show the service's log")
	fs.BoolVar(&o.Diagnose, "diagnose", false, "split each dropout window's lateness into its parts (from the cases' Temporal histories)")
	fs.StringVar(&o.PG, "pg", "", "keep the store in a fresh schema of this PostgreSQL (postgres://…; dropped after the run) instead of SQLite")
	fs.BoolVar(&o.KeepPG, "keep-pg", false, "with -pg: leave the run's schema behind")
	fs.IntVar(&o.Kills, "kills", 0, "run the service as a child process and kill it with SIGKILL this many times during the run, restarting it on the same data dir (choose -unit 3s or more: a restart takes seconds)")
	fs.DurationVar(&o.KillEvery, "kill-every", 15*time.Second, "with -kills: mean time the service runs between a restart and the next kill (each gap drawn in [½, 1½]× from the seed)")
	jsonPath := fs.String("json", "", "write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Size.Townships < 1 || o.Size.Townships > len(demo.Townships) {
		return fmt.Errorf("-townships must be 1–%d", len(demo.Townships))
	}
	if o.Openers < 0 {
		return fmt.Errorf("-openers must not be negative")
	}
	if o.DutyMonth < DefaultDutyMonth {
		return fmt.Errorf("-duty-month must be at least %d units: a late record must land in the next period", DefaultDutyMonth)
	}
	if o.Kills < 0 || (o.Kills > 0 && o.KillEvery < time.Second) {
		return fmt.Errorf("-kills must not be negative, and -kill-every must be at least 1s")
	}
	if o.Kills > 0 {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		o.Self = self
	}
	rep, err := Simulate(context.Background(), o)
	if err != nil {
		return err
	}
	rep.Print(o.Log)
	if *jsonPath != "" {
		if err := rep.WriteJSON(*jsonPath); err != nil {
			return err
		}
	}
	if rep.Failed() {
		return fmt.Errorf("simulate: the store and the oracle disagree (see the table)")
	}
	return nil
}

// Simulate runs one term and returns the report.
func Simulate(ctx context.Context, o Options) (rep *Report, err error) {
	t0 := time.Now()
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := os.MkdirTemp("", "jiaofu-sim-")
	if err != nil {
		return nil, err
	}
	defer func() {
		// With kills, a failed run keeps the child's data dir and its incarnations' logs.
		if o.Kills > 0 && (err != nil || rep.Failed()) {
			fmt.Fprintf(o.Log, "data dir and service logs kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	if o.DutyMonth == 0 {
		o.DutyMonth = DefaultDutyMonth
	}
	tm := timingsFor(o.Unit, o.DutyMonth)
	cfg, err := simConfig(dir, tm)
	if err != nil {
		return nil, err
	}
	store := "SQLite"
	if o.PG != "" {
		dbURL, drop, err := pgSchema(ctx, o.PG, o.Seed, o.KeepPG, func(f string, a ...any) { fmt.Fprintf(o.Log, f, a...) })
		if err != nil {
			return nil, err
		}
		defer drop()
		cfg.DatabaseURL, store = dbURL, "PostgreSQL"
	}
	hc := apiclient.NewHTTPClient(256)
	var (
		svc   *service.Service   // in-process, without kills
		child *childproc.Service // a child process, with kills
		kill  *killer            // kills the child
		rt    *retrying          // the actors' transport with kills
		base  string
	)
	if o.Kills > 0 {
		defer childproc.KillAll()
		env := childEnv(cfg)
		if cfg.DatabaseURL != "" {
			env = append(env, "DATABASE_URL="+cfg.DatabaseURL)
		}
		if child, err = childproc.NewService(o.Self, append(env, o.Env...), dir, cfg.DataDir, hc); err != nil {
			return nil, err
		}
		if err := child.Start(ctx); err != nil {
			return nil, err
		}
		defer child.Stop()
		// A request retried through a restart takes longer than the client's usual bound.
		rt = &retrying{next: hc.Transport, within: 3 * time.Minute}
		hc.Transport, hc.Timeout = rt, rt.within+time.Minute
		kill = &killer{svc: child, n: o.Kills, every: o.KillEvery, rng: rand.New(rand.NewPCG(o.Seed, KillStream)), finished: make(chan error, 1),
			logf: func(f string, a ...any) {
				fmt.Fprintf(o.Log, "%6.1fs  "+f, append([]any{time.Since(t0).Seconds()}, a...)...)
			}}
		base = child.Base
		fmt.Fprintf(o.Log, "service up as a child process in %s (store: %s, %s, logs in %s)\n", time.Since(t0).Round(time.Millisecond), store, base, dir)
	} else {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if o.Verbose {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		svc, err = service.Start(sctx, cfg, service.All, log)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("start service: %w", err)
		}
		defer svc.Stop()
		base = "http://" + svc.HTTPAddr()
		fmt.Fprintf(o.Log, "service up in %s (store: %s)\n", time.Since(t0).Round(time.Millisecond), store)
	}

	anon := apiclient.New(base, hc)
	admin, err := anon.Login(ctx, "admin", cfg.AdminPassword)
	if err != nil {
		return nil, err
	}
	jcs, err := anon.Login(ctx, "jcs01", demo.DemoPassword)
	if err != nil {
		return nil, err
	}
	inspector, err := anon.Login(ctx, "inspector01", demo.DemoPassword)
	if err != nil {
		return nil, err
	}
	// The ladders are data: set them through the API in compressed time, then read them back
	// for the oracle, so that the oracle works from what the service holds.
	var rungs []map[string]string
	for i, target := range []string{"remind", "superior", "supervision"} {
		rungs = append(rungs, map[string]string{"after": tm.Ladder[i].String(), "target": target})
	}
	for _, kind := range []string{"default", "subsidy_review", "subsidy_resubmit", "dropout_first_contact", FindingDeadlineKind} {
		if err := admin.Expect(ctx, 200, "PUT", "/api/v1/admin/escalation-ladders/"+kind, map[string]any{"rungs": rungs}, nil); err != nil {
			return nil, err
		}
	}
	if err := putDeadlineLadder(ctx, admin, SendHomeDeadlineKind, tm.SendHomeLadder); err != nil {
		return nil, err
	}
	for _, kind := range []string{PlanDeadlineKind, PlanContributionKind} {
		if err := putDeadlineLadder(ctx, admin, kind, tm.PlanLadder); err != nil {
			return nil, err
		}
	}
	if err := putDeadlineLadder(ctx, admin, HandlingKind, tm.HandlingLadder); err != nil {
		return nil, err
	}
	if err := putDeadlineLadder(ctx, admin, PairingDeadlineKind, tm.PairingLadder); err != nil {
		return nil, err
	}
	for _, kind := range []string{ContactDutyKind, SchoolDutyKind} {
		if err := putDeadlineLadder(ctx, admin, kind, tm.DutyLadder); err != nil {
			return nil, err
		}
	}
	// Never reached (the threshold is 0 in the simulation), compressed all the same.
	if err := putDeadlineLadder(ctx, admin, PairingSchoolKind, tm.PairingLadder[len(tm.PairingLadder)-1:]); err != nil {
		return nil, err
	}
	var ladders struct{ Items []Rung }
	if err := admin.Expect(ctx, 200, "GET", "/api/v1/admin/escalation-ladders", nil, &ladders); err != nil {
		return nil, err
	}
	rules := Rules{Ladders: map[string][]Rung{}, ReturnWindow: cfg.Duration("JIAOFU_DROPOUT_RETURN_WINDOW"), HQWindow: cfg.Duration("JIAOFU_DROPOUT_HQ_WINDOW"),
		Calendar: calendar.Default(), Guard: o.Unit / 3}
	w := &world{u: o.Unit, t: tm, rungs: map[string][]time.Duration{}, term: fmt.Sprintf("2026-2027-%d", 1+o.Seed%2), seed: o.Seed, j: &journal{}, office: jcs, hrng: rand.New(rand.NewPCG(o.Seed, HandlingStream)),
		within: waitsFor(o.Unit, spreadOf(o))}
	if o.Openers > 0 {
		w.slots = make(chan struct{}, o.Openers)
	}
	for _, r := range ladders.Items {
		rules.Ladders[r.TaskKind] = append(rules.Ladders[r.TaskKind], r)
		spec, err := calendar.ParseOffset(r.After)
		if err != nil {
			return nil, err
		}
		// The actors plan with the same offsets: they need to act between rungs, not on them.
		var zero time.Time
		w.rungs[r.TaskKind] = append(w.rungs[r.TaskKind], spec.Due(calendar.Default(), zero.Add(time.Hour)).Sub(zero.Add(time.Hour)))
	}

	rng := rand.New(rand.NewPCG(o.Seed, 0))
	cty, err := generate(ctx, admin, rng, o.Size, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("generate county: %w", err)
	}
	fmt.Fprintf(o.Log, "county generated: %d schools in %s\n", len(cty.Schools), time.Since(t0).Round(time.Millisecond))

	// Every case gets its own random stream (seed, index): what one actor draws does not depend
	// on how the goroutines happen to be scheduled. Openings spread over three units.
	type job struct {
		sc *school
		st student
	}
	var jobs []job
	for _, sc := range cty.Schools {
		for _, st := range sc.Students {
			jobs = append(jobs, job{sc, st})
		}
	}
	// Transfers: a stream of their own, so that adding them changed no other draw (transfer.go).
	jobSchools := make([]*school, len(jobs))
	for i, jb := range jobs {
		jobSchools[i] = jb.sc
	}
	transfers, _, err := drawTransfers(ctx, admin, cty.Schools, jobSchools, o.Size.TransferShare, o.Seed, rand.New(rand.NewPCG(o.Seed, TransferStream)))
	if err != nil {
		return nil, fmt.Errorf("generate county: %w", err)
	}
	spread := spreadOf(o)
	// Findings: a separate stream (seed, 0x1f), so that adding them changed no other draw.
	frng := rand.New(rand.NewPCG(o.Seed, 0x1f))
	var inspected []*school
	for _, sc := range cty.Schools {
		if frng.Float64() < o.Size.FindingShare {
			inspected = append(inspected, sc)
		}
	}
	// Send-home plans: a stream of their own (seed, 0x17), so that adding them changed no other draw.
	srng := rand.New(rand.NewPCG(o.Seed, 0x17))
	var sendHome []*school
	for _, sc := range cty.Schools {
		if srng.Float64() < o.Size.SendHomeShare {
			sendHome = append(sendHome, sc)
		}
	}
	// Pairings: a stream of their own (seed, 0x61), so that adding them changed no other draw; each
	// with a student of its own, whom no other process uses.
	prng := rand.New(rand.NewPCG(o.Seed, 0x61))
	var pairing []*school
	for _, sc := range cty.Schools {
		if prng.Float64() < o.Size.PairingShare {
			pairing = append(pairing, sc)
		}
	}
	stopPairings := make(chan struct{}) // also stops the school duties' on-time records
	var pairingsAfter sync.WaitGroup
	defer pairingsAfter.Wait()
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopPairings) }) }
	defer stop()
	start := time.Now()
	actorsDone := make(chan struct{})
	if kill != nil {
		go kill.run(ctx, actorsDone)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if sleepUntil(ctx, start.Add(spread)) == nil {
			w.pairings(ctx, pairing, o.Size.PairingMonths, prng, stopPairings, &pairingsAfter)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// After the burst of openings, which already keeps a small machine's worker busy.
		if sleepUntil(ctx, start.Add(spread)) == nil {
			w.sendHome(ctx, sendHome, o.Size.SendHomePeriods, srng)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.findings(ctx, inspector, inspected, frng)
	}()
	// The work plan's duties: a stream of their own, so that adding them changed no other draw;
	// the school duties' on-time records go on until the store has been read.
	pairingsAfter.Add(1)
	go func() {
		defer pairingsAfter.Done()
		w.duties(ctx, admin, cty.Schools, o.Size, rand.New(rand.NewPCG(o.Seed, DutyStream)), stopPairings)
	}()
	// The work plan's tasks: a stream of their own (seed, 0x24), so that adding them changed no other draw.
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.planTasks(ctx, anon, o.Size.PlanTasks, rand.New(rand.NewPCG(o.Seed, 0x24)))
	}()
	// Leave schools: a stream and schools of their own (leave.go), opened over the same spread.
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.leave(ctx, admin, o.Size.Townships, o.Size.LeaveShare, o.Size.Students, spread, rand.New(rand.NewPCG(o.Seed, LeaveStream)))
	}()
	// The hardship fund: a stream of its own (seed, 0x22), over every school.
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.hardship(ctx, anon, cty.Schools, rand.New(rand.NewPCG(o.Seed, 0x22)))
	}()
	for i, jb := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sleepUntil(ctx, start.Add(spread*time.Duration(i)/time.Duration(len(jobs)))); err != nil {
				return
			}
			var inner sync.WaitGroup
			inner.Add(1)
			go func() {
				defer inner.Done()
				w.subsidyCase(ctx, jb.sc, jb.st, rand.New(rand.NewPCG(o.Seed, uint64(2*i+1))), transfers[i])
			}()
			if jb.st.Dropout {
				w.dropoutCase(ctx, jb.sc, jb.st, rand.New(rand.NewPCG(o.Seed, uint64(2*i+2))))
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(actorsDone)
	if kill != nil {
		// No kill after the actors are through: what is due from then on falls due with the service up.
		if err := <-kill.finished; err != nil {
			return nil, err
		}
	}
	// The last rule falls due when the last case's HQ window ends; give the service three units
	// past it to put everything on record.
	last := start.Add(spread + tm.ReturnWindow + tm.HQWindow + 3*o.Unit)
	for _, d := range w.j.dropouts { // an opening the service answered late counts from its answer
		if at := d.Opened.Done.Add(tm.ReturnWindow + tm.HQWindow + 3*o.Unit); at.After(last) {
			last = at
		}
	}
	for _, t := range w.j.tasks {
		if at := t.Due.Add(tm.Ladder[len(tm.Ladder)-1] + 3*o.Unit); at.After(last) {
			last = at
		}
	}
	for _, f := range w.j.findings {
		if at := f.RectifyBy.Add(tm.Ladder[len(tm.Ladder)-1] + 3*o.Unit); at.After(last) {
			last = at
		}
	}
	last = w.hardshipSettled(last, w.rungs[HardshipDeadlineKind])
	last = w.sendHomeSettled(last)
	last = w.planSettled(last)
	last = w.pairingSettled(last)
	last = w.handlingSettled(last)
	last = w.dutySettled(last)
	if kill != nil { // rungs due while the service was down fire after its restart: three units for them
		if at := kill.lastReady().Add(3 * o.Unit); at.After(last) {
			last = at
		}
	}
	fmt.Fprintf(o.Log, "actors done in %s; settling until %s\n", time.Since(t0).Round(time.Millisecond), time.Until(last).Round(time.Millisecond))
	if err := sleepUntil(ctx, last); err != nil {
		return nil, err
	}

	orc, err := Expect(rules, w.j.tasks, w.j.dropouts, w.j.findings...)
	if err != nil {
		return nil, err
	}
	if err := orc.expectHardship(rules, w.j.hardship); err != nil {
		return nil, err
	}
	if err := orc.expectSendHome(rules, w.j.sendHome); err != nil {
		return nil, err
	}
	if err := orc.expectPlan(rules, w.j.plans); err != nil {
		return nil, err
	}
	// The pairing checks' reads, from their histories: the instants that decide the pairings' rungs.
	tc, closeTC, err := temporalClient(svc, child, cfg)
	if err != nil {
		return nil, err
	}
	defer closeTC()
	reads := map[string][]checkRead{}
	unread := checkReads(ctx, tc, reads, pairingCheckPrefix, pairingReadActivity, pairingChecks(w.j.pairings))
	if err := orc.expectPairings(rules, w.j.pairings, tm.PairingCheckLag, reads); err != nil {
		return nil, err
	}
	if err := orc.expectHandling(rules, w.j.handlings); err != nil {
		return nil, err
	}
	// The duty periods after the simulated ones go on until the service stops: they are named (ten
	// periods past the store's reading) so that what fires during the reading finds its period.
	// The duty checks' reads that decide whether a 包保 contact is owed for the period that ended
	// just before its responsibility was set.
	dutyReads := map[string][]checkRead{}
	dutyUnread := checkReads(ctx, tc, dutyReads, dutyCheckPrefix, dutyReadActivity, contactChecks(w.j.dutiesSnapshot(), tm.DutyMonth))
	if err := orc.expectDuties(rules, w.j.dutiesSnapshot(), tm.DutyCheckLag, tm.DutyMonth, w.dutyHorizon(), time.Now().Add(10*tm.DutyMonth), dutyReads); err != nil {
		return nil, err
	}
	rep = &Report{Seed: o.Seed, Unit: o.Unit.String(), Store: store, SubsidyCases: w.j.subsidy, DropoutCases: len(w.j.dropouts), Findings: len(w.j.findings),
		Tasks: len(w.j.tasks)}
	rep.HardshipGrants = len(w.j.hardship)
	rep.SendHomePlans = len(w.j.sendHome)
	for _, p := range w.j.sendHome {
		rep.SendHomePeriods += len(p.Periods)
	}
	for _, t := range w.j.tasks {
		if t.Transferred != nil {
			rep.Transfers++
		}
		if t.StandInFrom != "" {
			rep.StandIns++
		}
	}
	rep.PlanTasks = len(w.j.plans)
	rep.Pairings = len(w.j.pairings)
	rep.Handlings = len(w.j.handlings)
	for _, p := range w.j.pairings {
		rep.PairingMonths += len(p.Months)
	}
	rep.PairingByLag, rep.PairingUnread, rep.PairingReadLag = orc.pairingLag, unread, orc.pairingReadLag.Milliseconds()
	rep.ContactsByLag, rep.ContactUnread = len(dutyUnread), dutyUnread
	for _, d := range w.j.dutiesSnapshot() {
		if d.Kind == ContactDutyKind {
			rep.ContactDuties++
		} else {
			rep.SchoolDuties++
		}
	}
	rep.DutyPeriods = orc.dutyPeriods
	rep.Openers, rep.AcceptedOpenings = o.Openers, int(w.accepted.Load())
	rep.Cases = rep.SubsidyCases + rep.StandIns + rep.DropoutCases + rep.Findings + rep.HardshipGrants + rep.SendHomePlans + rep.PlanTasks + rep.Pairings +
		rep.ContactDuties + rep.SchoolDuties
	rep.LedgerProblems = checkHardship(ctx, jcs, w.j.hardship, w.within)
	rep.StandInProblems = checkStandIns(ctx, jcs, w.j.tasks)
	for _, e := range w.j.errs {
		rep.ActorErrors = append(rep.ActorErrors, e.Error())
	}
	recorded, err := fetchEscalations(ctx, jcs, w.j)
	if err != nil {
		return nil, err
	}
	stop() // the store has been read: the pairings' teachers stop recording
	Compare(orc, recorded, rep)
	if o.Diagnose {
		d, err := diagnose(ctx, tc, orc, w.j.dropouts, recorded, tm.ReturnWindow, tm.HQWindow)
		if err != nil {
			return nil, err
		}
		d.print(o.Log)
	}
	var v struct {
		OK      bool  `json:"ok"`
		Entries int64 `json:"entries"`
	}
	if err := jcs.Expect(ctx, 200, "GET", "/api/v1/admin/audit/verify", nil, &v); err != nil {
		return nil, err
	}
	rep.AuditOK, rep.AuditEntries = v.OK, v.Entries
	// The ledger reconciles in the store itself: in-process, through the running service's store;
	// with kills, once the child has stopped, on its data dir (or schema).
	var recErr error
	if child == nil {
		recErr = svc.Store.ReconcileHardship(ctx)
	} else {
		rep.KillsRequested, rep.Kills, rep.Restarts = o.Kills, int(kill.kills.Load()), child.Starts()-1
		if rep.Kills > 0 {
			rep.MeanDowntime = (time.Duration(kill.downFor.Load()) / time.Duration(rep.Kills)).Round(time.Millisecond).String()
		}
		rep.Retried, rep.UncertainWrites, rep.RefusedRepeats = rt.retried.Load(), rt.uncertain.Load(), rt.refusedRepeats.Load()
		rep.DueWhileDown = kill.dueWhileDown(orc)
		if !child.Alive() {
			rep.ActorErrors = append(rep.ActorErrors, "the service had exited by itself before the run stopped it")
		}
		child.Stop()
		st, err := storepkg.Open(ctx, cfg.DatabaseURL, cfg.DataDir, false)
		if err != nil {
			return nil, fmt.Errorf("open the store after the run: %w", err)
		}
		recErr = st.ReconcileHardship(ctx)
		st.Close()
	}
	if recErr != nil {
		rep.LedgerProblems = append(rep.LedgerProblems, "the ledger does not reconcile: "+recErr.Error())
	}
	rep.Elapsed = time.Since(t0).Round(time.Millisecond).String()
	rep.MaxRSSMB = maxRSSMB()
	return rep, nil
}

// spreadOf is how long the openings are spread over: -spread, or three units.
func spreadOf(o Options) time.Duration {
	if o.Spread <= 0 {
		return 3 * o.Unit
	}
	return o.Spread
}

// fetchEscalations reads every case's escalations as the supervision office sees them (one case
// at a time: the list answers at most 500 and has no paging).
func fetchEscalations(ctx context.Context, jcs *apiclient.Client, j *journal) ([]Recorded, error) {
	cases := map[string]bool{}
	for _, t := range j.tasks {
		cases[t.CaseID] = true
	}
	for _, d := range j.dropouts {
		cases[d.CaseID] = true
	}
	for _, f := range j.findings {
		cases[f.CaseID] = true
	}
	for _, g := range j.hardship {
		cases[g.CaseID] = true
	}
	for _, p := range j.sendHome {
		cases[p.CaseID] = true
	}
	for _, p := range j.plans {
		cases[p.CaseID] = true
	}
	for _, d := range j.dutiesSnapshot() {
		cases[d.CaseID] = true
	}
	for _, p := range j.pairings {
		cases[p.CaseID] = true
		cases["pairing-school-"+p.Unit] = true // the school threshold is 0: none may be on record
	}
	var all []Recorded
	for id := range cases {
		var out struct{ Items []Recorded }
		if err := jcs.Expect(ctx, 200, "GET", "/api/v1/escalations?limit=500&case_id="+id, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
	}
	return all, nil
}

// simConfig is the service's configuration for a run: free ports, a data dir of its own, and
// every deadline in compressed Go durations (so the working-day rules do not apply; see
// docs/simulation.md).
func simConfig(dir string, tm Timings) (config.Config, error) {
	cfg := config.Default()
	cfg.SeedDemoPlan = false // the simulated plan's tasks are its own (plan.go): the seeded 52 would only add load
	port, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		return cfg, err
	}
	spec := func(d time.Duration) calendar.Spec {
		sp, err := calendar.ParseSpec(d.String())
		if err != nil {
			panic(err) // a Go duration always parses
		}
		return sp
	}
	cfg.DataDir = dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.EmbeddedFrontend = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.EmbeddedUI = ""
	cfg.AdminPassword = "sim-admin-password"
	cfg.UpdateTimeout = 30 * time.Second
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", spec(tm.ReviewDue))
	cfg.SetDuration("JIAOFU_SUBSIDY_RESUBMIT_DUE", spec(tm.ResubmitDue))
	cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", spec(tm.FirstContact))
	cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", spec(tm.ReturnWindow))
	cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", spec(tm.HQWindow))
	cfg.SetDuration("JIAOFU_RECTIFICATION_DUE", spec(tm.RectifyDue))
	cfg.SetDuration("JIAOFU_HARDSHIP_PAY_DUE", spec(tm.PayDue))
	cfg.PlanTaskDueIn = tm.PlanDue // tests and demonstrations only: a plan task's 完成时限 is a date
	cfg.SetDuration("JIAOFU_ORGANISATIONAL_HANDLING_DUE", spec(tm.HandlingDue))
	cfg.SetDuration("JIAOFU_PAIRING_MONTH", spec(tm.PairingMonth))
	cfg.SetDuration("JIAOFU_PAIRING_TERM", spec(tm.PairingTerm))
	cfg.SetCount("JIAOFU_PAIRING_SCHOOL_THRESHOLD", 0)       // pairing_school never fires: not simulated (docs/simulation.md)
	cfg.DutyCheckEvery = tm.DutyMonth                        // each period both a 包保 month and a school term (duty.go)
	cfg.SetDuration("JIAOFU_SENDHOME_TERM", spec(time.Hour)) // no term ends during a run: no evaluation, no continue-as-new
	// Not simulated in this slice: long enough never to fall due during a run.
	for _, name := range []string{"JIAOFU_OBJECTION_REVIEW_DUE", "JIAOFU_PUBLICITY_SIGNOFF_DUE", "JIAOFU_DROPOUT_CLOSE_APPROVAL_DUE",
		"JIAOFU_RECTIFICATION_REDO_DUE", "JIAOFU_RECTIFICATION_REVIEW_DUE", "JIAOFU_HARDSHIP_VERIFICATION_DUE", "JIAOFU_HARDSHIP_APPROVAL_DUE",
		"JIAOFU_SENDHOME_EVALUATION_DUE", "JIAOFU_PLAN_TASK_REVIEW_DUE", "JIAOFU_PLAN_TASK_REDO_DUE"} {
		cfg.SetDuration(name, spec(time.Hour))
	}
	return cfg, cfg.Validate()
}

// putDeadlineLadder compresses a case deadline kind's ladder: the rungs keep the targets the
// service holds for the kind (declared by its process, or as an admin stored them) and take
// offsets, one per rung, of which there must be enough.
func putDeadlineLadder(ctx context.Context, admin *apiclient.Client, kind string, offsets []time.Duration) error {
	var ladders struct{ Items []Rung }
	if err := admin.Expect(ctx, 200, "GET", "/api/v1/admin/escalation-ladders", nil, &ladders); err != nil {
		return err
	}
	var rungs []map[string]string
	for _, r := range ladders.Items {
		if r.TaskKind != kind {
			continue
		}
		if len(rungs) == len(offsets) {
			return fmt.Errorf("ladder %s has more than the %d rungs the simulation compresses", kind, len(offsets))
		}
		rungs = append(rungs, map[string]string{"after": offsets[len(rungs)].String(), "target": r.Target})
	}
	if len(rungs) == 0 {
		return fmt.Errorf("no ladder %s in the service", kind)
	}
	return admin.Expect(ctx, 200, "PUT", "/api/v1/admin/escalation-ladders/"+kind, map[string]any{"rungs": rungs}, nil)
}
