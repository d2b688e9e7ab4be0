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
// replay test in workflows/ (testdata/histories): `JIAOFU_RECORD_HISTORIES=$PWD/workflows/testdata/histories
// go test ./e2e/ -run 'TestSubsidyEndToEnd$|TestDropoutEscalatesByItself'` refreshes them. Without the
// variable it does nothing.
func recordHistory(t *testing.T, svc *service.Service, workflowID, name string) {
	t.Helper()
	dir := os.Getenv("JIAOFU_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	hist := &historypb.History{}
	it := svc.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
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
	t.Logf("recorded %d events of %s to %s", len(hist.Events), workflowID, name)
}
