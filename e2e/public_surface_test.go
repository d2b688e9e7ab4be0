package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/identity"
	"jiaofu/store"
)

// withCheckDigit completes the first 17 characters of an ID-card number with its GB 11643 check
// character.
func withCheckDigit(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

// luhn reports whether a run of digits passes the Luhn check every bank card number passes.
func luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// Personal numbers as they would show: whole runs, not part of a longer word, hash or token.
var (
	idCardRun   = regexp.MustCompile(`(?:^|[^0-9A-Za-z])([GLgl]?)(\d{17}[0-9Xx])(?:[^0-9A-Za-z]|$)`)
	phoneRun    = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(1[3-9]\d{9})(?:[^0-9A-Za-z]|$)`)
	bankCardRun = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(\d{16,19})(?:[^0-9A-Za-z]|$)`)
)

// personalIn lists what of a person the public must never see in body: ID-card numbers (a valid
// check character), 学籍号, mobile numbers, bank card numbers (Luhn), and the birth dates and full
// names of the run's students and objectors.
func personalIn(body string, birthDates, names []string) []string {
	var hits []string
	for _, m := range idCardRun.FindAllStringSubmatch(body, -1) {
		if identity.CheckIDCard(strings.ToUpper(m[2])) == nil {
			kind := "ID-card number"
			if m[1] != "" {
				kind = "学籍号"
			}
			hits = append(hits, kind+" "+m[1]+m[2])
		}
	}
	for _, m := range phoneRun.FindAllStringSubmatch(body, -1) {
		hits = append(hits, "phone number "+m[1])
	}
	for _, m := range bankCardRun.FindAllStringSubmatch(body, -1) {
		if luhn(m[1]) {
			hits = append(hits, "bank card number "+m[1])
		}
	}
	for _, d := range birthDates {
		y, md, _ := strings.Cut(d, "-")
		m, day, _ := strings.Cut(md, "-")
		for _, form := range []string{d, y + m + day, y + "年" + m + "月" + day + "日", y + "/" + m + "/" + day, y + "." + m + "." + day} {
			if strings.Contains(body, form) {
				hits = append(hits, "birth date "+form)
			}
		}
	}
	for _, n := range names {
		if strings.Contains(body, n) {
			hits = append(hits, "full name "+n)
		}
	}
	return hits
}

// TestPublicSurface calls every route served without a login — the API's public routes (the
// route table's rule public), the console's publicity pages (/gongshi…) and the console's login
// page — after a run has put personal data in: a student registered with her ID-card number, a
// subsidy publicity with two objections whose contacts carry a name and a mobile number, a
// hardship grant paid with a bank card number as its payment reference, and a signed checkpoint
// of the audit trail that records all of it. Every answer is scanned
// for ID-card numbers, 学籍号, phone and bank card numbers, and the birth dates and full names of
// the run's students and objectors; any of them fails the test, naming the route and the match.
func TestPublicSurface(t *testing.T) {
	// The scanner itself: each kind is found, and hashes, tokens and times are not.
	id := withCheckDigit("42282220160412" + "302")
	for _, c := range []struct {
		body string
		want string
	}{
		{`{"id": "` + id + `"}`, "ID-card number " + id + ", birth date 20160412"}, // the number carries the date
		{`学籍号 G` + id + `。`, "学籍号 G" + id + ", birth date 20160412"},
		{`<td>13912345670</td>`, "phone number 13912345670"},
		{`"reference":"6222021001123456789"`, "bank card number 6222021001123456789"},
		{`生于2016年04月12日`, "birth date 2016年04月12日"},
		{`申请人：欧阳文博`, "full name 欧阳文博"},
		{`{"hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "seq": 12, "signed_at": "2026-12-07T01:00:00.123456Z", "name": "欧**博"}`, ""},
	} {
		got := strings.Join(personalIn(c.body, []string{"2016-04-12"}, []string{"欧阳文博"}), ", ")
		if got != c.want {
			t.Errorf("scanning %s: %q, want %q", c.body, got, c.want)
		}
	}

	cfg := hardshipConfig(t)
	cfg.SetDuration("JIAOFU_PUBLICITY_PERIOD", mustSpec(t, "10m")) // the lists stay public while they are scanned
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	staff, head, aid, funds := anon.as("staff01"), anon.as("head01"), anon.as("aid01"), anon.as("funds01")

	// A student of the run, registered whole; then the county's students as the aid center reads
	// them (whole numbers everywhere: api/personal.go).
	if code, raw := staff.raw("POST", "/api/v1/admin/students", map[string]any{"student_no": "G" + id, "name": "欧阳文博", "sex": "男",
		"birth_date": identity.BirthDate(id), "id_card_no": id, "unit_code": "JS-T01-S01", "grade": 4, "class": "1班",
		"poverty_registered": true, "household_id": "HH-4228-0412"}); code != 201 {
		t.Fatalf("register a student: %d %s", code, raw)
	}
	var students struct{ Items []store.Student }
	aid.do("GET", "/api/v1/admin/students?limit=500", nil, &students)
	var names, births []string
	for _, s := range students.Items {
		if len(s.IDCardNo) != 18 || strings.Contains(s.IDCardNo, "*") {
			t.Fatalf("the aid center reads %s's ID-card number whole: %q", s.Name, s.IDCardNo)
		}
		names, births = append(names, s.Name), append(births, s.BirthDate)
	}
	objectors := []string{"王秀英", "覃大勇"}
	names = append(names, objectors...)
	ouyang := staff.studentOf("欧阳文博")

	// A hardship grant for her, paid; its payment reference is a bank card number.
	donation(t, funds, "建始县某建材公司", 10_000_00, "SJ-2026-101", false)
	g := applyGrant(t, staff, ouyang.ID, 1500_00)
	complete(t, head, head.waitTask(casework.KindHardshipVerification, g.ID).ID, "approve", nil)
	complete(t, aid, aid.waitTask(casework.KindHardshipApproval, g.ID).ID, "approve", nil)
	const bankCard = "6222021001123456789"
	if !luhn(bankCard) {
		t.Fatal("the test's bank card number fails the Luhn check")
	}
	complete(t, funds, funds.waitTask(casework.KindHardshipDisbursement, g.ID).ID, "disburse", map[string]string{"channel": "一卡通", "reference": bankCard})
	staff.waitGrant(g.ID, casework.GrantDisbursed)

	// Her subsidy and 张小三's in the school's publicity, each with an objection.
	var batchID string
	for _, name := range []string{"欧阳文博", "张小三"} {
		app := apply(t, staff, staff.studentOf(name).ID, "living-primary", "")
		complete(t, head, head.waitTask("subsidy_review", app.ID).ID, "approve", nil)
		staff.waitStatus(app.ID, casework.AppReviewed)
	}
	var batch struct{ ID string }
	if code := staff.do("POST", "/api/v1/publicity-batches", map[string]string{"school_unit": "JS-T01-S01", "term": term}, &batch); code != 201 {
		t.Fatalf("open batch: %d", code)
	}
	batchID = batch.ID
	var pub api.PublicList
	eventually(t, 10*time.Second, func() bool {
		return anon.do("GET", "/public/publicity-batches/"+batchID, nil, &pub) == 200 && len(pub.Entries) == 2
	}, "the public list with its two entries")

	hits := map[string][]string{}
	scan := func(route string, code int, body string) {
		if code >= 500 {
			t.Errorf("%s: %d %s", route, code, body)
		}
		if h := personalIn(body, births, names); len(h) > 0 {
			hits[route] = append(hits[route], h...)
		}
	}
	call := func(method, path, contentType, body string) (int, string) {
		req, err := http.NewRequest(method, anon.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	for i, e := range pub.Entries {
		contact := objectors[i] + " 1391234567" + fmt.Sprint(i)
		body := fmt.Sprintf(`{"entry_id": %q, "reason": "其家庭有商铺两间", "contact": %q}`, e.EntryID, contact)
		code, raw := call("POST", "/public/publicity-batches/"+batchID+"/objections", "application/json", body)
		if code != 201 {
			t.Fatalf("objection: %d %s", code, raw)
		}
		scan("POST /public/publicity-batches/{id}/objections", code, raw)
	}
	eventually(t, 20*time.Second, func() bool {
		var inbox struct{ Items []task }
		aid.do("GET", "/api/v1/tasks?kind=objection_review", nil, &inbox)
		return len(inbox.Items) == 2
	}, "the objections' reviews")

	// A signed checkpoint of the audit trail, which holds all of the above, for its public list.
	if code := anon.as("jcs01").do("POST", "/api/v1/admin/audit/checkpoints", nil, nil); code != 201 {
		t.Fatalf("sign an audit checkpoint: %d", code)
	}

	// Every public route, with the run's ids; a route added later is called too.
	period := url.QueryEscape(time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01"))
	fill := func(path string) string {
		path = strings.NewReplacer(":id", batchID).Replace(path)
		if strings.HasSuffix(path, "/disclosures") {
			path += "?period=" + period
		}
		return path
	}
	called := 0
	for _, r := range svc.API.Routes() {
		if !r.Rule().Public {
			continue
		}
		path := fill(r.Path)
		var code int
		var raw string
		switch {
		case r.Method == http.MethodGet:
			code, raw = call("GET", path, "", "")
		case r.Path == "/api/v1/auth/login":
			code, raw = call("POST", path, "application/json", `{"username": "staff01", "password": "not-the-password"}`)
		case strings.HasSuffix(r.Path, "/objections"):
			continue // called above, with real objections
		default:
			code, raw = call(r.Method, path, "application/json", `{}`)
		}
		called++
		scan(r.Method+" "+r.Path, code, raw)
	}
	for _, r := range svc.App.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/gongshi") && r.Path != "/console/login" {
			continue
		}
		path := fill(r.Path)
		var code int
		var raw string
		switch r.Method {
		case http.MethodGet:
			code, raw = call("GET", path, "", "")
		case http.MethodPost: // without the form's CSRF cookie: the refusal page
			code, raw = call("POST", path, "application/x-www-form-urlencoded", url.Values{"entry_id": {pub.Entries[0].EntryID}, "reason": {"x"}}.Encode())
		default:
			continue
		}
		called++
		scan(r.Method+" "+r.Path, code, raw)
	}
	if called < 12 {
		t.Errorf("%d public routes called: the route lists are not what this test walks", called)
	}
	// The scan would see them: the public list names the students masked, and the disclosure the grant.
	if _, raw := call("GET", "/public/publicity-batches/"+batchID, "", ""); !strings.Contains(raw, api.MaskName("欧阳文博")) || !strings.Contains(raw, api.MaskName("张小三")) {
		t.Errorf("the public list lacks the masked names: %s", raw)
	}
	if _, raw := call("GET", "/public/hardship/disclosures?period="+period, "", ""); !strings.Contains(raw, api.MaskName("欧阳文博")) {
		t.Errorf("the disclosure lacks the grant paid: %s", raw)
	}
	for route, h := range hits {
		t.Errorf("%s shows %s", route, strings.Join(h, ", "))
	}
}
