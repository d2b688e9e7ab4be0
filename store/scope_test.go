package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// TestScopedReadsAreExactPrefixes gives units codes that SQL LIKE would read as patterns or fold
// in case — "_" (any one character), "%" (anything), lowercase (SQLite's LIKE ignores ASCII case),
// "JS_HQ" beside "JS-HQ" — and checks that a person at such a unit reads only that unit's records,
// as access.Within decides, never its look-alike neighbours'. The units are written through the
// store because the API refuses such codes now; databases from before that rule may hold them.
func TestScopedReadsAreExactPrefixes(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			unit := func(code, kind, parent, township string) store.Unit {
				t.Helper()
				u, err := s.CreateUnit(ctx, code, code, kind, parent, township)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			unit("JS", store.KindBureau, "", "")
			t01 := unit("JS-T01", store.KindTownshipSchool, "JS", "T01")
			t02 := unit("JS-T02", store.KindTownshipSchool, "JS", "T02")
			hq := unit("JS-HQ", store.KindCountyHQ, "JS", "")
			schools := []store.Unit{unit("JS-T01-S01", store.KindSchool, "JS-T01", ""), unit("JS-T02-S01", store.KindSchool, "JS-T02", "")}
			lookalikes := []store.Unit{
				unit("JS-T0_", store.KindTownshipSchool, "JS", ""),
				unit("JS-T0%", store.KindTownshipSchool, "JS", ""),
				unit("js-t01", store.KindTownshipSchool, "JS", ""),
				unit("JS_HQ", store.KindCountyHQ, "JS", ""),
			}

			const term = "2026-2027-1"
			if _, err := s.CreateProgramme(ctx, store.Programme{Code: "living", Name: "生活补助", AmountFen: 50000, Stage: "primary"}); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
			for i, school := range schools {
				staff, err := s.CreateUser(ctx, fmt.Sprintf("staff%d", i), "x", "专干", []store.RoleAt{{Role: casework.RoleSchoolStaff, UnitCode: school.Code}})
				if err != nil {
					t.Fatal(err)
				}
				for k := 0; k < 2; k++ { // one with an application, one left out (an omission)
					st, err := s.CreateStudent(ctx, store.Student{StudentNo: fmt.Sprintf("S%d%d", i, k), Name: fmt.Sprintf("学生%d%d", i, k), Sex: "女",
						BirthDate: "2015-03-01", UnitCode: school.Code, Grade: 3, Class: "1班", PovertyRegistered: true})
					if err != nil {
						t.Fatal(err)
					}
					if k == 1 {
						continue
					}
					appID := fmt.Sprintf("subsidy-%d", i)
					if err := s.InsertApplications(ctx, []store.NewApplication{{
						App: store.Application{ID: appID, StudentID: st.ID, ProgrammeCode: "living", Term: term, UnitID: school.ID,
							ApplicantID: staff.ID, State: casework.AppReviewed},
						Applied: store.AuditEntry{EventKey: store.AppliedEventKey(appID, "run"), At: at, ActorID: staff.ID,
							Action: "subsidy.applied", Process: "subsidy", CaseID: appID}}}); err != nil {
						t.Fatal(err)
					}
					if _, err := s.ClaimForBatch(ctx, store.Batch{ID: fmt.Sprintf("publicity-%d", i), UnitID: school.ID, Term: term,
						OpenedBy: staff.ID, OpenedAt: at}, []string{appID}); err != nil {
						t.Fatal(err)
					}
					if err := s.UpsertDropoutCase(ctx, store.DropoutCase{ID: fmt.Sprintf("dropout-%d", i), WorkflowID: fmt.Sprintf("dropout-%d", i),
						StudentID: st.ID, UnitID: school.ID, UnitPath: school.Path, OpenedBy: staff.ID, Reason: "厌学",
						LastAttendedOn: "2026-09-01", State: casework.DropoutOpen}); err != nil {
						t.Fatal(err)
					}
				}
				for _, role := range []string{casework.RoleTownshipStaff, casework.RoleSchoolLeader} {
					if err := s.UpsertTask(ctx, casework.Task{ID: fmt.Sprintf("task-%d-%s", i, role), WorkflowID: fmt.Sprintf("wf-%d", i),
						Process: "subsidy", Kind: "subsidy_review", CaseID: fmt.Sprintf("subsidy-%d", i), Title: "审核", CandidateRole: role,
						UnitID: school.ID, UnitPath: school.Path, State: casework.TaskOpen, Outcomes: "approve", DueAt: at, CreatedAt: at}); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, to := range []store.Unit{t01, t02, hq} {
				if _, err := s.RecordEscalation(ctx, store.Escalation{ID: fmt.Sprintf("esc-%d", i), Process: "dropout", CaseID: "dropout-0",
					Rung: 2, Target: casework.TargetSuperior, UnitID: to.ID, UnitPath: to.Path, SourceUnit: schools[0].Code, Reason: "逾期", DueAt: at},
					nil, store.AuditEntry{Action: "escalation.superior", Process: "dropout", CaseID: "dropout-0"}); err != nil {
					t.Fatal(err)
				}
			}

			// What each read returns for a person at u, counted.
			reads := func(t *testing.T, u store.Unit) map[string]int {
				t.Helper()
				var roles []store.RoleAt
				for _, role := range []string{casework.RoleTownshipStaff, casework.RoleSchoolLeader} {
					roles = append(roles, store.RoleAt{Role: role, UnitCode: u.Code})
				}
				who, err := s.CreateUser(ctx, "at-"+fmt.Sprint(u.ID), "x", "读者", roles)
				if err != nil {
					t.Fatal(err)
				}
				a := actorOf(who)
				scopes := a.Scopes()
				n := map[string]int{}
				count := func(read string, k int, err error) {
					t.Helper()
					if err != nil {
						t.Fatalf("%s: %v", read, err)
					}
					n[read] = k
				}
				sts, err := s.Students(ctx, store.StudentFilter{ScopePath: u.Path})
				count("students", len(sts), err)
				apps, err := s.Applications(ctx, store.ApplicationFilter{ScopePaths: scopes})
				count("applications", len(apps), err)
				bs, err := s.Batches(ctx, scopes, "")
				count("publicity batches", len(bs), err)
				cs, err := s.DropoutCases(ctx, scopes, "", "")
				count("dropout cases", len(cs), err)
				cs, err = s.DropoutCases(ctx, nil, u.Path, "")
				count("dropout cases under the unit", len(cs), err)
				es, err := s.Escalations(ctx, a, store.EscalationFilter{})
				count("escalations", len(es), err)
				om, err := s.Omissions(ctx, scopes, term)
				count("omissions", len(om), err)
				ts, err := s.Inbox(ctx, a, store.TaskFilter{})
				count("inbox", len(ts), err)
				ts, err = s.Inbox(ctx, a, store.TaskFilter{CaseID: "subsidy-0"})
				count("inbox of one case", len(ts), err)
				us, err := s.Units(ctx, u.Path)
				count("units besides its own", len(us)-1, err)
				ps, err := s.Users(ctx, u.Path)
				count("users besides the reader", len(ps)-1, err)
				return n
			}

			// The fixture is worth something only if the real units see their records.
			want := map[string]int{"students": 2, "applications": 1, "publicity batches": 1, "dropout cases": 1,
				"dropout cases under the unit": 1, "escalations": 1, "omissions": 1, "inbox": 2, "inbox of one case": 2,
				"units besides its own": 1, "users besides the reader": 1}
			if got := reads(t, t01); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("JS-T01 reads %v, want %v", got, want)
			}
			if got := reads(t, hq); got["escalations"] != 1 {
				t.Fatalf("JS-HQ reads %d escalations, want its 1", got["escalations"])
			}
			for _, u := range lookalikes {
				for read, k := range reads(t, u) {
					if k != 0 {
						t.Errorf("a person at %s (%s) reads %d %s of other units", u.Code, u.Path, k, read)
					}
				}
			}
			// And what the store returned agrees with Go's rule.
			for _, u := range lookalikes {
				for _, other := range append(schools, t01, t02, hq) {
					if access.Within(other.Path, u.Path) {
						t.Errorf("access.Within(%q, %q): the fixture's look-alikes must not be within each other", other.Path, u.Path)
					}
				}
			}
		})
	}
}

// TestInboxScopeRangeUsesIndexOnPostgres checks that PostgreSQL finds a role's tasks within a
// scope by the byte range in tasks_inbox (text_pattern_ops, migrations 00005–00006): a range
// under the database's collation (plain <, or COLLATE "C") could not use that index, and the
// inbox would read every open task of the role in the county (docs/benchmarks.md, workload 5).
func TestInboxScopeRangeUsesIndexOnPostgres(t *testing.T) {
	t.Parallel()
	s, ok := openStores(t)["postgres"]
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	f := makeFixture(t, s)
	// Mostly other units' and other roles' tasks, so that the scope's range is worth an index.
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO tasks (id, workflow_id, process, kind, case_id, title, candidate_role, unit_id,
		unit_path, state, due_at, created_at)
		SELECT 't' || i, 'wf' || i, 'subsidy', 'k', 'c' || i, 'x', CASE WHEN i % 4 = 0 THEN $1 ELSE $2 END,
		CASE WHEN i % 20 = 0 THEN $3 ELSE $4 END, CASE WHEN i % 20 = 0 THEN $5 ELSE $6 END,
		CASE WHEN i % 3 = 0 THEN 'open' ELSE 'done' END, now() + i * interval '1 minute', now()
		FROM generate_series(1, 20000) i`, casework.RoleSchoolLeader, casework.RoleSchoolStaff,
		f.school.ID, f.other.ID, f.school.Path, f.other.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `VACUUM ANALYZE tasks`); err != nil {
		t.Fatal(err)
	}
	plan, err := s.ExplainInbox(ctx, actorOf(f.leader), store.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// Index-only or bitmap (VACUUM cannot mark pages all-visible while parallel tests hold
	// snapshots), but tasks_inbox's scan must take the range as its index condition.
	text := strings.Join(plan, "\n")
	inbox, ranged := false, false
	for i, line := range plan {
		if strings.Contains(line, "tasks_inbox") && i+1 < len(plan) {
			inbox = true
			cond := plan[i+1]
			ranged = ranged || strings.Contains(cond, "Index Cond:") && strings.Contains(cond, "unit_path ~>=~") && strings.Contains(cond, "unit_path ~<~")
		}
	}
	if !inbox || !ranged {
		t.Errorf("the inbox plan does not find the scope's tasks by a range in tasks_inbox:\n%s", text)
	}
}
