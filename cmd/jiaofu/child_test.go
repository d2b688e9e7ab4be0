package main

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jiaofu/apiclient"
)

// lockedBuffer collects a child's stderr, read by the test while the child writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// child is a running all-in-one jiaofu started by a test (jiaofuProcess), serving at base.
type child struct {
	cmd    *exec.Cmd
	base   string
	log    *lockedBuffer
	exited chan error // receives Wait's result once
	done   chan struct{}
}

// startChild starts jiaofu on dir with the extra environment and waits until it announces its
// console; it is killed when the test ends, if still running.
func startChild(t *testing.T, dir string, env ...string) *child {
	t.Helper()
	c := &child{cmd: jiaofuProcess(t, dir), log: &lockedBuffer{}, exited: make(chan error, 1), done: make(chan struct{})}
	c.cmd.Env = append(c.cmd.Env, env...)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exited <- c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Signal(syscall.SIGKILL)
			<-c.done
		}
	})
	consoleURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "console:  "); ok {
				consoleURL <- u
			}
		}
	}()
	select {
	case u := <-consoleURL:
		c.base = strings.TrimSuffix(u, "/console/")
	case err := <-c.exited:
		t.Fatalf("jiaofu exited before serving: %v\n%s", err, c.log.String())
	case <-time.After(4 * time.Minute):
		t.Fatalf("jiaofu did not announce its console\n%s", c.log.String())
	}
	return c
}

// kill ends the child at once, as a crash or a SIGKILL would, and waits for it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		t.Fatal("jiaofu did not die on SIGKILL")
	}
}

// as logs in as user (the demo data's password unless the admin) on the child.
func (c *child) as(t *testing.T, user string) *apiclient.Client {
	t.Helper()
	pw := "jiaofu-demo"
	if user == "admin" {
		pw = "admin-password-for-tests"
	}
	cl, err := apiclient.New(c.base, apiclient.NewHTTPClient(4)).Login(context.Background(), user, pw)
	if err != nil {
		t.Fatalf("login %s: %v\n%s", user, err, c.log.String())
	}
	return cl
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("waited %s for %s", within, what)
}
