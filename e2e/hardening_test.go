package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/demo"
	"jiaofu/store"
)

// consolePage logs username into the console with a plain HTTP client (no browser) and returns
// the HTML of path.
func consolePage(t *testing.T, base, username, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(p string) string {
		t.Helper()
		resp, err := hc.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindStringSubmatch(get("/console/login"))
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	resp, err := hc.PostForm(base+"/console/login", url.Values{"username": {username}, "password": {demo.DemoPassword}, "_csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return get(path)
}

// TestHardeningPublicity (issue 15, items 1 and 4): an objector's contact reaches only the
// objection's reviewers and the supervision office — through the API, the console and the
// timeline — and the sign-off pays only through a channel on the admin's list.
func TestHardeningPublicity(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	admin, staff, head, aid := anon.as("admin"), anon.as("staff01"), anon.as("head01"), anon.as("aid01")

	app, batchID, pub := publicized(t, anon, staff, head)
	const contact, reason = "13912345678", "其家庭有商铺两间"
	if code := anon.do("POST", "/public/publicity-batches/"+batchID+"/objections",
		map[string]string{"entry_id": pub.Entries[0].EntryID, "reason": reason, "contact": contact}, nil); code != 201 {
		t.Fatalf("objection: %d", code)
	}
	review := aid.waitTask("objection_review", batchID)

	type batchView struct{ Objections []casework.Objection }
	for _, who := range []string{"aid01", "jcs01"} {
		var v batchView
		anon.as(who).do("GET", "/api/v1/publicity-batches/"+batchID, nil, &v)
		if len(v.Objections) != 1 || v.Objections[0].Contact != contact {
			t.Errorf("%s (a reviewer or supervision) sees objections %+v, want the contact", who, v.Objections)
		}
	}
	for _, who := range []string{"staff01", "teacher01", "head01", "township01"} {
		c := anon.as(who)
		code, body := c.raw("GET", "/api/v1/publicity-batches/"+batchID, nil)
		if code != 200 || strings.Contains(body, contact) {
			t.Errorf("%s reads the batch: %d, shows the objector's contact: %s", who, code, body)
		}
		if !strings.Contains(body, reason) {
			t.Errorf("%s does not see the objection and its reason: %s", who, body)
		}
		if code, body := c.raw("GET", "/api/v1/cases/"+batchID+"/timeline", nil); code != 200 || strings.Contains(body, contact) {
			t.Errorf("%s reads the batch timeline: %d, shows the contact: %s", who, code, body)
		}
	}
	if html := consolePage(t, anon.base, "staff01", "/console/subsidy/batches/"+batchID); !strings.Contains(html, reason) || strings.Contains(html, contact) {
		t.Errorf("the console's batch page for staff01 shows the contact or hides the objection")
	}
	if html := consolePage(t, anon.base, "aid01", "/console/subsidy/batches/"+batchID); !strings.Contains(html, contact) {
		t.Errorf("the console's batch page for aid01 lacks the contact")
	}

	// Disbursement channels: anyone logged in reads the list, only the admin changes it.
	var chans struct{ Items []string }
	if code := staff.do("GET", "/api/v1/admin/disbursement-channels", nil, &chans); code != 200 || len(chans.Items) != 1 || chans.Items[0] != "一卡通" {
		t.Fatalf("channels: %d %v, want [一卡通] seeded", code, chans.Items)
	}
	staff.expectError("PUT", "/api/v1/admin/disbursement-channels", map[string]any{"items": []string{"现金"}}, 403, "")
	admin.expectError("PUT", "/api/v1/admin/disbursement-channels", map[string]any{"items": []string{}}, 400, "items")
	admin.expectError("PUT", "/api/v1/admin/disbursement-channels", map[string]any{"items": []string{"一卡通", " "}}, 400, "items[1]")
	if code := admin.do("PUT", "/api/v1/admin/disbursement-channels", map[string]any{"items": []string{"一卡通", "银行卡"}}, &chans); code != 200 || len(chans.Items) != 2 {
		t.Fatalf("put channels: %d %v", code, chans.Items)
	}

	if code := aid.do("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "dismiss"}, nil); code != 200 {
		t.Fatalf("dismiss: %d", code)
	}
	signoff := aid.waitTask("publicity_signoff", batchID)
	e := aid.expectError("POST", "/api/v1/tasks/"+signoff.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "bogus channel"}}, 400, "fields.channel")
	if !strings.Contains(e.Error.Message, "银行卡") {
		t.Errorf("the refusal does not list the channels: %s", e.Error.Message)
	}
	if html := consolePage(t, anon.base, "aid01", "/console/tasks/"+signoff.ID); !strings.Contains(html, `<option value="银行卡"`) {
		t.Errorf("the sign-off form does not offer the channels as a select")
	}
	if code := aid.do("POST", "/api/v1/tasks/"+signoff.ID+"/complete", map[string]any{"outcome": "approve", "fields": map[string]string{"channel": "银行卡"}}, nil); code != 200 {
		t.Fatalf("sign-off: %d", code)
	}
	staff.waitStatus(app.ID, casework.AppDisbursed)
	var full struct{ Disbursement *store.Disbursement }
	staff.do("GET", "/api/v1/subsidy-applications/"+app.ID, nil, &full)
	if full.Disbursement == nil || full.Disbursement.Channel != "银行卡" {
		t.Errorf("disbursement %+v, want through 银行卡", full.Disbursement)
	}
}

// TestHardeningTerm (issue 15, item 5): only this school year's and the next one's terms.
func TestHardeningTerm(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff := anon.as("staff01")
	zhang := staff.studentOf("张小三")

	// The test machine's clock decides; a school year starts on 1 September, China time.
	thisYear := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, -8, 0).Year()
	yr := func(a int) string { return fmt.Sprintf("%d-%d", a, a+1) }
	for _, bad := range []string{yr(thisYear+4) + "-2", yr(thisYear-1) + "-2"} {
		e := staff.expectError("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": bad}, 400, "term")
		want := fmt.Sprintf("%d–%d or %d–%d school year", thisYear, thisYear+1, thisYear+1, thisYear+2)
		if !strings.Contains(e.Error.Message, want) {
			t.Errorf("term %s: message %q does not say %q", bad, e.Error.Message, want)
		}
		e.wantReason(t, "term_window", "this_year", yr(thisYear), "next_year", yr(thisYear+1))
	}
	var bulk struct {
		Items []struct{ Error *struct{ Field string } }
	}
	staff.do("POST", "/api/v1/subsidy-applications/bulk", map[string]any{"items": []map[string]string{
		{"student_id": zhang.ID, "programme": "living-primary", "term": yr(thisYear+4) + "-1"}}}, &bulk)
	if len(bulk.Items) != 1 || bulk.Items[0].Error == nil || bulk.Items[0].Error.Field != "term" {
		t.Errorf("bulk with a far term: %+v", bulk.Items)
	}
	nextYear := map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": yr(thisYear+1) + "-2"}
	if code := staff.do("POST", "/api/v1/subsidy-applications", nextYear, nil); code != 201 {
		t.Errorf("a term of next school year: %d, want 201", code)
	}

	// An administrator opens a past term (a school that missed it): applications for it are
	// accepted, other past terms still refused; only the admin may open terms.
	past := yr(thisYear-1) + "-2"
	admin := anon.as("admin")
	staff.expectError("PUT", "/api/v1/admin/open-terms", map[string]any{"items": []string{past}}, 403, "")
	admin.expectError("PUT", "/api/v1/admin/open-terms", map[string]any{"items": []string{"2026-2028-1"}}, 400, "items[0]")
	if code := admin.do("PUT", "/api/v1/admin/open-terms", map[string]any{"items": []string{past}}, nil); code != 200 {
		t.Fatalf("open a past term: %d", code)
	}
	var open struct{ Items []string }
	admin.do("GET", "/api/v1/admin/open-terms", nil, &open)
	if len(open.Items) != 1 || open.Items[0] != past {
		t.Errorf("open terms = %v, want [%s]", open.Items, past)
	}
	if code := staff.do("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": past}, nil); code != 201 {
		t.Errorf("a term the admin opened: %d, want 201", code)
	}
	e := staff.expectError("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": zhang.ID, "programme": "living-primary", "term": yr(thisYear-1) + "-1"}, 400, "term")
	if !strings.Contains(e.Error.Message, "an administrator can open another term") {
		t.Errorf("a past term not opened: %q", e.Error.Message)
	}
}

// TestHardeningFilters (issue 15, item 14): unknown filter values name the parameter and list
// what it takes; the filter of an application's status is status, and the old name still works.
func TestHardeningFilters(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff := anon.as("staff01")
	apply(t, staff, staff.studentOf("张小三").ID, "living-primary", "") // submitted, in head01's inbox
	anon.as("head01").waitTask("subsidy_review", "subsidy-")

	// Unknown filter values name the parameter; the old names keep working.
	for _, q := range []struct{ path, field string }{
		{"/api/v1/subsidy-applications?status=bogus", "status"},
		{"/api/v1/subsidy-applications?state=bogus", "state"},
		{"/api/v1/dropout-cases?state=bogus", "state"},
		{"/api/v1/tasks?process=bogus", "process"},
		{"/api/v1/tasks?kind=bogus", "kind"},
		{"/api/v1/tasks?state=bogus", "state"},
		{"/api/v1/tasks?status=bogus", "status"},
		{"/api/v1/publicity-batches?state=bogus", "state"},
		{"/api/v1/escalations?state=bogus", "state"},
		{"/api/v1/escalations?target=bogus", "target"},
		{"/api/v1/escalations?process=bogus", "process"},
	} {
		c := staff
		if strings.Contains(q.path, "escalations") {
			c = anon.as("jcs01")
		}
		e := c.expectError("GET", q.path, nil, 400, q.field)
		if !strings.Contains(e.Error.Message, ", ") {
			t.Errorf("%s: the message does not list the accepted values: %s", q.path, e.Error.Message)
		}
	}
	staff.expectError("GET", "/api/v1/subsidy-applications?status=submitted&state=rejected", nil, 400, "status")
	for _, p := range []string{"status", "state"} {
		var list struct{ Items []application }
		if code := staff.do("GET", "/api/v1/subsidy-applications?"+p+"=rejected", nil, &list); code != 200 || len(list.Items) != 0 {
			t.Errorf("?%s=rejected: %d, %d items, want none", p, code, len(list.Items))
		}
	}
	var inbox struct{ Items []task }
	if code := anon.as("head01").do("GET", "/api/v1/tasks?state=open&process=subsidy", nil, &inbox); code != 200 || len(inbox.Items) == 0 {
		t.Errorf("?state=open&process=subsidy: %d, %d tasks", code, len(inbox.Items))
	}
}

// TestHardeningLogin (issue 15, item 15): usernames compare trimmed and without regard to case;
// the throttle counts them as one.
func TestHardeningLogin(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	for _, u := range []string{"HEAD01", " head01 ", "Head01  "} {
		if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": u, "password": demo.DemoPassword}, nil); code != 200 {
			t.Errorf("login as %q: %d, want 200", u, code)
		}
	}
	for i := 0; i < 10; i++ {
		u := []string{"PA01", " pa01", "Pa01 "}[i%3]
		if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": u, "password": "wrong-password"}, nil); code != 401 {
			t.Fatalf("wrong password %d for %q: %d", i, u, code)
		}
	}
	if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "pa01", "password": demo.DemoPassword}, nil); code != 429 {
		t.Errorf("after ten wrong passwords typed in other cases: %d, want 429", code)
	}
	resp, err := http.Get(anon.base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`<input[^>]*name="username"[^>]*autocapitalize="off"`).Match(b) {
		t.Errorf("the console's username input lacks autocapitalize=\"off\"")
	}
}
