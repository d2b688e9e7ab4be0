package backup_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiaofu/auditkey"
	"jiaofu/backup"
	"jiaofu/schema"
	"jiaofu/service"
	"jiaofu/store"
)

// dataDir makes a data dir as the embedded service leaves it: the store (migrated), Temporal's
// two files in WAL mode, and the generated audit key.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(context.Background(), "", dir, true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, name := range []string{backup.TemporalDB, backup.VisibilityDB} {
		db := openWAL(t, filepath.Join(dir, name))
		if _, err := db.Exec(`CREATE TABLE rows (n INTEGER PRIMARY KEY, pad TEXT)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if _, err := auditkey.Open("", dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openWAL(t *testing.T, path string) *sql.DB {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func count(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM rows`).Scan(&n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// A backup taken while a writer keeps committing (as the service does) is a consistent copy of
// each file: it opens, it holds a whole number of the writer's transactions, and its manifest
// describes exactly what was written. The writer is never blocked out, and the source keeps
// its WAL (the backup's connection is read-only).
func TestBackupWhileWritingAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	writer := openWAL(t, filepath.Join(dir, backup.TemporalDB))
	defer writer.Close()
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Two rows a transaction: a copy with an odd count would have cut one in half.
			tx, err := writer.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			tx.Exec(`INSERT INTO rows (pad) VALUES (?)`, strings.Repeat("x", 2000))
			tx.Exec(`INSERT INTO rows (pad) VALUES (?)`, strings.Repeat("y", 2000))
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			committed.Add(1)
		}
	}()
	for committed.Load() < 200 {
		time.Sleep(10 * time.Millisecond)
	}
	dest := filepath.Join(t.TempDir(), "b1")
	m, err := backup.Backup(ctx, backup.Options{DataDir: dir, Dest: dest})
	after := committed.Load()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	n := count(t, filepath.Join(dest, backup.TemporalDB))
	if n%2 != 0 || n < 400 || int64(n) > 2*after {
		t.Errorf("the copy of temporal.db holds %d rows; want an even number from 400 to %d", n, 2*after)
	}
	if _, err := os.Stat(filepath.Join(dir, backup.TemporalDB+"-wal")); err != nil {
		t.Errorf("the source's WAL: %v", err)
	}

	// The manifest: every file, in copy order (Temporal's first, the store last), with the
	// store's schema version and the key.
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	if got := strings.Join(paths, " "); got != "temporal/temporal.db temporal/visibility.db jiaofu.db audit-signing-key.pem" {
		t.Errorf("manifest files = %s", got)
	}
	latest, _ := schema.Latest()
	if m.SchemaVersion != latest || m.AuditKeyFrom != "data_dir" || m.CreatedAt.IsZero() || m.JiaofuVersion == "" {
		t.Errorf("manifest = %+v, want schema version %d and the key from the data dir", m, latest)
	}
	var onDisk backup.Manifest
	b, err := os.ReadFile(filepath.Join(dest, backup.ManifestName))
	if err != nil || json.Unmarshal(b, &onDisk) != nil || len(onDisk.Files) != 4 {
		t.Fatalf("manifest.json: %v %s", err, b)
	}
	if err := backup.Verify(dest, onDisk); err != nil {
		t.Errorf("a fresh backup does not verify: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dest, backup.AuditKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key's copy: %v %v, want mode 0600", err, fi)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".b1.partial-*")); len(left) != 0 {
		t.Errorf("partial directories left: %v", left)
	}

	// A backup never goes over another.
	if _, err := backup.Backup(ctx, backup.Options{DataDir: dir, Dest: dest}); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("a second backup into %s: %v", dest, err)
	}
	// A data dir without the embedded service's files is named.
	if _, err := backup.Backup(ctx, backup.Options{DataDir: t.TempDir(), Dest: filepath.Join(t.TempDir(), "b")}); err == nil || !strings.Contains(err.Error(), "has no temporal/temporal.db") {
		t.Errorf("a backup of an empty data dir: %v", err)
	}

	// Restore into a fresh dir: the same bytes, and the store opens at its schema.
	target := filepath.Join(t.TempDir(), "restored")
	restore := func(force bool) error {
		_, err := backup.Restore(ctx, backup.RestoreOptions{Source: dest, DataDir: target, Force: force, Lock: service.LockDataDir})
		return err
	}
	if err := restore(false); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := count(t, filepath.Join(target, backup.TemporalDB)); got != n {
		t.Errorf("restored temporal.db holds %d rows, the backup %d", got, n)
	}
	st, err := store.Open(ctx, "", target, false)
	if err != nil {
		t.Fatalf("the restored store: %v", err)
	}
	st.Close()
	key, err := auditkey.Load(filepath.Join(target, auditkey.DevFileName))
	orig, _ := auditkey.Load(filepath.Join(dir, auditkey.DevFileName))
	if err != nil || !key.Equal(orig) {
		t.Errorf("the restored audit key: %v (same as the original: %v)", err, key.Equal(orig))
	}
	if left, _ := filepath.Glob(filepath.Join(target, "*.restoring")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Not empty: refused without -force, naming what is there; -force replaces, and a stale WAL
	// of the replaced database is removed rather than replayed into the restored one.
	if err := restore(false); err == nil || !strings.Contains(err.Error(), "is not empty") || !strings.Contains(err.Error(), "-force") {
		t.Errorf("restore into a restored dir: %v", err)
	}
	stale := filepath.Join(target, backup.TemporalDB+"-wal")
	if err := os.WriteFile(stale, []byte("a WAL of another database"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := restore(true); err != nil {
		t.Fatalf("restore -force: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old WAL is still there: %v", err)
	}
	if got := count(t, filepath.Join(target, backup.TemporalDB)); got != n {
		t.Errorf("after -force temporal.db holds %d rows, the backup %d", got, n)
	}

	// A data dir a service holds (its lock) is refused, even with -force.
	unlock, err := service.LockDataDir(target)
	if err != nil {
		t.Fatal(err)
	}
	var inUse *service.DataDirInUseError
	if err := restore(true); !errors.As(err, &inUse) {
		t.Errorf("restore under a running service: %v, want the data dir in use", err)
	}
	unlock()
}

// A damaged backup is refused before anything is written, naming the file.
func TestRestoreRefusesADamagedBackup(t *testing.T) {
	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "b")
	if _, err := backup.Backup(ctx, backup.Options{DataDir: dataDir(t), Dest: dest}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dest, backup.StoreDB)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "data")
	_, err = backup.Restore(ctx, backup.RestoreOptions{Source: dest, DataDir: target, Lock: service.LockDataDir})
	if err == nil || !strings.Contains(err.Error(), "jiaofu.db does not match its manifest") || !strings.Contains(err.Error(), "nothing was restored") {
		t.Errorf("restore of a damaged backup: %v", err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data dir was made for a damaged backup: %v", err)
	}
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: t.TempDir(), DataDir: target, Lock: service.LockDataDir}); err == nil ||
		!strings.Contains(err.Error(), "has no manifest.json") {
		t.Errorf("restore of a directory that is no backup: %v", err)
	}
}

// The copy order is what makes a backup one the service recovers from: a workflow's activity
// commits its write to the store before Temporal records the activity as done, so every
// completion in Temporal's copy must find its write in the store's copy. A writer that does
// exactly that — a row in the store, then its completion in temporal.db — runs flat out while
// the backup is taken; the copies must hold no completion without its write. (Copied the other
// way round, the store's copy is the older one and misses the writes of completions made while
// Temporal's files were copied.)
func TestEveryCompletionInTheTemporalCopyHasItsWriteInTheStoreCopy(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	st := openWAL(t, filepath.Join(dir, backup.StoreDB))
	defer st.Close()
	if _, err := st.Exec(`CREATE TABLE rows (n INTEGER PRIMARY KEY, pad TEXT)`); err != nil {
		t.Fatal(err)
	}
	tmp := openWAL(t, filepath.Join(dir, backup.TemporalDB))
	defer tmp.Close()
	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := st.Exec(`INSERT INTO rows (n, pad) VALUES (?, ?)`, n, strings.Repeat("w", 500)); err != nil {
				t.Error(err)
				return
			}
			if _, err := tmp.Exec(`INSERT INTO rows (n, pad) VALUES (?, ?)`, n, strings.Repeat("c", 500)); err != nil {
				t.Error(err)
				return
			}
			done.Store(n)
		}
	}()
	for done.Load() < 500 {
		time.Sleep(10 * time.Millisecond)
	}
	dest := filepath.Join(t.TempDir(), "b")
	_, err := backup.Backup(ctx, backup.Options{DataDir: dir, Dest: dest})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	maxOf := func(path string) int64 {
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n sql.NullInt64
		if err := db.QueryRow(`SELECT max(n) FROM rows`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n.Int64
	}
	// Rows are numbered without gaps, so the newest number stands for all below it.
	completions, writes := maxOf(filepath.Join(dest, backup.TemporalDB)), maxOf(filepath.Join(dest, backup.StoreDB))
	t.Logf("completions in Temporal's copy: %d; writes in the store's copy: %d; by the end: %d", completions, writes, done.Load())
	if completions < 500 || completions > writes {
		t.Errorf("Temporal's copy holds %d completions, the store's copy %d writes: a completion without its write", completions, writes)
	}
}

// A key kept at JIAOFU_AUDIT_KEY_FILE (production) is in the backup; restore puts it back there
// when nothing is at that path, keeps it when it is the same key, and refuses another key there,
// before it writes anything: that key did not sign the restored trail's checkpoints.
func TestTheKeyAtJIAOFU_AUDIT_KEY_FILE(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	os.Remove(filepath.Join(dir, auditkey.DevFileName)) // production has none in the data dir
	keyFile := filepath.Join(t.TempDir(), "audit.pem")
	key, err := auditkey.Generate(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "b")
	m, err := backup.Backup(ctx, backup.Options{DataDir: dir, AuditKeyFile: keyFile, Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	if m.AuditKeyFrom != "JIAOFU_AUDIT_KEY_FILE" {
		t.Errorf("the key's origin: %q", m.AuditKeyFrom)
	}
	// A backup naming a key file that is not there fails, naming it.
	if _, err := backup.Backup(ctx, backup.Options{DataDir: dir, AuditKeyFile: keyFile + ".missing", Dest: filepath.Join(t.TempDir(), "b")}); err == nil ||
		!strings.Contains(err.Error(), "audit.pem.missing") {
		t.Errorf("a backup with a missing key file: %v", err)
	}

	restoreTo := func(target, keyAt string) error {
		_, err := backup.Restore(ctx, backup.RestoreOptions{Source: dest, DataDir: target, AuditKeyFile: keyAt, Force: true, Lock: service.LockDataDir})
		return err
	}
	newKey := filepath.Join(t.TempDir(), "keys", "audit.pem")
	if err := os.MkdirAll(filepath.Dir(newKey), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "data")
	if err := restoreTo(target, newKey); err != nil {
		t.Fatal(err)
	}
	got, err := auditkey.Load(newKey)
	if fi, _ := os.Stat(newKey); err != nil || !got.Equal(key) || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key put back at JIAOFU_AUDIT_KEY_FILE: %v (same key: %v)", err, got.Equal(key))
	}
	if _, err := os.Stat(filepath.Join(target, auditkey.DevFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key was written into the data dir too: %v", err)
	}
	if err := restoreTo(target, newKey); err != nil {
		t.Errorf("restore with the same key already in place: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	if _, err := auditkey.Generate(other); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "data")
	if err := restoreTo(fresh, other); err == nil || !strings.Contains(err.Error(), "JIAOFU_AUDIT_KEY_FILE") || !strings.Contains(err.Error(), "another key") {
		t.Errorf("restore with another key at JIAOFU_AUDIT_KEY_FILE: %v", err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data dir was written before the key was refused: %v", err)
	}
}
