package console

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// TestSupervisionDesk: the desk opens on what is addressed to the supervision office; an entry
// names its source unit and who answers for it; the 问责 form is only on the office's own.
func TestSupervisionDesk(t *testing.T) {
	if got := deskTarget(true); got != casework.TargetSupervision {
		t.Errorf("the supervision office's desk opens on %q, want supervision", got)
	}
	if got := deskTarget(false); got != "all" {
		t.Errorf("other readers' inbox opens on %q, want all", got)
	}
	due := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	esc := func(id, target string) store.Escalation {
		return store.Escalation{ID: id, Process: "subsidy", CaseID: "app-1", Target: target, UnitName: "监察室", State: casework.EscalationOpen,
			SourceUnit: "JS-T01-S01", SourceUnitName: "业州镇第一小学", ResponsibleName: "教育股干部", Reason: "逾期未审核", DueAt: due, RecordedAt: due}
	}
	v := escalationsView{Items: []store.Escalation{esc("e-sup", casework.TargetSupervision), esc("e-rem", casework.TargetRemind),
		esc("e-up", casework.TargetSuperior)}, CanClose: true, State: "open", Target: casework.TargetSupervision}
	var buf bytes.Buffer
	if err := mustTemplates()["escalations"].ExecuteTemplate(&buf, "content", view{Title: "监察室 · 督办事项", D: v, F: newForm()}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, `class="form inline-form close-form"`); n != 1 || !strings.Contains(page, `action="/console/escalations/e-sup/close"`) {
		t.Errorf("want the 问责 form on the supervision escalation only; %d forms in %s", n, page)
	}
	if !strings.Contains(page, "业州镇第一小学") || strings.Contains(page, "JS-T01-S01") {
		t.Errorf("the source unit should show by its name, not its code: %s", page)
	}
	if !strings.Contains(page, "教育股干部") {
		t.Errorf("the responsible person is not shown: %s", page)
	}
}
