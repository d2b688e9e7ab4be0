package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

const (
	grantID    = "hardship-20260901-0001"
	countyCode = "JS"
	countyPath = "/JS/"
	payDue     = "10wd"
	expiry     = "60d"
)

func atSection(role, code string) access.Role {
	return access.Role{Role: role, UnitCode: code, UnitKind: "section", UnitPath: "/JS/" + code + "/"}
}

var (
	paOfficer   = person("pa1", atSection(casework.RolePAOffice, "JS-FPB"))
	bureauChief = person("leader01", access.Role{Role: casework.RoleBureauLeader, UnitCode: countyCode, UnitKind: "bureau", UnitPath: countyPath})
	funds1      = person("funds1", atSection(casework.RoleFundsCenter, "JS-JFZX"))
	// aidAndPA holds three county roles: they may decide one step of a grant, never two.
	aidAndPA = person("aidpa", atAidCenter(), atSection(casework.RolePAOffice, "JS-FPB"), atSection(casework.RoleFundsCenter, "JS-JFZX"))
)

// fundFake is the hardship process's own activities over an in-memory fund: the available
// balance a reservation takes from and a release gives back, and every step on record.
type fundFake struct {
	mu        sync.Mutex
	available int64
	reserved  map[string]int64
	reserves  []activities.ReserveGrantInput
	releases  []activities.GrantStep
	paid      []activities.DisburseGrantInput
	steps     []activities.GrantStep
}

func (f *fundFake) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.steps {
		out = append(out, s.Audit.Action)
	}
	return out
}

func newGrantEnv(t *testing.T, available int64) (*testsuite.TestWorkflowEnvironment, *kittest.Harness, *fundFake) {
	return newGrantEnvWith(t, available, nil)
}

// newGrantEnvWith is newGrantEnv with mocks of first calls registered before the harness's.
func newGrantEnvWith(t *testing.T, available int64, first func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, *kittest.Harness, *fundFake) {
	env := newTestEnv()
	env.SetTestTimeout(time.Minute)
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: grantID, TaskQueue: workflows.TaskQueue})
	if first != nil {
		first(env)
	}
	h := kittest.New(env)
	h.Units = map[string]string{schoolCode: schoolPath, countyCode: countyPath}
	h.SetLadder(casework.DefaultLadderKind, kittest.Rung{After: 0, Target: casework.TargetRemind})
	f := &fundFake{available: available, reserved: map[string]int64{}}
	var acts *activities.Activities
	env.OnActivity(acts.OpenGrant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenGrantInput) (activities.GrantRecord, error) {
			g := in.Grant
			g.UnitID, g.UnitPath, g.State = "unit-"+g.UnitCode, schoolPath, casework.GrantVerifying
			return g, nil
		})
	env.OnActivity(acts.SetGrant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.GrantStep) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.steps = append(f.steps, in)
			return nil
		})
	env.OnActivity(acts.ReserveGrant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReserveGrantInput) (activities.Reservation, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reserves = append(f.reserves, in)
			if _, ok := f.reserved[in.Grant.ID]; ok {
				return activities.Reservation{Reserved: true, AvailableFen: f.available}, nil
			}
			if f.available < in.Grant.AmountFen {
				return activities.Reservation{AvailableFen: f.available}, nil
			}
			f.available -= in.Grant.AmountFen
			f.reserved[in.Grant.ID] = in.Grant.AmountFen
			return activities.Reservation{Reserved: true, AvailableFen: f.available}, nil
		})
	env.OnActivity(acts.ReleaseGrant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.GrantStep) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.releases = append(f.releases, in)
			f.available += f.reserved[in.Grant.ID]
			delete(f.reserved, in.Grant.ID)
			return nil
		})
	env.OnActivity(acts.DisburseGrant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DisburseGrantInput) (store.HardshipDisbursement, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.reserved[in.Grant.ID]; !ok {
				return store.HardshipDisbursement{}, errors.New("paid without a reservation")
			}
			f.paid = append(f.paid, in)
			delete(f.reserved, in.Grant.ID)
			return store.HardshipDisbursement{GrantID: in.Grant.ID, AmountFen: in.Grant.AmountFen}, nil
		})
	env.OnActivity(acts.HardshipDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.HardshipDueInput) (time.Time, error) {
			return in.Period.Due(calendar.Default(), in.From), nil
		})
	return env, h, f
}

func grantInput(t *testing.T, yuan int64) workflows.HardshipInput {
	spec := func(s string) calendar.Spec {
		v, err := calendar.ParseSpec(s)
		require.NoError(t, err)
		return v
	}
	amount := yuan * 100
	return workflows.HardshipInput{
		Grant: activities.GrantRecord{ID: grantID, StudentID: "st-1", UnitCode: schoolCode, AmountFen: amount, Reason: "父亲重病住院",
			HardshipKind: "illness", SchoolYear: "2026-2027", Tiers: workflows.HardshipTiers(amount, 2000_00, 5000_00),
			ApplicantID: applicant.UserID, CreatedAt: t0},
		StudentName: "张小三", Applicant: applicant, ApplicantRole: casework.RoleSchoolStaff, CountyUnit: countyCode,
		VerificationDue: spec("3wd"), ApprovalDue: spec("3wd"), PayDue: spec(payDue), Expiry: spec(expiry)}
}

func runGrant(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.HardshipInput) workflows.HardshipResult {
	t.Helper()
	env.ExecuteWorkflow(workflows.HardshipGrant, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.HardshipResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func pay(h *kittest.Harness, t *testing.T, id string, by access.Actor) *kittest.Action {
	return h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeDisburse, Actor: by,
		Fields: map[string]string{workflows.FieldChannel: "一卡通", workflows.FieldReference: "YKT-2026-0901"}})
}

// approvals answers each approval task as it opens, tier by tier, with the next approver.
func approvals(h *kittest.Harness, t *testing.T, by ...access.Actor) []*kittest.Action {
	out := make([]*kittest.Action, len(by))
	n := 0
	h.WhenOpen(casework.KindHardshipApproval, time.Hour, func(id string) {
		out[n] = h.Complete(t, id, casework.OutcomeApprove, by[n])
		n++
	})
	return out
}

func verified(h *kittest.Harness, t *testing.T) **kittest.Action {
	var v *kittest.Action
	h.WhenOpen(casework.KindHardshipVerification, time.Hour, func(id string) { v = h.Complete(t, id, casework.OutcomeApprove, leader1) })
	return &v
}

func paid(h *kittest.Harness, t *testing.T, after time.Duration) **kittest.Action {
	var p *kittest.Action
	h.WhenOpen(casework.KindHardshipDisbursement, after, func(id string) { p = pay(h, t, id, funds1) })
	return &p
}

// TestHardshipTiersByAmount: a grant up to the first threshold is approved by the aid center
// alone; above it the PA office approves after it; above the second a bureau leader last. Each
// tier is one task for its role at the county; only the final approval reserves, and the funds
// center pays the reserved amount once. Nobody escalates: everything was done in time.
func TestHardshipTiersByAmount(t *testing.T) {
	for _, c := range []struct {
		name  string
		yuan  int64
		roles []string
		by    []access.Actor
	}{
		{"aid center alone up to 2000 yuan", 2000, []string{casework.RoleAidCenter}, []access.Actor{aid1}},
		{"and the PA office above it", 3000, []string{casework.RoleAidCenter, casework.RolePAOffice}, []access.Actor{aid1, paOfficer}},
		{"and a bureau leader above 5000 yuan", 6000, []string{casework.RoleAidCenter, casework.RolePAOffice, casework.RoleBureauLeader},
			[]access.Actor{aid1, paOfficer, bureauChief}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, h, f := newGrantEnv(t, 10_000_00)
			v := verified(h, t)
			acts := approvals(h, t, c.by...)
			p := paid(h, t, time.Hour)
			res := runGrant(t, env, grantInput(t, c.yuan))

			(*v).RequireDone(t)
			for _, a := range acts {
				a.RequireDone(t)
			}
			(*p).RequireDone(t)
			require.Equal(t, casework.GrantDisbursed, res.State)
			ids := h.TaskIDs(casework.KindHardshipApproval)
			require.Len(t, ids, len(c.roles))
			for i, id := range ids {
				task := h.Task(t, id)
				require.Equal(t, c.roles[i], task.Spec.CandidateRole, "tier %d", i+1)
				require.Equal(t, countyCode, task.Spec.UnitCode)
			}
			require.Len(t, f.reserves, 1, "only the final approval reserves")
			require.Equal(t, c.by[len(c.by)-1].UserID, f.reserves[0].By.UserID)
			require.Equal(t, c.roles[len(c.roles)-1], f.reserves[0].Role)
			require.Len(t, f.reserves[0].Grant.Approvers, len(c.roles))
			require.Len(t, f.paid, 1)
			require.Equal(t, c.yuan*100, f.paid[0].Grant.AmountFen)
			require.Equal(t, "一卡通", f.paid[0].Channel)
			require.Equal(t, "YKT-2026-0901", f.paid[0].Reference)
			require.Equal(t, 10_000_00-c.yuan*100, f.available, "the reservation was spent, not released")
			require.Empty(t, f.releases)
			require.Empty(t, h.Raised(), "paid in time: the deadline never climbed")
			want := []string{"hardship.verified"}
			for range c.roles[:len(c.roles)-1] {
				want = append(want, "hardship.tier_approved")
			}
			require.Equal(t, want, f.actions())
			pt := h.Task(t, h.TaskIDs(casework.KindHardshipDisbursement)[0])
			require.Equal(t, casework.RoleFundsCenter, pt.Spec.CandidateRole)
			require.True(t, pt.Spec.Ladderless, "the payment's lateness is its deadline's, not a ladder of its own")
		})
	}
}

// TestHardshipSeparationOfDuties: across the whole chain nobody decides twice and nobody decides
// their own application: the applicant (who is also a school leader) may not verify; the
// verifier (who also holds the aid center's role) may not approve; a person holding both county
// roles approves the first tier and is refused the second, and the payment (they are also in the
// funds center).
func TestHardshipSeparationOfDuties(t *testing.T) {
	env, h, f := newGrantEnv(t, 10_000_00)
	staffLeader := person("staffleader", atSchool(casework.RoleSchoolStaff), atSchool(casework.RoleSchoolLeader))
	leaderAid := person("leaderaid", atSchool(casework.RoleSchoolLeader), atAidCenter())
	in := grantInput(t, 3000)
	in.Applicant = staffLeader
	in.Grant.ApplicantID = staffLeader.UserID
	var ownVerify, verify, verifierApproves, tier1, tier2Again, tier2, ownPay, payment *kittest.Action
	h.WhenOpen(casework.KindHardshipVerification, time.Hour, func(id string) {
		ownVerify = h.Complete(t, id, casework.OutcomeApprove, staffLeader)
		verify = h.Complete(t, id, casework.OutcomeApprove, leaderAid)
	})
	n := 0
	h.WhenOpen(casework.KindHardshipApproval, time.Hour, func(id string) {
		n++
		if n == 1 {
			verifierApproves = h.Complete(t, id, casework.OutcomeApprove, leaderAid)
			tier1 = h.Complete(t, id, casework.OutcomeApprove, aidAndPA)
			return
		}
		tier2Again = h.Complete(t, id, casework.OutcomeApprove, aidAndPA)
		tier2 = h.Complete(t, id, casework.OutcomeApprove, paOfficer)
	})
	h.WhenOpen(casework.KindHardshipDisbursement, time.Hour, func(id string) {
		ownPay = pay(h, t, id, aidAndPA)
		payment = pay(h, t, id, funds1)
	})
	res := runGrant(t, env, in)

	ownVerify.RequireRefused(t, workflows.CodeSeparationOfDuties)
	verify.RequireDone(t)
	verifierApproves.RequireRefused(t, workflows.CodeSeparationOfDuties)
	tier1.RequireDone(t)
	tier2Again.RequireRefused(t, workflows.CodeSeparationOfDuties)
	tier2.RequireDone(t)
	ownPay.RequireRefused(t, workflows.CodeSeparationOfDuties)
	payment.RequireDone(t)
	require.Equal(t, casework.GrantDisbursed, res.State)
	pt := h.Task(t, h.TaskIDs(casework.KindHardshipDisbursement)[0])
	require.ElementsMatch(t, []string{staffLeader.UserID, leaderAid.UserID, aidAndPA.UserID, paOfficer.UserID}, pt.Spec.Exclude,
		"the applicant, the verifier and every approver are barred from the payment")
	require.Equal(t, []string{aidAndPA.UserID, paOfficer.UserID}, f.reserves[0].Grant.Approvers)
}

// TestHardshipInsufficientFundsWaits: the final approval finds the fund short: it is refused
// insufficient_funds with the available balance, the task stays open and the grant waits; once
// money came in the same approver approves again and the grant is reserved and paid, never in
// part.
func TestHardshipInsufficientFundsWaits(t *testing.T) {
	env, h, f := newGrantEnv(t, 1500_00)
	v := verified(h, t)
	var short, again *kittest.Action
	h.WhenOpen(casework.KindHardshipApproval, time.Hour, func(id string) {
		short = h.Complete(t, id, casework.OutcomeApprove, aid1)
	})
	h.At(5*24*time.Hour, func() {
		f.mu.Lock()
		f.available += 1000_00 // a donation came in
		f.mu.Unlock()
		again = h.Complete(t, h.OpenID(t, casework.KindHardshipApproval), casework.OutcomeApprove, aid1)
	})
	p := paid(h, t, time.Hour)
	res := runGrant(t, env, grantInput(t, 2000))

	(*v).RequireDone(t)
	r := short.RequireHandlerRefused(t, workflows.CodeInsufficientFunds)
	require.Equal(t, "amount_fen", r.Field)
	require.Equal(t, map[string]string{"amount_fen": "200000", "available_fen": "150000"}, r.Params)
	again.RequireDone(t)
	(*p).RequireDone(t)
	require.Equal(t, casework.GrantDisbursed, res.State)
	require.Len(t, f.reserves, 2)
	require.Len(t, f.paid, 1)
	require.Equal(t, int64(500_00), f.available)
	require.Len(t, h.TaskIDs(casework.KindHardshipApproval), 1, "the refused approval left its task open; no second task")
}

// TestHardshipReleaseOnRejection: a grant the funds center refuses to pay (with a reason) gives
// its reservation back; a rejection at a tier before any reservation releases nothing.
func TestHardshipReleaseOnRejection(t *testing.T) {
	t.Run("after the reservation", func(t *testing.T) {
		env, h, f := newGrantEnv(t, 10_000_00)
		verified(h, t)
		approvals(h, t, aid1)
		var noReason, reject *kittest.Action
		h.WhenOpen(casework.KindHardshipDisbursement, time.Hour, func(id string) {
			noReason = h.Complete(t, id, casework.OutcomeReject, funds1)
			reject = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeReject,
				Comment: "学生银行卡已注销，无法发放", Actor: funds1})
		})
		res := runGrant(t, env, grantInput(t, 1200))
		noReason.RequireRefused(t, workflows.CodeInvalid)
		reject.RequireDone(t)
		require.Equal(t, casework.GrantRejected, res.State)
		require.Len(t, f.releases, 1)
		require.Equal(t, "hardship.rejected", f.releases[0].Audit.Action)
		require.Equal(t, "学生银行卡已注销，无法发放", f.releases[0].Grant.Note)
		require.Equal(t, int64(10_000_00), f.available, "the reservation came back")
		require.Empty(t, f.paid)
	})
	t.Run("at a tier", func(t *testing.T) {
		env, h, f := newGrantEnv(t, 10_000_00)
		verified(h, t)
		var reject *kittest.Action
		h.WhenOpen(casework.KindHardshipApproval, time.Hour, func(id string) {
			reject = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionComplete, Outcome: casework.OutcomeReject,
				Comment: "已享受其他救助", Actor: aid1})
		})
		res := runGrant(t, env, grantInput(t, 3000))
		reject.RequireDone(t)
		require.Equal(t, casework.GrantRejected, res.State)
		require.Empty(t, f.reserves)
		require.Len(t, f.releases, 1)
		require.Len(t, h.TaskIDs(casework.KindHardshipApproval), 1, "the second tier never opened")
		require.Empty(t, h.TaskIDs(casework.KindHardshipDisbursement))
	})
}

// TestHardshipReleaseOnWithdrawal: the applicant withdraws an approved grant before the funds
// center takes it up: the reservation goes back; once claimed, it can no longer be withdrawn.
func TestHardshipReleaseOnWithdrawal(t *testing.T) {
	env, h, f := newGrantEnv(t, 10_000_00)
	verified(h, t)
	approvals(h, t, aid1)
	var stranger, withdraw *kittest.Action
	h.WhenOpen(casework.KindHardshipDisbursement, time.Hour, func(id string) {
		stranger = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionWithdraw, Actor: staff2})
		withdraw = h.Act(t, workflows.TaskAction{TaskID: id, Action: workflows.ActionWithdraw, Comment: "学生已获其他救助", Actor: applicant})
	})
	res := runGrant(t, env, grantInput(t, 1500))
	stranger.RequireRefused(t, workflows.CodeNotCandidate)
	withdraw.RequireDone(t)
	require.Equal(t, casework.GrantWithdrawn, res.State)
	require.Len(t, f.releases, 1)
	require.Equal(t, "hardship.withdrawn", f.releases[0].Audit.Action)
	require.Equal(t, int64(10_000_00), f.available)
	require.Empty(t, f.paid)
}

// TestHardshipPayDueEscalates: an approved grant not paid within JIAOFU_HARDSHIP_PAY_DUE goes to
// the supervision office by itself (its accountability record opens with the escalation); paid
// later, it is paid once.
func TestHardshipPayDueEscalates(t *testing.T) {
	env, h, f := newGrantEnv(t, 10_000_00)
	verified(h, t)
	approvals(h, t, aid1)
	p := paid(h, t, 20*24*time.Hour)
	res := runGrant(t, env, grantInput(t, 1000))
	(*p).RequireDone(t)
	require.Equal(t, casework.GrantDisbursed, res.State)
	raised := h.Raised()
	require.Len(t, raised, 1)
	r := raised[0]
	require.Equal(t, casework.TargetSupervision, r.Target)
	require.Equal(t, casework.DeadlineHardshipPayDue, r.Kind)
	require.Equal(t, grantID, r.CaseID)
	require.Equal(t, countyCode, r.UnitCode)
	require.Contains(t, r.Reason, "逾期未发放")
	approvedAt := t0.Add(2 * time.Hour) // verified an hour in, approved an hour after its task opened
	require.True(t, mustDue(t, payDue, approvedAt).Equal(r.At), "escalated at %v", r.At)
	due := h.Task(t, h.TaskIDs(casework.KindHardshipDisbursement)[0]).Row.DueAt
	require.True(t, due.Equal(r.At), "the payment task is due at the deadline: %v", due)
	require.Len(t, f.paid, 1)
}

// TestHardshipExpiresUnpaid: nobody pays before the reservation expires: the payment task is
// cancelled, the reservation goes back and the grant is expired (the supervision office was
// seized at the pay deadline long before).
func TestHardshipExpiresUnpaid(t *testing.T) {
	env, h, f := newGrantEnv(t, 10_000_00)
	verified(h, t)
	approvals(h, t, aid1)
	res := runGrant(t, env, grantInput(t, 1000))
	require.Equal(t, casework.GrantExpired, res.State)
	h.RequireState(t, h.TaskIDs(casework.KindHardshipDisbursement)[0], casework.TaskCancelled)
	require.Len(t, f.releases, 1)
	require.Equal(t, "hardship.expired", f.releases[0].Audit.Action)
	require.Equal(t, int64(10_000_00), f.available)
	require.Len(t, h.Raised(), 1)
	require.Empty(t, f.paid)
}

func mustDue(t *testing.T, spec string, from time.Time) time.Time {
	s, err := calendar.ParseSpec(spec)
	require.NoError(t, err)
	return s.Due(calendar.Default(), from)
}

// TestHardshipApprovedTheMomentItShows: an approver who acts the instant the final tier's task
// shows in the inbox, before the workflow has heard that the task is projected (here: while
// ProjectOpenTask is still running), still reserves: the final tier is known by the task, not by
// an id noted after opening it. Found by jiaofu simulate, where such an approval went through
// without a reservation and the payment then failed.
func TestHardshipApprovedTheMomentItShows(t *testing.T) {
	var mu sync.Mutex
	var acts []*kittest.Action
	var h *kittest.Harness
	var a *activities.Activities
	env, hh, f := newGrantEnvWith(t, 10_000_00, func(env *testsuite.TestWorkflowEnvironment) {
		// Registered before the harness's, so it is the one the workflow's projections reach: each
		// task is decided from inside its own projection, before the activity answers.
		env.OnActivity(a.ProjectOpenTask, mock.Anything, mock.Anything).Return(func(_ context.Context, p activities.ProjectTaskInput) error {
			by := map[string]access.Actor{casework.KindHardshipVerification: leader1, casework.KindHardshipApproval: aid1,
				casework.KindHardshipDisbursement: funds1}[p.Task.Spec.Kind]
			done := make(chan struct{})
			env.RegisterDelayedCallback(func() {
				act := workflows.TaskAction{TaskID: p.Task.ID, Action: workflows.ActionComplete, Outcome: casework.OutcomeApprove, Actor: by}
				if by.UserID == funds1.UserID {
					act.Outcome, act.Fields = casework.OutcomeDisburse, map[string]string{workflows.FieldChannel: "一卡通", workflows.FieldReference: "P-1"}
				}
				mu.Lock()
				acts = append(acts, h.Act(t, act))
				mu.Unlock()
				close(done)
			}, 0)
			<-done
			return nil
		})
	})
	h = hh
	res := runGrant(t, env, grantInput(t, 1800))
	require.Len(t, acts, 3)
	for _, act := range acts {
		act.RequireDone(t)
	}
	require.Equal(t, casework.GrantDisbursed, res.State)
	require.Len(t, f.reserves, 1, "the approval reserved")
	require.Len(t, f.paid, 1)
}
