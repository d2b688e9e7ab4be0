package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
)

// TestObjectionGroups (issue 15, item 8): two objections to one entry while its review is open
// are two rows but one review task; the reviewer sees both reasons on the task's page, and the
// one decision decides both. An objection after the decision opens a new review.
func TestObjectionGroups(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	// Object, decide and object again within the period, on a loaded machine; the test never
	// waits for its end.
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", mustSpec(t, "60s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, aid := anon.as("staff01"), anon.as("head01"), anon.as("aid01")

	_, batchID, pub := publicized(t, anon, staff, head)
	object := func(reason, contact string) string {
		t.Helper()
		var out struct{ ID string }
		// The batch takes objections once its workflow has listed the entries.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			code, body := anon.raw("POST", "/public/publicity-batches/"+batchID+"/objections",
				map[string]string{"entry_id": pub.Entries[0].EntryID, "reason": reason, "contact": contact})
			if code == 201 && json.Unmarshal([]byte(body), &out) == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("objection %q: %d %s", reason, code, body)
			}
		}
		return out.ID
	}
	objections := func() map[string]casework.Objection {
		t.Helper()
		var b struct{ Objections []casework.Objection }
		if code := aid.do("GET", "/api/v1/publicity-batches/"+batchID, nil, &b); code != 200 {
			t.Fatalf("batch: %d", code)
		}
		out := map[string]casework.Objection{}
		for _, o := range b.Objections {
			out[o.ID] = o
		}
		return out
	}
	openReviews := func() []task {
		t.Helper()
		var inbox struct{ Items []task }
		aid.do("GET", "/api/v1/tasks?status=open&kind=objection_review", nil, &inbox)
		var out []task
		for _, tk := range inbox.Items {
			if tk.CaseID == batchID {
				out = append(out, tk)
			}
		}
		return out
	}

	first := object("其家庭有商铺两间", "13900000000")
	review := aid.waitTask("objection_review", batchID)
	second := object("其父母均有固定工作", "13800000000")
	if first == second || first == "" || second == "" {
		t.Fatalf("objection ids %q and %q: want two", first, second)
	}
	if got := objections(); len(got) != 2 || got[second].Reason != "其父母均有固定工作" || got[second].Contact != "13800000000" || got[second].State != "open" {
		t.Fatalf("the batch lists %+v, want both objections open with their own reasons", got)
	}
	// The reviewer sees both reasons on the task.
	page := consolePage(t, "http://"+svc.HTTPAddr(), "aid01", "/console/tasks/"+review.ID)
	for _, reason := range []string{"其家庭有商铺两间", "其父母均有固定工作"} {
		if !strings.Contains(page, reason) {
			t.Errorf("the review's page does not show %q", reason)
		}
	}
	if got := openReviews(); len(got) != 1 || got[0].ID != review.ID {
		t.Fatalf("open objection reviews %+v, want only %s", got, review.ID)
	}

	// One decision decides both.
	if code := aid.do("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "dismiss", "comment": "经核实不属实"}, nil); code != 200 {
		t.Fatalf("dismiss: %d", code)
	}
	eventually(t, 10*time.Second, func() bool {
		got := objections()
		return got[first].Decision == "dismiss" && got[second].Decision == "dismiss"
	}, "both objections dismissed")
	if got := openReviews(); len(got) != 0 {
		t.Fatalf("open objection reviews after the decision: %+v", got)
	}

	// After the decision a new objection opens a new review, which decides it alone.
	third := object("收入证明造假", "13700000000")
	again := aid.waitTask("objection_review", batchID)
	if again.ID == review.ID {
		t.Fatalf("the new objection joined the decided review %s", review.ID)
	}
	if code := aid.do("POST", "/api/v1/tasks/"+again.ID+"/complete", map[string]string{"outcome": "uphold", "comment": "经核实属实"}, nil); code != 200 {
		t.Fatalf("uphold: %d", code)
	}
	eventually(t, 10*time.Second, func() bool { return objections()[third].Decision == "uphold" }, "the new objection upheld")
	if got := objections(); got[first].Decision != "dismiss" || got[second].Decision != "dismiss" {
		t.Errorf("the earlier objections changed with the new review: %+v", got)
	}
	settled(t, svc, batchID, "")
	recordHistory(t, svc, batchID, "publicity_grouped_objections_open")
	recordHistory(t, svc, batchID, "publicity_grouped_objections_open_local_writes") // as publicity-local-writes records it (issue 20)
}
