package crash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"syscall"
	"time"

	"jiaofu/apiclient"
	"jiaofu/demo"
)

// world is what the setup created and the load and the check share.
type world struct {
	term              string
	admin, aid, funds *apiclient.Client
	schools           []*school
	ladders           map[string][]int // task or deadline kind → its rungs, as the service holds them
	dropoutsOpened    sync.Map         // student id → when the harness last sent its opening
	unit              time.Duration
	dropouts          int               // dropout cases the load opens
	inspector, jcs    *apiclient.Client // the inspectorate's inspector, the supervision office (who sees every escalation)
	round             string            // the inspection round the findings are recorded on
	findings          []finding         // by index: the load records them in this order
	findingsSent      sync.Map          // index of a finding left to escalate → when the harness last sent it
	// The work plan: its PA office (pa01, who plans and reviews), the lead section's staff
	// (edu01, 教育股) and a cooperating section's (aid01, 资助中心); the plan and its tasks'
	// descriptions, by index.
	pa, edu, aidStaff *apiclient.Client
	plan              string
	planTasks         []string
}

// finding is one finding the load records: at a school, with a description of its own (the
// check finds it on record by it), rectified and accepted or left to climb its deadline's ladder.
type finding struct {
	School      *school
	Description string
	Ignored     bool // left alone: its rectification_due ladder climbs to the supervision office
}

type school struct {
	Code                              string
	Staff, Head                       *apiclient.Client
	TeacherID                         string   // the class teacher's user id (a send-home plan's teacher)
	Subsidy, Dropout, Grant, SendHome []string // student ids, by the process they take part in
}

const password = "crash-password-1"

// setup creates the county through the admin API before the first kill: schools with their
// staff, leader and class teacher, the students, the teacher's 包保 duty for the class (so first
// contact is the teacher's task), the compressed first-contact ladder and the hardship fund.
func (h *harness) setup(ctx context.Context) (*world, error) {
	o := h.o
	w := &world{term: currentTerm(time.Now()), unit: o.Unit, ladders: map[string][]int{}, dropouts: o.Dropouts}
	var err error
	if w.admin, err = h.anon.Login(ctx, "admin", adminPassword); err != nil {
		return nil, err
	}
	if w.aid, err = h.anon.Login(ctx, "aid01", demo.DemoPassword); err != nil {
		return nil, err
	}
	if w.funds, err = h.anon.Login(ctx, "funds01", demo.DemoPassword); err != nil {
		return nil, err
	}
	if w.jcs, err = h.anon.Login(ctx, "jcs01", demo.DemoPassword); err != nil {
		return nil, err
	}
	if err := w.admin.Expect(ctx, 200, "PUT", "/api/v1/admin/escalation-ladders/dropout_first_contact",
		map[string]any{"rungs": firstContactLadder(o.Unit)}, nil); err != nil {
		return nil, err
	}
	if o.SendHome > 0 {
		if err := w.admin.Expect(ctx, 200, "PUT", "/api/v1/admin/escalation-ladders/"+quotaLadder,
			map[string]any{"rungs": visitQuotaLadder(o.Unit)}, nil); err != nil {
			return nil, err
		}
	}
	if o.Findings > 0 {
		if err := w.admin.Expect(ctx, 200, "PUT", "/api/v1/admin/escalation-ladders/"+rectificationLadder,
			map[string]any{"rungs": rectificationDueLadder(o.Unit)}, nil); err != nil {
			return nil, err
		}
		if w.inspector, err = h.anon.Login(ctx, "inspector01", demo.DemoPassword); err != nil {
			return nil, err
		}
	}
	var ladders struct {
		Items []struct {
			TaskKind string `json:"task_kind"`
			Rung     int    `json:"rung"`
		}
	}
	if err := w.admin.Expect(ctx, 200, "GET", "/api/v1/admin/escalation-ladders", nil, &ladders); err != nil {
		return nil, err
	}
	for _, r := range ladders.Items {
		w.ladders[r.TaskKind] = append(w.ladders[r.TaskKind], r.Rung)
	}
	for _, k := range append(dropoutLadders, rectificationLadder, quotaLadder) {
		if len(w.ladders[k]) == 0 {
			return nil, fmt.Errorf("the service holds no ladder %s", k)
		}
	}

	nSchools := (o.Subsidy + o.PerSchool - 1) / o.PerSchool
	n := 0
	for i := 0; i < nSchools; i++ {
		tw := fmt.Sprintf("T%02d", 1+i%len(demo.Townships))
		code := fmt.Sprintf("JS-%s-C%02d", tw, 1+i/len(demo.Townships))
		if err := w.admin.Expect(ctx, 201, "POST", "/api/v1/admin/org-units", map[string]string{"code": code,
			"name": fmt.Sprintf("崩溃测试%s第%d小学", tw, 1+i/len(demo.Townships)), "kind": "school", "parent_code": "JS-" + tw}, nil); err != nil {
			return nil, err
		}
		sc := &school{Code: code}
		for _, role := range []string{"school_staff", "school_leader", "teacher"} {
			name := fmt.Sprintf("crash-%s-%s", lower(code), role)
			var u struct {
				ID string `json:"id"`
			}
			if err := w.admin.Expect(ctx, 201, "POST", "/api/v1/admin/users", map[string]any{"username": name, "password": password,
				"display_name": name, "roles": []map[string]string{{"role": role, "unit_code": code}}}, &u); err != nil {
				return nil, err
			}
			if role == "teacher" {
				sc.TeacherID = u.ID
			}
			c, err := h.anon.Login(ctx, name, password)
			if err != nil {
				return nil, err
			}
			switch role {
			case "school_staff":
				sc.Staff = c
			case "school_leader":
				sc.Head = c
			}
		}
		w.schools = append(w.schools, sc)
	}
	// Students: the subsidy ones school by school; the dropout and grant ones spread over the
	// schools, each a student of its own, so that no process waits on another.
	add := func(sc *school, list *[]string) error {
		n++
		var st struct{ ID string }
		if err := sc.Staff.Expect(ctx, 201, "POST", "/api/v1/admin/students", map[string]any{"student_no": fmt.Sprintf("L9%06d", n),
			"name": fmt.Sprintf("崩溃测试学生%d", n), "sex": []string{"男", "女"}[n%2], "birth_date": "2016-03-12", "unit_code": sc.Code,
			"grade": 4, "class": "1班"}, &st); err != nil {
			return err
		}
		*list = append(*list, st.ID)
		return nil
	}
	for i := 0; i < o.Subsidy; i++ {
		if err := add(w.schools[i/o.PerSchool], &w.schools[i/o.PerSchool].Subsidy); err != nil {
			return nil, err
		}
	}
	for i := 0; i < o.Dropouts; i++ {
		if err := add(w.schools[i%nSchools], &w.schools[i%nSchools].Dropout); err != nil {
			return nil, err
		}
	}
	for i := 0; i < o.Grants; i++ {
		if err := add(w.schools[i%nSchools], &w.schools[i%nSchools].Grant); err != nil {
			return nil, err
		}
	}
	for i := 0; i < o.SendHome; i++ {
		if err := add(w.schools[i%nSchools], &w.schools[i%nSchools].SendHome); err != nil {
			return nil, err
		}
	}
	for i, sc := range w.schools {
		var unit struct{ ID string }
		if err := w.admin.Expect(ctx, 200, "GET", "/api/v1/admin/org-units/"+sc.Code, nil, &unit); err != nil {
			return nil, err
		}
		if err := w.admin.Expect(ctx, 201, "POST", "/api/v1/admin/responsibilities", map[string]string{"subject_kind": "class",
			"subject_id": unit.ID + "/1班", "username": fmt.Sprintf("crash-%s-teacher", lower(w.schools[i].Code))}, nil); err != nil {
			return nil, err
		}
	}
	if o.Findings > 0 {
		// One round over every school, planned before the first kill (a round's id is the
		// service's pick and planning it is no case: the load is the findings).
		codes := make([]string, len(w.schools))
		for i, sc := range w.schools {
			codes[i] = sc.Code
		}
		var r struct{ ID string }
		if err := w.inspector.Expect(ctx, 201, "POST", "/api/v1/inspection-rounds", map[string]any{"term": w.term, "kind": "special",
			"units": codes, "planned_on": time.Now().In(cst).Format("2006-01-02")}, &r); err != nil {
			return nil, err
		}
		w.round = r.ID
		for i := 0; i < o.Findings; i++ {
			w.findings = append(w.findings, finding{School: w.schools[i%nSchools], Ignored: i%2 == 1,
				Description: fmt.Sprintf("崩溃测试督查问题第%d条：资助档案不全", i+1)})
		}
	}
	if o.PlanTasks > 0 {
		for _, u := range []struct {
			name string
			c    **apiclient.Client
		}{{"pa01", &w.pa}, {"edu01", &w.edu}, {"aid01", &w.aidStaff}} {
			if *u.c, err = h.anon.Login(ctx, u.name, demo.DemoPassword); err != nil {
				return nil, err
			}
		}
		var p struct{ ID string }
		if err := w.pa.Expect(ctx, 201, "POST", "/api/v1/plans", map[string]any{"year": time.Now().In(cst).Year(), "title": "崩溃测试工作计划",
			"doc_no": "CRASH-1"}, &p); err != nil {
			return nil, err
		}
		w.plan = p.ID
		for i := 0; i < o.PlanTasks; i++ {
			w.planTasks = append(w.planTasks, fmt.Sprintf("崩溃测试清单任务第%d项：完成资助政策宣传", i+1))
		}
	}
	if o.Grants > 0 {
		// Enough for every grant, below the amount a second person must confirm.
		if err := w.funds.Expect(ctx, 201, "POST", "/api/v1/hardship/donations", map[string]any{"donor": "崩溃测试捐赠方", "donor_kind": "charity",
			"amount_fen": int64(o.Grants)*grantFen + 100_00, "received_on": time.Now().In(cst).Format("2006-01-02"), "reference": "CRASH-FUND-1"}, nil); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// currentTerm is the first term of the school year under way (a school year starts on 1 September,
// China time): the API takes a term of the current or the next school year.
func currentTerm(now time.Time) string {
	y := now.In(cst).Year()
	if now.In(cst).Month() < time.September {
		y--
	}
	return fmt.Sprintf("%d-%d-1", y, y+1)
}

// grantFen is each grant's amount: below JIAOFU_HARDSHIP_PA_OFFICE_ABOVE, so the aid center alone approves it.
const grantFen = 800_00

var cst = time.FixedZone("CST", 8*3600)

// dropoutLadders are the kinds whose rungs a dropout case left alone climbs: its first contact,
// then the return window, then the HQ window.
var dropoutLadders = []string{"dropout_first_contact", "dropout_return_window", "dropout_hq_window"}

// rectificationLadder is the ladder of a finding's rectification deadline (rectification_due):
// a finding nobody rectifies climbs every rung of it.
const rectificationLadder = "rectification_due"

// quotaLadder is the ladder of a send-home plan's period left short of its visits (visit_quota).
const quotaLadder = "visit_quota"

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// call sends one request until the service answers it: a refused or reset connection, a 5xx or a
// 503 — the service killed, starting again, or its worker not yet back — is sent again after a
// pause, for up to five minutes. uncertain tells that a write may have been done by an attempt
// whose answer was lost: the caller relies on the API refusing a repeat (409), or, for a create
// whose id the service picks, on the Idempotency-Key the client sends (keyed).
func (h *harness) call(ctx context.Context, c *apiclient.Client, method, path string, body any) (code int, raw []byte, uncertain bool, err error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		code, raw, err = c.DoRaw(ctx, method, path, body)
		if err == nil && code < 500 {
			if uncertain {
				h.resent.Add(1)
				if code == 409 {
					h.refusedRepeats.Add(1)
				}
			}
			return code, raw, uncertain, nil
		}
		if ctx.Err() != nil {
			return code, raw, uncertain, ctx.Err()
		}
		// A refused connection never reached a server (the service was down): nothing was done,
		// so its resend is not a repeat. Any other failure of a write may have lost its answer.
		if method != "GET" && !errors.Is(err, syscall.ECONNREFUSED) {
			uncertain = true
		}
		h.retries.Add(1)
		if time.Now().After(deadline) {
			return code, raw, uncertain, fmt.Errorf("%s %s: no answer in 5m0s: %v", method, path, err)
		}
		select {
		case <-ctx.Done():
			return code, raw, uncertain, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// keyed sends a create whose id the service picks (a hardship grant, a finding) with an
// Idempotency-Key, as call does: resent after a lost answer with the same key, it must be answered
// with the case the first attempt started (201 or 202 with its id), never a second case — the
// check counts the cases on record. It returns the case's id.
func (h *harness) keyed(ctx context.Context, c *apiclient.Client, key, path string, body any) (string, error) {
	code, raw, uncertain, err := h.call(ctx, c.WithHeader("Idempotency-Key", key), "POST", path, body)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if code != 201 && code != 202 || json.Unmarshal(raw, &out) != nil || out.ID == "" {
		return "", fmt.Errorf("POST %s: %d %.300s", path, code, raw)
	}
	if uncertain {
		h.keyedRepeats.Add(1)
	}
	return out.ID, nil
}

// expect is call for a read (or a write the API takes again) that must answer 200.
func (h *harness) expect(ctx context.Context, c *apiclient.Client, method, path string, body, out any) error {
	code, raw, _, err := h.call(ctx, c, method, path, body)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("%s %s: %d %.300s", method, path, code, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// read is expect for a GET of a case that may not be recorded yet (its create answered 202): found
// is false on a 404.
func (h *harness) read(ctx context.Context, c *apiclient.Client, path string, out any) (found bool, err error) {
	code, raw, _, err := h.call(ctx, c, "GET", path, nil)
	switch {
	case err != nil:
		return false, err
	case code == 404:
		return false, nil
	case code != 200:
		return false, fmt.Errorf("GET %s: %d %.300s", path, code, raw)
	}
	return true, json.Unmarshal(raw, out)
}

// errorCode is the stable code (and reason) of a refusal's body.
func errorCode(raw []byte) (code, reason string) {
	var e struct {
		Error struct {
			Code   string `json:"code"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Error.Code, e.Error.Reason
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// poll calls cond every pause until it is true, ctx ends or within passes.
func poll(ctx context.Context, within, pause time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// completeOpen completes the caller's open task of kind on caseID, if there is one. A 409 is
// fine: the task was done by an attempt whose answer was lost, or the case moved on; the caller
// reads the case again either way.
func (h *harness) completeOpen(ctx context.Context, c *apiclient.Client, kind, caseID string, body any) error {
	var inbox struct{ Items []struct{ ID string } }
	if err := h.expect(ctx, c, "GET", "/api/v1/tasks?status=open&kind="+kind+"&case_id="+url.QueryEscape(caseID), nil, &inbox); err != nil {
		return err
	}
	for _, t := range inbox.Items {
		code, raw, _, err := h.call(ctx, c, "POST", "/api/v1/tasks/"+t.ID+"/complete", body)
		if err != nil {
			return err
		}
		if code != 200 && code != 202 && code != 409 {
			return fmt.Errorf("complete %s %s: %d %.300s", kind, t.ID, code, raw)
		}
	}
	return nil
}

// load runs every case's driver; each gives up (an error in the report) only after its own bound.
func (h *harness) load(ctx context.Context, w *world) {
	var wg sync.WaitGroup
	// The keyed creates (findings, grants) are spread over two mean kill gaps rather than sent
	// at once at the start, before the first kill can fall: so that kills land while some of them
	// are in flight and their Idempotency-Key is used on answers really lost.
	keyedN, keyedI := len(w.findings), 0
	for _, sc := range w.schools {
		keyedN += len(sc.Grant)
	}
	spread := func() time.Duration {
		d := 2 * h.o.KillGap * time.Duration(keyedI) / time.Duration(max(keyedN, 1))
		keyedI++
		return d
	}
	for i, desc := range w.planTasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.planTask(ctx, w, desc); err != nil {
				h.fail("plan task %d: %v", i+1, err)
			}
		}()
	}
	for _, sc := range w.schools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.subsidySchool(ctx, w, sc); err != nil {
				h.fail("subsidy at %s: %v", sc.Code, err)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, st := range sc.Dropout {
				if err := h.openDropout(ctx, w, sc, st); err != nil {
					h.fail("dropout case of %s at %s: %v", st, sc.Code, err)
				}
			}
		}()
		for i, f := range w.findings {
			if f.School != sc {
				continue
			}
			wg.Add(1)
			after := spread()
			go func() {
				defer wg.Done()
				if !sleep(ctx, after) {
					return
				}
				if err := h.finding(ctx, w, i, f); err != nil {
					h.fail("finding %d at %s: %v", i+1, sc.Code, err)
				}
			}()
		}
		for _, st := range sc.SendHome {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.sendHome(ctx, w, sc, st); err != nil {
					h.fail("send-home plan of %s at %s: %v", st, sc.Code, err)
				}
			}()
		}
		for _, st := range sc.Grant {
			wg.Add(1)
			after := spread()
			go func() {
				defer wg.Done()
				if !sleep(ctx, after) {
					return
				}
				if err := h.grant(ctx, w, sc, st); err != nil {
					h.fail("hardship grant of %s at %s: %v", st, sc.Code, err)
				}
			}()
		}
	}
	wg.Wait()
}

type application struct {
	ID        string `json:"id"`
	StudentID string `json:"student_id"`
	Status    string `json:"status"`
}

func (h *harness) applications(ctx context.Context, w *world, sc *school, status string) ([]application, error) {
	var out struct{ Items []application }
	q := "/api/v1/subsidy-applications?limit=1000&term=" + url.QueryEscape(w.term) + "&unit=" + url.QueryEscape(sc.Code)
	if status != "" {
		q += "&status=" + status
	}
	return out.Items, h.expect(ctx, sc.Staff, "GET", q, nil, &out)
}

// subsidySchool carries one school's applications through: the staff apply for every student,
// the leader reviews (approves) each, the staff open one publicity batch of them all, the aid
// center signs it off when its period is over, and the applications are disbursed. Every step
// is driven by what the service shows, so a step whose answer a kill lost is neither repeated
// nor skipped.
func (h *harness) subsidySchool(ctx context.Context, w *world, sc *school) error {
	for _, st := range sc.Subsidy {
		code, raw, _, err := h.call(ctx, sc.Staff, "POST", "/api/v1/subsidy-applications", map[string]string{"student_id": st,
			"programme": "living-primary", "term": w.term, "evidence_note": "低保户，村委会证明"})
		if err != nil {
			return err
		}
		// The application's id derives from (student, programme, term): a repeat is a 409
		// duplicate and changes nothing, whether or not the first attempt's answer came back.
		if c, _ := errorCode(raw); code != 201 && code != 202 && !(code == 409 && c == "duplicate") {
			return fmt.Errorf("apply for %s: %d %.300s", st, code, raw)
		}
	}
	n := len(sc.Subsidy)
	bound := 10*time.Minute + time.Duration(n)*2*time.Second
	mine := map[string]bool{}
	if err := poll(ctx, bound, 2*time.Second, "every application reviewed", func() (bool, error) {
		apps, err := h.applications(ctx, w, sc, "")
		if err != nil {
			return false, err
		}
		reviewed := 0
		for _, a := range apps {
			mine[a.ID] = true
			switch a.Status {
			case "reviewed":
				reviewed++
			case "submitted", "in_review":
			default:
				return false, fmt.Errorf("application %s is %s before its batch", a.ID, a.Status)
			}
		}
		if reviewed == n {
			return true, nil
		}
		// The leader's inbox holds the school's reviews (at most 500 a page; a school has fewer).
		var inbox struct {
			Items []struct {
				ID     string `json:"id"`
				CaseID string `json:"case_id"`
			}
		}
		if err := h.expect(ctx, sc.Head, "GET", "/api/v1/tasks?status=open&kind=subsidy_review&limit=500", nil, &inbox); err != nil {
			return false, err
		}
		for _, t := range inbox.Items {
			if !mine[t.CaseID] {
				continue
			}
			code, raw, _, err := h.call(ctx, sc.Head, "POST", "/api/v1/tasks/"+t.ID+"/complete", map[string]string{"outcome": "approve", "comment": "崩溃测试审核"})
			if err != nil {
				return false, err
			}
			if code != 200 && code != 202 && code != 409 { // 409: done by an attempt whose answer a kill lost
				return false, fmt.Errorf("review %s: %d %.300s", t.CaseID, code, raw)
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	// One batch of all of them. Look before opening: a batch opened by an attempt whose answer
	// was lost is on the list (its id is the school's, the term's and the count's, so a repeat
	// while the first is still being recorded is a 409 "opening").
	var batch batchRow
	if err := poll(ctx, bound, time.Second, "the publicity batch opened", func() (bool, error) {
		b, ok, err := h.batchOf(ctx, w, sc)
		if err != nil || ok {
			batch = b
			return ok, err
		}
		code, raw, _, err := h.call(ctx, sc.Staff, "POST", "/api/v1/publicity-batches", map[string]string{"school_unit": sc.Code, "term": w.term})
		if err != nil {
			return false, err
		}
		if code != 201 && code != 202 && code != 409 {
			return false, fmt.Errorf("open the batch: %d %.300s", code, raw)
		}
		return false, nil
	}); err != nil {
		return err
	}
	return poll(ctx, bound, 2*time.Second, "every application disbursed", func() (bool, error) {
		b, _, err := h.batchOf(ctx, w, sc)
		if err != nil {
			return false, err
		}
		if b.EndsAt != nil && time.Now().After(*b.EndsAt) {
			if err := h.completeOpen(ctx, w.aid, "publicity_signoff", batch.ID, map[string]string{"outcome": "approve", "comment": "崩溃测试审定"}); err != nil {
				return false, err
			}
		}
		apps, err := h.applications(ctx, w, sc, "disbursed")
		return len(apps) == n, err
	})
}

type batchRow struct {
	ID     string     `json:"id"`
	Unit   string     `json:"school_unit"`
	Term   string     `json:"term"`
	State  string     `json:"state"`
	EndsAt *time.Time `json:"ends_at"`
}

func (h *harness) batchOf(ctx context.Context, w *world, sc *school) (batchRow, bool, error) {
	var out struct{ Items []batchRow }
	if err := h.expect(ctx, sc.Staff, "GET", "/api/v1/publicity-batches", nil, &out); err != nil {
		return batchRow{}, false, err
	}
	for _, b := range out.Items {
		if b.Unit == sc.Code && b.Term == w.term {
			return b, true, nil
		}
	}
	return batchRow{}, false, nil
}

// openDropout opens a student's dropout case, which then climbs every rung: nobody contacts the
// family and the student does not return. A student has one open case: a repeat is a 409.
func (h *harness) openDropout(ctx context.Context, w *world, sc *school, st string) error {
	w.dropoutsOpened.Store(st, time.Now())
	code, raw, _, err := h.call(ctx, sc.Staff, "POST", "/api/v1/dropout-cases", map[string]string{"student_id": st, "reason": "厌学",
		"last_attended_on": time.Now().In(cst).Format("2006-01-02")})
	if err != nil {
		return err
	}
	if c, _ := errorCode(raw); code != 201 && code != 202 && !(code == 409 && c == "duplicate") {
		return fmt.Errorf("open: %d %.300s", code, raw)
	}
	w.dropoutsOpened.Store(st, time.Now()) // its rungs count from no later than this answer
	return nil
}

// finding records finding i of the round with an Idempotency-Key (a repeat after a lost answer
// gets the finding the first attempt started). A finding left to escalate is done then: its
// deadline is the compressed JIAOFU_RECTIFICATION_DUE and nobody rectifies it. Any other has a
// deadline of tomorrow (so no rung can fall due in the run), is rectified by its school's leader
// and accepted by the inspector.
func (h *harness) finding(ctx context.Context, w *world, i int, f finding) error {
	body := map[string]string{"unit_code": f.School.Code, "area": "student_aid", "severity": "major", "description": f.Description}
	if f.Ignored {
		w.findingsSent.Store(i, time.Now())
	} else {
		body["rectify_by"] = time.Now().In(cst).AddDate(0, 0, 1).Format("2006-01-02")
	}
	id, err := h.keyed(ctx, w.inspector, fmt.Sprintf("crash-finding-%d", i+1), "/api/v1/inspection-rounds/"+w.round+"/findings", body)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if f.Ignored {
		w.findingsSent.Store(i, time.Now()) // its rungs count from no later than this answer
		return nil
	}
	return poll(ctx, 10*time.Minute, 2*time.Second, "the finding closed", func() (bool, error) {
		var d struct {
			Finding struct{ State string } `json:"finding"`
		}
		if found, err := h.read(ctx, f.School.Head, "/api/v1/findings/"+id, &d); err != nil || !found {
			return false, err // not found: answered 202, its record not written yet
		}
		switch d.Finding.State {
		case "rectifying":
			// A 409: the rectification task is not open yet, or an attempt whose answer was
			// lost submitted it; the finding is read again either way.
			code, raw, _, err := h.call(ctx, f.School.Head, "POST", "/api/v1/findings/"+id+"/rectifications",
				map[string]string{"summary": "已补齐资助档案", "evidence_note": "档案目录及照片"})
			if err != nil {
				return false, err
			}
			if code != 200 && code != 409 {
				return false, fmt.Errorf("rectify %s: %d %.300s", id, code, raw)
			}
			return false, nil
		case "reviewing":
			return false, h.completeOpen(ctx, w.inspector, "rectification_review", id, map[string]string{"outcome": "accept"})
		case "closed":
			return true, nil
		}
		return false, fmt.Errorf("finding %s is %s", id, d.Finding.State)
	})
}

// sendHome starts a student's send-home plan of one visit a period (sendHomePeriodUnits units)
// that nobody visits, so its first period ends short and climbs every rung of the visit_quota
// ladder; once they are all on record, the plan is ended (the child moved), well before the second
// period ends. A student has one running plan: a repeat of the start is a 409 duplicate.
func (h *harness) sendHome(ctx context.Context, w *world, sc *school, st string) error {
	code, raw, _, err := h.call(ctx, sc.Staff, "POST", "/api/v1/send-home-plans", map[string]any{"student_id": st,
		"disability_type": "肢体残疾", "disability_grade": "一级", "teacher_ids": []string{sc.TeacherID}, "goals": "崩溃测试：生活自理训练",
		"visits_per_period": 1, "period": (sendHomePeriodUnits * w.unit).String(), "min_minutes": 60})
	if err != nil {
		return err
	}
	if c, _ := errorCode(raw); code != 201 && code != 202 && !(code == 409 && c == "duplicate") {
		return fmt.Errorf("start: %d %.300s", code, raw)
	}
	var plan struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := poll(ctx, 5*time.Minute, time.Second, "the plan recorded", func() (bool, error) {
		var out struct {
			Items []struct {
				ID        string `json:"id"`
				StudentID string `json:"student_id"`
				State     string `json:"state"`
			}
		}
		if err := h.expect(ctx, sc.Staff, "GET", "/api/v1/send-home-plans?unit="+url.QueryEscape(sc.Code), nil, &out); err != nil {
			return false, err
		}
		for _, p := range out.Items {
			if p.StudentID == st {
				plan.ID, plan.State = p.ID, p.State
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	want := len(w.ladders[quotaLadder])
	if err := poll(ctx, time.Duration(sendHomePeriodUnits+20)*w.unit+5*time.Minute, time.Second, "the first period's rungs", func() (bool, error) {
		var out struct {
			Items []struct {
				TaskKind string `json:"task_kind"`
			}
		}
		if err := h.expect(ctx, w.jcs, "GET", "/api/v1/escalations?limit=500&case_id="+url.QueryEscape(plan.ID), nil, &out); err != nil {
			return false, err
		}
		n := 0
		for _, e := range out.Items {
			if e.TaskKind == quotaLadder {
				n++
			}
		}
		return n >= want, nil
	}); err != nil {
		return err
	}
	code, raw, _, err = h.call(ctx, sc.Staff, "POST", "/api/v1/send-home-plans/"+plan.ID+"/end", map[string]string{"reason": "moved", "note": "崩溃测试：迁出本县"})
	if err != nil {
		return err
	}
	// A 409: an attempt whose answer was lost ended it.
	if code != 200 && code != 409 {
		return fmt.Errorf("end %s: %d %.300s", plan.ID, code, raw)
	}
	return nil
}

// planTask puts a task on the work plan (led by 教育股, 资助中心 cooperating, due tomorrow so
// that no rung of its deadline can fall due in the run) and carries it to 销号: the cooperating
// section contributes, the lead section declares it done, the PA office accepts. Its id derives
// from the plan and its fields: a repeat is 409 duplicate, and the driver finds it by its
// description either way.
func (h *harness) planTask(ctx context.Context, w *world, desc string) error {
	code, raw, _, err := h.call(ctx, w.pa, "POST", "/api/v1/plans/"+w.plan+"/tasks", map[string]any{"level1": "学生资助", "level2": "政策宣传",
		"description": desc, "lead_unit": "JS-JYG", "cooperating_units": []string{demo.AidCenterCode},
		"due_on": time.Now().In(cst).AddDate(0, 0, 1).Format("2006-01-02")})
	if err != nil {
		return err
	}
	if c, _ := errorCode(raw); code != 201 && code != 202 && !(code == 409 && c == "duplicate") {
		return fmt.Errorf("add: %d %.300s", code, raw)
	}
	return poll(ctx, 10*time.Minute, 2*time.Second, "the plan task closed", func() (bool, error) {
		var out struct {
			Items []struct {
				ID          string `json:"id"`
				Description string `json:"description"`
				State       string `json:"state"`
			}
		}
		if err := h.expect(ctx, w.pa, "GET", "/api/v1/plan-tasks?plan_id="+url.QueryEscape(w.plan), nil, &out); err != nil {
			return false, err
		}
		for _, t := range out.Items {
			if t.Description != desc {
				continue
			}
			switch t.State {
			case "opening":
				return false, nil
			case "in_progress":
				if err := h.completeOpen(ctx, w.aidStaff, "plan_task_contribution", t.ID, map[string]any{"outcome": "contributed",
					"fields": map[string]string{"summary": "已配合印发宣传材料"}}); err != nil {
					return false, err
				}
				return false, h.completeOpen(ctx, w.edu, "plan_task", t.ID, map[string]any{"outcome": "done",
					"fields": map[string]string{"summary": "已完成宣传", "evidence_note": "宣传照片及签到表"}})
			case "reviewing":
				return false, h.completeOpen(ctx, w.pa, "plan_task_review", t.ID, map[string]string{"outcome": "accept"})
			case "closed":
				return true, nil
			}
			return false, fmt.Errorf("plan task %s is %s", t.ID, t.State)
		}
		return false, nil // not listed yet
	})
}

// sendHomePeriodUnits is a send-home plan's period in units: the first period's ladder (6 units)
// is on record well before the second period ends, so ending the plan then leaves exactly one
// period's rungs.
const sendHomePeriodUnits = 20

// activityRetryHorizon is the activities' start-to-close timeout with a margin.
const activityRetryHorizon = 45 * time.Second

type grantRow struct {
	ID        string `json:"id"`
	StudentID string `json:"student_id"`
	State     string `json:"state"`
}

// grant carries one hardship grant through: applied for by the staff, verified by the school's
// leader, approved by the aid center, paid by the funds center.
func (h *harness) grant(ctx context.Context, w *world, sc *school, st string) error {
	// One key per student: the harness applies once for each, so a repeat is always a resend.
	id, err := h.keyed(ctx, sc.Staff, "crash-grant-"+st, "/api/v1/hardship/grants", map[string]any{"student_id": st,
		"amount_fen": grantFen, "reason": "崩溃测试：家中突发变故", "hardship_kind": "family_change"})
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	g := grantRow{ID: id}
	return poll(ctx, 10*time.Minute, 2*time.Second, "the grant paid", func() (bool, error) {
		var d struct {
			Grant grantRow `json:"grant"`
		}
		if found, err := h.read(ctx, sc.Staff, "/api/v1/hardship/grants/"+g.ID, &d); err != nil || !found {
			return false, err // not found: answered 202, its record not written yet
		}
		switch d.Grant.State {
		case "verifying":
			return false, h.completeOpen(ctx, sc.Head, "hardship_verification", g.ID, map[string]string{"outcome": "approve"})
		case "approving":
			return false, h.completeOpen(ctx, w.aid, "hardship_approval", g.ID, map[string]string{"outcome": "approve"})
		case "approved":
			return false, h.completeOpen(ctx, w.funds, "hardship_disbursement", g.ID, map[string]any{"outcome": "disburse",
				"fields": map[string]string{"channel": "一卡通", "reference": "CRASH-PAY-" + g.ID}})
		case "disbursed":
			return true, nil
		}
		return false, fmt.Errorf("grant %s is %s", g.ID, d.Grant.State)
	})
}

// settle waits, after the last kill, until the dropout cases' last rungs have fallen due and then
// until every expected escalation is on record (or three minutes more have passed: what is still
// missing then is a finding, counted by the check).
func (h *harness) settle(ctx context.Context, w *world) error {
	u := w.unit
	// An activity a kill interrupted is retried when its start-to-close timeout (30 s,
	// workflows/humantask.go) fires after the restart: until then a case may show its new state
	// without the rest of the activity's writes (a disbursement without its audit entry).
	last := time.Unix(0, h.lastReady.Load()).Add(activityRetryHorizon)
	w.dropoutsOpened.Range(func(_, v any) bool {
		if t := v.(time.Time).Add(16*u + 2*u); t.After(last) {
			last = t
		}
		return true
	})
	w.findingsSent.Range(func(_, v any) bool {
		// Due 5 units after it was recorded, its last rung 6 units after that.
		if t := v.(time.Time).Add(11*u + 2*u); t.After(last) {
			last = t
		}
		return true
	})
	h.logf("waiting %s for the dropout cases' last rungs to fall due and interrupted activities to be retried", max(0, time.Until(last)).Round(time.Second))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(last)):
	}
	want := 0
	for _, k := range dropoutLadders {
		want += len(w.ladders[k])
	}
	jcs, err := h.anon.Login(ctx, "jcs01", demo.DemoPassword)
	if err != nil {
		return err
	}
	if err := poll(ctx, 3*time.Minute, 5*time.Second, "every dropout escalation on record", func() (bool, error) {
		var out struct {
			Items []struct {
				CaseID string `json:"case_id"`
			}
		}
		var cases struct {
			Items []struct {
				ID        string `json:"id"`
				StudentID string `json:"student_id"`
			}
		}
		if err := h.expect(ctx, w.admin, "GET", "/api/v1/dropout-cases", nil, &cases); err != nil {
			return false, err
		}
		short, ours := 0, 0
		for _, c := range cases.Items {
			if _, ok := w.dropoutsOpened.Load(c.StudentID); !ok {
				continue // the demo's own cases
			}
			ours++
			if err := h.expect(ctx, jcs, "GET", "/api/v1/escalations?limit=500&case_id="+url.QueryEscape(c.ID), nil, &out); err != nil {
				return false, err
			}
			if len(out.Items) < want {
				short++
			}
		}
		if short > 0 {
			h.logf("%d of %d dropout cases still short of their %d escalations", short, ours, want)
		}
		return short == 0 && ours >= w.dropouts, nil
	}); err != nil {
		return err
	}
	if w.round == "" {
		return nil
	}
	ignored := 0
	for _, f := range w.findings {
		if f.Ignored {
			ignored++
		}
	}
	wantF := len(w.ladders[rectificationLadder])
	return poll(ctx, 3*time.Minute, 5*time.Second, "every finding's escalation on record", func() (bool, error) {
		var rv struct {
			Findings []struct {
				ID          string `json:"id"`
				Description string `json:"description"`
			} `json:"findings"`
		}
		if err := h.expect(ctx, w.inspector, "GET", "/api/v1/inspection-rounds/"+w.round, nil, &rv); err != nil {
			return false, err
		}
		ignoredDesc := map[string]bool{}
		for _, f := range w.findings {
			ignoredDesc[f.Description] = f.Ignored
		}
		short, ours := 0, 0
		for _, f := range rv.Findings {
			if !ignoredDesc[f.Description] {
				continue
			}
			ours++
			var out struct{ Items []struct{ ID string } }
			if err := h.expect(ctx, jcs, "GET", "/api/v1/escalations?limit=500&case_id="+url.QueryEscape(f.ID), nil, &out); err != nil {
				return false, err
			}
			if len(out.Items) < wantF {
				short++
			}
		}
		if short > 0 {
			h.logf("%d of %d findings left alone still short of their %d escalations", short, ours, wantF)
		}
		return short == 0 && ours >= ignored, nil
	})
}
