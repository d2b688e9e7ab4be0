package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"jiaofu/apiclient"
	"jiaofu/calendar"
	"jiaofu/demo"
	"jiaofu/store"
)

// The hardship fund in the simulated term (issue 22), kept apart from the other processes: its
// own random stream, its own observations, its own oracle rules.
//
// Actors: the funds center books a fund that covers about two thirds of what the schools will
// ask (and books and reverses one mistaken donation); each school's staff apply for one grant
// below the first tier's threshold (the aid center alone approves it) and its leader verifies at
// once; then the aid center approves every grant at the same moment, and the fund takes the ones
// it can cover: the others are refused insufficient_funds and the aid center rejects them. The
// funds center pays each approved grant on time, after its pay deadline, or never, as its
// school's profile says.
//
// Oracle rules (README, docs/hardship.md):
//   - an approved grant's pay deadline (the payment task's due time, read from the service) is a
//     case deadline of kind hardship_pay_due: its ladder's rung N falls due at its `after` past
//     the deadline and fires while the grant is unpaid (a payment ends it); its target is the
//     supervision office;
//   - the ledger reconciles (its entries add up to the balance, running balances, reservations
//     held against what the fund holds reserved), the approved amounts never exceed the fund,
//     every refusal is insufficient_funds, and no grant is paid twice.

// HardshipDeadlineKind is the kind of an approved grant's payment deadline (its ladder's name).
const HardshipDeadlineKind = "hardship_pay_due"

// HardshipObs is one grant as the actors saw it.
type HardshipObs struct {
	CaseID    string
	AmountFen int64
	Approved  bool      // reserved at the final approval; else refused insufficient_funds, then rejected
	PayDue    time.Time // the payment task's due time: the pay deadline
	Behaviour string
	Paid      *span
}

// hardship runs the fund's actors over the schools.
func (w *world) hardship(ctx context.Context, anon *apiclient.Client, schools []*school, rng *rand.Rand) {
	if len(schools) == 0 {
		return
	}
	funds, err := anon.Login(ctx, "funds01", demo.DemoPassword)
	if err != nil {
		w.j.fail(err)
		return
	}
	aid, err := anon.Login(ctx, "aid01", demo.DemoPassword)
	if err != nil {
		w.j.fail(err)
		return
	}
	amounts := make([]int64, len(schools))
	behaviours := make([]string, len(schools))
	var asked int64
	for i, sc := range schools {
		amounts[i] = int64(500_00 + rng.IntN(1400_00))
		asked += amounts[i]
		behaviours[i] = sc.Profile.draw(rng)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	donate := func(ref string, fen int64) (store.Donation, error) {
		var d store.Donation
		err := funds.Expect(ctx, 201, "POST", "/api/v1/hardship/donations", map[string]any{"donor": "模拟捐赠方", "donor_kind": "charity",
			"amount_fen": fen, "received_on": today, "reference": ref, "anonymous": ref[len(ref)-1] == '2'}, &d)
		return d, err
	}
	fund := asked * 2 / 3
	for i, part := range []int64{fund / 2, fund - fund/2} {
		if _, err := donate(fmt.Sprintf("SIM-%s-%d", w.term, i+1), part); err != nil {
			w.j.fail(err)
			return
		}
	}
	mistake, err := donate(fmt.Sprintf("SIM-%s-x", w.term), 1_00)
	if err == nil {
		err = funds.Expect(ctx, 201, "POST", "/api/v1/hardship/donations/"+mistake.ID+"/reverse", map[string]string{"reason": "模拟：重复登记"}, nil)
	}
	if err != nil {
		w.j.fail(err)
		return
	}

	obs := make([]*HardshipObs, len(schools))
	tasks := make([]string, len(schools))
	var wg sync.WaitGroup
	for i, sc := range schools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 201 with the grant, or 202 with its id while its first record is still being written.
			var g struct{ ID string }
			code, raw, err := sc.Staff.DoRaw(ctx, "POST", "/api/v1/hardship/grants", map[string]any{"student_id": sc.Students[0].ID,
				"amount_fen": amounts[i], "reason": "模拟：家中突发变故", "hardship_kind": "family_change"})
			if err == nil && (code != 201 && code != 202 || json.Unmarshal(raw, &g) != nil || g.ID == "") {
				err = fmt.Errorf("apply for a hardship grant at %s: %d %.300s", sc.Code, code, raw)
			}
			if err != nil {
				w.j.fail(err)
				return
			}
			obs[i] = &HardshipObs{CaseID: g.ID, AmountFen: amounts[i], Behaviour: behaviours[i]}
			v, err := waitTask(ctx, sc.Head, "hardship_verification", g.ID, "", w.within)
			if err == nil {
				err = sc.Head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+v.ID+"/complete", map[string]string{"outcome": "approve"}, nil)
			}
			var a taskRow
			if err == nil {
				a, err = waitTask(ctx, aid, "hardship_approval", g.ID, "", w.within)
			}
			if err != nil {
				w.j.fail(err)
				return
			}
			tasks[i] = a.ID
		}()
	}
	wg.Wait()
	for i := range schools {
		if tasks[i] == "" {
			return // an actor error is on record
		}
	}

	// Every approval at the same moment.
	start := make(chan struct{})
	for i := range schools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := w.approve(ctx, aid, funds, schools[i], obs[i], tasks[i]); err != nil {
				w.j.fail(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	w.j.mu.Lock()
	w.j.hardship = append(w.j.hardship, obs...)
	w.j.mu.Unlock()
}

// approve is the aid center's approval of one grant: reserved, or refused insufficient_funds and
// then rejected; an approved grant is paid as its behaviour says.
func (w *world) approve(ctx context.Context, aid, funds *apiclient.Client, sc *school, g *HardshipObs, taskID string) error {
	code, raw, err := aid.DoRaw(ctx, "POST", "/api/v1/tasks/"+taskID+"/complete", map[string]string{"outcome": "approve"})
	if err != nil {
		return err
	}
	switch code {
	case 200:
		g.Approved = true
	case 409:
		var e struct{ Error struct{ Code string } }
		if json.Unmarshal(raw, &e) != nil || e.Error.Code != "insufficient_funds" {
			return fmt.Errorf("approve grant %s of %s: 409 %s, want insufficient_funds", g.CaseID, sc.Code, raw)
		}
		return aid.Expect(ctx, 200, "POST", "/api/v1/tasks/"+taskID+"/complete", map[string]string{"outcome": "reject",
			"comment": "模拟：基金余额不足，本批不予救助"}, nil)
	default:
		return fmt.Errorf("approve grant %s of %s: %d %s", g.CaseID, sc.Code, code, raw)
	}
	p, err := waitTask(ctx, funds, "hardship_disbursement", g.CaseID, "", w.within)
	if err != nil {
		return err
	}
	g.PayDue = p.DueAt
	b := g.Behaviour
	if rungs := w.rungs[HardshipDeadlineKind]; (b == Late2 && len(rungs) < 2) || (b == Late3 && len(rungs) < 3) {
		b = Late1 // after the last rung there is: late is late
	}
	at, acts := actAt(b, p.DueAt, w.u, w.rungs[HardshipDeadlineKind])
	if !acts {
		return nil
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	s, err := timed(func() error {
		return funds.Expect(ctx, 200, "POST", "/api/v1/tasks/"+p.ID+"/complete", map[string]any{"outcome": "disburse",
			"fields": map[string]string{"channel": "一卡通", "reference": "SIM-PAY-" + g.CaseID}}, nil)
	})
	if err != nil {
		return err
	}
	g.Paid = s
	return nil
}

// hardshipSettled is when the last grant's rules have fallen due, with three units to spare.
func (w *world) hardshipSettled(last time.Time, ladder []time.Duration) time.Time {
	for _, g := range w.j.hardship {
		if !g.Approved {
			continue
		}
		at := g.PayDue.Add(3 * w.u)
		if n := len(ladder); n > 0 {
			at = at.Add(ladder[n-1])
		}
		if at.After(last) {
			last = at
		}
	}
	return last
}

// expectHardship adds the hardship fund's rules to the oracle: each approved grant's payment
// deadline climbs its ladder while the grant is unpaid.
func (o *Oracle) expectHardship(r Rules, grants []*HardshipObs) error {
	for _, g := range grants {
		if !g.Approved {
			continue
		}
		for _, rg := range r.ladder(HardshipDeadlineKind) {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			unit, err := targetUnit(rg.Target, "JS", "")
			if err != nil {
				return err
			}
			o.add(r, Expected{Process: "hardship", CaseID: g.CaseID, Kind: HardshipDeadlineKind, Label: rungLabel(rg.Rung, rg.Target),
				Unit: unit, At: spec.Due(r.Calendar, g.PayDue)}, g.Paid)
		}
	}
	return nil
}

// checkHardship is the fund's own verdict after the run, as the API shows it: the approved amounts
// fit in the fund, and no grant is paid twice. It returns what does not hold. (Whether the store's
// ledger reconciles is asked of the store itself, at the end of Simulate.)
func checkHardship(ctx context.Context, jcs *apiclient.Client, grants []*HardshipObs, within time.Duration) []string {
	var problems []string
	// A payment answered 200 was accepted; the workflow books it right after: wait for it.
	for _, g := range grants {
		if g.Paid == nil {
			continue
		}
		deadline := time.Now().Add(within)
		for {
			var d struct {
				Grant struct{ State string } `json:"grant"`
			}
			if err := jcs.Expect(ctx, 200, "GET", "/api/v1/hardship/grants/"+g.CaseID, nil, &d); err != nil {
				return append(problems, err.Error())
			}
			if d.Grant.State == "disbursed" {
				break
			}
			if time.Now().After(deadline) {
				problems = append(problems, fmt.Sprintf("grant %s was paid at %s but is %s %s later", g.CaseID, g.Paid.Done.Format(time.StampMilli),
					d.Grant.State, within))
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	var fund struct {
		BalanceFen  int64               `json:"balance_fen"`
		ReservedFen int64               `json:"reserved_fen"`
		Entries     []store.LedgerEntry `json:"entries"`
	}
	if err := jcs.Expect(ctx, 200, "GET", "/api/v1/hardship/fund", nil, &fund); err != nil {
		return append(problems, err.Error())
	}
	paid := map[string]int{}
	var in int64
	for _, e := range fund.Entries {
		switch e.Kind {
		case "disbursement":
			paid[e.RefID]++
		case "donation":
			in += e.AmountFen
		}
	}
	var approved int64
	for _, g := range grants {
		if g.Approved {
			approved += g.AmountFen
		}
		want := 0
		if g.Paid != nil {
			want = 1
		}
		if paid[g.CaseID] != want {
			problems = append(problems, fmt.Sprintf("grant %s paid %d times in the ledger, want %d", g.CaseID, paid[g.CaseID], want))
		}
	}
	if approved > in {
		problems = append(problems, fmt.Sprintf("approved %d fen out of %d booked (the fund: balance %d, reserved %d, %d entries)", approved, in,
			fund.BalanceFen, fund.ReservedFen, len(fund.Entries)))
		for _, g := range grants {
			problems = append(problems, fmt.Sprintf("  grant %s: %d fen, approved %v, paid %v", g.CaseID, g.AmountFen, g.Approved, g.Paid != nil))
		}
	}
	return problems
}
