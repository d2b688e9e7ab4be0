package workflows_test

// Multi-approver steps (会签/或签/票签/依次), added signers (加签·减签) and the same-approver
// policy, in the kit alone (signers.go), through a test-only case and the kittest harness: the
// step's tasks, their rows, their ladders, and what each act put on record.

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

var (
	leader3   = person("leader3", atSchool(casework.RoleSchoolLeader))
	teacher1  = person("teacher1", atSchool(casework.RoleTeacher))
	outsider9 = person("staff9", access.Role{Role: casework.RoleSchoolStaff, UnitCode: "JS-S0909", UnitKind: "school", UnitPath: otherPath})
)

// signStep is one step of the test-only case: its kind, and how it is signed.
type signStep struct {
	Kind         string
	Signing      *casework.Signing
	SameApprover string
}

// signInput runs its steps one after the other, each waited on until decided.
type signInput struct {
	Steps   []signStep
	Exclude []string
	Owner   string
	Bounded bool
	Run     int
	Seq     int
	Carried []workflows.TaskState
	Done    []signDone
	Linger  time.Duration // how long the case stays open after its last step, for late actions
}

// signDone is how a step ended, as the process got it.
type signDone struct {
	Task    string
	Outcome string
	By      string
	Auto    bool
	Votes   []string // username:outcome, in order
}

func signSpec(in signInput, s signStep) activities.TaskSpec {
	spec := kitSpec(s.Kind, in.Exclude)
	spec.Outcomes = []string{casework.OutcomeApprove, casework.OutcomeReject, casework.OutcomeReturn}
	spec.CommentRequired = []string{casework.OutcomeReturn, casework.OutcomeReject}
	spec.OwnerID, spec.Signing, spec.SameApprover = in.Owner, s.Signing, s.SameApprover
	return spec
}

// signCase is the test-only workflow: a case of consecutive steps.
func signCase(ctx workflow.Context, in signInput) ([]signDone, error) {
	tasks, err := workflows.NewTasks(ctx, in.Seq, in.Carried...)
	if err != nil {
		return nil, err
	}
	if in.Bounded {
		tasks.ContinueOnLongHistory(0)
	}
	done := in.Done
	for i := len(done); i < len(in.Steps); i++ {
		var id string
		if len(in.Carried) > 0 && i == len(in.Done) {
			id = in.Carried[0].ID
		} else if id, err = tasks.Open(ctx, signSpec(in, in.Steps[i])); err != nil {
			return done, err
		}
		r, err := tasks.Wait(ctx, id)
		if errors.Is(err, workflows.ErrContinueAsNew) {
			next := in
			next.Run, next.Seq, next.Carried, next.Done = in.Run+1, tasks.Seq(), tasks.Carry(), done
			return done, workflow.NewContinueAsNewError(ctx, signCase, next)
		} else if err != nil {
			return done, err
		}
		d := signDone{Task: id, Outcome: r.Outcome, By: r.By.Username, Auto: r.Fields["auto"] != ""}
		for _, v := range r.Votes {
			d.Votes = append(d.Votes, v.Username+":"+v.Outcome)
		}
		done = append(done, d)
		if r.Outcome != casework.OutcomeApprove {
			break
		}
	}
	if in.Linger > 0 {
		if err := workflow.Sleep(ctx, in.Linger); err != nil {
			return done, err
		}
	}
	return done, tasks.Finish(ctx)
}

func newSignEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *kittest.Harness) {
	env, h := newKitEnv(t)
	h.Holders = map[string][]access.Actor{casework.RoleSchoolLeader: {leader1, leader2, leader3}}
	return env, h
}

func signRun(t *testing.T, env *testsuite.TestWorkflowEnvironment, in signInput) []signDone {
	t.Helper()
	env.ExecuteWorkflow(signCase, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res []signDone
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func tid(n int) string { return fmt.Sprintf("%s-t%d", kitWfID, n) }

func decide(h *kittest.Harness, t *testing.T, id string, by access.Actor, outcome string) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: outcome, Actor: by, Comment: "意见：" + outcome})
}

func addSigners(h *kittest.Harness, t *testing.T, id string, by access.Actor, position string, who ...access.Actor) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionAddSigners, Actor: by, Position: position, Signers: who, Comment: "请一并审核"})
}

func removeSigners(h *kittest.Harness, t *testing.T, id string, by access.Actor, who ...access.Actor) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionRemoveSigners, Actor: by, Signers: who})
}

// actions lists the task changes as "action task by user" (the audit entries the acts wrote).
func actions(h *kittest.Harness) []string {
	var out []string
	for _, c := range h.Changes("") {
		out = append(out, fmt.Sprintf("%s %s by %s", c.Action, c.Task.ID[len(kitWfID)+1:], c.Actor.Username))
	}
	return out
}

// stepDecided is the step's decision on record (task.step_decided).
func stepDecided(t *testing.T, h *kittest.Harness) map[string]any {
	t.Helper()
	as := h.Audits("task.step_decided")
	require.Len(t, as, 1, "one decision of the step on record")
	return as[0].After.(map[string]any)
}

// TestStepAllPasses (会签): every school leader signs; each has a task of their own in their inbox
// (assigned, with the step's id and mode on the row); the step passes once all three passed, with
// their votes in order; leader3, who signs last, is late and their task alone escalates.
func TestStepAllPasses(t *testing.T) {
	env, h := newSignEnv(t)
	var a1, a2, a3, twice *kittest.Action
	h.At(10*time.Minute, func() { a1 = decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	h.At(20*time.Minute, func() {
		a2 = decide(h, t, tid(2), leader2, casework.OutcomeApprove)
		twice = decide(h, t, tid(3), leader1, casework.OutcomeApprove)
	})
	h.At(150*time.Minute, func() { a3 = decide(h, t, tid(3), leader3, casework.OutcomeApprove) })

	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck, Signing: &casework.Signing{Mode: casework.SignAll}}}})

	a1.RequireDone(t)
	require.Equal(t, tid(1), a2.RequireDone(t).StepID)
	twice.RequireRefused(t, workflows.CodeNotCandidate) // not theirs: assigned to leader3
	a3.RequireDone(t)
	require.Equal(t, []signDone{{Task: tid(1), Outcome: "approve", By: "leader3",
		Votes: []string{"leader1:approve", "leader2:approve", "leader3:approve"}}}, res)
	for i, who := range []access.Actor{leader1, leader2, leader3} {
		row := h.RequireState(t, tid(i+1), casework.TaskDone)
		require.Equal(t, who.UserID, row.AssigneeID)
		require.Equal(t, who.UserID, row.CompletedBy)
		require.Equal(t, tid(1), row.StepID)
		require.Equal(t, "all", row.Signing)
	}
	h.RequireRungs(t, tid(1))
	h.RequireRungs(t, tid(2))
	h.RequireRungs(t, tid(3), 1) // due at 1h, reminded at 2h, decided at 2h30
	d := stepDecided(t, h)
	require.Equal(t, "approve", d["outcome"])
	require.EqualValues(t, 3, d["passes"])
	require.Equal(t, []string{"task.completed t1 by leader1", "task.completed t2 by leader2", "task.completed t3 by leader3"}, actions(h))
}

// TestStepAllReturnEndsTheOthers (return × 会签): leader2 returns; the step is decided return at
// once, the other two tasks end (task.step_ended), nothing is left open, their ladders stop, and
// a decision on an ended task is refused.
func TestStepAllReturnEndsTheOthers(t *testing.T) {
	env, h := newSignEnv(t)
	var a1, ret, late *kittest.Action
	h.At(10*time.Minute, func() { a1 = decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	h.At(20*time.Minute, func() { ret = decide(h, t, tid(2), leader2, casework.OutcomeReturn) })
	h.At(30*time.Minute, func() { late = decide(h, t, tid(3), leader3, casework.OutcomeApprove) })

	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck, Signing: &casework.Signing{Mode: casework.SignAll}}}, Linger: 5 * time.Hour})

	a1.RequireDone(t)
	ret.RequireDone(t)
	late.RequireRefused(t, workflows.CodeTaskNotOpen)
	require.Equal(t, "return", res[0].Outcome)
	require.Equal(t, "leader2", res[0].By)
	h.RequireState(t, tid(1), casework.TaskDone)
	require.Equal(t, "return", h.RequireState(t, tid(2), casework.TaskDone).Outcome)
	require.Equal(t, "", h.RequireState(t, tid(3), casework.TaskCancelled).Outcome)
	for i := 1; i <= 3; i++ {
		h.RequireRungs(t, tid(i))
	}
	require.Equal(t, []string{"task.completed t1 by leader1", "task.completed t2 by leader2", "task.step_ended t3 by system"}, actions(h))
	require.Equal(t, "return", stepDecided(t, h)["outcome"])
}

// TestStepAnyFirstDecides (或签): the first signer to decide decides the step, either way: a
// return by leader3 returns it; in a second case an approval by leader2 passes it. The others'
// tasks end at once.
func TestStepAnyFirstDecides(t *testing.T) {
	for _, c := range []struct {
		who     access.Actor
		task    int
		outcome string
	}{{leader3, 3, casework.OutcomeReturn}, {leader2, 2, casework.OutcomeApprove}} {
		env, h := newSignEnv(t)
		var first, second *kittest.Action
		h.At(10*time.Minute, func() { first = decide(h, t, tid(c.task), c.who, c.outcome) })
		h.At(11*time.Minute, func() { second = decide(h, t, tid(1), leader1, casework.OutcomeApprove) })

		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck, Signing: &casework.Signing{Mode: casework.SignAny}}}, Linger: 5 * time.Hour})

		first.RequireDone(t)
		second.RequireRefused(t, workflows.CodeTaskNotOpen)
		require.Equal(t, c.outcome, res[0].Outcome)
		require.Equal(t, c.who.Username, res[0].By)
		for i := 1; i <= 3; i++ {
			want := casework.TaskCancelled
			if i == c.task {
				want = casework.TaskDone
			}
			h.RequireState(t, tid(i), want)
			h.RequireRungs(t, tid(i))
		}
		require.Len(t, h.Changes("task.step_ended"), 2)
	}
}

// TestStepRatio (票签 2/3 of three): passes once two have approved (the third's task ends), and
// fails once two have said no (it can no longer reach two approvals).
func TestStepRatio(t *testing.T) {
	ratio := &casework.Signing{Mode: casework.SignRatio, Num: 2, Den: 3}
	t.Run("passes", func(t *testing.T) {
		env, h := newSignEnv(t)
		h.At(10*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
		h.At(20*time.Minute, func() { decide(h, t, tid(2), leader2, casework.OutcomeReject) })
		h.At(30*time.Minute, func() { decide(h, t, tid(3), leader3, casework.OutcomeApprove) })
		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck, Signing: ratio}}})
		require.Equal(t, signDone{Task: tid(1), Outcome: "approve", By: "leader3",
			Votes: []string{"leader1:approve", "leader2:reject", "leader3:approve"}}, res[0])
		require.Equal(t, "ratio:2/3", h.RequireState(t, tid(2), casework.TaskDone).Signing)
	})
	t.Run("fails", func(t *testing.T) {
		env, h := newSignEnv(t)
		var late *kittest.Action
		h.At(10*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeReject) })
		h.At(20*time.Minute, func() { decide(h, t, tid(3), leader3, casework.OutcomeReturn) })
		h.At(21*time.Minute, func() { late = decide(h, t, tid(2), leader2, casework.OutcomeApprove) })
		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck, Signing: ratio}}, Linger: time.Hour})
		late.RequireRefused(t, workflows.CodeTaskNotOpen)
		// One reject and one return: the tie goes to the outcome the task lists first.
		require.Equal(t, "reject", res[0].Outcome)
		require.Equal(t, "leader1", res[0].By)
		h.RequireState(t, tid(2), casework.TaskCancelled)
		require.EqualValues(t, 0, stepDecided(t, h)["passes"])
	})
}

// TestStepSequence (依次): leader2 then leader1, one at a time: leader1's task opens only once
// leader2 has passed, with its own due time counted from then.
func TestStepSequence(t *testing.T) {
	env, h := newSignEnv(t)
	var second *kittest.Action
	var openAt2 int
	h.At(30*time.Minute, func() {
		openAt2 = len(h.TaskIDs(""))
		decide(h, t, tid(1), leader2, casework.OutcomeApprove)
	})
	h.At(3*time.Hour, func() { second = decide(h, t, tid(2), leader1, casework.OutcomeApprove) })
	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck,
		Signing: &casework.Signing{Mode: casework.SignSequence, UserIDs: []string{leader2.UserID, leader1.UserID}}}}})
	second.RequireDone(t)
	require.Equal(t, 1, openAt2, "leader1's task is not open before leader2 passes")
	require.Equal(t, []string{"leader2:approve", "leader1:approve"}, res[0].Votes)
	require.Equal(t, leader1.UserID, h.RequireState(t, tid(2), casework.TaskDone).AssigneeID)
	require.True(t, t0.Add(90*time.Minute).Equal(h.Task(t, tid(2)).Row.DueAt), "due an hour after it opened")
	h.RequireRungs(t, tid(2), 1) // reminded at 2h30, decided at 3h
}

// TestStepTwoOfAPool (会签 by two holders of a role, as two inspectors accept a serious finding):
// two pool tasks; whoever signed one may neither claim nor sign the other; a second leader signs it.
func TestStepTwoOfAPool(t *testing.T) {
	env, h := newSignEnv(t)
	var first, again, claim, second *kittest.Action
	h.At(10*time.Minute, func() { first = decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	h.At(20*time.Minute, func() {
		claim = h.Act(t, workflows.TaskAction{TaskID: tid(2), Action: workflows.ActionClaim, Actor: leader1})
		again = decide(h, t, tid(2), leader1, casework.OutcomeApprove)
	})
	h.At(30*time.Minute, func() { second = decide(h, t, tid(2), leader2, casework.OutcomeApprove) })
	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck, Signing: &casework.Signing{Mode: casework.SignAll, Count: 2}}}})
	first.RequireDone(t)
	require.Equal(t, "signed", claim.RequireRefused(t, workflows.CodeDuplicate).Params["reason"])
	require.Equal(t, "signed", again.RequireRefused(t, workflows.CodeDuplicate).Params["reason"])
	second.RequireDone(t)
	require.Equal(t, []string{"leader1:approve", "leader2:approve"}, res[0].Votes)
	require.Equal(t, "", h.Task(t, tid(2)).Spec.AssigneeID, "a pool task")
}

// TestAddSignersBefore (前加签): leader1 asks teacher1 to sign first; leader1 may not decide
// until teacher1 has; once teacher1 passes the task comes back and leader1's decision passes the
// step, by leader1. The adder took the pool task up (it is theirs now).
func TestAddSignersBefore(t *testing.T) {
	env, h := newSignEnv(t)
	var add, early, other, signed, done *kittest.Action
	h.At(10*time.Minute, func() { add = addSigners(h, t, tid(1), leader1, casework.SignBefore, teacher1) })
	h.At(20*time.Minute, func() {
		early = decide(h, t, tid(1), leader1, casework.OutcomeApprove)
		other = decide(h, t, tid(1), leader2, casework.OutcomeApprove)
	})
	h.At(30*time.Minute, func() { signed = decide(h, t, tid(2), teacher1, casework.OutcomeApprove) })
	h.At(40*time.Minute, func() { done = decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}})

	require.Equal(t, leader1.UserID, add.RequireDone(t).AssigneeID)
	r := early.RequireRefused(t, workflows.CodeWrongState)
	require.Equal(t, "signing_before", r.Params["reason"])
	require.Equal(t, "teacher1", r.Params["signers"])
	other.RequireRefused(t, workflows.CodeNotCandidate)
	signed.RequireDone(t)
	done.RequireDone(t)
	require.Equal(t, signDone{Task: tid(1), Outcome: "approve", By: "leader1", Votes: []string{"teacher1:approve", "leader1:approve"}}, res[0])
	row := h.RequireState(t, tid(2), casework.TaskDone)
	require.Equal(t, "before", row.Signing)
	require.Equal(t, tid(1), row.AddedTo)
	require.Equal(t, teacher1.UserID, row.AssigneeID)
	require.Equal(t, "", h.RequireState(t, tid(1), casework.TaskDone).Signing)
	require.Equal(t, []string{"task.signers_added t1 by leader1", "task.completed t2 by teacher1", "task.completed t1 by leader1"}, actions(h))
	require.Equal(t, "before", h.Changes("task.signers_added")[0].Fields["position"])
}

// TestAddSignersAfterAndParallel: a signer added after (后加签) is asked only once the task passes,
// and the step waits for them; a parallel one (并加签) signs beside it. The decision is the holder's.
func TestAddSignersAfterAndParallel(t *testing.T) {
	env, h := newSignEnv(t)
	var after, par *kittest.Action
	var openBefore int
	h.At(10*time.Minute, func() {
		after = addSigners(h, t, tid(1), leader1, casework.SignAfter, aid1)
		par = addSigners(h, t, tid(1), leader1, casework.SignParallel, teacher1)
	})
	h.At(20*time.Minute, func() {
		openBefore = len(h.TaskIDs(""))
		decide(h, t, tid(1), leader1, casework.OutcomeApprove)
	})
	h.At(30*time.Minute, func() { decide(h, t, tid(2), teacher1, casework.OutcomeApprove) })
	h.At(40*time.Minute, func() { decide(h, t, tid(3), aid1, casework.OutcomeApprove) })
	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}})
	after.RequireDone(t)
	par.RequireDone(t)
	require.Equal(t, 2, openBefore, "the after signer is not asked before the task passes")
	require.Equal(t, signDone{Task: tid(1), Outcome: "approve", By: "leader1",
		Votes: []string{"leader1:approve", "teacher1:approve", "aid1:approve"}}, res[0])
	require.Equal(t, "after", h.RequireState(t, tid(3), casework.TaskDone).Signing)
	require.Equal(t, "parallel", h.RequireState(t, tid(2), casework.TaskDone).Signing)
}

// TestAddSignerReturnsOrRejects (add-signer × return, × reject): a signer added before returns the
// case: the step is decided return, the held task ends, nothing stays open; a signer added after
// rejects it once the holder approved: the step is decided reject, by them.
func TestAddSignerReturnsOrRejects(t *testing.T) {
	t.Run("before returns", func(t *testing.T) {
		env, h := newSignEnv(t)
		h.At(10*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignBefore, teacher1, leader2) })
		h.At(20*time.Minute, func() { decide(h, t, tid(2), teacher1, casework.OutcomeReturn) })
		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}})
		require.Equal(t, "return", res[0].Outcome)
		require.Equal(t, "teacher1", res[0].By)
		h.RequireState(t, tid(1), casework.TaskCancelled)
		h.RequireState(t, tid(3), casework.TaskCancelled)
		for i := 1; i <= 3; i++ {
			h.RequireRungs(t, tid(i))
		}
		require.Equal(t, []string{"task.signers_added t1 by leader1", "task.completed t2 by teacher1", "task.step_ended t1 by system",
			"task.step_ended t3 by system"}, actions(h))
	})
	t.Run("after rejects", func(t *testing.T) {
		env, h := newSignEnv(t)
		h.At(10*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignAfter, aid1) })
		h.At(20*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
		h.At(30*time.Minute, func() { decide(h, t, tid(2), aid1, casework.OutcomeReject) })
		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}})
		require.Equal(t, signDone{Task: tid(1), Outcome: "reject", By: "aid1", Votes: []string{"leader1:approve", "aid1:reject"}}, res[0])
		require.Equal(t, "reject", stepDecided(t, h)["outcome"])
	})
	t.Run("holder rejects before the after signer", func(t *testing.T) {
		env, h := newSignEnv(t)
		h.At(10*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignAfter, aid1) })
		h.At(20*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeReject) })
		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}})
		require.Equal(t, "reject", res[0].Outcome)
		require.Len(t, h.TaskIDs(""), 1, "the after signer is never asked")
	})
}

// TestAddSignersRefused: who may add, and whom: not the delegate, not someone who does not act
// on the task, not oneself, not a barred person, not someone who does not see the unit, not
// someone already signing, at a position that exists.
func TestAddSignersRefused(t *testing.T) {
	env, h := newSignEnv(t)
	var stranger, self, barred, outside, dup, position, none, byDelegate *kittest.Action
	h.At(10*time.Minute, func() {
		stranger = addSigners(h, t, tid(1), otherLeader, casework.SignBefore, teacher1)
		self = addSigners(h, t, tid(1), leader1, casework.SignBefore, leader1)
		barred = addSigners(h, t, tid(1), leader1, casework.SignBefore, applicant)
		outside = addSigners(h, t, tid(1), leader1, casework.SignBefore, outsider9)
		position = addSigners(h, t, tid(1), leader1, "first", teacher1)
		none = addSigners(h, t, tid(1), leader1, casework.SignBefore)
	})
	h.At(20*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignParallel, teacher1) })
	h.At(30*time.Minute, func() { dup = addSigners(h, t, tid(1), leader1, casework.SignAfter, teacher1) })
	h.At(40*time.Minute, func() { delegate(h, t, tid(1), leader1, leader2) })
	h.At(50*time.Minute, func() { byDelegate = addSigners(h, t, tid(1), leader2, casework.SignAfter, aid1) })
	h.At(60*time.Minute, func() { resolve(h, t, tid(1), leader2, "同意") })
	h.At(70*time.Minute, func() {
		decide(h, t, tid(1), leader1, casework.OutcomeApprove)
		decide(h, t, tid(2), teacher1, casework.OutcomeApprove)
	})
	signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}, Exclude: []string{applicant.UserID}})
	stranger.RequireRefused(t, workflows.CodeNotCandidate)
	require.Equal(t, "self_sign", self.RequireRefused(t, workflows.CodeInvalid).Params["reason"])
	require.Equal(t, "user_ids", barred.RequireRefused(t, workflows.CodeSeparationOfDuties).Field)
	require.Equal(t, "user_ids", outside.RequireRefused(t, workflows.CodeNotInScope).Field)
	require.Equal(t, "position", position.RequireRefused(t, workflows.CodeInvalid).Field)
	require.Equal(t, "required", none.RequireRefused(t, workflows.CodeInvalid).Params["reason"])
	require.Equal(t, "signer", dup.RequireRefused(t, workflows.CodeDuplicate).Params["reason"])
	require.Equal(t, "delegate", byDelegate.RequireRefused(t, workflows.CodeNotCandidate).Params["reason"])
}

// TestRemoveSigners (减签): only added signers who have not signed are removed, by who added them
// or who acts on the task: removing the last signer a task was held by brings it back at once,
// removing an after signer lets the holder's approval pass the step. A signer who signed stays
// (signer_acted), a signer the process asked for is not removed (required_signer), nobody else is
// a signer to remove (not_signer).
func TestRemoveSigners(t *testing.T) {
	env, h := newSignEnv(t)
	var stranger, rmAid, acted, notSigner, rmAfter *kittest.Action
	h.At(10*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignBefore, teacher1, aid1) })
	h.At(20*time.Minute, func() { decide(h, t, tid(2), teacher1, casework.OutcomeApprove) })
	h.At(30*time.Minute, func() {
		stranger = removeSigners(h, t, tid(1), leader2, aid1)
		rmAid = removeSigners(h, t, tid(1), leader1, aid1)
	})
	h.At(40*time.Minute, func() {
		acted = removeSigners(h, t, tid(1), leader1, teacher1)
		notSigner = removeSigners(h, t, tid(1), leader1, leader3)
		addSigners(h, t, tid(1), leader1, casework.SignAfter, aid2)
	})
	h.At(50*time.Minute, func() { rmAfter = removeSigners(h, t, tid(1), leader1, aid2) })
	h.At(60*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}})

	stranger.RequireRefused(t, workflows.CodeNotCandidate)
	rmAid.RequireDone(t)
	require.Equal(t, "teacher1", acted.RequireRefused(t, workflows.CodeSignerActed).Params["user"])
	require.Equal(t, "not_signer", notSigner.RequireRefused(t, workflows.CodeInvalid).Params["reason"])
	rmAfter.RequireDone(t)
	require.Equal(t, signDone{Task: tid(1), Outcome: "approve", By: "leader1", Votes: []string{"teacher1:approve", "leader1:approve"}}, res[0])
	require.Equal(t, "", h.RequireState(t, tid(3), casework.TaskCancelled).Outcome)
	require.Len(t, h.TaskIDs(""), 3, "the removed after signer was never asked")
	require.Equal(t, []string{"task.signers_added t1 by leader1", "task.completed t2 by teacher1", "task.signers_removed t1 by leader1",
		"task.signer_removed t3 by leader1", "task.signers_added t1 by leader1", "task.signers_removed t1 by leader1",
		"task.completed t1 by leader1"}, actions(h))

	// In a 会签 the process's own signers are not removed.
	env2, h2 := newSignEnv(t)
	var required *kittest.Action
	h2.At(10*time.Minute, func() { required = removeSigners(h2, t, tid(1), leader1, leader2) })
	h2.At(20*time.Minute, func() {
		decide(h2, t, tid(1), leader1, casework.OutcomeApprove)
		decide(h2, t, tid(2), leader2, casework.OutcomeApprove)
		decide(h2, t, tid(3), leader3, casework.OutcomeApprove)
	})
	signRun(t, env2, signInput{Steps: []signStep{{Kind: kitCheck, Signing: &casework.Signing{Mode: casework.SignAll}}}})
	require.Equal(t, "required_signer", required.RequireRefused(t, workflows.CodeWrongState).Params["reason"])
}

// TestWithdrawWithASignerAdded (withdraw × an add-signer pending): the applicant may not withdraw
// once the holder added a signer (on the holder's task: claimed; on the added signer's: signers
// added); nothing changes, the signer signs, the holder approves. An untouched 会签 step, by
// contrast, is withdrawn whole: every signer's task ends withdrawn, nothing stays open.
func TestWithdrawWithASignerAdded(t *testing.T) {
	env, h := newSignEnv(t)
	var onHolder, onSigner *kittest.Action
	h.At(10*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignBefore, teacher1) })
	h.At(20*time.Minute, func() {
		onHolder = h.Act(t, workflows.TaskAction{TaskID: tid(1), Action: workflows.ActionWithdraw, Actor: applicant})
		onSigner = h.Act(t, workflows.TaskAction{TaskID: tid(2), Action: workflows.ActionWithdraw, Actor: applicant})
	})
	h.At(30*time.Minute, func() { decide(h, t, tid(2), teacher1, casework.OutcomeApprove) })
	h.At(40*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitCheck}}, Owner: applicant.UserID, Exclude: []string{applicant.UserID}})
	require.Equal(t, "claimed", onHolder.RequireRefused(t, workflows.CodeWrongState).Params["reason"])
	require.Equal(t, "signers_added", onSigner.RequireRefused(t, workflows.CodeWrongState).Params["reason"])
	require.Equal(t, "approve", res[0].Outcome)
	require.Empty(t, h.Changes("task.withdrawn"))

	env2, h2 := newSignEnv(t)
	var withdraw *kittest.Action
	h2.At(10*time.Minute, func() {
		withdraw = h2.Act(t, workflows.TaskAction{TaskID: tid(2), Action: workflows.ActionWithdraw, Actor: applicant, Comment: "家长放弃"})
	})
	res2 := signRun(t, env2, signInput{Steps: []signStep{{Kind: kitCheck, Signing: &casework.Signing{Mode: casework.SignAll}}},
		Owner: applicant.UserID, Exclude: []string{applicant.UserID}})
	withdraw.RequireDone(t)
	require.Equal(t, casework.OutcomeWithdrawn, res2[0].Outcome)
	for i := 1; i <= 3; i++ {
		require.Equal(t, casework.OutcomeWithdrawn, h2.RequireState(t, tid(i), casework.TaskCancelled).Outcome)
		h2.RequireRungs(t, tid(i))
	}
	require.Len(t, h2.Changes("task.withdrawn"), 3)
}

// TestStepCarriedAcrossContinueAsNew: a 会签 step half signed when the case continues as new
// crosses as one carried task (its anchor, with the other open task inside); in the next run the
// votes are kept and the last signer passes it.
func TestStepCarriedAcrossContinueAsNew(t *testing.T) {
	env, h := newSignEnv(t)
	h.At(10*time.Minute, func() { decide(h, t, tid(2), leader2, casework.OutcomeApprove) })
	h.At(20*time.Minute, func() { addSigners(h, t, tid(1), leader1, casework.SignAfter, aid1) })
	h.At(30*time.Minute, func() { env.SetContinueAsNewSuggested(true) })
	all := &casework.Signing{Mode: casework.SignAll, UserIDs: []string{leader1.UserID, leader2.UserID}}
	env.ExecuteWorkflow(signCase, signInput{Steps: []signStep{{Kind: kitCheck, Signing: all}}, Bounded: true})
	var next signInput
	kittest.ContinuedAs(t, env, &next)
	require.Len(t, next.Carried, 1, "a step crosses as one task")
	require.Equal(t, tid(1), next.Carried[0].ID)
	require.Empty(t, next.Carried[0].Step.Carried, "leader2 signed: no other task of the step is open")

	env2 := newTestEnv()
	h2 := h.NextRun(env2)
	var again, last, after *kittest.Action
	h2.At(time.Minute, func() { again = decide(h2, t, tid(2), leader2, casework.OutcomeApprove) })
	h2.At(2*time.Minute, func() { last = decide(h2, t, tid(1), leader1, casework.OutcomeApprove) })
	h2.At(3*time.Minute, func() { after = decide(h2, t, tid(3), aid1, casework.OutcomeApprove) })
	res := signRun(t, env2, next)
	again.RequireRefused(t, workflows.CodeTaskNotOpen)
	last.RequireDone(t)
	after.RequireDone(t)
	require.Equal(t, []string{"leader2:approve", "leader1:approve", "aid1:approve"}, res[0].Votes)
	require.Equal(t, "leader1", res[0].By)
}

// TestSameApproverOnce: leader1 approves the sign-off; the check that follows may be decided by
// leader1 too. With the policy "once" it passes with leader1's decision at once (on record as
// theirs, marked auto); asked each time (the default), it waits for a decision.
func TestSameApproverOnce(t *testing.T) {
	for _, policy := range []string{casework.SameApproverOnce, ""} {
		env, h := newSignEnv(t)
		h.At(10*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
		var again *kittest.Action
		if policy == "" {
			h.At(20*time.Minute, func() { again = decide(h, t, tid(2), leader1, casework.OutcomeApprove) })
		}
		res := signRun(t, env, signInput{Steps: []signStep{{Kind: kitSign}, {Kind: kitCheck, SameApprover: policy}}})
		require.Len(t, res, 2)
		require.Equal(t, "leader1", res[1].By)
		require.Equal(t, policy != "", res[1].Auto)
		row := h.RequireState(t, tid(2), casework.TaskDone)
		require.Equal(t, leader1.UserID, row.CompletedBy)
		if policy == "" {
			again.RequireDone(t)
			continue
		}
		// The first task's completion and the second's automatic pass are written by activities
		// that may run in either order: find the second's by its task.
		var auto activities.TaskChange
		for _, c := range h.Changes("task.completed") {
			if c.Task.ID == tid(2) {
				auto = c
			}
		}
		require.Equal(t, "same_approver", auto.Fields["auto"])
		require.Equal(t, tid(1), auto.Fields["previous_task"])
		require.True(t, t0.Add(10*time.Minute).Equal(row.CreatedAt), "passed as it opened")
	}
}

// TestSameApproverNotForAStep: the policy never passes a multi-approver step: leader1 passed
// the first step, the second (signed by leader2 alone) still waits for leader2's decision.
func TestSameApproverNotForAStep(t *testing.T) {
	env, h := newSignEnv(t)
	h.At(10*time.Minute, func() { decide(h, t, tid(1), leader1, casework.OutcomeApprove) })
	var other *kittest.Action
	h.At(20*time.Minute, func() { other = decide(h, t, tid(2), leader2, casework.OutcomeApprove) })
	in := signInput{Steps: []signStep{{Kind: kitSign}, {Kind: kitCheck, SameApprover: casework.SameApproverOnce,
		Signing: &casework.Signing{Mode: casework.SignAny, UserIDs: []string{leader2.UserID}}}}}
	res := signRun(t, env, in)
	other.RequireDone(t)
	require.False(t, res[1].Auto, "a multi-approver step is never passed by the policy")
	require.Equal(t, "leader2", res[1].By)
}
