package e2e

// Issue 18's approval operations through HTTP on the real service, on SQLite and on PostgreSQL:
// add and remove signers (加签·减签), a serious finding accepted by two inspectors (会签), and the
// core pairs of the combination matrix (the workflow tests in workflows/ops_matrix_test.go and
// signers_test.go run every pair). Each pair asserts the case's task rows, its escalation rows and
// its audit entries.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/store"
)

// opsTask is a task row as the API shows it, with its step.
type opsTask struct {
	ID          string
	Kind        string
	CaseID      string `json:"case_id"`
	State       string
	Outcome     string
	AssigneeID  string `json:"assignee_id"`
	CompletedBy string `json:"completed_by"`
	StepID      string `json:"step_id"`
	Signing     string
	AddedTo     string `json:"added_to"`
	Step        []struct {
		ID         string
		State      string
		Outcome    string
		Signing    string
		SignerName string `json:"signer_name"`
	}
}

func (c *client) opsTask(id string) opsTask {
	c.t.Helper()
	var t opsTask
	if code := c.do("GET", "/api/v1/tasks/"+id, nil, &t); code != 200 {
		c.t.Fatalf("get task %s: %d", id, code)
	}
	return t
}

// caseTasks are the case's task rows, oldest first, as its timeline's reader sees them.
func caseTasks(t *testing.T, c *client, caseID string) map[string]opsTask {
	t.Helper()
	var tl struct{ Items []store.AuditEntry }
	c.do("GET", "/api/v1/cases/"+caseID+"/timeline", nil, &tl)
	out := map[string]opsTask{}
	for _, e := range tl.Items {
		if e.Action == "task.opened" {
			id := jsonField(e.After, "task_id")
			out[id] = c.opsTask(id)
		}
	}
	return out
}

// jsonField reads a string field of an audit entry's JSON.
func jsonField(raw, field string) string {
	i := strings.Index(raw, `"`+field+`":"`)
	if i < 0 {
		return ""
	}
	rest := raw[i+len(field)+4:]
	return rest[:strings.Index(rest, `"`)]
}

// actionsOf lists the case's audit actions in order, those starting with prefix.
func actionsOf(c *client, caseID, prefix string) []string {
	var tl struct{ Items []store.AuditEntry }
	c.do("GET", "/api/v1/cases/"+caseID+"/timeline", nil, &tl)
	var out []string
	for _, e := range tl.Items {
		if strings.HasPrefix(e.Action, prefix) {
			out = append(out, e.Action)
		}
	}
	return out
}

func allEscalations(c *client, caseID string) []store.Escalation {
	var esc struct{ Items []store.Escalation }
	c.do("GET", "/api/v1/escalations?case_id="+caseID, nil, &esc)
	return esc.Items
}

// acceptSecond: the second of a serious finding's two reviewers (inspector02) accepts its review.
func acceptSecond(t *testing.T, anon *client, findingID string) {
	t.Helper()
	second := anon.as("inspector02")
	review := second.waitTask(casework.KindRectificationReview, findingID)
	second.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "accept", "comment": "复核通过"})
}

func TestOpsMatrix(t *testing.T) { opsMatrix(t, testConfig(t, t.TempDir())) }

func TestOpsMatrixOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	opsMatrix(t, cfg)
}

func opsMatrix(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, teacher, aid, jcs := anon.as("staff01"), anon.as("head01"), anon.as("teacher01"), anon.as("aid01"), anon.as("jcs01")
	noEscalations := func(t *testing.T, caseID string) {
		t.Helper()
		if es := allEscalations(jcs, caseID); len(es) != 0 {
			t.Errorf("escalations of %s: %+v, want none (everything was on time)", caseID, es)
		}
	}

	// add-signer × return: the head asks the class teacher to sign first (前加签); the head cannot
	// decide while the teacher signs; the teacher returns it: the application is returned, the
	// head's task ends, nothing stays open, and the applicant has the resubmission.
	t.Run("add_signer_return", func(t *testing.T) {
		app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
		review := head.waitTask("subsidy_review", app.ID)
		path := "/api/v1/tasks/" + review.ID
		head.expectReason("POST", path+"/add-signers", map[string]any{"user_ids": []string{"teacher01"}}, 400, "position", "required")
		head.expectReason("POST", path+"/add-signers", map[string]any{"user_ids": []string{"teacher01"}, "position": "first"}, 400, "position", "one_of")
		head.expectReason("POST", path+"/add-signers", map[string]any{"user_ids": []string{"nobody"}, "position": "before"}, 400, "user_ids", "no_user")
		head.expectReason("POST", path+"/add-signers", map[string]any{"user_ids": []string{"head01"}, "position": "before"}, 400, "user_ids", "self_sign")
		head.expectCode("POST", path+"/add-signers", map[string]any{"user_ids": []string{"staff01"}, "position": "before"}, 403, "separation_of_duties", "user_ids")
		head.expectCode("POST", path+"/add-signers", map[string]any{"user_ids": []string{outsider(t, anon).userID()}, "position": "before"}, 403, "not_in_scope", "user_ids")
		teacher.expectCode("POST", path+"/add-signers", map[string]any{"user_ids": []string{"aid01"}, "position": "before"}, 403, "not_candidate", "")
		head.ok("POST", path+"/add-signers", map[string]any{"user_ids": []string{teacher.userID()}, "position": "before", "comment": "请班主任先核实"})
		head.expectReason("POST", path+"/complete", map[string]string{"outcome": "approve"}, 409, "", "signing_before", "signers", "teacher01")
		signer := teacher.waitTask("subsidy_review", app.ID)
		if st := teacher.opsTask(signer.ID); st.Signing != "before" || st.AddedTo != review.ID || st.StepID != review.ID || len(st.Step) != 2 {
			t.Errorf("the added signer's task = %+v", st)
		}
		teacher.expectError("POST", "/api/v1/tasks/"+signer.ID+"/return", map[string]string{}, 400, "comment")
		teacher.ok("POST", "/api/v1/tasks/"+signer.ID+"/return", map[string]string{"comment": "家庭情况与材料不符，请补充"})
		staff.waitStatus(app.ID, casework.AppReturned)
		fix := staff.waitTask("subsidy_resubmit", app.ID)
		rows := caseTasks(t, staff, app.ID)
		if r := rows[review.ID]; r.State != casework.TaskCancelled || r.StepID != review.ID {
			t.Errorf("the head's review = %+v, want ended", r)
		}
		if r := rows[signer.ID]; r.State != casework.TaskDone || r.Outcome != "return" {
			t.Errorf("the teacher's task = %+v", r)
		}
		open := 0
		for _, r := range rows {
			if r.State == casework.TaskOpen {
				open++
			}
		}
		if open != 1 || rows[fix.ID].State != casework.TaskOpen {
			t.Errorf("open tasks: %d, want only the resubmission: %+v", open, rows)
		}
		if got := actionsOf(staff, app.ID, "task."); !slices.Equal(got, []string{"task.opened", "task.signers_added", "task.opened",
			"task.completed", "task.step_ended", "task.step_decided", "task.opened"}) {
			t.Errorf("audit = %v", got)
		}
		if d := head.doneList()[review.ID]; d.MyAction != "added_signers" || d.State != casework.TaskCancelled {
			t.Errorf("the head's done list: %+v", d)
		}
		if d := teacher.doneList()[signer.ID]; d.MyAction != "completed" || d.Outcome != "return" {
			t.Errorf("the teacher's done list: %+v", d)
		}
		noEscalations(t, app.ID)
	})

	// add-signer × reject: a signer added after (后加签) is asked once the head approves, and
	// rejects: the application is rejected, by them.
	t.Run("add_signer_reject", func(t *testing.T) {
		app := apply(t, staff, staff.studentOf("张小三").ID, "nutrition", "")
		review := head.waitTask("subsidy_review", app.ID)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/add-signers", map[string]any{"user_ids": []string{"aid01"}, "position": "after"})
		if _, ok := aid.inboxItem(review.ID); ok {
			t.Errorf("the after signer has the head's task")
		}
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve", "comment": "同意"})
		signer := aid.waitTask("subsidy_review", app.ID)
		if staff.application(app.ID).Status == casework.AppReviewed {
			t.Errorf("reviewed before the after signer signed")
		}
		aid.ok("POST", "/api/v1/tasks/"+signer.ID+"/complete", map[string]string{"outcome": "reject", "comment": "已享受同类资助"})
		staff.waitStatus(app.ID, casework.AppRejected)
		rows := caseTasks(t, staff, app.ID)
		if rows[review.ID].State != casework.TaskDone || rows[signer.ID].Outcome != "reject" || rows[signer.ID].Signing != "after" {
			t.Errorf("rows = %+v", rows)
		}
		if got := actionsOf(staff, app.ID, "task."); !slices.Equal(got, []string{"task.opened", "task.signers_added", "task.completed",
			"task.opened", "task.completed", "task.step_decided"}) {
			t.Errorf("audit = %v", got)
		}
		noEscalations(t, app.ID)
	})

	// withdraw × an add-signer pending: once the head added a signer the applicant may not
	// withdraw (on the head's task: claimed; on the signer's: signers added); the head removes
	// the signer (减签: their task ends), cannot remove one who is not a signer, and approves.
	t.Run("withdraw_add_signer_pending", func(t *testing.T) {
		app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
		review := head.waitTask("subsidy_review", app.ID)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/add-signers", map[string]any{"user_ids": []string{"teacher01"}, "position": "parallel"})
		signer := teacher.waitTask("subsidy_review", app.ID)
		staff.expectReason("POST", "/api/v1/tasks/"+review.ID+"/withdraw", nil, 409, "", "claimed")
		staff.expectReason("POST", "/api/v1/tasks/"+signer.ID+"/withdraw", nil, 409, "", "signers_added")
		head.expectReason("POST", "/api/v1/tasks/"+review.ID+"/remove-signers", map[string]any{"user_ids": []string{"head01b"}}, 400, "user_ids", "not_signer")
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/remove-signers", map[string]any{"user_ids": []string{"teacher01"}})
		if _, ok := teacher.inboxItem(signer.ID); ok {
			t.Errorf("the removed signer still has the task")
		}
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"})
		staff.waitStatus(app.ID, casework.AppReviewed)
		rows := caseTasks(t, staff, app.ID)
		if rows[signer.ID].State != casework.TaskCancelled || rows[review.ID].State != casework.TaskDone {
			t.Errorf("rows = %+v", rows)
		}
		if got := actionsOf(staff, app.ID, "task."); !slices.Equal(got, []string{"task.opened", "task.signers_added", "task.opened",
			"task.signers_removed", "task.signer_removed", "task.completed", "task.step_decided"}) {
			t.Errorf("audit = %v", got)
		}
		noEscalations(t, app.ID)
	})

	// urge × done task: refused, nothing written.
	t.Run("urge_done", func(t *testing.T) {
		app := apply(t, staff, staff.studentOf("李梅").ID, "nutrition", "")
		review := head.waitTask("subsidy_review", app.ID)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"})
		staff.waitStatus(app.ID, casework.AppReviewed)
		aid.expectCode("POST", "/api/v1/tasks/"+review.ID+"/urge", map[string]string{"comment": "请尽快"}, 409, "task_not_open", "")
		if got := actionsOf(staff, app.ID, "task."); slices.Contains(got, "task.urged") {
			t.Errorf("audit = %v", got)
		}
		noEscalations(t, app.ID)
	})

	// CC × scope: a copy to a leader of another township lets them read that application and its
	// timeline, nothing else of the school, and act on nothing; it is in their list, unread, then
	// read.
	t.Run("cc_scope", func(t *testing.T) {
		out := anon.as("head21")
		app := apply(t, staff, staff.studentOf("向金花").ID, "living-primary", "")
		other := apply(t, staff, staff.studentOf("向金花").ID, "nutrition", "")
		review := head.waitTask("subsidy_review", app.ID)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/cc", map[string]any{"user_ids": []string{"head21"}})
		items, unread := out.ccs("unread")
		if unread != 1 || len(items) != 1 || items[0].CaseID != app.ID {
			t.Fatalf("the copy: %+v (unread %d)", items, unread)
		}
		if code := out.do("GET", "/api/v1/subsidy-applications/"+app.ID, nil, nil); code != 200 {
			t.Errorf("reading the copied application: %d", code)
		}
		if code := out.do("GET", "/api/v1/cases/"+app.ID+"/timeline", nil, nil); code != 200 {
			t.Errorf("reading its timeline: %d", code)
		}
		if code := out.do("GET", "/api/v1/subsidy-applications/"+other.ID, nil, nil); code != 404 {
			t.Errorf("reading another application of the school: %d, want 404", code)
		}
		out.expectCode("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}, 404, "not_found", "")
		out.expectCode("POST", "/api/v1/tasks/"+review.ID+"/add-signers", map[string]any{"user_ids": []string{"head21"}, "position": "before"}, 404, "not_found", "")
		var list struct{ Items []application }
		out.do("GET", "/api/v1/subsidy-applications", nil, &list)
		if len(list.Items) != 0 {
			t.Errorf("the copy widened a list: %+v", list.Items)
		}
		out.ok("POST", "/api/v1/cc/"+app.ID+"/read", nil)
		if _, unread := out.ccs("unread"); unread != 0 {
			t.Errorf("unread after reading: %d", unread)
		}
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"})
		noEscalations(t, app.ID)
	})

	// return × 会签: a serious finding's review is two inspectors' tasks; one accepts, the other
	// rejects (sends it back): the finding is back with the unit, both review rows are done and
	// none is open; redone, both accept and it is closed out (销号).
	t.Run("serious_finding_two_reviewers", func(t *testing.T) {
		inspector, inspector2 := anon.as("inspector01"), anon.as("inspector02")
		rid := planRound(t, inspector, "JS-T01-S01")
		var fd finding
		if code := inspector.do("POST", "/api/v1/inspection-rounds/"+rid+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "student_aid",
			"description": "资助公示未张贴", "severity": "serious"}, &fd); code != 201 {
			t.Fatalf("record a finding: %d", code)
		}
		head.waitTask(casework.KindRectification, fd.ID)
		head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已张贴", "evidence_note": "照片 2 张"})
		first := inspector.waitTask(casework.KindRectificationReview, fd.ID)
		inspector.ok("POST", "/api/v1/tasks/"+first.ID+"/complete", map[string]string{"outcome": "accept"})
		var second task
		eventually(t, 20*time.Second, func() bool {
			second = inspector2.waitTask(casework.KindRectificationReview, fd.ID)
			return second.ID != first.ID
		}, "the second reviewer's task")
		inspector.expectReason("POST", "/api/v1/tasks/"+second.ID+"/complete", map[string]string{"outcome": "accept"}, 409, "", "signed")
		var got struct{ Finding finding }
		head.do("GET", "/api/v1/findings/"+fd.ID, nil, &got)
		if got.Finding.State != casework.FindingReviewing {
			t.Errorf("after one acceptance the finding is %s, want still in review", got.Finding.State)
		}
		inspector2.ok("POST", "/api/v1/tasks/"+second.ID+"/complete", map[string]string{"outcome": "reject", "comment": "照片看不清张贴位置"})
		redo := head.waitTask(casework.KindRectification, fd.ID)
		rows := caseTasks(t, inspector, fd.ID)
		if rows[first.ID].State != casework.TaskDone || rows[second.ID].Outcome != "reject" || rows[first.ID].Signing != "all" ||
			rows[first.ID].StepID == "" || rows[second.ID].StepID != rows[first.ID].StepID || rows[redo.ID].State != casework.TaskOpen {
			t.Errorf("rows after the rejection = %+v", rows)
		}
		head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已重新张贴", "evidence_note": "清晰照片"})
		var again task
		eventually(t, 20*time.Second, func() bool {
			again = inspector.waitTask(casework.KindRectificationReview, fd.ID)
			return again.ID != first.ID && again.ID != second.ID
		}, "a second review")
		inspector.ok("POST", "/api/v1/tasks/"+again.ID+"/complete", map[string]string{"outcome": "accept"})
		acceptSecond(t, anon, fd.ID)
		eventually(t, 20*time.Second, func() bool {
			head.do("GET", "/api/v1/findings/"+fd.ID, nil, &got)
			return got.Finding.State == casework.FindingClosed
		}, "the finding closed out")
		if decided := len(actionsOf(head, fd.ID, "task.step_decided")); decided != 2 {
			t.Errorf("%d step decisions on record, want 2", decided)
		}
		for id, r := range caseTasks(t, inspector, fd.ID) {
			if r.State == casework.TaskOpen {
				t.Errorf("task %s left open: %+v", id, r)
			}
		}
	})
}

// TestOpsMatrixTimers: the pairs with a clock, on a review due in two seconds whose ladder an
// admin stored (a reminder two seconds after, the superior four seconds later).
func TestOpsMatrixTimers(t *testing.T) { opsMatrixTimers(t, testConfig(t, t.TempDir())) }

func TestOpsMatrixTimersOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	opsMatrixTimers(t, cfg)
}

func opsMatrixTimers(t *testing.T, cfg config.Config) {
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", mustSpec(t, "2s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, staff, head, headB, jcs := anon.as("admin"), anon.as("staff01"), anon.as("head01"), anon.as("head01b"), anon.as("jcs01")
	if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{
		{"after": "2s", "target": "remind"}, {"after": "6s", "target": "superior"}}}, nil); code != 200 {
		t.Fatalf("store the review's ladder: %d", code)
	}
	waitRung := func(t *testing.T, caseID, taskID string, rung int) store.Escalation {
		t.Helper()
		var found store.Escalation
		eventually(t, 30*time.Second, func() bool {
			for _, e := range allEscalations(jcs, caseID) {
				if e.TaskID == taskID && e.Rung == rung {
					found = e
					return true
				}
			}
			return false
		}, "rung %d of %s", rung, taskID)
		return found
	}

	// transfer × escalation: head01 takes the review up and is late: the reminder names head01;
	// head01 transfers it to head01b; the superior's rung names head01b, the task keeps its
	// level, and head01b decides it.
	t.Run("transfer_escalation", func(t *testing.T) {
		app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
		review := head.waitTask("subsidy_review", app.ID)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/claim", nil)
		r1 := waitRung(t, app.ID, review.ID, 1)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/transfer", map[string]string{"to_user": "head01b"})
		r2 := waitRung(t, app.ID, review.ID, 2)
		if r1.HolderID != head.userID() || r1.Target != casework.TargetRemind {
			t.Errorf("the reminder = %+v, want it to name head01", r1)
		}
		if r2.HolderID != headB.userID() || r2.Target != casework.TargetSuperior || r2.UnitCode != "JS-T01" {
			t.Errorf("the superior's rung = %+v, want it to name head01b", r2)
		}
		if it, ok := headB.inboxItem(review.ID); !ok || it.AssigneeID != headB.userID() {
			t.Errorf("the new holder's inbox: %+v %v", it, ok)
		}
		headB.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"})
		staff.waitStatus(app.ID, casework.AppReviewed)
		var row struct {
			EscalationLevel int    `json:"escalation_level"`
			CompletedBy     string `json:"completed_by"`
		}
		staff.do("GET", "/api/v1/tasks/"+review.ID, nil, &row)
		if row.EscalationLevel != 2 || row.CompletedBy != headB.userID() {
			t.Errorf("the review = %+v", row)
		}
		eventually(t, 10*time.Second, func() bool {
			for _, e := range allEscalations(jcs, app.ID) {
				if e.State != casework.EscalationClosed {
					return false
				}
			}
			return true
		}, "the reminder and the superior's escalation closed with the decision")
		if got := actionsOf(staff, app.ID, "task."); !slices.Equal(got, []string{"task.opened", "task.claimed", "task.transferred", "task.completed"}) {
			t.Errorf("audit = %v", got)
		}
	})

	// a deadline timer × return-and-resubmit: the review is late and reminded; head01 returns it;
	// the applicant resubmits; the new review is reminded at its own due time (the reminder is
	// re-armed, never lost), and the first review's later rung never fires.
	t.Run("deadline_return_resubmit", func(t *testing.T) {
		app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
		review := head.waitTask("subsidy_review", app.ID)
		waitRung(t, app.ID, review.ID, 1)
		head.ok("POST", "/api/v1/tasks/"+review.ID+"/return", map[string]string{"comment": "缺少证明材料"})
		fix := staff.waitTask("subsidy_resubmit", app.ID)
		staff.ok("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit", "fields": map[string]string{"evidence_note": "已补充低保证明"}})
		var again task
		eventually(t, 20*time.Second, func() bool {
			again = head.waitTask("subsidy_review", app.ID)
			return again.ID != review.ID
		}, "the new review")
		re := waitRung(t, app.ID, again.ID, 1)
		head.ok("POST", "/api/v1/tasks/"+again.ID+"/complete", map[string]string{"outcome": "approve"})
		staff.waitStatus(app.ID, casework.AppReviewed)
		time.Sleep(4 * time.Second) // past the first review's superior rung, had it still been armed
		byTask := map[string][]int{}
		for _, e := range allEscalations(jcs, app.ID) {
			byTask[e.TaskID] = append(byTask[e.TaskID], e.Rung)
			if e.State != casework.EscalationClosed {
				t.Errorf("escalation %s is %s after the decisions", e.ID, e.State)
			}
		}
		if !slices.Equal(byTask[review.ID], []int{1}) || !slices.Contains(byTask[again.ID], 1) || len(byTask[fix.ID]) != 0 {
			t.Errorf("escalations by task = %v (new review's reminder %+v)", byTask, re)
		}
		// Three tasks opened and decided (review, resubmission, review). A decision's entry and the
		// next task's opening are written concurrently (the case goes on as the decision is
		// taken), so only the counts are fixed.
		count := map[string]int{}
		for _, a := range actionsOf(staff, app.ID, "task.") {
			count[a]++
		}
		if count["task.opened"] != 3 || count["task.completed"] != 3 || len(count) != 2 {
			t.Errorf("audit = %v", count)
		}
	})
}
