package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"jiaofu/auditkey"
	"jiaofu/schema"
)

// RestoreOptions says which backup goes into which data dir.
type RestoreOptions struct {
	Source  string
	DataDir string
	// AuditKeyFile is JIAOFU_AUDIT_KEY_FILE: when set, the key goes there (or, when a file is
	// there already, must be the backup's); unset, into the data dir.
	AuditKeyFile string
	// Force replaces the jiaofu files of a data dir that is not empty.
	Force bool
	// Lock takes the data dir's lock (service.LockDataDir): restore never writes under a
	// running service, and none starts until it is done.
	Lock func(dir string) (unlock func() error, err error)
}

// Restore checks a backup against its manifest, then writes its files into the data dir: each
// under a temporary name first, synced, checked again, then renamed into place, with the old
// database's -wal and -shm removed (a WAL left beside a restored database would be replayed
// into it). Nothing is written when the backup is damaged, the data dir is in use, or it is not
// empty and Force is false.
func Restore(ctx context.Context, o RestoreOptions) (Manifest, error) {
	m, err := ReadManifest(o.Source)
	if err != nil {
		return m, err
	}
	if err := Verify(o.Source, m); err != nil {
		return m, err
	}
	if target, err := schema.Latest(); err == nil && m.SchemaVersion > target {
		return m, fmt.Errorf("the backup's store is at schema version %d, newer than this jiaofu's (%d): restore it with the jiaofu that made it (%s)",
			m.SchemaVersion, target, m.JiaofuVersion)
	}
	keyDst, writeKey, err := keyTarget(o, m)
	if err != nil {
		return m, err
	}

	if err := os.MkdirAll(filepath.Join(o.DataDir, "temporal"), 0o750); err != nil {
		return m, fmt.Errorf("data dir %s: %w", o.DataDir, err)
	}
	unlock, err := o.Lock(o.DataDir)
	if err != nil {
		return m, err
	}
	defer unlock()
	if !o.Force {
		if held, err := contents(o.DataDir); err != nil {
			return m, err
		} else if len(held) > 0 {
			return m, fmt.Errorf("data dir %s is not empty (%s): restore into an empty directory, or add -force to replace its jiaofu files",
				o.DataDir, strings.Join(held, ", "))
		}
	}

	type move struct{ tmp, dst string }
	var moves []move
	defer func() {
		for _, mv := range moves {
			os.Remove(mv.tmp) // left only when the restore failed before renaming it
		}
	}()
	for _, f := range m.Files {
		dst := filepath.Join(o.DataDir, filepath.FromSlash(f.Path))
		if f.Path == AuditKey {
			if !writeKey {
				continue
			}
			dst = keyDst
		}
		tmp := dst + ".restoring"
		if err := copyChecked(filepath.Join(o.Source, filepath.FromSlash(f.Path)), tmp, f); err != nil {
			return m, err
		}
		moves = append(moves, move{tmp, dst})
	}
	for _, mv := range moves {
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			if err := os.Remove(mv.dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return m, fmt.Errorf("removing the old %s: %w", mv.dst+suffix, err)
			}
		}
		if err := os.Rename(mv.tmp, mv.dst); err != nil {
			return m, fmt.Errorf("putting %s in place: %w", mv.dst, err)
		}
	}
	moves = nil
	for _, d := range []string{filepath.Join(o.DataDir, "temporal"), o.DataDir, filepath.Dir(keyDst)} {
		if err := syncPath(d); err != nil {
			return m, err
		}
	}
	return m, nil
}

// ReadManifest reads a backup's manifest.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%s has no %s: it is not a jiaofu backup (or not a whole one)", dir, ManifestName)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: unreadable manifest: %v", filepath.Join(dir, ManifestName), err)
	}
	if m.Format != manifestFormat {
		return m, fmt.Errorf("%s: manifest format %d; this jiaofu reads format %d", filepath.Join(dir, ManifestName), m.Format, manifestFormat)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if err := cleanPath(f.Path); err != nil {
			return m, err
		}
		seen[f.Path] = true
	}
	for _, name := range databases {
		if !seen[name] {
			return m, fmt.Errorf("the manifest of %s lists no %s: not a whole backup", dir, name)
		}
	}
	return m, nil
}

// Verify checks every file of the backup against the manifest's size and SHA-256.
func Verify(dir string, m Manifest) error {
	for _, f := range m.Files {
		got, err := describe(dir, f.Path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("backup %s lacks %s, which its manifest lists: nothing was restored", dir, f.Path)
		}
		if err != nil {
			return err
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return fmt.Errorf("backup %s: %s does not match its manifest (%d bytes, sha256 %s; the manifest says %d bytes, sha256 %s): the backup is damaged, nothing was restored",
				dir, f.Path, got.Size, got.SHA256, f.Size, f.SHA256)
		}
	}
	return nil
}

// keyTarget is where the backup's signing key goes, and whether it is written at all: a key
// already at JIAOFU_AUDIT_KEY_FILE stays, when it is the backup's; another key there is refused,
// for it did not sign the restored trail's checkpoints.
func keyTarget(o RestoreOptions, m Manifest) (string, bool, error) {
	dst := filepath.Join(o.DataDir, auditkey.DevFileName)
	if o.AuditKeyFile != "" {
		dst = o.AuditKeyFile
	}
	if m.AuditKeyFrom == "" {
		return dst, false, nil
	}
	have, err := os.ReadFile(dst)
	if errors.Is(err, os.ErrNotExist) {
		return dst, true, nil
	}
	if err != nil {
		return dst, false, fmt.Errorf("the audit signing key %s: %w", dst, err)
	}
	want, err := os.ReadFile(filepath.Join(o.Source, AuditKey))
	if err != nil {
		return dst, false, err
	}
	if bytes.Equal(bytes.TrimSpace(have), bytes.TrimSpace(want)) {
		return dst, false, nil
	}
	if o.AuditKeyFile != "" {
		return dst, false, fmt.Errorf("JIAOFU_AUDIT_KEY_FILE %s holds another key than the backup's, which signed its audit checkpoints: point it at the backup's key (%s) or at a path with no file",
			dst, filepath.Join(o.Source, AuditKey))
	}
	return dst, true, nil // the data dir's own key, replaced with -force like its databases
}

// contents lists what a data dir holds besides its lock file (and the empty temporal/ made for
// the restore).
func contents(dir string) ([]string, error) {
	var held []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == "jiaofu.lock" {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		held = append(held, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(held)
	if len(held) > 5 {
		held = append(held[:5], "…")
	}
	return held, err
}

// copyChecked copies a backup file to tmp, hashing what it copies: the file must still be the
// one the manifest describes (it was checked, but a backup on shared storage can change).
func copyChecked(src, tmp string, want File) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	os.Remove(tmp)
	perm := os.FileMode(0o640)
	if want.Path == AuditKey {
		perm = 0o600
	}
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("backup file %s changed while it was restored: nothing was put in place", src)
	}
	return nil
}
