package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jiaofu/worker"
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
