package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"jiaofu/access"
	"jiaofu/activities"
)

// TestLocalActivityAuditKeyIsItsOwn: a local activity's id is counted apart from the run's
// regular activity ids, so the audit entry it writes is keyed in a namespace of its own
// (".../local-<id>"), never taken for a regular activity's retry and dropped; a regular
// activity's key is the one it always was (workflow/run/activity id).
func TestLocalActivityAuditKeyIsItsOwn(t *testing.T) {
	s, _, _ := newCounty(t)
	acts := &activities.Activities{Store: s}
	var suite testsuite.WorkflowTestSuite
	at := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	in := activities.Audit{Actor: access.System, Action: "test.step", Process: "subsidy", CaseID: "case-key", At: at}

	regular := suite.NewTestActivityEnvironment()
	regular.RegisterActivity(acts)
	if _, err := regular.ExecuteActivity(acts.RecordAudit, in); err != nil {
		t.Fatal(err)
	}
	local := suite.NewTestActivityEnvironment()
	local.RegisterActivity(acts)
	if _, err := local.ExecuteLocalActivity(acts.RecordAudit, in); err != nil {
		t.Fatal(err)
	}

	entries, err := s.Timeline(context.Background(), "case-key")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want the regular and the local activity's", len(entries))
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.EventKey)
	}
	if strings.Contains(keys[0], "local-") || strings.Count(keys[0], "/") != 2 {
		t.Errorf("regular activity's key %q: want workflow/run/activity id, as before", keys[0])
	}
	if !strings.Contains(keys[1], "/local-") {
		t.Errorf("local activity's key %q: want it in the local- namespace", keys[1])
	}
}
