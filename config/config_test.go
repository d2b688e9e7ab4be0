package config

import (
	"os"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsLoad(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.Duration("JIAOFU_PUBLICITY_PERIOD").String() != "5wd" || !c.SeedDemo {
		t.Errorf("defaults: %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"JIAOFU_PUBLICITY_PERIOD":  {"JIAOFU_PUBLICITY_PERIOD": "five days"},
		"JIAOFU_ENV":               {"JIAOFU_ENV": "staging"},
		"JIAOFU_UPDATE_TIMEOUT":    {"JIAOFU_UPDATE_TIMEOUT": "-1s"},
		"JIAOFU_SHUTDOWN_TIMEOUT":  {"JIAOFU_SHUTDOWN_TIMEOUT": "soon"},
		"DATABASE_URL":             {"DATABASE_URL": "mysql://x"},
		"JIAOFU_SEED_DEMO":         {"JIAOFU_SEED_DEMO": "maybe"},
		"JIAOFU_PUBLIC_RATE_LIMIT": {"JIAOFU_PUBLIC_RATE_LIMIT": "0"},
		"JIAOFU_TRUSTED_PROXIES":   {"JIAOFU_TRUSTED_PROXIES": "10.0.0.1, nginx"},
		"JIAOFU_SECRET_KEY":        {"JIAOFU_ENV": "production", "JIAOFU_ADMIN_PASSWORD": "a-long-enough-password", "JIAOFU_AUDIT_KEY_FILE": "/run/secrets/audit.pem"},
		"JIAOFU_ADMIN_PASSWORD":    {"JIAOFU_ENV": "production", "JIAOFU_SECRET_KEY": strings.Repeat("k", 40), "JIAOFU_AUDIT_KEY_FILE": "/run/secrets/audit.pem"},
		"JIAOFU_AUDIT_KEY_FILE":    {"JIAOFU_ENV": "production", "JIAOFU_SECRET_KEY": strings.Repeat("k", 40), "JIAOFU_ADMIN_PASSWORD": "a-long-enough-password"},
		"JIAOFU_DROPOUT_HQ_WINDOW": {"JIAOFU_DROPOUT_HQ_WINDOW": "0d"},
		"JIAOFU_PLAN_TASK_DUE_IN": {"JIAOFU_ENV": "production", "JIAOFU_SECRET_KEY": strings.Repeat("k", 40),
			"JIAOFU_ADMIN_PASSWORD": "a-long-enough-password", "JIAOFU_PLAN_TASK_DUE_IN": "30s"},
		// A share above one, or not a share at all.
		"JIAOFU_HARDSHIP_TOP_RATIO": {"JIAOFU_HARDSHIP_TOP_RATIO": "3/2"},
		"JIAOFU_LOG_FORMAT":         {"JIAOFU_LOG_FORMAT": "yaml"},
		"JIAOFU_METRICS_TOKEN":      {"JIAOFU_METRICS_TOKEN": "short"},
		"JIAOFU_METRICS_ADDR":       {"JIAOFU_METRICS_ADDR": "9464"},
	}
	for _, bad := range []string{"2", "0/3", "two thirds", "2/0", "-1/3", "2/3/4"} {
		if _, err := Load(env(map[string]string{"JIAOFU_HARDSHIP_TOP_RATIO": bad})); err == nil || !strings.Contains(err.Error(), "JIAOFU_HARDSHIP_TOP_RATIO") {
			t.Errorf("JIAOFU_HARDSHIP_TOP_RATIO=%q: %v", bad, err)
		}
	}
	if c, err := Load(env(map[string]string{"JIAOFU_HARDSHIP_TOP_RATIO": " 3/4 "})); err != nil || c.HardshipTopRatio != (Ratio{3, 4}) {
		t.Errorf("JIAOFU_HARDSHIP_TOP_RATIO=3/4: %+v %v", c.HardshipTopRatio, err)
	}
	if c, _ := Load(env(nil)); c.HardshipTopRatio != (Ratio{2, 3}) {
		t.Errorf("JIAOFU_HARDSHIP_TOP_RATIO default: %+v, want 2/3", c.HardshipTopRatio)
	}
	for name, vars := range cases {
		_, err := Load(env(vars))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the variable", name, err)
		}
	}
	// Production with real secrets starts, and never seeds demo data.
	c, err := Load(env(map[string]string{"JIAOFU_ENV": "production", "JIAOFU_SECRET_KEY": strings.Repeat("k", 40), "JIAOFU_ADMIN_PASSWORD": "a-long-enough-password",
		"JIAOFU_AUDIT_KEY_FILE": "/run/secrets/audit.pem"}))
	if err != nil || c.SeedDemo {
		t.Errorf("production: %v seed=%v", err, c.SeedDemo)
	}
	if _, err := Load(env(map[string]string{"JIAOFU_ENV": "production", "JIAOFU_SECRET_KEY": DefaultSecretKey, "JIAOFU_ADMIN_PASSWORD": "a-long-enough-password",
		"JIAOFU_AUDIT_KEY_FILE": "/run/secrets/audit.pem"})); err == nil {
		t.Error("production accepted the default secret")
	}
}

func TestReadmeListsEveryVariable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		if !strings.Contains(string(b), "`"+v.Name+"`") {
			t.Errorf("README.md does not list %s", v.Name)
		}
	}
}

func TestListenAddressesAreCheckedForForm(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"nonsense", "8080", "localhost:http", ":99999", "127.0.0.1:-1"} {
		_, err := Load(env(map[string]string{"JIAOFU_HTTP_ADDR": bad}))
		if err == nil || !strings.Contains(err.Error(), "JIAOFU_HTTP_ADDR") {
			t.Errorf("JIAOFU_HTTP_ADDR=%q: %v", bad, err)
		}
	}
	for _, good := range []string{":8080", "127.0.0.1:0", "[::1]:8080", "0.0.0.0:80"} {
		if _, err := Load(env(map[string]string{"JIAOFU_HTTP_ADDR": good})); err != nil {
			t.Errorf("JIAOFU_HTTP_ADDR=%q: %v", good, err)
		}
	}
	if _, err := Load(env(map[string]string{"JIAOFU_TEMPORAL_UI_ADDR": "off", "JIAOFU_TEMPORAL_FRONTEND_ADDR": "127.0.0.1:7233"})); err != nil {
		t.Errorf("UI off: %v", err)
	}
	if _, err := Load(env(map[string]string{"JIAOFU_TEMPORAL_FRONTEND_ADDR": "7233"})); err == nil || !strings.Contains(err.Error(), "JIAOFU_TEMPORAL_FRONTEND_ADDR") {
		t.Errorf("a frontend address without a colon: %v", err)
	}
}

// The profiles listener is off unless set, and only on loopback: a heap profile shows what the
// process holds in memory.
func TestPprofAddrIsLoopbackOnly(t *testing.T) {
	t.Parallel()
	if c, err := Load(env(nil)); err != nil || c.PprofAddr != "" {
		t.Errorf("default: %q %v, want off", c.PprofAddr, err)
	}
	for _, bad := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "10.0.0.5:6060", "example.com:6060", "6060"} {
		_, err := Load(env(map[string]string{"JIAOFU_PPROF_ADDR": bad}))
		if err == nil || !strings.Contains(err.Error(), "JIAOFU_PPROF_ADDR") {
			t.Errorf("JIAOFU_PPROF_ADDR=%q: %v", bad, err)
		}
	}
	for _, good := range []string{"127.0.0.1:6060", "127.0.0.1:0", "[::1]:6060", "localhost:6060"} {
		if c, err := Load(env(map[string]string{"JIAOFU_PPROF_ADDR": good})); err != nil || c.PprofAddr != good {
			t.Errorf("JIAOFU_PPROF_ADDR=%q: %q %v", good, c.PprofAddr, err)
		}
	}
}

func TestEveryErrorOnItsOwnLine(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{"JIAOFU_HTTP_ADDR": "nonsense", "JIAOFU_PUBLICITY_PERIOD": "five days", "DATABASE_URL": "mysql://x"}))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, name := range []string{"JIAOFU_HTTP_ADDR", "JIAOFU_PUBLICITY_PERIOD", "DATABASE_URL"} {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, name+":") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is on %d lines of %q, want one", name, n, err)
		}
	}
}

// TestLogFormat: text in development, json in production, either when asked for; the early read
// (LogFormatOf, before the whole configuration) agrees with Load, and falls back to the mode's
// default on a wrong value, which Load reports.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	prod := map[string]string{"JIAOFU_ENV": "production", "JIAOFU_SECRET_KEY": strings.Repeat("k", 40),
		"JIAOFU_ADMIN_PASSWORD": "a-long-enough-password", "JIAOFU_AUDIT_KEY_FILE": "/run/secrets/audit.pem"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for mk, mv := range m {
			out[mk] = mv
		}
		return out
	}
	for _, c := range []struct {
		vars map[string]string
		want string
	}{
		{nil, "text"},
		{prod, "json"},
		{map[string]string{"JIAOFU_LOG_FORMAT": "json"}, "json"},
		{with(prod, "JIAOFU_LOG_FORMAT", " text "), "text"},
	} {
		got, err := Load(env(c.vars))
		if err != nil || got.LogFormat != c.want {
			t.Errorf("%v: LogFormat %q, %v; want %q", c.vars, got.LogFormat, err, c.want)
		}
		if early := LogFormatOf(env(c.vars)); early != c.want {
			t.Errorf("%v: LogFormatOf %q, want %q", c.vars, early, c.want)
		}
	}
	if early := LogFormatOf(env(with(prod, "JIAOFU_LOG_FORMAT", "yaml"))); early != "json" {
		t.Errorf("a wrong JIAOFU_LOG_FORMAT in production: early format %q, want json until Load reports it", early)
	}
	if c, err := Load(env(map[string]string{"JIAOFU_METRICS_TOKEN": strings.Repeat("m", 32)})); err != nil || c.MetricsToken != strings.Repeat("m", 32) {
		t.Errorf("a 32-character JIAOFU_METRICS_TOKEN: %q, %v", c.MetricsToken, err)
	}
}

// The shutdown timeout is a positive duration between a second and ten minutes; the default is
// 30s.
func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	if c, err := Load(env(nil)); err != nil || c.ShutdownTimeout.String() != "30s" {
		t.Errorf("default: %v %v, want 30s", c.ShutdownTimeout, err)
	}
	if c, err := Load(env(map[string]string{"JIAOFU_SHUTDOWN_TIMEOUT": " 45s "})); err != nil || c.ShutdownTimeout.String() != "45s" {
		t.Errorf("45s: %v %v", c.ShutdownTimeout, err)
	}
	for _, bad := range []string{"0s", "-5s", "500ms", "11m", "thirty seconds", ""} {
		_, err := Load(env(map[string]string{"JIAOFU_SHUTDOWN_TIMEOUT": bad}))
		if err == nil || !strings.Contains(err.Error(), "JIAOFU_SHUTDOWN_TIMEOUT") {
			t.Errorf("JIAOFU_SHUTDOWN_TIMEOUT=%q: %v, want an error naming the variable", bad, err)
		}
	}
}

// A percent threshold may be 0 (the check never fires: the term simulation's child process runs
// so); another count may not.
func TestZeroCounts(t *testing.T) {
	c, err := Load(env(map[string]string{"JIAOFU_PAIRING_SCHOOL_THRESHOLD": "0"}))
	if err != nil || c.Count("JIAOFU_PAIRING_SCHOOL_THRESHOLD") != 0 {
		t.Errorf("threshold 0: %v, %d", err, c.Count("JIAOFU_PAIRING_SCHOOL_THRESHOLD"))
	}
	if _, err := Load(env(map[string]string{"JIAOFU_PAIRING_SCHOOL_THRESHOLD": "-1"})); err == nil || !strings.Contains(err.Error(), "JIAOFU_PAIRING_SCHOOL_THRESHOLD") {
		t.Errorf("threshold -1: %v", err)
	}
	if _, err := Load(env(map[string]string{"JIAOFU_SENDHOME_VISITS_PER_PERIOD": "0"})); err == nil || !strings.Contains(err.Error(), "JIAOFU_SENDHOME_VISITS_PER_PERIOD") {
		t.Errorf("visits 0: %v", err)
	}
}

// TestTemporalCompressionIsNoneOrGzip: the two ways the client can send its calls; anything else
// is refused at start, naming the variable.
func TestTemporalCompressionIsNoneOrGzip(t *testing.T) {
	t.Parallel()
	if _, err := Load(env(map[string]string{"JIAOFU_TEMPORAL_COMPRESSION": "zstd"})); err == nil || !strings.Contains(err.Error(), "JIAOFU_TEMPORAL_COMPRESSION") {
		t.Errorf("JIAOFU_TEMPORAL_COMPRESSION=zstd: %v", err)
	}
}
