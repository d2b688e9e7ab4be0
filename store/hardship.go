package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/casework"
)

// The special hardship fund (特困学生救助基金): one balance, its ledger, the reservations of approved
// grants, donations in and grants out. Every movement of money is one transaction holding the
// conditional write that moves it, its ledger entry and its audit entry: the fund's row is the
// one place a balance lives, and its lock orders concurrent writers on PostgreSQL (SQLite has one
// writer at a time), so that the available balance never goes below zero and the ledger's entries
// always add up to the balance.

// ErrInsufficientFunds is a movement the fund's available balance (balance less reservations)
// cannot cover: nothing was written.
var ErrInsufficientFunds = errors.New("the fund's available balance does not cover this amount")

// Fund is the hardship fund's state: its balance (the sum of its ledger), the part reserved for
// approved grants, and how many ledger entries it has.
type Fund struct {
	BalanceFen  int64 `db:"balance_fen" json:"balance_fen"`
	ReservedFen int64 `db:"reserved_fen" json:"reserved_fen"`
	Entries     int64 `db:"entries" json:"entries"`
}

// AvailableFen is what a new grant or a reversal may still take: the balance less reservations.
func (f Fund) AvailableFen() int64 { return f.BalanceFen - f.ReservedFen }

// HardshipFund reads the fund's state.
func (s *Store) HardshipFund(ctx context.Context) (Fund, error) {
	return s.hardshipFund(ctx, s.db)
}

func (s *Store) hardshipFund(ctx context.Context, db q) (Fund, error) {
	var f Fund
	err := s.get(ctx, db, &f, `SELECT balance_fen, reserved_fen, entries FROM hardship_fund WHERE id = 1`)
	return f, err
}

// LedgerEntry is one movement of the fund's balance, with the running balance after it and, for
// people, whom it is about: the donor of a donation or reversal, the student and school of a
// disbursement.
type LedgerEntry struct {
	No          int64     `db:"no" json:"no"`
	Kind        string    `db:"kind" json:"kind"`
	RefID       string    `db:"ref_id" json:"ref_id"`
	AmountFen   int64     `db:"amount_fen" json:"amount_fen"`
	BalanceFen  int64     `db:"balance_fen" json:"balance_fen"`
	At          time.Time `db:"at" json:"at"`
	Donor       string    `db:"donor" json:"donor,omitempty"`
	DonorKind   string    `db:"donor_kind" json:"donor_kind,omitempty"`
	Anonymous   bool      `db:"anonymous" json:"anonymous"`
	StudentName string    `db:"student_name" json:"student_name,omitempty"`
	SchoolName  string    `db:"school_name" json:"school_name,omitempty"`
	Channel     string    `db:"channel" json:"channel,omitempty"`
}

// move changes the balance by delta (and the reservations by reservedDelta) as one conditional
// write, and writes its ledger entry numbered by the fund's entry count. With guard, a movement
// out may not take the available balance below zero: ErrInsufficientFunds, nothing written.
func (s *Store) move(ctx context.Context, tx *sqlx.Tx, kind, ref string, delta, reservedDelta int64, guard bool, at time.Time) (LedgerEntry, error) {
	query := `UPDATE hardship_fund SET balance_fen = balance_fen + ?, reserved_fen = reserved_fen + ?, entries = entries + 1 WHERE id = 1`
	args := []any{delta, reservedDelta}
	if guard {
		query += ` AND balance_fen - reserved_fen >= ?`
		args = append(args, -delta)
	}
	res, err := s.exec(ctx, tx, query, args...)
	if err != nil {
		return LedgerEntry{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return LedgerEntry{}, ErrInsufficientFunds
	}
	f, err := s.hardshipFund(ctx, tx)
	if err != nil {
		return LedgerEntry{}, err
	}
	e := LedgerEntry{No: f.Entries, Kind: kind, RefID: ref, AmountFen: delta, BalanceFen: f.BalanceFen, At: utc(at)}
	_, err = s.exec(ctx, tx, `INSERT INTO hardship_ledger (no, kind, ref_id, amount_fen, balance_fen, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.No, e.Kind, e.RefID, e.AmountFen, e.BalanceFen, e.At)
	return e, err
}

// Donation is money in (kind donation) or the counter-entry that reverses one (kind reversal).
type Donation struct {
	ID          string     `db:"id" json:"id"`
	Kind        string     `db:"kind" json:"kind"`
	ReversesID  string     `db:"reverses_id" json:"reverses_id,omitempty"`
	Donor       string     `db:"donor" json:"donor"`
	DonorKind   string     `db:"donor_kind" json:"donor_kind"`
	AmountFen   int64      `db:"amount_fen" json:"amount_fen"`
	ReceivedOn  string     `db:"received_on" json:"received_on"`
	Reference   string     `db:"reference" json:"reference"`
	Anonymous   bool       `db:"anonymous" json:"anonymous"`
	Reason      string     `db:"reason" json:"reason,omitempty"`
	State       string     `db:"state" json:"state"`
	RecordedBy  string     `db:"recorded_by" json:"recorded_by"`
	ConfirmedBy string     `db:"confirmed_by" json:"confirmed_by,omitempty"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	DecidedAt   *time.Time `db:"decided_at" json:"decided_at,omitempty"`
}

const donationCols = `id, kind, reverses_id, donor, donor_kind, amount_fen, received_on, reference, anonymous, reason, state,
	recorded_by, confirmed_by, created_at, decided_at`

func (s *Store) insertDonation(ctx context.Context, tx *sqlx.Tx, d Donation) error {
	_, err := s.exec(ctx, tx, `INSERT INTO hardship_donations (`+donationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Kind, d.ReversesID, d.Donor, d.DonorKind, d.AmountFen, d.ReceivedOn, d.Reference, d.Anonymous, d.Reason, d.State,
		d.RecordedBy, d.ConfirmedBy, utc(d.CreatedAt), d.DecidedAt)
	return err
}

// RecordDonation writes a donation with its audit entry: in state recorded it enters the ledger
// in the same transaction; in state pending_confirmation it waits for ConfirmDonation. A voucher
// (reference) already on record is ErrConflict, nothing written.
func (s *Store) RecordDonation(ctx context.Context, d Donation, entry AuditEntry) (Donation, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.insertDonation(ctx, tx, d); err != nil {
			return err
		}
		if d.State == casework.DonationRecorded {
			if _, err := s.move(ctx, tx, casework.LedgerDonation, d.ID, d.AmountFen, 0, false, d.CreatedAt); err != nil {
				return err
			}
		}
		return s.appendTx(ctx, tx, entry)
	})
	if err != nil {
		return d, err
	}
	return s.DonationByID(ctx, d.ID)
}

// ConfirmDonation decides a donation waiting for a second person's confirmation: confirmed, it
// enters the ledger; declined, it never does. by must not be who recorded it. A donation that is
// no longer pending, or that by recorded, is ErrConflict (the caller checked both first; this is
// the guard against a race).
func (s *Store) ConfirmDonation(ctx context.Context, id, by string, confirm bool, reason string, at time.Time, entry AuditEntry) (Donation, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		state := casework.DonationDeclined
		if confirm {
			state = casework.DonationRecorded
		}
		res, err := s.exec(ctx, tx, `UPDATE hardship_donations SET state = ?, confirmed_by = ?, reason = ?, decided_at = ?
			WHERE id = ? AND kind = ? AND state = ? AND recorded_by <> ?`,
			state, by, reason, utc(at), id, casework.DonationKindDonation, casework.DonationPending, by)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("donation %s is not waiting for this person's confirmation: %w", id, ErrConflict)
		}
		if confirm {
			var amount int64
			if err := s.get(ctx, tx, &amount, `SELECT amount_fen FROM hardship_donations WHERE id = ?`, id); err != nil {
				return err
			}
			if _, err := s.move(ctx, tx, casework.LedgerDonation, id, amount, 0, false, at); err != nil {
				return err
			}
		}
		return s.appendTx(ctx, tx, entry)
	})
	if err != nil {
		return Donation{}, err
	}
	return s.DonationByID(ctx, id)
}

// ReverseDonation reverses a recorded donation by its counter-entry rev (kind reversal, the same
// amount): the donation becomes reversed, the reversal enters the ledger as money out. The
// reversal may not take the available balance below zero (money already reserved for or paid
// to students stays where it is): ErrInsufficientFunds. A donation that is not recorded (pending,
// declined, already reversed) is ErrConflict. Nothing is written in either case.
func (s *Store) ReverseDonation(ctx context.Context, id string, rev Donation, entry AuditEntry) (Donation, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE hardship_donations SET state = ?, decided_at = ? WHERE id = ? AND kind = ? AND state = ?`,
			casework.DonationReversed, utc(rev.CreatedAt), id, casework.DonationKindDonation, casework.DonationRecorded)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("donation %s is not a recorded donation: %w", id, ErrConflict)
		}
		if err := s.insertDonation(ctx, tx, rev); err != nil {
			return err
		}
		if _, err := s.move(ctx, tx, casework.LedgerReversal, rev.ID, -rev.AmountFen, 0, true, rev.CreatedAt); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
	if err != nil {
		return Donation{}, err
	}
	return s.DonationByID(ctx, rev.ID)
}

// DonationByID reads one donation or reversal.
func (s *Store) DonationByID(ctx context.Context, id string) (Donation, error) {
	var d Donation
	err := s.get(ctx, s.db, &d, `SELECT `+donationCols+` FROM hardship_donations WHERE id = ?`, id)
	return d, err
}

// DonationByReference finds the donation recorded with a voucher.
func (s *Store) DonationByReference(ctx context.Context, reference string) (Donation, error) {
	var d Donation
	err := s.get(ctx, s.db, &d, `SELECT `+donationCols+` FROM hardship_donations WHERE kind = ? AND reference = ?`,
		casework.DonationKindDonation, reference)
	return d, err
}

// Donations lists donations and reversals, newest first, optionally of one state.
func (s *Store) Donations(ctx context.Context, state string, limit int) ([]Donation, error) {
	query, args := `SELECT `+donationCols+` FROM hardship_donations`, []any{}
	if state != "" {
		query += ` WHERE state = ?`
		args = append(args, state)
	}
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	var ds []Donation
	err := s.sel(ctx, s.db, &ds, query+` ORDER BY created_at DESC, id DESC LIMIT `+itoa(limit), args...)
	return ds, err
}

const ledgerCols = `l.no, l.kind, l.ref_id, l.amount_fen, l.balance_fen, l.at, COALESCE(d.donor, '') AS donor,
	COALESCE(d.donor_kind, '') AS donor_kind, COALESCE(d.anonymous, ` + "false" + `) AS anonymous, COALESCE(st.name, '') AS student_name,
	COALESCE(o.name, '') AS school_name, COALESCE(p.channel, '') AS channel`
const ledgerFrom = ` FROM hardship_ledger l
	LEFT JOIN hardship_donations d ON d.id = l.ref_id AND l.kind <> 'disbursement'
	LEFT JOIN hardship_grants g ON g.id = l.ref_id AND l.kind = 'disbursement'
	LEFT JOIN students st ON st.id = g.student_id
	LEFT JOIN org_units o ON o.id = g.unit_id
	LEFT JOIN hardship_disbursements p ON p.grant_id = g.id `

// Ledger lists the ledger's entries in order, those at or after from and before to (zero: no
// bound).
func (s *Store) Ledger(ctx context.Context, from, to time.Time) ([]LedgerEntry, error) {
	query, args := `SELECT `+ledgerCols+ledgerFrom+`WHERE 1=1`, []any{}
	if !from.IsZero() {
		query += ` AND l.at >= ?`
		args = append(args, utc(from))
	}
	if !to.IsZero() {
		query += ` AND l.at < ?`
		args = append(args, utc(to))
	}
	var es []LedgerEntry
	err := s.sel(ctx, s.db, &es, query+` ORDER BY l.no`, args...)
	return es, err
}

// BalanceBefore is the fund's balance just before at: the running balance of the last entry
// before it (0 when there is none).
func (s *Store) BalanceBefore(ctx context.Context, at time.Time) (int64, error) {
	var b int64
	err := s.get(ctx, s.db, &b, `SELECT balance_fen FROM hardship_ledger WHERE at < ? ORDER BY no DESC LIMIT 1`, utc(at))
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return b, err
}

// Grant is a hardship grant: whom it is for, how much and why, and where it stands.
type Grant struct {
	ID           string     `db:"id" json:"id"`
	StudentID    string     `db:"student_id" json:"student_id"`
	StudentName  string     `db:"student_name" json:"student_name"`
	Grade        int        `db:"grade" json:"grade"`
	Class        string     `db:"class" json:"class"`
	UnitID       string     `db:"unit_id" json:"-"`
	UnitCode     string     `db:"unit_code" json:"unit_code"`
	UnitName     string     `db:"unit_name" json:"unit_name"`
	UnitPath     string     `db:"unit_path" json:"-"`
	AmountFen    int64      `db:"amount_fen" json:"amount_fen"`
	Reason       string     `db:"reason" json:"reason"`
	HardshipKind string     `db:"hardship_kind" json:"hardship_kind"`
	SchoolYear   string     `db:"school_year" json:"school_year"`
	Tiers        string     `db:"tiers" json:"-"`     // the approving roles in order, comma-separated
	State        string     `db:"state" json:"state"` // casework.Grant*
	ApplicantID  string     `db:"applicant_id" json:"applicant_id"`
	VerifierID   string     `db:"verifier_id" json:"verifier_id,omitempty"`
	Approvers    string     `db:"approvers" json:"-"` // user ids of the tiers that approved, in order, comma-separated
	Note         string     `db:"note" json:"note,omitempty"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
	ApprovedAt   *time.Time `db:"approved_at" json:"approved_at,omitempty"`
	ClosedAt     *time.Time `db:"closed_at" json:"closed_at,omitempty"`
}

const grantCols = `g.id, g.student_id, s.name AS student_name, s.grade, s.class, g.unit_id, o.code AS unit_code, o.name AS unit_name,
	g.unit_path, g.amount_fen, g.reason, g.hardship_kind, g.school_year, g.tiers, g.state, g.applicant_id, g.verifier_id, g.approvers,
	g.note, g.created_at, g.updated_at, g.approved_at, g.closed_at`
const grantFrom = ` FROM hardship_grants g JOIN students s ON s.id = g.student_id JOIN org_units o ON o.id = g.unit_id `

func optUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}

// upsertGrant writes a grant's row: the fields it was applied with never change, its state and
// decisions do.
func (s *Store) upsertGrant(ctx context.Context, db q, g Grant) error {
	t := now()
	_, err := s.exec(ctx, db, `INSERT INTO hardship_grants (id, student_id, unit_id, unit_path, amount_fen, reason, hardship_kind,
		school_year, tiers, state, applicant_id, verifier_id, approvers, note, created_at, updated_at, approved_at, closed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, verifier_id = excluded.verifier_id, approvers = excluded.approvers,
		note = excluded.note, updated_at = excluded.updated_at, approved_at = excluded.approved_at, closed_at = excluded.closed_at`,
		g.ID, g.StudentID, g.UnitID, g.UnitPath, g.AmountFen, g.Reason, g.HardshipKind, g.SchoolYear, g.Tiers, g.State, g.ApplicantID,
		g.VerifierID, g.Approvers, g.Note, utc(g.CreatedAt), t, optUTC(g.ApprovedAt), optUTC(g.ClosedAt))
	return err
}

// SetGrant writes a grant's row and the step's audit entry together (idempotent: activities retry).
func (s *Store) SetGrant(ctx context.Context, g Grant, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.upsertGrant(ctx, tx, g); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// Reservation is what ReserveGrant did: reserved, or refused with the available balance it found.
type Reservation struct {
	Reserved     bool  `json:"reserved"`
	AvailableFen int64 `json:"available_fen"`
}

// ReserveGrant reserves an approved grant's amount as ONE conditional write of the fund's row:
// reservations grow only while the available balance covers the amount, however many approvals
// land at the same instant. With it, in the same transaction: the reservation's row, the grant's
// row (approved) and the approval's audit entry. When the fund cannot cover it, the grant's row
// says insufficient_funds and short (with the available balance) is on record instead; nothing
// is reserved. A grant that already holds its reservation (a retry) is reserved.
func (s *Store) ReserveGrant(ctx context.Context, g Grant, approved, short AuditEntry) (Reservation, error) {
	var out Reservation
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		out = Reservation{}
		var state string
		switch err := s.get(ctx, tx, &state, `SELECT state FROM hardship_reservations WHERE grant_id = ?`, g.ID); {
		case err == nil:
			if state == "released" {
				return fmt.Errorf("grant %s gave its reservation back and cannot reserve again: %w", g.ID, ErrConflict)
			}
			out.Reserved = true
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE hardship_fund SET reserved_fen = reserved_fen + ? WHERE id = 1 AND balance_fen - reserved_fen >= ?`,
			g.AmountFen, g.AmountFen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			f, err := s.hardshipFund(ctx, tx)
			if err != nil {
				return err
			}
			out.AvailableFen = f.AvailableFen()
			g.State, g.ApprovedAt = casework.GrantInsufficientFunds, nil
			if err := s.upsertGrant(ctx, tx, g); err != nil {
				return err
			}
			return s.appendTx(ctx, tx, withAfter(short, "available_fen", out.AvailableFen))
		}
		at := utc(approved.At)
		if _, err := s.exec(ctx, tx, `INSERT INTO hardship_reservations (grant_id, amount_fen, state, reserved_at) VALUES (?, ?, 'held', ?)`,
			g.ID, g.AmountFen, at); err != nil {
			return err
		}
		g.State, g.ApprovedAt = casework.GrantApproved, &at
		if err := s.upsertGrant(ctx, tx, g); err != nil {
			return err
		}
		out.Reserved = true
		f, err := s.hardshipFund(ctx, tx)
		if err != nil {
			return err
		}
		out.AvailableFen = f.AvailableFen()
		return s.appendTx(ctx, tx, approved)
	})
	return out, err
}

// ReleaseGrant ends a grant that will not be paid (rejected, withdrawn, expired): its
// reservation, if it holds one, goes back to the fund, with the grant's row and the audit entry,
// in one transaction. Idempotent: a released reservation is not released twice.
func (s *Store) ReleaseGrant(ctx context.Context, g Grant, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var amount int64
		err := s.get(ctx, tx, &amount, `SELECT amount_fen FROM hardship_reservations WHERE grant_id = ? AND state = 'held'`, g.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil {
			res, err := s.exec(ctx, tx, `UPDATE hardship_reservations SET state = 'released', settled_at = ? WHERE grant_id = ? AND state = 'held'`,
				utc(entry.At), g.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if _, err := s.exec(ctx, tx, `UPDATE hardship_fund SET reserved_fen = reserved_fen - ? WHERE id = 1`, amount); err != nil {
					return err
				}
			}
		}
		if err := s.upsertGrant(ctx, tx, g); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// HardshipDisbursement is the one payment of a grant.
type HardshipDisbursement struct {
	GrantID     string    `db:"grant_id" json:"grant_id"`
	AmountFen   int64     `db:"amount_fen" json:"amount_fen"`
	Channel     string    `db:"channel" json:"channel"`
	Reference   string    `db:"reference" json:"reference"`
	DisbursedBy string    `db:"disbursed_by" json:"disbursed_by"`
	DisbursedAt time.Time `db:"disbursed_at" json:"disbursed_at"`
}

// DisburseGrant records a grant's payment exactly once: its reservation is spent, the fund's
// balance and reservations go down by the amount as one write, the ledger gets its entry, and
// the payment, the grant's row and the audit entry are written, in one transaction. A grant
// already paid returns its payment unchanged (a retry).
func (s *Store) DisburseGrant(ctx context.Context, d HardshipDisbursement, g Grant, entry AuditEntry) (HardshipDisbursement, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var prior HardshipDisbursement
		if err := s.get(ctx, tx, &prior, `SELECT grant_id, amount_fen, channel, reference, disbursed_by, disbursed_at
			FROM hardship_disbursements WHERE grant_id = ?`, d.GrantID); err == nil {
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		var amount int64
		if err := s.get(ctx, tx, &amount, `SELECT amount_fen FROM hardship_reservations WHERE grant_id = ? AND state = 'held'`, d.GrantID); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("grant %s holds no reservation to pay from: %w", d.GrantID, ErrConflict)
		} else if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE hardship_reservations SET state = 'spent', settled_at = ? WHERE grant_id = ? AND state = 'held'`,
			utc(d.DisbursedAt), d.GrantID); err != nil {
			return err
		}
		if _, err := s.move(ctx, tx, casework.LedgerDisbursement, d.GrantID, -amount, -amount, false, d.DisbursedAt); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO hardship_disbursements (grant_id, amount_fen, channel, reference, disbursed_by, disbursed_at)
			VALUES (?, ?, ?, ?, ?, ?)`, d.GrantID, amount, d.Channel, d.Reference, d.DisbursedBy, utc(d.DisbursedAt)); err != nil {
			return err
		}
		if err := s.upsertGrant(ctx, tx, g); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
	if err != nil {
		return d, err
	}
	return s.GrantDisbursement(ctx, d.GrantID)
}

// GrantDisbursement reads a grant's payment.
func (s *Store) GrantDisbursement(ctx context.Context, grantID string) (HardshipDisbursement, error) {
	var d HardshipDisbursement
	err := s.get(ctx, s.db, &d, `SELECT grant_id, amount_fen, channel, reference, disbursed_by, disbursed_at
		FROM hardship_disbursements WHERE grant_id = ?`, grantID)
	return d, err
}

// GrantByID reads one grant.
func (s *Store) GrantByID(ctx context.Context, id string) (Grant, error) {
	var g Grant
	err := s.get(ctx, s.db, &g, `SELECT `+grantCols+grantFrom+`WHERE g.id = ?`, id)
	return g, err
}

// Grants lists the grants at units within scopes (nil: all), optionally of some states, newest
// first.
func (s *Store) Grants(ctx context.Context, scopes []string, states []string, limit int) ([]Grant, error) {
	scope, args := s.underAnyPath("g.unit_path", scopes)
	query := `SELECT ` + grantCols + grantFrom + `WHERE ` + scope
	if len(states) > 0 {
		query += ` AND g.state IN (` + placeholders(len(states)) + `)`
		for _, st := range states {
			args = append(args, st)
		}
	}
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	var gs []Grant
	err := s.sel(ctx, s.db, &gs, query+` ORDER BY g.created_at DESC, g.id LIMIT `+itoa(limit), args...)
	return gs, err
}

// GrantsOfStudent lists a student's grants, oldest first.
func (s *Store) GrantsOfStudent(ctx context.Context, studentID string) ([]Grant, error) {
	var gs []Grant
	err := s.sel(ctx, s.db, &gs, `SELECT `+grantCols+grantFrom+`WHERE g.student_id = ? ORDER BY g.created_at, g.id`, studentID)
	return gs, err
}

// Benefit is one regular subsidy a student holds (学生资助), as the hardship decision shows it
// beside the grant: benefits stack (优惠政策叠加).
type Benefit struct {
	ApplicationID string `db:"id" json:"application_id"`
	Programme     string `db:"programme_code" json:"programme"`
	ProgrammeName string `db:"programme_name" json:"programme_name"`
	Term          string `db:"term" json:"term"`
	AmountFen     int64  `db:"amount_fen" json:"amount_fen"`
	State         string `db:"state" json:"status"`
}

// SubsidiesOfSchoolYear lists the regular subsidies a student holds in a school year ("2026-2027":
// both its terms), rejected applications left out.
func (s *Store) SubsidiesOfSchoolYear(ctx context.Context, studentID, schoolYear string) ([]Benefit, error) {
	var bs []Benefit
	err := s.sel(ctx, s.db, &bs, `SELECT a.id, a.programme_code, COALESCE(p.name, a.programme_code) AS programme_name, a.term, a.amount_fen, a.state
		FROM subsidy_applications a LEFT JOIN subsidy_programmes p ON p.code = a.programme_code
		WHERE a.student_id = ? AND a.term IN (?, ?) AND a.state <> ? ORDER BY a.term, a.programme_code`,
		studentID, schoolYear+"-1", schoolYear+"-2", casework.AppRejected)
	return bs, err
}

// ReconcileHardship checks the fund against its records and says what does not add up (nil when
// everything does): the ledger's entries add up to the balance, each entry's running balance is
// the one before plus its amount and never negative, the entries are numbered 1 … n without a
// gap, reservations held add up to what the fund holds reserved and never exceed the balance,
// every payment has exactly one ledger entry of its amount and a spent reservation, and every
// donation in the ledger is recorded or reversed.
func (s *Store) ReconcileHardship(ctx context.Context) error {
	f, err := s.HardshipFund(ctx)
	if err != nil {
		return err
	}
	es, err := s.Ledger(ctx, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	var problems []error
	var sum, prev int64
	for i, e := range es {
		if e.No != int64(i+1) {
			problems = append(problems, fmt.Errorf("ledger entry %d is numbered %d", i+1, e.No))
		}
		if e.BalanceFen != prev+e.AmountFen {
			problems = append(problems, fmt.Errorf("ledger entry %d: running balance %d, want %d + %d", e.No, e.BalanceFen, prev, e.AmountFen))
		}
		if e.BalanceFen < 0 {
			problems = append(problems, fmt.Errorf("ledger entry %d: balance %d below zero", e.No, e.BalanceFen))
		}
		sum, prev = sum+e.AmountFen, e.BalanceFen
	}
	if sum != f.BalanceFen || int64(len(es)) != f.Entries {
		problems = append(problems, fmt.Errorf("the ledger's %d entries add up to %d; the fund says %d entries, balance %d", len(es), sum, f.Entries, f.BalanceFen))
	}
	var held int64
	if err := s.get(ctx, s.db, &held, `SELECT COALESCE(SUM(amount_fen), 0) FROM hardship_reservations WHERE state = 'held'`); err != nil {
		return err
	}
	if held != f.ReservedFen || f.ReservedFen < 0 || f.ReservedFen > f.BalanceFen {
		problems = append(problems, fmt.Errorf("reservations held add up to %d; the fund says %d reserved of a balance of %d", held, f.ReservedFen, f.BalanceFen))
	}
	var bad []string
	if err := s.sel(ctx, s.db, &bad, `SELECT p.grant_id FROM hardship_disbursements p
		LEFT JOIN hardship_reservations r ON r.grant_id = p.grant_id
		WHERE r.state IS NULL OR r.state <> 'spent' OR p.amount_fen <> r.amount_fen
		OR (SELECT COUNT(*) FROM hardship_ledger l WHERE l.kind = 'disbursement' AND l.ref_id = p.grant_id AND l.amount_fen = -p.amount_fen) <> 1`); err != nil {
		return err
	}
	for _, id := range bad {
		problems = append(problems, fmt.Errorf("grant %s: its payment has no spent reservation or not exactly one ledger entry of its amount", id))
	}
	var unpaid []string
	if err := s.sel(ctx, s.db, &unpaid, `SELECT l.ref_id FROM hardship_ledger l LEFT JOIN hardship_disbursements p ON p.grant_id = l.ref_id
		WHERE l.kind = 'disbursement' AND p.grant_id IS NULL`); err != nil {
		return err
	}
	for _, id := range unpaid {
		problems = append(problems, fmt.Errorf("ledger pays grant %s, which has no payment on record", id))
	}
	var stray []string
	if err := s.sel(ctx, s.db, &stray, `SELECT l.ref_id FROM hardship_ledger l JOIN hardship_donations d ON d.id = l.ref_id
		WHERE l.kind = 'donation' AND (d.kind <> 'donation' OR d.state NOT IN ('recorded', 'reversed') OR d.amount_fen <> l.amount_fen)`); err != nil {
		return err
	}
	for _, id := range stray {
		problems = append(problems, fmt.Errorf("donation %s is in the ledger but not recorded, or with another amount", id))
	}
	return errors.Join(problems...)
}

// withAfter is an audit entry with one more key in its after-state.
func withAfter(e AuditEntry, key string, v any) AuditEntry {
	m := map[string]any{}
	if e.After != "" {
		_ = json.Unmarshal([]byte(e.After), &m)
	}
	m[key] = v
	if b, err := json.Marshal(m); err == nil {
		e.After = string(b)
	}
	return e
}
