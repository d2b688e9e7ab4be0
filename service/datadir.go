package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFileName is the file in the data dir whose lock a running jiaofu holds for its whole life.
const LockFileName = "jiaofu.lock"

// ErrDataDirInUse is returned by Start when another jiaofu with the embedded Temporal server
// already runs on the same data dir (ownsDataDir).
var ErrDataDirInUse = errors.New("another jiaofu is running on this data dir")

// DataDirInUseError names the directory and, when the running process wrote it, its pid.
type DataDirInUseError struct {
	Dir string
	PID int // 0 when unknown
}

func (e *DataDirInUseError) Error() string {
	who := "another jiaofu"
	if e.PID > 0 {
		who = fmt.Sprintf("another jiaofu (process %d)", e.PID)
	}
	return fmt.Sprintf("data dir %s is in use: %s is running there; stop it first, or set JIAOFU_DATA_DIR to another directory", e.Dir, who)
}

func (e *DataDirInUseError) Unwrap() error { return ErrDataDirInUse }

// ownsDataDir says whether this process must be the only one on its data dir: it runs the
// embedded Temporal server, whose files (temporal/) one server alone may use — a second would fire
// the same timers and run the same workflow tasks. The SQLite store itself takes writers from
// several processes (busy_timeout), so `jiaofu api` and `jiaofu worker` against an external
// Temporal may share a data dir, as may several of them on PostgreSQL.
func ownsDataDir(temporalAddr string) bool { return temporalAddr == "" }

// lockDataDir takes the data dir's lock, without waiting: the file stays open, and so locked, until
// the returned file is closed or the process ends in any way (the kernel drops the lock of a killed
// process, so a crash never leaves a stale lock behind). The lock file holds the owner's pid, for
// the message a second process shows.
func lockDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	path := filepath.Join(abs, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: lock file: %w", abs, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s: lock %s: %w", abs, path, err)
	}
	if held {
		pid := 0
		if b, err := os.ReadFile(path); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		f.Close()
		return nil, &DataDirInUseError{Dir: abs, PID: pid}
	}
	// Best effort: the pid only makes the message clearer; the lock is what keeps the second out.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// LockDataDir takes the data dir's lock as a running service does, for a command that must not
// run beside one (jiaofu restore): it fails with a *DataDirInUseError while a service runs there,
// and keeps a service from starting until unlock.
func LockDataDir(dir string) (unlock func() error, err error) {
	f, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	return f.Close, nil
}
