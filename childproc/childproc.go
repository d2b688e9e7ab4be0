// Package childproc starts, watches, stops and kills the jiaofu processes that the project's own
// tools run as children (the benchmarks' servers, the crash harness's all-in-one process): each in
// a process group of its own, so that a stop or a kill reaches whatever it started, and killed
// with this process if it dies first.
package childproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// children are the processes started here that have not been stopped; KillAll ends them.
var children struct {
	sync.Mutex
	procs map[int]*child
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// Start starts cmd in its own process group, logging to logPath (created afresh), and remembers
// it. The caller closes the returned log file once the child has ended.
func Start(cmd *exec.Cmd, logPath string) (*os.File, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	ch := &child{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(ch.done) }()
	children.Lock()
	if children.procs == nil {
		children.procs = map[int]*child{}
	}
	children.procs[cmd.Process.Pid] = ch
	children.Unlock()
	return lf, nil
}

func lookup(cmd *exec.Cmd) *child {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	children.Lock()
	defer children.Unlock()
	return children.procs[cmd.Process.Pid]
}

func forget(pid int) {
	children.Lock()
	delete(children.procs, pid)
	children.Unlock()
}

// Exited reports whether a child started with Start has ended (or was never started here).
func Exited(cmd *exec.Cmd) bool {
	ch := lookup(cmd)
	if ch == nil {
		return true
	}
	select {
	case <-ch.done:
		return true
	default:
		return false
	}
}

// Stop asks the child's process group to stop (SIGTERM), then kills it after grace.
func Stop(cmd *exec.Cmd, grace time.Duration) {
	ch := lookup(cmd)
	if ch == nil {
		return
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-ch.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-ch.done:
		case <-time.After(5 * time.Second):
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL) // anything left in its group
	forget(pid)
}

// Kill ends the child's process group with SIGKILL at once — no chance to stop cleanly, as a
// crash or an out-of-memory kill would — and returns when the child has exited (or after within).
func Kill(cmd *exec.Cmd, within time.Duration) error {
	ch := lookup(cmd)
	if ch == nil {
		return nil
	}
	pid := cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill process group %d: %w", pid, err)
	}
	select {
	case <-ch.done:
	case <-time.After(within):
		return fmt.Errorf("process %d still running %s after SIGKILL", pid, within)
	}
	forget(pid)
	return nil
}

// KillAll ends whatever is left of the children started here.
func KillAll() {
	children.Lock()
	defer children.Unlock()
	for pid := range children.procs {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		delete(children.procs, pid)
	}
}

// WaitReady polls base+"/readyz" every 250 ms until it answers 200, the child exits (an error
// with the end of its log), ctx ends or within passes.
func WaitReady(ctx context.Context, cmd *exec.Cmd, logPath string, hc *http.Client, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if Exited(cmd) {
			return fmt.Errorf("the service exited:\n%s", Tail(logPath, 2000))
		}
		if resp, err := hc.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Tail returns the last n bytes of a log file, for error messages.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	if st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(bytes.TrimSpace(b))
}
