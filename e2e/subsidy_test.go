package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/config"

	"jiaofu/store"
)

const term = "2026-2027-1"

func apply(t *testing.T, c *client, studentID, programme, note string) application {
	t.Helper()
	var a application
	body := map[string]string{"student_id": studentID, "programme": programme, "term": term}
	if note != "" {
		body["evidence_note"] = note
	}
	if code := c.do("POST", "/api/v1/subsidy-applications", body, &a); code != 201 {
		t.Fatalf("apply for %s: %d", studentID, code)
	}
	return a
}

// TestSubsidyEndToEnd walks an application through every step a county uses, through HTTP only:
// apply → review → publicity → objections → sign-off → disbursement, with the refusals on the way.
func TestSubsidyEndToEnd(t *testing.T) {
	subsidyEndToEnd(t, testConfig(t, t.TempDir()))
}

// TestSubsidyEndToEndOnPostgres runs the same walk with the store in PostgreSQL (the production
// path), when TEST_DATABASE_URL points at a server.
func TestSubsidyEndToEndOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	subsidyEndToEnd(t, cfg)
}

func subsidyEndToEnd(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	admin, staff, head, aid := anon.as("admin"), anon.as("staff01"), anon.as("head01"), anon.as("aid01")

	// A person who is both an aid-center approver and a reviewer at the school: separation of
	// duties must keep them from signing off what they reviewed.
	if code := admin.do("POST", "/api/v1/admin/users", map[string]any{"username": "dual", "password": "dual-password", "display_name": "兼职审核员",
		"roles": []map[string]string{{"role": "aid_center", "unit_code": "JS-ZZZX"}, {"role": "school_leader", "unit_code": "JS-T01-S01"}}}, nil); code != 201 {
		t.Fatalf("create dual user: %d", code)
	}
	dual := &client{t: t, base: anon.base}
	var tok struct{ Token string }
	anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "dual", "password": "dual-password"}, &tok)
	dual.token = tok.Token

	zhang, wang, xiang := staff.studentOf("张小三"), staff.studentOf("王二小"), staff.studentOf("向金花")

	// Bad input names its field and creates nothing.
	staff.expectReason("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": "st_nope", "programme": "living-primary", "term": term}, 400, "student_id", "no_student")
	staff.expectReason("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "nope", "term": term}, 400, "programme", "no_programme")
	staff.expectReason("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": "2026-2028-1"}, 400, "term", "term_years")
	staff.expectError("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": term, "amount_fen": "1"}, 400, "amount_fen")
	staff.expectReason("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": wang.ID, "programme": "living-primary", "term": term}, 400, "evidence_note",
		"required_without_poverty_registration")
	head.expectError("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": term}, 403, "")

	appZhang := apply(t, staff, zhang.ID, "living-primary", "")
	appWang := apply(t, staff, wang.ID, "living-primary", "父亲残疾，低保户，附村委会证明")
	appXiang := apply(t, staff, xiang.ID, "living-primary", "")
	staff.expectError("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": term}, 409, "")

	// School review. The registry check sets priority and the amount from the standard.
	for _, id := range []string{appZhang.ID, appWang.ID} {
		tk := head.waitTask("subsidy_review", id)
		staff.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "")
		head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "uphold"}, 400, "outcome")
		if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve", "comment": "材料齐全"}, nil); code != 200 {
			t.Fatalf("approve %s: %d", id, code)
		}
		head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 409, "")
	}
	tk := dual.waitTask("subsidy_review", appXiang.ID)
	if code := dual.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("dual approves xiang: %d", code)
	}
	for _, id := range []string{appZhang.ID, appWang.ID, appXiang.ID} {
		staff.waitStatus(id, casework.AppReviewed)
	}
	if a := staff.application(appZhang.ID); !a.Priority || a.AmountFen != 500_00 {
		t.Errorf("registered student: priority %v amount %d, want true 50000", a.Priority, a.AmountFen)
	}
	if a := staff.application(appWang.ID); a.Priority {
		t.Errorf("unregistered student flagged priority")
	}

	// Publicity.
	var batch struct {
		ID           string
		Applications []string
	}
	if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 {
		t.Fatalf("open batch: %d", code)
	}
	if len(batch.Applications) != 3 {
		t.Fatalf("batch has %d applications, want 3", len(batch.Applications))
	}
	code, public := anon.raw("GET", "/public/publicity-batches/"+batch.ID, nil)
	if code != 200 {
		t.Fatalf("public list: %d %s", code, public)
	}
	for _, st := range []store.Student{zhang, wang, xiang} {
		for _, forbidden := range []string{st.IDCardNo, st.StudentNo, st.BirthDate, st.Name, st.HouseholdID, st.IDCardNo[6:14]} {
			if forbidden != "" && strings.Contains(public, forbidden) {
				t.Errorf("public list shows a forbidden field %q: %s", forbidden, public)
			}
		}
	}
	for _, masked := range []string{"张*三", "王*小", "向*花", "500.00"} {
		if !strings.Contains(public, masked) {
			t.Errorf("public list lacks %q: %s", masked, public)
		}
	}
	for _, word := range []string{"id_card", "student_no", "birth", "household", "evidence", "phone", "bank", "address"} {
		if strings.Contains(public, word) {
			t.Errorf("public list has a field named like %q: %s", word, public)
		}
	}

	// Entries are referred to by opaque ids: an application id names the student's record.
	for _, id := range []string{appZhang.ID, appWang.ID, appXiang.ID, zhang.ID} {
		if strings.Contains(public, id) {
			t.Errorf("public list shows an internal id %q", id)
		}
	}
	var pub api.PublicList
	anon.do("GET", "/public/publicity-batches/"+batch.ID, nil, &pub)
	ref := map[string]string{}
	for _, e := range pub.Entries {
		switch e.Name {
		case "张*三":
			ref[appZhang.ID] = e.EntryID
		case "王*小":
			ref[appWang.ID] = e.EntryID
		}
	}

	// Objections during the period: one upheld, one dismissed; a bad one names its field.
	anon.expectError("POST", "/public/publicity-batches/"+batch.ID+"/objections", map[string]string{"entry_id": "nope", "reason": "x", "contact": "y"}, 400, "entry_id")
	anon.expectError("POST", "/public/publicity-batches/"+batch.ID+"/objections", map[string]string{"entry_id": appZhang.ID, "reason": "x", "contact": "y"}, 400, "entry_id")
	anon.expectError("POST", "/public/publicity-batches/"+batch.ID+"/objections", map[string]string{"entry_id": ref[appZhang.ID], "contact": "y"}, 400, "reason")
	for _, id := range []string{appZhang.ID, appWang.ID} {
		// The list is public as soon as its row is written; the API waits out the moment before its
		// batch takes objections, so the public never sees "still being opened".
		if code, body := anon.raw("POST", "/public/publicity-batches/"+batch.ID+"/objections", map[string]string{"entry_id": ref[id], "reason": "其家庭有商铺两间", "contact": "13900000000"}); code != 201 {
			t.Fatalf("objection to %s: %d %s", id, code, body)
		}
	}
	var inbox struct{ Items []task }
	eventually(t, 20*time.Second, func() bool {
		aid.do("GET", "/api/v1/tasks?kind=objection_review", nil, &inbox)
		return len(inbox.Items) == 2
	}, "two objection reviews")
	if code := aid.do("POST", "/api/v1/tasks/"+inbox.Items[0].ID+"/complete", map[string]string{"outcome": "uphold", "comment": "核实属实"}, nil); code != 200 {
		t.Fatalf("uphold: %d", code)
	}
	// The second objection stays open past the end of the period: the batch must not close.
	eventually(t, 15*time.Second, func() bool {
		return anon.do("GET", "/public/publicity-batches/"+batch.ID, nil, nil) == 404
	}, "the public list withdrawn after the period")
	anon.expectCode("POST", "/public/publicity-batches/"+batch.ID+"/objections", map[string]string{"entry_id": ref[appWang.ID], "reason": "迟到的异议", "contact": "x"}, 409, "publicity_ended", "")
	var signoffs struct{ Items []task }
	aid.do("GET", "/api/v1/tasks?kind=publicity_signoff", nil, &signoffs)
	if len(signoffs.Items) != 0 {
		t.Fatalf("sign-off opened while an objection is still open: %+v", signoffs.Items)
	}
	if code := aid.do("POST", "/api/v1/tasks/"+inbox.Items[1].ID+"/complete", map[string]string{"outcome": "dismiss", "comment": "经核实不属实"}, nil); code != 200 {
		t.Fatalf("dismiss: %d", code)
	}
	// Which application the upheld objection hit depends on inbox order; find out.
	var rejected, kept string
	eventually(t, 20*time.Second, func() bool {
		za, wa := staff.application(appZhang.ID), staff.application(appWang.ID)
		switch {
		case za.Status == casework.AppRejected:
			rejected, kept = appZhang.ID, appWang.ID
		case wa.Status == casework.AppRejected:
			rejected, kept = appWang.ID, appZhang.ID
		}
		return rejected != ""
	}, "the upheld objection to reject its application")

	// County sign-off: the reviewer of a member may not sign off; another approver does.
	st := dual.waitTask("publicity_signoff", batch.ID)
	dual.expectError("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "")
	if code := aid.do("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "一卡通"}}, nil); code != 200 {
		t.Fatalf("sign-off: %d", code)
	}
	staff.waitStatus(kept, casework.AppDisbursed)
	staff.waitStatus(appXiang.ID, casework.AppDisbursed)
	if a := staff.application(rejected); a.Status != casework.AppRejected {
		t.Errorf("upheld application went on: %s", a.Status)
	}

	// The application shows its disbursement once, and its history.
	var full struct {
		Status       string
		Disbursement *store.Disbursement
		History      []store.AuditEntry
	}
	staff.do("GET", "/api/v1/subsidy-applications/"+kept, nil, &full)
	if full.Disbursement == nil || full.Disbursement.AmountFen != 500_00 || full.Disbursement.Channel != "一卡通" {
		t.Errorf("disbursement = %+v", full.Disbursement)
	}
	actions := map[string]int{}
	for _, h := range full.History {
		actions[h.Action]++
	}
	for _, want := range []string{"subsidy.applied", "task.opened", "task.completed", "subsidy.reviewed", "subsidy.signed_off", "subsidy.disbursed"} {
		if actions[want] == 0 {
			t.Errorf("history lacks %s: %v", want, actions)
		}
	}
	if actions["subsidy.disbursed"] != 1 || actions["subsidy.applied"] != 1 {
		t.Errorf("disbursed %d times, applied %d times (the API and the first activity both write it, once)",
			actions["subsidy.disbursed"], actions["subsidy.applied"])
	}
	var timeline struct{ Items []store.AuditEntry }
	if code := staff.do("GET", "/api/v1/cases/"+batch.ID+"/timeline", nil, &timeline); code != 200 || len(timeline.Items) == 0 {
		t.Errorf("batch timeline: %d, %d entries", code, len(timeline.Items))
	}
	anon.as("township01").expectError("GET", "/api/v1/cases/nope/timeline", nil, 404, "")

	// Omission report: registered students with no approved application this term.
	var om struct {
		Count int
		Items []store.Student
	}
	aid.do("GET", "/api/v1/reports/subsidy-omissions?term="+term, nil, &om)
	names := map[string]bool{}
	for _, s := range om.Items {
		names[s.Name] = true
	}
	if !names["李梅"] || names["向金花"] {
		t.Errorf("omissions = %v: want 李梅 (never applied) and not 向金花 (disbursed)", names)
	}
	if rejected == appZhang.ID && !names["张小三"] {
		t.Errorf("a student whose application was rejected is an omission: %v", names)
	}
	aid.expectError("GET", "/api/v1/reports/subsidy-omissions?term=bad", nil, 400, "term")

	recordHistory(t, svc, kept, "subsidy_disbursed")
	recordHistory(t, svc, rejected, "subsidy_rejected_by_objection")
	// The same paths as the code of subsidy-local-writes records them (local activities, issue 20).
	recordHistory(t, svc, kept, "subsidy_disbursed_local_writes")
	recordHistory(t, svc, rejected, "subsidy_rejected_by_objection_local_writes")
	// And as the code of subsidy-merged-writes records them (fewer, merged writes, issue 20).
	recordHistory(t, svc, kept, "subsidy_disbursed_merged_writes")
	recordHistory(t, svc, rejected, "subsidy_rejected_by_objection_merged_writes")
	recordHistory(t, svc, batch.ID, "publicity_batch")
	recordHistory(t, svc, batch.ID, "publicity_batch_local_writes") // as publicity-local-writes records it (issue 20)

	var verify store.VerifyResult
	if code := anon.as("jcs01").do("GET", "/api/v1/admin/audit/verify", nil, &verify); code != 200 || !verify.OK {
		t.Errorf("audit chain: %d %+v", code, verify)
	}
}

// TestConcurrentCompletion: two people completing the same task at once — exactly one wins.
func TestConcurrentCompletion(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, head2 := anon.as("staff01"), anon.as("head01"), anon.as("head01b")
	app := apply(t, staff, staff.studentOf("李梅").ID, "nutrition", "")
	tk := head.waitTask("subsidy_review", app.ID)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, c := range []*client{head, head2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = c.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": []string{"approve", "reject"}[i], "comment": "并发办理"}, nil)
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 200 {
			ok++
		} else if c != 409 {
			t.Errorf("loser got %d, want 409", c)
		}
	}
	if ok != 1 {
		t.Fatalf("codes %v: want exactly one 200", codes)
	}
	var full struct{ History []store.AuditEntry }
	staff.do("GET", "/api/v1/subsidy-applications/"+app.ID, nil, &full)
	n := 0
	for _, h := range full.History {
		if h.Action == "task.completed" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("task completed %d times on record", n)
	}
}
