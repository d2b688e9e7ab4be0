package e2e

import (
	"testing"

	"jiaofu/casework"
)

// TestRecordOpsBefore records, from the code before issue 18's add-signers, multi-approver steps
// and approver policies (a24cf66), the cases those changes must keep running: a serious
// finding waiting at its inspectorate review (one task, one inspector decides), and a subsidy
// review that was delegated, resolved and copied and is still open. Record into new names only.
func TestRecordOpsBefore(t *testing.T) {
	// inspection_serious_review_open: the unit submitted its rectification of a serious finding;
	// the review waits for the inspectorate.
	t.Run("serious_review_open", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_RECTIFICATION_DUE", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		inspector, head := anon.as("inspector01"), anon.as("head01")
		rid := planRound(t, inspector, "JS-T01-S01")
		var fd finding
		if code := inspector.do("POST", "/api/v1/inspection-rounds/"+rid+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "student_aid",
			"description": "资助档案缺少公示照片", "severity": "serious"}, &fd); code != 201 {
			t.Fatalf("record a finding: %d %+v", code, fd)
		}
		head.waitTask(casework.KindRectification, fd.ID)
		head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已补齐公示照片", "evidence_note": "照片 4 张"})
		review := inspector.waitTask(casework.KindRectificationReview, fd.ID)
		if td := inspector.task(review.ID); td.State != casework.TaskOpen {
			t.Fatalf("review = %+v, want open", td)
		}
		settled(t, svc, fd.ID, "")
		recordHistory(t, svc, fd.ID, "inspection_serious_review_open")
	})

	// subsidy_review_delegated_cc_open: the head delegates the review to the teacher, who
	// resolves it; the head copies the case to the aid center and the review stays open.
	t.Run("review_delegated_cc_open", func(t *testing.T) {
		svc := startService(t, testConfig(t, t.TempDir()))
		anon := newClient(t, svc)
		staff, head, teacher := anon.as("staff01"), anon.as("head01"), anon.as("teacher01")
		app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
		tk := head.waitTask("subsidy_review", app.ID)
		path := "/api/v1/tasks/" + tk.ID
		head.ok("POST", path+"/delegate", map[string]string{"to_user_id": teacher.userID(), "comment": "请先家访"})
		teacher.ok("POST", path+"/resolve", map[string]string{"comment": "已家访，属实"})
		head.ok("POST", path+"/cc", map[string]any{"user_ids": []string{"aid01"}})
		if td := head.task(tk.ID); td.State != casework.TaskOpen || td.AssigneeID != head.userID() {
			t.Fatalf("review = %+v, want open and the head's", td)
		}
		settled(t, svc, app.ID, "")
		recordHistory(t, svc, app.ID, "subsidy_review_delegated_cc_open")
	})
}
