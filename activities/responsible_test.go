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

// TestDutyLadderTargets: the rungs of the recurring duties (issue 17) resolve in the kit. The
// teacher's rung stays at the school and names the duty's holder (the chain's person when the
// deadline names nobody); the school leader's stays at the school and names its leader (a
// school staff member there is not named); the education section's goes to the bureau's 教育股
// — or to the unit an installation names in "education_section_unit" — and names who answers
// for it on the chain.
func TestDutyLadderTargets(t *testing.T) {
	ctx := context.Background()
	s, _, school := newCounty(t)
	edu := mustUnit(t)(s.CreateUnit(ctx, activities.EducationSectionUnitCode, "教育股", store.KindSection, "JS", ""))
	user := func(name, role, unit string) string {
		t.Helper()
		var roles []store.RoleAt
		if role != "" {
			roles = []store.RoleAt{{Role: role, UnitCode: unit}}
		}
		u, err := s.CreateUser(ctx, name, "x", name, roles)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	teacher := user("teacher01", casework.RoleTeacher, school.Code)
	user("staff01", casework.RoleSchoolStaff, school.Code)
	head := user("head01", casework.RoleSchoolLeader, school.Code)
	user("head02", casework.RoleSchoolLeader, school.Code)
	sectionHead, eduLeader := user("sec01", "", ""), user("leader03", "", "")
	if err := s.SetResponsible(ctx, store.SubjectUnit, school.ID, sectionHead); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResponsible(ctx, store.SubjectUnit, edu.ID, eduLeader); err != nil {
		t.Fatal(err)
	}
	a := &activities.Activities{Store: s}
	raise := func(id, target, holder string) store.Escalation {
		t.Helper()
		e, err := a.Raise(ctx, activities.RaiseInput{ID: id, Process: casework.ProcessSendHome, CaseID: "sendhome-1",
			UnitCode: school.Code, Target: target, Reason: "本周期送教次数未达到要求", At: time.Now().UTC(),
			Kind: casework.DeadlineVisitQuota, Rung: 1, Deadline: "quota-1", HolderID: holder})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		return e
	}
	for _, c := range []struct {
		target, holder string
		unit           store.Unit
		responsible    string
	}{
		{casework.TargetTeacher, teacher, school, teacher},
		{casework.TargetTeacher, "", school, sectionHead},
		{casework.TargetSchoolLeader, teacher, school, head},
		{casework.TargetEducationSection, teacher, edu, eduLeader},
	} {
		e := raise("sendhome-1-"+c.target+"-"+c.holder, c.target, c.holder)
		if e.UnitID != c.unit.ID {
			t.Errorf("%s (holder %q) went to unit %s, want %s", c.target, c.holder, e.UnitID, c.unit.Code)
		}
		if e.ResponsibleID != c.responsible {
			t.Errorf("%s (holder %q) names %s, want %s", c.target, c.holder, e.ResponsibleID, c.responsible)
		}
	}

	// An installation names its own education section.
	other := mustUnit(t)(s.CreateUnit(ctx, "JS-TJZX", "特殊教育资源中心", store.KindSection, "JS", ""))
	if err := s.PutSetting(ctx, "education_section_unit", other.Code); err != nil {
		t.Fatal(err)
	}
	if e := raise("sendhome-1-own-section", casework.TargetEducationSection, ""); e.UnitID != other.ID {
		t.Errorf("education_section went to unit %s, want the installation's %s", e.UnitID, other.ID)
	}
}
