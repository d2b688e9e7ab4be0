package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"jiaofu/api"
	"jiaofu/casework"
)

// matrixUser is the demo user who holds each role (demo/seed.go, one user per role); section_staff
// has none without the seeded work plan, so the test makes one. A role added to casework.Roles
// without a user here fails the test, so the matrix always covers every role.
var matrixUser = map[string]string{
	casework.RoleSchoolStaff:      "staff01",
	casework.RoleTeacher:          "teacher01",
	casework.RoleSchoolLeader:     "head01",
	casework.RoleTownshipStaff:    "township01",
	casework.RoleAidCenter:        "aid01",
	casework.RoleEducationSection: "edu01",
	casework.RolePAOffice:         "pa01",
	casework.RoleInspector:        "inspector01",
	casework.RoleSupervision:      "jcs01",
	casework.RoleBureauLeader:     "leader01",
	casework.RoleFundsCenter:      "funds01",
	casework.RoleAdmin:            "admin",
	casework.RoleSectionStaff:     "section01",
}

// probePath is a route's path with its parameters filled: ids that name no record (an admitted
// caller gets 404, or 400 for a malformed one — past the gate either way), and the few parameters
// whose value chooses a handler's branch given one that exists.
func probePath(path string) string {
	path = strings.Replace(path, "/org-units/:code", "/org-units/JS-T01-S01", 1)
	path = strings.Replace(path, "/templates/:kind.xlsx", "/templates/students.xlsx", 1)
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			_, ext, _ := strings.Cut(name, ".")
			parts[i] = "authz-probe"
			if ext != "" {
				parts[i] += "." + ext
			}
		}
	}
	return strings.Join(parts, "/")
}

// probe sends a request as c and returns the status and the answer (which may be a spreadsheet,
// not JSON); failures are t's, the subtest's.
func probe(t *testing.T, c *client, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// short is the start of an answer, for a failure's message.
func short(body string) string {
	if r := []rune(body); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return body
}

// bound is c reporting its failures to t (a subtest's), not to the test that logged it in.
func bound(t testing.TB, c *client) *client { return &client{t: t, base: c.base, token: c.token} }

// TestAuthzMatrix checks every route of the route table (api.Server.Routes) against its rule
// (api.Rule, the route's Auth): for a caller without a login, 401 on every route that is not
// public; for each role's demo user, exactly 403 where the rule does not admit the role and
// neither 401 nor 403 where it does (a 400 for the minimal body, or a 404 for the probe id, is a
// caller who got past authorization). Then the rules finer than a role, record by record, on real
// cases: another school's students, another unit's task, signing off one's own application, copies
// (抄送) and delegation (委派) that must not widen access, and who reads an objector's contact (the
// batch, its timeline, the review task and the publicity ledger alike).
func TestAuthzMatrix(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	createUser(t, anon, "section01", "教育股工作人员", casework.RoleSectionStaff, "JS-JYG")
	clients := map[string]*client{}
	for _, role := range casework.Roles {
		u, ok := matrixUser[role]
		if !ok {
			t.Fatalf("role %s has no user in matrixUser: add one, so that the matrix checks it", role)
		}
		clients[role] = anon.as(u)
	}

	t.Run("routes", func(t *testing.T) {
		for _, r := range svc.API.Routes() {
			rule, err := api.ParseRule(r.Auth)
			if err != nil {
				t.Errorf("%s %s: no rule: %v", r.Method, r.Path, err)
				continue
			}
			path := probePath(r.Path)
			var body any
			if r.Body != nil || r.Method != http.MethodGet {
				body = map[string]any{}
			}
			// Ending a session would end the matrix's: logout gets a session of its own.
			callAs := func(role string) *client {
				if r.Path == "/api/v1/auth/logout" {
					return anon.as(matrixUser[role])
				}
				return clients[role]
			}
			code, text := probe(t, anon, r.Method, path, body)
			switch {
			case rule.Public && (code == 401 || code == 403):
				t.Errorf("%s %s (public) without a login: %d %s", r.Method, path, code, short(text))
			case !rule.Public && code != 401:
				t.Errorf("%s %s without a login: %d, want 401 (%s)", r.Method, path, code, short(text))
			}
			for _, role := range casework.Roles {
				code, text := probe(t, callAs(role), r.Method, path, body)
				admitted := rule.Public || rule.Admits(role)
				if admitted && (code == 401 || code == 403) {
					t.Errorf("%s %s as %s (admitted by %q): %d %s", r.Method, path, role, r.Auth, code, short(text))
				}
				if !admitted && code != 403 {
					t.Errorf("%s %s as %s (not admitted by %q): %d, want 403 (%s)", r.Method, path, role, r.Auth, code, short(text))
				}
			}
		}
	})

	staff, head, teacher := clients[casework.RoleSchoolStaff], clients[casework.RoleSchoolLeader], clients[casework.RoleTeacher]
	// Holders of the same roles at another school (高坪镇中心小学) and another township.
	staffB := createUser(t, anon, "staff21", "高坪小学资助专干", casework.RoleSchoolStaff, "JS-T02-S01")
	headB := createUser(t, anon, "head21b", "高坪小学校长", casework.RoleSchoolLeader, "JS-T02-S01")
	townshipB := createUser(t, anon, "township21", "高坪镇中心学校专干", casework.RoleTownshipStaff, "JS-T02")
	zhang := staff.studentOf("张小三")

	t.Run("another school's students", func(t *testing.T) {
		staff, staffB, headB, townshipB := bound(t, staff), bound(t, staffB), bound(t, headB), bound(t, townshipB)
		for _, c := range []*client{staffB, headB, townshipB} {
			c.expectError("GET", "/api/v1/admin/students/"+zhang.ID, nil, 404, "")
			var list struct{ Items []struct{ ID string } }
			c.do("GET", "/api/v1/admin/students", nil, &list)
			if slices.ContainsFunc(list.Items, func(s struct{ ID string }) bool { return s.ID == zhang.ID }) {
				t.Errorf("another school's user lists 张小三")
			}
		}
		staffB.expectCode("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": term}, 403, "not_in_scope", "")
		staffB.expectCode("POST", "/api/v1/hardship/grants", map[string]any{"student_id": zhang.ID, "amount_fen": 100000, "reason": "家中变故", "hardship_kind": "other"}, 403, "not_in_scope", "")
		// The student's own school reads the record.
		if code := staff.do("GET", "/api/v1/admin/students/"+zhang.ID, nil, nil); code != 200 {
			t.Errorf("the student's school reads the record: %d", code)
		}
	})

	// One application of 张小三 waiting for its school's review (head01's task).
	app := apply(t, staff, zhang.ID, "living-primary", "")
	review := head.waitTask("subsidy_review", app.ID)

	t.Run("another unit's task", func(t *testing.T) {
		teacher, staffB, headB, townshipB := bound(t, teacher), bound(t, staffB), bound(t, headB), bound(t, townshipB)
		for _, c := range []*client{headB, townshipB, staffB} {
			c.expectError("GET", "/api/v1/tasks/"+review.ID, nil, 404, "")
			c.expectError("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}, 404, "")
			c.expectError("POST", "/api/v1/tasks/"+review.ID+"/claim", nil, 404, "")
			c.expectError("GET", "/api/v1/subsidy-applications/"+app.ID, nil, 404, "")
		}
		// The right unit, the wrong role: the teacher sees the school's task but may not decide it.
		teacher.expectCode("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "not_candidate", "")
	})

	var other application // an application of the school nobody copied
	t.Run("copies and delegation do not widen access", func(t *testing.T) {
		staff, head, teacher, staffB := bound(t, staff), bound(t, head), bound(t, teacher), bound(t, staffB)
		var whole struct {
			IDCardNo string `json:"id_card_no"`
		}
		staff.do("GET", "/api/v1/admin/students/"+zhang.ID, nil, &whole)
		if len(whole.IDCardNo) != 18 {
			t.Fatalf("the school reads 张小三's ID-card number whole: %q", whole.IDCardNo)
		}
		var deputy struct {
			UserID string `json:"user_id"`
		}
		bound(t, anon).as("head01b").do("GET", "/api/v1/me", nil, &deputy)
		var ids struct {
			UserID string `json:"user_id"`
		}
		staffB.do("GET", "/api/v1/me", nil, &ids)
		if code, body := head.raw("POST", "/api/v1/tasks/"+review.ID+"/cc", map[string]any{"user_ids": []string{ids.UserID}}); code != 200 {
			t.Fatalf("cc: %d %s", code, body)
		}
		// The copy reads that case, read-only, and nothing more of the student or the school.
		code, body := staffB.raw("GET", "/api/v1/subsidy-applications/"+app.ID, nil)
		if code != 200 {
			t.Fatalf("the copied case: %d %s", code, body)
		}
		if strings.Contains(body, whole.IDCardNo) {
			t.Errorf("a copy to another school shows the student's ID-card number whole: %s", body)
		}
		staffB.expectError("GET", "/api/v1/admin/students/"+zhang.ID, nil, 404, "")
		staffB.expectError("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}, 404, "")
		// A copy acts on nothing: it copies no further, and claims nothing.
		staffB.expectError("POST", "/api/v1/tasks/"+review.ID+"/cc", map[string]any{"user_ids": []string{deputy.UserID}}, 404, "")
		staffB.expectError("POST", "/api/v1/tasks/"+review.ID+"/claim", nil, 404, "")
		other = apply(t, staff, staff.studentOf("李梅").ID, "living-primary", "")
		staffB.expectError("GET", "/api/v1/subsidy-applications/"+other.ID, nil, 404, "")

		// Delegation (委派): the delegate resolves and gives the task back; deciding stays the owner's.
		var tid struct {
			UserID string `json:"user_id"`
		}
		teacher.do("GET", "/api/v1/me", nil, &tid)
		if code, body := head.raw("POST", "/api/v1/tasks/"+review.ID+"/delegate", map[string]string{"to_user_id": tid.UserID, "comment": "请核实家庭情况"}); code != 200 {
			t.Fatalf("delegate: %d %s", code, body)
		}
		// A transfer names its colleague by username (the console's form), a copy by user id.
		// The delegate may copy the case onward (docs/casework.md: "by whoever acts on the task"),
		// but not decide, pass on or release the task.
		teacher.expectCode("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "not_candidate", "")
		teacher.expectError("POST", "/api/v1/tasks/"+review.ID+"/transfer", map[string]string{"to_user": "head01b"}, 403, "")
		if code, body := teacher.raw("POST", "/api/v1/tasks/"+review.ID+"/resolve", map[string]string{"comment": "已核实"}); code != 200 {
			t.Fatalf("the delegate resolves: %d %s", code, body)
		}
		teacher.expectCode("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}, 403, "not_candidate", "")
		if code, body := head.raw("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "approve"}); code != 200 {
			t.Fatalf("the owner decides after the delegate resolved: %d %s", code, body)
		}
	})

	var batch struct{ ID string }
	t.Run("signing off one's own application", func(t *testing.T) {
		anon, staff, head := bound(t, anon), bound(t, staff), bound(t, head)
		// A clerk who also approves for the aid center applies; the sign-off of the batch with
		// their application is not theirs to take.
		dual := createUser(t, anon, "dual21", "兼任资助专干与审核员", casework.RoleSchoolStaff, "JS-T01-S01",
			map[string]string{"role": casework.RoleAidCenter, "unit_code": "JS-ZZZX"})
		own := apply(t, dual, staff.studentOf("向金花").ID, "living-primary", "")
		tk := head.waitTask("subsidy_review", own.ID)
		if code := head.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
			t.Fatalf("approve: %d", code)
		}
		staff.waitStatus(own.ID, casework.AppReviewed)
		staff.waitStatus(app.ID, casework.AppReviewed)
		if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 {
			t.Fatalf("open batch: %d", code)
		}
		var pub api.PublicList
		eventually(t, 10*time.Second, func() bool {
			return anon.do("GET", "/public/publicity-batches/"+batch.ID, nil, &pub) == 200 && len(pub.Entries) > 0
		}, "the public list")

		// Who reads an objector's contact: the aid center, which reviews objections, and the
		// supervision office; never the school objected to, nor the township.
		const phone = "13912345678"
		if code, body := anon.raw("POST", "/public/publicity-batches/"+batch.ID+"/objections",
			map[string]string{"entry_id": pub.Entries[0].EntryID, "reason": "其家庭有商铺两间", "contact": phone}); code != 201 {
			t.Fatalf("objection: %d %s", code, body)
		}
		aid := bound(t, clients[casework.RoleAidCenter])
		var reviews struct{ Items []task }
		eventually(t, 20*time.Second, func() bool {
			aid.do("GET", "/api/v1/tasks?kind=objection_review", nil, &reviews)
			return len(reviews.Items) == 1
		}, "the objection's review")
		for role, c := range clients {
			c := bound(t, c)
			code, body := c.raw("GET", "/api/v1/publicity-batches/"+batch.ID, nil)
			_, tl := c.raw("GET", "/api/v1/cases/"+batch.ID+"/timeline", nil)
			_, rv := c.raw("GET", "/api/v1/tasks/"+reviews.Items[0].ID, nil)
			_, rt := c.raw("GET", "/api/v1/cases/"+reviews.Items[0].CaseID+"/timeline", nil)
			_, lg := c.raw("GET", "/api/v1/ledgers/publicity-batches", nil)
			reads := role == casework.RoleAidCenter || role == casework.RoleSupervision
			shown := strings.Contains(body, phone) || strings.Contains(tl, phone) || strings.Contains(rv, phone) || strings.Contains(rt, phone) || strings.Contains(lg, phone)
			if code == 200 && reads && !strings.Contains(body, phone) {
				t.Errorf("%s does not read the objector's contact: %s", role, body)
			}
			if !reads && shown {
				t.Errorf("%s reads the objector's contact", role)
			}
		}
		if code := aid.do("POST", "/api/v1/tasks/"+reviews.Items[0].ID+"/complete", map[string]string{"outcome": "dismiss", "comment": "经核实不属实"}, nil); code != 200 {
			t.Fatalf("dismiss: %d", code)
		}

		st := dual.waitTask("publicity_signoff", batch.ID)
		dual.expectCode("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "一卡通"}}, 403, "separation_of_duties", "")
		if code, body := aid.raw("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "一卡通"}}); code != 200 {
			t.Fatalf("another approver signs off: %d %s", code, body)
		}
	})

	t.Run("out of scope, record by record", func(t *testing.T) {
		staff, head, township := bound(t, staff), bound(t, head), bound(t, clients[casework.RoleTownshipStaff])
		staffB, headB, townshipB := bound(t, staffB), bound(t, headB), bound(t, townshipB)
		// One record of each of the school's processes (业州镇第一小学, JS-T01-S01).
		var dc, pairing, round, fd struct{ ID string }
		if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": staff.studentOf("王二小").ID, "reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
			t.Fatalf("open a dropout case: %d", code)
		}
		var me struct {
			UserID string `json:"user_id"`
		}
		teacher.do("GET", "/api/v1/me", nil, &me)
		if code := staff.do("POST", "/api/v1/pairings", map[string]string{"teacher_id": me.UserID, "student_id": staff.studentOf("李梅").ID}, &pairing); code != 201 {
			t.Fatalf("pair: %d", code)
		}
		if code := staff.do("POST", "/api/v1/send-home-plans", map[string]any{"student_id": staff.studentOf("向金花").ID, "disability_type": "智力残疾",
			"teacher_ids": []string{me.UserID}}, nil); code != 201 && code != 202 {
			t.Fatalf("start a send-home plan: %d", code)
		}
		var plans struct{ Items []sendHomeView }
		eventually(t, 20*time.Second, func() bool { staff.do("GET", "/api/v1/send-home-plans", nil, &plans); return len(plans.Items) == 1 }, "the send-home plan")
		inspector := bound(t, clients[casework.RoleInspector])
		if code := inspector.do("POST", "/api/v1/inspection-rounds", map[string]any{"term": term, "kind": "routine", "units": []string{"JS-T01-S01"},
			"planned_on": "2026-10-10"}, &round); code != 201 {
			t.Fatalf("plan a round: %d", code)
		}
		if code := inspector.do("POST", "/api/v1/inspection-rounds/"+round.ID+"/findings", map[string]any{"unit_code": "JS-T01-S01", "area": "dropout",
			"description": "控辍保学台账未按月更新", "severity": "minor"}, &fd); code != 201 {
			t.Fatalf("record a finding: %d", code)
		}
		grant := applyGrant(t, staff, staff.studentOf("张小三").ID, 1000_00)
		verify := head.waitTask(casework.KindHardshipVerification, grant.ID)

		record := map[string]string{
			"/api/v1/admin/students/:id":       zhang.ID,
			"/api/v1/subsidy-applications/:id": other.ID,
			"/api/v1/publicity-batches/:id":    batch.ID,
			"/api/v1/dropout-cases/:id":        dc.ID,
			"/api/v1/pairings/:id":             pairing.ID,
			"/api/v1/send-home-plans/:id":      plans.Items[0].ID,
			"/api/v1/findings/:id":             fd.ID,
			"/api/v1/hardship/grants/:id":      grant.ID,
			"/api/v1/tasks/:id":                verify.ID,
			"/api/v1/cases/:id/timeline":       other.ID,
		}
		// Records that belong to no school: a bureau section's plan task, and a round, which its
		// inspectorate holds and each of its units reads.
		// An accountability record waits for an escalation to the supervision office, which takes
		// a deadline to pass: it has no probe here (the rule above still checks its roles).
		notSchools := map[string]bool{"/api/v1/plan-tasks/:id": true, "/api/v1/inspection-rounds/:id": true, "/api/v1/accountability-records/:id": true}
		for _, r := range svc.API.Routes() {
			rule := r.Rule()
			if r.Method != http.MethodGet || !strings.HasSuffix(r.Path, "/:id") && !strings.HasSuffix(r.Path, "/:id/timeline") ||
				!strings.Contains(rule.Record, "caller's units") || notSchools[r.Path] {
				continue
			}
			id, ok := record[r.Path]
			if !ok {
				t.Errorf("GET %s reads a unit's record (%q) and has no probe of its scope here: add one", r.Path, r.Auth)
				continue
			}
			path := strings.Replace(r.Path, ":id", id, 1)
			for who, c := range map[string]*client{"the school's leader": head, "its township": township} {
				if code, body := c.raw("GET", path, nil); code != 200 {
					t.Errorf("GET %s as %s: %d %s", path, who, code, body)
				}
			}
			// Out of scope is not found: another school or township learns nothing, not even that
			// the record exists.
			for who, c := range map[string]*client{"another school's staff": staffB, "another school's leader": headB, "another township": townshipB} {
				if code, body := c.raw("GET", path, nil); code != 404 {
					t.Errorf("GET %s as %s: %d %s, want 404", path, who, code, body)
				}
			}
		}
		// Lists, ledgers and reports asked for the school by another school and township: nothing
		// of its students, whatever the query names.
		var pupils []string
		var list struct{ Items []struct{ Name string } }
		staff.do("GET", "/api/v1/admin/students", nil, &list)
		for _, p := range list.Items {
			pupils = append(pupils, p.Name)
		}
		if len(pupils) < 4 {
			t.Fatalf("the school's students: %v", pupils)
		}
		// The school's own leader does read them there, so the scan below can see a leak.
		if _, body := probe(t, head, "GET", "/api/v1/ledgers/students?unit=JS-T01-S01&term="+term, nil); !strings.Contains(body, "张小三") {
			t.Fatalf("the school's leader reads its students' ledger: %s", short(body))
		}
		var lists []string
		for _, r := range svc.API.Routes() {
			if r.Method == http.MethodGet && !strings.Contains(r.Path, ":") && !r.Rule().Public {
				lists = append(lists, r.Path)
			}
		}
		for _, l := range []string{"students", "subsidy-applications", "publicity-batches", "dropout-cases", "send-home-plans", "pairings", "findings",
			"accountability-records", "hardship-fund", "school-age-children", "suspected-dropouts", "dropouts", "indicators"} {
			lists = append(lists, "/api/v1/ledgers/"+l)
		}
		for _, path := range lists {
			for who, c := range map[string]*client{"another school's staff": staffB, "another school's leader": headB, "another township": townshipB} {
				if path == "/api/v1/cc" && c == staffB {
					continue // the copy of 张小三's case made to them above: that case, by design
				}
				for _, q := range []string{"", "?unit=JS-T01-S01&term=" + term, "?unit=JS-T01&term=" + term} {
					code, body := probe(t, c, "GET", path+q, nil)
					if code == 200 && slices.ContainsFunc(pupils, func(n string) bool { return strings.Contains(body, n) }) {
						t.Errorf("GET %s%s as %s names a student of 业州镇第一小学: %s", path, q, who, short(body))
					}
				}
			}
		}

		// Acting on another school's records: not found, nothing done.
		staffB.expectError("POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "phone", "notes": "电话联系家长"}, 404, "")
		staffB.expectError("POST", "/api/v1/pairings/"+pairing.ID+"/records", map[string]any{"kind": "measure", "done_on": "2026-12-01", "content": "辅导作业"}, 404, "")
		staffB.expectError("POST", "/api/v1/hardship/grants/"+grant.ID+"/withdraw", map[string]string{"comment": "x"}, 404, "")
		headB.expectError("POST", "/api/v1/findings/"+fd.ID+"/rectifications", map[string]string{"summary": "已整改", "evidence_note": "台账"}, 404, "")
		headB.expectError("POST", "/api/v1/tasks/"+verify.ID+"/complete", map[string]string{"outcome": "approve"}, 404, "")
		headB.expectError("POST", "/api/v1/send-home-plans/"+plans.Items[0].ID+"/end", map[string]string{"reason": "enrolled"}, 404, "")
	})
}
