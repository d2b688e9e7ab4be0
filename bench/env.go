package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"jiaofu/apiclient"
	"jiaofu/calendar"
	"jiaofu/config"
	"jiaofu/demo"
	"jiaofu/service"
	"jiaofu/store"
)

// EnvSpec says where the service under test keeps its state.
type EnvSpec struct {
	Name            string
	DatabaseURL     string // "" = SQLite in the data dir
	TemporalAddress string // "" = the embedded server
	ServerPID       int    // the external Temporal server's process, for its CPU per lifecycle (0: embedded)
	// PGRoles names what each PostgreSQL database is to the lifecycle ("temporal", "store", …)
	// in its CPU figures.
	PGRoles map[string]string
}

// Env is a running all-in-one service (embedded or external Temporal, worker, store, HTTP API)
// plus the bench's own worker for the bare lifecycle on the same Temporal server.
type Env struct {
	Name      string
	ServerPID int               // the external Temporal server's process (0: embedded, in this process)
	PGRoles   map[string]string // see EnvSpec
	Svc       *service.Service
	Base      string
	TC        client.Client

	o      *Options
	bare   sdkworker.Worker
	hc     *http.Client
	Staff  *HTTP
	Head   *HTTP
	Aid    *HTTP
	logf   *os.File
	dir    string
	terms  atomic.Int64
	runSeq atomic.Int64

	StudentID string
	SchoolID  string
	School    string
	Programme string
}

// StartEnv starts the service with bench-friendly deadlines (a short publicity period; review
// and sign-off due in an hour, so no escalation fires during a run).
func StartEnv(ctx context.Context, o *Options, spec EnvSpec) (*Env, error) {
	dir := filepath.Join(o.tmp, spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.EmbeddedFrontend = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.EmbeddedUI = ""
	cfg.DatabaseURL = spec.DatabaseURL
	cfg.TemporalAddress = spec.TemporalAddress
	cfg.AdminPassword = "bench-admin-password"
	cfg.UpdateTimeout = 60 * time.Second
	cfg.PublicRateLimit = 100000
	cfg.SeedDemoPlan = false // the seeded work plan's 52 cases are no part of any workload
	cfg.AnyTerm = true       // NextTerm's years 3000–9998 keep the phases' applications apart
	spec1 := func(s string) calendar.Spec {
		sp, err := calendar.ParseSpec(s)
		if err != nil {
			panic(err)
		}
		return sp
	}
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", spec1(o.Period.String()))
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", spec1("1h"))
	cfg.SetDuration("JIAOFU_SUBSIDY_RESUBMIT_DUE", spec1("1h"))
	cfg.SetDuration("JIAOFU_OBJECTION_REVIEW_DUE", spec1("1h"))
	cfg.SetDuration("JIAOFU_PUBLICITY_SIGNOFF_DUE", spec1("1h"))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lf, err := os.Create(filepath.Join(dir, "service.log"))
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	svc, err := service.Start(sctx, cfg, service.All, log)
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("start service (%s): %w", spec.Name, err)
	}
	o.logf("%s service up in %s (http %s, temporal %s)", spec.Name, time.Since(t0).Round(time.Millisecond), svc.HTTPAddr(), svc.TemporalAddr())
	e := &Env{Name: spec.Name, ServerPID: spec.ServerPID, PGRoles: spec.PGRoles, Svc: svc, Base: "http://" + svc.HTTPAddr(), TC: svc.Temporal, o: o, logf: lf, dir: dir,
		hc: newHTTPClient(4 * o.Clients)}
	e.runSeq.Store(time.Now().UnixNano() % 1_000_000)
	e.bare = newBareWorker(svc.Temporal)
	if err := e.bare.Start(); err != nil {
		e.Close()
		return nil, err
	}
	for _, u := range []struct {
		dst  **HTTP
		name string
	}{{&e.Staff, "staff01"}, {&e.Head, "head01"}, {&e.Aid, "aid01"}} {
		if *u.dst, err = e.Login(ctx, u.name, demo.DemoPassword); err != nil {
			e.Close()
			return nil, err
		}
	}
	// The lifecycle's student: registered (建档立卡), so no evidence note is needed; each lifecycle
	// applies for a term of its own, so one student and one school serve them all (see runLifecycles).
	sts, err := svc.Store.Students(ctx, store.StudentFilter{ScopePath: "/"})
	if err != nil {
		e.Close()
		return nil, err
	}
	for _, st := range sts {
		if st.Name == "张小三" {
			e.StudentID, e.SchoolID, e.School = st.ID, st.UnitID, st.UnitCode
		}
	}
	if e.StudentID == "" {
		e.Close()
		return nil, fmt.Errorf("demo student 张小三 not found")
	}
	e.Programme = "living-primary"
	return e, nil
}

// Close stops the bare worker and the service.
func (e *Env) Close() {
	if e.bare != nil {
		e.bare.Stop()
	}
	if e.Svc != nil {
		e.Svc.Stop()
	}
	if e.logf != nil {
		e.logf.Close()
	}
}

// NextTerm returns a term no lifecycle of this environment used yet (years 3000–9998).
func (e *Env) NextTerm() string {
	k := e.terms.Add(1) - 1
	y := 3000 + k/2
	return fmt.Sprintf("%d-%d-%d", y, y+1, k%2+1)
}

// RunID distinguishes workflow ids of repeated phases.
func (e *Env) RunID() int64 { return e.runSeq.Add(1) }

// Login returns an HTTP client bound to a user's token.
func (e *Env) Login(ctx context.Context, username, password string) (*HTTP, error) {
	return apiclient.New(e.Base, e.hc).Login(ctx, username, password)
}

// HTTP is a JSON client for one user.
type HTTP = apiclient.Client

func jsonUnmarshal(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func newHTTPClient(conns int) *http.Client { return apiclient.NewHTTPClient(conns) }
