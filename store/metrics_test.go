package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// TestCaseTablesCoverTheRegistry: every case kind of the registry with more than one state has
// its table in store.CaseTables (so a process added later shows in jiaofu_cases), and every
// entry names a case kind the registry has.
func TestCaseTablesCoverTheRegistry(t *testing.T) {
	listed := map[string]bool{}
	for _, ct := range store.CaseTables {
		listed[ct.Process+"/"+ct.Case] = true
	}
	known := map[string]bool{}
	for _, p := range casework.Processes {
		for _, ck := range p.Cases {
			key := p.Name + "/" + ck.Name
			known[key] = true
			if len(ck.States) > 1 && !listed[key] {
				t.Errorf("case kind %s has %d states but no table in store.CaseTables", key, len(ck.States))
			}
		}
	}
	for key := range listed {
		if !known[key] {
			t.Errorf("store.CaseTables lists %s, which is no case kind of casework.Processes", key)
		}
	}
}

// TestMetricCounts: the counts /metrics reads, on both dialects — tasks opened, done, overdue
// (open and past due at the time asked, not done ones past due) and escalated by process and
// kind; escalation records by target; cases by state, every listed table queried at once.
func TestMetricCounts(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			due := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
			for i, st := range []string{casework.TaskOpen, casework.TaskOpen, casework.TaskDone, casework.TaskCancelled} {
				task := openTask(f, fmt.Sprintf("wf-t%d", i))
				task.State = st
				task.DueAt = due.Add(time.Duration(i) * time.Hour) // t0 due at 16:00, t1 at 17:00
				if st == casework.TaskDone {
					at := due
					task.Outcome, task.CompletedAt, task.CompletedBy = "approve", &at, f.leader.ID
				}
				if i == 0 {
					task.EscalationLevel = 1
				}
				if err := s.UpsertTask(ctx, task); err != nil {
					t.Fatal(err)
				}
			}
			other := openTask(f, "wf-d1")
			other.Process, other.Kind = casework.ProcessDropout, casework.KindDropoutFirstContact
			if err := s.UpsertTask(ctx, other); err != nil {
				t.Fatal(err)
			}
			// At 16:30 only t0 of the open ones is past due (wf-d1 is due at 16:00 too).
			got, err := s.TaskCounts(ctx, due.Add(30*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want := []store.TaskCount{
				{Process: casework.ProcessDropout, Kind: casework.KindDropoutFirstContact, Opened: 1, Overdue: 1},
				{Process: "subsidy", Kind: "subsidy_review", Opened: 4, Completed: 1, Overdue: 1, Escalated: 1},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("task counts = %+v, want %+v", got, want)
			}
			if got, _ := s.TaskCounts(ctx, due.Add(90*time.Minute)); len(got) != 2 || got[1].Overdue != 2 {
				t.Errorf("at 17:30 both open review tasks are overdue: %+v", got)
			}

			e := store.Escalation{ID: "wf-t0-r1", Process: "subsidy", CaseID: "wf", TaskID: "wf-t0", TaskKind: "subsidy_review", Rung: 1,
				Target: casework.TargetSuperior, UnitID: f.township.ID, UnitPath: f.township.Path, SourceUnit: f.school.Code, Reason: "逾期", DueAt: due}
			if _, err := s.RecordEscalation(ctx, e, nil, store.AuditEntry{EventKey: "esc/" + e.ID, Action: "escalation.superior", Process: "subsidy", CaseID: "wf"}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.EscalationCounts(ctx); err != nil || fmt.Sprint(got) != fmt.Sprint([]store.EscalationCount{{Process: "subsidy", Kind: "subsidy_review", Target: casework.TargetSuperior, Count: 1}}) {
				t.Errorf("escalation counts = %+v, %v", got, err)
			}

			if got, err := s.CaseCounts(ctx); err != nil || len(got) != 0 {
				t.Errorf("case counts of an empty store = %+v, %v", got, err)
			}
			if _, err := s.CreateProgramme(ctx, store.Programme{Code: "t-living", Name: "生活补助", AmountFen: 62500, Stage: "primary"}); err != nil {
				t.Fatal(err)
			}
			st, err := s.CreateStudent(ctx, store.Student{StudentNo: "S1", Name: "学生1", Sex: "女", BirthDate: "2015-03-01",
				UnitCode: f.school.Code, Grade: 3, Class: "1班", PovertyRegistered: true})
			if err != nil {
				t.Fatal(err)
			}
			app := store.Application{ID: "subsidy-1", StudentID: st.ID, ProgrammeCode: "t-living", Term: "2026-autumn", UnitID: f.school.ID,
				ApplicantID: f.staff.ID, State: casework.AppSubmitted}
			if err := s.InsertApplications(ctx, []store.NewApplication{{App: app, Applied: store.AuditEntry{EventKey: "applied/subsidy-1",
				At: due, ActorID: f.staff.ID, Action: "subsidy.applied", Process: "subsidy", CaseID: app.ID}}}); err != nil {
				t.Fatal(err)
			}
			if got, err := s.CaseCounts(ctx); err != nil || fmt.Sprint(got) != fmt.Sprint([]store.CaseCount{{Process: "subsidy", Case: "app", State: casework.AppSubmitted, Count: 1}}) {
				t.Errorf("case counts = %+v, %v", got, err)
			}
		})
	}
}
