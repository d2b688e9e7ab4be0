package e2e

import (
	"strings"
	"testing"
	"time"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestRecordKit records, from today's code, histories of the processes on the shared kit (case
// deadlines with stored ladders): dropout cases opened under dropout-case-kit, an inspection
// finding, a send-home plan and a dropout case's send_home hand-off (dropout-sendhome-plan), so
// that a later change of any of them is proven against cases that ran or are running under this
// code. Each subtest asserts what it records through the API; without JIAOFU_RECORD_HISTORIES
// they are ordinary tests. Record into new names only: the files of earlier code stay as they are.
func TestRecordKit(t *testing.T) {
	// dropout_kit_escalated_returned: both windows pass (the kit's deadlines climb their ladders
	// to the township government, the county HQ and the supervision office); the teacher then
	// visits and the student returns: consolidation, the case waits for its end.
	t.Run("dropout_escalated_returned", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
		cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
		cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "2s"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		staff, teacher, jcs := anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
		dc, fc := openDropout(t, staff, teacher)
		wf := "dropout-" + staff.studentOf("王二小").ID

		staff.waitDropoutState(dc.ID, casework.DropoutCountyHQ)
		waitEscalations(t, jcs, dc.ID, map[string]string{
			dc.ID + "-return-window-r1": casework.TargetTownshipGov,
			dc.ID + "-return-window-r2": casework.TargetSupervision,
			dc.ID + "-hq-window-r1":     casework.TargetCountyHQ,
			dc.ID + "-hq-window-r2":     casework.TargetSupervision,
		})
		teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit",
			"notes": "县指挥部督办后家访，家长同意返校", "visitors": []string{"teacher01", "村干部"}})
		if td := teacher.task(fc.ID); td.State != casework.TaskDone || td.Outcome != "contacted" {
			t.Errorf("first-contact task after the attempt = %+v", td)
		}
		staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]string{"outcome": "returned", "note": "已返校"})
		staff.waitDropoutState(dc.ID, casework.DropoutConsolidating)

		settled(t, svc, wf, "")
		st := openStatus(t, svc, staff, dc.ID, wf)
		if st.State != casework.DropoutConsolidating || st.EscalationLevel != 2 || st.Attempts != 1 {
			t.Errorf("status = %+v, want consolidating at level 2 with one attempt", st)
		}
		// The return closes the township government's and the county HQ's escalations with the
		// round; the supervision office's stay open for it to decide.
		open := map[string]bool{}
		es := caseEscalations(jcs, dc.ID)
		for _, e := range es {
			open[e.Target] = open[e.Target] || e.State == casework.EscalationOpen
		}
		if len(es) != 4 || open[casework.TargetTownshipGov] || open[casework.TargetCountyHQ] || !open[casework.TargetSupervision] {
			t.Errorf("escalations after the return = %+v", es)
		}
		recordHistory(t, svc, wf, "dropout_kit_escalated_returned")
	})

	// dropout_kit_open_hq_window: the return window passed, one attempt after it; the case
	// waits on its HQ window (a kit deadline still ahead).
	t.Run("dropout_open_hq_window", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
		cfg.SetDuration("JIAOFU_DROPOUT_RETURN_WINDOW", mustSpec(t, "2s"))
		cfg.SetDuration("JIAOFU_DROPOUT_HQ_WINDOW", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		staff, teacher, jcs := anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
		dc, _ := openDropout(t, staff, teacher)
		wf := "dropout-" + staff.studentOf("王二小").ID

		staff.waitDropoutState(dc.ID, casework.DropoutTownship)
		waitEscalations(t, jcs, dc.ID, map[string]string{
			dc.ID + "-return-window-r1": casework.TargetTownshipGov,
			dc.ID + "-return-window-r2": casework.TargetSupervision,
		})
		teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "phone", "notes": "电话联系，家长仍不同意返校"})

		settled(t, svc, wf, "")
		st := openStatus(t, svc, staff, dc.ID, wf)
		if st.State != casework.DropoutTownship || st.EscalationLevel != 1 || st.Attempts != 1 || !st.FirstContactDone {
			t.Errorf("status = %+v, want township_supervising at level 1 with one attempt", st)
		}
		if st.CountyDueAt == nil || !st.CountyDueAt.After(time.Now()) {
			t.Errorf("HQ window = %v, want one still ahead", st.CountyDueAt)
		}
		onlyEscalations(t, jcs, dc.ID, 2)
		recordHistory(t, svc, wf, "dropout_kit_open_hq_window")
	})

	// inspection_finding_rejected_redone: a finding's rectification is rejected by the review
	// and redone; the second review accepts and the finding closes out (销号).
	t.Run("finding_rejected_redone", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_RECTIFICATION_DUE", mustSpec(t, "1h"))
		cfg.SetDuration("JIAOFU_RECTIFICATION_REDO_DUE", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		inspector, head := anon.as("inspector01"), anon.as("head01")
		rid := planRound(t, inspector, "JS-T01-S01")
		var fd finding
		if code := inspector.do("POST", "/api/v1/inspection-rounds/"+rid+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "dropout",
			"description": "控辍保学台账未按月更新", "severity": "serious"}, &fd); code != 201 {
			t.Fatalf("record a finding: %d %+v", code, fd)
		}
		rect := head.waitTask(casework.KindRectification, fd.ID)
		head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已更新台账", "evidence_note": "台账照片 3 张"})
		review := inspector.waitTask(casework.KindRectificationReview, fd.ID)
		inspector.ok("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "reject", "comment": "照片看不清"})
		eventually(t, 20*time.Second, func() bool { return head.waitTask(casework.KindRectification, fd.ID).ID != rect.ID }, "a new rectification task")
		head.ok("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已重新更新台账", "evidence_note": "清晰照片"})
		var review2 task
		eventually(t, 20*time.Second, func() bool {
			review2 = inspector.waitTask(casework.KindRectificationReview, fd.ID)
			return review2.ID != review.ID
		}, "a second review")
		inspector.ok("POST", "/api/v1/tasks/"+review2.ID+"/complete", map[string]string{"outcome": "accept"})
		acceptSecond(t, anon, fd.ID) // a serious finding: two reviewers accept (会签, since finding-serious-two-reviewers)
		var got struct{ Finding finding }
		eventually(t, 20*time.Second, func() bool {
			head.do("GET", "/api/v1/findings/"+fd.ID, nil, &got)
			return got.Finding.State == casework.FindingClosed
		}, "the finding closed out")
		if got.Finding.Attempts != 2 {
			t.Errorf("attempts = %d, want 2", got.Finding.Attempts)
		}
		settled(t, svc, fd.ID, "")
		recordHistory(t, svc, fd.ID, "inspection_finding_rejected_redone")
	})

	// sendhome_midterm_missed_period: a plan of 3-second periods in an hour's term; its first
	// period passes unvisited (the visit_quota ladder climbs), then the assessment visit; the plan
	// runs on mid-term with later periods under way.
	t.Run("sendhome_midterm_missed_period", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_SENDHOME_TERM", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		admin, staff, teacher, jcs := anon.as("admin"), anon.as("staff01"), anon.as("teacher01"), anon.as("jcs01")
		if code := admin.do("PUT", "/api/v1/admin/escalation-ladders/"+casework.DeadlineVisitQuota, map[string]any{"rungs": []map[string]string{
			{"after": "0s", "target": "remind"}, {"after": "1s", "target": "superior"}, {"after": "2s", "target": "supervision"}}}, nil); code != 200 {
			t.Fatalf("put the visit_quota ladder: %d", code)
		}
		var me struct {
			UserID string `json:"user_id"`
		}
		teacher.do("GET", "/api/v1/me", nil, &me)
		stu := staff.studentOf("王二小")
		var created sendHomeView
		if code := staff.do("POST", "/api/v1/send-home-plans", map[string]any{"student_id": stu.ID, "disability_type": "智力残疾",
			"teacher_ids": []string{me.UserID}, "goals": "生活自理", "visits_per_period": 1, "period": "3s", "min_minutes": 90}, &created); code != 201 {
			t.Fatalf("start plan: %d", code)
		}
		id := created.ID
		eventually(t, 40*time.Second, func() bool {
			var esc struct{ Items []store.Escalation }
			jcs.do("GET", "/api/v1/escalations?process=sendhome&target=supervision&case_id="+id, nil, &esc)
			return len(esc.Items) >= 1
		}, "the missed first period at the supervision office")
		teacher.ok("POST", "/api/v1/send-home-plans/"+id+"/visits", map[string]any{"visited_on": time.Now().In(calendar.CST).Format("2006-01-02"),
			"minutes": 120, "content": "入户评估", "teacher_ids": []string{me.UserID}})
		var detail sendHomeView
		eventually(t, 20*time.Second, func() bool {
			staff.do("GET", "/api/v1/send-home-plans/"+id, nil, &detail)
			return detail.Plan.State == casework.SendHomeActive && detail.Plan.MissedPeriods >= 1 && detail.Plan.PeriodNo >= 3
		}, "the plan active mid-term, a period missed")
		wf := "sendhome-" + stu.ID
		settled(t, svc, wf, "")
		if st := statusOf(t, svc, wf, ""); st.String() != "Running" {
			t.Errorf("plan workflow is %s, want running", st)
		}
		recordHistory(t, svc, wf, "sendhome_midterm_missed_period")
	})

	// dropout_kit_sendhome_handoff: a case recorded as send_home starts the student's plan (a
	// child workflow it abandons) and closes.
	t.Run("dropout_sendhome_handoff", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.SetDuration("JIAOFU_DROPOUT_FIRST_CONTACT", mustSpec(t, "1h"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		staff, teacher := anon.as("staff01"), anon.as("teacher01")
		dc, _ := openDropout(t, staff, teacher)
		stu := staff.studentOf("王二小")
		wf := "dropout-" + stu.ID
		teacher.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit", "notes": "家访：重度残疾，无法到校"})
		staff.ok("POST", "/api/v1/dropout-cases/"+dc.ID+"/outcome", map[string]any{"outcome": "send_home", "note": "经评估转送教上门",
			"disability_type": "肢体残疾", "goals": "生活自理"})
		staff.waitDropoutState(dc.ID, casework.DropoutClosed)
		var ledger struct{ Items []sendHomeView }
		eventually(t, 20*time.Second, func() bool {
			staff.do("GET", "/api/v1/send-home-plans", nil, &ledger)
			return len(ledger.Items) == 1
		}, "the hand-off's plan")
		if v := staff.dropout(dc.ID); v.Case.Outcome != casework.OutcomeSendHome {
			t.Errorf("case = %+v", v.Case)
		}
		var full struct{ Timeline []store.AuditEntry }
		staff.do("GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full)
		var said bool
		for _, h := range full.Timeline {
			said = said || (h.Action == "dropout.send_home" && strings.Contains(h.After, "sendhome_plan_id"))
		}
		if !said {
			t.Error("the case's closing does not name its plan")
		}
		settled(t, svc, wf, "")
		recordHistory(t, svc, wf, "dropout_kit_sendhome_handoff")
	})
}
