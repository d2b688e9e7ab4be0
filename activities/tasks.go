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

// TaskSpec describes a human task a workflow opens: who may act (a role at a unit, or one
// assignee), what they may decide, by when, and who is barred (separation of duties).
type TaskSpec struct {
	Kind          string
	Process       string
	CaseID        string
	Title         string
	CandidateRole string
	UnitCode      string
	AssigneeID    string
	Outcomes      []string
	Due           calendar.Spec
	// Exclude lists user ids that may not complete the task (the applicant, earlier approvers).
	Exclude []string
	// OwnerID may withdraw the case at this step (撤回) while nobody has claimed the task.
	OwnerID string
	// CommentRequired lists the outcomes that need a comment, the reason the case's people read
	// (a return, a rejection). Specs of tasks opened before it existed have none.
	CommentRequired []string
	// Ladderless: the task climbs no ladder of its own, because a case deadline at its due time
	// (Tasks.SetDeadline) escalates the same lateness (a rectification and its rectification_due).
	Ladderless bool `json:",omitempty"`
}

// OpenTaskInput opens task ID of workflow WorkflowID at Now (the workflow's clock).
type OpenTaskInput struct {
	ID         string
	WorkflowID string
	Spec       TaskSpec
	Now        time.Time
	OpenedBy   access.Actor
}

// RungAt is an escalation rung with the instant it fires.
type RungAt struct {
	Rung   int
	Target string
	At     time.Time
}

// TaskOpened is what the workflow keeps about an open task.
type TaskOpened struct {
	UnitID   string
	UnitPath string
	DueAt    time.Time
	Rungs    []RungAt
}

// ResolveTask finds the task's unit and computes its due time and escalation ladder on the
// calendar. It writes nothing: the workflow records the task before it becomes visible, so that
// no one can act on a task the workflow does not know yet.
func (a *Activities) ResolveTask(ctx context.Context, in OpenTaskInput) (TaskOpened, error) {
	unit, err := a.Store.UnitByCode(ctx, in.Spec.UnitCode)
	if err != nil {
		return TaskOpened{}, nonRetryable(fmt.Errorf("task %s unit %q: %w", in.ID, in.Spec.UnitCode, err))
	}
	cal, err := a.Store.Calendar(ctx)
	if err != nil {
		return TaskOpened{}, err
	}
	out := TaskOpened{UnitID: unit.ID, UnitPath: unit.Path, DueAt: in.Spec.Due.Due(cal, in.Now)}
	if in.Spec.Ladderless {
		return out, nil
	}
	ladder, err := a.Store.Ladder(ctx, in.Spec.Kind)
	if err != nil {
		return out, err
	}
	if len(ladder) > 0 {
		out.Rungs, err = countRungs(ladder, out.DueAt, cal)
	}
	return out, err
}

// ProjectTaskInput is a resolved task to show in inboxes. Revision is the task's first
// projection's (store.ProjectTask); 0 in inputs scheduled before revisions existed.
type ProjectTaskInput struct {
	Task     OpenTaskInput
	Opened   TaskOpened
	Revision int
}

// ProjectOpenTask writes an opened task into the store so that it shows in inboxes, and puts
// the opening on record.
func (a *Activities) ProjectOpenTask(ctx context.Context, p ProjectTaskInput) error {
	in, out := p.Task, p.Opened
	return a.Store.ProjectTask(ctx, casework.Task{ID: in.ID, WorkflowID: in.WorkflowID, Process: in.Spec.Process, Kind: in.Spec.Kind,
		CaseID: in.Spec.CaseID, Title: in.Spec.Title, CandidateRole: in.Spec.CandidateRole, UnitID: out.UnitID, UnitPath: out.UnitPath,
		AssigneeID: in.Spec.AssigneeID, State: casework.TaskOpen, Outcomes: strings.Join(in.Spec.Outcomes, ","), DueAt: out.DueAt,
		CreatedAt: in.Now, Revision: p.Revision},
		entry(ctx, Audit{Actor: access.System, Action: "task.opened", Process: in.Spec.Process, CaseID: in.Spec.CaseID,
			After: map[string]any{"task_id": in.ID, "kind": in.Spec.Kind, "role": in.Spec.CandidateRole, "unit": in.Spec.UnitCode,
				"assignee": in.Spec.AssigneeID, "due_at": out.DueAt}, At: in.Now}, ""))
}

// TaskChange is one change to an open or closing task, projected and put on record together.
type TaskChange struct {
	Task      casework.Task // the projection after the change
	Actor     access.Actor
	ActorRole string
	Action    string // task.completed, task.claimed, task.transferred, task.urged, …
	Comment   string
	Fields    map[string]string
	Before    map[string]any
	At        time.Time
	// CC are the user ids the task's case is copied to (task.cc): they read that case.
	CC []string `json:",omitempty"`
}

// ApplyTaskChange writes the projection and the audit entry of a task action together; a task
// it finishes also closes the reminders and superior escalations its lateness opened (the
// supervision office's stay open: it decides on accountability itself). See store.ProjectTask.
func (a *Activities) ApplyTaskChange(ctx context.Context, in TaskChange) error {
	after := map[string]any{"task_id": in.Task.ID, "kind": in.Task.Kind, "state": in.Task.State}
	if in.Task.Outcome != "" {
		after["outcome"] = in.Task.Outcome
	}
	if in.Task.AssigneeID != "" {
		after["assignee"] = in.Task.AssigneeID
	}
	if in.Comment != "" {
		after["comment"] = in.Comment
	}
	for k, v := range in.Fields {
		after[k] = v
	}
	if in.Task.DelegateID != "" {
		after["delegate"] = in.Task.DelegateID
	}
	e := entry(ctx, Audit{Actor: in.Actor, Role: in.ActorRole, Action: in.Action,
		Process: in.Task.Process, CaseID: in.Task.CaseID, Before: in.Before, After: after, At: in.At}, "")
	if len(in.CC) > 0 {
		return a.Store.ProjectTaskCC(ctx, in.Task, e, in.CC, in.Actor.UserID)
	}
	return a.Store.ProjectTask(ctx, in.Task, e)
}

// EscalateInput fires one rung for a task that is still open past its due time. Task is the
// workflow's projection of the task as the rung fires (with its revision; 0 in inputs scheduled
// before revisions existed): by the time the activity lands the task may have moved on.
type EscalateInput struct {
	Task   casework.Task
	Rung   RungAt
	Reason string
}

// Escalate records the rung: a reminder, or an escalation addressed to the superior unit, the
// township government, the county HQ or the supervision office, found from the task's unit. The
// record, the task's level and the audit entry commit together (store.RecordEscalation), and the
// copy of the task never moves the task backwards. A rung recorded late (the worker or the store
// was down when it fell due) says so: due_at is the rung's instant, recorded_at now.
func (a *Activities) Escalate(ctx context.Context, in EscalateInput) (store.Escalation, error) {
	src, err := a.Store.UnitByID(ctx, in.Task.UnitID)
	if err != nil {
		return store.Escalation{}, nonRetryable(err)
	}
	reason := in.Reason
	if reason == "" {
		reason = fmt.Sprintf("「%s」逾期未办（应于 %s 前办理）", in.Task.Title, in.Task.DueAt.In(calendar.CST).Format("2006-01-02 15:04"))
	}
	in.Task.EscalationLevel = in.Rung.Rung
	return a.escalate(ctx, src, store.Escalation{ID: fmt.Sprintf("%s-r%d", in.Task.ID, in.Rung.Rung), Process: in.Task.Process,
		CaseID: in.Task.CaseID, TaskID: in.Task.ID, TaskKind: in.Task.Kind, Rung: in.Rung.Rung, Target: in.Rung.Target,
		Reason: reason, DueAt: in.Rung.At}, &in.Task, map[string]any{"task_id": in.Task.ID, "rung": in.Rung.Rung})
}

// escalate is the one escalation function of every process, for a task's lateness and a case's
// deadline alike: it finds the target unit from the late unit (targetUnit) and who answers for
// it on the 包保 chain (responsibleFor), and records the escalation, the task's level when it
// is a task's, and the audit entry together, dated when recorded.
func (a *Activities) escalate(ctx context.Context, src store.Unit, e store.Escalation, task *casework.Task, more map[string]any) (store.Escalation, error) {
	target, err := a.targetUnit(ctx, src, e.Target)
	if err != nil {
		return store.Escalation{}, nonRetryable(fmt.Errorf("escalation target %s for unit %s: %w", e.Target, src.Code, err))
	}
	responsible, err := a.responsibleFor(ctx, src, target, e.Target)
	if err != nil {
		return store.Escalation{}, err
	}
	e.UnitID, e.UnitPath, e.SourceUnit, e.ResponsibleID, e.RecordedAt = target.ID, target.Path, src.Code, responsible, time.Now().UTC()
	_, err = a.Store.RecordEscalation(ctx, e, task, escalationEntry(ctx, e, target, more))
	return e, err
}

// escalationEntry is an escalation's audit entry. It is dated when the escalation was recorded,
// so that the trail's order (its seq) and its times agree, and carries when it fell due.
func escalationEntry(ctx context.Context, e store.Escalation, target store.Unit, more map[string]any) store.AuditEntry {
	after := map[string]any{"escalation_id": e.ID, "to_unit": target.Code, "reason": e.Reason, "due_at": e.DueAt,
		"recorded_at": e.RecordedAt}
	for k, v := range more {
		after[k] = v
	}
	return entry(ctx, Audit{Actor: access.System, Action: "escalation." + e.Target, Process: e.Process, CaseID: e.CaseID,
		After: after, At: e.RecordedAt}, "")
}

// targetUnit finds where a rung goes: reminders stay with the task's unit; "superior" climbs the
// 包保 chain one unit up; township_gov and county_hq are found by kind (and township); the
// supervision office is the bureau's supervision section.
func (a *Activities) targetUnit(ctx context.Context, src store.Unit, target string) (store.Unit, error) {
	switch target {
	case casework.TargetRemind:
		return src, nil
	case casework.TargetSuperior:
		if src.ParentID == nil {
			return src, nil
		}
		return a.Store.UnitByID(ctx, *src.ParentID)
	case casework.TargetTownshipGov:
		us, err := a.Store.UnitsByKind(ctx, store.KindTownshipGov, src.TownshipCode)
		if err != nil || len(us) == 0 || src.TownshipCode == "" {
			return store.Unit{}, fmt.Errorf("no township government for township %q: %w", src.TownshipCode, store.ErrNotFound)
		}
		return us[0], nil
	case casework.TargetCountyHQ:
		us, err := a.Store.UnitsByKind(ctx, store.KindCountyHQ, "")
		if err != nil || len(us) == 0 {
			return store.Unit{}, fmt.Errorf("no county HQ unit: %w", store.ErrNotFound)
		}
		return us[0], nil
	case casework.TargetSupervision:
		return a.SupervisionUnit(ctx)
	}
	return store.Unit{}, fmt.Errorf("unknown target %q: %w", target, store.ErrNotFound)
}

// responsibleFor names who answers for an escalation on the 包保 chain, or "" when nobody is set:
// the rung of the chain that matches the target. A reminder and the supervision office's copy
// name who answers for the late unit itself (the section head who 包保 the school); a
// superior's escalation names who answers for that superior unit — but a bureau section's
// superior is the bureau itself, so it names who answers for the section (its 分管 leader on the
// chain, issue 24); the township government and the county HQ deal with the township, so they
// name who answers for the township (the bureau leader who 包保 it).
func (a *Activities) responsibleFor(ctx context.Context, src, target store.Unit, kind string) (string, error) {
	from := src
	switch kind {
	case casework.TargetSuperior:
		if src.Kind != store.KindSection {
			from = target
		}
	case casework.TargetTownshipGov, casework.TargetCountyHQ:
		if us, err := a.Store.UnitsByKind(ctx, store.KindTownshipSchool, src.TownshipCode); err != nil {
			return "", err
		} else if len(us) > 0 && src.TownshipCode != "" {
			from = us[0]
		}
	}
	id, err := a.Store.ResponsibleForUnit(ctx, from.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// SupervisionUnitCode is the code of the supervision office (监察室) unit the seed data creates;
// an installation may name its own through the setting "supervision_unit".
const SupervisionUnitCode = "JS-JCS"

// SupervisionUnit returns the supervision office's unit.
func (a *Activities) SupervisionUnit(ctx context.Context) (store.Unit, error) {
	code, err := a.Store.Setting(ctx, "supervision_unit")
	if err != nil {
		code = SupervisionUnitCode
	}
	return a.Store.UnitByCode(ctx, code)
}

// RaiseInput records an escalation that is not a task's lateness: a rung of a case deadline
// (Kind is its ladder kind, Rung its number), or a process's own escalation (Kind and Rung
// empty in inputs scheduled before deadlines had ladders).
type RaiseInput struct {
	ID       string // stable per event, so retries write once
	Process  string
	CaseID   string
	UnitCode string // the case's unit, from which the target is found
	Target   string
	Reason   string
	At       time.Time // when it fell due
	Kind     string
	Rung     int
	Deadline string // the deadline's name in its case
}

// Raise records a case-level escalation to the target found from the case's unit.
func (a *Activities) Raise(ctx context.Context, in RaiseInput) (store.Escalation, error) {
	src, err := a.Store.UnitByCode(ctx, in.UnitCode)
	if err != nil {
		return store.Escalation{}, nonRetryable(err)
	}
	var more map[string]any
	if in.Deadline != "" {
		more = map[string]any{"deadline": in.Deadline, "rung": in.Rung}
	}
	return a.escalate(ctx, src, store.Escalation{ID: in.ID, Process: in.Process, CaseID: in.CaseID, TaskKind: in.Kind, Rung: in.Rung,
		Target: in.Target, Reason: in.Reason, DueAt: in.At}, nil, more)
}

// ResolveDeadlineInput asks for the rungs of a case deadline of a kind falling due At.
type ResolveDeadlineInput struct {
	Kind string
	At   time.Time
}

// ResolveDeadline counts a case deadline's rungs on the calendar from its instant: the kind's
// stored ladder, or the one its process declares (casework) while an admin has stored none. A
// deadline never takes the "default" ladder of tasks: its targets are the process's.
func (a *Activities) ResolveDeadline(ctx context.Context, in ResolveDeadlineInput) ([]RungAt, error) {
	stored, err := a.Store.OwnLadder(ctx, in.Kind)
	if err != nil {
		return nil, err
	}
	cal, err := a.Store.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 {
		return DeclaredRungs(in.Kind, in.At, cal)
	}
	return countRungs(stored, in.At, cal)
}

// DeclaredRungs are the rungs of a case deadline falling due at, on the ladder its process
// declares for the kind (casework), counted on cal (tests fake ResolveDeadline with it).
func DeclaredRungs(kind string, at time.Time, cal *calendar.Calendar) ([]RungAt, error) {
	declared, ok := casework.DeadlineKindNamed(kind)
	if !ok {
		return nil, nonRetryable(fmt.Errorf("no case deadline kind %q", kind))
	}
	rungs := make([]store.Rung, len(declared.Ladder))
	for i, r := range declared.Ladder {
		rungs[i] = store.Rung{TaskKind: kind, Rung: i + 1, After: r.After, Target: r.Target}
	}
	return countRungs(rungs, at, cal)
}

func countRungs(rungs []store.Rung, at time.Time, cal *calendar.Calendar) ([]RungAt, error) {
	out := make([]RungAt, 0, len(rungs))
	for _, r := range rungs {
		spec, err := calendar.ParseOffset(r.After)
		if err != nil {
			return nil, nonRetryable(fmt.Errorf("escalation ladder %s rung %d: %w", r.TaskKind, r.Rung, err))
		}
		out = append(out, RungAt{Rung: r.Rung, Target: r.Target, At: spec.Due(cal, at)})
	}
	return out, nil
}

// CloseEscalationsInput closes escalations a case made moot, with the decision they record.
type CloseEscalationsInput struct {
	IDs      []string
	Decision string
}

// CloseEscalations closes a cleared deadline's open escalations; one already decided by its
// target, or never recorded, is left as it is.
func (a *Activities) CloseEscalations(ctx context.Context, in CloseEscalationsInput) error {
	for _, id := range in.IDs {
		if err := a.Store.CloseEscalation(ctx, id, in.Decision, access.System.UserID); err != nil &&
			!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
