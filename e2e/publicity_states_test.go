package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"jiaofu/api"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/demo"
	"jiaofu/store"
)

// TestObjectionAfterPublicity (issue 15, item 7): an objection after the period is told that the
// period ended and when — 409 publicity_ended with ended_at, on the API and on the public page —
// both while the batch waits for its sign-off and once its workflow has ended.
func TestObjectionAfterPublicity(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, aid := anon.as("staff01"), anon.as("head01"), anon.as("aid01")

	_, batchID, pub := publicized(t, anon, staff, head)
	entry := pub.Entries[0].EntryID
	endedAt := pub.EndsAt
	path := "/public/publicity-batches/" + batchID + "/objections"
	late := map[string]string{"entry_id": entry, "reason": "迟到的异议", "contact": "13900000000"}

	// ended checks the API's answer and the public page's to a late objection.
	ended := func(when string) {
		t.Helper()
		e := anon.expectCode("POST", path, late, 409, "publicity_ended", "")
		if got, err := time.Parse(time.RFC3339, e.Error.Params["ended_at"]); err != nil || !got.Equal(endedAt) {
			t.Errorf("%s: ended_at %q, want %s", when, e.Error.Params["ended_at"], endedAt.Format(time.RFC3339))
		}
		if want := "the publicity period ended at " + calendar.Show(endedAt) + " China time"; !strings.Contains(e.Error.Message, want) {
			t.Errorf("%s: message %q, want it to say %q", when, e.Error.Message, want)
		}
		status, page := postPublicObjection(t, "http://"+svc.HTTPAddr(), batchID, entry)
		if want := "公示期已于 " + calendar.Show(endedAt) + " 结束"; status != 409 || !strings.Contains(page, want) {
			t.Errorf("%s: public page %d, want 409 saying %q: %s", when, status, want, page)
		}
	}

	// The period ends; the batch waits for its sign-off (its workflow still runs).
	time.Sleep(time.Until(endedAt) + time.Second)
	st := aid.waitTask("publicity_signoff", batchID)
	ended("awaiting sign-off")

	// Signed off: the batch's workflow ends, and only the batch's row is left to answer.
	if code := aid.do("POST", "/api/v1/tasks/"+st.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("sign-off: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.Temporal.GetWorkflow(ctx, batchID, "").Get(ctx, nil); err != nil {
		t.Fatalf("batch workflow: %v", err)
	}
	ended("after the batch ended")
}

// postPublicObjection posts the public page's objection form as a browser would (with the CSRF
// cookie and token) and returns the page it answers with.
func postPublicObjection(t *testing.T, base, batchID, entry string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindSubmatch(html)
	if m == nil {
		t.Fatalf("no CSRF token on the login page")
	}
	form := url.Values{"_csrf": {string(m[1])}, "entry": {entry}, "reason": {"迟到的异议"}, "contact": {"13900000000"}}
	resp, err = hc.PostForm(base+"/gongshi/"+url.PathEscape(batchID)+"/objections", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// TestPublicityStates (issue 15, item 6): a batch's state names what it waits for — in_publicity,
// awaiting_objections while an objection is open after the period, awaiting_signoff, signed_off
// — and its entries' ledger says the same; the list filter takes the names from before as well,
// and the rows of batches opened before read by the new names.
func TestPublicityStates(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	staff, head, aid := anon.as("staff01"), anon.as("head01"), anon.as("aid01")

	app, id, _ := publicized(t, anon, staff, head)
	state := func() string {
		var b struct{ Batch store.Batch }
		if code := aid.do("GET", "/api/v1/publicity-batches/"+id, nil, &b); code != 200 {
			t.Fatalf("batch: %d", code)
		}
		return b.Batch.State
	}
	listed := func(filter string) bool {
		var out struct{ Items []store.Batch }
		if code := aid.do("GET", "/api/v1/publicity-batches?state="+filter, nil, &out); code != 200 {
			t.Fatalf("list ?state=%s: %d", filter, code)
		}
		for _, b := range out.Items {
			if b.ID == id {
				return true
			}
		}
		return false
	}
	expect := func(when, want string, filters map[string]bool) {
		t.Helper()
		if got := state(); got != want {
			t.Errorf("%s: batch state %q, want %q", when, got, want)
		}
		for f, in := range filters {
			if listed(f) != in {
				t.Errorf("%s: listed under ?state=%s: %v, want %v", when, f, !in, in)
			}
		}
	}

	var pub api.PublicList
	anon.do("GET", "/public/publicity-batches/"+id, nil, &pub)
	expect("during the period", casework.BatchOpen, map[string]bool{"in_publicity": true, "publicizing": true, "closed": false})
	if code := anon.do("POST", "/public/publicity-batches/"+id+"/objections", map[string]string{"entry_id": pub.Entries[0].EntryID, "reason": "其家庭有商铺两间", "contact": "13900000000"}, nil); code != 201 {
		t.Fatalf("objection: %d", code)
	}
	review := aid.waitTask("objection_review", id)

	// The period ends with the objection open: not closed, and the entry not 公示中.
	time.Sleep(time.Until(pub.EndsAt) + time.Second)
	eventually(t, 10*time.Second, func() bool { return state() != casework.BatchOpen }, "the period to end")
	expect("objection open after the period", casework.BatchAwaitingObjections,
		map[string]bool{"awaiting_objections": true, "closed": true, "in_publicity": false, "publicizing": false})
	if a := staff.application(app.ID); a.Status != casework.AppInPublicity || a.BatchState != casework.BatchAwaitingObjections {
		t.Errorf("entry: status %q batch_state %q, want in_publicity awaiting_objections", a.Status, a.BatchState)
	}
	if page := ledgerPage(t, "http://"+svc.HTTPAddr(), "aid01"); !strings.Contains(page, "公示期满，异议复核中") {
		t.Errorf("ledger does not show the entry as 公示期满，异议复核中: %s", page)
	}

	// Dismissed: the batch waits for the county.
	if code := aid.do("POST", "/api/v1/tasks/"+review.ID+"/complete", map[string]string{"outcome": "dismiss", "comment": "经核实不属实"}, nil); code != 200 {
		t.Fatalf("dismiss: %d", code)
	}
	signoff := aid.waitTask("publicity_signoff", id)
	expect("awaiting sign-off", casework.BatchAwaitingSignoff, map[string]bool{"awaiting_signoff": true, "closed": true, "awaiting_objections": false})

	// A row written before issue 15 says closed from the period's end to the sign-off: it reads
	// as what the batch waits for.
	if err := svc.Store.SetBatchState(context.Background(), id, "closed"); err != nil {
		t.Fatal(err)
	}
	expect("an old closed row awaiting sign-off", casework.BatchAwaitingSignoff, map[string]bool{"awaiting_signoff": true, "closed": true})

	if code := aid.do("POST", "/api/v1/tasks/"+signoff.ID+"/complete", map[string]string{"outcome": "approve"}, nil); code != 200 {
		t.Fatalf("sign-off: %d", code)
	}
	eventually(t, 10*time.Second, func() bool { return state() == casework.BatchSignedOff }, "the sign-off")
	expect("signed off", casework.BatchSignedOff, map[string]bool{"signed_off": true, "closed": false})
	aid.expectCode("GET", "/api/v1/publicity-batches?state=finished", nil, 400, "invalid", "state")
}

// ledgerPage is the subsidy ledger of the term as username sees it in the console.
func ledgerPage(t *testing.T, base, username string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	read := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindStringSubmatch(read(hc.Get(base + "/console/login")))
	if m == nil {
		t.Fatalf("no CSRF token on the login page")
	}
	read(hc.PostForm(base+"/console/login", url.Values{"_csrf": {m[1]}, "username": {username}, "password": {demo.DemoPassword}}))
	return read(hc.Get(base + "/console/subsidy/ledger?term=" + term))
}
