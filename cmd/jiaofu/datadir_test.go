package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jiaofu/temporalserver"
)

// runAsJiaofu makes this test binary the jiaofu command when the parent test starts it so: the
// child runs main() itself, the real all-in-one process with its real exit codes and messages.
const runAsJiaofu = "JIAOFU_TEST_RUN_MAIN"

// runArgs, set beside runAsJiaofu, is the command line the child runs instead of "all", one
// argument a line (jiaofu backup DIR, jiaofu restore BACKUP).
const runArgs = "JIAOFU_TEST_ARGS"

func TestMain(m *testing.M) {
	if os.Getenv(runAsJiaofu) != "" {
		os.Args = []string{"jiaofu", "all"}
		if args := os.Getenv(runArgs); args != "" {
			os.Args = append([]string{"jiaofu"}, strings.Split(args, "\n")...)
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// jiaofuProcess is the all-in-one process on dir with ports of its own, so that only the data
// dir is shared with another started the same way.
func jiaofuProcess(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	port, err := temporalserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runAsJiaofu+"=1", "JIAOFU_DATA_DIR="+dir, "JIAOFU_HTTP_ADDR=127.0.0.1:0",
		fmt.Sprintf("JIAOFU_TEMPORAL_FRONTEND_ADDR=127.0.0.1:%d", port), "JIAOFU_TEMPORAL_UI_ADDR=off",
		"JIAOFU_SEED_DEMO=false", "JIAOFU_ADMIN_PASSWORD=admin-password-for-tests", "DATABASE_URL=", "TEMPORAL_ADDRESS=", "JIAOFU_ENV=")
	return cmd
}

// One data dir, one process: a second jiaofu started on the data dir of a running one refuses to
// start, saying so and naming the directory, and the first keeps serving.
func TestSecondProcessOnTheSameDataDirIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two jiaofu processes")
	}
	dir := filepath.Join(t.TempDir(), "data")

	first := jiaofuProcess(t, dir)
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var firstLog bytes.Buffer
	first.Stderr = &firstLog
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	defer func() {
		first.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			first.Process.Kill()
		}
	}()
	consoleURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "console:  "); ok {
				consoleURL <- u
			}
		}
	}()
	var base string
	select {
	case u := <-consoleURL:
		base = strings.TrimSuffix(u, "/console/")
	case err := <-exited:
		t.Fatalf("the first jiaofu exited before serving: %v\n%s", err, firstLog.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("the first jiaofu did not announce its console\n%s", firstLog.String())
	}

	second := jiaofuProcess(t, dir)
	var secondErr bytes.Buffer
	second.Stderr = &secondErr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("the second jiaofu ended with %v, want a non-zero exit", err)
		}
	case <-time.After(2 * time.Minute):
		second.Process.Kill()
		<-done
		t.Fatalf("the second jiaofu on the same data dir is still running\n%s", secondErr.String())
	}
	msg := secondErr.String()
	if !strings.Contains(msg, "jiaofu cannot start: data dir "+dir+" is in use: another jiaofu") || !strings.Contains(msg, "is running there") {
		t.Errorf("the second jiaofu said:\n%s\nwant a line naming %s and saying another jiaofu is running there", msg, dir)
	}
	if !strings.Contains(msg, fmt.Sprintf("(process %d)", first.Process.Pid)) {
		t.Errorf("the message does not name the running process %d:\n%s", first.Process.Pid, msg)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("the first jiaofu after the second was refused: %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the first jiaofu after the second was refused: %s answered %d", path, resp.StatusCode)
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("the first jiaofu stopped: %v\n%s", err, firstLog.String())
	default:
	}
}
