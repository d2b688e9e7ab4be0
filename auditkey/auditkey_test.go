package auditkey

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// In development the key is generated into the data dir once, readable by its owner alone, and
// the next start signs with the same key.
func TestDevelopmentKeyIsGeneratedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	k1, err := Open("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, DevFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := Open("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("a second start generated another key instead of reading the first")
	}
	// The same file named by JIAOFU_AUDIT_KEY_FILE is the same key.
	k3, err := Open(filepath.Join(dir, DevFileName), t.TempDir())
	if err != nil || !bytes.Equal(k1, k3) {
		t.Errorf("reading the file by name: %v", err)
	}
}

// A named key file is never generated: a missing or unreadable one stops the start, naming the
// variable.
func TestNamedKeyFileMustExist(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "audit.pem")
	if _, err := Open(missing, t.TempDir()); err == nil || !strings.Contains(err.Error(), "JIAOFU_AUDIT_KEY_FILE") {
		t.Errorf("missing key file: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a missing JIAOFU_AUDIT_KEY_FILE was created")
	}
	garbage := filepath.Join(t.TempDir(), "audit.pem")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	if _, err := Open(garbage, t.TempDir()); err == nil || !strings.Contains(err.Error(), "openssl genpkey -algorithm ed25519") {
		t.Errorf("garbage key file: %v", err)
	}
}
