package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"jiaofu/demo"
)

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
