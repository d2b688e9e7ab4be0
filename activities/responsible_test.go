package activities_test

import (
	"context"
	"testing"
	"time"

	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestEscalationNamesTheChainRungOfItsTarget: the 包保 chain has a section head answering for the
// school and the bureau leader answering for the township. A reminder and the supervision
// office's copy name the section head; the superior's escalation (to the township), the
// township government's and the county HQ's name the bureau leader (issue 15, item 10).
func TestEscalationNamesTheChainRungOfItsTarget(t *testing.T) {
	ctx := context.Background()
	s, township, school := newCounty(t)
	user := func(name string) string {
		t.Helper()
		u, err := s.CreateUser(ctx, name, "x", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	mustUnit(t)(s.CreateUnit(ctx, "JS-HQ", "县脱贫攻坚指挥部", store.KindCountyHQ, "JS", ""))
	mustUnit(t)(s.CreateUnit(ctx, "JS-T01-GOV", "业州镇人民政府", store.KindTownshipGov, "JS", "T01"))
	head, leader := user("edu01"), user("leader01")
	if err := s.SetResponsible(ctx, store.SubjectUnit, school.ID, head); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResponsible(ctx, store.SubjectUnit, township.ID, leader); err != nil {
		t.Fatal(err)
	}
	a := &activities.Activities{Store: s}
	want := map[string]string{casework.TargetRemind: head, casework.TargetSupervision: head,
		casework.TargetSuperior: leader, casework.TargetTownshipGov: leader, casework.TargetCountyHQ: leader}
	for target, who := range want {
		e, err := a.Raise(ctx, activities.RaiseInput{ID: "case-1-" + target, Process: "dropout", CaseID: "case-1",
			UnitCode: school.Code, Target: target, Reason: "逾期", At: time.Now().UTC()})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if e.ResponsibleID != who {
			t.Errorf("%s escalation names %s, want %s", target, e.ResponsibleID, who)
		}
	}
}

// TestSectionEscalationNamesItsLeader: a bureau section's superior is the bureau itself, so its
// escalation names who answers for the section on the chain (its 分管 leader), as its reminder
// and the supervision office's copy do, not who answers for the bureau (issue 24). So does the
// bureau leader's (an office's duty left undone, as organisational handling past its month), which
// goes to the bureau, where the bureau leaders act.
func TestSectionEscalationNamesItsLeader(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newCounty(t)
	section := mustUnit(t)(s.CreateUnit(ctx, "JS-ZB", "招办", store.KindSection, "JS", ""))
	leader, err := s.CreateUser(ctx, "leader02", "x", "分管局领导", nil)
	if err != nil {
		t.Fatal(err)
	}
	chief, err := s.CreateUser(ctx, "chief", "x", "局长", nil)
	if err != nil {
		t.Fatal(err)
	}
	bureau, err := s.UnitByCode(ctx, "JS")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetResponsible(ctx, store.SubjectUnit, section.ID, leader.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResponsible(ctx, store.SubjectUnit, bureau.ID, chief.ID); err != nil {
		t.Fatal(err)
	}
	a := &activities.Activities{Store: s}
	for _, target := range []string{casework.TargetRemind, casework.TargetSuperior, casework.TargetSupervision, casework.TargetBureauLeader} {
		e, err := a.Raise(ctx, activities.RaiseInput{ID: "plantask-1-due-" + target, Process: casework.ProcessPlan, CaseID: "plantask-1",
			UnitCode: section.Code, Target: target, Reason: "逾期", At: time.Now().UTC(), Kind: casework.DeadlinePlanTaskDue})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if e.ResponsibleID != leader.ID {
			t.Errorf("%s escalation names %s, want the section's leader %s", target, e.ResponsibleID, leader.ID)
		}
		if (target == casework.TargetSuperior || target == casework.TargetBureauLeader) && e.UnitPath != bureau.Path {
			t.Errorf("the section's %s escalation goes to %s, want the bureau", target, e.UnitPath)
		}
	}
}
