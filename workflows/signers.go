package workflows

// Multi-approver steps and added signers (会签/或签/票签/依次, 加签·减签; issue 18), in the kit's
// one task mechanism: the same task-action Update, validator and projection path as every other
// task action.
//
// A step is several tasks, one per signer, each a task like any other (in its signer's inbox,
// with its own due time and ladder; claimed, transferred, delegated, urged as usual). Its first
// task is its anchor: the process waits on the anchor's id (Open, Wait, WaitAny, Settle and Carry
// treat the step as one task) and gets one decision, with every signer's vote. A task on its own
// becomes the anchor of a step when its holder adds signers to it.
//
// How a step decides (tally): every signer added by 加签 must pass, and the first who does not
// decides the step with their outcome; the step's own signers decide by its mode (all: each must
// pass, the first who does not decides; any: the first decision decides; ratio: Num/Den of them
// must pass, and the step fails once they no longer can; sequence: one after the other, each
// must pass). Once decided, the step's other open tasks end (task.step_ended): nothing is left
// in anybody's inbox. A task held by signers added before it cannot be decided until they have
// all passed; signers added after a task are asked once it passes. 减签 removes added signers who
// have not acted yet; the signers the process asked for are not removed.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/casework"
)

// MaxSigners is how many signers one add-signers action may add.
const MaxSigners = 10

// StepState is a step's own state, held by its anchor.
type StepState struct {
	// Signing is the step's mode and pass outcome; Mode "" for a task on its own that had
	// signers added to it.
	Signing casework.Signing
	// Members are every task of the step ever opened, in order, the anchor first.
	Members []string
	// Queue are signers not asked yet: a sequence's later signers, signers added after a task.
	Queue []QueuedSigner `json:",omitempty"`
	// Votes are the signers' decisions, in order.
	Votes []Vote `json:",omitempty"`
	// Result is the step's decision, which the process's waiter gets.
	Result *TaskResult `json:",omitempty"`
	// Carried are the step's other open tasks, across continue-as-new (Carry, NewTasks).
	Carried []TaskState `json:",omitempty"`
	// writing counts the acts whose effects on the step are still being written: the step's
	// waiter goes on only once its ended tasks and its decision are on record, so that they come
	// before what the process does next. (Never non-zero across continue-as-new: Quiesce waits
	// for every handler.)
	writing int
	// deciding: a vote of the step is in its process's Before step (Tasks.Before); every action
	// on the step's tasks is refused until it is done. Never carried, as Task.deciding.
	deciding bool
}

// stepDeciding reports whether a vote of the task's step is in its Before step.
func (t *Tasks) stepDeciding(task *TaskState) bool {
	anchor := t.anchorOf(task)
	return anchor != nil && anchor.Step != nil && anchor.Step.deciding
}

// runsBefore reports whether a completion of the task runs its kind's Before step: every
// completion of a task on its own; on a signer's task only the vote that would decide its step
// (steps of cases before "before-at-step-decision" ran it for every vote, and replay so).
func (t *Tasks) runsBefore(ctx workflow.Context, task *TaskState, a TaskAction) bool {
	anchor := t.anchorOf(task)
	if anchor == nil || anchor.Step == nil || !t.changed(ctx, "before-at-step-decision") {
		return true
	}
	return t.decides(ctx, anchor, task, a)
}

// decides reports whether the vote a on the step's task m would decide the step: the step's
// tally with the vote counted, then put back as it was (nothing is written or recorded).
func (t *Tasks) decides(ctx workflow.Context, anchor, m *TaskState, a TaskAction) bool {
	step := anchor.Step
	votes, result := step.Votes, m.Result
	added := ""
	if m.AddedTo != "" {
		added = m.Signing
	}
	now := workflow.Now(ctx)
	m.Result = &TaskResult{Outcome: a.Outcome, By: a.Actor, At: now}
	step.Votes = append(slices.Clone(votes), Vote{TaskID: m.ID, UserID: a.Actor.UserID, Username: a.Actor.Username, Outcome: a.Outcome,
		Added: added, At: now})
	_, _, by := t.tally(anchor)
	step.Votes, m.Result = votes, result
	return by != nil
}

// StepVotes are the votes cast so far in the step of the task (nil for a task on its own): a
// process's Before step reads who passed before the deciding vote, for its record.
func (t *Tasks) StepVotes(taskID string) []Vote {
	task := t.open[taskID]
	if task == nil {
		return nil
	}
	anchor := t.anchorOf(task)
	if anchor == nil || anchor.Step == nil {
		return nil
	}
	return slices.Clone(anchor.Step.Votes)
}

// settled reports whether a waiter may take the task's decision: it has one and, for a step,
// every write of the acts that decided it is done; in a run that writes locally, the decision's
// own write too (TaskState.recording).
func settled(task *TaskState) bool {
	return decided(task) != nil && (task.Step == nil || task.Step.writing == 0) && !task.recording
}

// QueuedSigner is a signer the step will ask later: one of a sequence (Added ""), or one added
// after the task AddedTo (casework.SignAfter), asked once that task passes.
type QueuedSigner struct {
	Signer  activities.Signer
	Added   string `json:",omitempty"`
	AddedTo string `json:",omitempty"`
	AddedBy string `json:",omitempty"`
}

// Vote is one signer's decision on their task of a step.
type Vote struct {
	TaskID   string
	UserID   string
	Username string
	Outcome  string
	Comment  string `json:",omitempty"`
	Added    string `json:",omitempty"` // before, after, parallel for a signer added by 加签
	At       time.Time
}

// modeLabel is how the step's own signers sign, as task rows carry it: all, any, sequence,
// ratio:2/3.
func modeLabel(sg casework.Signing) string {
	if sg.Mode == casework.SignRatio {
		return fmt.Sprintf("%s:%d/%d", sg.Mode, sg.Num, sg.Den)
	}
	return sg.Mode
}

// anchorOf is the anchor of the task's step, nil for a task on its own.
func (t *Tasks) anchorOf(task *TaskState) *TaskState {
	if task.StepID == "" {
		return nil
	}
	if task.StepID == task.ID {
		return task
	}
	return t.open[task.StepID]
}

// members are the step's tasks still known to the run, in order.
func (t *Tasks) members(anchor *TaskState) []*TaskState {
	var out []*TaskState
	for _, id := range anchor.Step.Members {
		if m := t.open[id]; m != nil {
			out = append(out, m)
		}
	}
	return out
}

// place puts a signer's task where its signer is: to them, or to the pool of the role at the unit.
func place(m *TaskState, s activities.Signer) {
	m.Spec.AssigneeID, m.Spec.CandidateRole, m.Spec.UnitCode, m.Spec.Signing = s.UserID, s.Role, s.UnitCode, nil
	m.Assignee, m.SignerName = s.UserID, s.Username
	m.Opened.UnitID, m.Opened.UnitPath = s.UnitID, s.UnitPath
}

// newMember is a new task of the step for signer s, on the spec of base (the anchor, or the task
// the signer is added to), known to the step and the run at once.
func (t *Tasks) newMember(ctx workflow.Context, anchor, base *TaskState, s activities.Signer, added, addedTo, addedBy string) *TaskState {
	t.seq++
	m := &TaskState{ID: fmt.Sprintf("%s-t%d", t.wfID, t.seq), Spec: base.Spec, Created: workflow.Now(ctx), StepID: anchor.ID,
		Signing: anchor.Signing, AddedTo: addedTo, AddedBy: addedBy}
	if added != "" {
		m.Signing = added
	}
	m.Spec.Exclude = slices.Clone(base.Spec.Exclude)
	if added == "" {
		// A step's own signers are distinct people: who signed it is barred from its later tasks.
		for _, v := range anchor.Step.Votes {
			if v.Added == "" && !slices.Contains(m.Spec.Exclude, v.UserID) {
				m.Spec.Exclude = append(m.Spec.Exclude, v.UserID)
			}
		}
	}
	m.Opened = activities.TaskOpened{DueAt: base.Opened.DueAt, Rungs: base.Opened.Rungs}
	place(m, s)
	anchor.Step.Members = append(anchor.Step.Members, m.ID)
	t.open[m.ID] = m
	return m
}

// openStep opens a multi-approver step whose signers ResolveTask placed: the anchor is the first
// signer's task; every other signer's task opens now, except a sequence's, which are asked one
// after the other. All of them are known to the run before any is in an inbox.
func (t *Tasks) openStep(ctx workflow.Context, anchor *TaskState, in activities.OpenTaskInput) error {
	sg := *anchor.Opened.Signing
	signers := anchor.Opened.Signers
	anchor.StepID, anchor.Signing = anchor.ID, modeLabel(sg)
	anchor.Step = &StepState{Signing: sg, Members: []string{anchor.ID}}
	place(anchor, signers[0])
	t.open[anchor.ID] = anchor
	opened := []*TaskState{anchor}
	for _, s := range signers[1:] {
		if sg.Mode == casework.SignSequence {
			anchor.Step.Queue = append(anchor.Step.Queue, QueuedSigner{Signer: s})
			continue
		}
		opened = append(opened, t.newMember(ctx, anchor, anchor, s, "", "", ""))
	}
	for _, m := range opened {
		// The anchor's projection carries the step's placement (and alerts the admins once when
		// some signer's place went to a stand-in); the others' their own.
		placed := m.Opened
		if m == anchor {
			placed = anchor.Opened
		}
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ProjectOpenTask, activities.ProjectTaskInput{
			Task: activities.OpenTaskInput{ID: m.ID, WorkflowID: t.wfID, Spec: m.Spec, Now: m.Created}, Opened: placed, Revision: m.revise(),
			StepID: anchor.ID, Signing: m.Signing}).Get(ctx, nil); err != nil {
			t.forget(anchor)
			return err
		}
	}
	return nil
}

// openMember opens a signer's task the step asks for now (a sequence's next signer, a signer
// added to a task): already known to the run, so that the task it was added before is held from
// this moment; resolved for its own due time and ladder; then in its signer's inbox, unless the
// step was decided meanwhile (then it never shows anywhere).
func (t *Tasks) openMember(ctx workflow.Context, anchor, m *TaskState) error {
	m.opening = true
	var opened activities.TaskOpened
	err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ResolveTask, activities.OpenTaskInput{ID: m.ID, WorkflowID: t.wfID,
		Spec: m.Spec, Now: m.Created, AsSigner: true}).Get(ctx, &opened)
	if err != nil {
		m.opening = false
		m.Result = &TaskResult{At: workflow.Now(ctx), By: access.System}
		return err
	}
	if m.Result != nil {
		m.opening = false
		return nil
	}
	m.Opened.UnitID, m.Opened.UnitPath, m.Opened.DueAt, m.Opened.Rungs = opened.UnitID, opened.UnitPath, opened.DueAt, opened.Rungs
	err = workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ProjectOpenTask, activities.ProjectTaskInput{
		Task: activities.OpenTaskInput{ID: m.ID, WorkflowID: t.wfID, Spec: m.Spec, Now: m.Created}, Opened: m.Opened, Revision: m.revise(),
		StepID: anchor.ID, Signing: m.Signing, AddedTo: m.AddedTo}).Get(ctx, nil)
	m.opening = false
	if err == nil && t.watched[anchor.ID] && m.Result == nil {
		t.watch(t.root, m)
	}
	return err
}

// heldBy names the signers added before task who have not passed yet: while there are any, the
// task waits for them.
func (t *Tasks) heldBy(task *TaskState) []string {
	anchor := t.anchorOf(task)
	if anchor == nil {
		return nil
	}
	var names []string
	for _, m := range t.members(anchor) {
		if m.AddedTo == task.ID && m.Signing == casework.SignBefore && m.Result == nil {
			names = append(names, m.signerName())
		}
	}
	return names
}

// signerName is who the signer's task is for, by username where the kit knows it.
func (task *TaskState) signerName() string {
	if task.SignerName != "" {
		return task.SignerName
	}
	if task.Spec.AssigneeID != "" {
		return task.Spec.AssigneeID
	}
	return task.Spec.CandidateRole
}

// signsStep reports whether user already signs the task's step: holds one of its open tasks,
// has voted in it, or is waiting in its queue.
func (t *Tasks) signsStep(task *TaskState, user string) bool {
	anchor := t.anchorOf(task)
	if anchor == nil || user == "" {
		return false
	}
	for _, m := range t.members(anchor) {
		if m.Result == nil && (m.Assignee == user || m.Delegate == user) {
			return true
		}
	}
	return slices.ContainsFunc(anchor.Step.Votes, func(v Vote) bool { return v.UserID == user }) ||
		slices.ContainsFunc(anchor.Step.Queue, func(q QueuedSigner) bool { return q.Signer.UserID == user })
}

// signerRules are a step's own rules for completing or claiming one of its tasks: a task held
// by signers added before it waits for them, and a person signs a step once.
func (t *Tasks) signerRules(task *TaskState, a TaskAction) error {
	if held := t.heldBy(task); len(held) > 0 && a.Action == ActionComplete {
		return refuseField(CodeWrongState, "", because("signing_before", "signers", strings.Join(held, ",")),
			"task %s waits for the signers added before it (%s): it comes back to you once they have signed", task.ID, strings.Join(held, ", "))
	}
	anchor := t.anchorOf(task)
	if anchor == nil {
		return nil
	}
	for _, m := range t.members(anchor) {
		if m != task && m.Result == nil && m.Assignee == a.Actor.UserID && m.AddedTo == "" && task.AddedTo == "" {
			return refuseField(CodeDuplicate, "", because("signed"), "%s already holds another signer's task of this step", a.Actor.Username)
		}
	}
	for _, v := range anchor.Step.Votes {
		if v.UserID == a.Actor.UserID && v.TaskID != task.ID {
			return refuseField(CodeDuplicate, "", because("signed"), "%s has already signed this step", a.Actor.Username)
		}
	}
	return nil
}

// stepWithdrawable: the applicant withdraws a step only while nobody has taken it up: no
// signer has signed, claimed or delegated, and no signers were added.
func (t *Tasks) stepWithdrawable(task *TaskState) error {
	anchor := t.anchorOf(task)
	if anchor == nil {
		return nil
	}
	if len(anchor.Step.Votes) > 0 {
		return refuseField(CodeWrongState, "", because("signed"), "a signer has signed this step; it can no longer be withdrawn")
	}
	added := slices.ContainsFunc(anchor.Step.Queue, func(q QueuedSigner) bool { return q.Added != "" }) ||
		slices.ContainsFunc(t.members(anchor), func(m *TaskState) bool { return m.AddedTo != "" })
	if added {
		return refuseField(CodeWrongState, "", because("signers_added"), "signers were added to this step; it can no longer be withdrawn")
	}
	for _, m := range t.members(anchor) {
		if m.Result != nil {
			continue
		}
		if m.Delegate != "" {
			return refuseField(CodeWrongState, "", because("delegated"), "task %s is delegated; the step can no longer be withdrawn", m.ID)
		}
		if m.Assignee != "" && m.Assignee != m.Spec.AssigneeID {
			return refuseField(CodeWrongState, "", because("claimed"), "task %s has been claimed by its handler; the step can no longer be withdrawn", m.ID)
		}
	}
	return nil
}

// validateAddSigners: whoever may act on the task now (not barred, not while it is delegated,
// not while signers added before it are still signing) adds people who see the task's unit, are
// not barred from the case, are not themselves and do not sign the step already.
func (t *Tasks) validateAddSigners(task *TaskState, a TaskAction) error {
	if slices.Contains(task.Spec.Exclude, a.Actor.UserID) {
		return refuse(CodeSeparationOfDuties, "separation of duties: %s may not add signers to this task", a.Actor.Username)
	}
	if err := whileDelegated(task, a); err != nil {
		return err
	}
	if eligibleRole(task, a.Actor) == "" {
		return refuse(CodeNotCandidate, "%s may not add signers to this task: it waits for %s at unit %s%s", a.Actor.Username,
			task.Spec.CandidateRole, task.Spec.UnitCode, assigneeNote(task))
	}
	if held := t.heldBy(task); len(held) > 0 {
		return refuseField(CodeWrongState, "", because("signing_before", "signers", strings.Join(held, ",")),
			"task %s waits for the signers added before it (%s)", task.ID, strings.Join(held, ", "))
	}
	if !slices.Contains(casework.SignPositions, a.Position) {
		return refuseField(CodeInvalid, "position", because("one_of"), "position: %q is not one of %s", a.Position, strings.Join(casework.SignPositions, ", "))
	}
	if len(a.Signers) == 0 {
		return refuseField(CodeInvalid, "user_ids", because("required"), "user_ids: at least one person")
	}
	if len(a.Signers) > MaxSigners {
		return refuseField(CodeInvalid, "user_ids", because("too_many", "max", fmt.Sprint(MaxSigners)), "user_ids: at most %d people", MaxSigners)
	}
	seen := map[string]bool{}
	for _, u := range a.Signers {
		switch {
		case u.UserID == "":
			return refuseField(CodeInvalid, "user_ids", because("required"), "user_ids: an empty user id")
		case u.UserID == a.Actor.UserID:
			return refuseField(CodeInvalid, "user_ids", because("self_sign"), "user_ids: you sign this task already")
		case slices.Contains(task.Spec.Exclude, u.UserID) || (task.Spec.OwnerID != "" && task.Spec.OwnerID == u.UserID):
			return refuseField(CodeSeparationOfDuties, "user_ids", []string{"user", u.Username}, "user_ids: separation of duties bars %s from this case", u.Username)
		case !u.Sees(task.Opened.UnitPath):
			return refuseField(CodeNotInScope, "user_ids", []string{"user", u.Username}, "user_ids: %s does not see unit %s", u.Username, task.Spec.UnitCode)
		case seen[u.UserID] || t.signsStep(task, u.UserID) || task.Assignee == u.UserID || task.Delegate == u.UserID:
			return refuseField(CodeDuplicate, "user_ids", because("signer", "user", u.Username), "user_ids: %s already signs this step", u.Username)
		}
		seen[u.UserID] = true
	}
	return nil
}

// validateRemoveSigners: signers added by 加签 who have not acted yet are removed (减签) by who
// added them or whoever may act on the task they were added to; the signers the process asked
// for are never removed, and one who has signed stays on record.
func (t *Tasks) validateRemoveSigners(task *TaskState, a TaskAction) error {
	anchor := t.anchorOf(task)
	if len(a.Signers) == 0 {
		return refuseField(CodeInvalid, "user_ids", because("required"), "user_ids: at least one person")
	}
	if anchor == nil {
		return refuseField(CodeInvalid, "user_ids", because("not_signer", "user", a.Signers[0].Username), "user_ids: nobody was added to sign this task")
	}
	for _, u := range a.Signers {
		addedTo, addedBy, found := "", "", false
		for _, m := range t.members(anchor) {
			if m.AddedTo != "" && m.Assignee == u.UserID && m.Result == nil {
				addedTo, addedBy, found = m.AddedTo, m.AddedBy, true
			}
		}
		for _, q := range anchor.Step.Queue {
			if q.Added != "" && q.Signer.UserID == u.UserID {
				addedTo, addedBy, found = q.AddedTo, q.AddedBy, true
			}
		}
		if !found {
			if slices.ContainsFunc(anchor.Step.Votes, func(v Vote) bool { return v.UserID == u.UserID && v.Added != "" }) {
				return refuseField(CodeSignerActed, "user_ids", []string{"user", u.Username}, "user_ids: %s has signed already and stays on record", u.Username)
			}
			if t.signsStep(task, u.UserID) {
				return refuseField(CodeWrongState, "user_ids", because("required_signer", "user", u.Username),
					"user_ids: %s is a signer the process asked for, not one added to the task", u.Username)
			}
			return refuseField(CodeInvalid, "user_ids", because("not_signer", "user", u.Username), "user_ids: %s was not added to sign this step", u.Username)
		}
		to := t.open[addedTo]
		if a.Actor.UserID != addedBy && (to == nil || to.Result != nil || slices.Contains(to.Spec.Exclude, a.Actor.UserID) || eligibleRole(to, a.Actor) == "") {
			return refuse(CodeNotCandidate, "%s may not remove %s: only who added them, or who acts on the task they were added to, may", a.Actor.Username, u.Username)
		}
	}
	return nil
}

// stepEffects are the writes a signer's vote, a removal or a withdrawal makes to the rest of its
// step, after the act's own write: the tasks it ended, the signers it asks now, and the step's
// decision on record. The state they write was set when the act was applied, before any write,
// so that an action racing them is refused by the validator.
type stepEffects struct {
	t       *Tasks
	anchor  *TaskState
	ended   []*TaskState
	endedAs string // the audit action of the ended tasks
	by      access.Actor
	role    string
	comment string
	open    []*TaskState
	decided bool
}

// end ends an open task of the step (its signer's part is moot), to be written by apply; a task
// not in any inbox yet just never gets there.
func (fx *stepEffects) end(m *TaskState, result TaskResult) {
	if m.Result != nil {
		return
	}
	r := result
	m.Result = &r
	if !m.opening {
		fx.ended = append(fx.ended, m)
	}
}

// apply writes the effects: each ended task's projection and entry, then the tasks asked now,
// then the step's decision.
func (fx *stepEffects) apply(ctx workflow.Context) error {
	t, now := fx.t, workflow.Now(ctx)
	for _, m := range fx.ended {
		state := casework.TaskCancelled
		if m.Result.Outcome != "" && m.Result.Outcome != casework.OutcomeWithdrawn {
			state = casework.TaskDone
		}
		if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ApplyTaskChange, activities.TaskChange{
			Task: m.projection(t.wfID, state), Actor: fx.by, ActorRole: fx.role, Action: fx.endedAs, Comment: fx.comment,
			Fields: map[string]string{"step_id": fx.anchor.ID}, Before: map[string]any{"assignee": m.Assignee, "state": casework.TaskOpen},
			At: now}).Get(ctx, nil); err != nil {
			return err
		}
	}
	for _, m := range fx.open {
		if err := t.openMember(ctx, fx.anchor, m); err != nil {
			return err
		}
	}
	if !fx.decided {
		return nil
	}
	res, step := fx.anchor.Step.Result, fx.anchor.Step
	votes := make([]map[string]string, len(step.Votes))
	passes := 0
	for i, v := range step.Votes {
		votes[i] = map[string]string{"task_id": v.TaskID, "user": v.Username, "outcome": v.Outcome}
		if v.Added != "" {
			votes[i]["added"] = v.Added
		}
		if v.Outcome == step.Signing.Pass {
			passes++
		}
	}
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).RecordAudit, activities.Audit{Actor: access.System,
		Action: "task.step_decided", Process: fx.anchor.Spec.Process, CaseID: fx.anchor.Spec.CaseID,
		After: map[string]any{"task_id": fx.anchor.ID, "kind": fx.anchor.Spec.Kind, "signing": fx.anchor.Signing, "outcome": res.Outcome,
			"decided_by": res.By.Username, "passes": passes, "votes": votes}, At: now}).Get(ctx, nil)
}

// vote records a signer's decision in its step and settles what it changes there.
func (t *Tasks) vote(ctx workflow.Context, m *TaskState) *stepEffects {
	anchor := t.anchorOf(m)
	if anchor == nil {
		return nil
	}
	step, r := anchor.Step, m.Result
	fx := &stepEffects{t: t, anchor: anchor, by: access.System, endedAs: "task.step_ended"}
	added := ""
	if m.AddedTo != "" {
		added = m.Signing
	}
	step.Votes = append(step.Votes, Vote{TaskID: m.ID, UserID: r.By.UserID, Username: r.By.Username, Outcome: r.Outcome,
		Comment: r.Comment, Added: added, At: r.At})
	passed := r.Outcome == step.Signing.Pass
	// The signers added after m are asked once it passes; moot when it does not.
	keep := step.Queue[:0:0]
	for _, q := range step.Queue {
		if q.Added == casework.SignAfter && q.AddedTo == m.ID {
			if passed {
				fx.open = append(fx.open, t.newMember(ctx, anchor, m, q.Signer, q.Added, q.AddedTo, q.AddedBy))
			}
			continue
		}
		keep = append(keep, q)
	}
	step.Queue = keep
	t.settleStep(ctx, anchor, fx)
	return fx
}

// settleStep decides the step when its votes do (ending its other tasks), or moves it on: the
// moot own signers of an any or ratio step that passed end, a sequence asks its next signer.
func (t *Tasks) settleStep(ctx workflow.Context, anchor *TaskState, fx *stepEffects) {
	step := anchor.Step
	_, ownDone, decidedBy := t.tally(anchor)
	if decidedBy != nil {
		res := *t.open[decidedBy.TaskID].Result
		res.Votes = slices.Clone(step.Votes)
		step.Result, step.Queue, fx.decided = &res, nil, true
		t.last = &lastDecision{taskID: anchor.ID, result: res, passed: res.Outcome == step.Signing.Pass}
		for _, m := range t.members(anchor) {
			fx.end(m, TaskResult{By: access.System, At: workflow.Now(ctx)})
		}
		return
	}
	for _, m := range t.members(anchor) {
		if ownDone && m.AddedTo == "" {
			fx.end(m, TaskResult{By: access.System, At: workflow.Now(ctx)})
		}
	}
	if step.Signing.Mode == casework.SignSequence && !ownDone && !slices.ContainsFunc(t.members(anchor), func(m *TaskState) bool { return m.AddedTo == "" && m.Result == nil }) {
		for i, q := range step.Queue {
			if q.Added == "" {
				step.Queue = slices.Delete(step.Queue, i, i+1)
				fx.open = append(fx.open, t.newMember(ctx, anchor, anchor, q.Signer, "", "", ""))
				break
			}
		}
	}
}

// tally reads the step's votes: decidedBy is the vote that decides it (nil while it is not
// decided); ownDone that its own signers have passed it (the added ones may still be signing).
func (t *Tasks) tally(anchor *TaskState) (pass string, ownDone bool, decidedBy *Vote) {
	step := anchor.Step
	pass = step.Signing.Pass
	votes := map[string]*Vote{}
	for i := range step.Votes {
		votes[step.Votes[i].TaskID] = &step.Votes[i]
	}
	var own, ownPass, ownOpen []*Vote
	var lastPass *Vote // the last of the step's own signers to pass
	addedOpen, queuedOwn, queuedAdded := 0, 0, 0
	var failed *Vote // the latest vote that is not a pass, by an added signer or an all/sequence one
	for _, m := range t.members(anchor) {
		v := votes[m.ID]
		switch {
		case v == nil && m.Result == nil && m.AddedTo == "":
			ownOpen = append(ownOpen, nil)
		case v == nil && m.Result == nil:
			addedOpen++
		case v == nil: // ended without a vote (moot, removed)
		case m.AddedTo != "":
			if v.Outcome != pass {
				failed = latest(failed, v)
			}
		default:
			own = append(own, v)
			if v.Outcome == pass {
				ownPass = append(ownPass, v)
				lastPass = latest(lastPass, v)
			}
		}
	}
	for _, q := range step.Queue {
		if q.Added == "" {
			queuedOwn++
		} else {
			queuedAdded++
		}
	}
	if failed != nil {
		return pass, false, failed
	}
	switch step.Signing.Mode {
	case casework.SignAny:
		if len(own) > 0 {
			first := own[0]
			for _, v := range own {
				if v.At.Before(first.At) {
					first = v
				}
			}
			if first.Outcome != pass {
				return pass, false, first
			}
			ownDone = true
		}
	case casework.SignRatio:
		n := len(own) + len(ownOpen) + queuedOwn
		need := (step.Signing.Num*n + step.Signing.Den - 1) / step.Signing.Den
		if len(ownPass) >= need {
			ownDone = true
		} else if len(ownPass)+len(ownOpen)+queuedOwn < need {
			return pass, false, commonFailure(own, pass, anchor.Spec.Outcomes)
		}
	default: // all, sequence, and a task on its own with signers added
		for _, v := range own {
			if v.Outcome != pass {
				failed = latest(failed, v)
			}
		}
		if failed != nil {
			return pass, false, failed
		}
		ownDone = len(ownOpen) == 0 && queuedOwn == 0 && len(own) > 0
	}
	if ownDone && addedOpen == 0 && queuedAdded == 0 {
		// Passed, by the last of its own signers to pass (the task's holder, for a task on its
		// own with signers added): the people the process asked for decide it.
		return pass, true, lastPass
	}
	return pass, ownDone, nil
}

func latest(cur, v *Vote) *Vote {
	if cur == nil || !v.At.Before(cur.At) {
		return v
	}
	return cur
}

// commonFailure is the vote that decides a failed ratio step: the latest of the outcome most of
// its failing signers gave (ties go to the outcome listed first on the task).
func commonFailure(own []*Vote, pass string, outcomes []string) *Vote {
	count := map[string]int{}
	for _, v := range own {
		if v.Outcome != pass {
			count[v.Outcome]++
		}
	}
	best := ""
	for _, o := range outcomes {
		if o != pass && count[o] > count[best] {
			best = o
		}
	}
	var out *Vote
	for _, v := range own {
		if v.Outcome == best {
			out = latest(out, v)
		}
	}
	return out
}

// withdrawStep: the applicant withdrew the case at one of the step's tasks; every other task of
// the step ends with it and the step is decided withdrawn.
func (t *Tasks) withdrawStep(ctx workflow.Context, task *TaskState, a TaskAction) *stepEffects {
	anchor := t.anchorOf(task)
	if anchor == nil {
		return nil
	}
	fx := &stepEffects{t: t, anchor: anchor, by: a.Actor, role: "owner", comment: a.Comment, endedAs: "task.withdrawn"}
	res := *task.Result
	anchor.Step.Result, anchor.Step.Queue = &res, nil
	for _, m := range t.members(anchor) {
		fx.end(m, TaskResult{Outcome: casework.OutcomeWithdrawn, Comment: a.Comment, By: a.Actor, Role: "owner", At: res.At})
	}
	return fx
}

// settleStepAs ends a step from the workflow (Settle): its anchor with the outcome, its other
// tasks as moot, and the step decided so.
func (t *Tasks) settleStepAs(ctx workflow.Context, anchor *TaskState, outcome string, by access.Actor, role, comment string) error {
	now := workflow.Now(ctx)
	res := TaskResult{Outcome: outcome, Comment: comment, By: by, Role: role, At: now}
	fx := &stepEffects{t: t, anchor: anchor, by: by, role: role, comment: comment, endedAs: "task.step_ended"}
	if outcome == "" {
		fx.endedAs = "task.withdrawn"
	}
	fx.end(anchor, res)
	for _, m := range t.members(anchor) {
		fx.end(m, TaskResult{By: by, Role: role, At: now})
	}
	r := res
	r.Votes = slices.Clone(anchor.Step.Votes)
	anchor.Step.Result, anchor.Step.Queue = &r, nil
	return fx.apply(ctx)
}

// handleSigners applies add-signers and remove-signers.
func (t *Tasks) handleSigners(ctx workflow.Context, task *TaskState, a TaskAction, role string, before map[string]any) (TaskActionResult, error) {
	now := workflow.Now(ctx)
	names := make([]string, len(a.Signers))
	for i, u := range a.Signers {
		names[i] = u.Username
	}
	fields := withField(a.Fields, "signers", strings.Join(names, ","))
	var fx *stepEffects
	var removed []*TaskState
	action := "task.signers_added"
	if a.Action == ActionAddSigners {
		fields["position"] = a.Position
		anchor := t.anchorOf(task)
		if anchor == nil {
			// A task on its own becomes the anchor of its step; it passes with its first outcome.
			pass := ""
			if len(task.Spec.Outcomes) > 0 {
				pass = task.Spec.Outcomes[0]
			}
			task.StepID = task.ID
			task.Step = &StepState{Signing: casework.Signing{Pass: pass}, Members: []string{task.ID}}
			anchor = task
		}
		if task.Assignee == "" {
			task.Assignee = a.Actor.UserID // adding signers takes the task up: it comes back to its adder
			task.noteHolder("", workflow.Now(ctx))
		}
		fx = &stepEffects{t: t, anchor: anchor, by: a.Actor, role: role, endedAs: "task.step_ended"}
		for _, u := range a.Signers {
			s := activities.Signer{UserID: u.UserID, Username: u.Username, Role: task.Spec.CandidateRole, UnitCode: task.Spec.UnitCode,
				UnitID: task.Opened.UnitID, UnitPath: task.Opened.UnitPath}
			if a.Position == casework.SignAfter {
				anchor.Step.Queue = append(anchor.Step.Queue, QueuedSigner{Signer: s, Added: a.Position, AddedTo: task.ID, AddedBy: a.Actor.UserID})
				continue
			}
			m := t.newMember(ctx, anchor, task, s, a.Position, task.ID, a.Actor.UserID)
			m.opening = true
			fx.open = append(fx.open, m)
		}
	} else {
		action = "task.signers_removed"
		anchor := t.anchorOf(task)
		fx = &stepEffects{t: t, anchor: anchor, by: a.Actor, role: role, endedAs: "task.step_ended"}
		for _, u := range a.Signers {
			anchor.Step.Queue = slices.DeleteFunc(anchor.Step.Queue, func(q QueuedSigner) bool { return q.Added != "" && q.Signer.UserID == u.UserID })
			for _, m := range t.members(anchor) {
				if m.AddedTo != "" && m.Assignee == u.UserID && m.Result == nil {
					m.Result = &TaskResult{By: a.Actor, Role: role, At: now}
					if !m.opening {
						removed = append(removed, m)
					}
				}
			}
		}
		// Without them the step may be passed, or the task they held come back.
		t.settleStep(ctx, anchor, fx)
	}
	fx.anchor.Step.writing++
	defer func() { fx.anchor.Step.writing-- }()
	err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ApplyTaskChange, activities.TaskChange{
		Task: task.projection(t.wfID, casework.TaskOpen), Actor: a.Actor, ActorRole: role, Action: action, Comment: a.Comment,
		Fields: fields, Before: before, At: now}).Get(ctx, nil)
	for _, m := range removed {
		if err != nil {
			break
		}
		err = workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ApplyTaskChange, activities.TaskChange{
			Task: m.projection(t.wfID, casework.TaskCancelled), Actor: a.Actor, ActorRole: role, Action: "task.signer_removed",
			Comment: a.Comment, Fields: map[string]string{"step_id": m.StepID, "added_to": m.AddedTo},
			Before: map[string]any{"assignee": m.Assignee, "state": casework.TaskOpen}, At: now}).Get(ctx, nil)
	}
	if err == nil {
		err = fx.apply(ctx)
	}
	state := casework.TaskOpen
	if task.Result != nil {
		state = casework.TaskCancelled
	}
	return TaskActionResult{TaskID: task.ID, State: state, AssigneeID: task.Assignee, DelegateID: task.Delegate, StepID: task.StepID}, err
}

// sameApproverNote is the comment of a task passed by the same-approver policy.
const sameApproverNote = "同一审批人已在上一环节同意，本环节按“审批人相同只审一次”自动通过"

// sameApprover applies the same-approver policy to a task just opened: when the task (or its
// kind) says SameApproverOnce and the person who passed the case's previous step may decide
// this one, with the same outcome and its rules satisfied, it passes with their decision (on
// record as theirs, marked auto). Tasks of processes that never ask for it take no step here.
func (t *Tasks) sameApprover(ctx workflow.Context, task *TaskState) error {
	policy := task.Spec.SameApprover
	if k, ok := casework.TaskKindNamed(task.Spec.Kind); ok && policy == "" {
		policy = k.SameApprover
	}
	prev := t.last
	if policy != casework.SameApproverOnce || prev == nil || !prev.passed || len(task.Spec.Outcomes) == 0 ||
		prev.result.Outcome != task.Spec.Outcomes[0] {
		return nil
	}
	by := prev.result.By
	role := eligibleRole(task, by)
	a := TaskAction{TaskID: task.ID, Action: ActionComplete, Outcome: prev.result.Outcome, Comment: sameApproverNote, Actor: by}
	if role == "" || slices.Contains(task.Spec.Exclude, by.UserID) || t.completionRules(task, a) != nil ||
		!t.changed(ctx, "tasks-same-approver-once") {
		return nil
	}
	fields := map[string]string{"auto": "same_approver", "previous_task": prev.taskID}
	task.Result = &TaskResult{Outcome: a.Outcome, Comment: sameApproverNote, Fields: fields, By: by, Role: role, At: workflow.Now(ctx)}
	t.last = &lastDecision{taskID: task.ID, result: *task.Result, passed: true}
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ApplyTaskChange, activities.TaskChange{
		Task: task.projection(t.wfID, casework.TaskDone), Actor: by, ActorRole: role, Action: "task.completed", Comment: sameApproverNote,
		Fields: fields, Before: map[string]any{"assignee": task.Assignee, "state": casework.TaskOpen}, At: task.Result.At}).Get(ctx, nil)
}
