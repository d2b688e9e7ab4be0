package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkclient "go.temporal.io/sdk/client"

	"jiaofu/auditkey"
	"jiaofu/store"
	"jiaofu/workflows"
)

// TestAuditCheckpointsOverHTTP: the service signs checkpoints of the audit trail's head on demand
// and from its daily schedule, publishes them without login, and verify checks the trail against
// them: a clean trail verifies, and one whose newest entries a database administrator removed
// after a checkpoint (which the bare hash chain cannot see) does not.
func TestAuditCheckpointsOverHTTP(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	svc := startService(t, cfg)
	ctx := context.Background()
	anon := newClient(t, svc)
	admin, jcs := anon.as("admin"), anon.as("jcs01")

	// Development without JIAOFU_AUDIT_KEY_FILE: a key generated into the data dir, owner-only.
	keyFile := filepath.Join(dir, auditkey.DevFileName)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the development key file: %v %v", fi, err)
	}
	key, err := auditkey.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)

	for i, code := range []string{"JS-T01-S81", "JS-T01-S82", "JS-T01-S83"} {
		if c := admin.do("POST", "/api/v1/admin/org-units", map[string]any{"code": code, "name": "审计测试学校" + string(rune('一'+i)),
			"kind": "school", "parent_code": "JS-T01"}, nil); c != 201 {
			t.Fatalf("create unit %s: %d", code, c)
		}
	}
	anon.expectError("POST", "/api/v1/admin/audit/checkpoints", nil, 401, "")
	anon.as("staff01").expectError("POST", "/api/v1/admin/audit/checkpoints", nil, 403, "")
	var cp store.AuditCheckpoint
	if c := jcs.do("POST", "/api/v1/admin/audit/checkpoints", nil, &cp); c != 201 {
		t.Fatalf("sign a checkpoint: %d", c)
	}
	if cp.Seq == 0 || cp.Hash == "" || cp.PublicKey != base64.StdEncoding.EncodeToString(pub) || !cp.SignedBy(pub) {
		t.Fatalf("checkpoint %+v is not the head signed by the data dir's key", cp)
	}

	// Published without login: the fields of a checkpoint and nothing else.
	code, raw := anon.raw("GET", "/public/audit-checkpoints", nil)
	if code != 200 {
		t.Fatalf("public checkpoints: %d %s", code, raw)
	}
	var published []map[string]any
	anon.do("GET", "/public/audit-checkpoints", nil, &published)
	if len(published) == 0 {
		t.Fatalf("no checkpoint published: %s", raw)
	}
	for _, p := range published {
		if len(p) != 5 || p["seq"] == nil || p["hash"] == nil || p["signed_at"] == nil || p["signature"] == nil || p["public_key"] == nil {
			t.Errorf("a published checkpoint carries %v, want exactly seq, hash, signed_at, signature, public_key", p)
		}
	}
	if strings.Contains(raw, "审计测试学校") || strings.Contains(raw, "admin") {
		t.Errorf("the public checkpoints carry the trail's content: %s", raw)
	}

	// The daily schedule exists and, when it fires, signs the head as the route does.
	h := svc.Temporal.ScheduleClient().GetHandle(ctx, workflows.AuditCheckpointScheduleID)
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("the audit-checkpoint schedule after start: %v", err)
	}
	if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 24*time.Hour {
		t.Errorf("schedule spec: %+v", d.Schedule.Spec)
	}
	if err := h.Trigger(ctx, sdkclient.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var cps []store.AuditCheckpoint
	eventually(t, 60*time.Second, func() bool {
		anon.do("GET", "/public/audit-checkpoints", nil, &cps)
		return len(cps) >= 2
	}, "a checkpoint signed by the schedule")
	if last := cps[len(cps)-1]; !last.SignedBy(pub) || last.Seq < cp.Seq {
		t.Errorf("the schedule's checkpoint %+v", last)
	}

	var v store.VerifyResult
	if c := jcs.do("GET", "/api/v1/admin/audit/verify", nil, &v); c != 200 || !v.OK || v.Checkpoints < 2 || v.SignedThrough < cp.Seq {
		t.Fatalf("clean trail: %d %+v", c, v)
	}

	// The newest entries removed after the checkpoint, straight in the database.
	db := svc.Store.DB()
	if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM audit_log WHERE seq > ?`), cp.Seq-2); err != nil {
		t.Fatal(err)
	}
	if c := jcs.do("GET", "/api/v1/admin/audit/verify", nil, &v); c != 200 || v.OK || !strings.Contains(v.Problem, "removed") || v.BrokenAt > cp.Seq {
		t.Fatalf("a truncated tail verified: %d %+v", c, v)
	}
	if err := h.Delete(ctx); err != nil {
		t.Logf("delete schedule: %v", err)
	}
}
