package e2e

import (
	"strings"
	"testing"

	"jiaofu/casework"
	"jiaofu/store"
)

// Issue 15: a programme must fit the student's stage, a student holds one living allowance per
// term, and a return or rejection carries a reason the applicant reads.

type holdingsView struct {
	Holdings []store.Holding
	History  []store.AuditEntry
}

// expectMessage checks a 400's field and that its message says want.
func expectMessage(t *testing.T, e apiError, want string) {
	t.Helper()
	if !strings.Contains(e.Error.Message, want) {
		t.Errorf("message %q, want it to say %q", e.Error.Message, want)
	}
}

// TestProgrammeEligibility: a programme of another stage is refused, naming the student's grade
// and stage; a second living allowance for the same term is refused, on the single and the bulk
// route alike (also two in one bulk request); a rejected or withdrawn application does not
// block; programmes without a group stack; the application page and the omission report show
// what the student already holds for the term.
func TestProgrammeEligibility(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	admin, staff, head := anon.as("admin"), anon.as("staff01"), anon.as("head01")
	wang, zhang, li := staff.studentOf("王二小"), staff.studentOf("张小三"), staff.studentOf("李梅")
	const note = "父亲残疾，低保户，附村委会证明"
	body := func(st store.Student, programme string) map[string]string {
		return map[string]string{"student_id": st.ID, "programme": programme, "term": term, "evidence_note": note}
	}

	// Stage: 王二小 is in grade 3 of a primary school.
	e := staff.expectError("POST", "/api/v1/subsidy-applications", body(wang, "living-junior"), 400, "programme")
	expectMessage(t, e, "王二小 is in grade 3 (primary); this programme is for junior secondary")
	e = staff.expectError("POST", "/api/v1/subsidy-applications", body(wang, "hs-grant"), 400, "programme")
	expectMessage(t, e, "this programme is for senior secondary")
	staff.expectError("POST", "/api/v1/subsidy-applications", body(wang, "preschool"), 400, "programme")

	// A second primary living allowance, in the living group as every living-* programme is.
	var prog store.Programme
	if code := admin.do("POST", "/api/v1/admin/subsidy-programmes", map[string]any{"code": "living-boarding-extra", "name": "寄宿生生活补助（县级加发）",
		"amount_fen": 200_00, "stage": "primary", "exclusive_group": "living"}, &prog); code != 201 || prog.ExclusiveGroup != "living" {
		t.Fatalf("create programme: %d %+v", code, prog)
	}
	admin.expectError("POST", "/api/v1/admin/subsidy-programmes", map[string]any{"code": "x1", "name": "x", "amount_fen": 1,
		"stage": "primary", "exclusive_group": "生活"}, 400, "exclusive_group")

	living := apply(t, staff, wang.ID, "living-primary", note)
	e = staff.expectError("POST", "/api/v1/subsidy-applications", body(wang, "living-boarding-extra"), 400, "programme")
	expectMessage(t, e, "王二小 already holds 义务教育家庭经济困难寄宿生生活补助（小学） for 2026-2027-1; one living allowance per term")
	nutrition := apply(t, staff, wang.ID, "nutrition", note) // no group: it stacks

	// The reviewer sees what else the student holds for the term.
	var v holdingsView
	staff.do("GET", "/api/v1/subsidy-applications/"+nutrition.ID, nil, &v)
	if len(v.Holdings) != 1 || v.Holdings[0].ApplicationID != living.ID || v.Holdings[0].ProgrammeName != "义务教育家庭经济困难寄宿生生活补助（小学）" {
		t.Errorf("holdings of %s = %+v, want the living allowance", nutrition.ID, v.Holdings)
	}

	// A rejected application holds nothing.
	tk := head.waitTask("subsidy_review", living.ID)
	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "reject", "comment": "不符合寄宿条件"})
	staff.waitStatus(living.ID, casework.AppRejected)
	apply(t, staff, wang.ID, "living-boarding-extra", note)

	// Nor does a withdrawn one.
	first := apply(t, staff, zhang.ID, "living-primary", "")
	tk = head.waitTask("subsidy_review", first.ID)
	staff.ok("POST", "/api/v1/tasks/"+tk.ID+"/withdraw", map[string]string{"comment": "申请错了项目"})
	staff.waitStatus(first.ID, casework.AppRejected)
	apply(t, staff, zhang.ID, "living-boarding-extra", "")

	// Bulk: the same check per item, and two living allowances in one request are one too many.
	var res struct {
		Items []struct {
			Status int
			Error  *struct{ Code, Message, Field string }
		}
	}
	items := []map[string]string{
		{"student_id": li.ID, "programme": "living-primary", "term": term},
		{"student_id": li.ID, "programme": "living-boarding-extra", "term": term},
		{"student_id": li.ID, "programme": "living-junior", "term": term},
		{"student_id": zhang.ID, "programme": "living-primary", "term": term},
	}
	if code := staff.do("POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": items}, &res); code != 200 || len(res.Items) != 4 {
		t.Fatalf("bulk: %d %+v", code, res)
	}
	if res.Items[0].Status != 201 {
		t.Errorf("item 0 = %+v, want 201", res.Items[0])
	}
	for i, want := range []string{"", "李梅 already holds 义务教育家庭经济困难寄宿生生活补助（小学）", "李梅 is in grade 5 (primary)",
		"张小三 already holds 寄宿生生活补助（县级加发）"} {
		if want == "" {
			continue
		}
		got := res.Items[i]
		if got.Status != 400 || got.Error == nil || got.Error.Field != "programme" || !strings.Contains(got.Error.Message, want) {
			t.Errorf("item %d = %+v, want 400 programme %q", i, got, want)
		}
	}

	// The omission report: 李梅 has nothing approved yet, and the report says what is under way.
	var om struct {
		Items []struct {
			Name     string
			Holdings []store.Holding
		}
	}
	staff.do("GET", "/api/v1/reports/subsidy-omissions?term="+term, nil, &om)
	found := false
	for _, it := range om.Items {
		if it.Name == "李梅" {
			found = true
			if len(it.Holdings) != 1 || it.Holdings[0].ProgrammeCode != "living-primary" || it.Holdings[0].State == casework.AppRejected {
				t.Errorf("李梅's holdings on the omission report = %+v", it.Holdings)
			}
		}
	}
	if !found {
		t.Errorf("李梅 is not on the omission report: %+v", om.Items)
	}
}

// TestReviewReasons: a return or a rejection without a reason is refused (also through the
// return route); the applicant's resubmit task names the reason, once prefixed; a resubmission
// that changes nothing is refused; the reason is in the application's history.
func TestReviewReasons(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head := anon.as("staff01"), anon.as("head01")
	app := apply(t, staff, staff.studentOf("王二小").ID, "living-primary", "父亲残疾，低保户")
	tk := head.waitTask("subsidy_review", app.ID)

	e := head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/return", nil, 400, "comment")
	expectMessage(t, e, "a reason is required when returning or rejecting")
	head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/return", map[string]string{"comment": "  "}, 400, "comment")
	head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "return"}, 400, "comment")
	head.expectError("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "reject"}, 400, "comment")
	head.ok("POST", "/api/v1/tasks/"+tk.ID+"/return", map[string]string{"comment": "请补充村委会证明"})

	fix := staff.waitTask("subsidy_resubmit", app.ID)
	var full struct{ Title string }
	staff.do("GET", "/api/v1/tasks/"+fix.ID, nil, &full)
	if want := "退回修改：王二小 义务教育家庭经济困难寄宿生生活补助（小学） " + term + "（退回原因：请补充村委会证明）"; full.Title != want {
		t.Errorf("resubmit task title %q, want %q", full.Title, want)
	}
	e = staff.expectError("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit",
		"fields": map[string]string{"evidence_note": "父亲残疾，低保户"}}, 400, "fields.evidence_note")
	expectMessage(t, e, "nothing was changed: correct the evidence note before resubmitting")
	staff.expectError("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit"}, 400, "fields.evidence_note")
	staff.ok("POST", "/api/v1/tasks/"+fix.ID+"/complete", map[string]any{"outcome": "resubmit",
		"fields": map[string]string{"evidence_note": "父亲残疾，低保户，附村委会证明"}})
	staff.waitStatus(app.ID, casework.AppInReview)

	var v holdingsView
	staff.do("GET", "/api/v1/subsidy-applications/"+app.ID, nil, &v)
	returned := false
	for _, h := range v.History {
		returned = returned || (h.Action == "subsidy.returned" && strings.Contains(h.After, "请补充村委会证明"))
	}
	if !returned {
		t.Errorf("the history does not keep the reason of the return: %+v", v.History)
	}
}
