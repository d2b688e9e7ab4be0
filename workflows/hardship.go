package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

func init() { registerWorkflows(casework.ProcessHardship, HardshipGrant) }

// Fields of a hardship payment's completion (outcome disburse).
const (
	FieldChannel   = "channel"
	FieldReference = "reference"
)

// HardshipInput opens a grant's case. Grant carries what the school applied for (ID, StudentID,
// UnitCode of the school, AmountFen, Reason, HardshipKind, SchoolYear, ApplicantID, CreatedAt)
// and Tiers, the roles that approve it in order, decided by its amount at the API from the
// thresholds of the day: a threshold changed later does not move a grant under way.
type HardshipInput struct {
	Grant         activities.GrantRecord
	StudentName   string
	Applicant     access.Actor
	ApplicantRole string
	// CountyUnit is the bureau's unit code: the county's steps (approvals, payment) and the
	// payment deadline belong to it, since their roles act county-wide.
	CountyUnit      string
	VerificationDue calendar.Spec
	ApprovalDue     calendar.Spec
	PayDue          calendar.Spec // JIAOFU_HARDSHIP_PAY_DUE, from the final approval
	Expiry          calendar.Spec // JIAOFU_HARDSHIP_RESERVATION_EXPIRY, from the final approval
	// LeaderRatio is the share of the bureau leaders who must approve the top tier (票签,
	// JIAOFU_HARDSHIP_TOP_RATIO), fixed at the application like the tiers. Zero (an API of the
	// older code during a deploy) is DefaultLeaderRatio.
	LeaderRatio Ratio `json:",omitempty"`
}

// Ratio is a share Num/Den (2/3: at least two thirds).
type Ratio struct {
	Num, Den int
}

// DefaultLeaderRatio is the bureau leaders' share when the input carries none: two thirds.
var DefaultLeaderRatio = Ratio{Num: 2, Den: 3}

// HardshipResult is how a grant ended.
type HardshipResult struct {
	GrantID string
	State   string
}

// HardshipTiers are the roles that approve a grant of amountFen, in order: the aid center always,
// the poverty-alleviation office above paAboveFen, a bureau leader above leaderAboveFen.
func HardshipTiers(amountFen, paAboveFen, leaderAboveFen int64) []string {
	tiers := []string{casework.RoleAidCenter}
	if amountFen > paAboveFen {
		tiers = append(tiers, casework.RolePAOffice)
	}
	if amountFen > leaderAboveFen {
		tiers = append(tiers, casework.RoleBureauLeader)
	}
	return tiers
}

// CheckDisbursement is the payment task's own rule: a payment names its channel and reference.
func CheckDisbursement(a TaskAction) error {
	if a.Outcome != casework.OutcomeDisburse {
		return nil
	}
	for _, f := range []string{FieldChannel, FieldReference} {
		if strings.TrimSpace(a.Fields[f]) == "" {
			return refuseField(CodeInvalid, "fields."+f, because("required"), "fields.%s: required", f)
		}
	}
	return nil
}

// grantCase is one grant's workflow state.
type grantCase struct {
	in      HardshipInput
	g       activities.GrantRecord
	tasks   *Tasks
	exclude []string // everyone who applied, verified or approved: barred from every later step
	// leadersVote: the bureau leaders' tier is a 票签 step of every leader at the bureau
	// (grants applied for since "hardship-top-tier-ratio"; those before keep one leader's task).
	leadersVote bool
}

// HardshipGrant runs one grant on the kit: the school leader verifies it; each tier approves it in
// turn (the aid center, then the poverty-alleviation office and a bureau leader as its amount
// requires), nobody deciding twice in the chain; the final approval reserves the amount in the
// fund or is refused insufficient_funds (the grant waits for that tier to approve again or
// reject); the funds center pays it once, by JIAOFU_HARDSHIP_PAY_DUE or the supervision office is
// seized; a rejected, withdrawn or expired grant gives its reservation back.
func HardshipGrant(ctx workflow.Context, in HardshipInput) (HardshipResult, error) {
	tasks, err := NewTasks(ctx, 0)
	if err != nil {
		return HardshipResult{}, err
	}
	c := &grantCase{in: in, tasks: tasks, exclude: []string{in.Applicant.UserID}}
	tasks.Check(casework.KindHardshipDisbursement, CheckDisbursement)
	tasks.Before(casework.KindHardshipApproval, c.reserve)
	if slices.Contains(in.Grant.Tiers, casework.RoleBureauLeader) {
		c.leadersVote = workflow.GetVersion(ctx, "hardship-top-tier-ratio", workflow.DefaultVersion, 1) >= 1
	}
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).OpenGrant, activities.OpenGrantInput{
		Grant: in.Grant, By: in.Applicant, Role: in.ApplicantRole, At: workflow.Now(ctx)}).Get(ctx, &c.g); err != nil {
		return HardshipResult{}, err
	}
	c.searchState(ctx)

	v, err := tasks.Run(ctx, activities.TaskSpec{Kind: casework.KindHardshipVerification, Process: casework.ProcessHardship, CaseID: c.g.ID,
		Title: "特困救助核实：" + c.subject(), CandidateRole: casework.RoleSchoolLeader, UnitCode: c.g.UnitCode,
		Outcomes: []string{casework.OutcomeApprove, casework.OutcomeReject}, Due: in.VerificationDue, Exclude: slices.Clone(c.exclude),
		OwnerID: in.Applicant.UserID, CommentRequired: []string{casework.OutcomeReject}})
	if err != nil {
		return HardshipResult{}, err
	}
	if v.Outcome != casework.OutcomeApprove {
		return c.end(ctx, v)
	}
	c.g.VerifierID, c.g.State = v.By.UserID, casework.GrantApproving
	c.exclude = append(c.exclude, v.By.UserID)
	if err := c.step(ctx, "hardship.verified", v.By, v.Role, map[string]any{"comment": v.Comment}); err != nil {
		return HardshipResult{}, err
	}

	for i := range c.g.Tiers {
		r, err := tasks.Run(ctx, c.tierSpec(i))
		if err != nil {
			return HardshipResult{}, err
		}
		if r.Outcome != casework.OutcomeApprove {
			return c.end(ctx, r)
		}
		c.exclude = append(c.exclude, r.By.UserID)
		for _, v := range r.Votes {
			// Everyone who signed a step of the chain is barred from its later steps too.
			if !slices.Contains(c.exclude, v.UserID) {
				c.exclude = append(c.exclude, v.UserID)
			}
		}
		if i == len(c.g.Tiers)-1 {
			break // reserve recorded the approval with the reservation
		}
		c.g.Approvers = append(c.g.Approvers, r.By.UserID)
		if err := c.step(ctx, "hardship.tier_approved", r.By, r.Role, map[string]any{"tier": i + 1, "role": c.g.Tiers[i],
			"comment": r.Comment}); err != nil {
			return HardshipResult{}, err
		}
	}
	c.searchState(ctx)
	return c.pay(ctx)
}

// tierSpec is the task tier i of the approval waits on: one task for the tier's role at the
// county, barred to everyone who applied for, verified or approved the grant so far, which the
// applicant may withdraw while nobody has taken it up. It is the one place a tier is described.
// The bureau leaders' tier is a 票签 step (issue 18): every bureau leader at the bureau who is
// not barred signs, and LeaderRatio of them must approve; it fails once enough said no that the
// ratio cannot be reached.
func (c *grantCase) tierSpec(i int) activities.TaskSpec {
	spec := activities.TaskSpec{Kind: casework.KindHardshipApproval, Process: casework.ProcessHardship, CaseID: c.g.ID,
		Title: fmt.Sprintf("特困救助审批（第 %d/%d 级）：%s", i+1, len(c.g.Tiers), c.subject()), CandidateRole: c.g.Tiers[i],
		UnitCode: c.in.CountyUnit, Outcomes: []string{casework.OutcomeApprove, casework.OutcomeReject}, Due: c.in.ApprovalDue,
		Exclude: slices.Clone(c.exclude), OwnerID: c.in.Applicant.UserID, CommentRequired: []string{casework.OutcomeReject}}
	if c.leadersVote && c.g.Tiers[i] == casework.RoleBureauLeader {
		r := c.in.LeaderRatio
		if r.Num <= 0 || r.Den <= 0 || r.Num > r.Den {
			r = DefaultLeaderRatio
		}
		spec.Signing = &casework.Signing{Mode: casework.SignRatio, Num: r.Num, Den: r.Den, Role: casework.RoleBureauLeader, UnitCode: c.in.CountyUnit}
	}
	return spec
}

// reserve is the final tier's approval step (Tasks.Before): the amount is reserved in the fund,
// with the approval on record, before the approval counts; when the fund cannot cover it the
// approval is refused insufficient_funds and the task stays open, the grant waiting. The final
// tier's task is known by its role (each role approves one tier), never by an id the workflow
// noted after opening it: an approver quick enough acts before Open returns (found by jiaofu
// simulate: a grant paid without a reservation). On the bureau leaders' 票签 step the kit runs
// it only for the approval that makes the ratio, so the fund is reserved once, for the step;
// the leaders who approved before it are on the approval's record with the one deciding.
func (c *grantCase) reserve(ctx workflow.Context, task activities.TaskSpec, a TaskAction) error {
	if task.CandidateRole != c.g.Tiers[len(c.g.Tiers)-1] || a.Outcome != casework.OutcomeApprove {
		return nil
	}
	row := c.g
	row.Approvers = slices.Clone(c.g.Approvers)
	for _, v := range c.tasks.StepVotes(a.TaskID) {
		if v.Outcome == casework.OutcomeApprove && v.Added == "" {
			row.Approvers = append(row.Approvers, v.UserID)
		}
	}
	row.Approvers = append(row.Approvers, a.Actor.UserID)
	role := c.g.Tiers[len(c.g.Tiers)-1]
	var r activities.Reservation
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ReserveGrant, activities.ReserveGrantInput{
		Grant: row, By: a.Actor, Role: role, At: workflow.Now(ctx)}).Get(ctx, &r); err != nil {
		return err
	}
	if !r.Reserved {
		c.g.State = casework.GrantInsufficientFunds
		c.searchState(ctx)
		return refuseField(CodeInsufficientFunds, "amount_fen", []string{"amount_fen", fmt.Sprint(c.g.AmountFen), "available_fen", fmt.Sprint(r.AvailableFen)},
			"the hardship fund has %s available, less than this grant's %s: it waits until donations come in (approve it again then) or is rejected",
			yuanOf(r.AvailableFen), yuanOf(c.g.AmountFen))
	}
	at := workflow.Now(ctx)
	row.State, row.ApprovedAt = casework.GrantApproved, &at
	c.g = row
	return nil
}

// pay waits for the funds center's payment of the approved grant until the reservation expires;
// the payment deadline, missed, goes to the supervision office.
func (c *grantCase) pay(ctx workflow.Context) (HardshipResult, error) {
	var payDue, expires time.Time
	now := workflow.Now(ctx)
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).HardshipDue, activities.HardshipDueInput{
		From: now, Period: c.in.PayDue}).Get(ctx, &payDue); err != nil {
		return HardshipResult{}, err
	}
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).HardshipDue, activities.HardshipDueInput{
		From: now, Period: c.in.Expiry}).Get(ctx, &expires); err != nil {
		return HardshipResult{}, err
	}
	step := func(workflow.Context, *DeadlineState, activities.RungAt) (string, error) {
		return fmt.Sprintf("「%s」已批准，逾期未发放（应于 %s 前发放）", c.subject(), payDue.In(calendar.CST).Format("2006-01-02 15:04")), nil
	}
	if err := c.tasks.SetDeadline(ctx, DeadlineSpec{Name: "pay-due", Kind: casework.DeadlineHardshipPayDue, Process: casework.ProcessHardship,
		CaseID: c.g.ID, UnitCode: c.in.CountyUnit, At: payDue}, step); err != nil {
		return HardshipResult{}, err
	}
	due := payDue.Sub(workflow.Now(ctx))
	if due < time.Second {
		due = time.Second
	}
	dueSpec, err := calendar.ParseSpec(due.String())
	if err != nil {
		return HardshipResult{}, err
	}
	id, err := c.tasks.Open(ctx, activities.TaskSpec{Kind: casework.KindHardshipDisbursement, Process: casework.ProcessHardship, CaseID: c.g.ID,
		Title: "特困救助发放：" + c.subject(), CandidateRole: casework.RoleFundsCenter, UnitCode: c.in.CountyUnit,
		Outcomes: []string{casework.OutcomeDisburse, casework.OutcomeReject}, Due: dueSpec, Exclude: slices.Clone(c.exclude),
		OwnerID: c.in.Applicant.UserID, CommentRequired: []string{casework.OutcomeReject}, Ladderless: true})
	if err != nil {
		return HardshipResult{}, err
	}
	var (
		r       TaskResult
		waitErr error
		decided bool
	)
	workflow.Go(ctx, func(ctx workflow.Context) {
		r, waitErr = c.tasks.Wait(ctx, id)
		decided = true
	})
	ok, err := workflow.AwaitWithTimeout(ctx, expires.Sub(workflow.Now(ctx)), func() bool { return decided })
	if err != nil {
		return HardshipResult{}, err
	}
	if !ok {
		// Not paid in time: the task is cancelled (a payment racing it was first, or is refused).
		if err := c.tasks.Settle(ctx, id, "", access.System, "system", "逾期未发放，预留资金已释放"); err != nil {
			return HardshipResult{}, err
		}
		if err := workflow.Await(ctx, func() bool { return decided }); err != nil {
			return HardshipResult{}, err
		}
	}
	if waitErr != nil {
		return HardshipResult{}, waitErr
	}
	// A payment right after the deadline is escalated first; then the deadline is met or moot.
	if err := c.tasks.FireDue(ctx); err != nil {
		return HardshipResult{}, err
	}
	if err := c.tasks.ClearDeadlines(ctx, "救助资金已发放或申请已终止", "pay-due"); err != nil {
		return HardshipResult{}, err
	}
	if r.Outcome != casework.OutcomeDisburse {
		return c.end(ctx, r)
	}
	at := workflow.Now(ctx)
	c.g.State, c.g.ClosedAt = casework.GrantDisbursed, &at
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).DisburseGrant, activities.DisburseGrantInput{Grant: c.g,
		Channel: strings.TrimSpace(r.Fields[FieldChannel]), Reference: strings.TrimSpace(r.Fields[FieldReference]), By: r.By, Role: r.Role,
		At: at}).Get(ctx, nil); err != nil {
		return HardshipResult{}, err
	}
	return c.finish(ctx)
}

// end closes a grant that will not be paid: rejected (with the reason), withdrawn by its
// applicant, or expired (its payment task cancelled by the clock); whatever it reserved goes back.
func (c *grantCase) end(ctx workflow.Context, r TaskResult) (HardshipResult, error) {
	at := workflow.Now(ctx)
	action, by, role := "hardship.rejected", r.By, r.Role
	switch r.Outcome {
	case casework.OutcomeWithdrawn:
		c.g.State, action, role = casework.GrantWithdrawn, "hardship.withdrawn", c.in.ApplicantRole
	case "":
		c.g.State, action, by, role = casework.GrantExpired, "hardship.expired", access.System, "system"
	default:
		c.g.State = casework.GrantRejected
	}
	c.g.Note, c.g.ClosedAt = strings.TrimSpace(r.Comment), &at
	if err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ReleaseGrant, activities.GrantStep{Grant: c.g,
		Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessHardship, CaseID: c.g.ID,
			After: map[string]any{"state": c.g.State, "comment": c.g.Note}, At: at}}).Get(ctx, nil); err != nil {
		return HardshipResult{}, err
	}
	return c.finish(ctx)
}

func (c *grantCase) finish(ctx workflow.Context) (HardshipResult, error) {
	c.searchState(ctx)
	if err := c.tasks.Finish(ctx); err != nil {
		return HardshipResult{}, err
	}
	return HardshipResult{GrantID: c.g.ID, State: c.g.State}, nil
}

// step writes the grant's row and the step's audit entry.
func (c *grantCase) step(ctx workflow.Context, action string, by access.Actor, role string, after map[string]any) error {
	after["state"] = c.g.State
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SetGrant, activities.GrantStep{Grant: c.g,
		Audit: activities.Audit{Actor: by, Role: role, Action: action, Process: casework.ProcessHardship, CaseID: c.g.ID,
			After: after, At: workflow.Now(ctx)}}).Get(ctx, nil)
}

func (c *grantCase) searchState(ctx workflow.Context) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrProcess.ValueSet(casework.ProcessHardship), AttrUnit.ValueSet(c.g.UnitCode),
		AttrState.ValueSet(c.g.State))
}

// subject names the grant in task titles and escalations: the student and the amount.
func (c *grantCase) subject() string {
	return fmt.Sprintf("%s %s", c.in.StudentName, yuanOf(c.g.AmountFen))
}

// yuanOf shows fen as yuan with two decimals (¥3000.00).
func yuanOf(fen int64) string { return fmt.Sprintf("¥%d.%02d", fen/100, fen%100) }
