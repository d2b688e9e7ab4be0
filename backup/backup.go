// Package backup copies the embedded deployment's data dir while the service runs (jiaofu backup)
// and brings a copy back (jiaofu restore): the store's SQLite file, the embedded Temporal server's
// two, and the audit trail's signing key, with a manifest of sizes and SHA-256 hashes.
//
// The three databases cannot be copied at one instant: each is its own SQLite file, written by
// its own connection. So they are copied in an order the service recovers from — Temporal's
// first, the store last. Every write of the store that a workflow relies on is made by an
// activity, and an activity's completion reaches Temporal only after its write committed; so
// whatever the Temporal copy holds as done, the later store copy holds too. The store copy may
// hold more — the writes of the moments between the copies — and those are either redone by the
// workflows as they run again from the Temporal copy (activities are idempotent: rows carry the
// workflow's revision and audit entries the activity's key, so a redone write changes nothing),
// or the first writes of cases started (or actions taken) in those moments, which the restored
// Temporal does not know. The reverse order would lose writes for good: Temporal would hold
// activities as done whose writes the older store copy lacks, and nothing ever writes them again.
package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, the one the store and Temporal use

	"jiaofu/auditkey"
	"jiaofu/schema"
)

// ManifestName is the manifest's file in a backup.
const ManifestName = "manifest.json"

// The files of a data dir that a backup holds, by their path inside it (and inside the backup),
// in the order they are copied (see the package comment for why this order).
const (
	TemporalDB   = "temporal/temporal.db"
	VisibilityDB = "temporal/visibility.db"
	StoreDB      = "jiaofu.db"
	AuditKey     = auditkey.DevFileName
)

// databases are the SQLite files in copy order: Temporal's persistence, then its visibility
// records (written by a queue whose position is kept in temporal.db, after the workflow's own
// transaction: the later copy may hold a record more, never one fewer), then the store.
var databases = []string{TemporalDB, VisibilityDB, StoreDB}

// Manifest describes a backup: when and by which jiaofu it was made, and each file's size and
// SHA-256, which restore checks before it writes anything.
type Manifest struct {
	Format        int       `json:"format"`
	CreatedAt     time.Time `json:"created_at"`
	JiaofuVersion string    `json:"jiaofu_version"`
	// SchemaVersion is the store's schema version (its newest migration applied) in the copy.
	SchemaVersion int64  `json:"schema_version"`
	DataDir       string `json:"data_dir"`
	// AuditKeyFrom says where the signing key was: "data_dir" (generated there, development) or
	// "JIAOFU_AUDIT_KEY_FILE"; empty when there was none.
	AuditKeyFrom string `json:"audit_key_from,omitempty"`
	Files        []File `json:"files"`
}

// File is one file of a backup, by its path relative to the backup (and to the data dir).
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

const manifestFormat = 1

// Version is this binary's version for the manifest: the module version and, when built from a
// checkout, its commit.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return v
}

// Options says what to back up and where.
type Options struct {
	DataDir string
	// AuditKeyFile is JIAOFU_AUDIT_KEY_FILE; empty, the key is the one generated in the data dir.
	AuditKeyFile string
	// Dest is the backup's directory: it must not exist yet, or be empty.
	Dest string
}

// Backup copies the data dir's databases (each with VACUUM INTO, from a read-only connection: a
// consistent snapshot of that file while the service keeps writing) and the audit signing key
// into Dest, with a manifest. It takes no lock: the running service goes on. The copy is made
// under a temporary name beside Dest and renamed to Dest once complete, so that a directory
// named Dest is always a whole backup.
func Backup(ctx context.Context, o Options) (Manifest, error) {
	if err := emptyOrMissing(o.Dest); err != nil {
		return Manifest{}, err
	}
	for _, name := range databases {
		if _, err := os.Stat(filepath.Join(o.DataDir, name)); err != nil {
			return Manifest{}, fmt.Errorf("data dir %s has no %s (%v): is JIAOFU_DATA_DIR the embedded service's? A deployment on PostgreSQL is backed up with pg_dump (README.md, Backup)", o.DataDir, name, errors.Unwrap(err))
		}
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		abs = o.DataDir
	}
	m := Manifest{Format: manifestFormat, CreatedAt: time.Now().UTC(), JiaofuVersion: Version(), DataDir: abs}

	parent := filepath.Dir(filepath.Clean(o.Dest))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return m, fmt.Errorf("backup directory %s: %w", o.Dest, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.Dest)+".partial-")
	if err != nil {
		return m, fmt.Errorf("backup directory %s: %w", o.Dest, err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed; everything when the backup failed
	if err := os.MkdirAll(filepath.Join(tmp, "temporal"), 0o750); err != nil {
		return m, err
	}
	for _, name := range databases {
		if err := vacuumInto(ctx, filepath.Join(o.DataDir, name), filepath.Join(tmp, name)); err != nil {
			return m, err
		}
	}
	if m.SchemaVersion, err = storeSchemaVersion(ctx, filepath.Join(tmp, StoreDB)); err != nil {
		return m, err
	}
	keyPath, from := filepath.Join(o.DataDir, auditkey.DevFileName), "data_dir"
	if o.AuditKeyFile != "" {
		keyPath, from = o.AuditKeyFile, "JIAOFU_AUDIT_KEY_FILE"
	}
	switch err := copyFile(keyPath, filepath.Join(tmp, AuditKey), 0o600); {
	case err == nil:
		m.AuditKeyFrom = from
	case errors.Is(err, os.ErrNotExist) && o.AuditKeyFile == "":
		// A data dir whose service never started has no key yet; nothing was signed with one.
	default:
		return m, fmt.Errorf("the audit signing key %s: %w", keyPath, err)
	}
	for _, name := range append(append([]string(nil), databases...), AuditKey) {
		if name == AuditKey && m.AuditKeyFrom == "" {
			continue
		}
		f, err := describe(tmp, name)
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, f)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := writeSynced(filepath.Join(tmp, ManifestName), append(b, '\n'), 0o644); err != nil {
		return m, err
	}
	for _, d := range []string{filepath.Join(tmp, "temporal"), tmp} {
		if err := syncPath(d); err != nil {
			return m, err
		}
	}
	// An empty Dest (made by the operator) gives way to the complete copy.
	if err := os.Remove(o.Dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("backup directory %s: %w", o.Dest, err)
	}
	if err := os.Rename(tmp, o.Dest); err != nil {
		return m, fmt.Errorf("backup directory %s: %w", o.Dest, err)
	}
	_ = syncPath(parent) // the rename made durable; the copy is complete either way
	return m, nil
}

// vacuumInto writes a consistent copy of the SQLite database src to dst. The connection is
// read-only: it never checkpoints the service's WAL nor takes the write lock, and VACUUM INTO
// reads one snapshot (a read transaction) while the service's writers go on beside it.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	// VACUUM INTO does not sync what it wrote.
	if err := syncPath(dst); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}

// storeSchemaVersion is the schema version of the store's copy at path.
func storeSchemaVersion(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	v, err := schema.Version(ctx, schema.SQLite, db)
	if err != nil {
		return 0, fmt.Errorf("the store's copy: %w", err)
	}
	return v, nil
}

// describe is the manifest's line of the file name inside dir.
func describe(dir, name string) (File, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", name, err)
	}
	return File{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// emptyOrMissing refuses a backup directory that already holds something: a backup is never
// written over another.
func emptyOrMissing(dir string) error {
	if dir == "" {
		return errors.New("name the directory to write the backup to: jiaofu backup DIR")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup directory %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("backup directory %s is not empty: name a new directory for each backup", dir)
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeSynced(dst, b, perm)
}

// writeSynced writes a new file and makes it durable before it counts as written.
func writeSynced(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncPath fsyncs a file or a directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// cleanPath checks a manifest path: relative, inside the backup, one of the files a backup holds.
func cleanPath(p string) error {
	if p != filepath.ToSlash(filepath.Clean(p)) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") {
		return fmt.Errorf("the manifest names %q, which is not a file inside the backup", p)
	}
	switch p {
	case TemporalDB, VisibilityDB, StoreDB, AuditKey:
		return nil
	}
	return fmt.Errorf("the manifest names %q, which is not a file a jiaofu backup holds", p)
}
