package workflows_test

// Delegation with the owner kept (委派), its resolution, and copies (抄送), through the kit's one
// task-action Update and the kittest harness: the delegate acts and never completes, the task
// comes back to its owner, who completes it; one open task throughout, never two.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

func delegate(h *kittest.Harness, t *testing.T, id string, by, to access.Actor) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionDelegate, Actor: by, Target: &to, Comment: "请先核实"})
}

func resolve(h *kittest.Harness, t *testing.T, id string, by access.Actor, comment string) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionResolve, Actor: by, Comment: comment})
}

func transfer(h *kittest.Harness, t *testing.T, id string, by, to access.Actor) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionTransfer, Actor: by, Target: &to})
}

// TestDelegateResolveThenOwnerCompletes: leader1 delegates the check to staff2 (who does not
// hold the leader's role, and need not: they only act on it). While delegated, staff2 may not
// complete (not_candidate, reason delegate), leader1 may not either (wrong_state: it comes back
// first), nobody else may claim it; staff2 resolves with their opinion and leader1 completes.
// Delegation to a barred person, to someone outside the unit or to oneself is refused.
func TestDelegateResolveThenOwnerCompletes(t *testing.T) {
	env, h := newKitEnv(t)
	id := kitWfID + "-t1"
	var toBarred, toOutsider, toSelf, byStaff, deleg, again, delegateCompletes, ownerCompletes, claim, emptyResolve, strangerResolves, resolved, done *kittest.Action
	h.At(10*time.Minute, func() {
		toBarred = delegate(h, t, id, leader1, leader2)
		toOutsider = delegate(h, t, id, leader1, otherLeader)
		toSelf = delegate(h, t, id, leader1, leader1)
		byStaff = delegate(h, t, id, staff2, aid1)
	})
	h.At(11*time.Minute, func() { deleg = delegate(h, t, id, leader1, staff2) })
	h.At(20*time.Minute, func() {
		again = delegate(h, t, id, staff2, applicant)
		delegateCompletes = h.Complete(t, id, casework.OutcomeApprove, staff2)
		ownerCompletes = h.Complete(t, id, casework.OutcomeApprove, leader1)
		claim = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionClaim, Actor: leader2})
		emptyResolve = resolve(h, t, id, staff2, " ")
		strangerResolves = resolve(h, t, id, leader2, "x")
	})
	h.At(30*time.Minute, func() { resolved = resolve(h, t, id, staff2, "已核实，情况属实") })
	h.At(40*time.Minute, func() { done = h.Complete(t, id, casework.OutcomeApprove, leader1) })

	res := kitRun(t, env, kitInput{Kinds: []string{kitCheck}, Exclude: []string{leader2.UserID}})

	toBarred.RequireRefused(t, workflows.CodeSeparationOfDuties)
	require.Equal(t, "to_user_id", toOutsider.RequireRefused(t, workflows.CodeNotInScope).Field)
	require.Equal(t, "self_delegate", toSelf.RequireRefused(t, workflows.CodeInvalid).Params["reason"])
	byStaff.RequireRefused(t, workflows.CodeNotCandidate)
	got := deleg.RequireDone(t)
	require.Equal(t, staff2.UserID, got.DelegateID)
	require.Equal(t, leader1.UserID, got.AssigneeID, "the owner keeps the task")
	again.RequireRefused(t, workflows.CodeNotCandidate)
	require.Equal(t, "delegate", delegateCompletes.RequireRefused(t, workflows.CodeNotCandidate).Params["reason"])
	r := ownerCompletes.RequireRefused(t, workflows.CodeWrongState)
	require.Equal(t, "delegated", r.Params["reason"])
	require.Equal(t, "staff2", r.Params["delegate"])
	claim.RequireRefused(t, workflows.CodeNotCandidate)
	require.Equal(t, "comment", emptyResolve.RequireRefused(t, workflows.CodeInvalid).Field)
	strangerResolves.RequireRefused(t, workflows.CodeNotCandidate)
	back := resolved.RequireDone(t)
	require.Equal(t, "", back.DelegateID)
	require.Equal(t, leader1.UserID, back.AssigneeID, "the task comes back to its owner")
	done.RequireDone(t)

	require.Equal(t, map[string]string{id: "approve by leader1"}, res.Done)
	require.Len(t, h.TaskIDs(""), 1, "one task throughout, never two")
	row := h.RequireState(t, id, casework.TaskDone)
	require.Equal(t, leader1.UserID, row.CompletedBy, "the owner completes; the delegate never does")
	require.Equal(t, "", row.DelegateID)
	var delegatedRow bool
	for _, w := range h.Task(t, id).Writes {
		delegatedRow = delegatedRow || (w.DelegateID == staff2.UserID && w.AssigneeID == leader1.UserID && w.State == casework.TaskOpen)
	}
	require.True(t, delegatedRow, "while delegated the row is the owner's, in the delegate's inbox")
	var actions []string
	for _, c := range h.Changes("") {
		actions = append(actions, c.Action+" by "+c.Actor.Username+" as "+c.ActorRole)
	}
	require.Equal(t, []string{"task.delegated by leader1 as school_leader", "task.resolved by staff2 as delegate",
		"task.completed by leader1 as school_leader"}, actions)
	require.Equal(t, "已核实，情况属实", h.Changes("task.resolved")[0].Comment)
}

// TestDelegateAndTransfer: while delegated, neither the delegate nor the owner transfers the
// task; once resolved the owner may, and the new holder completes. A task transferred away
// cannot be delegated by who transferred it.
func TestDelegateAndTransfer(t *testing.T) {
	env, h := newKitEnv(t)
	id := kitWfID + "-t1"
	var deleg, delegateTransfers, ownerTransfers, resolved, moved, oldOwnerDelegates, done *kittest.Action
	h.At(10*time.Minute, func() { deleg = delegate(h, t, id, leader1, staff2) })
	h.At(15*time.Minute, func() {
		delegateTransfers = transfer(h, t, id, staff2, leader2)
		ownerTransfers = transfer(h, t, id, leader1, leader2)
	})
	h.At(20*time.Minute, func() { resolved = resolve(h, t, id, staff2, "意见：同意") })
	h.At(25*time.Minute, func() { moved = transfer(h, t, id, leader1, leader2) })
	h.At(30*time.Minute, func() { oldOwnerDelegates = delegate(h, t, id, leader1, staff2) })
	h.At(35*time.Minute, func() { done = h.Complete(t, id, casework.OutcomeReject, leader2) })

	kitRun(t, env, kitInput{Kinds: []string{kitCheck}})

	deleg.RequireDone(t)
	require.Equal(t, "delegate", delegateTransfers.RequireRefused(t, workflows.CodeNotCandidate).Params["reason"])
	ownerTransfers.RequireRefused(t, workflows.CodeWrongState)
	resolved.RequireDone(t)
	require.Equal(t, leader2.UserID, moved.RequireDone(t).AssigneeID)
	oldOwnerDelegates.RequireRefused(t, workflows.CodeNotCandidate)
	done.RequireDone(t)
	row := h.RequireState(t, id, casework.TaskDone)
	require.Equal(t, leader2.UserID, row.CompletedBy)
	require.Len(t, h.Changes(""), 4) // delegated, resolved, transferred, completed
}

// TestDelegateCarriedAcrossContinueAsNew: the case continues as new while its task is delegated;
// the delegation crosses with the task (TaskState), so in run 2 the delegate still may not
// complete, resolves, and the owner completes. The ladder keeps running on the task.
func TestDelegateCarriedAcrossContinueAsNew(t *testing.T) {
	env, h := newKitEnv(t)
	id := kitWfID + "-t1"
	var deleg *kittest.Action
	h.At(10*time.Minute, func() { deleg = delegate(h, t, id, leader1, staff2) })
	h.At(30*time.Minute, func() { env.SetContinueAsNewSuggested(true) })

	env.ExecuteWorkflow(kitCase, kitInput{Kinds: []string{kitCheck}, Bounded: true})
	var next kitInput
	kittest.ContinuedAs(t, env, &next)
	deleg.RequireDone(t)
	require.Len(t, next.Carried, 1)
	c := next.Carried[0]
	require.Equal(t, staff2.UserID, c.Delegate)
	require.Equal(t, leader1.UserID, c.Owner)
	require.Equal(t, leader1.UserID, c.Assignee)

	env2 := newTestEnv()
	h2 := h.NextRun(env2)
	var delegateCompletes, resolved, done *kittest.Action
	h2.At(time.Minute, func() { delegateCompletes = h2.Complete(t, id, casework.OutcomeApprove, staff2) })
	h2.At(2*time.Hour, func() { resolved = resolve(h2, t, id, staff2, "核实完毕") })
	h2.At(3*time.Hour, func() { done = h2.Complete(t, id, casework.OutcomeApprove, leader1) })
	res := kitRun(t, env2, next)

	require.Equal(t, "delegate", delegateCompletes.RequireRefused(t, workflows.CodeNotCandidate).Params["reason"])
	resolved.RequireDone(t)
	done.RequireDone(t)
	require.Equal(t, map[string]string{id: "approve by leader1"}, res.Done)
	require.NotEmpty(t, h2.Escalations(id), "the ladder ran on the delegated task")
	require.Equal(t, leader1.UserID, h2.RequireState(t, id, casework.TaskDone).CompletedBy)
}

// TestCCThroughTheTask: who acts on a task copies its case to people, once each; a second copy
// to the same person, a copy by someone who does not act on it, and an empty copy are refused.
func TestCCThroughTheTask(t *testing.T) {
	env, h := newKitEnv(t)
	id := kitWfID + "-t1"
	var cc, dup, stranger, empty, self *kittest.Action
	h.At(10*time.Minute, func() {
		cc = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionCC, Actor: leader1, CC: []access.Actor{staff2, aid1}})
	})
	h.At(20*time.Minute, func() {
		dup = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionCC, Actor: leader1, CC: []access.Actor{aid2, staff2}})
		stranger = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionCC, Actor: otherLeader, CC: []access.Actor{aid2}})
		empty = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionCC, Actor: leader1})
		self = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionCC, Actor: leader1, CC: []access.Actor{leader1}})
	})
	h.At(30*time.Minute, func() { h.Complete(t, id, casework.OutcomeApprove, leader1) })
	kitRun(t, env, kitInput{Kinds: []string{kitCheck}})

	cc.RequireDone(t)
	r := dup.RequireRefused(t, workflows.CodeDuplicate)
	require.Equal(t, "staff2", r.Params["user"])
	stranger.RequireRefused(t, workflows.CodeNotCandidate)
	empty.RequireRefused(t, workflows.CodeInvalid)
	self.RequireRefused(t, workflows.CodeInvalid)
	ch := h.Changes("task.cc")
	require.Len(t, ch, 1)
	require.Equal(t, []string{staff2.UserID, aid1.UserID}, ch[0].CC)
	require.Equal(t, "staff2,aid1", ch[0].Fields["cc"])
	require.Equal(t, casework.TaskOpen, ch[0].Task.State, "a copy decides nothing")
}
