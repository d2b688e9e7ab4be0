package activities_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestMergedSubsidyWritesOnceThroughAReplay runs an application's merged writes
// (subsidy-merged-writes: the registry check with its review's opening, the review's decision with
// the reviewed step, the sign-off with its payment) on a real store, twice, as a crash's replay
// runs them again: every row lands once, the application ends disbursed, paid once, and
// each step's entry is on the trail exactly once, under a key of its own.
func TestMergedSubsidyWritesOnceThroughAReplay(t *testing.T) {
	ctx := context.Background()
	s, _, school := newCounty(t)
	acts := &activities.Activities{Store: s}
	if _, err := s.CreateProgramme(ctx, store.Programme{Code: "t-living", Name: "生活补助", AmountFen: 62500, Stage: "primary"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.CreateStudent(ctx, store.Student{StudentNo: "S1", Name: "学生1", Sex: "女", BirthDate: "2015-03-01",
		UnitCode: school.Code, Grade: 3, Class: "1班", PovertyRegistered: true})
	if err != nil {
		t.Fatal(err)
	}
	staff := access.Actor{UserID: "u-staff", Username: "staff", DisplayName: "专干",
		Roles: []access.Role{{Role: casework.RoleSchoolStaff, UnitCode: school.Code, UnitPath: school.Path}}}
	leader := access.Actor{UserID: "u-head", Username: "head", DisplayName: "校长",
		Roles: []access.Role{{Role: casework.RoleSchoolLeader, UnitCode: school.Code, UnitPath: school.Path}}}
	aid := access.Actor{UserID: "u-aid", Username: "aid", DisplayName: "资助中心", Roles: []access.Role{{Role: casework.RoleAidCenter, UnitCode: "JS"}}}
	const appID = "subsidy-merged-1"
	at := time.Date(2026, 9, 1, 1, 0, 0, 0, time.UTC)

	openIn := activities.CheckAndOpenInput{
		Check: activities.RegistryCheckInput{ApplicationID: appID, StudentID: st.ID, Programme: "t-living", Term: "2026-2027-1",
			ApplicantID: staff.UserID, Applicant: staff, AppliedAt: at},
		Review: activities.OpenTaskInput{ID: appID + "-t1", WorkflowID: appID, Now: at, Spec: activities.TaskSpec{Kind: casework.KindSubsidyReview,
			Process: casework.ProcessSubsidy, CaseID: appID, Title: "资助审核：学生1", CandidateRole: casework.RoleSchoolLeader,
			Outcomes: []string{casework.OutcomeApprove, casework.OutcomeReject, casework.OutcomeReturn}, Exclude: []string{staff.UserID}}},
		Revision: 1}
	decided := at.Add(time.Hour)
	done := casework.Task{ID: appID + "-t1", WorkflowID: appID, Process: casework.ProcessSubsidy, Kind: casework.KindSubsidyReview, CaseID: appID,
		Title: "资助审核：学生1", CandidateRole: casework.RoleSchoolLeader, UnitID: school.ID, UnitPath: school.Path, State: casework.TaskDone,
		Outcomes: "approve,reject,return", Outcome: casework.OutcomeApprove, CompletedAt: &decided, CompletedBy: leader.UserID, CreatedAt: at,
		DueAt: at.Add(72 * time.Hour), Revision: 2}
	review := activities.TaskChange{Task: done, Actor: leader, ActorRole: casework.RoleSchoolLeader, Action: "task.completed",
		At: decided, Then: &activities.CaseStep{Application: &activities.ApplicationStep{ApplicationID: appID,
			Update: casework.ApplicationUpdate{State: casework.AppReviewed, ReviewerID: leader.UserID},
			Audit: activities.Audit{Actor: leader, Role: casework.RoleSchoolLeader, Action: "subsidy.reviewed", Process: casework.ProcessSubsidy,
				CaseID: appID, After: map[string]any{"state": casework.AppReviewed}, At: decided}}}}
	signed := at.Add(100 * time.Hour)
	signOff := activities.SignOffInput{Step: activities.ApplicationStep{ApplicationID: appID,
		Update: casework.ApplicationUpdate{State: casework.AppSignedOff},
		Audit: activities.Audit{Actor: aid, Role: casework.RoleAidCenter, Action: "subsidy.signed_off", Process: casework.ProcessSubsidy,
			CaseID: appID, After: map[string]any{"state": casework.AppSignedOff}, At: signed}},
		AmountFen: 62500, Channel: "一卡通", At: signed}

	// The three writes as one run takes them (local activities 1, 2 and 3), then all of them again
	// as the replay of that run does after a crash lost its workflow task: under the same activity
	// ids, so with the same audit keys.
	var opened activities.CheckedAndOpened
	var paid store.Disbursement
	for range 2 {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: appID, TaskQueue: "test"})
		env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
			if err := workflow.ExecuteLocalActivity(ctx, acts.CheckAndOpenReview, openIn).Get(ctx, &opened); err != nil {
				return err
			}
			if err := workflow.ExecuteLocalActivity(ctx, acts.ApplyTaskChange, review).Get(ctx, nil); err != nil {
				return err
			}
			return workflow.ExecuteLocalActivity(ctx, acts.SignOffAndDisburse, signOff).Get(ctx, &paid)
		}, workflow.RegisterOptions{Name: "merged"})
		env.ExecuteWorkflow("merged")
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
	}

	if opened.Check.UnitCode != school.Code || opened.Check.AmountFen != 62500 || opened.Review.Spec.UnitCode != school.Code {
		t.Fatalf("check and review = %+v: want the student's school and the programme's amount", opened)
	}
	if paid.AmountFen != 62500 || paid.Channel != "一卡通" || paid.ApplicationID != appID {
		t.Fatalf("payment = %+v", paid)
	}
	app, err := s.ApplicationByID(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	if app.State != casework.AppDisbursed || app.ReviewerID != leader.UserID {
		t.Fatalf("application = %s reviewed by %q: want disbursed, reviewed by the reviewer", app.State, app.ReviewerID)
	}
	if task, err := s.TaskByID(ctx, appID+"-t1"); err != nil || task.State != casework.TaskDone || task.Revision != 2 {
		t.Fatalf("review row = %+v (%v): want done at revision 2", task, err)
	}

	entries, err := s.Timeline(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	keys := map[string]bool{}
	for _, e := range entries {
		count[e.Action]++
		if keys[e.EventKey] {
			t.Errorf("two entries under key %s", e.EventKey)
		}
		keys[e.EventKey] = true
	}
	for _, action := range []string{"subsidy.applied", "task.opened", "task.completed", "subsidy.reviewed", "subsidy.signed_off", "subsidy.disbursed"} {
		if count[action] != 1 {
			t.Errorf("%s on the trail %d times, want once (all: %v)", action, count[action], count)
		}
	}
}
