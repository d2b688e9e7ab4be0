package console

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"jiaofu/store"
)

// TestAccountabilityDeskPage: an item names its case, unit, responsible person and how long it
// has waited, in Chinese and never by an internal id or code; the decision form is on the open
// items, for the supervision office only; a decided item shows its measures and an overdue
// organisational handling.
func TestAccountabilityDeskPage(t *testing.T) {
	due := time.Now().Add(-50 * time.Hour)
	past := time.Now().Add(-24 * time.Hour)
	rec := func(id, state string) apiAccountability {
		return apiAccountability{AccountabilityRecord: store.AccountabilityRecord{ID: id, Process: "dropout", CaseID: "dropout-9f3a",
			Title: "控辍保学：王二小（业州镇第一小学）", UnitCode: "JS-T01-S01", UnitName: "业州镇第一小学", ResponsibleName: "教育股干部",
			Reason: "限期返校逾期", Term: "2026-2027-1", State: state, DueAt: due, DecidedByName: "监察室干部", Note: "劝返不力", HandlingDueAt: &past},
			Measures: []string{"admonishment", "organisational_handling"}, WaitedSeconds: int64(50 * 3600), HandlingOverdue: true}
	}
	for _, supervision := range []bool{true, false} {
		v := accountabilityDeskView{Items: []apiAccountability{rec("acc-1", "open"), rec("acc-2", "decided")}, CanDecide: supervision, Groups: measureGroups()}
		var buf bytes.Buffer
		if err := mustTemplates()["accountability"].ExecuteTemplate(&buf, "content", view{Title: "监察室 · 问责台", D: v, F: newForm()}); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		forms := strings.Count(page, `class="form decide-form"`)
		if supervision && (forms != 1 || !strings.Contains(page, `action="/console/accountability/acc-1/decide"`)) || !supervision && forms != 0 {
			t.Errorf("supervision=%v: %d decision forms", supervision, forms)
		}
		for _, want := range []string{"王二小", "业州镇第一小学", "教育股干部", "2 天", "诫勉", "组织处理", "已逾期", "2026—2027学年第一学期"} {
			if !strings.Contains(page, want) {
				t.Errorf("the desk does not show %q", want)
			}
		}
		if strings.Contains(page, "JS-T01-S01") || strings.Contains(page, ">admonishment") {
			t.Errorf("a code shows on the desk: %s", page)
		}
		if supervision && strings.Count(page, `value="interview"`) != 1 { // in both statutory lists, offered once
			t.Errorf("interview offered %d times", strings.Count(page, `value="interview"`))
		}
	}
}
