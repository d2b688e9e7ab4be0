package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"jiaofu/childproc"
	"jiaofu/temporalserver"
)

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// procStatus reads fields (in bytes) such as VmRSS and VmHWM of a process from /proc/<pid>/status.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// postgresTicks is the CPU time of the PostgreSQL processes on the machine, in clock ticks, by
// database: a backend's command line names the database it serves; the WAL writer, checkpointer and the rest count as "(server)". On the production path
// the database is the third program on the two cores, and its share of a lifecycle is part of
// what bounds the figure. The shared database also serves whatever else runs, and a backend that
// exits between two readings takes its time with it, so the figures are approximate.
func postgresTicks() map[string]int64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	sum := map[string]int64{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		db := "(server)"
		if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
			if d := backendDatabase(string(cl)); d != "" {
				db = d
			}
		}
		sum[db] += cpuTicks(pid)
	}
	return sum
}

// backendDatabase is the database a PostgreSQL backend serves, read from its command line
// ("postgres: [cluster: ]user database host(port)|[local] state"; NULs as separators or padding), or ""
// for the server's own processes (checkpointer, WAL writer, …).
func backendDatabase(cmdline string) string {
	f := strings.Fields(strings.ReplaceAll(cmdline, "\x00", " "))
	for i := 3; i < len(f) && i < 6; i++ {
		if strings.Contains(f[i], "(") || f[i] == "[local]" {
			return f[i-1]
		}
	}
	return ""
}

// cpuTicks is the process's user+system time in clock ticks (1/100 s on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// settle waits until the processes (this one and any listed) use less than a tenth of a core for
// two consecutive seconds, so that one phase's background work (workflows still running their
// first tasks) does not spill into the next phase's measurement. Bounded by max.
func settle(ctx context.Context, max time.Duration, pids ...int) time.Duration {
	pids = append([]int{os.Getpid()}, pids...)
	start := time.Now()
	total := func() int64 {
		var t int64
		for _, p := range pids {
			t += cpuTicks(p)
		}
		return t
	}
	quiet := 0
	prev := total()
	for time.Since(start) < max && ctx.Err() == nil {
		time.Sleep(time.Second)
		now := total()
		if now-prev <= 10 { // ≤ 0.1 s of CPU in the last second
			quiet++
			if quiet >= 2 {
				break
			}
		} else {
			quiet = 0
		}
		prev = now
	}
	return time.Since(start)
}

// activityTimerHorizon covers the start-to-close timer (30 s, workflows/humantask.go and
// bare.go alike) that every activity arms on the server: it fires whether or not the activity is
// long done, and the server loads the workflow's state to drop it. Without waiting it out, one
// side's timers fire during the next side's measurement, which then pays for them.
const activityTimerHorizon = 32 * time.Second

// settleSides is settle between the two sides of a paired comparison: quiet, then the just
// finished side's activity timers fired, then quiet again.
func settleSides(ctx context.Context, max time.Duration) {
	settle(ctx, max)
	select {
	case <-time.After(activityTimerHorizon):
	case <-ctx.Done():
	}
	settle(ctx, max)
}

func freePort() (int, error) { return temporalserver.FreePort("127.0.0.1") }

// lowPort finds a free port below 32768: the server's cluster-membership table keeps ports in a
// SMALLINT column, and the kernel's ephemeral range lies above it.
func lowPort(used map[int]bool) (int, error) {
	for i := 0; i < 200; i++ {
		p := 20000 + int(time.Now().UnixNano()/7%12000) + i*37%12000
		if p >= 32768 || used[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		used[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free port below 32768")
}

// startProfile writes a CPU profile of this process for one measured phase when -profile is set.
func (o *Options) startProfile(name string) func() {
	if o.Profile == "" {
		return func() {}
	}
	if err := os.MkdirAll(o.Profile, 0o755); err != nil {
		o.logf("profile dir: %v", err)
		return func() {}
	}
	f, err := os.Create(filepath.Join(o.Profile, name+".cpu.pprof"))
	if err != nil {
		o.logf("profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		o.logf("profile: %v", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// goTool runs the go command (build or install) with a bounded time.
func goTool(ctx context.Context, dir string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// allInOne is `jiaofu all` started as a child of the benchmark on a prepared data dir, on free
// loopback ports, so that its RSS is measured apart from the benchmark's own.
type allInOne struct {
	cmd      *exec.Cmd
	log      *os.File
	logPath  string
	pid      int
	base     string // the HTTP API's
	temporal string // the embedded Temporal frontend's host:port
	pprof    string // where the child serves its runtime profiles (JIAOFU_PPROF_ADDR)
	hc       *http.Client
}

// startAllInOne starts self's all-in-one process on dataDir (its log in dir/service.log, env
// added to the benchmark's settings) and waits until /readyz answers 200.
func startAllInOne(ctx context.Context, o *Options, self, dir, dataDir string, env ...string) (*allInOne, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tPort, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofPort, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofAddr := "127.0.0.1:" + strconv.Itoa(pprofPort)
	cmd := exec.Command(self, "all")
	cmd.Env = append(append(os.Environ(), "JIAOFU_DATA_DIR="+dataDir, "JIAOFU_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"JIAOFU_TEMPORAL_FRONTEND_ADDR=127.0.0.1:"+strconv.Itoa(tPort), "JIAOFU_TEMPORAL_UI_ADDR=off",
		"JIAOFU_ADMIN_PASSWORD=bench-admin-password", "JIAOFU_ENV=development", "JIAOFU_SEED_DEMO=true", "JIAOFU_UPDATE_TIMEOUT=60s",
		"JIAOFU_PPROF_ADDR="+pprofAddr), env...)
	s := &allInOne{cmd: cmd, logPath: filepath.Join(dir, "service.log"), base: "http://127.0.0.1:" + strconv.Itoa(httpPort),
		temporal: "127.0.0.1:" + strconv.Itoa(tPort), pprof: pprofAddr, hc: newHTTPClient(2 * o.Clients)}
	if s.log, err = childproc.Start(cmd, s.logPath); err != nil {
		return nil, err
	}
	s.pid = cmd.Process.Pid
	if err := childproc.WaitReady(ctx, cmd, s.logPath, s.hc, s.base, 3*time.Minute); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// memorySnapshot logs where the child's memory is — the Go runtime's own account (heap in use,
// heap idle and released, goroutine stacks) and its goroutine count, from its profiles listener
// — and, with -profile, writes its heap and goroutine profiles there as name.heap.pprof and
// name.goroutine.pprof (go tool pprof -sample_index=inuse_space …).
func (s *allInOne) memorySnapshot(ctx context.Context, o *Options, name string) {
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.pprof+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	text, err := get("/debug/pprof/heap?debug=1")
	if err != nil {
		o.logf("memory snapshot %s: %v", name, err)
		return
	}
	// The text form ends with the runtime.MemStats of the moment, one "# Name = value" a line.
	stats := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = "); ok && strings.HasPrefix(line, "# ") {
			stats[k] = v
		}
	}
	mib := func(k string) string {
		v, _, _ := strings.Cut(stats[k], " ") // "# Stack = inuse / sys"
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return "?"
		}
		return fmt.Sprintf("%.0f", float64(n)/(1<<20))
	}
	goroutines := "?"
	if g, err := get("/debug/pprof/goroutine?debug=1"); err == nil {
		first, _, _ := strings.Cut(string(g), "\n")
		goroutines = strings.TrimPrefix(first, "goroutine profile: total ")
	}
	o.progress("[memory] %s: HeapInuse %s MiB, HeapIdle %s (released %s), StackInuse %s, Sys %s, NextGC %s; %s goroutines",
		name, mib("HeapInuse"), mib("HeapIdle"), mib("HeapReleased"), mib("Stack"), mib("Sys"), mib("NextGC"), goroutines)
	if o.Profile == "" {
		return
	}
	if err := os.MkdirAll(o.Profile, 0o755); err != nil {
		o.logf("profile dir: %v", err)
		return
	}
	for _, p := range []string{"heap", "goroutine"} {
		b, err := get("/debug/pprof/" + p)
		if err == nil {
			err = os.WriteFile(filepath.Join(o.Profile, name+"."+p+".pprof"), b, 0o644)
		}
		if err != nil {
			o.logf("memory snapshot %s: %s profile: %v", name, p, err)
		}
	}
}

// stop stops the process (SIGTERM, then SIGKILL after a grace) and closes its log.
func (s *allInOne) stop() {
	childproc.Stop(s.cmd, 30*time.Second)
	s.log.Close()
}
