package e2e

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/service"
	"jiaofu/store"
)

// TestRecordDropoutOpen records dropout cases that are still running, each waiting on a deadline
// of its round, so that a change of how the township and county deadlines are kept is proven on
// cases that are under way when it ships (and not only on cases that ended or left their
// deadlines behind). Unlike the other TestRecord… tests these recorded the code of 39297f1 (see
// recordHistory before recording again). Each subtest asserts the state it records through the
// API; without JIAOFU_RECORD_HISTORIES they are ordinary tests. The escalation ids they expect
// are those of cases opened since dropout-case-kit (<case>-return-window-r1 …); the recorded
// files hold the older ones (<case>-township …), and replay under today's code as they are.
func TestRecordDropoutOpen(t *testing.T) {
	// township: the return window passed (return notice to the township government, and the
	// supervision office), one attempt logged after it; the case waits on its HQ window.
	t.Run("township", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
		cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
		cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		staff, teacher, jcs := anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
		dc, fc := openDropout(t, staff, teacher)
		wf := "dropout-" + staff.studentOf("王二小").ID

		staff.waitDropoutState(dc.ID, casework.DropoutTownship)
		waitEscalations(t, jcs, dc.ID, map[string]string{
			dc.ID + "-return-window-r1": casework.TargetTownshipGov,
			dc.ID + "-return-window-r2": casework.TargetSupervision,
		})
		teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit",
			"notes": "收到限期返校通知书后家访，家长仍不同意返校", "visitors": []string{"teacher01", "村干部"}})
		if td := teacher.task(fc.ID); td.State != casework.TaskDone || td.Outcome != "contacted" {
			t.Errorf("first-contact task after the attempt = %+v", td)
		}

		settled(t, svc, wf, "")
		st := openStatus(t, svc, staff, dc.ID, wf)
		if st.State != casework.DropoutTownship || st.EscalationLevel != 1 || st.Attempts != 1 || st.Relapses != 0 || !st.FirstContactDone {
			t.Errorf("status = %+v, want township_supervising at level 1 with one attempt, first contact done", st)
		}
		if st.CountyDueAt == nil || !st.CountyDueAt.After(time.Now()) {
			t.Errorf("county deadline = %v, want one still ahead", st.CountyDueAt)
		}
		if v := staff.dropout(dc.ID); len(v.Attempts) != 1 {
			t.Errorf("attempts on record = %d, want 1", len(v.Attempts))
		}
		onlyEscalations(t, jcs, dc.ID, 2)
		recordHistory(t, svc, wf, "dropout_open_township")
	})

	// county_close_pending: both windows passed (township government, county HQ, twice the
	// supervision office); a closure is then requested and waits for the school leader.
	t.Run("county_close_pending", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
		cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
		cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "2s"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		staff, teacher, head, jcs := anon.as("staff01"), anon.as("teacher01"), anon.as("head01"), anon.as("jcs01")
		dc, fc := openDropout(t, staff, teacher)
		wf := "dropout-" + staff.studentOf("王二小").ID

		staff.waitDropoutState(dc.ID, casework.DropoutCountyHQ)
		waitEscalations(t, jcs, dc.ID, map[string]string{
			dc.ID + "-return-window-r1": casework.TargetTownshipGov,
			dc.ID + "-return-window-r2": casework.TargetSupervision,
			dc.ID + "-hq-window-r1":     casework.TargetCountyHQ,
			dc.ID + "-hq-window-r2":     casework.TargetSupervision,
		})
		ap := closeRequested(t, staff, head, dc)
		if td := head.task(ap.ID); td.State != casework.TaskOpen {
			t.Errorf("close approval task = %+v, want open", td)
		}
		if td := teacher.task(fc.ID); td.State != casework.TaskOpen {
			t.Errorf("first-contact task while the closure waits = %+v, want open", td)
		}

		settled(t, svc, wf, "")
		st := openStatus(t, svc, staff, dc.ID, wf)
		if st.State != casework.DropoutClosing || st.EscalationLevel != 2 || !st.ClosePending || st.Attempts != 0 {
			t.Errorf("status = %+v, want closing at level 2 with the closure pending", st)
		}
		onlyEscalations(t, jcs, dc.ID, 4)
		recordHistory(t, svc, wf, "dropout_open_county_close_pending")
	})

	// relapse_round: the student returns in time (no escalation), relapses during consolidation;
	// the new round's return window passes with its first-contact task still open.
	t.Run("relapse_round", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
		cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "8s")) // the first round returns well within it
		cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		staff, teacher, jcs := anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
		dc, fc := openDropout(t, staff, teacher)
		wf := "dropout-" + staff.studentOf("王二小").ID

		teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "phone", "notes": "电话联系家长，同意返校"})
		staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"})
		staff.waitDropoutState(dc.ID, casework.DropoutConsolidating)
		if v := staff.dropout(dc.ID); v.Case.State != casework.DropoutConsolidating {
			t.Fatalf("case after the return = %+v", v.Case)
		}
		if st := openStatus(t, svc, staff, dc.ID, wf); st.EscalationLevel != 0 {
			t.Fatalf("the first round escalated (level %d) before its return: the machine is too slow for the 8s window", st.EscalationLevel)
		}
		onlyEscalations(t, jcs, dc.ID, 0)
		if td := teacher.task(fc.ID); td.State != casework.TaskDone || td.Outcome != "contacted" {
			t.Errorf("first round's first-contact task = %+v", td)
		}

		today := time.Now().In(calendar.CST).Format("2006-01-02")
		staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/absences", map[string]string{"date": today, "note": "返校后又未到校"})
		var nc task
		eventually(t, 20*time.Second, func() bool {
			var inbox struct{ Items []task }
			teacher.do("GET", "/api/v1/tasks?status=open&kind=dropout_first_contact", nil, &inbox)
			for _, it := range inbox.Items {
				if it.CaseID == dc.ID && it.ID != fc.ID {
					nc = it
					return true
				}
			}
			return false
		}, "the relapse round's first-contact task")
		staff.waitDropoutState(dc.ID, casework.DropoutTownship)
		waitEscalations(t, jcs, dc.ID, map[string]string{
			dc.ID + "-return-window-relapse1-r1": casework.TargetTownshipGov,
			dc.ID + "-return-window-relapse1-r2": casework.TargetSupervision,
		})
		if td := teacher.task(nc.ID); td.State != casework.TaskOpen {
			t.Errorf("relapse round's first-contact task = %+v, want open", td)
		}

		settled(t, svc, wf, "")
		st := openStatus(t, svc, staff, dc.ID, wf)
		if st.State != casework.DropoutTownship || st.EscalationLevel != 1 || st.Relapses != 1 || st.Attempts != 1 || st.FirstContactDone {
			t.Errorf("status = %+v, want township_supervising at level 1 in relapse 1, first contact not done", st)
		}
		if st.CountyDueAt == nil || !st.CountyDueAt.After(time.Now()) {
			t.Errorf("county deadline = %v, want one still ahead", st.CountyDueAt)
		}
		onlyEscalations(t, jcs, dc.ID, 2)
		recordHistory(t, svc, wf, "dropout_open_relapse_round")
	})
}

type openDropoutStatus struct {
	State            string     `json:"state"`
	EscalationLevel  int        `json:"escalation_level"`
	Attempts         int        `json:"attempts"`
	Relapses         int        `json:"relapses"`
	FirstContactDone bool       `json:"first_contact_done"`
	CountyDueAt      *time.Time `json:"county_due_at"`
	ClosePending     bool       `json:"close_pending"`
}

// openStatus is the case's live status (the workflow's query) as the API shows it; the workflow
// must be running, and the ledger must agree with it.
func openStatus(t *testing.T, svc *service.Service, c *client, caseID, wf string) openDropoutStatus {
	t.Helper()
	if st := statusOf(t, svc, wf, ""); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow %s is %s, want running", wf, st)
	}
	var out struct {
		Case   store.DropoutCase
		Status *openDropoutStatus
	}
	if code := c.do("GET", "/api/v1/dropout-cases/"+caseID, nil, &out); code != 200 {
		t.Fatalf("get dropout case %s: %d", caseID, code)
	}
	if out.Status == nil {
		t.Fatalf("dropout case %s has no live status", caseID)
	}
	if out.Case.State != out.Status.State || out.Case.EscalationLevel != out.Status.EscalationLevel {
		t.Errorf("ledger (%s, level %d) and workflow (%s, level %d) disagree", out.Case.State, out.Case.EscalationLevel,
			out.Status.State, out.Status.EscalationLevel)
	}
	return *out.Status
}

// caseEscalations are the case's escalations as the supervision office sees them.
func caseEscalations(c *client, caseID string) []store.Escalation {
	var esc struct{ Items []store.Escalation }
	c.do("GET", "/api/v1/escalations?process=dropout&case_id="+caseID, nil, &esc)
	return esc.Items
}

// waitEscalations waits until each escalation id of want is on record, open, with its target.
func waitEscalations(t *testing.T, c *client, caseID string, want map[string]string) {
	t.Helper()
	eventually(t, 30*time.Second, func() bool {
		got := map[string]store.Escalation{}
		for _, e := range caseEscalations(c, caseID) {
			got[e.ID] = e
		}
		for id, target := range want {
			if e, ok := got[id]; !ok || e.Target != target || e.State != casework.EscalationOpen {
				return false
			}
		}
		return true
	}, "escalations %v of %s", want, caseID)
}

// onlyEscalations checks that the case has exactly n escalations, all open.
func onlyEscalations(t *testing.T, c *client, caseID string, n int) {
	t.Helper()
	es := caseEscalations(c, caseID)
	if len(es) != n {
		t.Errorf("case %s has %d escalations, want %d: %+v", caseID, len(es), n, es)
	}
	for _, e := range es {
		if e.State != casework.EscalationOpen {
			t.Errorf("escalation %s is %s, want open", e.ID, e.State)
		}
	}
}
