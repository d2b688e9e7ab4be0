package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// hardshipStudent is a student of the fixture's school to apply for.
func hardshipStudent(t *testing.T, s *store.Store, f fixture, n int) store.Student {
	t.Helper()
	st, err := s.CreateStudent(context.Background(), store.Student{StudentNo: fmt.Sprintf("H%d", n), Name: fmt.Sprintf("学生%d", n), Sex: "男",
		BirthDate: "2016-03-12", UnitCode: f.school.Code, Grade: 4, Class: "1班"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// openGrant writes a grant row as the workflow's first activity does.
func openGrant(t *testing.T, s *store.Store, f fixture, st store.Student, id string, fen int64) store.Grant {
	t.Helper()
	g := store.Grant{ID: id, StudentID: st.ID, UnitID: f.school.ID, UnitPath: f.school.Path, AmountFen: fen, Reason: "困难", HardshipKind: "illness",
		SchoolYear: "2026-2027", Tiers: casework.RoleAidCenter, State: casework.GrantApproving, ApplicantID: f.staff.ID, CreatedAt: time.Now()}
	if err := s.SetGrant(context.Background(), g, store.AuditEntry{Action: "hardship.applied", CaseID: id}); err != nil {
		t.Fatal(err)
	}
	return g
}

func donate(t *testing.T, s *store.Store, ref string, fen int64) store.Donation {
	t.Helper()
	d, err := s.RecordDonation(context.Background(), store.Donation{ID: "donation-" + ref, Kind: casework.DonationKindDonation, Donor: "某企业",
		DonorKind: "enterprise", AmountFen: fen, ReceivedOn: "2026-09-01", Reference: ref, State: casework.DonationRecorded, RecordedBy: "u-funds",
		CreatedAt: time.Now()}, store.AuditEntry{Action: "hardship.donation_recorded", CaseID: "donation-" + ref})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func reconciled(t *testing.T, s *store.Store) store.Fund {
	t.Helper()
	if err := s.ReconcileHardship(context.Background()); err != nil {
		t.Fatalf("the ledger does not reconcile:\n%v", err)
	}
	f, err := s.HardshipFund(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestHardshipConcurrentApprovals: a fund of N yuan and 50 grants whose amounts add up to more,
// all reserved at the same instant (50 goroutines released together; on PostgreSQL 20 pooled
// connections race for the fund's row): the reserved sum never exceeds N, every refused grant is
// on record as insufficient_funds with its audit entry, and the ledger reconciles.
func TestHardshipConcurrentApprovals(t *testing.T) {
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			st := hardshipStudent(t, s, f, 1)
			const n, fund = 50, 20_000_00 // 50 grants of 600–1,400 yuan (about 50,000 in all) against 20,000
			donate(t, s, "V-1", fund)
			rng := rand.New(rand.NewPCG(7, 22))
			grants := make([]store.Grant, n)
			var asked int64
			for i := range grants {
				grants[i] = openGrant(t, s, f, st, fmt.Sprintf("hardship-c%02d", i), int64(600_00+rng.IntN(800_00)))
				asked += grants[i].AmountFen
			}
			if asked <= fund {
				t.Fatalf("the grants ask %d, not more than the fund's %d", asked, fund)
			}
			start := make(chan struct{})
			results := make([]store.Reservation, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range grants {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					g := grants[i]
					results[i], errs[i] = s.ReserveGrant(ctx, g, store.AuditEntry{Action: "hardship.approved", CaseID: g.ID, At: time.Now()},
						store.AuditEntry{Action: "hardship.insufficient_funds", CaseID: g.ID, At: time.Now()})
				}()
			}
			close(start)
			wg.Wait()
			var reserved int64
			var ok, refused int
			for i, r := range results {
				if errs[i] != nil {
					t.Fatalf("grant %d: %v", i, errs[i])
				}
				g, err := s.GrantByID(ctx, grants[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				tl, err := s.Timeline(ctx, g.ID)
				if err != nil {
					t.Fatal(err)
				}
				last := tl[len(tl)-1].Action
				if r.Reserved {
					ok++
					reserved += grants[i].AmountFen
					if g.State != casework.GrantApproved || last != "hardship.approved" {
						t.Errorf("grant %d reserved but its row says %s, its trail %s", i, g.State, last)
					}
				} else {
					refused++
					if g.State != casework.GrantInsufficientFunds || last != "hardship.insufficient_funds" {
						t.Errorf("grant %d refused but its row says %s, its trail %s", i, g.State, last)
					}
					if r.AvailableFen >= grants[i].AmountFen {
						t.Errorf("grant %d of %d refused with %d available", i, grants[i].AmountFen, r.AvailableFen)
					}
				}
			}
			fd := reconciled(t, s)
			if reserved > fund || fd.ReservedFen != reserved || fd.BalanceFen != fund || fd.AvailableFen() < 0 {
				t.Fatalf("reserved %d of a fund of %d; the fund says %+v", reserved, fund, fd)
			}
			if ok == 0 || refused == 0 {
				t.Fatalf("%d reserved, %d refused: the test must see both", ok, refused)
			}
			t.Logf("%s: %d reserved (%d fen), %d refused insufficient_funds, %d available", name, ok, reserved, refused, fd.AvailableFen())
		})
	}
}

// TestHardshipDonationRules: a voucher is booked once; a donation over the ceiling enters the
// ledger only once a second person confirms it; a reversal is its counter-entry, once, and never
// takes money already reserved; a declined donation is never in the ledger. Every refusal leaves
// the fund and the ledger as they were.
func TestHardshipDonationRules(t *testing.T) {
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			st := hardshipStudent(t, s, f, 1)
			d := donate(t, s, "V-1", 5000_00)
			if _, err := s.RecordDonation(ctx, store.Donation{ID: "donation-again", Kind: casework.DonationKindDonation, Donor: "x", DonorKind: "individual",
				AmountFen: 100, ReceivedOn: "2026-09-01", Reference: "V-1", State: casework.DonationRecorded, RecordedBy: "u", CreatedAt: time.Now()},
				store.AuditEntry{Action: "hardship.donation_recorded"}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a voucher booked twice: %v", err)
			}
			big, err := s.RecordDonation(ctx, store.Donation{ID: "donation-big", Kind: casework.DonationKindDonation, Donor: "对口帮扶区", DonorKind: "twinned_district",
				AmountFen: 80_000_00, ReceivedOn: "2026-09-01", Reference: "V-2", State: casework.DonationPending, RecordedBy: "u-funds1", CreatedAt: time.Now()},
				store.AuditEntry{Action: "hardship.donation_pending"})
			if err != nil || big.State != casework.DonationPending {
				t.Fatalf("pending donation: %+v %v", big, err)
			}
			if fd := reconciled(t, s); fd.BalanceFen != 5000_00 {
				t.Fatalf("a pending donation is not in the ledger: %+v", fd)
			}
			if _, err := s.ConfirmDonation(ctx, big.ID, "u-funds1", true, "", time.Now(), store.AuditEntry{}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("its recorder confirmed it: %v", err)
			}
			if c, err := s.ConfirmDonation(ctx, big.ID, "u-funds2", true, "", time.Now(), store.AuditEntry{Action: "hardship.donation_confirmed"}); err != nil ||
				c.State != casework.DonationRecorded || c.ConfirmedBy != "u-funds2" {
				t.Fatalf("confirm: %+v %v", c, err)
			}
			if _, err := s.ConfirmDonation(ctx, big.ID, "u-funds3", true, "", time.Now(), store.AuditEntry{}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("confirmed twice: %v", err)
			}
			if fd := reconciled(t, s); fd.BalanceFen != 85_000_00 || fd.Entries != 2 {
				t.Fatalf("after the confirmation: %+v", fd)
			}
			// 84,000 reserved of 85,000: the first donation's 5,000 can no longer be taken back.
			g := openGrant(t, s, f, st, "hardship-r1", 84_000_00)
			if r, err := s.ReserveGrant(ctx, g, store.AuditEntry{Action: "hardship.approved", At: time.Now()}, store.AuditEntry{}); err != nil || !r.Reserved {
				t.Fatalf("reserve: %+v %v", r, err)
			}
			rev := store.Donation{ID: "donation-rev1", Kind: casework.DonationKindReversal, ReversesID: d.ID, Donor: d.Donor, DonorKind: d.DonorKind,
				AmountFen: d.AmountFen, ReceivedOn: "2026-09-02", Reason: "误记", State: casework.DonationRecorded, RecordedBy: "u-funds1", CreatedAt: time.Now()}
			if _, err := s.ReverseDonation(ctx, d.ID, rev, store.AuditEntry{}); !errors.Is(err, store.ErrInsufficientFunds) {
				t.Fatalf("a reversal took reserved money: %v", err)
			}
			if got, _ := s.DonationByID(ctx, d.ID); got.State != casework.DonationRecorded {
				t.Fatalf("a refused reversal changed the donation: %+v", got)
			}
			if _, err := s.DonationByID(ctx, rev.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a refused reversal was written: %v", err)
			}
			if fd := reconciled(t, s); fd.BalanceFen != 85_000_00 || fd.ReservedFen != 84_000_00 || fd.Entries != 2 {
				t.Fatalf("after a refused reversal: %+v", fd)
			}
			if err := s.ReleaseGrant(ctx, store.Grant{ID: g.ID, StudentID: st.ID, UnitID: f.school.ID, UnitPath: f.school.Path, AmountFen: g.AmountFen,
				Reason: g.Reason, HardshipKind: g.HardshipKind, SchoolYear: g.SchoolYear, Tiers: g.Tiers, State: casework.GrantRejected,
				ApplicantID: g.ApplicantID, CreatedAt: g.CreatedAt}, store.AuditEntry{Action: "hardship.rejected", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if out, err := s.ReverseDonation(ctx, d.ID, rev, store.AuditEntry{Action: "hardship.donation_reversed"}); err != nil || out.Kind != casework.DonationKindReversal {
				t.Fatalf("reverse once the reservation is released: %+v %v", out, err)
			}
			rev2 := rev
			rev2.ID = "donation-rev2"
			if _, err := s.ReverseDonation(ctx, d.ID, rev2, store.AuditEntry{}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("reversed twice: %v", err)
			}
			if _, err := s.ReverseDonation(ctx, rev.ID, rev2, store.AuditEntry{}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a reversal reversed: %v", err)
			}
			fd := reconciled(t, s)
			if fd.BalanceFen != 80_000_00 || fd.ReservedFen != 0 || fd.Entries != 3 {
				t.Fatalf("after the reversal: %+v", fd)
			}
			es, err := s.Ledger(ctx, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if last := es[len(es)-1]; last.Kind != casework.LedgerReversal || last.AmountFen != -5000_00 || last.BalanceFen != 80_000_00 || last.Donor != "某企业" {
				t.Fatalf("the reversal's entry: %+v", last)
			}
		})
	}
}

// TestHardshipRandomRun: donations, confirmations, reversals, grants, reservations, rejections,
// withdrawals and payments in a random order (some of them at once, some retried): after every
// step the ledger reconciles, and at the end no grant is paid twice, every payment took exactly
// what its grant reserved, and the balance is what came in less what went out.
func TestHardshipRandomRun(t *testing.T) {
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			st := hardshipStudent(t, s, f, 1)
			rng := rand.New(rand.NewPCG(22, uint64(len(name))))
			type grantState struct {
				g        store.Grant
				reserved bool
				ended    bool
				paid     int
			}
			var (
				grants    []*grantState
				donations []store.Donation
				in, out   int64
				ops       = map[string]int{}
			)
			end := func(gs *grantState, state string) {
				g := gs.g
				g.State = state
				if err := s.ReleaseGrant(ctx, g, store.AuditEntry{Action: "hardship." + state, CaseID: g.ID, At: time.Now()}); err != nil {
					t.Fatal(err)
				}
				gs.ended, gs.reserved = true, false
			}
			for step := 0; step < 400; step++ {
				switch op := rng.IntN(7); op {
				case 0: // a donation, sometimes over the ceiling (pending), sometimes a voucher typed twice
					ref := fmt.Sprintf("V-%d", step)
					if len(donations) > 0 && rng.IntN(10) == 0 {
						ref = donations[rng.IntN(len(donations))].Reference
					}
					state := casework.DonationRecorded
					if rng.IntN(5) == 0 {
						state = casework.DonationPending
					}
					amount := int64(1 + rng.IntN(3000_00))
					d, err := s.RecordDonation(ctx, store.Donation{ID: fmt.Sprintf("donation-%d", step), Kind: casework.DonationKindDonation, Donor: "捐赠人",
						DonorKind: "individual", AmountFen: amount, ReceivedOn: "2026-09-01", Reference: ref, State: state, RecordedBy: "u-a",
						CreatedAt: time.Now()}, store.AuditEntry{Action: "hardship.donation_recorded"})
					if errors.Is(err, store.ErrConflict) {
						ops["duplicate voucher"]++
						break
					} else if err != nil {
						t.Fatal(err)
					}
					donations = append(donations, d)
					if state == casework.DonationRecorded {
						in += amount
					}
					ops["donation"]++
				case 1: // confirm or decline a pending donation
					for i, d := range donations {
						if d.State != casework.DonationPending {
							continue
						}
						confirm := rng.IntN(3) > 0
						c, err := s.ConfirmDonation(ctx, d.ID, "u-b", confirm, "复核", time.Now(), store.AuditEntry{Action: "hardship.donation_confirmed"})
						if err != nil {
							t.Fatal(err)
						}
						donations[i] = c
						if confirm {
							in += c.AmountFen
						}
						ops["confirmation"]++
						break
					}
				case 2: // reverse a donation (refused when the money is reserved or paid)
					if len(donations) == 0 {
						break
					}
					i := rng.IntN(len(donations))
					d := donations[i]
					rev := store.Donation{ID: fmt.Sprintf("donation-r%d", step), Kind: casework.DonationKindReversal, ReversesID: d.ID, Donor: d.Donor,
						DonorKind: d.DonorKind, AmountFen: d.AmountFen, ReceivedOn: "2026-09-02", Reason: "冲销", State: casework.DonationRecorded,
						RecordedBy: "u-a", CreatedAt: time.Now()}
					before, _ := s.HardshipFund(ctx)
					_, err := s.ReverseDonation(ctx, d.ID, rev, store.AuditEntry{Action: "hardship.donation_reversed"})
					switch {
					case err == nil:
						if d.State != casework.DonationRecorded || before.AvailableFen() < d.AmountFen {
							t.Fatalf("reversed a %s donation of %d with %d available", d.State, d.AmountFen, before.AvailableFen())
						}
						donations[i].State = casework.DonationReversed
						out += d.AmountFen
						ops["reversal"]++
					case errors.Is(err, store.ErrInsufficientFunds):
						if before.AvailableFen() >= d.AmountFen {
							t.Fatalf("a reversal of %d refused with %d available", d.AmountFen, before.AvailableFen())
						}
						ops["reversal refused: insufficient"]++
					case errors.Is(err, store.ErrConflict):
						if d.State == casework.DonationRecorded {
							t.Fatalf("a recorded donation could not be reversed: %v", err)
						}
						ops["reversal refused: not recorded"]++
					default:
						t.Fatal(err)
					}
				case 3: // a new grant
					gs := &grantState{g: openGrant(t, s, f, st, fmt.Sprintf("hardship-%d", step), int64(100_00+rng.IntN(4000_00)))}
					grants = append(grants, gs)
					ops["grant"]++
				case 4: // final approvals, sometimes several at once, sometimes retried
					var wg sync.WaitGroup
					for _, gs := range grants {
						if gs.ended || gs.reserved || rng.IntN(2) == 0 {
							continue
						}
						tries := 1 + rng.IntN(2) // (rng is not for goroutines)
						wg.Add(1)
						go func() {
							defer wg.Done()
							for try := 0; try < tries; try++ {
								r, err := s.ReserveGrant(ctx, gs.g, store.AuditEntry{Action: "hardship.approved", At: time.Now()},
									store.AuditEntry{Action: "hardship.insufficient_funds", At: time.Now()})
								if err != nil {
									t.Error(err)
									return
								}
								gs.reserved = gs.reserved || r.Reserved
							}
						}()
					}
					wg.Wait()
					ops["approvals"]++
				case 5: // rejections and withdrawals give the reservation back
					for _, gs := range grants {
						if !gs.ended && rng.IntN(4) == 0 {
							end(gs, []string{casework.GrantRejected, casework.GrantWithdrawn, casework.GrantExpired}[rng.IntN(3)])
							ops["ended unpaid"]++
						}
					}
				case 6: // payments, each sent twice (a retried activity)
					for _, gs := range grants {
						if gs.ended || !gs.reserved {
							continue
						}
						g := gs.g
						g.State = casework.GrantDisbursed
						for try := 0; try < 2; try++ {
							d, err := s.DisburseGrant(ctx, store.HardshipDisbursement{GrantID: g.ID, Channel: "一卡通", Reference: "P-" + g.ID,
								DisbursedBy: "u-funds", DisbursedAt: time.Now()}, g, store.AuditEntry{Action: "hardship.disbursed", At: time.Now()})
							if err != nil || d.AmountFen != g.AmountFen {
								t.Fatalf("pay %s: %+v %v", g.ID, d, err)
							}
						}
						gs.paid++
						gs.ended, gs.reserved = true, false
						out += g.AmountFen
						ops["payment"]++
					}
				}
				if t.Failed() {
					t.FailNow()
				}
				if err := s.ReconcileHardship(ctx); err != nil {
					t.Fatalf("step %d: the ledger does not reconcile:\n%v", step, err)
				}
			}
			fd := reconciled(t, s)
			if fd.BalanceFen != in-out {
				t.Fatalf("balance %d, want %d in less %d out", fd.BalanceFen, in, out)
			}
			var held int64
			for _, gs := range grants {
				if gs.paid > 1 {
					t.Fatalf("grant %s paid %d times", gs.g.ID, gs.paid)
				}
				if gs.reserved {
					held += gs.g.AmountFen
				}
				if gs.paid == 1 {
					es, err := s.Ledger(ctx, time.Time{}, time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					for _, e := range es {
						if e.Kind == casework.LedgerDisbursement && e.RefID == gs.g.ID {
							n++
						}
					}
					if n != 1 {
						t.Fatalf("grant %s has %d payments in the ledger", gs.g.ID, n)
					}
				}
			}
			if fd.ReservedFen != held {
				t.Fatalf("reserved %d, the open grants hold %d", fd.ReservedFen, held)
			}
			for _, want := range []string{"donation", "reversal", "payment", "ended unpaid", "grant"} {
				if ops[want] == 0 {
					t.Fatalf("the run never did %q: %v", want, ops)
				}
			}
			t.Logf("%s: %v; balance %d, reserved %d", name, ops, fd.BalanceFen, fd.ReservedFen)
		})
	}
}
