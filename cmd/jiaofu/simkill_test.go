package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"jiaofu/sim"
)

// The simulated term with the service killed (issue 21): a small county while the all-in-one
// process — this test binary re-executed as jiaofu — is killed with SIGKILL twice and restarted on
// the same data dir; the oracle must still find no silent miss, false escalation or duplicate,
// and the audit trail must verify. `jiaofu simulate -kills N` is the command (docs/simulation.md).
func TestSimulatedTermSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jiaofu three times and runs a term of about two minutes")
	}
	var out bytes.Buffer
	rep, err := sim.Simulate(context.Background(), sim.Options{Seed: 3, Unit: 3 * time.Second, Spread: 6 * time.Second,
		Size:  sim.Size{Townships: 2, Schools: 1, Students: 3, DropoutShare: 0.5, FindingShare: 1},
		Kills: 2, KillEvery: 12 * time.Second, Self: os.Args[0], Env: []string{runAsJiaofu + "=1"}, Log: &out})
	if rep != nil {
		rep.Print(&out)
	}
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills != 2 || rep.Restarts != 2 {
		t.Errorf("%d kills and %d restarts, want 2 of each", rep.Kills, rep.Restarts)
	}
	var expected int
	for _, r := range rep.Rows {
		expected += r.Expected
	}
	if rep.Cases < 6 || expected == 0 {
		t.Errorf("run too small to mean anything: %d cases, %d expected escalations", rep.Cases, expected)
	}
	if rep.Failed() {
		t.Errorf("after %d kills the store and the oracle disagree: %d silent misses, %d false escalations, %d duplicates, audit ok %v, %d actor errors",
			rep.Kills, rep.SilentMisses, rep.FalseEscalations, rep.Duplicates, rep.AuditOK, len(rep.ActorErrors))
	}
}
