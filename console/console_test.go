package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

// The browser tests are in e2e/console_test.go; these check the parts that need no service.

func TestTemplatesParse(t *testing.T) {
	pages := mustTemplates()
	for _, name := range []string{"login", "error", "inbox", "task", "subsidy_apply", "subsidy_application", "subsidy_batch",
		"subsidy_batch_new", "subsidy_batches", "subsidy_ledger", "subsidy_omissions", "subsidy_applications", "dropout_ledger",
		"dropout_new", "dropout_case", "escalations", "admin_units", "admin_users", "admin_students", "admin_programmes",
		"public_lists", "public_list"} {
		if pages[name] == nil {
			t.Errorf("no page %s", name)
		}
	}
}

func TestFieldErrorsInChinese(t *testing.T) {
	for _, c := range []struct {
		err  apiError
		want string
	}{
		// Refusals, worded by code and reason, whatever the message says.
		{apiError{Status: 400, Code: "invalid", Field: "reason", Message: "…", Params: params{"reason": "required"}}, "必填"},
		{apiError{Status: 400, Code: "invalid", Field: "method", Message: "…", Params: params{"reason": "one_of"}}, "请从列表中选择"},
		{apiError{Status: 400, Code: "invalid", Field: "receiving_school", Message: "…", Params: params{"reason": "required_for_transfer"}}, "转入学校"},
		{apiError{Status: 400, Code: "invalid", Field: "notes", Message: "…", Params: params{"reason": "max_chars", "max": "2000"}}, "不能超过 2000 个字"},
		{apiError{Status: 400, Code: "invalid", Field: "date", Message: "…", Params: params{"reason": "before_return", "returned_on": "2026-03-02"}}, "2026-03-02"},
		{apiError{Status: 400, Code: "outcome_not_allowed", Field: "outcome", Message: "…"}, "不能选择此办理结果"},
		{apiError{Status: 403, Code: "separation_of_duties", Field: "to_user", Message: "…"}, "该用户不能办理本案"},
	} {
		fe := translateField(&c.err)
		if !strings.Contains(fe.Message, c.want) || fe.Detail != "" {
			t.Errorf("%+v → %q (%q), want %q", c.err, fe.Message, fe.Detail, c.want)
		}
		if fe.Label == c.err.Field {
			t.Errorf("%s has no Chinese label", c.err.Field)
		}
	}
	// No sentence fits: the label, and the English detail in small print.
	fe := translateField(&apiError{Status: 400, Code: "invalid", Field: "student_id", Message: "student_id: something new"})
	if fe.Message != "「学生」填写有误" || fe.Detail != "something new" {
		t.Errorf("fallback = %+v", fe)
	}
}

// TestEveryRefusalCodeInChinese: each refusal code a workflow or the API answers with has its own
// Chinese sentence, chosen by the code alone (the message here says nothing).
func TestEveryRefusalCodeInChinese(t *testing.T) {
	want := map[string]string{
		workflows.CodeNotCandidate:       "您无权办理该事项",
		workflows.CodeSeparationOfDuties: "不相容职务分离",
		workflows.CodeTaskNotOpen:        "已办结或已撤销",
		workflows.CodeOutcomeNotAllowed:  "不能选择此办理结果",
		workflows.CodeWrongState:         "状态不允许",
		workflows.CodePublicityEnded:     "公示期已结束",
		workflows.CodeDuplicate:          "不能重复",
		workflows.CodeNotInScope:         "管辖的单位范围",
		workflows.CodeForbidden:          "您无权办理此事项",
		workflows.CodeRateLimited:        "操作过于频繁",
		workflows.CodeInsufficientFunds:  "可用余额不足",
		workflows.CodeSignerActed:        "已经签署",
	}
	for code := range workflows.RefusalCodes {
		if code == workflows.CodeInvalid {
			continue // worded per reason or field, below
		}
		w, ok := want[code]
		if !ok {
			t.Errorf("code %s: no sentence expected by this test", code)
			continue
		}
		ue := toUI(&apiError{Status: 409, Code: code, Message: "no words to go by"}, nil)
		if !strings.Contains(ue.Message, w) || ue.Detail != "" {
			t.Errorf("code %s → %q (%q), want %q", code, ue.Message, ue.Detail, w)
		}
	}
	for _, c := range []struct {
		err  apiError
		want string
	}{
		{apiError{Status: 429, Code: "rate_limited", Params: params{"at": "14:10", "after": "15:10"}}, "请在 15:10 之后再催办"},
		{apiError{Status: 409, Code: "wrong_state", Params: params{"reason": "closing"}}, "等待校领导审批"},
		{apiError{Status: 409, Code: "wrong_state", Params: params{"reason": "consolidating"}}, "巩固期"},
		{apiError{Status: 409, Code: "wrong_state", Params: params{"reason": "continuing"}}, "几秒钟后重试"},
		{apiError{Status: 409, Code: "wrong_state", Params: params{"reason": "publicity_ended"}}, "公示期已结束"},
		{apiError{Status: 409, Code: "publicity_ended", Params: params{"ended_at": "2026-12-07T16:00:00Z"}}, "公示期已于 2026-12-07 24:00 结束"},
		{apiError{Status: 409, Code: "task_not_open", Params: params{"reason": "case_closed"}}, "本案已结案"},
		{apiError{Status: 409, Code: "duplicate", Params: params{"reason": "application"}}, "不能重复申请"},
		{apiError{Status: 409, Code: "duplicate", Params: params{"reason": "claimed"}}, "您已领取该待办"},
		{apiError{Status: 400, Code: "invalid", Params: params{"reason": "unstorable"}}, "内容无法保存"},
		// A refusal by workflow code from before the codes: worded by its status.
		{apiError{Status: 409, Code: "conflict", Message: "task x is not open"}, "状态已变化"},
	} {
		if ue := toUI(&c.err, nil); !strings.Contains(ue.Message, c.want) {
			t.Errorf("%+v → %q, want %q", c.err, ue.Message, c.want)
		}
	}
}

func TestNonRefusalsInChinese(t *testing.T) {
	for _, c := range []struct {
		status       int
		code, reason string
		want         string
	}{
		{503, "unavailable", "worker", "后台没有及时响应，未做任何更改"},
		{503, "unavailable", "workflow_service", "后台没有及时响应，未做任何更改"},
		{503, "unavailable", "database", "数据库暂时无法连接，未做任何更改"},
		{503, "unavailable", "", "系统繁忙，未做任何更改"},
		{404, "not_found", "publicity_list", "该公示已结束或不存在"},
		{404, "not_found", "page", "页面不存在"},
		{404, "not_found", "", "找不到"},
		{409, "x", "", "状态已变化"},
	} {
		ue := toUI(&apiError{Status: c.status, Code: c.code, Message: "no words to go by", Params: params{"reason": c.reason}}, nil)
		if !strings.Contains(ue.Message, c.want) {
			t.Errorf("%d %s/%s → %q, want %q", c.status, c.code, c.reason, ue.Message, c.want)
		}
	}
	if ue := toUI(errors.New("boom"), nil); ue.Status != 500 || strings.Contains(ue.Message, "boom") {
		t.Errorf("internal error shown as %+v", ue)
	}
	// An in-process call's error (Authenticate, ActorFromToken …) is translated as the API would.
	if ue := toUI(fmt.Errorf("store: begin: %w", store.ErrUnavailable), nil); ue.Status != 503 || !strings.Contains(ue.Message, "数据库暂时无法连接") {
		t.Errorf("unreachable database shown as %+v", ue)
	}
}

func TestFormKeepsValuesAndPlacesErrors(t *testing.T) {
	f := newForm("amount", "code")
	f.Values["amount"] = "12x"
	if st := f.failed(&apiError{Status: 400, Field: "amount_fen", Message: "amount_fen: must be a positive whole number of fen up to 10,000,000 (¥100,000.00)"}); st != 400 {
		t.Errorf("status %d", st)
	}
	if f.E("amount") == nil || f.V("amount") != "12x" || f.Banner != nil {
		t.Errorf("amount_fen error not next to the amount field: %+v %+v", f.Errors, f.Banner)
	}
	f = newForm("code")
	f.failed(&apiError{Status: 409, Code: "duplicate", Field: "code", Message: `code: programme "x" already exists`})
	if f.E("code") == nil {
		t.Errorf("conflict on code not next to the field")
	}
	f = newForm("term")
	f.failed(&apiError{Status: 403, Code: "not_in_scope", Message: "only the school's own staff may publish its list"})
	if f.Banner == nil || !strings.Contains(f.Banner.Message, "管辖") {
		t.Errorf("403 banner = %+v", f.Banner)
	}
}

func TestHelpers(t *testing.T) {
	for in, want := range map[string]int64{"500": 50000, "500.5": 50050, "¥1,200.05": 120005, "0.01": 1} {
		if got, ok := fenOf(in); !ok || got != want {
			t.Errorf("fenOf(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "abc", "1.234", "-5"} {
		if _, ok := fenOf(bad); ok {
			t.Errorf("fenOf(%q) accepted", bad)
		}
	}
	if yuan(50000) != "¥500.00" {
		t.Errorf("yuan = %s", yuan(50000))
	}
	if got := cst(time.Date(2026, 11, 29, 16, 4, 0, 0, time.UTC)); got != "2026-11-30 00:04" {
		t.Errorf("cst = %s", got)
	}
	for in, want := range map[string]string{"/console/tasks/x": "/console/tasks/x", "//evil.example/": "/console/",
		"https://evil.example/console/": "/console/", "/console/login": "/console/", "/gongshi/": "/console/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCurrentTerm(t *testing.T) {
	if !termLike(currentTerm()) {
		t.Errorf("current term %q", currentTerm())
	}
}

func termLike(s string) bool {
	return len(s) == 11 && s[4] == '-' && s[9] == '-' && (s[10] == '1' || s[10] == '2')
}

// TestFormsShowEveryFieldError: the console runs the API's own checks of a form's fields before
// sending it, so a form with several bad fields shows each one's error next to it, in Chinese,
// where the API alone would name only its first.
func TestFormsShowEveryFieldError(t *testing.T) {
	srv := &api.Server{}
	for _, c := range []struct {
		name   string
		fields []string
		errs   []*api.Error
		want   map[string]string
	}{
		{"apply", applyFields, srv.ApplicationErrors(context.Background(), api.ApplicationRequest{StudentID: "s1", Term: "2026-27-1"}, false),
			map[string]string{"programme": "必填", "term": "学期格式应为", "evidence_note": "必填：该学生不是建档立卡户"}},
		{"dropout case", dropoutFields, api.DropoutErrors(api.DropoutRequest{LastAttendedOn: "2026/09/01"}),
			map[string]string{"student_id": "必填", "reason": "必填", "last_attended_on": "日期格式应为"}},
		{"attempt", attemptFields, api.AttemptErrors(api.AttemptRequest{Method: "letter"}),
			map[string]string{"method": "请从列表中选择", "notes": "必填"}},
		{"student", studentFields, api.StudentErrors(api.StudentRequest{BirthDate: "2015-13-01", IDCardNo: "123"}),
			map[string]string{"name": "必填", "sex": "请从列表中选择", "birth_date": "日期格式应为", "id_card_no": "身份证号应为 18 位",
				"student_no": "学籍号应为", "unit_code": "必填", "grade": "年级应为 1–12", "class": "必填"}},
		{"public objection", objectionFields, api.ObjectionErrors(api.ObjectionRequest{EntryID: "e1", Contact: strings.Repeat("电", 101)}),
			map[string]string{"reason": "必填", "contact": "不能超过 100 个字"}},
	} {
		f := newForm(c.fields...)
		if !f.checked(c.errs) {
			t.Errorf("%s: no check failed", c.name)
		}
		for field, want := range c.want {
			if fe := f.E(field); fe == nil || !strings.Contains(fe.Message, want) || fe.Detail != "" {
				t.Errorf("%s: %s = %+v, want %q", c.name, field, fe, want)
			}
		}
		if len(f.Errors) != len(c.want) || f.Banner != nil {
			t.Errorf("%s: errors %v, banner %+v; want only %v", c.name, f.Errors, f.Banner, c.want)
		}
	}
	// A form the console's checks pass goes to the API.
	if errs := srv.ApplicationErrors(context.Background(), api.ApplicationRequest{StudentID: "s1", Programme: "p", Term: currentTerm()}, true); len(errs) > 0 {
		t.Errorf("a good application fails the console's checks: %v", errs)
	}
}

// TestActionsOfferedByTheAPIsRules: a page offers applying, publishing and opening a case only to
// a user whom the API's own predicate lets do it somewhere; a county-wide reviewer or the admin
// is not offered what the API would refuse.
func TestActionsOfferedByTheAPIsRules(t *testing.T) {
	at := func(role, path string) access.Actor {
		return access.Actor{Roles: []access.Role{{Role: role, UnitPath: path}}}
	}
	staff, township := at("school_staff", "/JS/JS-T01/JS-T01-S01/"), at("township_staff", "/JS/JS-T01/")
	aid, admin := at("aid_center", "/JS/JS-ZZZX/"), at("admin", "/JS/")
	for _, c := range []struct {
		who    string
		a      access.Actor
		action string
		may    func(access.Actor, string) bool
		want   bool
	}{
		{"school staff", staff, "apply", api.MayApply, true},
		{"school staff", staff, "publish", api.MayPublish, true},
		{"school staff", staff, "open a case", api.MayOpenDropoutCase, true},
		{"township staff", township, "apply", api.MayApply, false},
		{"township staff", township, "open a case", api.MayOpenDropoutCase, true},
		{"the aid centre", aid, "apply", api.MayApply, false},
		{"the admin", admin, "apply", api.MayApply, false},
		{"the admin", admin, "publish", api.MayPublish, false},
		{"the admin", admin, "open a case", api.MayOpenDropoutCase, false},
	} {
		if got := somewhere(c.a, c.may); got != c.want {
			t.Errorf("%s offered to %s: %v, want %v", c.action, c.who, got, c.want)
		}
	}
}

// TestRejectEndsOnlyWhereItEnds: 不同意 asks for the confirmation tick only where it ends the case
// (a subsidy's school review, a hardship grant's approval); a rejected rectification or plan
// declaration goes back to be done again, and a tick saying the application ends would mislead.
func TestRejectEndsOnlyWhereItEnds(t *testing.T) {
	for _, c := range []struct {
		process, kind string
		ends          bool
	}{
		{casework.ProcessSubsidy, casework.KindSubsidyReview, true},
		{casework.ProcessHardship, casework.KindHardshipApproval, true},
		{casework.ProcessInspection, casework.KindRectificationReview, false},
		{casework.ProcessPlan, casework.KindPlanTaskReview, false},
	} {
		task := apiTask{Task: casework.Task{Process: c.process, Kind: c.kind}}
		if got := rejectEnds(task); got != c.ends {
			t.Errorf("%s %s: reject ends the case = %v, want %v", c.process, c.kind, got, c.ends)
		}
	}
}
