package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"jiaofu/crash"
)

// The crash harness's short form (issue 19): a small mixed load while the all-in-one process —
// this test binary re-executed as jiaofu — is killed with SIGKILL at least five times and
// restarted on the same data dir; then every case must be where it must be, nothing recorded
// twice, no task lost or doubled, every escalation due on record once, the audit trail whole.
// `make crash` is the full size (docs/reliability.md).
func TestCrashHarnessShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills jiaofu six times")
	}
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "crash")
	rep, err := crash.Crash(context.Background(), crash.Options{Seed: 1, Subsidy: 20, PerSchool: 10, Dropouts: 10, Grants: 3, Findings: 4, SendHome: 2, PlanTasks: 2,
		Kills: 5, KillGap: 5 * time.Second, Unit: time.Second, Limit: 15 * time.Minute,
		Self: os.Args[0], Env: []string{runAsJiaofu + "=1"}, Dir: dir, Log: &out})
	if rep != nil {
		rep.Print(&out)
	}
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills < 5 {
		t.Errorf("%d kills, want at least 5", rep.Kills)
	}
	if tot := rep.Totals(); tot.Cases != 41 {
		t.Errorf("%d cases checked, want 41", tot.Cases)
	}
	if rep.Failed() {
		t.Errorf("the store shows defects after %d kills (the table above; logs in %s)", rep.Kills, dir)
	}
}
