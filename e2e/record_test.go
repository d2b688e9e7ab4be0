package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"jiaofu/service"
)

// recordHistory writes a workflow's history as JSON into $JIAOFU_RECORD_HISTORIES, for the
// replay test in workflows/ (testdata/histories). Without the variable it does nothing. Each file
// there is the record of the code that wrote it (most of them of 81c4588, the first release with
// open cases): never refresh one, or the replay test stops testing that code; a new path gets a
// new name, recorded with `JIAOFU_RECORD_HISTORIES=$PWD/workflows/testdata/histories go test
// ./e2e/ -run TheTest` and the other files restored with git.
func recordHistory(t *testing.T, svc *service.Service, workflowID, name string) {
	t.Helper()
	recordRun(t, svc, workflowID, "", name)
}

// recordRun is recordHistory for one given run of a workflow ("" for the latest): a run that
// continued as new is recorded by its id.
func recordRun(t *testing.T, svc *service.Service, workflowID, runID, name string) {
	t.Helper()
	dir := os.Getenv("JIAOFU_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	hist := &historypb.History{}
	it := svc.Temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s/%s: %v", workflowID, runID, err)
		}
		hist.Events = append(hist.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s run %q to %s", len(hist.Events), workflowID, runID, name)
}
