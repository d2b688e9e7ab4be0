package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestAccountabilityOpensWithItsEscalation: an escalation to the supervision office opens its
// accountability record in its own transaction, once however often it is recorded; the others
// open none; a decision closes the escalation and is refused the second time.
func TestAccountabilityOpensWithItsEscalation(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			jcs, err := s.CreateUnit(ctx, "JS-JCS", "监察室", store.KindSection, "JS", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetResponsible(ctx, store.SubjectUnit, f.school.ID, f.leader.ID); err != nil {
				t.Fatal(err)
			}
			due := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			sup := store.Escalation{ID: "dc1-return-window-r2", Process: "dropout", CaseID: "dc1", TaskKind: "dropout_return_window", Rung: 2,
				Target: casework.TargetSupervision, UnitID: jcs.ID, UnitPath: jcs.Path, SourceUnit: f.school.Code, ResponsibleID: f.leader.ID,
				Reason: "限期返校逾期", DueAt: due}
			entry := store.AuditEntry{EventKey: "esc/" + sup.ID, Action: "escalation.supervision", Process: "dropout", CaseID: "dc1"}
			for i := 0; i < 2; i++ {
				if _, err := s.RecordEscalation(ctx, sup, nil, entry); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			twn := store.Escalation{ID: "dc1-return-window-r1", Process: "dropout", CaseID: "dc1", Rung: 1, Target: casework.TargetSuperior,
				UnitID: f.township.ID, UnitPath: f.township.Path, SourceUnit: f.school.Code, Reason: "限期返校逾期", DueAt: due}
			if _, err := s.RecordEscalation(ctx, twn, nil, store.AuditEntry{EventKey: "esc/" + twn.ID, Action: "escalation.superior", CaseID: "dc1"}); err != nil {
				t.Fatal(err)
			}
			all := access.Actor{UserID: "u-jcs", Roles: []access.Role{{Role: casework.RoleSupervision, UnitCode: jcs.Code, UnitPath: jcs.Path}}}
			rs, err := s.AccountabilityRecords(ctx, all, store.AccountabilityFilter{})
			if err != nil || len(rs) != 1 {
				t.Fatalf("records: %d %v, want the supervision escalation's one", len(rs), err)
			}
			r := rs[0]
			if r.ID != store.AccountabilityID(sup.ID) || r.EscalationID != sup.ID || r.State != store.AccountabilityOpen || r.UnitCode != f.school.Code ||
				r.UnitName != f.school.Name || r.ResponsibleID != f.leader.ID || r.ResponsibleName != "校长" || r.Term != "2026-2027-1" ||
				r.OpenedBy != "system" || !r.DueAt.Equal(due) || r.Title == "" || strings.Contains(r.Title, "dc1") {
				t.Errorf("record = %+v", r)
			}
			// The school's leader sees the record about their school; the other school's staff do not.
			if rs, _ := s.AccountabilityRecords(ctx, actorOf(f.leader), store.AccountabilityFilter{}); len(rs) != 1 {
				t.Errorf("the school's leader sees %d records, want 1", len(rs))
			}
			other, _ := s.CreateUser(ctx, "other", "x", "二小专干", []store.RoleAt{{Role: casework.RoleSchoolStaff, UnitCode: f.other.Code}})
			if rs, _ := s.AccountabilityRecords(ctx, actorOf(other), store.AccountabilityFilter{}); len(rs) != 0 {
				t.Errorf("another school sees %d records", len(rs))
			}
			if rs, _ := s.AccountabilityRecords(ctx, all, store.AccountabilityFilter{Term: "2025-2026-2"}); len(rs) != 0 {
				t.Errorf("term filter: %d records of another term", len(rs))
			}
			// The desk's filters: state, process, unit (and everything under it), term.
			for _, c := range []struct {
				name string
				f    store.AccountabilityFilter
				want int
			}{
				{"open", store.AccountabilityFilter{State: store.AccountabilityOpen}, 1},
				{"decided", store.AccountabilityFilter{State: store.AccountabilityDecided}, 0},
				{"dropout", store.AccountabilityFilter{Process: "dropout"}, 1},
				{"inspection", store.AccountabilityFilter{Process: "inspection"}, 0},
				{"the township, over the school", store.AccountabilityFilter{UnitPath: f.township.Path}, 1},
				{"the school", store.AccountabilityFilter{UnitPath: f.school.Path}, 1},
				{"another school", store.AccountabilityFilter{UnitPath: f.other.Path}, 0},
				{"this term", store.AccountabilityFilter{Term: "2026-2027-1", State: store.AccountabilityOpen, Process: "dropout"}, 1},
			} {
				if rs, err := s.AccountabilityRecords(ctx, all, c.f); err != nil || len(rs) != c.want {
					t.Errorf("filter %s: %d records (%v), want %d", c.name, len(rs), err, c.want)
				}
			}
			// Opening by hand finds the same record.
			again, fresh, err := s.OpenAccountability(ctx, sup.ID, all)
			if err != nil || fresh || again.ID != r.ID {
				t.Errorf("open again: %v fresh=%v id=%s", err, fresh, again.ID)
			}
			if _, _, err := s.OpenAccountability(ctx, twn.ID, all); !errorsIs(err, store.ErrNotSupervision) {
				t.Errorf("opening a superior's escalation: %v, want ErrNotSupervision", err)
			}
			opened := 0
			tl, _ := s.Timeline(ctx, "dc1")
			for _, e := range tl {
				if e.Action == "accountability.opened" {
					opened++
				}
			}
			if opened != 1 {
				t.Errorf("%d accountability.opened entries on the timeline, want 1", opened)
			}

			d := store.AccountabilityDecision{Measures: []string{"admonishment", store.MeasureOrganisational},
				Persons: []store.Person{{UserID: f.leader.ID, Name: "校长", Post: "校长"}}, Note: "劝返不力", By: "u-jcs"}
			got, err := s.DecideAccountability(ctx, r.ID, d, store.AuditEntry{Action: "accountability.decided", Process: "dropout", CaseID: "dc1"})
			if err != nil || got.State != store.AccountabilityDecided || strings.Join(got.Measures(), ",") != "admonishment,organisational_handling" ||
				len(got.Persons()) != 1 || got.HandlingDueAt == nil || got.DecidedAt == nil {
				t.Fatalf("decide: %v %+v", err, got)
			}
			if want := got.DecidedAt.AddDate(0, 1, 0); got.HandlingDueAt.Sub(want).Abs() > 25*time.Hour {
				t.Errorf("handling due %v, want a month after %v", got.HandlingDueAt, got.DecidedAt)
			}
			if _, err := s.DecideAccountability(ctx, r.ID, d, store.AuditEntry{Action: "accountability.decided", CaseID: "dc1"}); !errorsIs(err, store.ErrConflict) {
				t.Errorf("deciding twice: %v, want ErrConflict", err)
			}
			if e, _ := s.EscalationByID(ctx, sup.ID); e.State != casework.EscalationClosed || e.Decision != "admonishment,organisational_handling" {
				t.Errorf("the escalation after the decision: %s %q", e.State, e.Decision)
			}
			rep, err := s.AccountabilityReportOf(ctx, all, "2026-2027-1")
			if err != nil || rep.Decided != 1 || rep.Measures["admonishment"] != 1 || len(rep.Rows) != 2 || rep.Rows[0].UnitCode != f.school.Code {
				t.Errorf("report: %v %+v", err, rep)
			}
			if aw, err := s.AwaitedHandlings(ctx); err != nil || len(aw) != 1 || aw[0].ID != r.ID {
				t.Errorf("awaited handlings: %v %+v, want the decided record", err, aw)
			}
			if _, err := s.HandlingDone(ctx, r.ID, "已调整岗位", time.Time{}, store.AuditEntry{Action: "accountability.handling_done", CaseID: "dc1"}); err != nil {
				t.Fatal(err)
			}
			if aw, err := s.AwaitedHandlings(ctx); err != nil || len(aw) != 0 {
				t.Errorf("awaited handlings once carried out: %v %+v", err, aw)
			}
			if _, err := s.HandlingDone(ctx, r.ID, "again", time.Time{}, store.AuditEntry{Action: "accountability.handling_done", CaseID: "dc1"}); !errorsIs(err, store.ErrConflict) {
				t.Errorf("handling done twice: %v", err)
			}
		})
	}
}

func TestTermOf(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	for at, want := range map[time.Time]string{
		time.Date(2026, 9, 1, 0, 0, 0, 0, cst):        "2026-2027-1",
		time.Date(2027, 1, 31, 23, 0, 0, 0, cst):      "2026-2027-1",
		time.Date(2027, 2, 1, 0, 0, 0, 0, cst):        "2026-2027-2",
		time.Date(2027, 8, 31, 23, 59, 0, 0, cst):     "2026-2027-2",
		time.Date(2026, 8, 31, 16, 0, 0, 0, time.UTC): "2026-2027-1", // 00:00 on 1 September, China time
	} {
		if got := store.TermOf(at); got != want {
			t.Errorf("TermOf(%v) = %s, want %s", at, got, want)
		}
	}
}
