package e2e

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/service"
	"jiaofu/store"
)

// The TestRecord… tests drive the paths the older tests do not record, assert each state on the
// way, and record the workflow's history for the replay test in workflows/ (see recordHistory):
// they recorded the code of 81c4588 (see recordHistory before recording again). Without the
// variable they are ordinary tests.

// settled waits until the workflow run has no activity and no workflow task in flight, so that a
// recorded history ends where the case waits for a person, a timer or its next run.
func settled(t *testing.T, svc *service.Service, workflowID, runID string) {
	t.Helper()
	eventually(t, 30*time.Second, func() bool {
		d, err := svc.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, runID)
		if err != nil {
			return false
		}
		return len(d.GetPendingActivities()) == 0 && d.GetPendingWorkflowTask() == nil
	}, "workflow %s to settle", workflowID)
}

// runOf is the id of the workflow's current (latest) run.
func runOf(t *testing.T, svc *service.Service, workflowID string) string {
	t.Helper()
	d, err := svc.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Fatalf("describe %s: %v", workflowID, err)
	}
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// statusOf is the run's status.
func statusOf(t *testing.T, svc *service.Service, workflowID, runID string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := svc.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, runID)
	if err != nil {
		t.Fatalf("describe %s: %v", workflowID, err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

type taskDetail struct {
	ID              string
	State           string
	Outcome         string
	AssigneeID      string `json:"assignee_id"`
	EscalationLevel int    `json:"escalation_level"`
	UrgeCount       int    `json:"urge_count"`
}

func (c *client) task(id string) taskDetail {
	c.t.Helper()
	var td taskDetail
	if code := c.do("GET", "/api/v1/tasks/"+id, nil, &td); code != 200 {
		c.t.Fatalf("get task %s: %d", id, code)
	}
	return td
}

// ok sends a request that must answer 200.
func (c *client) ok(method, path string, body any) {
	c.t.Helper()
	if code, raw := c.raw(method, path, body); code != 200 {
		c.t.Fatalf("%s %s: %d %s", method, path, code, raw)
	}
}

// TestRecordSubsidyReturnedResubmitted: the review returns the application (退回), the applicant
// resubmits it with a changed evidence note, the second review approves it; it waits for its
// publicity batch.
func TestRecordSubsidyReturnedResubmitted(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head := anon.as("staff01"), anon.as("head01")
	app := apply(t, staff, staff.studentOf("王二小").ID, "living-primary", "父亲残疾，低保户")

	tk := head.waitTask("subsidy_review", app.ID)
	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/return", map[string]string{"comment": "请补充村委会证明"})
	staff.waitStatus(app.ID, casework.AppReturned)
	fix := staff.waitTask("subsidy_resubmit", app.ID)
	head.expectError("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]string{"outcome": "resubmit"}, 403, "")
	staff.ok("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit", "comment": "已补充",
		"fields": map[string]string{"evidence_note": "父亲残疾，低保户，附村委会证明"}})
	staff.waitStatus(app.ID, casework.AppInReview)
	var full struct {
		EvidenceNote string `json:"evidence_note"`
	}
	staff.do("GET", "/api/v1/subsidy-applications/"+app.ID, nil, &full)
	if full.EvidenceNote != "父亲残疾，低保户，附村委会证明" {
		t.Errorf("evidence note after resubmission = %q", full.EvidenceNote)
	}

	again := head.waitTask("subsidy_review", app.ID)
	if again.ID == tk.ID {
		t.Fatal("the review after resubmission must be a new task")
	}
	head.ok("POST", "/api/v1/tasks/"+again.ID+"/complete", map[string]string{"outcome": "approve", "comment": "材料齐全"})
	staff.waitStatus(app.ID, casework.AppReviewed)

	settled(t, svc, app.ID, "")
	if st := statusOf(t, svc, app.ID, ""); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("reviewed application's workflow is %s, want running (waiting for publicity)", st)
	}
	recordHistory(t, svc, app.ID, "subsidy_returned_resubmitted")
	recordHistory(t, svc, app.ID, "subsidy_returned_resubmitted_local_writes")  // as subsidy-local-writes records it (issue 20)
	recordHistory(t, svc, app.ID, "subsidy_returned_resubmitted_merged_writes") // as subsidy-merged-writes records it (issue 20)
}

// TestRecordSubsidyWithdrawn: the applicant withdraws (撤回) while the review is unclaimed.
func TestRecordSubsidyWithdrawn(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head := anon.as("staff01"), anon.as("head01")
	app := apply(t, staff, staff.studentOf("张小三").ID, "nutrition", "")

	tk := head.waitTask("subsidy_review", app.ID)
	head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/withdraw", nil, 403, "")
	staff.ok("POST", "/api/v1/tasks/"+tk.ID+"/withdraw", map[string]string{"comment": "家长放弃申请"})
	staff.waitStatus(app.ID, casework.AppRejected)
	head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 409, "")
	if td := head.task(tk.ID); td.State != casework.TaskCancelled {
		t.Errorf("withdrawn task is %s, want %s", td.State, casework.TaskCancelled)
	}

	eventually(t, 20*time.Second, func() bool {
		return statusOf(t, svc, app.ID, "") == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, "the withdrawn application's workflow to complete")
	recordHistory(t, svc, app.ID, "subsidy_withdrawn")
	recordHistory(t, svc, app.ID, "subsidy_withdrawn_local_writes")  // as subsidy-local-writes records it (issue 20)
	recordHistory(t, svc, app.ID, "subsidy_withdrawn_merged_writes") // as subsidy-merged-writes records it (issue 20)
}

// TestRecordSubsidyTaskOperations: on one review task, the applicant urges it (once), head01
// claims and releases it and transfers it to head01b, who rejects.
func TestRecordSubsidyTaskOperations(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, head2 := anon.as("staff01"), anon.as("head01"), anon.as("head01b")
	app := apply(t, staff, staff.studentOf("向金花").ID, "living-primary", "")

	tk := head.waitTask("subsidy_review", app.ID)
	staff.ok("POST", "/api/v1/tasks/"+tk.ID+"/urge", map[string]string{"comment": "请尽快审核"})
	eventually(t, 5*time.Second, func() bool { return head.task(tk.ID).UrgeCount == 1 }, "urge count 1")

	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/claim", nil)
	// Claimed by another: not_candidate, 403 (409 before typed refusals, when this was recorded).
	if e := head2.expectError("POST", "/api/v1/tasks/"+tk.ID+"/claim", nil, 403, ""); e.Error.Code != "not_candidate" {
		t.Errorf("claiming a task claimed by another: %+v", e)
	}
	if td := head.task(tk.ID); td.AssigneeID == "" {
		t.Errorf("claimed task has no assignee: %+v", td)
	}
	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/unclaim", nil)
	if td := head.task(tk.ID); td.AssigneeID != "" {
		t.Errorf("released task still assigned: %+v", td)
	}
	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/transfer", map[string]string{"to_user": "head01b", "comment": "出差，转副校长"})
	head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "")
	head2.ok("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "reject", "comment": "不符合条件"})
	staff.waitStatus(app.ID, casework.AppRejected)
	if td := head2.task(tk.ID); td.State != casework.TaskDone || td.Outcome != "reject" || td.UrgeCount != 1 {
		t.Errorf("task after rejection = %+v", td)
	}

	eventually(t, 20*time.Second, func() bool {
		return statusOf(t, svc, app.ID, "") == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, "the rejected application's workflow to complete")
	recordHistory(t, svc, app.ID, "subsidy_task_operations")
	recordHistory(t, svc, app.ID, "subsidy_task_operations_local_writes")  // as subsidy-local-writes records it (issue 20)
	recordHistory(t, svc, app.ID, "subsidy_task_operations_merged_writes") // as subsidy-merged-writes records it (issue 20)
}

// TestRecordSubsidyEscalatedOpen: nobody reviews; two rungs of a fast ladder fire and the task
// is still open, its third rung an hour away.
func TestRecordSubsidyEscalatedOpen(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SetDuration("JIAOFU_SUBSIDY_REVIEW_DUE", mustSpec(t, "1s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	admin, staff, head, jcs := anon.as("admin"), anon.as("staff01"), anon.as("head01"), anon.as("jcs01")
	admin.ok("PUT", "/api/v1/admin/escalation-ladders/subsidy_review", map[string]any{"rungs": []map[string]string{
		{"after": "1s", "target": "remind"}, {"after": "2s", "target": "superior"}, {"after": "1h", "target": "supervision"}}})
	app := apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
	tk := head.waitTask("subsidy_review", app.ID)

	var mine []store.Escalation
	eventually(t, 30*time.Second, func() bool {
		var esc struct{ Items []store.Escalation }
		jcs.do("GET", "/api/v1/escalations", nil, &esc)
		mine = mine[:0]
		for _, e := range esc.Items {
			if e.CaseID == app.ID {
				mine = append(mine, e)
			}
		}
		return len(mine) == 2
	}, "two escalations of the review")
	rungs := map[int]string{}
	for _, e := range mine {
		rungs[e.Rung] = e.Target
	}
	if rungs[1] != "remind" || rungs[2] != "superior" {
		t.Errorf("rungs fired = %v, want 1 remind and 2 superior", rungs)
	}
	settled(t, svc, app.ID, "")
	if td := head.task(tk.ID); td.State != casework.TaskOpen || td.EscalationLevel != 2 {
		t.Errorf("task after two rungs = %+v, want open at level 2", td)
	}
	if a := staff.application(app.ID); a.Status != casework.AppSubmitted && a.Status != casework.AppInReview {
		t.Errorf("application is %s while its review is open", a.Status)
	}
	recordHistory(t, svc, app.ID, "subsidy_escalated_open")
	recordHistory(t, svc, app.ID, "subsidy_escalated_open_local_writes")  // as subsidy-local-writes records it (issue 20)
	recordHistory(t, svc, app.ID, "subsidy_escalated_open_merged_writes") // as subsidy-merged-writes records it (issue 20)
}

type dropoutView struct {
	Case     dropoutCase
	Attempts []store.DropoutAttempt
}

func (c *client) dropout(id string) dropoutView {
	c.t.Helper()
	var v dropoutView
	if code := c.do("GET", "/api/v1/dropout-cases/"+id, nil, &v); code != 200 {
		c.t.Fatalf("get dropout case %s: %d", id, code)
	}
	return v
}

func (c *client) waitDropoutState(id, state string) {
	c.t.Helper()
	eventually(c.t, 20*time.Second, func() bool { return c.dropout(id).Case.State == state }, "case %s to be %s", id, state)
}

// openDropout opens a case for 王二小, whose responsible teacher is teacher01, and waits for the
// first-contact task.
func openDropout(t *testing.T, staff, teacher *client) (dropoutCase, task) {
	t.Helper()
	var dc dropoutCase
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": staff.studentOf("王二小").ID,
		"reason": "厌学，外出务工", "last_attended_on": time.Now().In(calendar.CST).AddDate(0, 0, -3).Format("2006-01-02")}, &dc); code != 201 {
		t.Fatalf("open case: %d", code)
	}
	return dc, teacher.waitTask("dropout_first_contact", dc.ID)
}

// closeRequested asks for closure without return and returns the school leader's approval task.
func closeRequested(t *testing.T, staff, head *client, dc dropoutCase) task {
	t.Helper()
	staff.expectError("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "closed"}, 400, "note")
	staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "closed", "note": "已随父母迁往外省，户籍迁出"})
	staff.waitDropoutState(dc.ID, casework.DropoutClosing)
	ap := head.waitTask("dropout_close_approval", dc.ID)
	staff.expectError("POST", "/api/v1/tasks/"+ap.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "")
	staff.expectError("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned"}, 409, "")
	return ap
}

// TestRecordDropoutCloseApproved: a closure without return, approved by the school leader.
func TestRecordDropoutCloseApproved(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, teacher, head := anon.as("staff01"), anon.as("teacher01"), anon.as("head01")
	dc, fc := openDropout(t, staff, teacher)
	ap := closeRequested(t, staff, head, dc)
	head.ok("POST", "/api/v1/tasks/"+ap.ID+"/complete", map[string]string{"outcome": "approve", "comment": "核实属实，同意结案"})
	staff.waitDropoutState(dc.ID, casework.DropoutClosed)
	if v := staff.dropout(dc.ID); v.Case.Outcome != "closed" {
		t.Errorf("closed case's outcome = %q", v.Case.Outcome)
	}
	if td := teacher.task(fc.ID); td.State != casework.TaskCancelled {
		t.Errorf("first-contact task of a closed case is %s, want %s", td.State, casework.TaskCancelled)
	}
	wf := "dropout-" + staff.studentOf("王二小").ID
	eventually(t, 20*time.Second, func() bool {
		return statusOf(t, svc, wf, "") == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, "the closed case's workflow to complete")
	recordHistory(t, svc, wf, "dropout_close_approved")
}

// TestRecordDropoutCloseRejected: the school leader rejects the closure; the case reopens, the
// teacher's visit is the first contact, and the student returns (consolidation).
func TestRecordDropoutCloseRejected(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, teacher, head := anon.as("staff01"), anon.as("teacher01"), anon.as("head01")
	dc, fc := openDropout(t, staff, teacher)
	ap := closeRequested(t, staff, head, dc)
	head.ok("POST", "/api/v1/tasks/"+ap.ID+"/complete", map[string]string{"outcome": "reject", "comment": "未见迁出证明，继续劝返"})
	staff.waitDropoutState(dc.ID, casework.DropoutOpen)

	teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit", "notes": "家访，家长同意返校",
		"visitors": []string{"teacher01", "村干部"}})
	if td := teacher.task(fc.ID); td.State != casework.TaskDone || td.Outcome != "contacted" {
		t.Errorf("first-contact task after the visit = %+v", td)
	}
	staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"})
	staff.waitDropoutState(dc.ID, casework.DropoutConsolidating)

	wf := "dropout-" + staff.studentOf("王二小").ID
	settled(t, svc, wf, "")
	recordHistory(t, svc, wf, "dropout_close_rejected")
}

// TestRecordDropoutRelapsesContinued: the student returns and relapses again and again; at the
// fifth relapse (the sixth round of the case) the run continues as new, and the case goes on in
// the second run. Both runs are recorded.
func TestRecordDropoutRelapsesContinued(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, teacher := anon.as("staff01"), anon.as("teacher01")
	dc, fc := openDropout(t, staff, teacher)
	wf := "dropout-" + staff.studentOf("王二小").ID
	firstRun := runOf(t, svc, wf)
	today := func() string { return time.Now().In(calendar.CST).Format("2006-01-02") }

	// waitNewContact waits for a first-contact task other than the previous round's.
	waitNewContact := func(prev string) task {
		t.Helper()
		var found task
		eventually(t, 20*time.Second, func() bool {
			var inbox struct{ Items []task }
			teacher.do("GET", "/api/v1/tasks?status=open&kind=dropout_first_contact", nil, &inbox)
			for _, it := range inbox.Items {
				if it.CaseID == dc.ID && it.ID != prev {
					found = it
					return true
				}
			}
			return false
		}, "a new first-contact task of %s", dc.ID)
		return found
	}
	returned := func(round int) {
		t.Helper()
		if round%2 == 0 { // every other round the teacher's visit comes first
			teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "phone", "notes": "电话联系家长"})
		}
		staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"})
		staff.waitDropoutState(dc.ID, casework.DropoutConsolidating)
	}

	returned(0)
	staff.expectError("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned"}, 409, "")
	prev := fc.ID
	for relapse := 1; relapse <= 5; relapse++ {
		staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/absences", map[string]string{"date": today(), "note": "又未到校"})
		nc := waitNewContact(prev)
		prev = nc.ID
		if relapse < 5 {
			if run := runOf(t, svc, wf); run != firstRun {
				t.Fatalf("relapse %d: the case continued as new too early", relapse)
			}
			returned(relapse)
		}
	}
	// The fifth relapse's round opened in the second run.
	secondRun := runOf(t, svc, wf)
	if secondRun == firstRun {
		t.Fatal("the case did not continue as new at its fifth relapse")
	}
	if st := statusOf(t, svc, wf, firstRun); st != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		t.Fatalf("first run is %s, want continued as new", st)
	}
	var status struct {
		Status struct {
			Relapses int    `json:"relapses"`
			State    string `json:"state"`
		}
	}
	staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &status)
	if status.Status.Relapses != 5 || status.Status.State != casework.DropoutOpen {
		t.Errorf("second run's status = %+v, want 5 relapses, open", status.Status)
	}

	// The case goes on in the second run: a visit, a return, a sixth relapse, another return.
	teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit", "notes": "家访"})
	if td := teacher.task(prev); td.State != casework.TaskDone || td.Outcome != "contacted" {
		t.Errorf("second run's first-contact task after the visit = %+v", td)
	}
	returned(1)
	staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/absences", map[string]string{"date": today(), "note": "第六次未到校"})
	waitNewContact(prev)
	returned(6)
	if v := staff.dropout(dc.ID); len(v.Attempts) != 5 {
		t.Errorf("attempts on record = %d, want 5", len(v.Attempts))
	}

	settled(t, svc, wf, "")
	recordRun(t, svc, wf, firstRun, "dropout_relapses_continued")
	recordRun(t, svc, wf, secondRun, "dropout_relapses_second_run")
}

// TestRecordPublicityObjectionDismissed: a batch whose one objection is dismissed during the
// period; after the period the aid center signs it off and the application is disbursed.
func TestRecordPublicityObjectionDismissed(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, aid, aid2 := anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("aid02")
	app := apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "")
	tk := head.waitTask("subsidy_review", app.ID)
	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"})
	staff.waitStatus(app.ID, casework.AppReviewed)

	var batch struct {
		ID           string
		Applications []string
	}
	if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 {
		t.Fatalf("open batch: %d", code)
	}
	if len(batch.Applications) != 1 {
		t.Fatalf("batch has %d applications, want 1", len(batch.Applications))
	}
	var pub struct {
		Entries []struct {
			EntryID string `json:"entry_id"`
		}
	}
	eventually(t, 10*time.Second, func() bool {
		return anon.do("GET", "/public/publicity-batches/"+batch.ID, nil, &pub) == 200 && len(pub.Entries) == 1
	}, "the public list")
	if code, raw := anon.raw("POST", "/public/publicity-batches/"+batch.ID+"/objections", map[string]string{
		"entry_id": pub.Entries[0].EntryID, "reason": "其家庭经济条件较好", "contact": "13900000000"}); code != 201 {
		t.Fatalf("objection: %d %s", code, raw)
	}
	ob := aid.waitTask("objection_review", batch.ID)
	aid.ok("POST", "/api/v1/tasks/"+ob.ID+"/complete", map[string]string{"outcome": "dismiss", "comment": "经核实不属实"})

	st := aid2.waitTask("publicity_signoff", batch.ID)
	head.expectError("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "")
	aid2.ok("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "一卡通"}})
	staff.waitStatus(app.ID, casework.AppDisbursed)

	eventually(t, 20*time.Second, func() bool {
		return statusOf(t, svc, batch.ID, "") == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, "the batch's workflow to complete")
	recordHistory(t, svc, batch.ID, "publicity_objection_dismissed")
	recordHistory(t, svc, batch.ID, "publicity_objection_dismissed_local_writes") // as publicity-local-writes records it (issue 20)
}
