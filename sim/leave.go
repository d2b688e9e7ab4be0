package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"jiaofu/apiclient"
)

// A leader on leave (empty approver) in the simulated term (issue 21), kept apart from the other
// processes: their own random stream (seed, LeaveStream) and schools of their own, which no other
// process visits — so the other processes' draws and cases stay as they were.
//
// Actors: in each township drawn by -leave-share the admin creates one more school (JS-Txx-L01)
// with its staff member and its leader, a township_staff member at the township's central school
// (the stand-in), and then deactivates the leader (PUT /api/v1/admin/users/{id}, active false)
// before the school's first opening: nobody holds school_leader over the school. The staff member
// applies for a subsidy for each of the school's students (-students, at most LeaveStudents),
// spread over the openings like the other schools'; the stand-in reviews each as a profile drawn
// for the stand-in says (on time, after rung k or never; no returns).
//
// Oracle rules (docs/casework.md «Approver policies», empty approver; activities.StandInRoles): a
// task nobody active may decide at its unit goes to the nearest unit up the tree where someone
// holds one of the stand-in roles — here the township's central school, where school_leader is
// held by nobody and township_staff by the stand-in — and its row and validator say that role at
// that unit; the timeline says so once (`task.stand_in`). The task's due time and ladder are its
// kind's; its rungs go where they go for a task at the central school: remind the central school,
// superior its parent (the bureau, JS), supervision the supervision office. The audit entry is
// checked once per such task (StandInProblems in the report, which fail the run).

// LeaveStream is the leave schools' random stream (see TransferStream).
const LeaveStream = 1<<32 + 0x22

// LeaveStudents caps the students of each leave school: the point is the placement, not load.
const LeaveStudents = 3

// standInVariant names the rows of a stand-in's task rungs.
const standInVariant = "stand-in"

// leaveSchool is a school whose leader is away, and who stands in.
type leaveSchool struct {
	Code, Township string
	Staff, StandIn *apiclient.Client
	Profile        profile // the stand-in's
	Students       []string
}

// leave sets up the leave schools and works their subsidy reviews, opening them evenly over
// spread once they are set up.
func (w *world) leave(ctx context.Context, admin *apiclient.Client, townships int, share float64, students int, spread time.Duration, rng *rand.Rand) {
	var schools []*leaveSchool
	for t := 1; t <= townships; t++ {
		if rng.Float64() >= share {
			continue
		}
		ls, err := w.leaveSchool(ctx, admin, t, min(students, LeaveStudents), rng)
		if err != nil {
			w.j.fail(err)
			return
		}
		schools = append(schools, ls)
	}
	type job struct {
		ls      *leaveSchool
		student string
		b       string
		outcome string
	}
	var jobs []job
	for _, ls := range schools {
		for _, st := range ls.Students {
			jobs = append(jobs, job{ls, st, ls.Profile.draw(rng), []string{"approve", "approve", "approve", "reject"}[rng.IntN(4)]})
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, jb := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sleepUntil(ctx, start.Add(spread*time.Duration(i)/time.Duration(len(jobs)))) != nil {
				return
			}
			if err := w.standInReview(ctx, jb.ls, jb.student, jb.b, jb.outcome); err != nil {
				w.j.fail(err)
			}
		}()
	}
	wg.Wait()
}

// leaveSchool creates one leave school in township tw, its people and students, and puts its
// leader on leave.
func (w *world) leaveSchool(ctx context.Context, admin *apiclient.Client, t, students int, rng *rand.Rand) (*leaveSchool, error) {
	const password = "sim-password-1"
	tw := fmt.Sprintf("T%02d", t)
	ls := &leaveSchool{Code: fmt.Sprintf("JS-%s-L01", tw), Township: tw, Profile: drawProfile(rng)}
	if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/org-units", map[string]string{"code": ls.Code, "name": fmt.Sprintf("模拟%s请假校", tw),
		"kind": "school", "parent_code": "JS-" + tw}, nil); err != nil {
		return nil, fmt.Errorf("create leave school %s: %w", ls.Code, err)
	}
	user := func(role, unit string) (string, *apiclient.Client, error) {
		name := fmt.Sprintf("sim%d-%s-%s", w.seed, unit[len("JS-"):], role)
		var u struct{ ID string }
		if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/users", map[string]any{"username": lower(name), "password": password,
			"display_name": name, "roles": []map[string]string{{"role": role, "unit_code": unit}}}, &u); err != nil {
			return "", nil, fmt.Errorf("create %s: %w", name, err)
		}
		c, err := admin.Login(ctx, lower(name), password)
		return u.ID, c, err
	}
	var err error
	if _, ls.Staff, err = user("school_staff", ls.Code); err != nil {
		return nil, err
	}
	if _, ls.StandIn, err = user("township_staff", "JS-"+tw); err != nil {
		return nil, err
	}
	leader, _, err := user("school_leader", ls.Code)
	if err != nil {
		return nil, err
	}
	// On leave: deactivated before the school's first opening, so nobody holds the role over it.
	if err := admin.Expect(ctx, 200, "PUT", "/api/v1/admin/users/"+leader, map[string]any{"active": false}, nil); err != nil {
		return nil, fmt.Errorf("put %s's leader on leave: %w", ls.Code, err)
	}
	for k := range students {
		var st struct{ ID string }
		// Numbered above generate's students and below the pairings' (900000 and up).
		if err := ls.Staff.Expect(ctx, 201, "POST", "/api/v1/admin/students", map[string]any{
			"student_no": fmt.Sprintf("L%d%06d", w.seed%1000, 800000+100*t+k+1), "name": fmt.Sprintf("模拟请假校学生%d", 100*t+k+1), "sex": []string{"男", "女"}[k%2],
			"birth_date": "2016-03-12", "unit_code": ls.Code, "grade": 4, "class": "1班"}, &st); err != nil {
			return nil, fmt.Errorf("register a student at %s: %w", ls.Code, err)
		}
		ls.Students = append(ls.Students, st.ID)
	}
	return ls, nil
}

// standInReview: the staff member applies; the review must reach the stand-in at the township's
// central school, who decides it as drawn.
func (w *world) standInReview(ctx context.Context, ls *leaveSchool, studentID, b, outcome string) error {
	var app struct{ ID string }
	var err error
	if app.ID, _, err = w.open(ctx, ls.Staff, "/api/v1/subsidy-applications", map[string]string{"student_id": studentID,
		"programme": "living-primary", "term": w.term, "evidence_note": "低保户，村委会证明"}, "/api/v1/subsidy-applications/"); err != nil {
		return fmt.Errorf("apply at leave school %s: %w", ls.Code, err)
	}
	t, err := waitTask(ctx, ls.StandIn, "subsidy_review", app.ID, "", w.within)
	if err != nil {
		return fmt.Errorf("stand-in for %s: %w", ls.Code, err)
	}
	// The oracle places the task where the rule says (the central school), not where it was seen:
	// a task placed elsewhere shows as rungs at the wrong unit, or never reaches this inbox.
	obs := &TaskObs{Process: "subsidy", CaseID: app.ID, TaskID: t.ID, Kind: t.Kind, Unit: "JS-" + ls.Township, Due: t.DueAt, Behaviour: b,
		StandInFrom: ls.Code}
	w.j.addTask(obs)
	at, acts := actAt(b, t.DueAt, w.u, w.rungs[t.Kind])
	if !acts {
		return nil
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	obs.Acted, err = timed(func() error {
		return ls.StandIn.Expect(ctx, 200, "POST", "/api/v1/tasks/"+t.ID+"/complete", map[string]string{"outcome": outcome, "comment": "模拟代审"}, nil)
	})
	return err
}

// checkStandIns reads each stand-in task's case timeline: exactly one task.stand_in entry for the
// task, from the leave school.
func checkStandIns(ctx context.Context, reader *apiclient.Client, tasks []*TaskObs) []string {
	var problems []string
	for _, t := range tasks {
		if t.StandInFrom == "" {
			continue
		}
		var tl struct {
			Items []struct {
				Action string `json:"action"`
				After  string `json:"after"`
			}
		}
		if err := reader.Expect(ctx, 200, "GET", "/api/v1/cases/"+t.CaseID+"/timeline", nil, &tl); err != nil {
			problems = append(problems, fmt.Sprintf("timeline of %s: %v", t.CaseID, err))
			continue
		}
		n := 0
		for _, e := range tl.Items {
			var after struct {
				TaskID string `json:"task_id"`
				Unit   string `json:"unit"`
				ToUnit string `json:"to_unit"`
				ToRole string `json:"to_role"`
			}
			if e.Action != "task.stand_in" || json.Unmarshal([]byte(e.After), &after) != nil || after.TaskID != t.TaskID {
				continue
			}
			n++
			if after.Unit != t.StandInFrom || after.ToUnit != t.Unit || after.ToRole != "township_staff" {
				problems = append(problems, fmt.Sprintf("task %s of %s stood in from %s to %s %s, want from %s to %s township_staff", t.TaskID, t.CaseID,
					after.Unit, after.ToRole, after.ToUnit, t.StandInFrom, t.Unit))
			}
		}
		if n != 1 {
			problems = append(problems, fmt.Sprintf("task %s of %s has %d task.stand_in entries, want 1", t.TaskID, t.CaseID, n))
		}
	}
	return problems
}
