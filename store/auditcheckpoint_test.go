package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"jiaofu/store"
)

// auditTrail appends n entries to s's trail and returns them in order.
func auditTrail(t *testing.T, s *store.Store, n int) []store.AuditEntry {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if err := s.Append(ctx, store.AuditEntry{ActorID: "u1", ActorName: "张三", Action: "subsidy.approved", Process: "subsidy",
			CaseID: fmt.Sprintf("c%d", i%3), After: fmt.Sprintf(`{"amount":%d}`, 500+i)}); err != nil {
			t.Fatal(err)
		}
	}
	var es []store.AuditEntry
	if err := s.DB().SelectContext(ctx, &es, `SELECT seq, event_key, at, actor_id, actor_name, role, unit_code, action, process, case_id,
		before_json, after_json, prev_hash, hash FROM audit_log ORDER BY seq`); err != nil {
		t.Fatal(err)
	}
	return es
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustVerify(t *testing.T, s *store.Store, key ed25519.PrivateKey) store.VerifyResult {
	t.Helper()
	res, err := s.VerifyAudit(context.Background(), key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// bareChain is what verification said before checkpoints: the chain alone, checked with the
// checkpoints set aside and then put back as they were.
func bareChain(t *testing.T, s *store.Store) store.VerifyResult {
	t.Helper()
	ctx, db := context.Background(), s.DB()
	cps, err := s.AuditCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM audit_checkpoints`); err != nil {
		t.Fatal(err)
	}
	res, err := s.VerifyAudit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range cps {
		if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO audit_checkpoints (seq, hash, signed_at, signature, public_key) VALUES (?, ?, ?, ?, ?)`),
			cp.Seq, cp.Hash, cp.SignedAt, cp.Signature, cp.PublicKey); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// A clean trail verifies against its checkpoints, also with entries after the newest one.
func TestAuditCheckpointsCleanTrail(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, key := context.Background(), newKey(t)
			empty, err := s.SignAuditCheckpoint(ctx, key) // an empty trail's checkpoint vouches for nothing
			if err != nil || empty.Seq != 0 || empty.Hash != "" {
				t.Fatalf("checkpoint of the empty trail: %+v, %v", empty, err)
			}
			es := auditTrail(t, s, 6)
			cp, err := s.SignAuditCheckpoint(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if head := es[len(es)-1]; cp.Seq != head.Seq || cp.Hash != head.Hash || !cp.SignedBy(key.Public().(ed25519.PublicKey)) {
				t.Fatalf("checkpoint %+v of head %d %s", cp, head.Seq, head.Hash)
			}
			auditTrail(t, s, 2)
			if res := mustVerify(t, s, key); !res.OK || res.Entries != 8 || res.Checkpoints != 2 || res.SignedThrough != cp.Seq {
				t.Fatalf("clean trail: %+v", res)
			}
			cps, err := s.AuditCheckpoints(ctx)
			if err != nil || len(cps) != 2 || cps[1] != cp {
				t.Fatalf("checkpoints read back %+v (%v), want the signed %+v last", cps, err, cp)
			}
			// Another key's public half does not vouch for them.
			if res := mustVerify(t, s, newKey(t)); res.OK || !strings.Contains(res.Problem, "not signed by this service's key") {
				t.Fatalf("verified with another key: %+v", res)
			}
		})
	}
}

// A database administrator rewrites an entry and recomputes the whole chain after it: the chain is
// intact again, but the entry a checkpoint signed no longer has the signed hash.
func TestAuditCheckpointCatchesARechainedRewrite(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, key := context.Background(), newKey(t)
			es := auditTrail(t, s, 6)
			cp, err := s.SignAuditCheckpoint(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			db := s.DB()
			prev := es[1].Hash
			for _, e := range es[2:] {
				if e.Seq == es[2].Seq {
					e.After = `{"amount":50000}`
				}
				e.PrevHash = prev
				e.Hash = e.Digest()
				if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE audit_log SET after_json = ?, prev_hash = ?, hash = ? WHERE seq = ?`),
					e.After, e.PrevHash, e.Hash, e.Seq); err != nil {
					t.Fatal(err)
				}
				prev = e.Hash
			}
			if bare := bareChain(t, s); !bare.OK {
				t.Fatalf("the re-chained trail should fool the bare chain check: %+v", bare)
			}
			res := mustVerify(t, s, key)
			if res.OK || res.BrokenAt != cp.Seq || !strings.Contains(res.Problem, "rewritten") {
				t.Fatalf("re-chained rewrite not caught: %+v", res)
			}
			// Nor can the administrator move the checkpoint to the new head: its signature breaks.
			if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE audit_checkpoints SET hash = ?`), prev); err != nil {
				t.Fatal(err)
			}
			if res := mustVerify(t, s, key); res.OK || !strings.Contains(res.Problem, "forged or altered") {
				t.Fatalf("altered checkpoint not caught: %+v", res)
			}
		})
	}
}

// The newest entries removed after a checkpoint (a truncated tail, which the bare chain cannot
// see): verify says where the trail now ends, and still says it after new entries follow.
func TestAuditCheckpointCatchesATruncatedTail(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, key := context.Background(), newKey(t)
			es := auditTrail(t, s, 6)
			cp, err := s.SignAuditCheckpoint(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			kept := es[3]
			db := s.DB()
			if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM audit_log WHERE seq > ?`), kept.Seq); err != nil {
				t.Fatal(err)
			}
			if bare := bareChain(t, s); !bare.OK {
				t.Fatalf("the truncated trail should fool the bare chain check: %+v", bare)
			}
			res := mustVerify(t, s, key)
			if res.OK || res.BrokenAt != kept.Seq+1 || !strings.Contains(res.Problem, "newest entries were removed") ||
				!strings.Contains(res.Problem, fmt.Sprintf("ends at entry %d", kept.Seq)) {
				t.Fatalf("truncated tail not caught: %+v", res)
			}
			// New entries after the cut do not cover it up: the signed entry is still missing.
			auditTrail(t, s, 4)
			res = mustVerify(t, s, key)
			if res.OK || res.BrokenAt != cp.Seq || !strings.Contains(res.Problem, "missing") {
				t.Fatalf("truncated tail under new entries not caught: %+v", res)
			}
		})
	}
}
