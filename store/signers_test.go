package store_test

import (
	"context"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// TestHoldersOverAndAt: the holders of a role over a unit are who access.Actor.Can would let act
// there (the unit's and its ancestors' holders, a section's anywhere), active ones only, once
// each; the holders at a unit are those of exactly that unit, leaders first.
func TestHoldersOverAndAt(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			twn, _ := s.CreateUser(ctx, "twn", "x", "中心校校长", []store.RoleAt{{Role: casework.RoleSchoolLeader, UnitCode: f.township.Code},
				{Role: casework.RoleTownshipStaff, UnitCode: f.township.Code}})
			aid, _ := s.CreateUser(ctx, "aid", "x", "资助中心", []store.RoleAt{{Role: casework.RoleAidCenter, UnitCode: f.section.Code}})
			gone, _ := s.CreateUser(ctx, "gone", "x", "已停用", []store.RoleAt{{Role: casework.RoleSchoolLeader, UnitCode: f.school.Code}})
			inactive := false
			if _, err := s.UpdateUser(ctx, gone.ID, store.UserChange{Active: &inactive}); err != nil {
				t.Fatal(err)
			}
			names := func(hs []store.Holder, err error) []string {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, h := range hs {
					out = append(out, h.Username)
				}
				return out
			}
			if got := names(s.HoldersOver(ctx, casework.RoleSchoolLeader, f.school.Path)); len(got) != 2 || got[0] != "head" || got[1] != "twn" {
				t.Errorf("school leaders over the school = %v, want head and twn (the township's covers it)", got)
			}
			if got := names(s.HoldersOver(ctx, casework.RoleSchoolLeader, f.other.Path)); len(got) != 1 || got[0] != "twn" {
				t.Errorf("school leaders over the other school = %v, want twn", got)
			}
			if got := names(s.HoldersOver(ctx, casework.RoleAidCenter, f.other.Path)); len(got) != 1 || got[0] != aid.Username {
				t.Errorf("aid center over a school = %v: a section's role reaches the county", got)
			}
			if got := names(s.HoldersOver(ctx, casework.RoleSchoolStaff, f.township.Path)); len(got) != 0 {
				t.Errorf("school staff over the township = %v, want none", got)
			}
			if got := names(s.HoldersAt(ctx, "", f.township.ID)); len(got) != 2 || got[0] != twn.Username {
				t.Errorf("holders at the township = %v", got)
			}
			hs, _ := s.HoldersAt(ctx, "", f.township.ID)
			if hs[0].Role != casework.RoleSchoolLeader || hs[1].Role != casework.RoleTownshipStaff {
				t.Errorf("holders at the township by role = %+v, want the leader's role first", hs)
			}
		})
	}
}

// TestAutoCopiesReadInsideTheirTransaction: the automatic copy's holders are read through the
// transaction that records the entry. Read through a second pooled connection, the entry's
// transaction (holding the audit lock) waited for a connection held by writers queued on that
// lock: a simulated term deadlocked the PostgreSQL store's pool. With one connection in the pool
// that wait is certain, so this fails (by its deadline) if the read leaves the transaction.
func TestAutoCopiesReadInsideTheirTransaction(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			f := makeFixture(t, s)
			teacher, err := s.CreateUser(context.Background(), "teacher", "x", "帮扶教师", []store.RoleAt{{Role: casework.RoleTeacher, UnitCode: f.school.Code}})
			if err != nil {
				t.Fatal(err)
			}
			s.DB().SetMaxOpenConns(1)
			defer s.DB().SetMaxOpenConns(20)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			summary := store.AuditEntry{EventKey: "ev-summary-one-conn", ActorID: teacher.ID, Role: casework.RoleTeacher, UnitCode: f.school.Code,
				Action: "pairing.recorded", Process: casework.ProcessPairing, CaseID: "pairing-one-conn", After: `{"kind":"summary"}`}
			if err := s.Append(ctx, summary); err != nil {
				t.Fatalf("recording a summary with one pooled connection: %v", err)
			}
			if cs, err := s.CCs(ctx, f.leader.ID, "unread", 10); err != nil || len(cs) != 1 {
				t.Fatalf("the school leader's copies = %+v, %v", cs, err)
			}
		})
	}
}

// TestAutoCopies: a teacher's term summary of a pairing is copied to the school's leaders in the
// transaction that records it (casework.Pairing.AutoCopies), a retry copies nothing twice, the
// next summary renews the copy (unread again, still one copy); a home visit copies nobody. The
// admins' alert (CopyToAdmins) reaches every admin with its entry.
func TestAutoCopies(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			teacher, _ := s.CreateUser(ctx, "teacher", "x", "帮扶教师", []store.RoleAt{{Role: casework.RoleTeacher, UnitCode: f.school.Code}})
			admin, _ := s.CreateUser(ctx, "admin", "x", "管理员", []store.RoleAt{{Role: casework.RoleAdmin, UnitCode: f.bureau.Code}})
			summary := store.AuditEntry{EventKey: "ev-summary-1", ActorID: teacher.ID, Role: casework.RoleTeacher, UnitCode: f.school.Code,
				Action: "pairing.recorded", Process: casework.ProcessPairing, CaseID: "pairing-1", After: `{"kind":"summary"}`}
			for i := 0; i < 2; i++ {
				if err := s.Append(ctx, summary); err != nil {
					t.Fatal(err)
				}
			}
			cs, err := s.CCs(ctx, f.leader.ID, "unread", 10)
			if err != nil || len(cs) != 1 || cs[0].Reason != "auto" || cs[0].Label != "结对帮扶学期总结" || cs[0].CaseID != "pairing-1" {
				t.Fatalf("the school leader's copies = %+v, %v", cs, err)
			}
			if cs, _ := s.CCs(ctx, teacher.ID, "", 10); len(cs) != 0 {
				t.Errorf("the teacher copied to themselves: %+v", cs)
			}
			if _, err := s.MarkCCRead(ctx, "pairing-1", f.leader.ID); err != nil {
				t.Fatal(err)
			}
			next := summary
			next.EventKey, next.At = "ev-summary-2", time.Now().Add(time.Minute)
			if err := s.Append(ctx, next); err != nil {
				t.Fatal(err)
			}
			if cs, _ := s.CCs(ctx, f.leader.ID, "", 10); len(cs) != 1 || cs[0].ReadAt != nil {
				t.Errorf("after the next summary = %+v, want the one copy, unread again", cs)
			}
			visit := summary
			visit.EventKey, visit.CaseID, visit.After = "ev-visit", "pairing-2", `{"kind":"home_visit"}`
			if err := s.Append(ctx, visit); err != nil {
				t.Fatal(err)
			}
			if cs, _ := s.CCs(ctx, f.leader.ID, "", 10); len(cs) != 1 {
				t.Errorf("a home visit was copied: %+v", cs)
			}
			if err := s.CopyToAdmins(ctx, store.Copy{CaseID: "case-9", Process: "subsidy", TaskID: "case-9-t1", Title: "无人可办", Reason: "unstaffed",
				Label: "无人可办的待办已转上级单位", At: time.Now()}, store.AuditEntry{EventKey: "ev-standin", Action: "task.stand_in", CaseID: "case-9"}); err != nil {
				t.Fatal(err)
			}
			if cs, _ := s.CCs(ctx, admin.ID, "unread", 10); len(cs) != 1 || cs[0].Reason != "unstaffed" || cs[0].TaskID != "case-9-t1" {
				t.Errorf("the admin's alert = %+v", cs)
			}
			if tl, _ := s.Timeline(ctx, "case-9"); len(tl) != 1 || tl[0].Action != "task.stand_in" {
				t.Errorf("the alert's entry = %+v", tl)
			}
		})
	}
}
