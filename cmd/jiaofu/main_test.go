package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"

	"jiaofu/api"
	"jiaofu/demo"
	"jiaofu/store"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A bad listen address is refused before the data dir is made or anything starts.
func TestConfigurationIsCheckedBeforeAnythingIsCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("JIAOFU_HTTP_ADDR", "nonsense")
	t.Setenv("JIAOFU_DATA_DIR", dir)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // were it not refused: nothing answers there
	err := run(quiet(), io.Discard, []string{"all"})
	var ce configError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "JIAOFU_HTTP_ADDR") {
		t.Errorf("run = %v, want a configuration error naming JIAOFU_HTTP_ADDR", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data dir was created before the configuration was checked: %v", err)
	}
}

func TestAnnounceOnPlainLines(t *testing.T) {
	var b bytes.Buffer
	announce(&b, "[::]:8080", "0123abcd")
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "console:  http://localhost:8080/console/" {
		t.Errorf("first line %q", lines[0])
	}
	if lines[1] != "admin password (generated, shown once): 0123abcd" {
		t.Errorf("second line %q", lines[1])
	}
	for in, want := range map[string]string{":8080": "http://localhost:8080/console/", "127.0.0.1:9000": "http://127.0.0.1:9000/console/",
		"0.0.0.0:80": "http://localhost:80/console/"} {
		if got := consoleURL(in); got != want {
			t.Errorf("consoleURL(%q) = %q, want %q", in, got, want)
		}
	}
	b.Reset()
	announce(&b, "127.0.0.1:8080", "")
	if strings.Contains(b.String(), "password") {
		t.Errorf("a password line without a generated password: %q", b.String())
	}
}

// A lost admin password: jiaofu reset-admin-password gives admin a new one.
func TestResetAdminPassword(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, "", dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Bootstrap(ctx, st, "the-old-lost-password", api.HashPassword); err != nil {
		t.Fatal(err)
	}
	st.Close()
	t.Setenv("JIAOFU_DATA_DIR", dir)
	t.Setenv("JIAOFU_SEED_DEMO", "false")
	t.Setenv("JIAOFU_ADMIN_PASSWORD", "")
	var out bytes.Buffer
	if err := run(quiet(), &out, []string{"reset-admin-password"}); err != nil {
		t.Fatalf("reset-admin-password: %v", err)
	}
	m := regexp.MustCompile(`(?m)^admin password \(generated, shown once\): (\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password line in %q", out.String())
	}
	if st, err = store.Open(ctx, "", dir, true); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{m[1]: true, "the-old-lost-password": false} {
		if ok, _ := argon2id.ComparePasswordAndHash(pw, u.PasswordHash); ok != want {
			t.Errorf("password %q works: %v, want %v", pw, ok, want)
		}
	}

	t.Setenv("JIAOFU_ADMIN_PASSWORD", "chosen-by-the-operator")
	if err := run(quiet(), io.Discard, []string{"reset-admin-password"}); err != nil {
		t.Fatal(err)
	}
	if u, err = st.UserByUsername(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := argon2id.ComparePasswordAndHash("chosen-by-the-operator", u.PasswordHash); !ok {
		t.Error("JIAOFU_ADMIN_PASSWORD was not set")
	}
}

// Asking a subcommand for help prints its usage and does nothing else: "jiaofu backup -h" once
// wrote a backup into a directory named -h.
func TestSubcommandHelpDoesNothing(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	t.Setenv("JIAOFU_DATA_DIR", filepath.Join(work, "data"))
	t.Setenv("DATABASE_URL", "")
	t.Setenv("TEMPORAL_ADDRESS", "")
	for _, args := range [][]string{{"backup", "-h"}, {"backup", "--help"}, {"restore", "-h"}, {"crash", "-h"}, {"simulate", "-h"}} {
		var out strings.Builder
		if err := run(quiet(), &out, args); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: %v, want the help request", args, err)
		}
		if args[0] == "backup" || args[0] == "restore" {
			if !strings.Contains(out.String(), "-force") && !strings.Contains(out.String(), "jiaofu backup DIR") {
				t.Errorf("%v printed %q, want its usage", args, out.String())
			}
		}
	}
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("asking for help left %v in the working directory", left)
	}
}
