package store

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"jiaofu/calendar"
)

// AuditCheckpoint is a signed statement of the audit trail's head: entry Seq is on record with
// hash Hash, as of SignedAt. The hash chain alone can be recomputed by whoever can write
// audit_log; this signature cannot, for the key is kept outside the database
// (JIAOFU_AUDIT_KEY_FILE). Checkpoints are published (GET /public/audit-checkpoints) so that
// copies kept elsewhere outlive even a database administrator removing the newest of them.
type AuditCheckpoint struct {
	Seq  int64  `db:"seq" json:"seq"`
	Hash string `db:"hash" json:"hash"`
	// SignedAt is stored to the microsecond, as the signature covers it.
	SignedAt time.Time `db:"signed_at" json:"signed_at"`
	// Signature is the Ed25519 signature of SignedText, and PublicKey the signer's 32-byte public
	// key, both in standard base64.
	Signature string `db:"signature" json:"signature"`
	PublicKey string `db:"public_key" json:"public_key"`
}

// SignedText is exactly what a checkpoint's signature covers; README.md shows it so that anyone
// can check a published checkpoint with the public key alone.
func (cp AuditCheckpoint) SignedText() []byte {
	return fmt.Appendf(nil, "jiaofu audit checkpoint\nseq: %d\nhash: %s\nsigned_at: %s\n",
		cp.Seq, cp.Hash, cp.SignedAt.UTC().Format(time.RFC3339Nano))
}

// SignedBy reports whether pub's private key signed cp as it is now.
func (cp AuditCheckpoint) SignedBy(pub ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(cp.Signature)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, cp.SignedText(), sig)
}

// SignAuditCheckpoint signs the trail's current head (sequence 0 and an empty hash while the
// trail is empty) with key and records the checkpoint.
func (s *Store) SignAuditCheckpoint(ctx context.Context, key ed25519.PrivateKey) (AuditCheckpoint, error) {
	if len(key) != ed25519.PrivateKeySize {
		return AuditCheckpoint{}, errors.New("no audit signing key (JIAOFU_AUDIT_KEY_FILE)")
	}
	var head struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	if err := s.get(ctx, s.db, &head, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`); err != nil && err != ErrNotFound {
		return AuditCheckpoint{}, err
	}
	cp := AuditCheckpoint{Seq: head.Seq, Hash: head.Hash, SignedAt: now(),
		PublicKey: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}
	cp.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, cp.SignedText()))
	_, err := s.exec(ctx, s.db, `INSERT INTO audit_checkpoints (seq, hash, signed_at, signature, public_key) VALUES (?, ?, ?, ?, ?)`,
		cp.Seq, cp.Hash, cp.SignedAt, cp.Signature, cp.PublicKey)
	return cp, err
}

// AuditCheckpoints lists every checkpoint, oldest entry first.
func (s *Store) AuditCheckpoints(ctx context.Context) ([]AuditCheckpoint, error) {
	cps := []AuditCheckpoint{}
	err := s.sel(ctx, s.db, &cps, `SELECT seq, hash, signed_at, signature, public_key FROM audit_checkpoints ORDER BY seq, id`)
	for i := range cps {
		cps[i].SignedAt = cps[i].SignedAt.UTC()
	}
	return cps, err
}

// signedAtText is a checkpoint's time as a clerk reads it in a problem report (China time).
func signedAtText(cp AuditCheckpoint) string {
	return cp.SignedAt.In(calendar.CST).Format("2006-01-02 15:04:05") + " (China time)"
}

// checkpointProblems compares the trail's entries, as VerifyAudit walks them in order, with the
// signed checkpoints: the entry a checkpoint names must be there with the hash it was signed with.
type checkpointProblems struct {
	cps  []AuditCheckpoint // by seq
	next int
}

// at checks every checkpoint up to entry e; a checkpoint of an entry that the walk went past is
// one whose entry is missing.
func (c *checkpointProblems) at(e AuditEntry) (brokenAt int64, problem string) {
	for ; c.next < len(c.cps) && c.cps[c.next].Seq <= e.Seq; c.next++ {
		cp := c.cps[c.next]
		switch {
		case cp.Seq <= 0: // signed while the trail was empty: vouches for nothing
		case cp.Seq < e.Seq:
			return cp.Seq, fmt.Sprintf("entry %d, which the checkpoint signed %s vouches for, is missing (entries were removed)", cp.Seq, signedAtText(cp))
		case cp.Hash != e.Hash:
			return cp.Seq, fmt.Sprintf("entry %d does not match the checkpoint signed %s (the trail was rewritten and its hashes recomputed)", cp.Seq, signedAtText(cp))
		}
	}
	return 0, ""
}

// end checks the checkpoints past the trail's last entry last: their entries were removed.
func (c *checkpointProblems) end(last int64) (brokenAt int64, problem string) {
	for ; c.next < len(c.cps); c.next++ {
		if cp := c.cps[c.next]; cp.Seq > last {
			return last + 1, fmt.Sprintf("the trail ends at entry %d, but the checkpoint signed %s vouches for entry %d (the newest entries were removed)",
				last, signedAtText(cp), cp.Seq)
		}
	}
	return 0, ""
}
