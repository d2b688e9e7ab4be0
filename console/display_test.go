package console

import (
	"testing"
	"time"

	"jiaofu/calendar"
	"jiaofu/store"
)

// A deadline at the end of 7 December is shown as that day's 24:00 (issue 15, item 18).
func TestEndOfDayShowsAs2400(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 12, 8, 0, 0, 0, 0, calendar.CST):  "2026-12-07 24:00",
		time.Date(2026, 12, 7, 18, 0, 0, 0, calendar.CST): "2026-12-07 18:00",
		time.Date(2026, 12, 8, 0, 1, 0, 0, calendar.CST):  "2026-12-08 00:01",
		time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC):     "2026-12-07 24:00",
	} {
		if got := cst(in); got != want {
			t.Errorf("cst(%v) = %q, want %q", in, got, want)
		}
	}
}

// A decided task's page names who decided it (not 待领取).
func TestDecidedByNamesWhoDecided(t *testing.T) {
	tl := []store.AuditEntry{
		{Action: "task.opened", ActorName: "系统", After: `{"task_id":"t1"}`},
		{Action: "task.completed", ActorName: "业州小学校长", After: `{"task_id":"t1","state":"done"}`},
		{Action: "task.completed", ActorName: "别人", After: `{"task_id":"t2","state":"done"}`},
	}
	if got := decidedBy(tl, "t1"); got != "业州小学校长" {
		t.Errorf("decidedBy = %q", got)
	}
	if got := decidedBy(tl, "t3"); got != "" {
		t.Errorf("decidedBy of an undecided task = %q", got)
	}
}

// Terms read as people write them (issue 15, item 12).
func TestTermLabel(t *testing.T) {
	for in, want := range map[string]string{"2026-2027-1": "2026—2027学年第一学期", "2026-2027-2": "2026—2027学年第二学期",
		"2026-2027-3": "2026-2027-3", "bogus": "bogus", "2026-2027-1x": "2026-2027-1x"} {
		if got := termLabel(in); got != want {
			t.Errorf("termLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// A step's progress counts its own signers' approvals against what its mode needs: a 票签 of
// three at 2/3 needs two; a signer added by 加签 and a signer whose task ended moot are not
// counted; a task on its own has none.
func TestStepProgress(t *testing.T) {
	member := func(id, state, outcome, addedTo string) apiStepMember {
		return apiStepMember{ID: id, State: state, Outcome: outcome, AddedTo: addedTo}
	}
	task := func(signing string, step ...apiStepMember) apiTask {
		var a apiTask
		a.ID, a.StepID, a.Signing, a.Outcomes, a.Step = "t1", "t1", signing, []string{"approve", "reject"}, step
		return a
	}
	for name, c := range map[string]struct {
		task apiTask
		want string
	}{
		"ratio, one of three approved": {task("ratio:2/3", member("t1", "done", "approve", ""), member("t2", "open", "", ""),
			member("t3", "open", "", ""), member("t4", "open", "", "t2")), "已同意 1 人，需 2 人同意（共 3 人）"},
		"ratio passed, the third moot": {task("ratio:2/3", member("t1", "done", "approve", ""), member("t2", "done", "approve", ""),
			member("t3", "cancelled", "", "")), "已同意 2 人，需 2 人同意（共 3 人，1 人未表态时本环节已有结果）"},
		"all of two":     {task("all", member("t1", "done", "approve", ""), member("t2", "open", "", "")), "已同意 1 人，需 2 人同意（共 2 人）"},
		"any of two":     {task("any", member("t1", "open", "", ""), member("t2", "open", "", "")), "已同意 0 人，需 1 人同意（共 2 人）"},
		"a task alone":   {apiTask{Outcomes: []string{"approve"}}, ""},
		"a signer added": {task("parallel", member("t1", "open", "", ""), member("t2", "open", "", "t1")), ""},
	} {
		if got := stepProgress(c.task); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

// TestSendHomePeriodWords: a clerk types a send-home plan's period in words (每周, 每两周, 每 10 天)
// and reads it back so; the API's words and specs pass through.
func TestSendHomePeriodWords(t *testing.T) {
	for typed, spec := range map[string]string{"每周": "week", "每月": "month", "每两周": "2w", "每 2 周": "2w", "每10天": "10d",
		"每 5 个工作日": "5wd", "week": "week", "2w": "2w", "3s": "3s", "每季度": "每季度"} {
		if got := periodSpec(typed); got != spec {
			t.Errorf("periodSpec(%q) = %q, want %q", typed, got, spec)
		}
	}
	for spec, words := range map[string]string{"week": "每周", "month": "每月", "1w": "每周", "2w": "每 2 周", "10d": "每 10 天", "3s": "每 3s"} {
		if got := periodWords(spec); got != words {
			t.Errorf("periodWords(%q) = %q, want %q", spec, got, words)
		}
		if spec != "3s" && periodSpec(periodWords(spec)) == "" {
			t.Errorf("%q does not read back", spec)
		}
	}
}
