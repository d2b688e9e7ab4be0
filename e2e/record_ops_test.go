package e2e

import (
	"slices"
	"testing"
	"time"

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

// TestRecordOps records, from the code of issue 18, histories of its new paths, so that later
// changes are proven against cases that ran or are running under it: a subsidy review with
// signers added before, after and in parallel (one removed); a serious finding reviewed by two,
// rejected, redone and accepted (finding-serious-two-reviewers); one waiting for its second
// reviewer; and a review that nobody at its school could take, gone to the township (stand-in).
func TestRecordOps(t *testing.T) {
	t.Run("review_signers_added", func(t *testing.T) {
		svc := startService(t, testConfig(t, t.TempDir()))
		anon := newClient(t, svc)
		staff, head, teacher, aid := anon.as("staff01"), anon.as("head01"), anon.as("teacher01"), anon.as("aid01")
		app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
		tk := head.waitTask("subsidy_review", app.ID)
		path := "/api/v1/tasks/" + tk.ID
		head.ok("POST", path+"/add-signers", map[string]any{"user_ids": []string{"aid01"}, "position": "after"})
		head.ok("POST", path+"/add-signers", map[string]any{"user_ids": []string{"head01b"}, "position": "parallel"})
		head.ok("POST", path+"/remove-signers", map[string]any{"user_ids": []string{"head01b"}})
		head.ok("POST", path+"/add-signers", map[string]any{"user_ids": []string{"teacher01"}, "position": "before", "comment": "请先核实"})
		signer := teacher.waitTask("subsidy_review", app.ID)
		teacher.ok("POST", "/api/v1/tasks/"+signer.ID+"/complete", map[string]string{"outcome": "approve", "comment": "属实"})
		head.ok("POST", path+"/complete", map[string]string{"outcome": "approve"})
		after := aid.waitTask("subsidy_review", app.ID)
		aid.ok("POST", "/api/v1/tasks/"+after.ID+"/complete", map[string]string{"outcome": "approve"})
		staff.waitStatus(app.ID, casework.AppReviewed)
		settled(t, svc, app.ID, "")
		recordHistory(t, svc, app.ID, "subsidy_review_signers_added")
	})

	t.Run("serious_two_reviewers", func(t *testing.T) {
		svc := startService(t, testConfig(t, t.TempDir()))
		anon := newClient(t, svc)
		inspector, inspector2, head := anon.as("inspector01"), anon.as("inspector02"), anon.as("head01")
		rid := planRound(t, inspector, "JS-T01-S01")
		record := func(desc string) finding {
			var fd finding
			if code := inspector.do("POST", "/api/v1/inspection-rounds/"+rid+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "student_aid",
				"description": desc, "severity": "serious"}, &fd); code != 201 {
				t.Fatalf("record a finding: %d", code)
			}
			head.waitTask(casework.KindRectification, fd.ID)
			head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已整改", "evidence_note": "照片"})
			return fd
		}
		review := func(c *client, fd finding, not ...string) task {
			var got task
			eventually(t, 20*time.Second, func() bool {
				got = c.waitTask(casework.KindRectificationReview, fd.ID)
				return !slices.Contains(not, got.ID)
			}, "a review task of %s", fd.ID)
			return got
		}
		fd := record("资助公示未张贴")
		r1 := review(inspector, fd)
		inspector.ok("POST", "/api/v1/tasks/"+r1.ID+"/complete", map[string]string{"outcome": "accept"})
		r2 := review(inspector2, fd, r1.ID)
		inspector2.ok("POST", "/api/v1/tasks/"+r2.ID+"/complete", map[string]string{"outcome": "reject", "comment": "照片不清晰"})
		head.waitTask(casework.KindRectification, fd.ID)
		head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已重新整改", "evidence_note": "清晰照片"})
		r3 := review(inspector, fd, r1.ID, r2.ID)
		inspector.ok("POST", "/api/v1/tasks/"+r3.ID+"/complete", map[string]string{"outcome": "accept"})
		acceptSecond(t, anon, fd.ID)
		var got struct{ Finding finding }
		eventually(t, 20*time.Second, func() bool {
			head.do("GET", "/api/v1/findings/"+fd.ID, nil, &got)
			return got.Finding.State == casework.FindingClosed
		}, "the finding closed out")
		settled(t, svc, fd.ID, "")
		recordHistory(t, svc, fd.ID, "inspection_serious_two_reviewers")

		half := record("资助档案不全")
		h1 := review(inspector, half)
		inspector.ok("POST", "/api/v1/tasks/"+h1.ID+"/complete", map[string]string{"outcome": "accept"})
		settled(t, svc, half.ID, "")
		recordHistory(t, svc, half.ID, "inspection_serious_review_half_signed")
	})

	t.Run("review_stand_in_open", func(t *testing.T) {
		svc := startService(t, testConfig(t, t.TempDir()))
		anon := newClient(t, svc)
		staff2 := createUser(t, anon, "staff02", "民族中学资助专干", "school_staff", "JS-T01-S02")
		app := apply(t, staff2, staff2.studentOf("田永强").ID, "living-junior", "")
		anon.as("township01").waitTask("subsidy_review", app.ID)
		settled(t, svc, app.ID, "")
		recordHistory(t, svc, app.ID, "subsidy_review_stand_in_open")
	})
}
