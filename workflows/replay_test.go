package workflows_test

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jiaofu/worker"
	"jiaofu/workflows"
)

// TestReplayRecordedHistories replays histories recorded from the real service (e2e, see
// e2e/record_test.go) against today's workflow code: a change that would break running cases
// fails here, and needs workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d recorded histories, want the subsidy, publicity and dropout ones", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Task ids derive from the workflow id, so replay under the original one.
			started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			r := sdkworker.NewWorkflowReplayer()
			worker.RegisterWorkflows(r)
			err = r.ReplayWorkflowHistoryWithOptions(nil, hist, sdkworker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: started.GetWorkflowId(), RunID: started.GetOriginalExecutionRunId()}})
			if err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// TestEveryWorkflowHasARecordedHistory: a workflow type that no recorded history covers can change
// its commands unseen and break its open runs on the next deploy. So every registered workflow
// needs at least one history in testdata/histories (record one as e2e/record_test.go says).
func TestEveryWorkflowHasARecordedHistory(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		recorded[hist.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()]++
	}
	for _, wf := range workflows.Workflows() {
		// The SDK registers a function under its own name, without the package path.
		full := runtime.FuncForPC(reflect.ValueOf(wf).Pointer()).Name()
		name := full[strings.LastIndex(full, ".")+1:]
		if recorded[name] == 0 {
			t.Errorf("workflow %s has no recorded history in testdata/histories: a change to its commands would break its open runs unseen", name)
		}
	}
}
