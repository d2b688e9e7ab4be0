package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"jiaofu/backup"
	"jiaofu/config"
	"jiaofu/service"
)

// runBackup is `jiaofu backup DIR`: a copy of the embedded deployment's data dir, taken beside
// the running service (it takes no lock).
func runBackup(ctx context.Context, out io.Writer, cfg config.Config, args []string) error {
	if err := embeddedOnly(cfg); err != nil {
		return err
	}
	// A flag set of its own, although backup has no flags: "jiaofu backup -h" asks for help, and
	// must not write a backup into a directory named -h.
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: jiaofu backup DIR\n  copy JIAOFU_DATA_DIR (the store, Temporal's files, the audit key and a manifest) into the new directory DIR while jiaofu runs (README.md, Backup)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return errors.New("name the new directory to write the backup to: jiaofu backup DIR")
	}
	dest := fs.Arg(0)
	start := time.Now()
	m, err := backup.Backup(ctx, backup.Options{DataDir: cfg.DataDir, AuditKeyFile: cfg.AuditKeyFile, Dest: dest})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backup of %s written to %s in %s (store schema version %d)\n", m.DataDir, dest,
		time.Since(start).Round(time.Millisecond), m.SchemaVersion)
	for _, f := range m.Files {
		fmt.Fprintf(out, "  %-24s %12d bytes  sha256 %s\n", f.Path, f.Size, f.SHA256)
	}
	return nil
}

// runRestore is `jiaofu restore [-force] BACKUP`: the backup, checked, into JIAOFU_DATA_DIR.
func runRestore(ctx context.Context, out io.Writer, cfg config.Config, args []string) error {
	if err := embeddedOnly(cfg); err != nil {
		return err
	}
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(out)
	force := fs.Bool("force", false, "replace the jiaofu files of a data dir that is not empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		if fs.NArg() > 1 && fs.Arg(1) == "-force" {
			return errors.New("-force goes before the backup: jiaofu restore -force BACKUP")
		}
		return errors.New("name the backup to restore: jiaofu restore [-force] BACKUP")
	}
	m, err := backup.Restore(ctx, backup.RestoreOptions{Source: fs.Arg(0), DataDir: cfg.DataDir, AuditKeyFile: cfg.AuditKeyFile,
		Force: *force, Lock: service.LockDataDir})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %s (taken %s, %d files, hashes checked) into %s; start jiaofu on it\n", fs.Arg(0),
		m.CreatedAt.Format(time.RFC3339), len(m.Files), cfg.DataDir)
	return nil
}

// embeddedOnly refuses the deployments whose data is not in the data dir.
func embeddedOnly(cfg config.Config) error {
	if cfg.DatabaseURL != "" {
		return errors.New("DATABASE_URL is set: the store is in PostgreSQL, which pg_dump backs up (README.md, Backup); backup and restore copy the embedded deployment's data dir")
	}
	if cfg.TemporalAddress != "" {
		return errors.New("TEMPORAL_ADDRESS is set: Temporal's databases are the cluster's, backed up where they are (README.md, Backup); backup and restore copy the embedded deployment's data dir")
	}
	return nil
}
