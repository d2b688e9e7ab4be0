package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/service"
	"jiaofu/store"
)

// hardshipConfig is the test configuration with the fund's ceiling for a second person's
// confirmation at 20,000 yuan.
func hardshipConfig(t *testing.T) config.Config {
	cfg := testConfig(t, t.TempDir())
	cfg.SetCount("JIAOFU_HARDSHIP_CONFIRM_ABOVE", 20000)
	return cfg
}

type grantOut struct {
	ID        string   `json:"id"`
	State     string   `json:"state"`
	AmountFen int64    `json:"amount_fen"`
	Tiers     []string `json:"tiers"`
	Approvers []string `json:"approvers"`
}

type grantDetail struct {
	Grant    grantOut `json:"grant"`
	Student  store.Student
	Benefits struct {
		SchoolYear      string          `json:"school_year"`
		Subsidies       []store.Benefit `json:"subsidies"`
		SubsidyTotalFen int64           `json:"subsidy_total_fen"`
		Grants          []grantOut      `json:"hardship_grants"`
		AlreadyFen      int64           `json:"already_fen"`
	}
	Tasks    []task
	Timeline []store.AuditEntry
}

type fundOut struct {
	BalanceFen   int64               `json:"balance_fen"`
	ReservedFen  int64               `json:"reserved_fen"`
	AvailableFen int64               `json:"available_fen"`
	Entries      []store.LedgerEntry `json:"entries"`
}

func (c *client) grant(id string) grantDetail {
	c.t.Helper()
	var d grantDetail
	if code, raw := c.raw("GET", "/api/v1/hardship/grants/"+id, nil); code != 200 {
		c.t.Fatalf("grant %s: %d %s", id, code, raw)
	}
	c.do("GET", "/api/v1/hardship/grants/"+id, nil, &d)
	return d
}

func (c *client) waitGrant(id, state string) grantDetail {
	c.t.Helper()
	var d grantDetail
	eventually(c.t, 30*time.Second, func() bool { d = c.grant(id); return d.Grant.State == state }, "grant %s to be %s", id, state)
	return d
}

func (c *client) fund() fundOut {
	c.t.Helper()
	var f fundOut
	if code := c.do("GET", "/api/v1/hardship/fund", nil, &f); code != 200 {
		c.t.Fatalf("fund: %d", code)
	}
	return f
}

// requireBooks checks the fund's ledger as the API shows it: the entries add up to the
// balance, each running balance is the one before plus the entry, and the store reconciles.
func requireBooks(t *testing.T, svc *service.Service, f fundOut) {
	t.Helper()
	var sum int64
	for i, e := range f.Entries {
		sum += e.AmountFen
		if e.No != int64(i+1) || e.BalanceFen != sum {
			t.Errorf("entry %d: %+v, want number %d and running balance %d", i, e, i+1, sum)
		}
	}
	if sum != f.BalanceFen || f.AvailableFen != f.BalanceFen-f.ReservedFen || f.AvailableFen < 0 {
		t.Errorf("fund %+v: the entries add up to %d", f, sum)
	}
	if err := svc.Store.ReconcileHardship(context.Background()); err != nil {
		t.Errorf("the store does not reconcile: %v", err)
	}
}

func applyGrant(t *testing.T, staff *client, studentID string, fen int64) grantOut {
	t.Helper()
	var g grantOut
	code, raw := staff.raw("POST", "/api/v1/hardship/grants", map[string]any{"student_id": studentID, "amount_fen": fen,
		"reason": "父亲重病住院，家庭无力承担医疗费用", "hardship_kind": "illness"})
	if code != 201 || jsonInto(raw, &g) != nil || g.ID == "" {
		t.Fatalf("apply for a grant: %d %s", code, raw)
	}
	return g
}

// jsonInto decodes an answer's raw body.
func jsonInto(raw string, v any) error { return json.Unmarshal([]byte(raw), v) }

func complete(t *testing.T, c *client, taskID, outcome string, fields map[string]string) {
	t.Helper()
	body := map[string]any{"outcome": outcome}
	if fields != nil {
		body["fields"] = fields
	}
	if code, raw := c.raw("POST", "/api/v1/tasks/"+taskID+"/complete", body); code != 200 {
		t.Fatalf("complete %s with %s: %d %s", taskID, outcome, code, raw)
	}
}

func donation(t *testing.T, c *client, donor string, fen int64, ref string, anonymous bool) store.Donation {
	t.Helper()
	var d store.Donation
	code, raw := c.raw("POST", "/api/v1/hardship/donations", map[string]any{"donor": donor, "donor_kind": "enterprise", "amount_fen": fen,
		"received_on": time.Now().Format("2006-01-02"), "reference": ref, "anonymous": anonymous})
	if code != 201 || jsonInto(raw, &d) != nil || d.ID == "" {
		t.Fatalf("donate %d: %d %s", fen, code, raw)
	}
	return d
}

// TestHardshipEndToEnd walks the fund through HTTP on the real service: donations in (one over
// the ceiling confirmed by a second person, never by its recorder), a grant of 3,000 yuan
// verified by the school and approved by the aid center and the PA office (the final approval
// reserves), the decision screen with the student's stacked benefits, the payment by the funds
// center, the ledger with running balances, and the month's public disclosure with the student's
// name masked and nothing else about them.
func TestHardshipEndToEnd(t *testing.T) { hardshipEndToEnd(t, hardshipConfig(t)) }

// TestHardshipEndToEndOnPostgres is the same walk with the store in PostgreSQL.
func TestHardshipEndToEndOnPostgres(t *testing.T) {
	cfg := hardshipConfig(t)
	cfg.DatabaseURL = postgresSchema(t)
	hardshipEndToEnd(t, cfg)
}

func hardshipEndToEnd(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	funds, pa, staff, head, aid, jcs := anon.as("funds01"), anon.as("pa01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("jcs01")

	donation(t, funds, "建始县某建材公司", 10_000_00, "SJ-2026-001", false)
	big := donation(t, funds, "对口帮扶区教育局", 30_000_00, "SJ-2026-002", false)
	if big.State != casework.DonationPending {
		t.Fatalf("a donation over the ceiling: %+v", big)
	}
	donation(t, funds, "爱心人士", 500_00, "SJ-2026-003", true)
	if f := funds.fund(); f.BalanceFen != 10_500_00 {
		t.Fatalf("a pending donation is not in the ledger: %+v", f)
	}
	funds.expectCode("POST", "/api/v1/hardship/donations/"+big.ID+"/confirm", map[string]string{"decision": "confirm"}, 403, "separation_of_duties", "")
	pa.ok("POST", "/api/v1/hardship/donations/"+big.ID+"/confirm", map[string]string{"decision": "confirm"})
	pa.expectReason("POST", "/api/v1/hardship/donations/"+big.ID+"/confirm", map[string]string{"decision": "confirm"}, 409, "", "not_pending")
	staff.expectCode("GET", "/api/v1/hardship/fund", nil, 403, "forbidden", "")

	// The student already holds a regular subsidy this school year: the decision shows it.
	student := staff.studentOf("张小三")
	apply(t, staff, student.ID, "living-primary", "")
	g := applyGrant(t, staff, student.ID, 3000_00)
	if g.State != casework.GrantVerifying || strings.Join(g.Tiers, ",") != "aid_center,pa_office" {
		t.Fatalf("new grant: %+v", g)
	}
	complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
	tier1 := aid.waitTask(casework.KindHardshipApproval, g.ID)
	d := aid.grant(g.ID)
	if d.Benefits.SubsidyTotalFen != 500_00 || len(d.Benefits.Subsidies) != 1 || d.Benefits.Subsidies[0].Programme != "living-primary" ||
		d.Benefits.AlreadyFen != 500_00 || d.Benefits.SchoolYear != "2026-2027" {
		t.Errorf("the decision screen's benefits: %+v", d.Benefits)
	}
	if d.Student.IDCardNo != student.IDCardNo {
		t.Errorf("the aid center sees the student's ID number whole (api/personal.go): %q", d.Student.IDCardNo)
	}
	complete(t, aid, tier1.ID, "approve", nil)
	complete(t, pa, pa.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	d = staff.waitGrant(g.ID, casework.GrantApproved)
	if f := funds.fund(); f.ReservedFen != 3000_00 || f.AvailableFen != 37_500_00 {
		t.Fatalf("after the approval: %+v", f)
	}
	if pd := pa.grant(g.ID); !strings.HasPrefix(pd.Student.IDCardNo, "**************") || pd.Student.BirthDate != "2016" {
		t.Errorf("outside the school and the aid center the student's numbers are masked: %q %q", pd.Student.IDCardNo, pd.Student.BirthDate)
	}

	pay := funds.waitTask(casework.KindHardshipDisbursement, g.ID)
	funds.expectReason("POST", "/api/v1/tasks/"+pay.ID+"/complete", map[string]any{"outcome": "disburse",
		"fields": map[string]string{"channel": "现金", "reference": "P-1"}}, 400, "fields.channel", "unknown_channel")
	complete(t, funds, pay.ID, "disburse", map[string]string{"channel": "一卡通", "reference": "YKT-20261206-01"})
	d = staff.waitGrant(g.ID, casework.GrantDisbursed)
	// The duty map counts the school's grants: this one paid, none pending.
	var dm struct {
		Rows []struct {
			UnitCode  string `json:"unit_code"`
			Processes map[string]struct{ Open, Done, Overdue int }
		}
	}
	if code := anon.as("leader01").do("GET", "/api/v1/reports/duty-map?unit=JS-T01-S01", nil, &dm); code != 200 || len(dm.Rows) == 0 {
		t.Fatalf("duty map: %d %+v", code, dm)
	} else if h := dm.Rows[0].Processes[casework.ProcessHardship]; h.Done != 1 || h.Open != 0 {
		t.Errorf("the duty map's hardship grants at the school: %+v", h)
	}
	f := funds.fund()
	requireBooks(t, svc, f)
	if f.BalanceFen != 37_500_00 || f.ReservedFen != 0 || len(f.Entries) != 4 {
		t.Fatalf("after the payment: %+v", f)
	}
	if last := f.Entries[3]; last.Kind != casework.LedgerDisbursement || last.AmountFen != -3000_00 || last.StudentName != "张小三" || last.Channel != "一卡通" {
		t.Errorf("the payment's entry: %+v", last)
	}
	// The fund's ledger (台账) exports for who reads the fund: its movements with running
	// balances, its donations, and the grant with its payment; the school may not read it.
	var ledger struct {
		Sheets []struct {
			Name   string
			Header []string
			Rows   [][]string
		}
	}
	if code := funds.do("GET", "/api/v1/ledgers/hardship-fund", nil, &ledger); code != 200 || len(ledger.Sheets) != 3 {
		t.Fatalf("the fund's ledger: %d %+v", code, ledger)
	}
	moves, gifts, paid := ledger.Sheets[0], ledger.Sheets[1], ledger.Sheets[2]
	if len(moves.Rows) != 4 || !strings.Contains(strings.Join(moves.Rows[3], " "), "-3000.00 37500.00") ||
		!strings.Contains(strings.Join(moves.Rows[3], " "), "张小三 业州镇第一小学 一卡通") {
		t.Errorf("the ledger's movements: %+v", moves)
	}
	if len(gifts.Rows) < 3 || len(paid.Rows) != 1 || paid.Rows[0][0] != g.ID || !strings.Contains(strings.Join(paid.Rows[0], " "), "3000.00 已发放") {
		t.Errorf("the ledger's donations and grants: %+v %+v", gifts, paid)
	}
	staff.expectCode("GET", "/api/v1/exports/hardship-fund.xlsx", nil, 403, "forbidden", "")
	var actions []string
	for _, e := range d.Timeline {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"hardship.applied", "hardship.verified", "hardship.tier_approved", "hardship.approved", "hardship.disbursed"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("the timeline lacks %s: %v", want, actions)
		}
	}
	// The school sees its grant; another school's staff and the public do not.
	var other struct{ Items []grantOut }
	jcs.do("GET", "/api/v1/hardship/grants", nil, &other)
	if len(other.Items) != 1 {
		t.Errorf("the supervision office reads every grant: %+v", other.Items)
	}

	code, raw := anon.raw("GET", "/public/hardship/disclosures?period="+time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01"), nil)
	if code != 200 {
		t.Fatalf("disclosure: %d %s", code, raw)
	}
	for _, secret := range []string{"张小三", student.IDCardNo, student.StudentNo, student.ID, student.BirthDate, "父亲重病", "爱心人士", g.ID} {
		if strings.Contains(raw, secret) {
			t.Errorf("the public disclosure shows %q: %s", secret, raw)
		}
	}
	for _, want := range []string{`"name":"张*三"`, `"school":"业州镇第一小学"`, `"donor":"匿名"`, `"donor":"对口帮扶区教育局"`,
		`"opening_balance_fen":0`, `"closing_balance_fen":3750000`, `"grants_fen":300000`, `"donations_fen":4050000`} {
		if !strings.Contains(raw, want) {
			t.Errorf("the public disclosure lacks %s: %s", want, raw)
		}
	}
	anon.expectReason("GET", "/public/hardship/disclosures?period=2026-13", nil, 400, "period", "period_format")
}

// TestHardshipConcurrentApprovalsOverHTTP: a fund of 20,000 yuan and 50 grants of 600 to 1,400
// yuan (about 50,000 in all), verified one by one, then approved at the same moment by two aid
// center officers through HTTP: every approval answers 200 or 409 insufficient_funds, the
// approved add up to no more than the fund, the refused grants wait as insufficient_funds, and
// the ledger reconciles. On SQLite and on PostgreSQL.
func TestHardshipConcurrentApprovalsOverHTTP(t *testing.T) {
	hardshipConcurrent(t, hardshipConfig(t))
}

// TestHardshipConcurrentApprovalsOverHTTPOnPostgres is the same race with the store in PostgreSQL.
func TestHardshipConcurrentApprovalsOverHTTPOnPostgres(t *testing.T) {
	cfg := hardshipConfig(t)
	cfg.DatabaseURL = postgresSchema(t)
	hardshipConcurrent(t, cfg)
}

func hardshipConcurrent(t *testing.T, cfg config.Config) {
	// Fifty updates at once on a shared machine: give each time to answer with its outcome (an
	// answer past the timeout is 202, handled below, but then the refusal is read from the grant).
	cfg.UpdateTimeout = 30 * time.Second
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	funds, staff, head, aid1, aid2 := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("aid02")
	const n, fund = 50, int64(20_000_00)
	donation(t, funds, "县慈善总会", fund, "CS-2026-01", false)
	students := []string{staff.studentOf("张小三").ID, staff.studentOf("李梅").ID, staff.studentOf("王二小").ID, staff.studentOf("向金花").ID}
	amounts := map[string]int64{}
	var asked int64
	for i := 0; i < n; i++ {
		fen := int64(600_00 + (i*7919)%800_00)
		var g struct{ ID string }
		if code, raw := staff.raw("POST", "/api/v1/hardship/grants", map[string]any{"student_id": students[i%len(students)], "amount_fen": fen,
			"reason": fmt.Sprintf("第 %d 户：突发困难", i), "hardship_kind": "accident"}); code != 201 && code != 202 {
			t.Fatalf("grant %d: %d %s", i, code, raw)
		} else if err := jsonInto(raw, &g); err != nil || g.ID == "" {
			t.Fatalf("grant %d: %s", i, raw)
		}
		amounts[g.ID] = fen
		asked += fen
	}
	if asked <= fund {
		t.Fatalf("the grants ask %d, no more than the fund's %d", asked, fund)
	}
	var tasks []task
	eventually(t, 60*time.Second, func() bool {
		var inbox struct{ Items []task }
		head.do("GET", "/api/v1/tasks?state=open&kind=hardship_verification&limit=500", nil, &inbox)
		tasks = inbox.Items
		return len(tasks) == n
	}, "%d verification tasks", n)
	for _, tk := range tasks {
		complete(t, head, tk.ID, "approve", nil)
	}
	eventually(t, 60*time.Second, func() bool {
		var inbox struct{ Items []task }
		aid1.do("GET", "/api/v1/tasks?state=open&kind=hardship_approval&limit=500", nil, &inbox)
		tasks = inbox.Items
		return len(tasks) == n
	}, "%d approval tasks", n)

	type answer struct {
		grant string
		code  int
		err   apiError
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, tk := range tasks {
		by := []*client{aid1, aid2}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var e apiError
			code := by.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, &e)
			for try := 0; code == 503 && try < 5; try++ { // changed nothing: a client retries it
				time.Sleep(time.Second)
				e = apiError{}
				code = by.do("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, &e)
			}
			answers[i] = answer{grant: tk.CaseID, code: code, err: e}
		}()
	}
	close(start)
	wg.Wait()

	var approved int64
	var ok, refused, late int
	for _, a := range answers {
		if a.code == 202 {
			// Accepted, its record still being written when the answer was due: it lands.
			late++
			var st string
			eventually(t, 30*time.Second, func() bool {
				st = staff.grant(a.grant).Grant.State
				return st == casework.GrantApproved || st == casework.GrantInsufficientFunds
			}, "accepted approval of grant %s to land", a.grant)
			if st == casework.GrantApproved {
				ok++
				approved += amounts[a.grant]
			} else {
				refused++
			}
			continue
		}
		switch a.code {
		case 200:
			ok++
			approved += amounts[a.grant]
			staff.waitGrant(a.grant, casework.GrantApproved)
		case 409:
			if a.err.Error.Code != "insufficient_funds" || a.err.Error.Field != "amount_fen" || a.err.Error.Params["amount_fen"] != fmt.Sprint(amounts[a.grant]) {
				t.Errorf("grant %s refused with %+v", a.grant, a.err)
			}
			refused++
			if st := staff.grant(a.grant).Grant.State; st != casework.GrantInsufficientFunds {
				t.Errorf("refused grant %s is %s", a.grant, st)
			}
		default:
			t.Errorf("grant %s: status %d %+v", a.grant, a.code, a.err)
		}
	}
	f := funds.fund()
	requireBooks(t, svc, f)
	if approved > fund || f.ReservedFen != approved || f.BalanceFen != fund {
		t.Fatalf("approved %d of a fund of %d; the fund says %+v", approved, fund, f)
	}
	if ok == 0 || refused == 0 {
		t.Fatalf("%d approved, %d refused: the race must see both", ok, refused)
	}
	t.Logf("%d approved (%d fen), %d refused insufficient_funds (%d of them answered 202 and landed later), %d available",
		ok, approved, refused, late, f.AvailableFen)
}

// TestHardshipBadInput: zero, negative, fractional and absurd amounts, a donation by a school, a
// voucher booked twice, a reversal of a reversal, a reversal of money already reserved, and a
// grant for another school's student are refused naming the field, and nothing is written: the
// fund, the ledger and the grants are as they were.
func TestHardshipBadInput(t *testing.T) {
	svc := startService(t, hardshipConfig(t))
	anon := newClient(t, svc)
	funds, staff, head, aid := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01")
	student := staff.studentOf("张小三")
	donationBody := func(amount any) map[string]any {
		return map[string]any{"donor": "某公司", "donor_kind": "enterprise", "amount_fen": amount, "received_on": "2026-09-01", "reference": "BAD-1"}
	}
	grantBody := func(studentID string, amount any) map[string]any {
		return map[string]any{"student_id": studentID, "amount_fen": amount, "reason": "困难", "hardship_kind": "illness"}
	}
	for _, c := range []struct {
		amount any
		reason string
	}{{0, "amount_range"}, {-500, "amount_range"}, {12.5, "whole_number"}, {int64(10_000_000_01), "amount_range"}, {"100", "json_type"}} {
		funds.expectReason("POST", "/api/v1/hardship/donations", donationBody(c.amount), 400, "amount_fen", c.reason)
		staff.expectReason("POST", "/api/v1/hardship/grants", grantBody(student.ID, c.amount), 400, "amount_fen", c.reason)
	}
	staff.expectReason("POST", "/api/v1/hardship/grants", grantBody(student.ID, 5_000_001), 400, "amount_fen", "amount_range", "max_fen", "5000000")
	staff.expectCode("POST", "/api/v1/hardship/donations", donationBody(100_00), 403, "forbidden", "")
	other := anon.as("aid01").studentOf("黄俊") // a student of 高坪镇中心小学
	staff.expectCode("POST", "/api/v1/hardship/grants", grantBody(other.ID, 1000_00), 403, "not_in_scope", "student_id")
	staff.expectReason("POST", "/api/v1/hardship/grants", map[string]any{"student_id": student.ID, "amount_fen": 1000_00, "reason": "困难",
		"hardship_kind": "lottery"}, 400, "hardship_kind", "one_of")
	if f := funds.fund(); f.BalanceFen != 0 || len(f.Entries) != 0 {
		t.Fatalf("a refused donation was written: %+v", f)
	}
	var gs struct{ Items []grantOut }
	aid.do("GET", "/api/v1/hardship/grants", nil, &gs)
	if len(gs.Items) != 0 {
		t.Fatalf("a refused grant was written: %+v", gs.Items)
	}

	d := donation(t, funds, "某公司", 2000_00, "OK-1", false)
	funds.expectReason("POST", "/api/v1/hardship/donations", map[string]any{"donor": "另一家", "donor_kind": "enterprise", "amount_fen": 100,
		"received_on": "2026-09-01", "reference": "OK-1"}, 409, "reference", "reference_booked")
	// 1,500 of the 2,000 reserved: the donation can no longer be reversed.
	g := applyGrant(t, staff, student.ID, 1500_00)
	complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
	complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	staff.waitGrant(g.ID, casework.GrantApproved)
	funds.expectReason("POST", "/api/v1/hardship/donations/"+d.ID+"/reverse", map[string]string{"reason": "误记"}, 409, "", "reversal",
		"available_fen", "50000", "amount_fen", "200000")
	funds.expectReason("POST", "/api/v1/hardship/donations/"+d.ID+"/reverse", map[string]string{"reason": ""}, 400, "reason", "required")
	before := funds.fund()

	small := donation(t, funds, "某个人", 300_00, "OK-2", false)
	var rev store.Donation
	if code, raw := funds.raw("POST", "/api/v1/hardship/donations/"+small.ID+"/reverse", map[string]string{"reason": "重复登记"}); code != 201 {
		t.Fatalf("reverse: %d %s", code, raw)
	} else if err := jsonInto(raw, &rev); err != nil || rev.Kind != casework.DonationKindReversal {
		t.Fatalf("reverse: %s", raw)
	}
	funds.expectReason("POST", "/api/v1/hardship/donations/"+rev.ID+"/reverse", map[string]string{"reason": "再冲"}, 400, "id", "reversal_of_reversal")
	funds.expectReason("POST", "/api/v1/hardship/donations/"+small.ID+"/reverse", map[string]string{"reason": "再冲"}, 409, "id", "already_reversed")
	after := funds.fund()
	requireBooks(t, svc, after)
	if after.BalanceFen != before.BalanceFen || len(after.Entries) != len(before.Entries)+2 || after.ReservedFen != 1500_00 {
		t.Fatalf("before %+v, after %+v: only the small donation and its reversal were booked", before, after)
	}

	// A client whose answer was lost sends the application again with the same Idempotency-Key
	// and gets the grant the first one started, not a second; a new key is a new application.
	keyed := staff.withHeader("Idempotency-Key", "grant-2026-12-07-0001")
	var first, again, fresh grantOut
	if code, raw := keyed.raw("POST", "/api/v1/hardship/grants", grantBody(student.ID, 200_00)); code != 201 || jsonInto(raw, &first) != nil {
		t.Fatalf("keyed application: %d %s", code, raw)
	}
	if code, raw := keyed.raw("POST", "/api/v1/hardship/grants", grantBody(student.ID, 200_00)); code != 201 || jsonInto(raw, &again) != nil || again.ID != first.ID {
		t.Fatalf("the same application again: %d %s, want 201 with grant %s", code, raw, first.ID)
	}
	if code, raw := staff.withHeader("Idempotency-Key", "grant-2026-12-07-0002").raw("POST", "/api/v1/hardship/grants",
		grantBody(student.ID, 200_00)); code != 201 || jsonInto(raw, &fresh) != nil || fresh.ID == first.ID {
		t.Fatalf("a new key: %d %s, want a new grant", code, raw)
	}
	var mine struct{ Items []grantOut }
	staff.do("GET", "/api/v1/hardship/grants", nil, &mine)
	if n := len(mine.Items); n != 3 {
		t.Errorf("%d grants after the keyed repeat, want 3 (the first one, the keyed one, the new key's)", n)
	}
	staff.withHeader("Idempotency-Key", "has spaces").expectReason("POST", "/api/v1/hardship/grants", grantBody(student.ID, 200_00), 400,
		"Idempotency-Key", "format")
}

// TestHardshipPayDueReachesSupervision: an approved grant not paid within
// JIAOFU_HARDSHIP_PAY_DUE goes to the supervision office by itself, and the escalation opens its
// accountability record; paid afterwards, it is paid once.
func TestHardshipPayDueReachesSupervision(t *testing.T) {
	cfg := hardshipConfig(t)
	cfg.SetDuration("JIAOFU_HARDSHIP_PAY_DUE", mustSpec(t, "2s"))
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	funds, staff, head, aid, jcs := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("jcs01")
	donation(t, funds, "某公司", 5000_00, "PD-1", false)
	g := applyGrant(t, staff, staff.studentOf("李梅").ID, 800_00)
	complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
	complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	staff.waitGrant(g.ID, casework.GrantApproved)
	var esc struct{ Items []store.Escalation }
	eventually(t, 30*time.Second, func() bool {
		jcs.do("GET", "/api/v1/escalations?process=hardship&case_id="+g.ID, nil, &esc)
		return len(esc.Items) == 1
	}, "the pay deadline's escalation of grant %s", g.ID)
	if e := esc.Items[0]; e.ID != g.ID+"-pay-due-r1" || e.Target != casework.TargetSupervision || e.State != casework.EscalationOpen ||
		!strings.Contains(e.Reason, "逾期未发放") {
		t.Errorf("the escalation: %+v", e)
	}
	var recs struct {
		Items []struct {
			CaseID string `json:"case_id"`
			Title  string `json:"title"`
		}
	}
	eventually(t, 20*time.Second, func() bool {
		jcs.do("GET", "/api/v1/accountability-records?case_id="+g.ID, nil, &recs)
		return len(recs.Items) == 1
	}, "the accountability record of grant %s", g.ID)
	complete(t, funds, funds.waitTask(casework.KindHardshipDisbursement, g.ID).ID, "disburse",
		map[string]string{"channel": "一卡通", "reference": "LATE-1"})
	staff.waitGrant(g.ID, casework.GrantDisbursed)
	f := funds.fund()
	requireBooks(t, svc, f)
	if f.BalanceFen != 4200_00 || f.ReservedFen != 0 {
		t.Fatalf("after the late payment: %+v", f)
	}
}

// TestHardshipLeadersVote: above 5,000 yuan the bureau leaders' tier is a 票签 step through
// HTTP: each of the three demo leaders has a task of it (ratio:2/3). Grant 1: one approval
// reserves nothing; the two others approve at the same instant, each the approval that makes two
// thirds: exactly one is taken (the other is refused 409, wrong_state deciding or task_not_open),
// and the fund is reserved once. Grant 2: the fund cannot cover it when the second approval
// makes the ratio: 409 insufficient_funds, the grant waits; two leaders then say no, the ratio is
// out of reach and the grant is rejected, its place in the fund never taken. The books reconcile.
func TestHardshipLeadersVote(t *testing.T) { hardshipLeadersVote(t, hardshipConfig(t)) }

// TestHardshipLeadersVoteOnPostgres is the same vote with the store in PostgreSQL.
func TestHardshipLeadersVoteOnPostgres(t *testing.T) {
	cfg := hardshipConfig(t)
	cfg.DatabaseURL = postgresSchema(t)
	hardshipLeadersVote(t, cfg)
}

func hardshipLeadersVote(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	funds, staff, head, aid, pa := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("pa01")
	leaders := []*client{anon.as("leader01"), anon.as("leader02"), anon.as("leader03")}
	donation(t, funds, "某公司", 10_000_00, "LV-1", false)
	upToLeaders := func(name string) (grantOut, []task) {
		g := applyGrant(t, staff, staff.studentOf(name).ID, 6000_00)
		complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
		complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		complete(t, pa, pa.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		var tasks []task
		for _, l := range leaders {
			tasks = append(tasks, l.waitTask(casework.KindHardshipApproval, g.ID))
		}
		var detail struct {
			Signing string `json:"signing"`
			Step    []struct {
				ID string `json:"id"`
			} `json:"step"`
		}
		leaders[0].do("GET", "/api/v1/tasks/"+tasks[0].ID, nil, &detail)
		if detail.Signing != "ratio:2/3" || len(detail.Step) != 3 {
			t.Fatalf("the leaders' task: %+v, want a ratio:2/3 step of three", detail)
		}
		return g, tasks
	}

	g1, tasks := upToLeaders("向金花")
	complete(t, leaders[0], tasks[0].ID, "approve", nil)
	if f := funds.fund(); f.ReservedFen != 0 {
		t.Errorf("one approval of three reserved: %+v", f)
	}
	if d := staff.grant(g1.ID); d.Grant.State != casework.GrantApproving {
		t.Errorf("after one approval: %s", d.Grant.State)
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	answers := make([]apiError, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = leaders[i+1].do("POST", "/api/v1/tasks/"+tasks[i+1].ID+"/complete", map[string]string{"outcome": "approve"}, &answers[i])
		}()
	}
	wg.Wait()
	taken := 0
	for i, code := range codes {
		switch {
		case code == 200:
			taken++
		case code == 409 && (answers[i].Error.Code == "task_not_open" || answers[i].Error.Params["reason"] == "deciding"):
		default:
			t.Errorf("racing approval %d: %d %+v", i, code, answers[i])
		}
	}
	if taken != 1 {
		t.Fatalf("racing approvals taken: %d of %v, want exactly one", taken, codes)
	}
	d := staff.waitGrant(g1.ID, casework.GrantApproved)
	if len(d.Grant.Approvers) != 4 {
		t.Errorf("approvers: %v, want the aid center, the PA office and two leaders", d.Grant.Approvers)
	}
	f := funds.fund()
	if f.ReservedFen != 6000_00 || f.AvailableFen != 4000_00 {
		t.Errorf("after the step: %+v, want 6,000 yuan reserved once", f)
	}
	requireBooks(t, svc, f)

	g2, tasks := upToLeaders("李梅")
	complete(t, leaders[0], tasks[0].ID, "approve", nil)
	leaders[1].expectReason("POST", "/api/v1/tasks/"+tasks[1].ID+"/complete", map[string]string{"outcome": "approve"}, 409, "amount_fen", "",
		"amount_fen", "600000", "available_fen", "400000")
	staff.waitGrant(g2.ID, casework.GrantInsufficientFunds)
	leaders[2].ok("POST", "/api/v1/tasks/"+tasks[2].ID+"/complete", map[string]string{"outcome": "reject", "comment": "基金余额不足，建议下月再议"})
	leaders[1].ok("POST", "/api/v1/tasks/"+tasks[1].ID+"/complete", map[string]string{"outcome": "reject", "comment": "同意暂缓"})
	d = staff.waitGrant(g2.ID, casework.GrantRejected)
	if d.Grant.Approvers == nil || len(d.Grant.Approvers) != 2 {
		t.Errorf("a rejected grant's approvers: %v, want the two lower tiers", d.Grant.Approvers)
	}
	f = funds.fund()
	if f.ReservedFen != 6000_00 || f.AvailableFen != 4000_00 {
		t.Errorf("after the rejection: %+v, want only the first grant reserved", f)
	}
	requireBooks(t, svc, f)
	decided := 0
	for _, e := range d.Timeline {
		if e.Action == "task.step_decided" {
			decided++
		}
	}
	if decided != 1 {
		t.Errorf("the second grant's timeline has %d step decisions, want 1", decided)
	}
}

// TestRecordHardship records, from today's code, histories of the hardship fund's main paths, so
// that a later change of HardshipGrant is proven against grants that ran or are running under
// this code (workflows.TestReplayRecordedHistories). Each subtest asserts what it records through
// the API; without JIAOFU_RECORD_HISTORIES they are ordinary tests.
func TestRecordHardship(t *testing.T) {
	// hardship_three_tiers_disbursed: 6,000 yuan: verified, approved by the aid center, the PA
	// office and a bureau leader (who reserves), paid.
	t.Run("three_tiers_disbursed", func(t *testing.T) {
		recordThreeTiersPaid(t, "R-1", "hardship_three_tiers_disbursed")
	})
	// hardship_short_then_paid_late: the final approval finds the fund short (refused
	// insufficient_funds, the grant waits); a donation comes in, the approval goes through; the
	// payment is late, so the pay deadline reaches the supervision office; then it is paid.
	t.Run("short_then_paid_late", func(t *testing.T) {
		cfg := hardshipConfig(t)
		cfg.SetDuration("JIAOFU_HARDSHIP_PAY_DUE", mustSpec(t, "2s"))
		svc := startService(t, cfg)
		anon := newClient(t, svc)
		funds, staff, head, aid, jcs := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("jcs01")
		donation(t, funds, "某公司", 500_00, "R-2", false)
		g := applyGrant(t, staff, staff.studentOf("李梅").ID, 1200_00)
		complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
		tk := aid.waitTask(casework.KindHardshipApproval, g.ID)
		aid.expectReason("POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, 409, "amount_fen", "",
			"amount_fen", "120000", "available_fen", "50000")
		staff.waitGrant(g.ID, casework.GrantInsufficientFunds)
		donation(t, funds, "某个人", 1000_00, "R-3", false)
		complete(t, aid, tk.ID, "approve", nil)
		staff.waitGrant(g.ID, casework.GrantApproved)
		var esc struct{ Items []store.Escalation }
		eventually(t, 30*time.Second, func() bool {
			jcs.do("GET", "/api/v1/escalations?process=hardship&case_id="+g.ID, nil, &esc)
			return len(esc.Items) == 1
		}, "the pay deadline's escalation")
		complete(t, funds, funds.waitTask(casework.KindHardshipDisbursement, g.ID).ID, "disburse",
			map[string]string{"channel": "一卡通", "reference": "YKT-R-2"})
		staff.waitGrant(g.ID, casework.GrantDisbursed)
		requireBooks(t, svc, funds.fund())
		settled(t, svc, g.ID, "")
		recordHistory(t, svc, g.ID, "hardship_short_then_paid_late")
	})
	// hardship_withdrawn_after_approval: approved (reserved), then withdrawn by its applicant
	// before the funds center took it up: the reservation goes back.
	t.Run("withdrawn_after_approval", func(t *testing.T) {
		svc := startService(t, hardshipConfig(t))
		anon := newClient(t, svc)
		funds, staff, head, aid := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01")
		donation(t, funds, "某公司", 5000_00, "R-4", false)
		g := applyGrant(t, staff, staff.studentOf("张小三").ID, 1000_00)
		complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
		complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		funds.waitTask(casework.KindHardshipDisbursement, g.ID)
		// Only the applicant withdraws, from the grant (the county's step is not in a school's inbox).
		head.expectCode("POST", "/api/v1/hardship/grants/"+g.ID+"/withdraw", map[string]string{"comment": "x"}, 403, "not_candidate", "")
		staff.ok("POST", "/api/v1/hardship/grants/"+g.ID+"/withdraw", map[string]string{"comment": "学生已获其他救助"})
		staff.expectCode("POST", "/api/v1/hardship/grants/"+g.ID+"/withdraw", nil, 409, "task_not_open", "")
		staff.waitGrant(g.ID, casework.GrantWithdrawn)
		if f := funds.fund(); f.ReservedFen != 0 || f.AvailableFen != 5000_00 {
			t.Errorf("after the withdrawal: %+v", f)
		}
		settled(t, svc, g.ID, "")
		recordHistory(t, svc, g.ID, "hardship_withdrawn_after_approval")
	})
	// hardship_open_awaiting_payment: approved and reserved, still waiting for its payment (and
	// its deadline still ahead): a grant running when the code changes.
	t.Run("open_awaiting_payment", func(t *testing.T) {
		svc := startService(t, hardshipConfig(t))
		anon := newClient(t, svc)
		funds, staff, head, aid, pa := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("pa01")
		donation(t, funds, "某公司", 5000_00, "R-5", false)
		g := applyGrant(t, staff, staff.studentOf("王二小").ID, 2500_00)
		complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
		complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		complete(t, pa, pa.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		funds.waitTask(casework.KindHardshipDisbursement, g.ID)
		staff.waitGrant(g.ID, casework.GrantApproved)
		settled(t, svc, g.ID, "")
		recordHistory(t, svc, g.ID, "hardship_open_awaiting_payment")
	})
	// hardship_kit18_three_tiers_disbursed: the three-tier walk again under the kit of issue 18
	// (steps, signers), before the bureau leaders' tier became a 票签 step: one leader approves.
	t.Run("kit18_three_tiers_disbursed", func(t *testing.T) {
		recordThreeTiersPaid(t, "R-6", "hardship_kit18_three_tiers_disbursed")
	})
	// hardship_kit18_open_at_leader: 6,000 yuan approved by the aid center and the PA office,
	// waiting on the one bureau leader's task: a grant that must keep its single leader when the
	// top tier becomes a 票签 step.
	t.Run("kit18_open_at_leader", func(t *testing.T) {
		svc := startService(t, hardshipConfig(t))
		anon := newClient(t, svc)
		funds, staff, head, aid, pa, leader := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("pa01"), anon.as("leader01")
		donation(t, funds, "某公司", 10_000_00, "R-7", false)
		g := applyGrant(t, staff, staff.studentOf("向金花").ID, 6000_00)
		complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
		complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		complete(t, pa, pa.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		leader.waitTask(casework.KindHardshipApproval, g.ID)
		settled(t, svc, g.ID, "")
		recordHistory(t, svc, g.ID, "hardship_kit18_open_at_leader")
	})
	// hardship_leaders_vote_open: since hardship-top-tier-ratio, 6,000 yuan at the bureau leaders'
	// 票签: one leader approved, one approval found the fund short (insufficient_funds), the third
	// leader has not voted: a grant running mid-vote when the code changes.
	t.Run("leaders_vote_open", func(t *testing.T) {
		svc := startService(t, hardshipConfig(t))
		anon := newClient(t, svc)
		funds, staff, head, aid, pa := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("pa01")
		leader1, leader2 := anon.as("leader01"), anon.as("leader02")
		donation(t, funds, "某公司", 5000_00, "R-8", false)
		g := applyGrant(t, staff, staff.studentOf("向金花").ID, 6000_00)
		complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
		complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		complete(t, pa, pa.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		complete(t, leader1, leader1.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
		leader2.expectCode("POST", "/api/v1/tasks/"+leader2.waitTask(casework.KindHardshipApproval, g.ID).ID+"/complete",
			map[string]string{"outcome": "approve"}, 409, "insufficient_funds", "amount_fen")
		staff.waitGrant(g.ID, casework.GrantInsufficientFunds)
		anon.as("leader03").waitTask(casework.KindHardshipApproval, g.ID)
		settled(t, svc, g.ID, "")
		recordHistory(t, svc, g.ID, "hardship_leaders_vote_open")
	})
}

// recordThreeTiersPaid walks a 6,000-yuan grant through the three tiers (the leaders' 票签 by two
// of three) and its payment, donated with reference ref, and records its history as name. The
// files recorded under the older kit (a single leader) keep their names; re-recording them records
// today's walk.
func recordThreeTiersPaid(t *testing.T, ref, name string) {
	svc := startService(t, hardshipConfig(t))
	anon := newClient(t, svc)
	funds, staff, head, aid, pa, leader := anon.as("funds01"), anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("pa01"), anon.as("leader01")
	donation(t, funds, "某公司", 10_000_00, ref, false)
	g := applyGrant(t, staff, staff.studentOf("向金花").ID, 6000_00)
	complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
	complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	complete(t, pa, pa.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	complete(t, leader, leader.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	// Since hardship-top-tier-ratio the leaders' tier is a 票签: two of the three approve.
	leader2 := anon.as("leader02")
	complete(t, leader2, leader2.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	complete(t, funds, funds.waitTask(casework.KindHardshipDisbursement, g.ID).ID, "disburse",
		map[string]string{"channel": "一卡通", "reference": "YKT-" + ref})
	d := staff.waitGrant(g.ID, casework.GrantDisbursed)
	if len(d.Grant.Approvers) != 4 {
		t.Errorf("approvers: %v", d.Grant.Approvers)
	}
	settled(t, svc, g.ID, "")
	recordHistory(t, svc, g.ID, name)
}
