package console

import (
	"strings"
	"testing"

	"jiaofu/store"
)

// TestApplyProgrammesFitTheStudent: the apply form offers the active programmes of the chosen
// student's stage; before a student is chosen, those of the stages of the user's students.
func TestApplyProgrammesFitTheStudent(t *testing.T) {
	ps := []store.Programme{
		{Code: "living-primary", Stage: "primary", Active: true}, {Code: "nutrition", Stage: "primary", Active: true},
		{Code: "living-junior", Stage: "junior", Active: true}, {Code: "preschool", Stage: "preschool", Active: true},
		{Code: "hs-grant", Stage: "senior", Active: true}, {Code: "old-primary", Stage: "primary"},
	}
	sts := []store.Student{{ID: "p3", UnitKind: store.KindSchool, Grade: 3}, {ID: "j8", UnitKind: store.KindSchool, Grade: 8}}
	codes := func(opts []option) string {
		var out []string
		for _, o := range opts[1:] {
			out = append(out, o.Value)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		students  []store.Student
		chosen    string
		want      string
		situation string
	}{
		{sts[:1], "", "living-primary nutrition", "a primary school"},
		{sts, "", "living-primary nutrition living-junior", "a nine-year school"},
		{sts, "p3", "living-primary nutrition", "a primary pupil chosen"},
		{sts, "j8", "living-junior", "a junior pupil chosen"},
		{[]store.Student{{ID: "k1", UnitKind: store.KindKindergarten, Grade: 2}}, "", "preschool", "a kindergarten"},
	} {
		if got := codes(applyProgrammes(ps, c.students, c.chosen)); got != c.want {
			t.Errorf("%s: offered %q, want %q", c.situation, got, c.want)
		}
	}
}

// TestSubsidyRefusalsInChinese: the eligibility and review refusals read as sentences, and the
// resubmission's refusal lands next to the evidence note.
func TestSubsidyRefusalsInChinese(t *testing.T) {
	for _, c := range []struct {
		ae   apiError
		want string
	}{
		{apiError{Code: "invalid", Field: "programme", Params: params{"reason": "wrong_stage", "student": "王二小", "grade": "3", "stage": "primary",
			"programme_stage": "junior"}}, "王二小 在读3年级（小学），该项目只面向初中学生"},
		{apiError{Code: "invalid", Field: "programme", Params: params{"reason": "exclusive", "student": "王二小", "holds": "义务教育家庭经济困难寄宿生生活补助（小学）",
			"term": "2026-2027-1", "group": "living"}}, "王二小 在 2026-2027-1 学期已有「义务教育家庭经济困难寄宿生生活补助（小学）」：每名学生每学期只能享受一项生活补助"},
		{apiError{Code: "invalid", Field: "comment", Params: params{"reason": "reason_required"}}, "必须写明原因"},
		{apiError{Code: "invalid", Field: "fields.evidence_note", Params: params{"reason": "unchanged"}}, "没有修改"},
	} {
		if fe := translateField(&c.ae); !strings.Contains(fe.Message, c.want) || fe.Detail != "" {
			t.Errorf("%+v → %q (%q), want %q", c.ae, fe.Message, fe.Detail, c.want)
		}
	}
	f := newForm("comment", "evidence_note")
	f.failed(&apiError{Status: 400, Code: "invalid", Field: "fields.evidence_note", Params: params{"reason": "unchanged"},
		Message: "fields.evidence_note: nothing was changed: correct the evidence note before resubmitting"})
	if f.E("evidence_note") == nil || f.Banner != nil {
		t.Errorf("the resubmission's refusal is not next to the evidence note: %+v %+v", f.Errors, f.Banner)
	}
}
