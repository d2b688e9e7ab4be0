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
