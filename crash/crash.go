// Package crash is the crash harness (`jiaofu crash`, `make crash`; docs/reliability.md): it runs
// the all-in-one jiaofu as a child process on a data dir of its own, drives a mixed load through
// the HTTP API — subsidy lifecycles through publicity and sign-off, dropout cases left to
// escalate, hardship grants approved and paid, inspection findings rectified or left to escalate,
// send-home plans left short for a period, work-plan tasks closed out — while it kills the child
// with SIGKILL at seeded random moments and restarts it on the same data dir. At the end it reads
// the store and checks that every case is where it must be, nothing was recorded twice, no task
// was lost or doubled, every escalation due arrived exactly once, and the audit trail verifies.
package crash

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"jiaofu/apiclient"
	"jiaofu/childproc"
	"jiaofu/store"
)

const adminPassword = "crash-admin-password"

// Options configure one run.
type Options struct {
	Seed      uint64
	Subsidy   int           // subsidy applications, each carried through review, publicity and sign-off
	PerSchool int           // applications per school (one publicity batch each)
	Dropouts  int           // dropout cases opened and left to escalate
	Grants    int           // hardship grants applied for, verified, approved and paid
	SendHome  int           // send-home plans left unvisited for a period (its visit_quota rungs fire), then ended
	PlanTasks int           // work-plan tasks carried through contribution, declaration and acceptance (销号)
	Findings  int           // inspection findings recorded: every other one rectified and accepted, the rest left to escalate
	Kills     int           // at least this many SIGKILLs
	KillGap   time.Duration // mean time the service runs between a restart and the next kill (drawn in [½, 1½]×)
	Unit      time.Duration // the compressed deadline unit (see timings)
	Limit     time.Duration // the whole run's bound
	// Self is the executable run as jiaofu ("all" is its argument) and Env what it needs besides
	// the harness's settings (the test binary re-executed as jiaofu needs its switch).
	Self string
	Env  []string
	Dir  string // where the data dir and the logs go (empty: a temporary directory, removed after a clean run)
	Log  io.Writer
}

// Run is `jiaofu crash`.
func Run(args []string) error {
	fs := flag.NewFlagSet("crash", flag.ContinueOnError)
	o := Options{Log: os.Stdout}
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the kill moments (the same seed draws the same gaps between kills)")
	fs.IntVar(&o.Subsidy, "subsidy", 500, "subsidy applications carried through review, publicity (公示) and sign-off to disbursement")
	fs.IntVar(&o.PerSchool, "per-school", 50, "applications per school: each school's reviewed applications go into one publicity batch")
	fs.IntVar(&o.Dropouts, "dropouts", 200, "dropout cases opened and left to escalate (every rung of first contact, the return window and the HQ window)")
	fs.IntVar(&o.Grants, "grants", 30, "hardship grants applied for, verified, approved and paid")
	fs.IntVar(&o.SendHome, "sendhome", 10, "send-home plans nobody visits: the first period ends short, climbs every rung of its quota ladder, then the plan is ended")
	fs.IntVar(&o.PlanTasks, "plan-tasks", 20, "work-plan tasks on one plan: a cooperating section contributes, the lead section declares each done, the PA office accepts (销号)")
	fs.IntVar(&o.Findings, "findings", 40, "inspection findings recorded at the schools: half rectified and accepted, half left to climb the rectification deadline's ladder")
	fs.IntVar(&o.Kills, "kills", 5, "at least this many SIGKILLs of the service, each followed by a restart on the same data dir")
	fs.DurationVar(&o.KillGap, "kill-every", 40*time.Second, "mean time the service runs between a restart and the next kill (each gap drawn in [½, 1½]× from the seed)")
	fs.DurationVar(&o.Unit, "unit", 2*time.Second, "compressed deadline unit: publicity lasts 5 units, first contact is due in 5, the return window is 10 and the HQ window 6")
	fs.DurationVar(&o.Limit, "limit", 90*time.Minute, "give up after this long")
	fs.StringVar(&o.Dir, "dir", "", "keep the data dir and the service's logs here (default: a temporary directory, removed after a clean run)")
	jsonPath := fs.String("json", "", "write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o.Self = self
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Crash(ctx, o)
	if rep != nil {
		rep.Print(o.Log)
		if *jsonPath != "" {
			if werr := rep.WriteJSON(*jsonPath); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return fmt.Errorf("crash: the store shows defects after %d kills (see the table)", rep.Kills)
	}
	return nil
}

func (o *Options) check() error {
	switch {
	case o.Subsidy < 1 || o.PerSchool < 1:
		return fmt.Errorf("-subsidy and -per-school must be at least 1")
	case o.Dropouts < 0 || o.Grants < 0 || o.Findings < 0 || o.SendHome < 0 || o.PlanTasks < 0 || o.Kills < 0:
		return fmt.Errorf("-dropouts, -grants, -findings, -sendhome, -plan-tasks and -kills must not be negative")
	case o.Unit < 500*time.Millisecond:
		return fmt.Errorf("-unit must be at least 500ms: a rung needs time to be told from the next")
	case o.KillGap < time.Second:
		return fmt.Errorf("-kill-every must be at least 1s")
	}
	return nil
}

// harness is one run's shared state.
type harness struct {
	o       Options
	svc     *childproc.Service
	anon    *apiclient.Client
	logf    func(string, ...any)
	retries atomic.Int64 // requests sent again because the service did not answer
	// resent counts the writes answered only after an attempt whose answer was lost (or a 5xx), and
	// refusedRepeats those of them the API refused as repeats (409): done by the lost attempt.
	resent, refusedRepeats atomic.Int64
	// keyedRepeats counts the creates sent with an Idempotency-Key again after a lost answer and
	// answered with a case (the first attempt's, if it had started one: the check counts them).
	keyedRepeats atomic.Int64
	kills        atomic.Int64
	downFor      atomic.Int64 // nanoseconds from each kill to the restarted service's readiness
	lastReady    atomic.Int64 // when the last incarnation became ready (Unix nanoseconds)
	errMu        sync.Mutex
	errs         []string // what the load could not do (a case it gave up on)
}

func (h *harness) fail(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	h.errMu.Lock()
	h.errs = append(h.errs, msg)
	h.errMu.Unlock()
	h.logf("load: %s", msg)
}

// Crash runs the harness and returns its report (nil when it could not get as far as reading the
// store, with the reason).
func Crash(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Limit)
	defer cancel()
	defer childproc.KillAll()
	dir, keep := o.Dir, o.Dir != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "jiaofu-crash-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	h := &harness{o: o}
	h.logf = func(f string, a ...any) {
		fmt.Fprintf(o.Log, "%6.1fs  %s\n", time.Since(t0).Seconds(), fmt.Sprintf(f, a...))
	}
	hc := apiclient.NewHTTPClient(64)
	env := append([]string{"JIAOFU_ADMIN_PASSWORD=" + adminPassword}, timingsEnv(o.Unit)...)
	svc, err := childproc.NewService(o.Self, append(env, o.Env...), dir, dataDir, hc)
	if err != nil {
		return nil, err
	}
	h.svc = svc
	h.anon = apiclient.New(svc.Base, hc)
	h.logf("starting jiaofu all on %s (data dir %s)", svc.Base, dataDir)
	if err := svc.Start(ctx); err != nil {
		return nil, err
	}
	h.lastReady.Store(time.Now().UnixNano())
	w, err := h.setup(ctx)
	if err != nil {
		svc.Stop()
		return nil, fmt.Errorf("set up the county: %w", err)
	}
	h.logf("county ready: %d schools, %d subsidy students, %d dropout students, %d grant students, %d send-home students, %d findings to record, %d plan tasks",
		len(w.schools), o.Subsidy, o.Dropouts, o.Grants, o.SendHome, o.Findings, o.PlanTasks)

	// The killer runs while the load does, and on (through the escalations' wait) until it has
	// killed at least -kills times.
	loadDone := make(chan struct{})
	killerDone := make(chan error, 1)
	go func() { killerDone <- h.killer(ctx, loadDone) }()
	h.load(ctx, w)
	close(loadDone)
	h.logf("load done (%d requests retried); the killer goes on to %d kills", h.retries.Load(), o.Kills)
	if err := <-killerDone; err != nil {
		svc.Stop()
		return nil, err
	}
	if err := h.settle(ctx, w); err != nil {
		h.fail("settle: %v", err)
	}
	var verify struct {
		OK      bool   `json:"ok"`
		Entries int64  `json:"entries"`
		Problem string `json:"problem"`
	}
	if err := h.expect(ctx, w.admin, "GET", "/api/v1/admin/audit/verify", nil, &verify); err != nil {
		h.fail("audit verify: %v", err)
	}
	alive := svc.Alive()
	svc.Stop()
	h.logf("service stopped; reading the store")
	st, err := store.Open(ctx, "", dataDir, false)
	if err != nil {
		return nil, fmt.Errorf("open the store after the run: %w", err)
	}
	facts, err := readFacts(ctx, st, w.term, w.round, w.plan)
	if err == nil {
		if rerr := st.ReconcileHardship(ctx); rerr != nil {
			facts.LedgerProblem = rerr.Error()
		}
	}
	st.Close()
	if err != nil {
		return nil, fmt.Errorf("read the store after the run: %w", err)
	}
	rep := Check(w.expectation(), facts)
	rep.Seed, rep.Unit, rep.Kills = o.Seed, o.Unit.String(), int(h.kills.Load())
	rep.Restarts = svc.Starts() - 1
	rep.Retried, rep.ResentWrites, rep.RefusedRepeats = h.retries.Load(), h.resent.Load(), h.refusedRepeats.Load()
	rep.KeyedRepeats = h.keyedRepeats.Load()
	if rep.Kills > 0 {
		rep.MeanDowntime = (time.Duration(h.downFor.Load()) / time.Duration(rep.Kills)).Round(time.Millisecond).String()
	}
	rep.AuditOK, rep.AuditEntries, rep.AuditProblem = verify.OK, verify.Entries, verify.Problem
	rep.LoadErrors = h.errs
	if !alive {
		rep.LoadErrors = append(rep.LoadErrors, "the service had exited by itself before the harness stopped it")
	}
	rep.Elapsed = time.Since(t0).Round(time.Second).String()
	rep.Dir = dir
	if !rep.Failed() && !keep {
		os.RemoveAll(dir)
		rep.Dir = ""
	}
	return rep, nil
}

// killer kills the service at seeded random moments — each gap drawn in [½, 1½]× -kill-every from
// the moment it is ready — and restarts it on the same data dir, until the load is done and at
// least -kills kills have happened.
func (h *harness) killer(ctx context.Context, loadDone <-chan struct{}) error {
	rng := rand.New(rand.NewPCG(h.o.Seed, 0xc4))
	for {
		gap := time.Duration(float64(h.o.KillGap) * (0.5 + rng.Float64()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-loadDone:
			if int(h.kills.Load()) >= h.o.Kills {
				return nil
			}
			// The load is done but the kills are not: the rest fall while the escalations are
			// due, one gap apart.
			loadDone = nil
			continue
		case <-time.After(gap):
		}
		if !h.svc.Alive() {
			return fmt.Errorf("the service exited by itself:\n%s", childproc.Tail(h.svc.LogPath(), 2000))
		}
		killed := time.Now()
		if err := h.svc.Kill(); err != nil {
			return err
		}
		n := h.kills.Add(1)
		h.logf("kill %d (SIGKILL) after %s up; restarting on the same data dir", n, gap.Round(time.Millisecond))
		if err := h.svc.Start(ctx); err != nil {
			return err
		}
		h.downFor.Add(int64(time.Since(killed)))
		h.lastReady.Store(time.Now().UnixNano())
		h.logf("restart %d ready after %s", n, time.Since(killed).Round(time.Millisecond))
		if loadDone == nil && int(n) >= h.o.Kills {
			return nil
		}
	}
}

// timingsEnv compresses the deadlines the load meets into units; every other deadline is a day,
// so that nothing but what the harness expects can fall due during a run.
func timingsEnv(u time.Duration) []string {
	env := []string{
		"JIAOFU_PUBLICITY_PERIOD=" + (5 * u).String(),
		"JIAOFU_DROPOUT_FIRST_CONTACT=" + (5 * u).String(),
		"JIAOFU_DROPOUT_RETURN_WINDOW=" + (10 * u).String(),
		"JIAOFU_DROPOUT_HQ_WINDOW=" + (6 * u).String(),
		// A finding recorded without a date of its own (those left to escalate) is due in 5 units.
		"JIAOFU_RECTIFICATION_DUE=" + (5 * u).String(),
		// A worker slowed by a restart answers an action late rather than with a 503 the client
		// cannot tell from a crash.
		"JIAOFU_UPDATE_TIMEOUT=60s",
	}
	for _, name := range []string{"JIAOFU_SUBSIDY_REVIEW_DUE", "JIAOFU_SUBSIDY_RESUBMIT_DUE", "JIAOFU_OBJECTION_REVIEW_DUE",
		"JIAOFU_PUBLICITY_SIGNOFF_DUE", "JIAOFU_DROPOUT_CLOSE_APPROVAL_DUE", "JIAOFU_HARDSHIP_VERIFICATION_DUE",
		"JIAOFU_HARDSHIP_APPROVAL_DUE", "JIAOFU_HARDSHIP_PAY_DUE", "JIAOFU_RECTIFICATION_REVIEW_DUE", "JIAOFU_RECTIFICATION_REDO_DUE",
		"JIAOFU_PLAN_TASK_REVIEW_DUE"} {
		env = append(env, name+"=24h")
	}
	return env
}

// firstContactLadder is the compressed ladder of a dropout's first contact: reminded as it falls
// due, the superior unit 3 units later, the supervision office 6 units later.
func firstContactLadder(u time.Duration) []map[string]string {
	return []map[string]string{{"after": "0s", "target": "remind"}, {"after": (3 * u).String(), "target": "superior"},
		{"after": (6 * u).String(), "target": "supervision"}}
}

// rectificationDueLadder is the compressed ladder of a finding's rectification deadline: the
// unit reminded as it passes, its superior on the 包保 chain 3 units later, the supervision
// office 6 units later (the declared ladder's 1s, 1wd, 2wd).
func rectificationDueLadder(u time.Duration) []map[string]string {
	return []map[string]string{{"after": "1s", "target": "remind"}, {"after": (3 * u).String(), "target": "superior"},
		{"after": (6 * u).String(), "target": "supervision"}}
}

// visitQuotaLadder is the compressed ladder of a send-home period left short: the teachers as it
// ends, the school leader 2 units later, the education section 4, the supervision office 6 (the
// declared ladder's 0s, 1wd, 3wd, 5wd).
func visitQuotaLadder(u time.Duration) []map[string]string {
	return []map[string]string{{"after": "0s", "target": "teacher"}, {"after": (2 * u).String(), "target": "school_leader"},
		{"after": (4 * u).String(), "target": "education_section"}, {"after": (6 * u).String(), "target": "supervision"}}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
