package activities_test

import (
	"context"
	"testing"
	"time"

	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestResolveTaskPlacesWhoCanAct: a task for a role nobody holds over its unit goes to the
// superior unit's holders (the township central school's staff), as does one whose only holder
// is barred (the applicant); a task someone may decide stays. A 会签 of every leader at the school
// names them (never the barred one); two of a pool the school can fill only once gets the other
// place at the superior unit. With nobody up the tree the task stays, to be staffed.
func TestResolveTaskPlacesWhoCanAct(t *testing.T) {
	ctx := context.Background()
	s, township, school := newCounty(t)
	a := &activities.Activities{Store: s}
	head, _ := s.CreateUser(ctx, "head", "x", "校长", []store.RoleAt{{Role: casework.RoleSchoolLeader, UnitCode: school.Code}})
	twn, _ := s.CreateUser(ctx, "twn", "x", "中心学校专干", []store.RoleAt{{Role: casework.RoleTownshipStaff, UnitCode: township.Code}})
	due, _ := calendar.ParseSpec("1h")
	spec := activities.TaskSpec{Kind: "subsidy_review", Process: "subsidy", CaseID: "c1", Title: "审核", CandidateRole: casework.RoleSchoolLeader,
		UnitCode: school.Code, Outcomes: []string{"approve", "reject"}, Due: due}
	resolve := func(spec activities.TaskSpec) activities.TaskOpened {
		t.Helper()
		out, err := a.ResolveTask(ctx, activities.OpenTaskInput{ID: "c1-t1", WorkflowID: "c1", Spec: spec, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := resolve(spec); out.StandIn != nil || out.UnitPath != school.Path {
		t.Errorf("a staffed task moved: %+v", out)
	}
	barred := spec
	barred.Exclude = []string{head.ID}
	out := resolve(barred)
	if out.StandIn == nil || out.StandIn.Reason != "only_barred" || out.StandIn.Role != casework.RoleTownshipStaff || out.UnitPath != township.Path {
		t.Errorf("the applicant's own review: %+v %+v", out, out.StandIn)
	}
	placed := activities.Placed(barred, out)
	if placed.CandidateRole != casework.RoleTownshipStaff || placed.UnitCode != township.Code {
		t.Errorf("placed = %s at %s", placed.CandidateRole, placed.UnitCode)
	}
	staff := spec
	staff.CandidateRole = casework.RoleTeacher
	if out := resolve(staff); out.StandIn == nil || out.StandIn.Reason != "unstaffed" || out.StandIn.From != school.Code {
		t.Errorf("nobody holds the role: %+v", out.StandIn)
	}

	all := spec
	all.Exclude = []string{twn.ID}
	all.Signing = &casework.Signing{Mode: casework.SignAll}
	out = resolve(all)
	if len(out.Signers) != 1 || out.Signers[0].UserID != head.ID || out.Signing.Pass != "approve" || out.StandIn != nil {
		t.Errorf("会签 of the school's leaders: %+v", out)
	}
	two := spec
	two.Signing = &casework.Signing{Mode: casework.SignAll, Count: 2}
	out = resolve(two)
	if len(out.Signers) != 2 || out.Signers[0].UnitCode != school.Code || out.Signers[0].UserID != "" ||
		out.Signers[1].UnitCode != township.Code || out.Signers[1].Role != casework.RoleTownshipStaff || out.StandIn == nil {
		t.Errorf("two of a pool of one: %+v", out.Signers)
	}
	lonely := spec
	lonely.UnitCode, lonely.CandidateRole = township.Code, casework.RoleAidCenter
	lonely.Exclude = nil
	if out := resolve(lonely); out.StandIn == nil || out.StandIn.Role != "" || out.UnitPath != township.Path {
		t.Errorf("nobody up the tree: %+v", out.StandIn)
	}
}

// TestTaskKindLadderIsItsTimeoutPolicy: a kind's declared ladder (remind N times, then escalate)
// is what its tasks climb until an admin stores one; a kind without one climbs the default.
func TestTaskKindLadderIsItsTimeoutPolicy(t *testing.T) {
	ctx := context.Background()
	s, _, school := newCounty(t)
	a := &activities.Activities{Store: s}
	if err := s.SetLadder(ctx, casework.DefaultLadderKind, []store.Rung{{After: "1wd", Target: casework.TargetSuperior}}); err != nil {
		t.Fatal(err)
	}
	due, _ := calendar.ParseSpec("1h")
	for kind, want := range map[string]int{casework.KindRectificationReview: len(casework.Inspection.TaskKinds[1].Ladder), "subsidy_review": 1} {
		if want == 0 {
			t.Fatalf("%s declares no ladder", kind)
		}
		out, err := a.ResolveTask(ctx, activities.OpenTaskInput{ID: "c-t1", WorkflowID: "c", Now: time.Now(), Spec: activities.TaskSpec{Kind: kind,
			Process: "x", CaseID: "c", CandidateRole: casework.RoleSchoolLeader, UnitCode: school.Code, Outcomes: []string{"approve"}, Due: due}})
		if err != nil || len(out.Rungs) != want {
			t.Errorf("%s: %d rungs (%v), want %d", kind, len(out.Rungs), err, want)
		}
	}
}
