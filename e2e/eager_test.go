package e2e

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// TestCasesStartEagerly (issue 20): the all-in-one service starts a case with its first workflow
// task handed straight back to its own worker. The server then writes the task's start in the
// transaction that starts the workflow, and the first three events have consecutive task ids;
// a task dispatched through matching is started in a later transaction, after ids given to other
// writes (measured here without eager start: 1048667, 1048668, 1048673).
func TestCasesStartEagerly(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	staff := newClient(t, svc).as("staff01")
	app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
	it := svc.Temporal.GetWorkflowHistory(context.Background(), app.ID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var first []int64
	var kinds []enumspb.EventType
	for it.HasNext() && len(first) < 3 {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", app.ID, err)
		}
		first, kinds = append(first, e.GetTaskId()), append(kinds, e.GetEventType())
	}
	if len(kinds) < 3 || kinds[2] != enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
		t.Fatalf("first events of %s: %v", app.ID, kinds)
	}
	if first[1] != first[0]+1 || first[2] != first[0]+2 {
		t.Errorf("the first workflow task of %s started in a later transaction (task ids %v): the start was not eager", app.ID, first)
	}
}
