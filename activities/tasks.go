package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

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
	// Signing makes the task a multi-approver step (会签/或签/票签/依次, casework.Signing): the kit
	// opens one task per signer and hands the process one decision. nil takes the kind's, where
	// the registry fixes one (casework.TaskKind.Signing).
	Signing *casework.Signing `json:",omitempty"`
	// SameApprover is casework.SameApproverOnce to pass the task with the previous step's
	// decision when the person who passed that step may decide this one too; "" takes the kind's
	// policy (casework.TaskKind.SameApprover), which by default asks them again.
	SameApprover string `json:",omitempty"`
}

// Signer is where one signer's task of a multi-approver step goes: to a person (UserID), or to
// the pool of Role at the unit (UserID "": whoever holds it there takes it).
type Signer struct {
	UserID   string `json:",omitempty"`
	Username string `json:",omitempty"`
	Role     string
	UnitCode string
	UnitID   string
	UnitPath string
}

// StandIn is where a task goes that nobody could act on at its unit (nobody active holds its
// role over the unit, or only people the task bars, such as the applicant): to the holders of Role
// at the superior unit UnitCode, the nearest unit up the tree that has one. From is the unit it
// was meant for; Reason is "unstaffed" or "only_barred". Role is "" when no unit up the tree has
// anyone to stand in: the task then stays at its unit, for whoever is given the role there.
type StandIn struct {
	Role     string `json:",omitempty"`
	UnitCode string `json:",omitempty"`
	From     string
	Reason   string
}

// StandInRoles are the roles that stand in, at a superior unit, for a unit where nobody can act
// on a task, in order of preference: the unit's leaders first.
var StandInRoles = []string{casework.RoleSchoolLeader, casework.RoleTownshipStaff, casework.RoleBureauLeader,
	casework.RoleEducationSection, casework.RoleAidCenter, casework.RolePAOffice, casework.RoleInspector}

// Placed is the spec as the task was placed: with a stand-in's role and unit in place of its own.
func Placed(spec TaskSpec, opened TaskOpened) TaskSpec {
	if si := opened.StandIn; si != nil && si.Role != "" && len(opened.Signers) == 0 { // a step's signers are each placed
		spec.CandidateRole, spec.UnitCode = si.Role, si.UnitCode
	}
	return spec
}

// OpenTaskInput opens task ID of workflow WorkflowID at Now (the workflow's clock).
type OpenTaskInput struct {
	ID         string
	WorkflowID string
	Spec       TaskSpec
	Now        time.Time
	OpenedBy   access.Actor
	// AsSigner: the task is one signer's part of a multi-approver step, already placed (its
	// assignee, or its pool's role and unit): ResolveTask only counts its due time and ladder.
	AsSigner bool `json:",omitempty"`
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
	// Signing and Signers: the task is a multi-approver step, whose signers' tasks go where
	// Signers say, in order (the people the task bars are never among them). Both empty for a
	// task on its own, and in results recorded before steps existed.
	Signing *casework.Signing `json:",omitempty"`
	Signers []Signer          `json:",omitempty"`
	// StandIn: nobody could act on the task at its unit; UnitID and UnitPath are then the
	// stand-in unit's (Placed).
	StandIn *StandIn `json:",omitempty"`
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
	signing := in.Spec.Signing
	if k, ok := casework.TaskKindNamed(in.Spec.Kind); ok && signing == nil && k.Signing != nil {
		fixed := *k.Signing
		signing = &fixed
	}
	switch {
	case in.AsSigner:
	case signing != nil:
		if err := a.placeSigners(ctx, in.Spec, *signing, unit, &out); err != nil {
			return out, err
		}
	case in.Spec.AssigneeID == "":
		if err := a.placeTask(ctx, in.Spec, unit, &out); err != nil {
			return out, err
		}
	}
	if in.Spec.Ladderless {
		return out, nil
	}
	ladder, err := a.taskLadder(ctx, in.Spec.Kind)
	if err != nil {
		return out, err
	}
	if len(ladder) > 0 {
		out.Rungs, err = countRungs(ladder, out.DueAt, cal)
	}
	return out, err
}

// taskLadder is a task kind's ladder: the one an admin stored for it, else the timeout policy its
// process declares (casework.TaskKind.Ladder), else the default ladder.
func (a *Activities) taskLadder(ctx context.Context, kind string) ([]store.Rung, error) {
	own, err := a.Store.OwnLadder(ctx, kind)
	if err != nil || len(own) > 0 {
		return own, err
	}
	if k, ok := casework.TaskKindNamed(kind); ok && len(k.Ladder) > 0 {
		rungs := make([]store.Rung, len(k.Ladder))
		for i, r := range k.Ladder {
			rungs[i] = store.Rung{TaskKind: kind, Rung: i + 1, After: r.After, Target: r.Target}
		}
		return rungs, nil
	}
	return a.Store.Ladder(ctx, casework.DefaultLadderKind)
}

// placeTask applies the empty-approver policy to a task for a role at a unit: when nobody active
// holds the role over the unit, or only people the task bars (the applicant is the school's only
// leader), it goes to the superior unit's holders (standIn) and out says so; ProjectOpenTask then
// alerts the admins. Never a task nobody can see, never self-approval.
func (a *Activities) placeTask(ctx context.Context, spec TaskSpec, unit store.Unit, out *TaskOpened) error {
	holders, err := a.Store.HoldersOver(ctx, spec.CandidateRole, unit.Path)
	if err != nil {
		return err
	}
	reason := "unstaffed"
	for _, h := range holders {
		if !slices.Contains(spec.Exclude, h.UserID) {
			return nil
		}
		reason = "only_barred"
	}
	si, at, err := a.standIn(ctx, unit, spec.Exclude)
	if err != nil {
		return err
	}
	si.Reason = reason
	if si.Role != "" {
		out.UnitID, out.UnitPath = at.ID, at.Path
	}
	out.StandIn = &si
	return nil
}

// standIn finds, up the unit tree from unit, the nearest unit where someone not barred holds
// one of StandInRoles, and the role they hold (the most preferred one there). Role is "" when
// there is nobody up to the root.
func (a *Activities) standIn(ctx context.Context, unit store.Unit, exclude []string) (StandIn, store.Unit, error) {
	si := StandIn{From: unit.Code}
	for at := unit; at.ParentID != nil; {
		parent, err := a.Store.UnitByID(ctx, *at.ParentID)
		if err != nil {
			return si, store.Unit{}, err
		}
		at = parent
		hs, err := a.Store.HoldersAt(ctx, "", at.ID)
		if err != nil {
			return si, store.Unit{}, err
		}
		for _, role := range StandInRoles {
			if slices.ContainsFunc(hs, func(h store.Holder) bool { return h.Role == role && !slices.Contains(exclude, h.UserID) }) {
				si.Role, si.UnitCode = role, at.Code
				return si, at, nil
			}
		}
	}
	return si, store.Unit{}, nil
}

// placeSigners resolves a multi-approver step's signers: the people named (active, not barred),
// in order; or Count places in the pool of the role at the unit, distinct holders each, with the
// places the unit's holders cannot fill going to the superior unit's (standIn); or everyone
// holding the role at exactly the unit. A step left without signers has one place, at the stand-in.
func (a *Activities) placeSigners(ctx context.Context, spec TaskSpec, sg casework.Signing, unit store.Unit, out *TaskOpened) error {
	if err := sg.Check(); err != nil {
		return nonRetryable(fmt.Errorf("task %s: %w", spec.Kind, err))
	}
	if sg.Role == "" {
		sg.Role = spec.CandidateRole
	}
	if sg.UnitCode == "" {
		sg.UnitCode = unit.Code
	} else if sg.UnitCode != unit.Code {
		u, err := a.Store.UnitByCode(ctx, sg.UnitCode)
		if err != nil {
			return nonRetryable(fmt.Errorf("signers' unit %q: %w", sg.UnitCode, err))
		}
		unit = u
	}
	if sg.Pass == "" && len(spec.Outcomes) > 0 {
		sg.Pass = spec.Outcomes[0]
	}
	out.Signing = &sg
	place := func(userID, username string) Signer {
		return Signer{UserID: userID, Username: username, Role: sg.Role, UnitCode: unit.Code, UnitID: unit.ID, UnitPath: unit.Path}
	}
	var signers []Signer
	switch {
	case len(sg.UserIDs) > 0:
		for _, id := range sg.UserIDs {
			u, err := a.Store.UserByID(ctx, id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
				continue
			} else if err != nil {
				return err
			}
			if !slices.Contains(spec.Exclude, id) && !slices.ContainsFunc(signers, func(s Signer) bool { return s.UserID == id }) {
				signers = append(signers, place(u.ID, u.Username))
			}
		}
	case sg.Count > 0:
		hs, err := a.Store.HoldersOver(ctx, sg.Role, unit.Path)
		if err != nil {
			return err
		}
		free := slices.DeleteFunc(hs, func(h store.Holder) bool { return slices.Contains(spec.Exclude, h.UserID) })
		for i := 0; i < sg.Count && i < len(free); i++ {
			signers = append(signers, place("", ""))
		}
		if missing := sg.Count - len(signers); missing > 0 {
			si, at, err := a.standIn(ctx, unit, spec.Exclude)
			if err != nil {
				return err
			}
			si.Reason = "unstaffed"
			out.StandIn = &si
			for ; missing > 0 && si.Role != ""; missing-- {
				signers = append(signers, Signer{Role: si.Role, UnitCode: at.Code, UnitID: at.ID, UnitPath: at.Path})
			}
			for ; missing > 0; missing-- {
				signers = append(signers, place("", ""))
			}
		}
	default:
		hs, err := a.Store.HoldersAt(ctx, sg.Role, unit.ID)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if !slices.Contains(spec.Exclude, h.UserID) {
				signers = append(signers, place(h.UserID, h.Username))
			}
		}
	}
	if len(signers) == 0 {
		si, at, err := a.standIn(ctx, unit, spec.Exclude)
		if err != nil {
			return err
		}
		si.Reason = "unstaffed"
		out.StandIn = &si
		if si.Role != "" {
			signers = []Signer{{Role: si.Role, UnitCode: at.Code, UnitID: at.ID, UnitPath: at.Path}}
		} else {
			signers = []Signer{place("", "")}
		}
	}
	out.Signers = signers
	return nil
}

// ProjectTaskInput is a resolved task to show in inboxes. Revision is the task's first
// projection's (store.ProjectTask); 0 in inputs scheduled before revisions existed.
type ProjectTaskInput struct {
	Task     OpenTaskInput
	Opened   TaskOpened
	Revision int
	// StepID, Signing and AddedTo place a signer's task in its step (casework.Task); "" for a
	// task on its own.
	StepID  string `json:",omitempty"`
	Signing string `json:",omitempty"`
	AddedTo string `json:",omitempty"`
}

// ProjectOpenTask writes an opened task into the store so that it shows in inboxes, and puts
// the opening on record. A task that went to a stand-in (nobody could act on it at its unit)
// alerts the admins first: each gets a copy of the case saying so (reason "unstaffed").
func (a *Activities) ProjectOpenTask(ctx context.Context, p ProjectTaskInput) error {
	in, out := p.Task, p.Opened
	spec := Placed(in.Spec, out)
	if si := out.StandIn; si != nil {
		to := si.UnitCode
		if si.Role == "" {
			to = ""
		}
		label := "无人可办的待办已转上级单位"
		if si.Role == "" {
			label = "无人可办的待办：请为该单位配备办理人员"
		}
		if err := a.Store.CopyToAdmins(ctx, store.Copy{CaseID: spec.CaseID, Process: spec.Process, TaskID: in.ID,
			Title: label + "：" + spec.Title, UnitPath: out.UnitPath, By: access.System.UserID, Reason: "unstaffed", Label: label, At: in.Now},
			entry(ctx, Audit{Actor: access.System, Action: "task.stand_in", Process: spec.Process, CaseID: spec.CaseID,
				After: map[string]any{"task_id": in.ID, "kind": spec.Kind, "role": in.Spec.CandidateRole, "unit": si.From, "reason": si.Reason,
					"to_role": si.Role, "to_unit": to}, At: in.Now}, "/stand-in")); err != nil {
			return err
		}
	}
	return a.Store.ProjectTask(ctx, casework.Task{ID: in.ID, WorkflowID: in.WorkflowID, Process: spec.Process, Kind: spec.Kind,
		CaseID: spec.CaseID, Title: spec.Title, CandidateRole: spec.CandidateRole, UnitID: out.UnitID, UnitPath: out.UnitPath,
		AssigneeID: spec.AssigneeID, State: casework.TaskOpen, Outcomes: strings.Join(spec.Outcomes, ","), DueAt: out.DueAt,
		CreatedAt: in.Now, Revision: p.Revision, StepID: p.StepID, Signing: p.Signing, AddedTo: p.AddedTo, OwnerID: spec.OwnerID},
		entry(ctx, Audit{Actor: access.System, Action: "task.opened", Process: spec.Process, CaseID: spec.CaseID,
			After: map[string]any{"task_id": in.ID, "kind": spec.Kind, "role": spec.CandidateRole, "unit": spec.UnitCode,
				"assignee": spec.AssigneeID, "due_at": out.DueAt}, At: in.Now}, ""))
}

// OpenedTask is a task resolved and projected by a process's own write (workflows
// Tasks.OpenWith): its spec as the write opened it, and where it is.
type OpenedTask struct {
	Spec   TaskSpec
	Opened TaskOpened
}

// openTask is ResolveTask then ProjectOpenTask (at revision) inside a process's own activity. A
// multi-approver step (signers placed) is not projected: the kit opens its signers' tasks itself.
func (a *Activities) openTask(ctx context.Context, in OpenTaskInput, revision int) (OpenedTask, error) {
	out := OpenedTask{Spec: in.Spec}
	var err error
	if out.Opened, err = a.ResolveTask(ctx, in); err != nil || len(out.Opened.Signers) > 0 {
		return out, err
	}
	return out, a.ProjectOpenTask(ctx, ProjectTaskInput{Task: in, Opened: out.Opened, Revision: revision})
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
	// Then is the step the change makes in the process's own case (workflows Tasks.After: a
	// subsidy review's decision moves the application), written by the same activity once the
	// task's projection and entry are, so that a person's decision and what it does take one
	// activity. nil in every change but those a process asked for.
	Then *CaseStep `json:",omitempty"`
}

// CaseStep is a process's own write that rides with a task change (TaskChange.Then): exactly one
// field is set, one per process that asks for it.
type CaseStep struct {
	Application *ApplicationStep `json:",omitempty"`
}

// apply writes the step; its entry's key is the activity's with "/step", apart from the task
// change's own entry.
func (c CaseStep) apply(ctx context.Context, a *Activities) error {
	if c.Application != nil {
		return a.setApplication(ctx, *c.Application, "/step")
	}
	return temporal.NewNonRetryableApplicationError("a task change's step names no process's write", "invalid", nil)
}

// ApplyTaskChange writes the projection and the audit entry of a task action together; a task
// it finishes also closes the reminders and superior escalations its lateness opened (the
// supervision office's stay open: it decides on accountability itself). See store.ProjectTask.
// Then, when the change carries one, the process's own step (TaskChange.Then): a retry after
// the projection landed finds it there and writes the step.
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
	var err error
	if len(in.CC) > 0 {
		err = a.Store.ProjectTaskCC(ctx, in.Task, e, in.CC, in.Actor.UserID)
	} else {
		err = a.Store.ProjectTask(ctx, in.Task, e)
	}
	if err != nil || in.Then == nil {
		return err
	}
	return in.Then.apply(ctx, a)
}

// EscalateInput fires one rung for a task that is still open past its due time. Task is the
// workflow's projection of the task as the rung fires (with its revision; 0 in inputs scheduled
// before revisions existed): by the time the activity lands the task may have moved on.
type EscalateInput struct {
	Task   casework.Task
	Rung   RungAt
	Reason string
	// HeldBy is who held the task when the rung fell due, when the holder changed between then
	// and its firing (a late rung: the worker was behind). nil: the task's holder now, as before.
	HeldBy *string `json:",omitempty"`
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
	holder := casework.Holder(in.Task.AssigneeID, in.Task.DelegateID)
	if in.HeldBy != nil {
		holder = *in.HeldBy
	}
	return a.escalate(ctx, src, store.Escalation{ID: fmt.Sprintf("%s-r%d", in.Task.ID, in.Rung.Rung), Process: in.Task.Process,
		CaseID: in.Task.CaseID, TaskID: in.Task.ID, TaskKind: in.Task.Kind, Rung: in.Rung.Rung, Target: in.Rung.Target,
		Reason: reason, DueAt: in.Rung.At, HolderID: holder}, &in.Task, map[string]any{"task_id": in.Task.ID, "rung": in.Rung.Rung})
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
	responsible, err := a.responsibleFor(ctx, src, target, e)
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

// targetUnit finds where a rung goes: reminders, the teacher's and the school leader's rungs stay
// with the late unit (a school: its teachers and leaders act there); "superior" climbs the 包保
// chain one unit up; township_gov and county_hq are found by kind (and township); the education
// section and the supervision office are the bureau's sections of those names; the bureau leader
// is the bureau (its leaders act county-wide there).
func (a *Activities) targetUnit(ctx context.Context, src store.Unit, target string) (store.Unit, error) {
	switch target {
	case casework.TargetRemind, casework.TargetTeacher, casework.TargetSchoolLeader:
		return src, nil
	case casework.TargetEducationSection:
		return a.sectionUnit(ctx, "education_section_unit", EducationSectionUnitCode)
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
	case casework.TargetBureauLeader:
		us, err := a.Store.UnitsByKind(ctx, store.KindBureau, "")
		if err != nil || len(us) == 0 {
			return store.Unit{}, fmt.Errorf("no bureau unit: %w", store.ErrNotFound)
		}
		return us[0], nil
	}
	return store.Unit{}, fmt.Errorf("unknown target %q: %w", target, store.ErrNotFound)
}

// responsibleFor names who answers for an escalation on the 包保 chain, or "" when nobody is set:
// the rung of the chain that matches the target. A reminder and the supervision office's copy
// name who answers for the late unit itself (the section head who 包保 the school); a
// superior's escalation names who answers for that superior unit — but a bureau section's
// superior is the bureau itself, so it names who answers for the section (its 分管 leader on the
// chain, issue 24); the township government and the county HQ deal with the township, so they
// name who answers for the township (the bureau leader who 包保 it). The bureau leader's, like a
// reminder, names who answers for the late unit: for a bureau office, its 分管 leader.
//
// The teacher's rung names who holds the duty (the task's holder, the teacher a deadline names)
// and the school leader's rung the unit's first school leader; without one, either falls back to
// the chain like a reminder.
func (a *Activities) responsibleFor(ctx context.Context, src, target store.Unit, e store.Escalation) (string, error) {
	from := src
	switch e.Target {
	case casework.TargetTeacher:
		if e.HolderID != "" {
			return e.HolderID, nil
		}
	case casework.TargetSchoolLeader:
		leaders, err := a.Store.HoldersAt(ctx, casework.RoleSchoolLeader, target.ID)
		if err != nil {
			return "", err
		}
		if len(leaders) > 0 {
			return leaders[0].UserID, nil
		}
	case casework.TargetEducationSection:
		from = target
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

// EducationSectionUnitCode is the code of the education section (教育股) unit the seed data
// creates; an installation may name its own through the setting "education_section_unit".
const EducationSectionUnitCode = "JS-JYG"

// SupervisionUnit returns the supervision office's unit.
func (a *Activities) SupervisionUnit(ctx context.Context) (store.Unit, error) {
	return a.sectionUnit(ctx, "supervision_unit", SupervisionUnitCode)
}

// sectionUnit is the bureau section an installation names in the setting, else the seed's code.
func (a *Activities) sectionUnit(ctx context.Context, setting, seedCode string) (store.Unit, error) {
	code, err := a.Store.Setting(ctx, setting)
	if err != nil {
		code = seedCode
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
	// HolderID is who holds the duty (a pairing's teacher, a send-home plan's lead teacher): the
	// teacher's rung names them ("" in inputs scheduled before deadlines named one).
	HolderID string
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
		Target: in.Target, Reason: in.Reason, DueAt: in.At, HolderID: in.HolderID}, nil, more)
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
