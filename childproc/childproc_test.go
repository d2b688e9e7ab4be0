package childproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kill ends the child and whatever it started (its process group) at once, and Tail reads what
// it logged before it died.
func TestKillEndsTheGroup(t *testing.T) {
	log := filepath.Join(t.TempDir(), "child.log")
	// The shell starts a grandchild and waits: a kill of the shell alone would leave it running.
	cmd := exec.Command("/bin/sh", "-c", "echo started; sleep 300 & echo $! ; wait")
	lf, err := Start(cmd, log)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	var grandchild string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if lines := strings.Fields(Tail(log, 100)); len(lines) == 2 {
			grandchild = lines[1]
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if grandchild == "" {
		t.Fatalf("the child logged %q", Tail(log, 100))
	}
	if Exited(cmd) {
		t.Fatal("the child counts as exited before the kill")
	}
	if err := Kill(cmd, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !Exited(cmd) {
		t.Error("the child does not count as exited after Kill")
	}
	// The killed grandchild is reaped by init a moment later; until then it is a zombie, which
	// signal 0 still finds.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + grandchild + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the grandchild %s survived the kill of its group: %s", grandchild, stat)
		}
	}
}
