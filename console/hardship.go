package console

import (
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// The hardship fund module (特困学生救助基金): a school's staff apply for a grant; every approver's
// task page shows the decision screen (the grant and what the student already receives this
// school year: 优惠政策叠加); the funds center records donations, confirms the large ones, reverses
// mistakes and keeps the ledger with its running balance; the public reads a month's disclosure at
// /gongshi/hardship/disclosures, at a phone's width. Amounts are typed in yuan and sent in fen.
func init() {
	addLabels("role", map[string]string{casework.RoleFundsCenter: "经费中心"})
	addLabels("donor_kind", pairs(casework.DonorKinds))
	addLabels("hardship_kind", pairs(casework.HardshipKinds))
	addLabels("ledger", map[string]string{casework.LedgerDonation: "捐赠入账", casework.LedgerReversal: "捐赠冲销",
		casework.LedgerDisbursement: "救助发放"})
	addLabels("donation_kind", map[string]string{casework.DonationKindDonation: "捐赠", casework.DonationKindReversal: "冲销"})
	addFieldLabels(map[string]string{"donor": "捐赠方", "donor_kind": "捐赠方类型", "received_on": "到账日期", "reference": "收据（凭证）号",
		"anonymous": "匿名捐赠", "hardship_kind": "困难类型", "id": "捐赠记录"})
	register(&module{
		Order: 60,
		Name:  casework.ProcessHardship,
		Nav: []navItem{{Order: 60, Label: "特困救助", Href: "/console/hardship/grants", Show: anyone},
			{Order: 61, Label: "救助基金", Href: "/console/hardship/fund", Show: api.ReadsFund}},
		Routes: func(r *router) {
			r.get("/console/hardship/grants", grantList)
			r.get("/console/hardship/grants/new", newGrant)
			r.post("/console/hardship/grants", createGrant)
			r.get("/console/hardship/grants/:id", showGrant)
			r.post("/console/hardship/grants/:id/withdraw", withdrawGrant)
			r.get("/console/hardship/fund", fundPage)
			r.post("/console/hardship/donations", recordDonation)
			r.post("/console/hardship/donations/:id/confirm", confirmDonation)
			r.post("/console/hardship/donations/:id/reverse", reverseDonation)
			r.publicGet("/gongshi/hardship/disclosures", disclosurePage)
		},
		Facts: func(q *req, t apiTask) (template.HTML, error) {
			var d api.GrantDetail
			if err := q.get("/api/v1/hardship/grants/"+url.PathEscape(t.CaseID), &d); err != nil {
				return "", err
			}
			return q.partial("facts_grant", d)
		},
		OutcomeFields: map[string][]outcomeField{
			casework.KindHardshipDisbursement: {
				{Name: "channel", Label: "发放方式", Default: "一卡通", Outcomes: []string{casework.OutcomeDisburse},
					Hint: "管理员维护可选的发放方式", Options: channelOptions},
				{Name: "reference", Label: "发放凭证号", Outcomes: []string{casework.OutcomeDisburse}, Hint: "银行流水号或一卡通发放批次号"},
			},
		},
		CaseLink: func(id string) string {
			switch {
			case strings.HasPrefix(id, "hardship-"):
				return "/console/hardship/grants/" + url.PathEscape(id)
			case strings.HasPrefix(id, "donation-"):
				return "/console/hardship/fund"
			}
			return ""
		},
	})
}

// channelOptions are the admin's disbursement channels (发放方式).
func channelOptions(q *req) ([]option, error) {
	var out struct{ Items []string }
	if err := q.get("/api/v1/admin/disbursement-channels", &out); err != nil {
		return nil, err
	}
	opts := make([]option, len(out.Items))
	for i, c := range out.Items {
		opts[i] = option{c, c}
	}
	return opts, nil
}

func mayApplyHardship(a access.Actor) bool { return somewhere(a, api.MayApplyHardship) }

type grantListView struct {
	State  string
	States []option
	Items  []api.GrantView
	CanNew bool
}

func grantList(q *req) error {
	v := grantListView{State: q.c.Query("state"), CanNew: mayApplyHardship(q.actor)}
	v.States = stateOptions("grant", casework.GrantStates)
	qs := url.Values{}
	if v.State != "" {
		qs.Set("state", v.State)
	}
	var out struct{ Items []api.GrantView }
	if err := q.get("/api/v1/hardship/grants?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	v.Items = out.Items
	return q.render(fiber.StatusOK, "hardship_grants", "特困学生救助", v, nil)
}

var grantFields = []string{"student_id", "amount", "hardship_kind", "reason"}

type grantFormView struct {
	Students []option
	Kinds    []option
}

func newGrant(q *req) error {
	f := newForm(grantFields...)
	f.Values["student_id"] = q.c.Query("student")
	return q.grantForm(f, fiber.StatusOK)
}

func (q *req) grantForm(f *form, status int) error {
	var v grantFormView
	var err error
	if v.Students, _, err = q.studentOptions(api.MayApplyHardship); err != nil {
		return q.fail(err)
	}
	v.Kinds = labelOptions("请选择困难类型", casework.HardshipKinds)
	return q.render(status, "hardship_grant_new", "申请特困救助", v, f)
}

// labelOptions are a select's choices of fixed values, after a prompt.
func labelOptions(prompt string, ls []casework.Label) []option {
	out := []option{{"", prompt}}
	for _, l := range ls {
		out = append(out, option{l.Name, l.Label})
	}
	return out
}

// checkedWithAmount records on f every field's refusal (errs, the API's own checks) and, when
// the amount typed is not yuan (ok false), the amount's own in place of the API's; it reports
// whether any failed: then the request is not sent.
func checkedWithAmount(f *form, errs []*api.Error, ok bool) bool {
	if !ok {
		f.failed(errorf("amount", "yuan_format", "not an amount in yuan such as 500.00"))
		errs = dropField(errs, "amount_fen")
	}
	return f.checked(errs) || !ok
}

func createGrant(q *req) error {
	f := formFrom(q.c, grantFields...)
	fen, ok := fenOf(f.V("amount"))
	req := api.GrantRequest{StudentID: f.V("student_id"), AmountFen: fen, Reason: f.V("reason"), HardshipKind: f.V("hardship_kind")}
	errs := api.GrantErrors(req)
	if e := api.Required("student_id", req.StudentID); e != nil {
		errs = append([]*api.Error{e}, errs...)
	}
	if checkedWithAmount(f, errs, ok) {
		return q.grantForm(f, fiber.StatusBadRequest)
	}
	var g api.GrantView
	status, err := q.call(fiber.MethodPost, "/api/v1/hardship/grants", req, &g)
	if err != nil {
		return q.grantForm(f, f.failed(err))
	}
	if status == fiber.StatusAccepted {
		return q.redirect("/console/hardship/grants", "已受理，申请稍后显示。")
	}
	return q.redirect("/console/hardship/grants/"+url.PathEscape(g.ID), "已提交特困救助申请，等待学校核实。")
}

type grantPage struct {
	api.GrantDetail
	CanWithdraw bool
}

func showGrant(q *req) error {
	var d api.GrantDetail
	if err := q.get("/api/v1/hardship/grants/"+url.PathEscape(q.c.Params("id")), &d); err != nil {
		return q.fail(err)
	}
	p := grantPage{GrantDetail: d}
	if d.Grant.ApplicantID == q.actor.UserID {
		for _, t := range d.Tasks {
			p.CanWithdraw = p.CanWithdraw || (t.State == casework.TaskOpen && t.AssigneeID == "")
		}
	}
	return q.render(fiber.StatusOK, "hardship_grant", "特困救助 · "+d.Grant.StudentName, p, newForm("comment"))
}

func withdrawGrant(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, "comment")
	if _, err := q.call(fiber.MethodPost, "/api/v1/hardship/grants/"+url.PathEscape(id)+"/withdraw", map[string]string{"comment": f.V("comment")}, nil); err != nil {
		return q.fail(err)
	}
	return q.redirect("/console/hardship/grants/"+url.PathEscape(id), "已撤回特困救助申请；已预留的资金退回基金。")
}

var donationFields = []string{"donor", "donor_kind", "amount", "received_on", "reference", "anonymous"}

type fundView struct {
	Fund      api.FundView
	Pending   []store.Donation
	Donations []store.Donation
	Keeps     bool
	Kinds     []option
	// Failed is the donation whose confirmation or reversal was refused, with its form.
	FailedID string
	FailedF  *form
	Me       string
}

// The ledger's newest entries come first on the page (a clerk checks the latest bookings).
func (v fundView) Entries() []store.LedgerEntry {
	es := v.Fund.Entries
	out := make([]store.LedgerEntry, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e
	}
	return out
}

func fundPage(q *req) error {
	f := newForm(donationFields...)
	f.Values["received_on"] = time.Now().In(calendar.CST).Format("2006-01-02")
	return q.fundPage(f, "", nil, fiber.StatusOK)
}

func (q *req) fundPage(f *form, failedID string, failed *form, status int) error {
	v := fundView{FailedID: failedID, FailedF: failed, Me: q.actor.UserID}
	_, v.Keeps = api.KeepsFund(q.actor)
	if err := q.get("/api/v1/hardship/fund", &v.Fund); err != nil {
		return q.fail(err)
	}
	var ds struct{ Items []store.Donation }
	if err := q.get("/api/v1/hardship/donations", &ds); err != nil {
		return q.fail(err)
	}
	for _, d := range ds.Items {
		if d.State == casework.DonationPending {
			v.Pending = append(v.Pending, d)
		} else {
			v.Donations = append(v.Donations, d)
		}
	}
	v.Kinds = labelOptions("请选择", casework.DonorKinds)
	return q.render(status, "hardship_fund", "特困学生救助基金", v, f)
}

func recordDonation(q *req) error {
	f := formFrom(q.c, donationFields...)
	fen, ok := fenOf(f.V("amount"))
	req := api.DonationRequest{Donor: f.V("donor"), DonorKind: f.V("donor_kind"), AmountFen: fen, ReceivedOn: f.V("received_on"),
		Reference: f.V("reference"), Anonymous: f.Checked("anonymous")}
	if checkedWithAmount(f, api.DonationErrors(req), ok) {
		return q.fundPage(f, "", nil, fiber.StatusBadRequest)
	}
	var d store.Donation
	if _, err := q.call(fiber.MethodPost, "/api/v1/hardship/donations", req, &d); err != nil {
		return q.fundPage(f, "", nil, f.failed(err))
	}
	msg := "捐赠已入账：" + yuan(d.AmountFen) + "。"
	if d.State == casework.DonationPending {
		msg = "大额捐赠 " + yuan(d.AmountFen) + " 已登记，须由另一位同事复核确认后入账。"
	}
	return q.redirect("/console/hardship/fund", msg)
}

// dropField leaves out the errors about one field (one the console already reported its own way).
func dropField(errs []*api.Error, field string) []*api.Error {
	var out []*api.Error
	for _, e := range errs {
		if e.Field != field {
			out = append(out, e)
		}
	}
	return out
}

func confirmDonation(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, "decision", "reason")
	f.Prefix = "c-" + id + "-"
	if _, err := q.call(fiber.MethodPost, "/api/v1/hardship/donations/"+url.PathEscape(id)+"/confirm",
		api.ConfirmRequest{Decision: f.V("decision"), Reason: f.V("reason")}, nil); err != nil {
		return q.fundPage(newForm(donationFields...), id, f, f.failed(err))
	}
	msg := "已复核确认，捐赠入账。"
	if f.V("decision") == api.DonationDecline {
		msg = "已复核，不予确认：该笔捐赠不入账。"
	}
	return q.redirect("/console/hardship/fund", msg)
}

func reverseDonation(q *req) error {
	id := q.c.Params("id")
	f := formFrom(q.c, "reason", "reference")
	f.Prefix = "r-" + id + "-"
	if _, err := q.call(fiber.MethodPost, "/api/v1/hardship/donations/"+url.PathEscape(id)+"/reverse",
		api.ReverseRequest{Reason: f.V("reason"), Reference: f.V("reference")}, nil); err != nil {
		return q.fundPage(newForm(donationFields...), id, f, f.failed(err))
	}
	return q.redirect("/console/hardship/fund", "已冲销该笔捐赠（冲销记录已入账）。")
}

type disclosureView struct {
	D      api.Disclosure
	Months []option
}

// disclosurePage is the public disclosure of a month (信息公开), no login, at a phone's width.
func disclosurePage(q *req) error {
	f := newForm("period")
	f.Values["period"] = q.c.Query("period")
	d, err := q.con.api.DisclosureOf(q.c.UserContext(), f.V("period"))
	if err != nil {
		return q.fail(err)
	}
	v := disclosureView{D: d}
	now := time.Now().In(calendar.CST)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, calendar.CST)
	for i := 0; i < 12; i++ {
		m := first.AddDate(0, -i, 0)
		v.Months = append(v.Months, option{m.Format("2006-01"), m.Format("2006年1月")})
	}
	f.Values["period"] = d.Period
	return q.render(fiber.StatusOK, "public_hardship", "特困学生救助基金信息公开 · "+d.Period, v, f)
}
