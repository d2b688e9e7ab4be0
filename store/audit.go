package store

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/schema"
)

// AuditEntry is one action on record: who, in which role and unit, when, what, on which case,
// and the state before and after (JSON).
type AuditEntry struct {
	Seq       int64     `db:"seq" json:"seq"`
	EventKey  string    `db:"event_key" json:"-"`
	At        time.Time `db:"at" json:"at"`
	ActorID   string    `db:"actor_id" json:"actor_id"`
	ActorName string    `db:"actor_name" json:"actor_name"`
	Role      string    `db:"role" json:"role"`
	UnitCode  string    `db:"unit_code" json:"unit_code"`
	Action    string    `db:"action" json:"action"`
	Process   string    `db:"process" json:"process"`
	CaseID    string    `db:"case_id" json:"case_id"`
	Before    string    `db:"before_json" json:"before,omitempty"`
	After     string    `db:"after_json" json:"after,omitempty"`
	PrevHash  string    `db:"prev_hash" json:"-"`
	Hash      string    `db:"hash" json:"hash"`
}

func (e AuditEntry) digest() string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, e.EventKey, e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.ActorName, e.Role,
		e.UnitCode, e.Action, e.Process, e.CaseID, e.Before, e.After} {
		fmt.Fprintf(h, "%d:%s|", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// auditLockKey serializes appends on PostgreSQL so that the chain never forks.
const auditLockKey = 7_246_001

// Append adds an entry to the trail, chained to the last one. EventKey makes it idempotent: an
// entry whose key is already on record is not written again (activities retry).
func (s *Store) Append(ctx context.Context, e AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error { return s.appendTx(ctx, tx, e) })
}

// appendTx is Append inside a caller's transaction, so that a change and its entry commit together.
func (s *Store) appendTx(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	if e.EventKey == "" {
		e.EventKey = NewID("ev")
	}
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = utc(e.At)
	if e.Before == "" {
		e.Before = "{}"
	}
	if e.After == "" {
		e.After = "{}"
	}
	if s.dialect == schema.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
			return interpret(err)
		}
	}
	// Whether the entry is on record already, and the chain's end, in one statement: a round trip
	// less for every entry the processes write (a subsidy lifecycle writes about eleven). On
	// PostgreSQL it runs after the lock, so its snapshot sees the last holder's entry.
	var head struct {
		Known int    `db:"known"`
		Prev  string `db:"prev"`
	}
	if err := s.get(ctx, tx, &head, `SELECT (SELECT COUNT(*) FROM audit_log WHERE event_key = ?) AS known,
		COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '') AS prev`, e.EventKey); err != nil {
		return err
	}
	if head.Known > 0 {
		return nil
	}
	e.PrevHash = head.Prev
	e.Hash = e.digest()
	_, err := s.exec(ctx, tx, `INSERT INTO audit_log (event_key, at, actor_id, actor_name, role, unit_code, action, process, case_id,
		before_json, after_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.EventKey, e.At, e.ActorID, e.ActorName, e.Role, e.UnitCode, e.Action, e.Process, e.CaseID, e.Before, e.After, e.PrevHash, e.Hash)
	if err != nil {
		return err
	}
	// The registry's automatic copies of the event commit with it: none is made twice, none lost.
	return s.autoCopiesTx(ctx, tx, e)
}

const auditCols = `seq, event_key, at, actor_id, actor_name, role, unit_code, action, process, case_id, before_json, after_json, prev_hash, hash`

// Timeline lists a case's entries in order.
func (s *Store) Timeline(ctx context.Context, caseID string) ([]AuditEntry, error) {
	var es []AuditEntry
	err := s.sel(ctx, s.db, &es, `SELECT `+auditCols+` FROM audit_log WHERE case_id = ? ORDER BY seq`, caseID)
	return es, err
}

// VerifyResult says whether the trail is intact and, if not, where it first breaks.
type VerifyResult struct {
	OK       bool   `json:"ok"`
	Entries  int64  `json:"entries"`
	BrokenAt int64  `json:"broken_at,omitempty"`
	Problem  string `json:"problem,omitempty"`
	// Checkpoints is how many signed checkpoints the trail was checked against, and SignedThrough
	// the newest entry one of them vouches for: entries after it rest on the hash chain alone
	// until the next checkpoint.
	Checkpoints   int   `json:"checkpoints"`
	SignedThrough int64 `json:"signed_through"`
}

// VerifyAudit recomputes every hash in order, reading in pages so a long trail fits in memory,
// and checks the trail against every signed checkpoint: each must be signed by key (the service's
// own public key, never one read from the database) and its entry must be on record with the hash
// it was signed with. So a trail rewritten with its whole chain recomputed, or with its newest
// entries removed, fails here although its chain alone is intact.
func (s *Store) VerifyAudit(ctx context.Context, key ed25519.PublicKey) (VerifyResult, error) {
	cps, err := s.AuditCheckpoints(ctx)
	if err != nil {
		return VerifyResult{}, err
	}
	res := VerifyResult{Checkpoints: len(cps)}
	fail := func(at int64, problem string) (VerifyResult, error) {
		res.BrokenAt, res.Problem = at, problem
		return res, nil
	}
	for _, cp := range cps {
		if !cp.SignedBy(key) {
			return fail(cp.Seq, fmt.Sprintf("the checkpoint of entry %d signed %s is not signed by this service's key (it was forged or altered)",
				cp.Seq, signedAtText(cp)))
		}
		res.SignedThrough = max(res.SignedThrough, cp.Seq)
	}
	signed := checkpointProblems{cps: cps}
	prev, last := "", int64(0)
	for {
		var page []AuditEntry
		if err := s.sel(ctx, s.db, &page, `SELECT `+auditCols+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 1000`, last); err != nil {
			return VerifyResult{}, err
		}
		for _, e := range page {
			res.Entries++
			switch {
			case e.PrevHash != prev:
				return fail(e.Seq, "previous-hash link broken (a row was removed or reordered)")
			case e.digest() != e.Hash:
				return fail(e.Seq, "content does not match its hash (the row was edited)")
			}
			if at, problem := signed.at(e); problem != "" {
				return fail(at, problem)
			}
			prev, last = e.Hash, e.Seq
		}
		if len(page) < 1000 {
			if at, problem := signed.end(last); problem != "" {
				return fail(at, problem)
			}
			res.OK = true
			return res, nil
		}
	}
}
