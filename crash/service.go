package crash

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"jiaofu/childproc"
	"jiaofu/temporalserver"
)

// service is the all-in-one jiaofu the harness runs as its child: always on the same data dir and
// the same ports (so the clients' address survives a restart), each incarnation with a log of its
// own (service-1.log, service-2.log, …) so that what a killed one said stays readable.
type service struct {
	self    string   // the executable to run as jiaofu
	env     []string // the whole environment of the child
	dir     string   // where the logs go
	base    string   // http://127.0.0.1:port
	hc      *http.Client
	readyIn time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	starts  int
}

// newService prepares the child's environment: free loopback ports, the data dir, and the
// settings the caller adds (the compressed deadlines).
func newService(self string, extraEnv []string, dir, dataDir string, hc *http.Client) (*service, error) {
	httpPort, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	tPort, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "JIAOFU_DATA_DIR="+dataDir, "JIAOFU_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"JIAOFU_TEMPORAL_FRONTEND_ADDR=127.0.0.1:"+strconv.Itoa(tPort), "JIAOFU_TEMPORAL_UI_ADDR=off",
		"JIAOFU_ADMIN_PASSWORD="+adminPassword, "JIAOFU_ENV=development", "JIAOFU_SEED_DEMO=true", "JIAOFU_SEED_DEMO_PLAN=false",
		"DATABASE_URL=", "TEMPORAL_ADDRESS=")
	return &service{self: self, env: append(env, extraEnv...), dir: dir, base: "http://127.0.0.1:" + strconv.Itoa(httpPort), hc: hc,
		readyIn: 5 * time.Minute}, nil
}

// start starts an incarnation on the data dir and waits until /readyz answers.
func (s *service) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	cmd := exec.Command(s.self, "all")
	cmd.Env = s.env
	s.logPath = filepath.Join(s.dir, fmt.Sprintf("service-%d.log", s.starts))
	lf, err := childproc.Start(cmd, s.logPath)
	if err != nil {
		return err
	}
	s.cmd, s.log = cmd, lf
	if err := childproc.WaitReady(ctx, cmd, s.logPath, s.hc, s.base, s.readyIn); err != nil {
		return fmt.Errorf("start %d of the service: %w", s.starts, err)
	}
	return nil
}

// kill ends the running incarnation with SIGKILL, as a crash would.
func (s *service) kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := childproc.Kill(s.cmd, time.Minute)
	s.log.Close()
	return err
}

// stop ends the running incarnation cleanly (SIGTERM), before the harness reads the store.
func (s *service) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	childproc.Stop(s.cmd, time.Minute)
	s.log.Close()
	s.cmd = nil
}

// alive reports whether the current incarnation is still running (a crash of its own is a finding).
func (s *service) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil && !childproc.Exited(s.cmd)
}
