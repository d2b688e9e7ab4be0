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
