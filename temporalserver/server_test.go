package temporalserver

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
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
		LogLevel:         slog.LevelError,
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
	if _, err := os.Stat(filepath.Join(dir, "temporal.db")); err != nil {
		t.Fatalf("database file: %v", err)
	}
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
