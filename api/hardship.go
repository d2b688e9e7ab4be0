package api

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessHardship, apiProcess{Routes: hardshipRoutes, CaseUnit: func(ctx context.Context, s *Server, id string) (string, string, bool) {
		if strings.HasPrefix(id, "donation-") {
			// The fund is the bureau's: its donations are read where the county is.
			u, err := s.countyUnit(ctx)
			return u.Code, u.Path, err == nil
		}
		if g, err := s.store.GrantByID(ctx, id); err == nil {
			return g.UnitCode, g.UnitPath, true
		}
		return "", "", false
	}})
	completionChecks[casework.KindHardshipDisbursement] = (*Server).checkHardshipPayment
}

// hardshipRoutes are the hardship fund's routes: money in, the ledger, grants, the public
// disclosure.
func hardshipRoutes(s *Server) []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/hardship/donations", "Record a donation to the special hardship fund (above JIAOFU_HARDSHIP_CONFIRM_ABOVE it waits for a second person's confirmation)", "funds_center, pa_office", DonationRequest{}, s.RecordDonation).answers(201, store.Donation{}),
		r("GET", "/api/v1/hardship/donations", "The fund's donations and reversals, newest first (?state=)", "funds_center, pa_office, aid_center, bureau_leader, supervision", nil, s.ListDonations).query(qp("state", "one state's", casework.DonationStates...), qpInt("limit", "at most this many entries")).returns(listOf[store.Donation]{}),
		r("POST", "/api/v1/hardship/donations/:id/confirm", "Confirm (or decline) a donation over the ceiling: a second person, not who recorded it", "funds_center, pa_office; not who recorded the donation", ConfirmRequest{}, s.ConfirmDonation).returns(store.Donation{}),
		r("POST", "/api/v1/hardship/donations/:id/reverse", "Reverse a recorded donation by a counter-entry with a reason", "funds_center, pa_office", ReverseRequest{}, s.ReverseDonation).answers(201, store.Donation{}),
		r("GET", "/api/v1/hardship/fund", "The fund: balance, reserved, available, and the ledger with running balances", "funds_center, pa_office, aid_center, bureau_leader, supervision", nil, s.HardshipFund).returns(FundView{}),
		r("POST", "/api/v1/hardship/grants", "Apply for a hardship grant for a student of the caller's school", "school_staff; for a student of their own school", GrantRequest{}, s.CreateGrant).creates(GrantView{}).idempotencyKey(),
		r("GET", "/api/v1/hardship/grants", "Hardship grants in the caller's scope, newest first (?state=)", "login; records of the caller's units", nil, s.ListGrants).query(qp("state", "one state's", casework.GrantStates...), qpInt("limit", "at most this many entries")).returns(listOf[GrantView]{}),
		r("GET", "/api/v1/hardship/grants/:id", "A grant with the student's stacked benefits this school year (the decision screen), tasks and timeline", "login; a record of the caller's units (404 otherwise)", nil, s.GetGrant).returns(GrantDetail{}),
		r("POST", "/api/v1/hardship/grants/:id/withdraw", "Withdraw one's own grant (撤回) while its open step has not been taken up; an approved grant gives its reservation back", "login; the grant's applicant", commentRequest{}, s.WithdrawGrant).acts(),
		r("GET", "/public/hardship/disclosures", "The fund's public disclosure of a month (?period=YYYY-MM): donations, reversals, grants paid (masked), opening and closing balance", "public", nil, s.HardshipDisclosure).query(qp("period", "a month such as 2026-09")).returns(Disclosure{}),
	}
}

// Amount bounds beyond which an amount is a typing slip, not money: no single hardship grant of
// a county reaches ¥50,000.00, no single donation ¥10,000,000.00.
const (
	GrantMaxFen    = 5_000_000
	DonationMaxFen = 1_000_000_000
)

// Fen checks an amount in fen: a whole number above zero and at most max.
func Fen(field string, v, max int64) *Error {
	if v <= 0 || v > max {
		return bad(field, "must be a positive whole number of fen up to %d (¥%s)", max, Yuan(max)).
			because("amount_range", "max_fen", strconv.FormatInt(max, 10))
	}
	return nil
}

// KeepsFund tells whether a keeps the fund's books: the funds center (经费中心) or the
// poverty-alleviation office (局扶贫办).
func KeepsFund(a access.Actor) (access.Role, bool) {
	for _, r := range a.Roles {
		if r.Role == casework.RoleFundsCenter || r.Role == casework.RolePAOffice {
			return r, true
		}
	}
	return access.Role{}, false
}

// ReadsFund tells whether a may read the fund's ledger and donations: who keeps the books, the
// aid center and the bureau leaders who approve grants out of it, and the supervision office.
func ReadsFund(a access.Actor) bool {
	for _, r := range []string{casework.RoleFundsCenter, casework.RolePAOffice, casework.RoleAidCenter, casework.RoleBureauLeader, casework.RoleSupervision} {
		if a.Has(r) {
			return true
		}
	}
	return false
}

// entryAs is the audit entry of an action a took through the API in role.
func entryAs(a access.Actor, role access.Role, action, caseID string, before, after any) store.AuditEntry {
	return store.AuditEntry{ActorID: a.UserID, ActorName: a.DisplayName, Role: role.Role, UnitCode: role.UnitCode, Action: action,
		Process: casework.ProcessHardship, CaseID: caseID, Before: jsonString(before), After: jsonString(after), At: nowUTC()}
}

// countyUnit is the bureau's unit: the root of the tree, where the fund and its county steps are.
func (s *Server) countyUnit(ctx context.Context) (store.Unit, error) {
	us, err := s.store.UnitsByKind(ctx, store.KindBureau, "")
	if err != nil {
		return store.Unit{}, err
	}
	for _, u := range us {
		if u.ParentID == nil {
			return u, nil
		}
	}
	return store.Unit{}, fmt.Errorf("no bureau unit: %w", store.ErrNotFound)
}

// DonationRequest is the body of POST /api/v1/hardship/donations.
type DonationRequest struct {
	Donor      string `json:"donor" required:"true"`
	DonorKind  string `json:"donor_kind"`
	AmountFen  int64  `json:"amount_fen" required:"true"`
	ReceivedOn string `json:"received_on"`
	Reference  string `json:"reference" required:"true"`
	Anonymous  bool   `json:"anonymous"`
}

// DonationErrors are every field's refusal of a donation, in the order the handler checks them
// (the console shows them all at once).
func DonationErrors(req DonationRequest) []*Error {
	var kind, received *Error
	if !slices.Contains(labelNames(casework.DonorKinds), req.DonorKind) {
		kind = bad("donor_kind", "one of %v", labelNames(casework.DonorKinds)).because("one_of")
	}
	if err := validDate(req.ReceivedOn); err != nil {
		received = badValue("received_on", err)
	} else if req.ReceivedOn > time.Now().In(calendar.CST).Format("2006-01-02") {
		received = bad("received_on", "cannot be in the future").because("future")
	}
	return collect(Text("donor", req.Donor, 100), kind, Fen("amount_fen", req.AmountFen, DonationMaxFen), received,
		Required("reference", req.Reference))
}

// RecordDonation books a donation: up to the ceiling (JIAOFU_HARDSHIP_CONFIRM_ABOVE yuan) it
// enters the ledger now; above it, it waits for a second person's confirmation. A voucher
// already booked is 409 duplicate naming reference: a retried request never books twice.
func (s *Server) RecordDonation(c *fiber.Ctx) error {
	var req DonationRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	role, ok := KeepsFund(a)
	if !ok {
		return forbidden("only the funds center and the poverty-alleviation office record donations").because("roles")
	}
	if errs := DonationErrors(req); len(errs) > 0 {
		return errs[0]
	}
	ref := strings.TrimSpace(req.Reference)
	if _, err := s.store.DonationByReference(ctx, ref); err == nil {
		return refused(workflows.CodeDuplicate, "reference", "voucher %s is already booked", quote(ref)).because("reference_booked")
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	d := store.Donation{ID: "donation-" + newSuffix(), Kind: casework.DonationKindDonation, Donor: strings.TrimSpace(req.Donor),
		DonorKind: req.DonorKind, AmountFen: req.AmountFen, ReceivedOn: req.ReceivedOn, Reference: ref, Anonymous: req.Anonymous,
		State: casework.DonationRecorded, RecordedBy: a.UserID, CreatedAt: nowUTC()}
	action := "hardship.donation_recorded"
	if ceiling := int64(s.cfg.Count("JIAOFU_HARDSHIP_CONFIRM_ABOVE")) * 100; d.AmountFen > ceiling {
		d.State, action = casework.DonationPending, "hardship.donation_pending"
	}
	out, err := s.store.RecordDonation(ctx, d, entryAs(a, role, action, d.ID, nil, map[string]any{"donor": d.Donor, "donor_kind": d.DonorKind,
		"amount_fen": d.AmountFen, "received_on": d.ReceivedOn, "reference": d.Reference, "anonymous": d.Anonymous, "state": d.State}))
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeDuplicate, "reference", "voucher %s is already booked", quote(ref)).because("reference_booked")
	} else if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// ListDonations lists the fund's donations and reversals for those who read the fund.
func (s *Server) ListDonations(c *fiber.Ctx) error {
	if !ReadsFund(actor(c)) {
		return forbidden("the fund's books are read by the funds center, the PA office, the aid center, bureau leaders and the supervision office").because("roles")
	}
	state, err := filterParam(c, "state", casework.DonationStates)
	if err != nil {
		return err
	}
	ds, err := s.store.Donations(c.UserContext(), state, c.QueryInt("limit", 500))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(ds)})
}

// ConfirmRequest is the body of POST /api/v1/hardship/donations/{id}/confirm.
type ConfirmRequest struct {
	Decision string `json:"decision"` // confirm or decline
	Reason   string `json:"reason" max:"500" multiline:"true"`
}

// Decisions on a donation over the ceiling.
const (
	DonationConfirm = "confirm"
	DonationDecline = "decline"
)

// ConfirmDonation is the second person's decision on a donation over the ceiling: confirmed, it
// enters the ledger; declined (a reason required), it never does. Whoever recorded it may not.
func (s *Server) ConfirmDonation(c *fiber.Ctx) error {
	var req ConfirmRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	role, ok := KeepsFund(a)
	if !ok {
		return forbidden("only the funds center and the poverty-alleviation office confirm donations").because("roles")
	}
	if req.Decision != DonationConfirm && req.Decision != DonationDecline {
		return bad("decision", "one of confirm, decline").because("one_of")
	}
	if req.Decision == DonationDecline {
		if e := Text("reason", req.Reason, 500); e != nil {
			return e
		}
	}
	d, err := s.store.DonationByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("donation")
	} else if err != nil {
		return err
	}
	if d.Kind != casework.DonationKindDonation || d.State != casework.DonationPending {
		return refused(workflows.CodeWrongState, "", "donation %s is %s, not waiting for a confirmation", d.ID, d.State).because("not_pending", "state", d.State)
	}
	if d.RecordedBy == a.UserID {
		return refused(workflows.CodeSeparationOfDuties, "", "%s recorded donation %s: a second person confirms it", a.Username, d.ID)
	}
	action := "hardship.donation_confirmed"
	if req.Decision == DonationDecline {
		action = "hardship.donation_declined"
	}
	out, err := s.store.ConfirmDonation(ctx, d.ID, a.UserID, req.Decision == DonationConfirm, strings.TrimSpace(req.Reason), nowUTC(),
		entryAs(a, role, action, d.ID, map[string]any{"state": d.State}, map[string]any{"decision": req.Decision, "reason": strings.TrimSpace(req.Reason),
			"amount_fen": d.AmountFen, "recorded_by": d.RecordedBy}))
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeWrongState, "", "donation %s was decided meanwhile", d.ID).because("not_pending")
	} else if err != nil {
		return err
	}
	return c.JSON(out)
}

// ReverseRequest is the body of POST /api/v1/hardship/donations/{id}/reverse.
type ReverseRequest struct {
	Reason    string `json:"reason" max:"500" multiline:"true"`
	Reference string `json:"reference,omitempty"` // the refund's voucher, if any
}

// ReverseDonation reverses a recorded donation by its counter-entry: the same amount out of the
// ledger, with the reason. A reversal is never reversed (400 naming id); a donation reversed
// already is 409 duplicate; money already reserved for or paid to students is not taken back:
// a reversal the available balance cannot cover is 409 insufficient_funds, nothing written.
func (s *Server) ReverseDonation(c *fiber.Ctx) error {
	var req ReverseRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	role, ok := KeepsFund(a)
	if !ok {
		return forbidden("only the funds center and the poverty-alleviation office reverse donations").because("roles")
	}
	d, err := s.store.DonationByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("donation")
	} else if err != nil {
		return err
	}
	if d.Kind == casework.DonationKindReversal {
		return bad("id", "%s is a reversal: a reversal is never reversed; record a new donation instead", d.ID).because("reversal_of_reversal")
	}
	if e := Text("reason", req.Reason, 500); e != nil {
		return e
	}
	switch d.State {
	case casework.DonationReversed:
		return refused(workflows.CodeDuplicate, "id", "donation %s is reversed already", d.ID).because("already_reversed")
	case casework.DonationPending, casework.DonationDeclined:
		return refused(workflows.CodeWrongState, "", "donation %s is %s: it is not in the ledger", d.ID, d.State).because("not_in_ledger", "state", d.State)
	}
	rev := store.Donation{ID: "donation-" + newSuffix(), Kind: casework.DonationKindReversal, ReversesID: d.ID, Donor: d.Donor, DonorKind: d.DonorKind,
		AmountFen: d.AmountFen, ReceivedOn: time.Now().In(calendar.CST).Format("2006-01-02"), Reference: strings.TrimSpace(req.Reference),
		Anonymous: d.Anonymous, Reason: strings.TrimSpace(req.Reason), State: casework.DonationRecorded, RecordedBy: a.UserID, CreatedAt: nowUTC()}
	out, err := s.store.ReverseDonation(ctx, d.ID, rev, entryAs(a, role, "hardship.donation_reversed", d.ID, map[string]any{"state": d.State},
		map[string]any{"state": casework.DonationReversed, "reversal_id": rev.ID, "amount_fen": d.AmountFen, "reason": rev.Reason}))
	switch {
	case errors.Is(err, store.ErrInsufficientFunds):
		f, ferr := s.store.HardshipFund(ctx)
		if ferr != nil {
			return ferr
		}
		return refused(workflows.CodeInsufficientFunds, "", "the fund has ¥%s available; the rest is reserved for or paid to students, so a reversal of ¥%s cannot be booked",
			Yuan(f.AvailableFen()), Yuan(d.AmountFen)).because("reversal", "amount_fen", strconv.FormatInt(d.AmountFen, 10),
			"available_fen", strconv.FormatInt(f.AvailableFen(), 10))
	case errors.Is(err, store.ErrConflict):
		return refused(workflows.CodeDuplicate, "id", "donation %s was reversed meanwhile", d.ID).because("already_reversed")
	case err != nil:
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// FundView is GET /api/v1/hardship/fund: the balance is the sum of the entries, always.
type FundView struct {
	BalanceFen   int64               `json:"balance_fen"`
	ReservedFen  int64               `json:"reserved_fen"`
	AvailableFen int64               `json:"available_fen"`
	Entries      []store.LedgerEntry `json:"entries"`
}

// HardshipFund is the ledger: every entry with its running balance, oldest first.
func (s *Server) HardshipFund(c *fiber.Ctx) error {
	if !ReadsFund(actor(c)) {
		return forbidden("the fund's books are read by the funds center, the PA office, the aid center, bureau leaders and the supervision office").because("roles")
	}
	v, err := s.FundOf(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// FundOf reads the fund and its whole ledger.
func (s *Server) FundOf(ctx context.Context) (FundView, error) {
	f, err := s.store.HardshipFund(ctx)
	if err != nil {
		return FundView{}, err
	}
	es, err := s.store.Ledger(ctx, time.Time{}, time.Time{})
	if err != nil {
		return FundView{}, err
	}
	return FundView{BalanceFen: f.BalanceFen, ReservedFen: f.ReservedFen, AvailableFen: f.AvailableFen(), Entries: orEmpty(es)}, nil
}

// GrantRequest is the body of POST /api/v1/hardship/grants.
type GrantRequest struct {
	StudentID    string `json:"student_id" required:"true"`
	AmountFen    int64  `json:"amount_fen" required:"true"`
	Reason       string `json:"reason" max:"500" multiline:"true" required:"true"`
	HardshipKind string `json:"hardship_kind"`
}

// GrantErrors are every field's refusal of a grant's own fields (the student is checked by the
// handler, which reads the store).
func GrantErrors(req GrantRequest) []*Error {
	var kind *Error
	if !slices.Contains(labelNames(casework.HardshipKinds), req.HardshipKind) {
		kind = bad("hardship_kind", "one of %v", labelNames(casework.HardshipKinds)).because("one_of")
	}
	return collect(Fen("amount_fen", req.AmountFen, GrantMaxFen), Text("reason", req.Reason, 500), kind)
}

// MayApplyHardship tells whether a may apply for a hardship grant for a student of the unit at
// path: school staff of the student's school.
func MayApplyHardship(a access.Actor, path string) bool { return a.Can(casework.RoleSchoolStaff, path) }

// CreateGrant applies for a grant for a student of the caller's school and starts its case. Its
// tiers are fixed now by the amount and today's thresholds. Every field is checked before
// anything is written.
func (s *Server) CreateGrant(c *fiber.Ctx) error {
	var req GrantRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	if !a.Has(casework.RoleSchoolStaff) {
		return forbidden("hardship grants are applied for by a school's staff (资助专干)").because("roles")
	}
	st, err := s.studentFor(ctx, req.StudentID)
	if err != nil {
		return err
	}
	if !MayApplyHardship(a, st.UnitPath) {
		return refused(workflows.CodeNotInScope, "student_id", "%s is not a student of your school", st.Name)
	}
	if errs := GrantErrors(req); len(errs) > 0 {
		return errs[0]
	}
	county, err := s.countyUnit(ctx)
	if err != nil {
		return err
	}
	role := access.Role{}
	for _, r := range a.Roles {
		if r.Role == casework.RoleSchoolStaff && access.Within(st.UnitPath, r.Scope()) {
			role = r
			break
		}
	}
	now := nowUTC()
	y := schoolYearOf(now)
	id, keyed, err := caseID(c, "hardship-")
	if err != nil {
		return err
	}
	in := workflows.HardshipInput{
		Grant: activities.GrantRecord{ID: id, StudentID: st.ID, UnitCode: st.UnitCode, AmountFen: req.AmountFen, Reason: strings.TrimSpace(req.Reason),
			HardshipKind: req.HardshipKind, SchoolYear: fmt.Sprintf("%d-%d", y, y+1),
			Tiers: workflows.HardshipTiers(req.AmountFen, int64(s.cfg.Count("JIAOFU_HARDSHIP_PA_OFFICE_ABOVE"))*100,
				int64(s.cfg.Count("JIAOFU_HARDSHIP_LEADER_ABOVE"))*100),
			ApplicantID: a.UserID, CreatedAt: now},
		StudentName: st.Name, Applicant: a, ApplicantRole: role.Role, CountyUnit: county.Code,
		VerificationDue: s.cfg.Duration("JIAOFU_HARDSHIP_VERIFICATION_DUE"), ApprovalDue: s.cfg.Duration("JIAOFU_HARDSHIP_APPROVAL_DUE"),
		PayDue: s.cfg.Duration("JIAOFU_HARDSHIP_PAY_DUE"), Expiry: s.cfg.Duration("JIAOFU_HARDSHIP_RESERVATION_EXPIRY"),
		LeaderRatio: workflows.Ratio{Num: s.cfg.HardshipTopRatio.Num, Den: s.cfg.HardshipTopRatio.Den}}
	if _, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(id, casework.ProcessHardship, st.UnitCode, casework.GrantVerifying, false),
		workflows.HardshipGrant, in); err != nil && !repeated(err, keyed) {
		return err
	}
	return s.created(c, func() (any, error) {
		g, err := s.store.GrantByID(ctx, id)
		if err != nil {
			return nil, err
		}
		return s.grantView(ctx, g)
	}, fiber.Map{"id": id})
}

// GrantView is a grant as the API shows it: its tiers and approvers as lists, its payment once paid.
type GrantView struct {
	store.Grant
	TierRoles    []string                    `json:"tiers"`
	ApproverIDs  []string                    `json:"approvers"`
	Disbursement *store.HardshipDisbursement `json:"disbursement,omitempty"`
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (s *Server) grantView(ctx context.Context, g store.Grant) (GrantView, error) {
	v := GrantView{Grant: g, TierRoles: splitList(g.Tiers), ApproverIDs: splitList(g.Approvers)}
	if g.State == casework.GrantDisbursed {
		d, err := s.store.GrantDisbursement(ctx, g.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return v, err
		}
		if err == nil {
			v.Disbursement = &d
		}
	}
	return v, nil
}

// ListGrants lists the grants at the caller's units (a school sees its own; the county's
// sections the county's), newest first.
func (s *Server) ListGrants(c *fiber.Ctx) error {
	state, err := filterParam(c, "state", casework.GrantStates)
	if err != nil {
		return err
	}
	var states []string
	if state != "" {
		states = []string{state}
	}
	gs, err := s.store.Grants(c.UserContext(), actor(c).Scopes(), states, c.QueryInt("limit", 500))
	if err != nil {
		return err
	}
	out := make([]GrantView, len(gs))
	for i, g := range gs {
		out[i] = GrantView{Grant: g, TierRoles: splitList(g.Tiers), ApproverIDs: splitList(g.Approvers)}
	}
	return c.JSON(fiber.Map{"items": out})
}

// Benefits is what a student already receives this school year, beside the grant decided
// (优惠政策叠加): the regular subsidies held, and the student's other hardship grants.
type Benefits struct {
	SchoolYear string          `json:"school_year"`
	Subsidies  []store.Benefit `json:"subsidies"`
	// SubsidyTotalFen adds up the subsidies held this school year.
	SubsidyTotalFen int64 `json:"subsidy_total_fen"`
	// Grants are the student's other hardship grants, every school year, oldest first.
	Grants []GrantView `json:"hardship_grants"`
	// HardshipTotalFen adds up the other grants of this school year approved or paid.
	HardshipTotalFen int64 `json:"hardship_total_fen"`
	// AlreadyFen is what the student receives this school year before this grant.
	AlreadyFen int64 `json:"already_fen"`
}

// GrantDetail is GET /api/v1/hardship/grants/{id}: the decision screen.
type GrantDetail struct {
	Grant    GrantView          `json:"grant"`
	Student  store.Student      `json:"student"`
	Benefits Benefits           `json:"benefits"`
	Tasks    []taskView         `json:"tasks"`
	Timeline []store.AuditEntry `json:"timeline"`
}

// GetGrant shows a grant for anyone who sees its school (or was copied it): the student as the
// caller may see them (api/personal.go), what the student already receives this school year, the
// grant's tasks and timeline.
func (s *Server) GetGrant(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), actor(c)
	g, err := s.store.GrantByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("hardship grant")
	} else if err != nil {
		return err
	}
	if !s.readsCase(ctx, a, g.ID, g.UnitPath) {
		return notFound("hardship grant")
	}
	d, err := s.grantDetail(ctx, a, g)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) grantDetail(ctx context.Context, a access.Actor, g store.Grant) (GrantDetail, error) {
	var d GrantDetail
	var err error
	if d.Grant, err = s.grantView(ctx, g); err != nil {
		return d, err
	}
	st, err := s.store.StudentByID(ctx, g.StudentID)
	if err != nil {
		return d, err
	}
	d.Student = personalViewOf(a, g.UnitCode, g.UnitPath).student(st)
	b := Benefits{SchoolYear: g.SchoolYear, Grants: []GrantView{}}
	if b.Subsidies, err = s.store.SubsidiesOfSchoolYear(ctx, g.StudentID, g.SchoolYear); err != nil {
		return d, err
	}
	b.Subsidies = orEmpty(b.Subsidies)
	for _, x := range b.Subsidies {
		b.SubsidyTotalFen += x.AmountFen
	}
	others, err := s.store.GrantsOfStudent(ctx, g.StudentID)
	if err != nil {
		return d, err
	}
	for _, o := range others {
		if o.ID == g.ID {
			continue
		}
		b.Grants = append(b.Grants, GrantView{Grant: o, TierRoles: splitList(o.Tiers), ApproverIDs: splitList(o.Approvers)})
		if o.SchoolYear == g.SchoolYear && (o.State == casework.GrantApproved || o.State == casework.GrantDisbursed) {
			b.HardshipTotalFen += o.AmountFen
		}
	}
	b.AlreadyFen = b.SubsidyTotalFen + b.HardshipTotalFen
	d.Benefits = b
	d.Tasks, d.Timeline, err = s.caseRecord(ctx, a, g.ID, g.UnitCode, g.UnitPath)
	return d, err
}

// GrantDetailOf is the decision screen of a grant for a, as GET /api/v1/hardship/grants/{id}
// answers it (the console's task page shows it beside the decision).
func (s *Server) GrantDetailOf(ctx context.Context, a access.Actor, id string) (GrantDetail, error) {
	g, err := s.store.GrantByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.readsCase(ctx, a, g.ID, g.UnitPath)) {
		return GrantDetail{}, notFound("hardship grant")
	} else if err != nil {
		return GrantDetail{}, err
	}
	return s.grantDetail(ctx, a, g)
}

// WithdrawGrant withdraws the caller's own grant (撤回) through its open task's withdraw action:
// the county's steps are not in a school's inbox, so the applicant withdraws from the grant. The
// workflow refuses anyone but the applicant, and a step someone has taken up.
func (s *Server) WithdrawGrant(c *fiber.Ctx) error {
	var req commentRequest
	if len(c.Body()) > 0 {
		if err := parseBody(c, &req); err != nil {
			return err
		}
	}
	ctx, a := c.UserContext(), actor(c)
	g, err := s.store.GrantByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.Sees(g.UnitPath)) {
		return notFound("hardship grant")
	} else if err != nil {
		return err
	}
	ts, err := s.store.TasksOfCase(ctx, g.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ts, func(t casework.Task) bool { return t.State == casework.TaskOpen })
	if i < 0 {
		return refused(workflows.CodeTaskNotOpen, "", "grant %s is %s: nothing is left to withdraw", g.ID, g.State).because("case_closed")
	}
	return s.sendTaskAction(c, ts[i].WorkflowID, workflows.TaskAction{TaskID: ts[i].ID, Action: workflows.ActionWithdraw, Comment: req.Comment, Actor: a})
}

// checkHardshipPayment checks a payment against the admin's list of disbursement channels (the
// workflow's validator cannot read it), as the subsidy's sign-off does.
func (s *Server) checkHardshipPayment(c *fiber.Ctx, t casework.Task, action *workflows.TaskAction) error {
	if action.Outcome != casework.OutcomeDisburse {
		return nil
	}
	channel := strings.TrimSpace(action.Fields[workflows.FieldChannel])
	if channel == "" {
		return bad("fields.channel", "required").because("required")
	}
	if err := s.knownChannel(c.UserContext(), "fields.channel", channel); err != nil {
		return err
	}
	if e := Required("fields.reference", action.Fields[workflows.FieldReference]); e != nil {
		return e
	}
	action.Fields[workflows.FieldChannel] = channel
	action.Fields[workflows.FieldReference] = strings.TrimSpace(action.Fields[workflows.FieldReference])
	return nil
}

// DisclosureLine is one line of the public disclosure: a donation (its donor unless anonymous,
// 匿名 then), a reversal of one, or a grant paid (the student's name masked as in publicity, the
// school). Nothing else about anyone.
type DisclosureLine struct {
	Date      string `json:"date"`
	Donor     string `json:"donor,omitempty"`
	DonorKind string `json:"donor_kind,omitempty"`
	Name      string `json:"name,omitempty"`
	School    string `json:"school,omitempty"`
	AmountFen int64  `json:"amount_fen"`
	Amount    string `json:"amount"`
}

// Disclosure is a month of the fund in public (信息公开): closing = opening + donations −
// reversals − grants paid.
type Disclosure struct {
	Period            string           `json:"period"`
	OpeningBalanceFen int64            `json:"opening_balance_fen"`
	ClosingBalanceFen int64            `json:"closing_balance_fen"`
	OpeningBalance    string           `json:"opening_balance"`
	ClosingBalance    string           `json:"closing_balance"`
	Donations         []DisclosureLine `json:"donations"`
	Reversals         []DisclosureLine `json:"reversals"`
	Grants            []DisclosureLine `json:"grants"`
	DonationsFen      int64            `json:"donations_fen"`
	ReversalsFen      int64            `json:"reversals_fen"`
	GrantsFen         int64            `json:"grants_fen"`
}

var periodRe = regexp.MustCompile(`^(\d{4})-(0[1-9]|1[0-2])$`)

// HardshipDisclosure is GET /public/hardship/disclosures?period=YYYY-MM (no login; this month
// when period is absent).
func (s *Server) HardshipDisclosure(c *fiber.Ctx) error {
	d, err := s.DisclosureOf(c.UserContext(), c.Query("period"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// DisclosureOf is the fund's public disclosure of a month, China time ("" for this month).
func (s *Server) DisclosureOf(ctx context.Context, period string) (Disclosure, error) {
	now := time.Now().In(calendar.CST)
	if period == "" {
		period = now.Format("2006-01")
	}
	if !periodRe.MatchString(period) {
		return Disclosure{}, bad("period", "%s is not a month such as 2026-09", quote(period)).because("period_format")
	}
	from, _ := time.ParseInLocation("2006-01", period, calendar.CST)
	if from.After(now) {
		return Disclosure{}, bad("period", "%s has not begun", period).because("future")
	}
	to := from.AddDate(0, 1, 0)
	opening, err := s.store.BalanceBefore(ctx, from)
	if err != nil {
		return Disclosure{}, err
	}
	es, err := s.store.Ledger(ctx, from, to)
	if err != nil {
		return Disclosure{}, err
	}
	d := Disclosure{Period: period, OpeningBalanceFen: opening, ClosingBalanceFen: opening,
		Donations: []DisclosureLine{}, Reversals: []DisclosureLine{}, Grants: []DisclosureLine{}}
	for _, e := range es {
		amount := e.AmountFen
		if amount < 0 {
			amount = -amount
		}
		line := DisclosureLine{Date: e.At.In(calendar.CST).Format("2006-01-02"), AmountFen: amount, Amount: Yuan(amount)}
		switch e.Kind {
		case casework.LedgerDonation, casework.LedgerReversal:
			line.Donor, line.DonorKind = e.Donor, e.DonorKind
			if e.Anonymous {
				line.Donor = "匿名"
			}
			if e.Kind == casework.LedgerDonation {
				d.Donations, d.DonationsFen = append(d.Donations, line), d.DonationsFen+amount
			} else {
				d.Reversals, d.ReversalsFen = append(d.Reversals, line), d.ReversalsFen+amount
			}
		case casework.LedgerDisbursement:
			line.Name, line.School = MaskName(e.StudentName), e.SchoolName
			d.Grants, d.GrantsFen = append(d.Grants, line), d.GrantsFen+amount
		}
		d.ClosingBalanceFen = e.BalanceFen
	}
	d.OpeningBalance, d.ClosingBalance = Yuan(d.OpeningBalanceFen), Yuan(d.ClosingBalanceFen)
	return d, nil
}
