// Package auditkey keeps the Ed25519 key that signs the audit trail's checkpoints
// (store.AuditCheckpoint). The key lives in a file, never in the database: a database
// administrator who can rewrite the trail and recompute its hash chain cannot sign a checkpoint
// that matches the rewrite.
package auditkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DevFileName is the key file generated in the data dir in development, when JIAOFU_AUDIT_KEY_FILE
// is unset (production refuses to start without it: config.Validate).
const DevFileName = "audit-signing-key.pem"

// Open is the service's signing key: the one in file (JIAOFU_AUDIT_KEY_FILE) when it is set,
// otherwise the data dir's, generated on first use.
func Open(file, dataDir string) (ed25519.PrivateKey, error) {
	if file != "" {
		k, err := Load(file)
		if err != nil {
			return nil, fmt.Errorf("JIAOFU_AUDIT_KEY_FILE: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(dataDir, DevFileName)
	k, err := Load(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err = Generate(path)
	}
	if err != nil {
		return nil, fmt.Errorf("the audit signing key in the data dir (set JIAOFU_AUDIT_KEY_FILE to use another): %w", err)
	}
	return k, nil
}

// Load reads a PEM-encoded PKCS #8 Ed25519 private key, as `openssl genpkey -algorithm ed25519`
// writes it.
func Load(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key (make one with: openssl genpkey -algorithm ed25519 -out %s)", path, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable private key: %w", path, err)
	}
	ed, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T key, not an Ed25519 one (make one with: openssl genpkey -algorithm ed25519 -out %s)", path, k, path)
	}
	return ed, nil
}

// Generate makes a new key into path, readable by its owner alone (0600). It never replaces a
// key already there — that would leave every earlier checkpoint unverifiable — so of two
// processes generating at once, one writes and both use that one.
func Generate(path string) (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// Written whole under a temporary name, then linked into place: a reader never sees half a
	// key, and the link fails rather than replace a key another process has just made.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return Load(path)
	} else if err != nil {
		return nil, err
	}
	return k, nil
}
