package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM while a request is in flight: the request still completes (200), new connections are
// refused from the moment the stop begins, and the process exits 0 within JIAOFU_SHUTDOWN_TIMEOUT.
// The request in flight is a login whose body arrives slowly: the server has its head and waits
// for the rest, as it would for a client on a slow line.
func TestSIGTERMFinishesTheRequestInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jiaofu")
	}
	const timeout = 20 * time.Second
	c := startChild(t, filepath.Join(t.TempDir(), "data"), fmt.Sprintf("JIAOFU_SHUTDOWN_TIMEOUT=%s", timeout))
	host := strings.TrimPrefix(c.base, "http://")

	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"admin","password":"admin-password-for-tests"}`
	if _, err := fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		host, len(body), body[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the server has read the head and waits for the body

	term := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "new connections to be refused", func() bool {
		probe, err := net.DialTimeout("tcp", host, time.Second)
		if err != nil {
			return true
		}
		probe.Close()
		return false
	})
	if _, err := http.Get(c.base + "/healthz"); err == nil {
		t.Error("a new request was served after SIGTERM")
	}
	select {
	case err := <-c.exited:
		t.Fatalf("jiaofu exited with a request in flight: %v\n%s", err, c.log.String())
	case <-time.After(time.Second): // the request stays in flight a while longer
	}

	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatalf("the rest of the request: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v\n%s", err, c.log.String())
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"token"`) {
		t.Errorf("the request in flight: %d %s, want 200 with a token", resp.StatusCode, answer)
	}

	select {
	case err := <-c.exited:
		if err != nil {
			t.Errorf("jiaofu exited with %v, want status 0\n%s", err, c.log.String())
		}
		took := time.Since(term)
		t.Logf("SIGTERM to exit: %s", took.Round(10*time.Millisecond))
		if took > timeout {
			t.Errorf("jiaofu took %s to exit, more than JIAOFU_SHUTDOWN_TIMEOUT %s", took, timeout)
		}
	case <-time.After(2 * timeout):
		t.Fatalf("jiaofu still running %s after SIGTERM\n%s", 2*timeout, c.log.String())
	}
}
