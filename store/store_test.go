package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// openStores returns a fresh SQLite store, and a fresh PostgreSQL one (its own schema) when
// TEST_DATABASE_URL or DATABASE_URL is set, so every store test runs on both dialects.
func openStores(t *testing.T) map[string]*store.Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]*store.Store{}
	sq, err := store.Open(ctx, "", t.TempDir(), true)
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	t.Cleanup(func() { sq.Close() })
	out["sqlite"] = sq
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = os.Getenv("DATABASE_URL")
	}
	if base == "" {
		return out
	}
	schemaName := fmt.Sprintf("t_%s_%d", strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())), time.Now().UnixNano()%1_000_000)
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schemaName); err != nil {
		t.Fatalf("postgres create schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", base); err == nil {
			db.Exec(`DROP SCHEMA ` + schemaName + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()
	pg, err := store.Open(ctx, u.String(), "", true)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { pg.Close() })
	out["postgres"] = pg
	return out
}

// fixture builds bureau → section, township → school and a user at each.
type fixture struct {
	bureau, section, township, school, other store.Unit
	leader, staff                            store.User
}

func makeFixture(t *testing.T, s *store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	var err error
	must := func(u store.Unit, err error) store.Unit {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.bureau = must(s.CreateUnit(ctx, "JS", "建始县教育局", store.KindBureau, "", ""))
	f.section = must(s.CreateUnit(ctx, "JS-ZZZX", "资助中心", store.KindSection, "JS", ""))
	f.township = must(s.CreateUnit(ctx, "JS-T01", "业州镇中心学校", store.KindTownshipSchool, "JS", "T01"))
	f.school = must(s.CreateUnit(ctx, "JS-T01-S01", "业州一小", store.KindSchool, "JS-T01", ""))
	f.other = must(s.CreateUnit(ctx, "JS-T01-S02", "业州二小", store.KindSchool, "JS-T01", ""))
	if f.leader, err = s.CreateUser(ctx, "head", "x", "校长", []store.RoleAt{{Role: casework.RoleSchoolLeader, UnitCode: f.school.Code}}); err != nil {
		t.Fatal(err)
	}
	if f.staff, err = s.CreateUser(ctx, "staff", "x", "专干", []store.RoleAt{{Role: casework.RoleSchoolStaff, UnitCode: f.school.Code}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func actorOf(u store.User) access.Actor {
	a := access.Actor{UserID: u.ID, Username: u.Username}
	for _, r := range u.Roles {
		a.Roles = append(a.Roles, access.Role{Role: r.Role, UnitCode: r.UnitCode, UnitKind: r.UnitKind, UnitPath: r.UnitPath})
	}
	return a
}

func TestUnitsAndUsers(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			if f.school.Path != "/JS/JS-T01/JS-T01-S01/" || f.school.TownshipCode != "T01" {
				t.Errorf("school path %q township %q", f.school.Path, f.school.TownshipCode)
			}
			if _, err := s.CreateUnit(ctx, "JS-T01", "again", store.KindSchool, "JS", ""); !errorsIs(err, store.ErrConflict) {
				t.Errorf("duplicate code: %v, want ErrConflict", err)
			}
			if _, err := s.CreateUnit(ctx, "X1", "orphan", store.KindSchool, "NOPE", ""); !errorsIs(err, store.ErrNotFound) {
				t.Errorf("unknown parent: %v, want ErrNotFound", err)
			}
			// A user with an unknown unit leaves nothing behind.
			if _, err := s.CreateUser(ctx, "ghost", "x", "g", []store.RoleAt{{Role: casework.RoleTeacher, UnitCode: "NOPE"}}); !errorsIs(err, store.ErrNotFound) {
				t.Errorf("unknown role unit: %v", err)
			}
			if _, err := s.UserByUsername(ctx, "ghost"); !errorsIs(err, store.ErrNotFound) {
				t.Errorf("half-created user left behind: %v", err)
			}
			u, err := s.UserByUsername(ctx, "head")
			if err != nil || len(u.Roles) != 1 || u.Roles[0].UnitPath != f.school.Path {
				t.Fatalf("user roles: %+v %v", u, err)
			}
			if err := s.CreateSession(ctx, "h1", u.ID, time.Hour); err != nil {
				t.Fatal(err)
			}
			if got, err := s.SessionUser(ctx, "h1"); err != nil || got.ID != u.ID {
				t.Errorf("session user: %v %v", got.ID, err)
			}
			if err := s.CreateSession(ctx, "h2", u.ID, -time.Minute); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionUser(ctx, "h2"); !errorsIs(err, store.ErrNotFound) {
				t.Errorf("expired session accepted: %v", err)
			}
			// The next login drops the expired row and keeps the live one.
			if err := s.CreateSession(ctx, "h3", u.ID, time.Hour); err != nil {
				t.Fatal(err)
			}
			var left []string
			if err := s.DB().SelectContext(ctx, &left, `SELECT token_hash FROM sessions WHERE user_id = `+s.DB().Rebind("?")+` ORDER BY token_hash`, u.ID); err != nil {
				t.Fatal(err)
			}
			if strings.Join(left, ",") != "h1,h3" {
				t.Errorf("sessions after a new login = %v, want h1,h3 (expired h2 dropped)", left)
			}
		})
	}
}

// TestSessionUserIsTheUserWithRoles: the one-query session lookup every request makes returns
// exactly what UserByID does — several roles, in order; no role; and no one for a deactivated
// account.
func TestSessionUserIsTheUserWithRoles(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			many, err := s.CreateUser(ctx, "many", "x", "多角色", []store.RoleAt{
				{Role: casework.RoleSchoolStaff, UnitCode: f.school.Code},
				{Role: casework.RoleSchoolLeader, UnitCode: f.other.Code},
				{Role: casework.RoleTownshipStaff, UnitCode: f.township.Code},
				{Role: casework.RoleSchoolLeader, UnitCode: f.school.Code},
			})
			if err != nil {
				t.Fatal(err)
			}
			none, err := s.CreateUser(ctx, "none", "x", "无角色", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []store.User{many, none} {
				if err := s.CreateSession(ctx, "tok-"+u.ID, u.ID, time.Hour); err != nil {
					t.Fatal(err)
				}
				want, err := s.UserByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.SessionUser(ctx, "tok-"+u.ID)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("SessionUser(%s) = %+v, %v\nwant %+v", u.Username, got, err, want)
				}
			}
			if len(many.Roles) != 4 {
				t.Fatalf("fixture: %d roles", len(many.Roles))
			}
			// Deactivation ends the sessions; a session row left by anything else still lets no
			// inactive account in.
			if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE users SET active = ? WHERE id = ?`), false, many.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionUser(ctx, "tok-"+many.ID); !errorsIs(err, store.ErrNotFound) {
				t.Errorf("inactive user's session: %v, want ErrNotFound", err)
			}
			if _, err := s.SessionUser(ctx, "no-such-token"); !errorsIs(err, store.ErrNotFound) {
				t.Errorf("unknown token: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestTaskProjectionAndInbox(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			due := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
			task := casework.Task{ID: "wf-t1", WorkflowID: "wf", Process: "subsidy", Kind: "subsidy_review", CaseID: "wf", Title: "审核",
				CandidateRole: casework.RoleSchoolLeader, UnitID: f.school.ID, UnitPath: f.school.Path, State: casework.TaskOpen,
				Outcomes: "approve,reject", DueAt: due, CreatedAt: due.Add(-time.Hour)}
			for i := 0; i < 2; i++ { // activities retry: the same write twice changes nothing
				if err := s.UpsertTask(ctx, task); err != nil {
					t.Fatalf("upsert %d: %v", i, err)
				}
			}
			other := task
			other.ID, other.UnitID, other.UnitPath = "wf2-t1", f.other.ID, f.other.Path
			if err := s.UpsertTask(ctx, other); err != nil {
				t.Fatal(err)
			}
			inbox, err := s.Inbox(ctx, actorOf(f.leader), store.TaskFilter{})
			if err != nil || len(inbox) != 1 || inbox[0].ID != "wf-t1" || inbox[0].UnitCode != f.school.Code {
				t.Fatalf("leader inbox = %+v, %v", inbox, err)
			}
			if !inbox[0].DueAt.Equal(due) {
				t.Errorf("due_at round trip: %v, want %v", inbox[0].DueAt, due)
			}
			if staffInbox, _ := s.Inbox(ctx, actorOf(f.staff), store.TaskFilter{}); len(staffInbox) != 0 {
				t.Errorf("staff sees a leader's task: %+v", staffInbox)
			}
			// Claimed by someone else: gone from the group inbox; done: gone from open.
			done := task
			at := due
			done.State, done.Outcome, done.CompletedAt, done.CompletedBy = casework.TaskDone, "approve", &at, f.leader.ID
			if err := s.UpsertTask(ctx, done); err != nil {
				t.Fatal(err)
			}
			if inbox, _ := s.Inbox(ctx, actorOf(f.leader), store.TaskFilter{}); len(inbox) != 0 {
				t.Errorf("done task still open in inbox: %+v", inbox)
			}
			if all, _ := s.Inbox(ctx, actorOf(f.leader), store.TaskFilter{State: "all"}); len(all) != 1 || all[0].Outcome != "approve" {
				t.Errorf("all = %+v", all)
			}
		})
	}
}

// TestInboxPagesFollowTheRule checks store.Inbox's two-step query against the rule written out
// in Go: assigned to me, or unclaimed with a role I hold at a unit covering the task's unit; in
// due order, paged. The actor holds one role at two nested units, so a task qualifies twice and
// must appear once; due times repeat, so pages meet inside a tie.
func TestInboxPagesFollowTheRule(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			boss, err := s.CreateUser(ctx, "boss", "x", "校长兼总校长", []store.RoleAt{
				{Role: casework.RoleSchoolLeader, UnitCode: f.school.Code}, {Role: casework.RoleSchoolLeader, UnitCode: f.township.Code},
				{Role: casework.RoleSchoolStaff, UnitCode: f.other.Code}})
			if err != nil {
				t.Fatal(err)
			}
			units := []store.Unit{f.school, f.other, f.township}
			roles := []string{casework.RoleSchoolLeader, casework.RoleSchoolStaff, casework.RoleTownshipStaff}
			assignees := []string{"", "", "", boss.ID, f.leader.ID}
			states := []string{casework.TaskOpen, casework.TaskOpen, casework.TaskDone, casework.TaskCancelled}
			processes := []string{"subsidy", "dropout"}
			rng := rand.New(rand.NewPCG(1, 2))
			base := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
			var all []casework.Task
			for i := 0; i < 240; i++ {
				u := units[rng.IntN(len(units))]
				task := casework.Task{ID: fmt.Sprintf("t%03d", i), WorkflowID: fmt.Sprintf("wf%d", i), Process: processes[rng.IntN(2)],
					Kind: "k", CaseID: fmt.Sprintf("c%d", i%3), Title: "x", CandidateRole: roles[rng.IntN(len(roles))], UnitID: u.ID, UnitPath: u.Path,
					AssigneeID: assignees[rng.IntN(len(assignees))], State: states[rng.IntN(len(states))], Outcomes: "done",
					DueAt: base.Add(time.Duration(rng.IntN(40)) * time.Hour), CreatedAt: base}
				if err := s.UpsertTask(ctx, task); err != nil {
					t.Fatal(err)
				}
				all = append(all, task)
			}
			sort.Slice(all, func(i, j int) bool {
				if !all[i].DueAt.Equal(all[j].DueAt) {
					return all[i].DueAt.Before(all[j].DueAt)
				}
				return all[i].ID < all[j].ID
			})
			for _, who := range []store.User{boss, f.leader, f.staff} {
				a := actorOf(who)
				for _, filter := range []store.TaskFilter{{State: casework.TaskOpen}, {State: "all"}, {State: casework.TaskOpen, Process: "dropout"}, {State: "all", CaseID: "c1"}} {
					var want []string
					for _, task := range all {
						mine := task.AssigneeID == a.UserID
						for _, r := range a.Roles {
							mine = mine || (task.AssigneeID == "" && task.CandidateRole == r.Role && strings.HasPrefix(task.UnitPath, r.Scope()))
						}
						if mine && (filter.State == "all" || task.State == filter.State) && (filter.Process == "" || task.Process == filter.Process) &&
							(filter.CaseID == "" || task.CaseID == filter.CaseID) {
							want = append(want, task.ID)
						}
					}
					if who.ID == boss.ID && len(want) < 15 {
						t.Fatalf("the fixture gives %s only %d tasks; the pages below test little", who.Username, len(want))
					}
					var got []string
					for page := store.TaskFilter(filter); ; page.Offset += page.Limit {
						page.Limit = 7
						ts, err := s.Inbox(ctx, a, page)
						if err != nil {
							t.Fatal(err)
						}
						for _, task := range ts {
							got = append(got, task.ID)
						}
						if len(ts) < page.Limit {
							break
						}
					}
					if strings.Join(got, ",") != strings.Join(want, ",") {
						t.Errorf("%s %+v:\n got %v\nwant %v", who.Username, filter, got, want)
					}
				}
			}
		})
	}
}

func TestAuditChain(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := 0; i < 5; i++ {
				if err := s.Append(ctx, store.AuditEntry{EventKey: fmt.Sprintf("k%d", i%4), ActorID: "u1", ActorName: "张三", Action: "a",
					Process: "subsidy", CaseID: "c1", After: fmt.Sprintf(`{"i":%d}`, i)}); err != nil {
					t.Fatal(err)
				}
			}
			tl, err := s.Timeline(ctx, "c1")
			if err != nil || len(tl) != 4 {
				t.Fatalf("timeline has %d entries (%v), want 4: a repeated event key is written once", len(tl), err)
			}
			res, err := s.VerifyAudit(ctx, nil)
			if err != nil || !res.OK || res.Entries != 4 {
				t.Fatalf("verify = %+v, %v", res, err)
			}
			if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE audit_log SET actor_name = ? WHERE seq = ?`), "李四", tl[2].Seq); err != nil {
				t.Fatal(err)
			}
			res, err = s.VerifyAudit(ctx, nil)
			if err != nil || res.OK || res.BrokenAt != tl[2].Seq {
				t.Fatalf("tampered row not found: %+v %v", res, err)
			}
		})
	}
}

// TestAuditChainUnderConcurrentWriters: writers appending at once (the API and the workers do)
// keep one chain: every entry chained to the one before it, none written twice, none forked.
func TestAuditChainUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			const writers, each = 8, 15
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						// Every key twice: a retried activity's entry must not be written again.
						for range 2 {
							if err := s.Append(ctx, store.AuditEntry{EventKey: fmt.Sprintf("w%d-%d", w, i), ActorID: "u1", ActorName: "张三",
								Action: "a", Process: "subsidy", CaseID: "c-concurrent"}); err != nil {
								errs <- err
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			res, err := s.VerifyAudit(ctx, nil)
			if err != nil || !res.OK || res.Entries != writers*each {
				t.Fatalf("verify = %+v, %v; want an intact chain of %d entries", res, err, writers*each)
			}
		})
	}
}

func TestEscalationsOnce(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			e := store.Escalation{ID: "wf-t1-r2", Process: "subsidy", CaseID: "wf", TaskID: "wf-t1", Rung: 2, Target: casework.TargetSuperior,
				UnitID: f.township.ID, UnitPath: f.township.Path, SourceUnit: f.school.Code, Reason: "逾期", DueAt: time.Now()}
			entry := store.AuditEntry{EventKey: "esc/wf-t1-r2", Action: "escalation.superior", Process: "subsidy", CaseID: "wf"}
			if n, err := s.RecordEscalation(ctx, e, nil, entry); err != nil || !n {
				t.Fatalf("insert: %v %v", n, err)
			}
			if n, err := s.RecordEscalation(ctx, e, nil, entry); err != nil || n {
				t.Fatalf("second insert must be a no-op: %v %v", n, err)
			}
			township, _ := s.CreateUser(ctx, "twn", "x", "镇专干", []store.RoleAt{{Role: casework.RoleTownshipStaff, UnitCode: f.township.Code}})
			if es, err := s.Escalations(ctx, actorOf(township), store.EscalationFilter{}); err != nil || len(es) != 1 {
				t.Errorf("township sees %d escalations (%v), want 1", len(es), err)
			}
			if es, _ := s.Escalations(ctx, actorOf(f.leader), store.EscalationFilter{}); len(es) != 0 {
				t.Errorf("a school sees its superior's escalation: %+v", es)
			}
			if err := s.CloseEscalation(ctx, e.ID, "reminder_talk", "u1"); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseEscalation(ctx, e.ID, "reminder_talk", "u1"); !errorsIs(err, store.ErrConflict) {
				t.Errorf("closing twice: %v, want ErrConflict", err)
			}
		})
	}
}

// The API and the subsidy workflow's first activity both record a new application and its
// applicant's entry; in either order there is one row (with the check's verdict) and one entry.
func TestApplicationRecordedOnceFromEitherSide(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			if _, err := s.CreateProgramme(ctx, store.Programme{Code: "t-living", Name: "生活补助", AmountFen: 62500, Stage: "primary"}); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i := 0; i < 2; i++ {
				st, err := s.CreateStudent(ctx, store.Student{StudentNo: fmt.Sprintf("S%d", i), Name: fmt.Sprintf("学生%d", i), Sex: "女",
					BirthDate: "2015-03-01", UnitCode: f.school.Code, Grade: 3, Class: "1班", PovertyRegistered: true})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, st.ID)
			}
			found, err := s.StudentsByID(ctx, append(ids, "no-such-student"))
			if err != nil || len(found) != 2 || found[ids[1]].Name != "学生1" || found[ids[0]].UnitCode != f.school.Code {
				t.Fatalf("StudentsByID = %+v, %v; want the two students only", found, err)
			}
			amount, priority := int64(62500), true
			check := casework.ApplicationUpdate{State: casework.AppInReview, AmountFen: &amount, Priority: &priority}
			for i, activityFirst := range []bool{true, false} {
				id := fmt.Sprintf("subsidy-%d", i)
				n := store.NewApplication{
					App: store.Application{ID: id, StudentID: ids[i], ProgrammeCode: "t-living", Term: "2026-autumn", UnitID: f.school.ID,
						ApplicantID: f.staff.ID, State: casework.AppSubmitted},
					Applied: store.AuditEntry{EventKey: store.AppliedEventKey(id, "run-1"), At: time.Now(), ActorID: f.staff.ID,
						Action: "subsidy.applied", Process: "subsidy", CaseID: id}}
				steps := []func() error{
					func() error { return s.OpenApplication(ctx, n.App, &n.Applied, check) },
					func() error { return s.InsertApplications(ctx, []store.NewApplication{n}) },
				}
				if !activityFirst {
					steps[0], steps[1] = steps[1], steps[0]
				}
				for _, step := range append(steps, steps...) { // and each again, as a retry would
					if err := step(); err != nil {
						t.Fatalf("activity first %v: %v", activityFirst, err)
					}
				}
				app, err := s.ApplicationByID(ctx, id)
				if err != nil || app.State != casework.AppInReview || app.AmountFen != amount || !app.Priority {
					t.Errorf("activity first %v: application %+v, %v; want in review with the verdict", activityFirst, app, err)
				}
				if tl, err := s.Timeline(ctx, id); err != nil || len(tl) != 1 || tl[0].Action != "subsidy.applied" {
					t.Errorf("activity first %v: timeline %+v, %v; want the one applied entry", activityFirst, tl, err)
				}
			}
		})
	}
}

// openTask is an open review task at the fixture's school, as its first projection.
func openTask(f fixture, id string) casework.Task {
	due := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	return casework.Task{ID: id, WorkflowID: "wf", Process: "subsidy", Kind: "subsidy_review", CaseID: "wf", Title: "审核",
		CandidateRole: casework.RoleSchoolLeader, UnitID: f.school.ID, UnitPath: f.school.Path, State: casework.TaskOpen,
		Outcomes: "approve,reject", DueAt: due, CreatedAt: due.Add(-time.Hour), Revision: 1}
}

// TestTaskProjectionNeverGoesBackwards: a projection that reaches the store after a newer one
// (an activity retried through an outage) leaves the newer one in place, on both dialects; a
// write without a revision (scheduled before revisions existed) loses to any with one and never
// reopens a finished task.
func TestTaskProjectionNeverGoesBackwards(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			task := openTask(f, "wf-t1")
			if err := s.UpsertTask(ctx, task); err != nil {
				t.Fatal(err)
			}
			claimed := task
			claimed.AssigneeID, claimed.Revision = f.leader.ID, 2
			done := claimed
			at := task.DueAt
			done.State, done.Outcome, done.CompletedAt, done.CompletedBy, done.Revision = casework.TaskDone, "approve", &at, f.leader.ID, 3
			for _, w := range []casework.Task{done, claimed, task} { // newest first
				if err := s.ProjectTask(ctx, w, store.AuditEntry{Action: "task.x", CaseID: "wf"}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.TaskByID(ctx, "wf-t1")
			if err != nil || got.State != casework.TaskDone || got.Revision != 3 || got.AssigneeID != f.leader.ID || got.Outcome != "approve" {
				t.Fatalf("after older writes: %+v %v, want revision 3 done", got, err)
			}
			stale := task
			stale.Revision = 0
			if err := s.UpsertTask(ctx, stale); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.TaskByID(ctx, "wf-t1"); got.State != casework.TaskDone || got.Revision != 3 {
				t.Errorf("a write without a revision overwrote revision 3: %+v", got)
			}

			// Rows of before revisions: last write wins, but an open copy never reopens a done task.
			old := openTask(f, "wf-t2")
			old.Revision = 0
			if err := s.UpsertTask(ctx, old); err != nil {
				t.Fatal(err)
			}
			oldDone := old
			oldDone.State, oldDone.CompletedAt, oldDone.CompletedBy = casework.TaskDone, &at, f.leader.ID
			if err := s.UpsertTask(ctx, oldDone); err != nil {
				t.Fatal(err)
			}
			if err := s.UpsertTask(ctx, old); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.TaskByID(ctx, "wf-t2"); got.State != casework.TaskDone {
				t.Errorf("an open write without a revision reopened a done task: %+v", got)
			}
		})
	}
}

// TestLateEscalationAndCompletionInEitherOrder: a rung fires while the task is open (revision 2)
// and the task is completed (revision 3); whichever reaches the store first, the task ends done
// and the superior escalation closed, while the supervision office's stays open.
func TestLateEscalationAndCompletionInEitherOrder(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		f := makeFixture(t, s)
		for _, completionFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/completion_first=%v", name, completionFirst), func(t *testing.T) {
				ctx := context.Background()
				id := fmt.Sprintf("wf-first%v-t1", completionFirst)
				task := openTask(f, id)
				if err := s.UpsertTask(ctx, task); err != nil {
					t.Fatal(err)
				}
				copyAt := func(rung, rev int) *casework.Task {
					c := task
					c.EscalationLevel, c.Revision = rung, rev
					return &c
				}
				esc := func(rung int, target string) store.Escalation {
					return store.Escalation{ID: fmt.Sprintf("%s-r%d", id, rung), Process: "subsidy", CaseID: "wf", TaskID: id,
						TaskKind: task.Kind, Rung: rung, Target: target, UnitID: f.township.ID, UnitPath: f.township.Path,
						SourceUnit: f.school.Code, Reason: "逾期", DueAt: task.DueAt.Add(time.Duration(rung) * time.Hour)}
				}
				escalate := func() {
					// Rung 1 (superior) and rung 2 (supervision) both fired before the completion.
					for rung, target := range map[int]string{1: casework.TargetSuperior, 2: casework.TargetSupervision} {
						if _, err := s.RecordEscalation(ctx, esc(rung, target), copyAt(rung, rung+1),
							store.AuditEntry{Action: "escalation." + target, CaseID: "wf"}); err != nil {
							t.Fatal(err)
						}
					}
				}
				complete := func() {
					done := *copyAt(2, 4)
					at := task.DueAt.Add(3 * time.Hour)
					done.State, done.Outcome, done.CompletedAt, done.CompletedBy = casework.TaskDone, "approve", &at, f.leader.ID
					if err := s.ProjectTask(ctx, done, store.AuditEntry{Action: "task.completed", CaseID: "wf"}); err != nil {
						t.Fatal(err)
					}
				}
				if completionFirst {
					complete()
					escalate()
				} else {
					escalate()
					complete()
				}
				got, err := s.TaskByID(ctx, id)
				if err != nil || got.State != casework.TaskDone || got.Revision != 4 || got.EscalationLevel != 2 {
					t.Fatalf("task = %+v %v, want done at revision 4, level 2", got, err)
				}
				sup, err := s.EscalationByID(ctx, id+"-r1")
				if err != nil || sup.State != casework.EscalationClosed || sup.Decision != "task completed" {
					t.Errorf("superior escalation = %+v %v, want closed: task completed", sup, err)
				}
				if jcs, err := s.EscalationByID(ctx, id+"-r2"); err != nil || jcs.State != casework.EscalationOpen {
					t.Errorf("supervision escalation = %+v %v, want open (it decides itself)", jcs, err)
				}
			})
		}
	}
}

// TestEscalationRecordedLate: an escalation recorded after its due time (the service was down)
// keeps both instants, and its JSON says so.
func TestEscalationRecordedLate(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			due := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
			e := store.Escalation{ID: "wf-r-late", Process: "dropout", CaseID: "wf", Target: casework.TargetSuperior,
				UnitID: f.township.ID, UnitPath: f.township.Path, SourceUnit: f.school.Code, Reason: "逾期", DueAt: due}
			if _, err := s.RecordEscalation(ctx, e, nil, store.AuditEntry{Action: "escalation.superior", CaseID: "wf"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.EscalationByID(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.DueAt.Equal(due) || got.RecordedAt.Sub(due) < 71*time.Hour {
				t.Errorf("due_at %v recorded_at %v, want the due time kept and the recording three days later", got.DueAt, got.RecordedAt)
			}
			b, _ := json.Marshal(got)
			if !strings.Contains(string(b), `"due_at":"`+due.Format(time.RFC3339)) || !strings.Contains(string(b), `"recorded_at":"`) {
				t.Errorf("JSON %s lacks due_at or recorded_at", b)
			}
			if !strings.Contains(string(b), `"created_at":"`+due.Format(time.RFC3339)) {
				t.Errorf("JSON %s lacks created_at, the due time's old name", b)
			}
		})
	}
}

func TestDisbursementChannels(t *testing.T) {
	for name, st := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if got, err := st.DisbursementChannels(ctx); err != nil || strings.Join(got, ",") != "一卡通" {
				t.Fatalf("seeded channels = %v, %v; want [一卡通]", got, err)
			}
			if err := st.SetDisbursementChannels(ctx, []string{"银行卡", "一卡通"}); err != nil {
				t.Fatal(err)
			}
			if got, err := st.DisbursementChannels(ctx); err != nil || strings.Join(got, ",") != "银行卡,一卡通" {
				t.Errorf("channels = %v, %v; want the admin's order", got, err)
			}
			if err := st.SetDisbursementChannels(ctx, []string{"银行卡", "银行卡"}); err == nil {
				t.Error("a channel listed twice was stored")
			}
			if got, _ := st.DisbursementChannels(ctx); strings.Join(got, ",") != "银行卡,一卡通" {
				t.Errorf("a refused change left %v", got)
			}
		})
	}
}
