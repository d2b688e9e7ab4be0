package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/config"
)

// TestHTTPFuzz posts mutated bodies to every POST and PUT route of the route table on the running
// service (issue 19): objects shaped like the route's body with values of the wrong type, huge and
// fractional numbers, NUL and other control characters, invalid UTF-8, deep nesting, long texts,
// and bodies that are not one JSON object at all. Each is sent by a caller the route admits, so
// that it reaches the decoder and the checks behind it. No answer may be a 5xx (a 503 is allowed:
// it changes nothing and says to retry), and every refusal has the one error shape with a code.
// The mutations are drawn from a seeded generator: E2E_FUZZ_SEED picks another seed,
// E2E_FUZZ_BODIES the bodies per route (default 12, which keeps the run to seconds).
func TestHTTPFuzz(t *testing.T) { httpFuzz(t, testConfig(t, t.TempDir())) }

// TestHTTPFuzzOnPostgres is the same on PostgreSQL, which refuses some text SQLite stores (a NUL
// byte): such a body must be refused at the edge, not fail in the database.
func TestHTTPFuzzOnPostgres(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = postgresSchema(t)
	httpFuzz(t, cfg)
}

func httpFuzz(t *testing.T, cfg config.Config) {
	seed := uint64(19)
	if s, err := strconv.ParseUint(os.Getenv("E2E_FUZZ_SEED"), 10, 64); err == nil {
		seed = s
	}
	perRoute := 12
	if n, err := strconv.Atoi(os.Getenv("E2E_FUZZ_BODIES")); err == nil && n > 0 {
		perRoute = n
	}
	svc := startService(t, cfg)
	anon := newClient(t, svc)
	createUser(t, anon, "section01", "教育股工作人员", casework.RoleSectionStaff, "JS-JYG")
	clients := map[string]*client{}
	callerOf := func(rule api.Rule) *client {
		for _, role := range casework.Roles {
			if rule.Public || rule.Admits(role) {
				if clients[role] == nil {
					clients[role] = anon.as(matrixUser[role])
				}
				return clients[role]
			}
		}
		t.Fatalf("rule %+v admits no role", rule)
		return nil
	}
	// Real records, so that bodies also reach the handlers' code past "not found": an
	// application with its review task (the school's head decides it) and a dropout case.
	staff := anon.as("staff01")
	var app, dc struct{ ID string }
	if code := staff.do("POST", "/api/v1/subsidy-applications", map[string]string{"student_id": staff.studentOf("张小三").ID,
		"programme": "living-primary", "term": term}, &app); code != 201 {
		t.Fatalf("apply: %d", code)
	}
	if code := staff.do("POST", "/api/v1/dropout-cases", map[string]string{"student_id": staff.studentOf("王二小").ID,
		"reason": "厌学", "last_attended_on": "2026-11-01"}, &dc); code != 201 {
		t.Fatalf("dropout case: %d", code)
	}
	head := anon.as("head01")
	review := head.waitTask("subsidy_review", app.ID)
	records := map[string]struct { // route path prefix → a real id and who acts on it
		id string
		by *client
	}{
		"/api/v1/tasks/:id":                {review.ID, head},
		"/api/v1/subsidy-applications/:id": {app.ID, staff},
		"/api/v1/dropout-cases/:id":        {dc.ID, staff},
	}
	type target struct {
		method, path string
		typ          reflect.Type
		by           *client
	}
	var targets []target
	for _, r := range svc.API.Routes() {
		if (r.Method != http.MethodPost && r.Method != http.MethodPut) || r.Path == "/api/v1/auth/logout" {
			continue // logout would end the caller's session, and has no body to read
		}
		rule, err := api.ParseRule(r.Auth)
		if err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
		var typ reflect.Type
		if r.Body != nil {
			typ = reflect.TypeOf(r.Body)
		}
		targets = append(targets, target{r.Method, probePath(r.Path), typ, callerOf(rule)})
		for prefix, rec := range records {
			if strings.HasPrefix(r.Path, prefix) {
				targets = append(targets, target{r.Method, strings.Replace(r.Path, ":id", rec.id, 1), typ, rec.by})
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 19))
	sent, unavailable := 0, 0
	statuses := map[int]int{} // how the bodies were answered, for the log: most are 400s past the gate
	for _, tg := range targets {
		c, path, typ, r := tg.by, tg.path, tg.typ, tg
		for i := 0; i < perRoute; i++ {
			body := mutant(rng, typ, i)
			code, answer := sendRaw(t, c, r.method, path, body)
			sent++
			statuses[code]++
			if code == http.StatusServiceUnavailable {
				unavailable++
				continue
			}
			if code >= 500 {
				t.Errorf("%s %s: %d %s\nbody: %q", r.method, path, code, short(answer), short(string(body)))
				continue
			}
			if code >= 400 {
				var e apiError
				if json.Unmarshal([]byte(answer), &e) != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.Code == "internal" {
					t.Errorf("%s %s: %d is not the error shape: %s\nbody: %q", r.method, path, code, short(answer), short(string(body)))
				}
			}
		}
	}
	// The list routes' query parameters (those the route declares, Route.Query), each with odd
	// values: not of the filter's set, negative and huge numbers, NUL, invalid UTF-8, long text.
	oddQuery := []string{"", "-1", "0", "99999999999999999999", "1.5", "abc", "%00", "%ff%fe", "a%0ab", "%25", "_", "'",
		"2026-2027-3", "2026-13", "9999-99", "true", "all", url.QueryEscape(strings.Repeat("长", 300))}
	for _, r := range svc.API.Routes() {
		if r.Method != http.MethodGet || len(r.Query) == 0 {
			continue
		}
		rule, err := api.ParseRule(r.Auth)
		if err != nil {
			t.Fatal(err)
		}
		c := callerOf(rule)
		for i := 0; i < perRoute; i++ {
			var qs []string
			for _, q := range r.Query {
				if rng.IntN(2) == 0 {
					qs = append(qs, q.Name+"="+oddQuery[rng.IntN(len(oddQuery))])
				}
			}
			path := probePath(r.Path) + "?" + strings.Join(qs, "&")
			code, answer := sendRaw(t, c, http.MethodGet, path, nil)
			sent++
			statuses[code]++
			if code >= 500 && code != http.StatusServiceUnavailable {
				t.Errorf("GET %s: %d %s", path, code, short(answer))
			}
		}
	}
	t.Logf("seed %d: %d requests sent, %d answered 503; by status %v", seed, sent, unavailable, statuses)
	if sent < 300 {
		t.Fatalf("only %d bodies sent: the route table has too few POST and PUT routes", sent)
	}
}

// sendRaw sends body exactly as it is and returns the status and the answer's text.
func sendRaw(t *testing.T, c *client, method, path string, body []byte) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// oddValues are JSON values that break a field's type, range or text rules; each is valid JSON
// text except where a body is meant to be malformed.
var oddValues = []string{
	`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `-1e400`, `99999999999999999999999`, `9223372036854775807`,
	`-9223372036854775808`, `1e18`, `""`, `" "`, `"\u0000"`, `"a\u0000b"`, `"\u0007"`, `"\ud800"`, `"\u200b"`,
	`"\u3000"`, `"-1"`, `"0"`, `"2026-02-30"`, `"0000-00-00"`, `"9999-12-31"`, `"2026-2027-1"`, `"2026-2028-3"`,
	`"11010519491231002X"`, `"G11010519491231002X"`, `"JS-T01-S01"`, `"../../etc/passwd"`, `"' OR 1=1 --"`,
	`"%"`, `"_"`, `"<script>alert(1)</script>"`, `"李梅"`, `[]`, `{}`, `[null]`, `[""]`, `[{}]`, `{"":1}`,
}

// raw bodies that are not one well-formed JSON object.
var oddBodies = []string{
	``, ` `, `null`, `[]`, `"x"`, `1`, `{`, `{"a":`, `{}{}`, `{} x`, "{\"a\":\"\xff\xfe\"}", "\xef\xbb\xbf{}",
	`{"a":1,"a":2}`, strings.Repeat(`[`, 10000), `{"a":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}`,
}

// mutant is the i-th body sent to a route whose body type is typ (nil: a route without a body):
// an odd raw body now and then, else an object with typ's fields, each a plausible value or an
// odd one, plus now and then an unknown field.
func mutant(rng *rand.Rand, typ reflect.Type, i int) []byte {
	if typ == nil || i%4 == 3 {
		return []byte(oddBodies[rng.IntN(len(oddBodies))])
	}
	var b bytes.Buffer
	value(rng, &b, typ, 0)
	out := b.Bytes()
	switch rng.IntN(8) {
	case 0: // invalid UTF-8 inside the first text
		if j := bytes.IndexByte(out, '"'); j >= 0 {
			out = append(append(append([]byte{}, out[:j+1]...), 0xff, 0xc0), out[j+1:]...)
		}
	case 1: // cut short
		out = out[:rng.IntN(len(out)+1)]
	}
	return out
}

// value writes a JSON value for a field of type t: mostly of t's shape (so that the checks
// behind the decoder see it), with an odd value in one case out of three.
func value(rng *rand.Rand, b *bytes.Buffer, t reflect.Type, depth int) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 0 && rng.IntN(3) == 0 {
		b.WriteString(oddValues[rng.IntN(len(oddValues))])
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		b.WriteByte('{')
		n := 0
		for j := 0; j < t.NumField(); j++ {
			f := t.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || rng.IntN(6) == 0 {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			fmt.Fprintf(b, "%q:", name)
			value(rng, b, f.Type, depth+1)
		}
		if rng.IntN(6) == 0 {
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"not_a_field":1`)
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for j := range rng.IntN(4) {
			if j > 0 {
				b.WriteByte(',')
			}
			value(rng, b, t.Elem(), depth+1)
		}
		b.WriteByte(']')
	case reflect.Map:
		b.WriteString(`{"a":`)
		value(rng, b, t.Elem(), depth+1)
		b.WriteByte('}')
	case reflect.String:
		texts := []string{`"x"`, `"李梅"`, `"2026-09-01"`, `"2026-2027-1"`, `"JS-T01-S01"`, `"authz-probe"`, `"returned"`,
			strconv.Quote(strings.Repeat("长", 1+rng.IntN(3000)))}
		b.WriteString(texts[rng.IntN(len(texts))])
	case reflect.Bool:
		b.WriteString([]string{"true", "false"}[rng.IntN(2)])
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString([]string{"0", "1", "-1", "100000", "9223372036854775807", "-9223372036854775808"}[rng.IntN(6)])
	case reflect.Float32, reflect.Float64:
		b.WriteString([]string{"0", "0.5", "-1", "1e308"}[rng.IntN(4)])
	default: // an interface or a type that decodes itself: any JSON
		b.WriteString(oddValues[rng.IntN(len(oddValues))])
	}
}
