package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/casework"
)

// TestLateEscalationThroughTheActivities plays a task's completion (revision 3) and its rungs,
// fired while it was open (revisions 2 and 3 of the workflow's count: level 1 then 2) but reaching
// the store late, in both orders through Escalate and ApplyTaskChange on a real store. The task
// ends done with its superior escalation closed and the supervision office's open, and the late
// rung's record and audit entry say when it fell due and when it was recorded.
func TestLateEscalationThroughTheActivities(t *testing.T) {
	ctx := context.Background()
	s, township, school := newCounty(t)
	a := &activities.Activities{Store: s}
	due := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)

	for _, completionFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("completion_first=%v", completionFirst), func(t *testing.T) {
			id := fmt.Sprintf("wf%v-t1", completionFirst)
			spec := activities.TaskSpec{Kind: "subsidy_review", Process: "subsidy", CaseID: "case-" + id, Title: "审核",
				CandidateRole: casework.RoleSchoolLeader, UnitCode: school.Code, Outcomes: []string{"approve"}}
			if err := a.ProjectOpenTask(ctx, activities.ProjectTaskInput{Revision: 1,
				Task:   activities.OpenTaskInput{ID: id, WorkflowID: "wf", Spec: spec, Now: due.Add(-time.Hour)},
				Opened: activities.TaskOpened{UnitID: school.ID, UnitPath: school.Path, DueAt: due}}); err != nil {
				t.Fatal(err)
			}
			open, err := s.TaskByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			rungs := []activities.RungAt{{Rung: 1, Target: casework.TargetSuperior, At: due}, {Rung: 2, Target: casework.TargetSupervision, At: due.Add(time.Hour)}}
			escalate := func() {
				for i, r := range rungs {
					c := open
					c.EscalationLevel, c.Revision = r.Rung, 2+i
					if _, err := a.Escalate(ctx, activities.EscalateInput{Task: c, Rung: r}); err != nil {
						t.Fatal(err)
					}
				}
			}
			complete := func() {
				done := open
				at := time.Now().UTC()
				done.State, done.Outcome, done.CompletedAt, done.CompletedBy, done.EscalationLevel, done.Revision =
					casework.TaskDone, "approve", &at, "u-leader", 2, 4
				if err := a.ApplyTaskChange(ctx, activities.TaskChange{Task: done, Actor: access.System, Action: "task.completed", At: at}); err != nil {
					t.Fatal(err)
				}
			}
			if completionFirst {
				complete()
				escalate()
			} else {
				escalate()
				complete()
			}
			got, err := s.TaskByID(ctx, id)
			if err != nil || got.State != casework.TaskDone || got.EscalationLevel != 2 {
				t.Fatalf("task = %+v %v, want done at level 2", got, err)
			}
			sup, err := s.EscalationByID(ctx, id+"-r1")
			if err != nil || sup.State != casework.EscalationClosed || sup.UnitID != township.ID {
				t.Errorf("superior escalation = %+v %v, want closed, at the township", sup, err)
			}
			if jcs, err := s.EscalationByID(ctx, id+"-r2"); err != nil || jcs.State != casework.EscalationOpen {
				t.Errorf("supervision escalation = %+v %v, want open", jcs, err)
			}
			if !sup.DueAt.Equal(due) || sup.RecordedAt.Sub(due) < 71*time.Hour {
				t.Errorf("superior escalation due_at %v recorded_at %v, want the rung's instant and now", sup.DueAt, sup.RecordedAt)
			}

			tl, err := s.Timeline(ctx, "case-"+id)
			if err != nil {
				t.Fatal(err)
			}
			var last time.Time
			found := false
			for _, e := range tl {
				if e.At.Before(last) {
					t.Errorf("entry %d (%s) at %v before the one recorded before it (%v)", e.Seq, e.Action, e.At, last)
				}
				last = e.At
				var after map[string]any
				if err := json.Unmarshal([]byte(e.After), &after); err != nil {
					t.Fatal(err)
				}
				if e.Action == "escalation.superior" {
					found = true
					if after["due_at"] != due.Format(time.RFC3339) || after["recorded_at"] == nil || e.At.Sub(due) < 71*time.Hour {
						t.Errorf("escalation entry at %v after %v: want recorded now, due_at %v", e.At, e.After, due)
					}
				}
			}
			if !found {
				t.Errorf("no escalation.superior entry in %+v", tl)
			}
		})
	}
}

// TestLateRungNamesWhoHeldItWhenDue: a rung that fired after the task changed hands (HeldBy)
// names who held it when it fell due, and its copy of the task leaves the task with its holder
// now; a rung without HeldBy names the task's holder (its delegate while delegated).
func TestLateRungNamesWhoHeldItWhenDue(t *testing.T) {
	ctx := context.Background()
	s, _, school := newCounty(t)
	a := &activities.Activities{Store: s}
	due := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	spec := activities.TaskSpec{Kind: "subsidy_review", Process: "subsidy", CaseID: "case-held", Title: "审核",
		CandidateRole: casework.RoleSchoolLeader, UnitCode: school.Code, Outcomes: []string{"approve"}}
	if err := a.ProjectOpenTask(ctx, activities.ProjectTaskInput{Revision: 1,
		Task:   activities.OpenTaskInput{ID: "held-t1", WorkflowID: "wf-held", Spec: spec, Now: due.Add(-time.Hour)},
		Opened: activities.TaskOpened{UnitID: school.ID, UnitPath: school.Path, DueAt: due}}); err != nil {
		t.Fatal(err)
	}
	task, err := s.TaskByID(ctx, "held-t1")
	if err != nil {
		t.Fatal(err)
	}
	before := "u-leader1"
	task.AssigneeID = "u-leader2" // transferred after rung 1 fell due, before it was recorded
	for i, in := range []activities.EscalateInput{
		{Task: task, Rung: activities.RungAt{Rung: 1, Target: casework.TargetRemind, At: due}, HeldBy: &before},
		{Task: task, Rung: activities.RungAt{Rung: 2, Target: casework.TargetRemind, At: due.Add(time.Hour)}},
	} {
		in.Task.Revision = 2 + i
		if _, err := a.Escalate(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]string{"held-t1-r1": before, "held-t1-r2": "u-leader2"} {
		if e, err := s.EscalationByID(ctx, id); err != nil || e.HolderID != want {
			t.Errorf("escalation %s holder = %q (%v), want %q", id, e.HolderID, err, want)
		}
	}
	if got, err := s.TaskByID(ctx, "held-t1"); err != nil || got.AssigneeID != "u-leader2" || got.EscalationLevel != 2 {
		t.Errorf("task = %+v %v, want with u-leader2 at level 2", got, err)
	}
}
