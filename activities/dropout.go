package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// DropoutLedger is the ledger (台账) row of a dropout case as the workflow keeps it. It is a plain
// struct rather than store.DropoutCase because that type hides its ids and paths from JSON, and
// activity arguments cross the wire as JSON.
type DropoutLedger struct {
	ID              string
	WorkflowID      string
	StudentID       string
	UnitID          string
	UnitPath        string
	TeacherID       string
	OpenedBy        string
	Reason          string
	LastAttendedOn  string
	State           string
	Outcome         string
	OutcomeNote     string
	EscalationLevel int
}

func (l DropoutLedger) row() store.DropoutCase {
	return store.DropoutCase{ID: l.ID, WorkflowID: l.WorkflowID, StudentID: l.StudentID, UnitID: l.UnitID, UnitPath: l.UnitPath,
		TeacherID: l.TeacherID, OpenedBy: l.OpenedBy, Reason: l.Reason, LastAttendedOn: l.LastAttendedOn, State: l.State,
		Outcome: l.Outcome, OutcomeNote: l.OutcomeNote, EscalationLevel: l.EscalationLevel}
}

// OpenDropoutCaseInput opens the ledger row of a new case.
type OpenDropoutCaseInput struct {
	CaseID         string
	WorkflowID     string
	StudentID      string
	Reason         string
	LastAttendedOn string
	OpenedBy       access.Actor
	At             time.Time
}

// DropoutOpened is what the workflow learns when a case opens: the ledger row, and the student's
// responsible teacher from the 包保 chain ("" when the chain names nobody).
type DropoutOpened struct {
	Ledger      DropoutLedger
	StudentName string
	UnitCode    string
	UnitName    string
	TeacherID   string
}

// OpenDropoutCase finds the student and their responsible teacher, and writes the case's ledger row.
func (a *Activities) OpenDropoutCase(ctx context.Context, in OpenDropoutCaseInput) (DropoutOpened, error) {
	st, err := a.Store.StudentByID(ctx, in.StudentID)
	if err != nil {
		return DropoutOpened{}, nonRetryable(fmt.Errorf("student %s: %w", in.StudentID, err))
	}
	teacher, err := a.Store.ResponsibleForStudent(ctx, st)
	if errors.Is(err, store.ErrNotFound) {
		teacher, err = "", nil
	}
	if err != nil {
		return DropoutOpened{}, err
	}
	out := DropoutOpened{StudentName: st.Name, UnitCode: st.UnitCode, UnitName: st.UnitName, TeacherID: teacher,
		Ledger: DropoutLedger{ID: in.CaseID, WorkflowID: in.WorkflowID, StudentID: st.ID, UnitID: st.UnitID, UnitPath: st.UnitPath,
			TeacherID: teacher, OpenedBy: in.OpenedBy.UserID, Reason: in.Reason, LastAttendedOn: in.LastAttendedOn,
			State: casework.DropoutOpen}}
	if err := a.Store.UpsertDropoutCase(ctx, out.Ledger.row()); err != nil {
		return out, err
	}
	role := ""
	for _, r := range []string{casework.RoleSchoolStaff, casework.RoleSchoolLeader, casework.RoleTeacher, casework.RoleTownshipStaff} {
		if in.OpenedBy.Can(r, st.UnitPath) {
			role = r
			break
		}
	}
	return out, a.audit(ctx, Audit{Actor: in.OpenedBy, Role: role, Action: "dropout.opened", Process: "dropout",
		CaseID: in.CaseID, After: map[string]any{"state": casework.DropoutOpen, "student_id": st.ID, "unit": st.UnitCode,
			"teacher_id": teacher, "reason": in.Reason, "last_attended_on": in.LastAttendedOn}, At: in.At}, "")
}

// DropoutStep moves a case's ledger row and puts the step on record. CloseEscalations names the
// case's township and county escalations that the step makes moot (the student is back, or the
// case ended otherwise); the supervision office's are never listed: it decides on them itself.
type DropoutStep struct {
	Ledger           DropoutLedger
	Audit            Audit
	CloseEscalations []string
	Decision         string
}

// SetDropoutCase applies a step of the dropout workflow to the ledger.
func (a *Activities) SetDropoutCase(ctx context.Context, in DropoutStep) error {
	if err := a.Store.UpsertDropoutCase(ctx, in.Ledger.row()); err != nil {
		return err
	}
	for _, id := range in.CloseEscalations {
		// Already decided by the target unit, or never recorded (its Raise failed): nothing to close.
		if err := a.Store.CloseEscalation(ctx, id, in.Decision, access.System.UserID); err != nil &&
			!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return a.audit(ctx, in.Audit, "")
}

// AttemptInput is one persuasion attempt; ID is derived from the case and the attempt's number,
// so a retry writes it once.
type AttemptInput struct {
	ID       string
	CaseID   string
	Method   string
	Notes    string
	Visitors []string
	By       access.Actor
	Role     string
	At       time.Time
}

// RecordAttempt logs a persuasion attempt (home visit, phone call, …) to the case's ledger.
func (a *Activities) RecordAttempt(ctx context.Context, in AttemptInput) error {
	visitors := strings.Join(in.Visitors, "、")
	if err := a.Store.InsertDropoutAttempt(ctx, store.DropoutAttempt{ID: in.ID, CaseID: in.CaseID, Method: in.Method,
		Notes: in.Notes, Visitors: visitors, ByUser: in.By.UserID, At: in.At}); err != nil {
		return err
	}
	return a.audit(ctx, Audit{Actor: in.By, Role: in.Role, Action: "dropout.attempt_logged", Process: "dropout", CaseID: in.CaseID,
		After: map[string]any{"attempt_id": in.ID, "method": in.Method, "notes": in.Notes, "visitors": visitors}, At: in.At}, "")
}

// DropoutDueInput asks for successive deadlines: the first period counted from From, each next
// one from the end of the previous one.
type DropoutDueInput struct {
	From    time.Time
	Periods []calendar.Spec
}

// DropoutDue counts the case's deadlines on the installation's holiday calendar.
func (a *Activities) DropoutDue(ctx context.Context, in DropoutDueInput) ([]time.Time, error) {
	cal, err := a.Store.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	out, at := make([]time.Time, 0, len(in.Periods)), in.From
	for _, p := range in.Periods {
		at = p.Due(cal, at)
		out = append(out, at)
	}
	return out, nil
}

// SettleTaskInput ends an open task from inside its workflow rather than through a person's task
// action: State done (with an Outcome) when the case itself did what the task asked, cancelled
// when the task no longer has a purpose. Task is the workflow's projection of the ended task,
// with its revision; inputs scheduled before revisions existed have none (Task.ID is "").
type SettleTaskInput struct {
	TaskID  string
	State   string // casework.TaskDone or casework.TaskCancelled
	Outcome string
	Actor   access.Actor
	Role    string
	Comment string
	At      time.Time
	Task    casework.Task
}

// SettleDropoutTask closes a dropout task's projection, the reminders and superior escalations its
// lateness opened (the supervision office's stay open, as for completed tasks), and puts it on
// record, in one transaction (store.ProjectTask).
func (a *Activities) SettleDropoutTask(ctx context.Context, in SettleTaskInput) error {
	t := in.Task
	if t.ID == "" {
		// Scheduled before the workflow sent its projection: the store's row, ended here, as
		// before; without a revision it is older than any write that has one (store.ProjectTask).
		var err error
		if t, err = a.Store.TaskByID(ctx, in.TaskID); err != nil {
			return nonRetryable(fmt.Errorf("task %s: %w", in.TaskID, err))
		}
		at := in.At.UTC()
		t.State, t.Outcome, t.CompletedAt, t.CompletedBy, t.Revision = in.State, in.Outcome, &at, in.Actor.UserID, 0
	}
	before := map[string]any{"assignee": t.AssigneeID, "state": casework.TaskOpen}
	action := "task.completed"
	if in.State == casework.TaskCancelled {
		action = "task.withdrawn"
	}
	after := map[string]any{"task_id": t.ID, "kind": t.Kind, "state": t.State}
	if in.Outcome != "" {
		after["outcome"] = in.Outcome
	}
	if in.Comment != "" {
		after["comment"] = in.Comment
	}
	return a.Store.ProjectTask(ctx, t, entry(ctx, Audit{Actor: in.Actor, Role: in.Role, Action: action, Process: t.Process,
		CaseID: t.CaseID, Before: before, After: after, At: in.At}, ""))
}
