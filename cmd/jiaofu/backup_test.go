package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jiaofu/apiclient"
	"jiaofu/casework"
)

const backupTestTerm = "2026-2027-1"

type taskRow struct {
	ID     string `json:"id"`
	CaseID string `json:"case_id"`
	Kind   string `json:"kind"`
}

// openTask waits for an open task of kind on the case in cl's inbox.
func openTask(t *testing.T, cl *apiclient.Client, kind, caseID string, within time.Duration) taskRow {
	t.Helper()
	var found taskRow
	waitFor(t, within, "task "+kind+" of "+caseID, func() bool {
		var inbox struct{ Items []taskRow }
		cl.Do(context.Background(), "GET", "/api/v1/tasks?status=open&kind="+kind, nil, &inbox)
		for _, tk := range inbox.Items {
			if strings.HasPrefix(tk.CaseID, caseID) {
				found = tk
				return true
			}
		}
		return false
	})
	return found
}

func appStatus(t *testing.T, cl *apiclient.Client, id string) string {
	t.Helper()
	var a struct{ Status string }
	if err := cl.Expect(context.Background(), 200, "GET", "/api/v1/subsidy-applications/"+id, nil, &a); err != nil {
		t.Fatal(err)
	}
	return a.Status
}

func dropoutEscalations(t *testing.T, jcs *apiclient.Client, caseID string) int {
	t.Helper()
	var esc struct {
		Items []struct {
			CaseID string `json:"case_id"`
		}
	}
	jcs.Do(context.Background(), "GET", "/api/v1/escalations?process=dropout", nil, &esc)
	n := 0
	for _, e := range esc.Items {
		if e.CaseID == caseID {
			n++
		}
	}
	return n
}

// jiaofuCommand runs `jiaofu args…` on dataDir as a process of its own, as an operator would
// beside the running service: the real main, its output, its exit status.
func jiaofuCommand(t *testing.T, dataDir string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runAsJiaofu+"=1", runArgs+"="+strings.Join(args, "\n"), "JIAOFU_DATA_DIR="+dataDir,
		"JIAOFU_HTTP_ADDR=127.0.0.1:0", "DATABASE_URL=", "TEMPORAL_ADDRESS=", "JIAOFU_AUDIT_KEY_FILE=", "JIAOFU_ENV=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
	case err != nil:
		t.Fatalf("jiaofu %v: %v", args, err)
	}
	return out.String(), errOut.String(), status
}

// Issue 19: a backup taken while the service runs and works, restored into a fresh data dir,
// brings the service back at the moment of the backup: the cases in flight then are there and
// go on — their tasks can be acted on, their timers fire (the publicity period's end, the
// dropout's first-contact deadline) — what happened after the backup is not, and the audit
// chain verifies against its signed checkpoints with the restored key.
//
// The backup copies Temporal's files first and the store last (package backup): while it runs,
// a school leader claims and releases a task over and over (task actions: workflow updates,
// projections and audit entries written to both sides), and the restored service resumes from
// whatever pair of moments the copies caught.
func TestBackupMidLoadRestoresAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jiaofu twice")
	}
	ctx := context.Background()
	root := t.TempDir()
	dataA, dataB, saved := filepath.Join(root, "data"), filepath.Join(root, "restored"), filepath.Join(root, "backup-1")
	// Deadlines long enough to be pending at the backup, short enough to pass after the restore.
	env := []string{"JIAOFU_SEED_DEMO=true", "JIAOFU_SEED_DEMO_PLAN=false", "JIAOFU_PUBLICITY_PERIOD=150s", "JIAOFU_DROPOUT_FIRST_CONTACT=150s"}

	a := startChild(t, dataA, env...)
	admin, staff, head, teacher, jcs := a.as(t, "admin"), a.as(t, "staff01"), a.as(t, "head01"), a.as(t, "teacher01"), a.as(t, "jcs01")
	var students struct {
		Items []struct{ ID, Name string }
	}
	if err := staff.Expect(ctx, 200, "GET", "/api/v1/admin/students", nil, &students); err != nil {
		t.Fatal(err)
	}
	student := map[string]string{}
	for _, s := range students.Items {
		student[s.Name] = s.ID
	}
	apply := func(name string) string {
		var app struct{ ID string }
		code, err := staff.Do(ctx, "POST", "/api/v1/subsidy-applications", map[string]string{"student_id": student[name], "programme": "living-primary", "term": backupTestTerm}, &app)
		if err != nil || (code != 201 && code != 202) || app.ID == "" {
			t.Fatalf("apply for %s: %d %v", name, code, err)
		}
		return app.ID
	}
	// Two applications reviewed and in publicity, one waiting for its review.
	zhang, xiang, li := apply("张小三"), apply("向金花"), apply("李梅")
	for _, id := range []string{zhang, xiang} {
		tk := openTask(t, head, "subsidy_review", id, time.Minute)
		if err := head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve"}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, id+" reviewed", func() bool { return appStatus(t, staff, id) == casework.AppReviewed })
	}
	var batch struct {
		ID           string
		Applications []string
	}
	if err := staff.Expect(ctx, 201, "POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": backupTestTerm}, &batch); err != nil {
		t.Fatal(err)
	}
	if len(batch.Applications) != 2 {
		t.Fatalf("the batch holds %v, want the two reviewed applications", batch.Applications)
	}
	liReview := openTask(t, head, "subsidy_review", li, time.Minute)
	// A dropout case whose first contact falls due after the backup.
	var dc struct{ ID string }
	if err := staff.Expect(ctx, 201, "POST", "/api/v1/dropout-cases", map[string]string{"student_id": student["王二小"], "reason": "厌学，外出务工",
		"last_attended_on": "2026-11-01"}, &dc); err != nil {
		t.Fatal(err)
	}
	openTask(t, teacher, "dropout_first_contact", dc.ID, time.Minute)

	// A signed checkpoint before the backup: the restored service checks it with the restored key.
	if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/audit/checkpoints", nil, nil); err != nil {
		t.Fatal(err)
	}

	// The load: claim and release 李梅's review, on and on, until told to stop.
	var cycles atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c1, _ := head.Do(ctx, "POST", "/api/v1/tasks/"+liReview.ID+"/claim", nil, nil)
			c2, _ := head.Do(ctx, "POST", "/api/v1/tasks/"+liReview.ID+"/unclaim", nil, nil)
			if c1 == 200 && c2 == 200 {
				cycles.Add(1)
			}
		}
	}()
	waitFor(t, time.Minute, "the load to run", func() bool { return cycles.Load() >= 3 })
	before := cycles.Load()
	out, errOut, status := jiaofuCommand(t, dataA, "backup", saved)
	during := cycles.Load() - before
	if status != 0 {
		close(stop)
		wg.Wait()
		t.Fatalf("jiaofu backup: exit %d\n%s\n%s", status, errOut, a.log.String())
	}
	t.Logf("jiaofu backup (%d claim-and-release cycles ran while it did):\n%s", during, out)
	waitFor(t, time.Minute, "more load after the backup", func() bool { return cycles.Load() >= before+during+2 })
	close(stop)
	wg.Wait()
	// The deadlines were still ahead when the backup was taken: what fires after the restore is
	// the restored service's own timers.
	var signoffs struct{ Items []taskRow }
	aid := a.as(t, "aid01")
	aid.Do(ctx, "GET", "/api/v1/tasks?status=open&kind=publicity_signoff", nil, &signoffs)
	if len(signoffs.Items) != 0 || dropoutEscalations(t, jcs, dc.ID) != 0 {
		t.Fatalf("a deadline passed before the backup ended (the machine is slower than the test's 150s allow): sign-offs %v, escalations %d",
			signoffs.Items, dropoutEscalations(t, jcs, dc.ID))
	}

	// After the backup: a new user, and the teacher's first contact.
	if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/users", map[string]any{"username": "after-backup", "password": "after-backup-password",
		"display_name": "备份之后", "roles": []map[string]string{{"role": "teacher", "unit_code": "JS-T01-S01"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := teacher.Expect(ctx, 200, "POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit", "notes": "备份之后的家访"}, nil); err != nil {
		t.Fatal(err)
	}
	a.kill(t)

	if out, errOut, status := jiaofuCommand(t, dataB, "restore", saved); status != 0 {
		t.Fatalf("jiaofu restore: exit %d\n%s", status, errOut)
	} else {
		t.Logf("jiaofu restore: %s", out)
	}
	if _, errOut, status := jiaofuCommand(t, dataB, "restore", saved); status != 1 ||
		!strings.HasPrefix(errOut, "jiaofu restore failed: data dir "+dataB+" is not empty") || !strings.Contains(errOut, "-force") {
		t.Errorf("a second restore into the same dir without -force: exit %d, %q", status, errOut)
	}

	b := startChild(t, dataB, env...)
	// A restore under the running service is refused, -force or not.
	if _, errOut, status := jiaofuCommand(t, dataB, "restore", "-force", saved); status != 1 ||
		!strings.Contains(errOut, "is in use: another jiaofu (process ") {
		t.Errorf("restore -force under a running jiaofu: exit %d, %q, want the data dir in use", status, errOut)
	}
	admin, staff, head, teacher, jcs, aid = b.as(t, "admin"), b.as(t, "staff01"), b.as(t, "head01"), b.as(t, "teacher01"), b.as(t, "jcs01"), b.as(t, "aid01")

	// What came after the backup is not there.
	if _, err := apiclient.New(b.base, apiclient.NewHTTPClient(1)).Login(ctx, "after-backup", "after-backup-password"); err == nil {
		t.Error("the user created after the backup can log in on the restored service")
	}
	var full struct {
		Attempts []struct{ Notes string }
	}
	if err := staff.Expect(ctx, 200, "GET", "/api/v1/dropout-cases/"+dc.ID, nil, &full); err != nil {
		t.Fatalf("the dropout case opened before the backup: %v", err)
	}
	if len(full.Attempts) != 0 {
		t.Errorf("the restored case has attempts %+v, all made after the backup", full.Attempts)
	}

	// What was in flight goes on. The review waiting at the backup is decided through the API.
	for _, id := range []string{zhang, xiang} {
		if s := appStatus(t, staff, id); s != casework.AppInPublicity {
			t.Errorf("application %s after the restore: %s, want %s", id, s, casework.AppInPublicity)
		}
	}
	tk := openTask(t, head, "subsidy_review", li, time.Minute)
	if tk.ID != liReview.ID {
		t.Errorf("李梅's review is task %s after the restore, %s before", tk.ID, liReview.ID)
	}
	if err := head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+tk.ID+"/complete", map[string]string{"outcome": "approve", "comment": "恢复之后审核"}, nil); err != nil {
		t.Fatalf("the review waiting at the backup, decided after the restore: %v\n%s", err, b.log.String())
	}
	waitFor(t, time.Minute, "李梅's application reviewed", func() bool { return appStatus(t, staff, li) == casework.AppReviewed })
	// The publicity period ends by its timer and the county's sign-off opens.
	st := openTask(t, aid, "publicity_signoff", batch.ID, 5*time.Minute)
	if err := aid.Expect(ctx, 200, "POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "一卡通"}}, nil); err != nil {
		t.Fatalf("sign-off after the restore: %v", err)
	}
	// The first-contact deadline passes and its ladder escalates, by itself.
	waitFor(t, 5*time.Minute, "the dropout's first-contact escalation", func() bool { return dropoutEscalations(t, jcs, dc.ID) > 0 })
	if err := teacher.Expect(ctx, 200, "POST", "/api/v1/dropout-cases/"+dc.ID+"/attempts", map[string]any{"method": "home_visit", "notes": "恢复之后的家访"}, nil); err != nil {
		t.Fatalf("an attempt after the restore: %v", err)
	}

	// The trail, with what the restored service added, verifies against its checkpoints.
	if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/audit/checkpoints", nil, nil); err != nil {
		t.Fatal(err)
	}
	var verify struct {
		OK          bool `json:"ok"`
		Entries     int  `json:"entries"`
		Checkpoints int  `json:"checkpoints"`
		Problem     string
	}
	if err := admin.Expect(ctx, 200, "GET", "/api/v1/admin/audit/verify", nil, &verify); err != nil {
		t.Fatal(err)
	}
	if !verify.OK || verify.Entries == 0 || verify.Checkpoints < 2 {
		t.Errorf("the restored audit trail: %+v", verify)
	}
}

// backup and restore say what is wrong in words that name the fix, as commands of their own
// (main prints "jiaofu backup failed: …" and exits 1).
func TestBackupAndRestoreRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"backup"}, nil, "name the new directory to write the backup to"},
		{[]string{"restore"}, nil, "name the backup to restore"},
		{[]string{"backup", filepath.Join(dir, "b")}, map[string]string{"DATABASE_URL": "postgres://jiaofu@127.0.0.1:1/jiaofu"}, "DATABASE_URL is set: the store is in PostgreSQL, which pg_dump backs up"},
		{[]string{"restore", dir}, map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}, "TEMPORAL_ADDRESS is set"},
		{[]string{"backup", filepath.Join(dir, "b")}, nil, "has no temporal/temporal.db"},
		{[]string{"restore", dir}, nil, "has no manifest.json: it is not a jiaofu backup"},
	} {
		t.Setenv("JIAOFU_DATA_DIR", filepath.Join(dir, "data"))
		t.Setenv("JIAOFU_HTTP_ADDR", "127.0.0.1:0")
		for _, v := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "JIAOFU_AUDIT_KEY_FILE", "JIAOFU_ENV"} {
			t.Setenv(v, c.env[v])
		}
		var out bytes.Buffer
		err := run(quiet(), &out, c.args)
		var failed commandError
		if !errors.As(err, &failed) || failed.cmd != c.args[0] || !strings.Contains(err.Error(), c.want) {
			t.Errorf("jiaofu %v: %v, want a %s failure saying %q", c.args, err, c.args[0], c.want)
		}
	}
}
