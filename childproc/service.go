package childproc

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

	"jiaofu/temporalserver"
)

// Service is an all-in-one jiaofu run as a child that can be killed and started again: always on
// the same data dir and the same ports (so that its clients' address survives a restart), each
// incarnation with a log of its own (service-1.log, service-2.log, …) so that what a killed one
// said stays readable. The crash harness and the term simulation's kills use it.
type Service struct {
	Base         string // http://127.0.0.1:port
	FrontendAddr string // the embedded Temporal server's frontend, host:port
	ReadyIn      time.Duration

	self string   // the executable to run as jiaofu
	env  []string // the whole environment of the child
	dir  string   // where the logs go
	hc   *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	starts  int
}

// NewService prepares the child's environment: free loopback ports for the API and the embedded
// Temporal frontend, the data dir, and the settings the caller adds (which come last, so they win).
func NewService(self string, extraEnv []string, logDir, dataDir string, hc *http.Client) (*Service, error) {
	httpPort, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	tPort, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	frontend := "127.0.0.1:" + strconv.Itoa(tPort)
	env := append(os.Environ(), "JIAOFU_DATA_DIR="+dataDir, "JIAOFU_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"JIAOFU_TEMPORAL_FRONTEND_ADDR="+frontend, "JIAOFU_TEMPORAL_UI_ADDR=off",
		"JIAOFU_ENV=development", "JIAOFU_SEED_DEMO=true", "JIAOFU_SEED_DEMO_PLAN=false",
		"DATABASE_URL=", "TEMPORAL_ADDRESS=")
	return &Service{Base: "http://127.0.0.1:" + strconv.Itoa(httpPort), FrontendAddr: frontend, ReadyIn: 5 * time.Minute,
		self: self, env: append(env, extraEnv...), dir: logDir, hc: hc}, nil
}

// Start starts an incarnation on the data dir and waits until /readyz answers.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	cmd := exec.Command(s.self, "all")
	cmd.Env = s.env
	s.logPath = filepath.Join(s.dir, fmt.Sprintf("service-%d.log", s.starts))
	lf, err := Start(cmd, s.logPath)
	if err != nil {
		return err
	}
	s.cmd, s.log = cmd, lf
	if err := WaitReady(ctx, cmd, s.logPath, s.hc, s.Base, s.ReadyIn); err != nil {
		return fmt.Errorf("start %d of the service: %w", s.starts, err)
	}
	return nil
}

// Kill ends the running incarnation with SIGKILL, as a crash would.
func (s *Service) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := Kill(s.cmd, time.Minute)
	s.log.Close()
	return err
}

// Stop ends the running incarnation cleanly (SIGTERM), before the caller reads the store.
func (s *Service) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	Stop(s.cmd, time.Minute)
	s.log.Close()
	s.cmd = nil
}

// Alive reports whether the current incarnation is still running (a crash of its own is a finding).
func (s *Service) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil && !Exited(s.cmd)
}

// Starts is how many incarnations have been started.
func (s *Service) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// LogPath is the current (or last) incarnation's log.
func (s *Service) LogPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logPath
}
