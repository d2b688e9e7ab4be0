package temporalserver

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const (
	testNamespace = "default"
	testTaskQueue = "temporalserver-test"
	testSA        = "JiaofuProcess"
)

func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	return "hello " + name, nil
}

func startTestServer(t *testing.T, dir string, retention time.Duration, sas map[string]enumspb.IndexedValueType) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	s, err := Start(ctx, Options{
		DataDir:          dir,
		FrontendAddr:     "127.0.0.1:0",
		Namespace:        testNamespace,
		Retention:        retention,
		SearchAttributes: sas,
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, nil)),
		// LogLevel zero: Warn and above.
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server up at %s in %v", s.FrontendAddr(), time.Since(began).Round(time.Millisecond))
	if s.UIAddr() != "" {
		t.Errorf("UIAddr = %q, want empty (UI disabled)", s.UIAddr())
	}
	return s
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: s.FrontendAddr(), Namespace: testNamespace})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func checkNamespace(t *testing.T, c client.Client, wantRetention time.Duration, wantSAs map[string]enumspb.IndexedValueType) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: testNamespace})
	if err != nil {
		t.Fatalf("DescribeNamespace: %v", err)
	}
	if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != wantRetention {
		t.Errorf("retention = %v, want %v", got, wantRetention)
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: testNamespace})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for name, want := range wantSAs {
		if got, ok := list.GetCustomAttributes()[name]; !ok || got != want {
			t.Errorf("search attribute %s = %v (registered %v), want %v", name, got, ok, want)
		}
	}
}

func TestPersistentServer(t *testing.T) {
	dir := t.TempDir()
	sas := map[string]enumspb.IndexedValueType{testSA: enumspb.INDEXED_VALUE_TYPE_KEYWORD}
	const retention = 72 * time.Hour
	const workflowID = "temporalserver-test-wf"
	processKey := temporal.NewSearchAttributeKeyKeyword(testSA)

	// First start: fresh database.
	s := startTestServer(t, dir, retention, sas)
	checkJournalMode(t, filepath.Join(dir, "temporal.db"))
	c := dial(t, s)
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflowID,
		TaskQueue:             testTaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(processKey.ValueSet("p-1")),
	}, greetWorkflow, "jiaofu")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	var result string
	if err := run.Get(ctx, &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	cancel()
	if result != "hello jiaofu" {
		t.Fatalf("result = %q, want %q", result, "hello jiaofu")
	}
	runID := run.GetRunID()
	checkNamespace(t, c, retention, sas)
	w.Stop()
	c.Close()
	s.Stop()
	s.Stop() // safe twice

	// Restart on the same directory: the completed workflow and the namespace
	// settings are still there.
	s = startTestServer(t, dir, retention, sas)
	c = dial(t, s)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	cancel()
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after restart: %v", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if st := info.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("status after restart = %v, want COMPLETED", st)
	}
	var process string
	if p := info.GetSearchAttributes().GetIndexedFields()[testSA]; p == nil {
		t.Errorf("search attribute %s missing on workflow after restart", testSA)
	} else if err := converter.GetDefaultDataConverter().FromPayload(p, &process); err != nil || process != "p-1" {
		t.Errorf("search attribute %s = %q (%v), want p-1", testSA, process, err)
	}
	checkNamespace(t, c, retention, sas)
	c.Close()
	s.Stop()

	// Restart with changed settings: an existing database picks up the new
	// retention and the added search attribute through the frontend.
	sas2 := map[string]enumspb.IndexedValueType{
		testSA:          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"JiaofuAttempt": enumspb.INDEXED_VALUE_TYPE_INT,
	}
	s = startTestServer(t, dir, 96*time.Hour, sas2)
	defer s.Stop()
	c = dial(t, s)
	defer c.Close()
	checkNamespace(t, c, 96*time.Hour, sas2)
	// The added attribute is usable at once: a start carrying it, and a list filtering on it.
	w = worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	defer w.Stop()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	attempt := temporal.NewSearchAttributeKeyInt64("JiaofuAttempt")
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID + "-attempt", TaskQueue: testTaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(processKey.ValueSet("p-2"), attempt.ValueSet(7))}, greetWorkflow, "again")
	if err != nil {
		t.Fatalf("ExecuteWorkflow with the added search attribute: %v", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow with the added search attribute: %v", err)
	}
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "JiaofuAttempt = 7 AND " + testSA + " = 'p-2'"})
		if err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetRunId() == run.GetRunID() {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("listing by the added search attribute: %v %v", resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()

	// A search attribute cannot change type: Start must refuse.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Stop()
	if s2, err := Start(ctx, Options{
		DataDir:          dir,
		FrontendAddr:     "127.0.0.1:0",
		Namespace:        testNamespace,
		Retention:        96 * time.Hour,
		SearchAttributes: map[string]enumspb.IndexedValueType{testSA: enumspb.INDEXED_VALUE_TYPE_INT},
	}); err == nil {
		s2.Stop()
		t.Errorf("Start with a retyped search attribute succeeded, want error")
	} else {
		t.Logf("retyped search attribute refused as expected: %v", err)
	}
}

// checkJournalMode checks, from a separate read-only connection, that the
// pragmas passed through the server's sqlite plugin took effect: journal_mode
// is a property of the file, so it shows WAL there.
func checkJournalMode(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM namespaces").Scan(&n); err != nil || n < 2 {
		t.Errorf("namespaces rows = %d (%v), want at least 2 (temporal-system and %s)", n, err, testNamespace)
	}
}

func waitForSignalWorkflow(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return "got " + v, nil
}

const (
	crashChildEnv   = "TEMPORALSERVER_CRASH_CHILD_DIR"
	crashLaterQueue = "temporalserver-test-after-crash"
)

// TestCrashRecovery kills a process running the server (SIGKILL, no Stop, no
// checkpoint) right after a workflow completed and another one started, then
// restarts on the same directory: the completed workflow is there and the
// running one resumes and completes.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err == nil || !bytes.Contains(out, []byte("child: killing myself")) {
		t.Fatalf("child did not crash as planned: %v", err)
	}

	s := startTestServer(t, dir, 24*time.Hour, nil)
	defer s.Stop()
	c := dial(t, s)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, "crash-done", "")
	if err != nil {
		t.Fatalf("completed workflow after crash: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("completed workflow status after crash = %v", st)
	}
	w := worker.New(c, crashLaterQueue, worker.Options{})
	w.RegisterWorkflow(waitForSignalWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := c.SignalWorkflow(ctx, "crash-running", "", "go", "after-crash"); err != nil {
		t.Fatalf("signal running workflow after crash: %v", err)
	}
	var got string
	if err := c.GetWorkflow(ctx, "crash-running", "").Get(ctx, &got); err != nil || got != "got after-crash" {
		t.Fatalf("running workflow after crash: result %q, err %v", got, err)
	}
}

func crashChild(t *testing.T, dir string) {
	s := startTestServer(t, dir, 24*time.Hour, nil)
	c := dial(t, s)
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "crash-done", TaskQueue: testTaskQueue}, greetWorkflow, "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Started on a queue nobody polls yet: it must survive the crash with its
	// first workflow task pending.
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "crash-running", TaskQueue: crashLaterQueue}, waitForSignalWorkflow); err != nil {
		t.Fatal(err)
	}
	t.Log("child: killing myself")
	os.Stdout.Sync()
	p, _ := os.FindProcess(os.Getpid())
	_ = p.Kill()
	time.Sleep(time.Minute)
}

// TestWebUI starts the server with the UI on a free port and checks that the
// UI serves its page and reaches the frontend through its API proxy.
func TestWebUI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{
		DataDir:      t.TempDir(),
		FrontendAddr: "127.0.0.1:0",
		UIAddr:       "127.0.0.1:0",
		Namespace:    testNamespace,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Stop()
	if s.UIAddr() == "" {
		t.Fatal("UIAddr empty with UI enabled")
	}
	get := func(path string) (int, string) {
		t.Helper()
		var lastErr error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get("http://" + s.UIAddr() + path)
			if err != nil {
				lastErr = err // the UI goroutine may not be listening yet
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		t.Fatalf("GET %s: %v", path, lastErr)
		return 0, ""
	}
	if code, body := get("/"); code != http.StatusOK || !strings.Contains(strings.ToLower(body), "<html") {
		t.Errorf("GET / = %d, body starts %.80q", code, body)
	}
	if code, body := get("/api/v1/namespaces/" + testNamespace); code != http.StatusOK || !strings.Contains(body, testNamespace) {
		t.Errorf("GET /api/v1/namespaces/%s = %d, body starts %.200q", testNamespace, code, body)
	}
}

func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for range 5 {
		p, err := FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p <= 0 || p > 65535 {
			t.Fatalf("port %d out of range", p)
		}
		if err := portIsFree("127.0.0.1", p); err != nil {
			t.Fatalf("port %d from FreePort cannot be bound: %v", p, err)
		}
		seen[p] = true
	}
	if len(seen) < 2 {
		t.Errorf("FreePort returned the same port repeatedly: %v", seen)
	}
}

// parkedWorkflow waits for a signal that never comes: its coroutine stays in the SDK's sticky
// cache until the cache lets it go.
func parkedWorkflow(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "never").Receive(ctx, nil)
	return nil
}

// parkedCoroutines counts goroutines running parkedWorkflow.
func parkedCoroutines() int {
	buf := make([]byte, 1<<24)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("temporalserver.parkedWorkflow("))
}

// TestStopReleasesCachedWorkflows: after the worker and the server stop, nothing of the
// process's cached workflows is left running. The server leaves some of its own workers running
// (see Stop), which kept the SDK's process-wide cache, with these coroutines, alive for good.
func TestStopReleasesCachedWorkflows(t *testing.T) {
	s := startTestServer(t, t.TempDir(), 24*time.Hour, nil)
	defer s.Stop()
	c := dial(t, s)
	defer c.Close()
	const queue = "temporalserver-test-parked"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(parkedWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 3 {
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("parked-%d", i), TaskQueue: queue}, parkedWorkflow); err != nil {
			t.Fatal(err)
		}
	}
	for parkedCoroutines() < 3 {
		if ctx.Err() != nil {
			t.Fatalf("%d of 3 workflows running in the worker", parkedCoroutines())
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.Stop()
	c.Close()
	s.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for parkedCoroutines() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d cached workflow coroutines still running 10 s after the worker and the server stopped", parkedCoroutines())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
