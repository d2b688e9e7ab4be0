package console

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"jiaofu/store"
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
	for _, c := range []struct{ field, message, want string }{
		{"term", `term: "2026-2028-1": the second year must follow the first`, "学期的两个年份应相连"},
		{"term", `term: "x" is not a term such as 2026-2027-1`, "学期格式应为 2026-2027-1"},
		{"evidence_note", "evidence_note: required: the student is not poverty-registered (建档立卡), so …", "必填：该学生不是建档立卡户"},
		{"reason", "reason: required", "必填"},
		{"last_attended_on", `last_attended_on: "01/11/2026" is not a date such as 2026-09-01`, "日期格式应为"},
		{"method", `method: must be one of home_visit, phone, other`, "请从列表中选择"},
		{"receiving_school", "receiving_school: required for a transfer", "转入学校"},
		{"notes", "notes: at most 2000 characters", "不能超过 2000 个字"},
	} {
		fe := translateField(c.field, c.message)
		if !strings.Contains(fe.Message, c.want) || fe.Detail != "" {
			t.Errorf("%s: %q → %q (%q), want %q", c.field, c.message, fe.Message, fe.Detail, c.want)
		}
		if fe.Label == c.field {
			t.Errorf("%s has no Chinese label", c.field)
		}
	}
	// No sentence fits: the label, and the English detail in small print.
	fe := translateField("student_id", "student_id: something new")
	if fe.Message != "「学生」填写有误" || fe.Detail != "something new" {
		t.Errorf("fallback = %+v", fe)
	}
}

func TestRefusalsInChinese(t *testing.T) {
	for _, c := range []struct {
		status  int
		message string
		want    string
	}{
		{409, "task subsidy-x-t1 is done, not open", "已办结"},
		{403, "separation of duties: aid01 applied for or already acted on this case and may not decide this task", "不相容职务分离"},
		{403, "head01 may not act on this task: it waits for aid_center at unit JS-ZZZX", "您无权办理该待办"},
		{409, "an application for this student, programme and term already exists: subsidy-x", "不能重复申请"},
		{503, "no worker answered in time; nothing was changed, please retry", "未做任何更改"},
		{503, "the database is not reachable right now; nothing was changed, please retry", "数据库暂时无法连接，未做任何更改"},
		{404, "task not found", "找不到"},
		{409, "something else entirely", "状态已变化"},
	} {
		ue := toUI(&apiError{Status: c.status, Code: "x", Message: c.message}, nil)
		if !strings.Contains(ue.Message, c.want) {
			t.Errorf("%d %q → %q, want %q", c.status, c.message, ue.Message, c.want)
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
	f.failed(&apiError{Status: 409, Message: `code: programme "x" already exists`})
	if f.E("code") == nil {
		t.Errorf("conflict on code not next to the field")
	}
	f = newForm("term")
	f.failed(&apiError{Status: 403, Message: "only the school's own staff may publish its list"})
	if f.Banner == nil || !strings.Contains(f.Banner.Message, "本校") {
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
