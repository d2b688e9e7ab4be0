// Package config loads jiaofu's settings from environment variables into one typed struct.
//
// Every variable has a default suitable for a developer's laptop; Validate names the variable
// at fault, and production mode refuses to start on default secrets.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"jiaofu/calendar"
	"jiaofu/casework"
)

// Mode is development (the default: demo data, generated admin password) or production.
type Mode string

// The two modes.
const (
	Development Mode = "development"
	Production  Mode = "production"
)

// DefaultSecretKey is refused in production: it only protects a laptop demo.
const DefaultSecretKey = "jiaofu-development-secret-change-me"

// Config is every setting the service reads, with the environment variable that sets it.
type Config struct {
	Mode        Mode
	HTTPAddr    string
	DataDir     string
	DatabaseURL string
	// TemporalAddress, when set, points at an existing Temporal cluster and disables the embedded server.
	TemporalAddress   string
	TemporalNamespace string
	TemporalTaskQueue string
	EmbeddedFrontend  string
	EmbeddedUI        string
	TemporalRetention time.Duration
	// TemporalCompression is how the process's Temporal client sends its calls: "none" (plain,
	// the default) or "gzip" (the SDK's own default).
	TemporalCompression string
	AdminPassword       string
	SecretKey           string
	SessionTTL          time.Duration
	SeedDemo            bool
	// SeedDemoPlan seeds, with the demo data, the seed's own work plan: annex 1's 52 tasks, each a
	// running case of its section (the e2e tests leave it off but for the plan's own).
	SeedDemoPlan  bool
	UpdateTimeout time.Duration
	// ShutdownTimeout bounds a stop (SIGTERM, Ctrl-C): requests in flight and running activities
	// have this long to finish before the process lets go of them.
	ShutdownTimeout time.Duration
	PublicRateLimit int
	// HistoryEvents is the history length at which a case continues as new (Temporal also
	// suggests it at 4,096 events, 4 MB, or 90% of its 2,000 updates per run).
	HistoryEvents int
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed; from anyone else they are ignored.
	TrustedProxies []string
	// AuditKeyFile is the Ed25519 key that signs the audit trail's checkpoints, kept outside the
	// database; unset (development only) it is a key generated into the data dir (auditkey).
	AuditKeyFile string

	// InspectorateUnit is the unit code of the inspectorate (督导办) whose routine rounds the
	// Temporal Schedule opens; InspectionScheduleEvery, when set, replaces the schedule's term
	// calendar with a plain interval (tests, demonstrations).
	InspectorateUnit        string
	InspectionScheduleEvery time.Duration
	// DutyCheckEvery, when set, replaces the calendar months and terms of the work plan's duty
	// checks (包保 contacts, school duties) with periods of this length (tests, demonstrations).
	DutyCheckEvery time.Duration
	// PlanTaskDueIn, when set, makes a plan task added due this long after it is added instead of
	// at 23:59 of its 完成时限, so that its deadline can pass in a test or a demonstration.
	PlanTaskDueIn time.Duration
	// Durations are the processes' settings (casework.Settings: due times, windows, periods),
	// by variable name; Duration reads one.
	Durations map[string]calendar.Spec
	// Counts are the processes' settings that are whole numbers (casework.Setting.Count: a
	// quota such as visits per period), by variable name; Count reads one.
	Counts map[string]int
	// HardshipTopRatio is the share of the bureau leaders who must approve a hardship grant above
	// JIAOFU_HARDSHIP_LEADER_ABOVE (票签, JIAOFU_HARDSHIP_TOP_RATIO): 2/3 by default.
	HardshipTopRatio Ratio
	// AnyTerm lets new applications name any well-formed term, not only the current and the next
	// school year's. No variable sets it: the benchmarks need a fresh term for each phase (one
	// application per student, programme and term) and set it in code.
	AnyTerm bool
	// LogFormat is json (one object a line, production's default) or text (development's).
	LogFormat string
	// MetricsToken, when set, lets a Prometheus server read /metrics with it as its bearer token
	// and no login (the route's rule: admin, scraper).
	MetricsToken string
	// MetricsAddr, when set, is where a worker-only process (jiaofu worker) serves /metrics and
	// /healthz; the processes running the API serve them on HTTPAddr.
	MetricsAddr string
	// PprofAddr, when set, is a loopback address where the process serves Go's runtime profiles
	// (net/http/pprof: heap, goroutines, CPU) for an operator or the benchmark harness; never on
	// HTTPAddr, since a profile shows the process's memory.
	PprofAddr string
}

// Ratio is a share Num/Den, 0 < Num <= Den (2/3: at least two thirds).
type Ratio struct {
	Num, Den int
}

// parseRatio reads a share written n/d, such as 2/3.
func parseRatio(v string) (Ratio, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(v), "/")
	num, err1 := strconv.Atoi(strings.TrimSpace(n))
	den, err2 := strconv.Atoi(strings.TrimSpace(d))
	if !ok || err1 != nil || err2 != nil || num <= 0 || den <= 0 || num > den {
		return Ratio{}, fmt.Errorf("%q is not a share such as 2/3 (two whole numbers, the first not above the second)", v)
	}
	return Ratio{Num: num, Den: den}, nil
}

func mustSpec(s string) calendar.Spec {
	spec, err := calendar.ParseSpec(s)
	if err != nil {
		panic(err)
	}
	return spec
}

// Default returns the settings used when no variable is set.
func Default() Config {
	return Config{
		Mode:                Development,
		HTTPAddr:            ":8080",
		DataDir:             "./data",
		TemporalNamespace:   "default",
		TemporalTaskQueue:   "jiaofu",
		EmbeddedFrontend:    "127.0.0.1:7233",
		EmbeddedUI:          "127.0.0.1:8233",
		TemporalRetention:   30 * 24 * time.Hour,
		TemporalCompression: "none",
		SecretKey:           DefaultSecretKey,
		SessionTTL:          12 * time.Hour,
		SeedDemo:            true,
		SeedDemoPlan:        true,
		UpdateTimeout:       10 * time.Second,
		ShutdownTimeout:     30 * time.Second,
		PublicRateLimit:     10,
		HistoryEvents:       3000,
		InspectorateUnit:    "JS-DDB",
		Durations:           defaultDurations(),
		Counts:              defaultCounts(),
		HardshipTopRatio:    Ratio{Num: 2, Den: 3},
		LogFormat:           "text",
	}
}

func defaultDurations() map[string]calendar.Spec {
	m := map[string]calendar.Spec{}
	for _, s := range casework.Settings() {
		m[s.Env] = mustSpec(s.Default)
	}
	return m
}

func defaultCounts() map[string]int {
	m := map[string]int{}
	for _, s := range casework.CountSettings() {
		n, err := strconv.Atoi(s.Default)
		if err != nil {
			panic(err)
		}
		m[s.Env] = n
	}
	return m
}

// Count is the whole-number process setting of the variable name (a casework.Setting with Count).
func (c Config) Count(name string) int {
	n, ok := c.Counts[name]
	if !ok {
		panic("config: no count setting " + name)
	}
	return n
}

// SetCount changes a whole-number process setting; the map is copied first, as SetDuration's.
func (c *Config) SetCount(name string, n int) {
	if _, ok := c.Counts[name]; !ok {
		panic("config: no count setting " + name)
	}
	m := make(map[string]int, len(c.Counts))
	for k, v := range c.Counts {
		m[k] = v
	}
	m[name] = n
	c.Counts = m
}

// Duration is the process setting of the variable name (one of casework.Settings).
func (c Config) Duration(name string) calendar.Spec {
	d, ok := c.Durations[name]
	if !ok {
		panic("config: no process setting " + name) // a name not in the registry: a programming error
	}
	return d
}

// SetDuration changes a process setting (tests and benchmarks shorten them); the map is copied
// first, so that a Config copied from another does not change it.
func (c *Config) SetDuration(name string, d calendar.Spec) {
	if _, ok := c.Durations[name]; !ok {
		panic("config: no process setting " + name)
	}
	m := make(map[string]calendar.Spec, len(c.Durations))
	for k, v := range c.Durations {
		m[k] = v
	}
	m[name] = d
	c.Durations = m
}

// Var documents one environment variable for the README and for error messages.
type Var struct {
	Name, Default, Meaning string
}

// Vars lists every variable the service reads, in the order the README shows them.
var Vars = []Var{
	{"JIAOFU_ENV", "development", "`production` refuses default secrets and skips demo data"},
	{"JIAOFU_HTTP_ADDR", ":8080", "HTTP API and console listen address"},
	{"JIAOFU_DATA_DIR", "./data", "embedded SQLite store and embedded Temporal files"},
	{"DATABASE_URL", "(unset: SQLite in the data dir)", "postgres://… to keep the store in PostgreSQL"},
	{"TEMPORAL_ADDRESS", "(unset: embedded server)", "host:port of an existing Temporal frontend"},
	{"TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"JIAOFU_TASK_QUEUE", "jiaofu", "Temporal task queue of the worker"},
	{"JIAOFU_TEMPORAL_FRONTEND_ADDR", "127.0.0.1:7233", "embedded server's gRPC frontend"},
	{"JIAOFU_TEMPORAL_UI_ADDR", "127.0.0.1:8233", "embedded Temporal Web UI; `off` disables it"},
	{"JIAOFU_TEMPORAL_RETENTION", "720h", "how long the embedded namespace keeps closed workflows"},
	{"JIAOFU_TEMPORAL_COMPRESSION", "none", "how the process's Temporal client sends its calls: `none`, or `gzip` (the Temporal SDK's default) when Temporal is across a slow link; on one host or a LAN, gzip only costs CPU on both sides (docs/benchmarks.md)"},
	{"JIAOFU_ADMIN_PASSWORD", "(dev: generated and printed)", "password of user `admin`, created on first start"},
	{"JIAOFU_SECRET_KEY", "(dev default)", "key for console cookies and CSRF tokens; required in production"},
	{"JIAOFU_SESSION_TTL", "12h", "how long a login token lasts"},
	{"JIAOFU_AUDIT_KEY_FILE", "(dev: generated into the data dir)", "PEM file of the Ed25519 key that signs the audit trail's daily checkpoints (`openssl genpkey -algorithm ed25519`); kept outside the database; required in production"},
	{"JIAOFU_SEED_DEMO", "true in development", "seed Jianshi County demo data on first start"},
	{"JIAOFU_SEED_DEMO_PLAN", "true in development", "with the demo data, seed the bureau's own work plan (建教办〔2019〕18号, annex 1: 52 tasks re-dated to this year, each a running case of its section)"},
	{"JIAOFU_UPDATE_TIMEOUT", "10s", "how long the API waits for a worker to accept a task action before answering 503"},
	{"JIAOFU_SHUTDOWN_TIMEOUT", "30s", "on SIGTERM or Ctrl-C, how long requests in flight and running activities have to finish (new connections are refused at once); the process exits 0 when they have; from 1s to 10m; keep it under the grace period before SIGKILL (`docker stop` waits 10s unless `stop_grace_period` says more, Kubernetes 30s)"},
	{"JIAOFU_PUBLIC_RATE_LIMIT", "10", "objections per minute per client on public pages"},
	{"JIAOFU_TRUSTED_PROXIES", "(none)", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For / -Proto are believed (the client address for rate limits, https for cookies)"},
	{"JIAOFU_INSPECTORATE_UNIT", "JS-DDB", "unit code of the inspectorate (督导办) whose routine rounds the schedule opens"},
	{"JIAOFU_INSPECTION_SCHEDULE_EVERY", "(unset: by the term calendar)", "a Go duration such as 10m: the routine-round schedule starts a round this often instead of by the term calendar (tests, demonstrations)"},
	{"JIAOFU_DUTY_CHECK_EVERY", "(unset: calendar months and terms)", "a Go duration such as 10m: the work plan's duty checks (包保 contacts a month, school duties a term; Temporal Schedule `plan-duty-check`) count periods of this length, each both a month and a term, instead of calendar months and school terms (tests, demonstrations)"},
	{"JIAOFU_PLAN_TASK_DUE_IN", "(unset: at 23:59 of its 完成时限)", "a Go duration such as 30s: a plan task added is due this long after it is added, whatever its 完成时限 says, so that its deadline passes in a test or a demonstration (never in production)"},
	{"JIAOFU_LOG_FORMAT", "json in production, text in development", "log lines as JSON objects, one a line (`json`), or `key=value` text (`text`); every HTTP request's line and its workflows' and activities' lines carry its `request_id` (docs/operations.md)"},
	{"JIAOFU_METRICS_TOKEN", "(unset: admins only)", "bearer token a Prometheus server reads `GET /metrics` with, without a login; at least 32 characters (docs/operations.md)"},
	{"JIAOFU_METRICS_ADDR", "(unset: none)", "`jiaofu worker` only: the address (`:9464`) it serves `GET /metrics` (its Temporal SDK series: workflow and activity task latencies, slots, polls) and `GET /healthz` on; `jiaofu` and `jiaofu api` serve them on `JIAOFU_HTTP_ADDR`"},
	{"JIAOFU_HISTORY_EVENTS", "3000", "a case's workflow history continues as new past this many events (sooner when Temporal suggests it), with its open tasks"},
	{"JIAOFU_HARDSHIP_TOP_RATIO", "2/3", "share of the bureau leaders who must approve a hardship grant above `JIAOFU_HARDSHIP_LEADER_ABOVE` (票签: every bureau leader not barred votes; the grant is rejected once the share can no longer be reached), fixed when the grant is applied for"},
}

func init() {
	// Then every process's settings, from the registry.
	for _, s := range casework.Settings() {
		Vars = append(Vars, Var{s.Env, s.Default, s.Meaning})
	}
	for _, s := range casework.CountSettings() {
		Vars = append(Vars, Var{s.Env, s.Default, s.Meaning})
	}
}

// LogFormatOf is the log format the environment asks for, read before the whole configuration
// so that its own errors are logged in it: JIAOFU_LOG_FORMAT when it is json or text, otherwise
// the mode's default (a wrong value is reported by Load with the other mistakes).
func LogFormatOf(lookup func(string) (string, bool)) string {
	if v, ok := lookup("JIAOFU_LOG_FORMAT"); ok {
		if v = strings.TrimSpace(v); v == "json" || v == "text" {
			return v
		}
	}
	if v, _ := lookup("JIAOFU_ENV"); Mode(strings.TrimSpace(v)) == Production {
		return "json"
	}
	return "text"
}

// zeroCounts are the counts that may be 0: a percent threshold, where 0 means the check never
// fires (the term simulation runs so, and passes it to a child process as a variable).
var zeroCounts = map[string]bool{"JIAOFU_PAIRING_SCHOOL_THRESHOLD": true}

// FromEnv reads the environment over Default and validates the result.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load reads settings through lookup (os.LookupEnv in production, a map in tests).
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok {
			*dst = strings.TrimSpace(v)
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v, ok := lookup(name); ok {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive Go duration such as 30s or 12h", name, v))
				return
			}
			*dst = d
		}
	}
	spec := func(name string, dst *calendar.Spec) {
		if v, ok := lookup(name); ok {
			s, err := calendar.ParseSpec(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			*dst = s
		}
	}
	var mode string
	str("JIAOFU_ENV", &mode)
	switch Mode(mode) {
	case "":
	case Development, Production:
		c.Mode = Mode(mode)
		if c.Mode == Production {
			c.SeedDemo = false
			c.SeedDemoPlan = false
			c.SecretKey = ""
			c.LogFormat = "json"
		}
	default:
		errs = append(errs, fmt.Errorf("JIAOFU_ENV: %q is neither development nor production", mode))
	}
	str("JIAOFU_HTTP_ADDR", &c.HTTPAddr)
	str("JIAOFU_DATA_DIR", &c.DataDir)
	str("DATABASE_URL", &c.DatabaseURL)
	str("TEMPORAL_ADDRESS", &c.TemporalAddress)
	str("TEMPORAL_NAMESPACE", &c.TemporalNamespace)
	str("JIAOFU_TASK_QUEUE", &c.TemporalTaskQueue)
	str("JIAOFU_TEMPORAL_FRONTEND_ADDR", &c.EmbeddedFrontend)
	str("JIAOFU_TEMPORAL_UI_ADDR", &c.EmbeddedUI)
	if c.EmbeddedUI == "off" {
		c.EmbeddedUI = ""
	}
	dur("JIAOFU_TEMPORAL_RETENTION", &c.TemporalRetention)
	str("JIAOFU_TEMPORAL_COMPRESSION", &c.TemporalCompression)
	str("JIAOFU_ADMIN_PASSWORD", &c.AdminPassword)
	str("JIAOFU_SECRET_KEY", &c.SecretKey)
	str("JIAOFU_AUDIT_KEY_FILE", &c.AuditKeyFile)
	str("JIAOFU_LOG_FORMAT", &c.LogFormat)
	str("JIAOFU_METRICS_TOKEN", &c.MetricsToken)
	str("JIAOFU_METRICS_ADDR", &c.MetricsAddr)
	str("JIAOFU_PPROF_ADDR", &c.PprofAddr)
	dur("JIAOFU_SESSION_TTL", &c.SessionTTL)
	if v, ok := lookup("JIAOFU_SEED_DEMO"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_SEED_DEMO: %q is not true or false", v))
		}
		c.SeedDemo = b
		c.SeedDemoPlan = c.SeedDemoPlan && b
	}
	if v, ok := lookup("JIAOFU_SEED_DEMO_PLAN"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_SEED_DEMO_PLAN: %q is not true or false", v))
		}
		c.SeedDemoPlan = b && c.SeedDemo
	}
	dur("JIAOFU_UPDATE_TIMEOUT", &c.UpdateTimeout)
	dur("JIAOFU_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	str("JIAOFU_INSPECTORATE_UNIT", &c.InspectorateUnit)
	dur("JIAOFU_INSPECTION_SCHEDULE_EVERY", &c.InspectionScheduleEvery)
	dur("JIAOFU_DUTY_CHECK_EVERY", &c.DutyCheckEvery)
	dur("JIAOFU_PLAN_TASK_DUE_IN", &c.PlanTaskDueIn)
	if v, ok := lookup("JIAOFU_PUBLIC_RATE_LIMIT"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("JIAOFU_PUBLIC_RATE_LIMIT: %q is not a positive whole number", v))
		}
		c.PublicRateLimit = n
	}
	if v, ok := lookup("JIAOFU_HISTORY_EVENTS"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 100 {
			errs = append(errs, fmt.Errorf("JIAOFU_HISTORY_EVENTS: %q is not a whole number of at least 100", v))
		}
		c.HistoryEvents = n
	}
	if v, ok := lookup("JIAOFU_HARDSHIP_TOP_RATIO"); ok {
		r, err := parseRatio(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_HARDSHIP_TOP_RATIO: %w", err))
		}
		c.HardshipTopRatio = r
	}
	if v, ok := lookup("JIAOFU_TRUSTED_PROXIES"); ok {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if net.ParseIP(p) == nil {
				if _, _, err := net.ParseCIDR(p); err != nil {
					errs = append(errs, fmt.Errorf("JIAOFU_TRUSTED_PROXIES: %q is not an IP address or CIDR range", p))
					continue
				}
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	for _, set := range casework.CountSettings() {
		if v, ok := lookup(set.Env); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || (n == 0 && !zeroCounts[set.Env]) {
				what := "a positive whole number"
				if zeroCounts[set.Env] {
					what = "a whole number of at least 0"
				}
				errs = append(errs, fmt.Errorf("%s: %q is not %s", set.Env, v, what))
				continue
			}
			c.SetCount(set.Env, n)
		}
	}
	for _, set := range casework.Settings() {
		d := c.Durations[set.Env]
		spec(set.Env, &d)
		c.SetDuration(set.Env, d)
	}
	// Every mistake at once, one a line, so that a start does not fail once per typo.
	return c, errors.Join(append(errs, c.Validate())...)
}

// listenAddr checks the form of an address to listen on, host:port or :port, so that a typo is
// found before anything starts or is created on disk rather than when the listener opens, after
// the embedded Temporal server has started. Whether the port is free is only known then.
func listenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not an address to listen on, such as :8080 or 127.0.0.1:8080", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535, such as :8080", addr)
	}
	return nil
}

// loopbackAddr checks a listen address that must not be reachable from another machine: a heap
// profile holds whatever the process has in memory (sessions, personal data being written).
func loopbackAddr(addr string) error {
	if err := listenAddr(addr); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q must be on loopback, such as 127.0.0.1:6060 (profiles show the process's memory)", addr)
	}
	return nil
}

// Validate checks settings that depend on each other; each message names its variable.
func (c Config) Validate() error {
	var errs []error
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("JIAOFU_HTTP_ADDR: must not be empty"))
	} else if err := listenAddr(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("JIAOFU_HTTP_ADDR: %w", err))
	}
	if c.TemporalAddress == "" && c.EmbeddedFrontend != "" {
		if err := listenAddr(c.EmbeddedFrontend); err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_TEMPORAL_FRONTEND_ADDR: %w", err))
		}
	}
	if c.TemporalAddress == "" && c.EmbeddedUI != "" {
		if err := listenAddr(c.EmbeddedUI); err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_TEMPORAL_UI_ADDR: %w (or off)", err))
		}
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("JIAOFU_DATA_DIR: must not be empty when DATABASE_URL is unset"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL: must start with postgres:// (unset it to use the embedded SQLite store)"))
	}
	// Below a second nothing in flight could finish; past ten minutes a stuck stop holds a
	// deployment up longer than any request or activity here needs.
	if c.ShutdownTimeout < time.Second || c.ShutdownTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("JIAOFU_SHUTDOWN_TIMEOUT: %s is outside 1s to 10m", c.ShutdownTimeout))
	}
	if c.TemporalNamespace == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE: must not be empty"))
	}
	if c.TemporalTaskQueue == "" {
		errs = append(errs, errors.New("JIAOFU_TASK_QUEUE: must not be empty"))
	}
	if c.TemporalAddress == "" && c.EmbeddedFrontend == "" {
		errs = append(errs, errors.New("JIAOFU_TEMPORAL_FRONTEND_ADDR: must not be empty when TEMPORAL_ADDRESS is unset"))
	}
	if c.MetricsAddr != "" {
		if err := listenAddr(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_METRICS_ADDR: %w", err))
		}
	}
	if c.PprofAddr != "" {
		if err := loopbackAddr(c.PprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("JIAOFU_PPROF_ADDR: %w", err))
		}
	}
	if c.TemporalCompression != "none" && c.TemporalCompression != "gzip" {
		errs = append(errs, fmt.Errorf("JIAOFU_TEMPORAL_COMPRESSION: %q is neither none nor gzip", c.TemporalCompression))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("JIAOFU_LOG_FORMAT: %q is neither json nor text", c.LogFormat))
	}
	// The token is all a scraper shows: short, it could be guessed, and /metrics tells how much
	// work is waiting where.
	if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
		errs = append(errs, errors.New("JIAOFU_METRICS_TOKEN: must be at least 32 characters (or unset, and only admins read /metrics)"))
	}
	// A grant above the bureau leaders' threshold has passed the PA office's: the tiers stack.
	if pa, leader := c.Counts["JIAOFU_HARDSHIP_PA_OFFICE_ABOVE"], c.Counts["JIAOFU_HARDSHIP_LEADER_ABOVE"]; leader <= pa {
		errs = append(errs, fmt.Errorf("JIAOFU_HARDSHIP_LEADER_ABOVE: %d must be above JIAOFU_HARDSHIP_PA_OFFICE_ABOVE (%d)", leader, pa))
	}
	if c.Mode == Production {
		if c.PlanTaskDueIn > 0 {
			errs = append(errs, errors.New("JIAOFU_PLAN_TASK_DUE_IN: for tests and demonstrations only; production keeps every plan task's own 完成时限"))
		}
		if c.SecretKey == "" || c.SecretKey == DefaultSecretKey {
			errs = append(errs, errors.New("JIAOFU_SECRET_KEY: production refuses the default secret; set a long random value"))
		} else if len(c.SecretKey) < 32 {
			errs = append(errs, errors.New("JIAOFU_SECRET_KEY: must be at least 32 characters in production"))
		}
		// A key generated into the data dir sits beside the store it vouches for: whoever can
		// rewrite the one can take the other. Production names a file kept apart.
		if c.AuditKeyFile == "" {
			errs = append(errs, errors.New("JIAOFU_AUDIT_KEY_FILE: required in production; the audit trail's signing key must be kept outside the database and the data dir"))
		}
		if c.AdminPassword == "" {
			errs = append(errs, errors.New("JIAOFU_ADMIN_PASSWORD: required in production"))
		} else if len(c.AdminPassword) < 12 {
			errs = append(errs, errors.New("JIAOFU_ADMIN_PASSWORD: must be at least 12 characters in production"))
		}
	}
	return errors.Join(errs...)
}
