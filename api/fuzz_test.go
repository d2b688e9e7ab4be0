package api

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"jiaofu/config"
)

// The fuzz targets of the API's edge (issue 19). Plain `go test` runs their seeds, those below and
// any kept in testdata/fuzz/<Target>/ (where `go test -fuzz` writes an input that failed);
// `make fuzz` runs each one for FUZZTIME.

// bodyRoute is a route that takes a JSON body, with the type its handler decodes it into.
type bodyRoute struct {
	method, path string
	typ          reflect.Type
}

// bodyRoutes are the routes of the table that take a JSON body, in table order.
func bodyRoutes(tb testing.TB) []bodyRoute {
	tb.Helper()
	var out []bodyRoute
	for _, r := range New(config.Default(), nil, nil, nil, nil).Routes() {
		if r.Body != nil {
			out = append(out, bodyRoute{r.Method, r.Path, reflect.TypeOf(r.Body)})
		}
	}
	if len(out) < 40 {
		tb.Fatalf("only %d routes with a body: the table is incomplete", len(out))
	}
	return out
}

// goWords are words of Go's, not a clerk's: a refusal that carries one leaks the implementation.
var goWords = []string{"struct", "int64", "float64", "uint", "[]", "map[", "interface", "reflect", "json: ", "Go value", "unmarshal", "api.", "store.", "<nil>", "%!"}

// clearRefusal fails t unless err is what a client is told about bad input: a 400 with the API's
// code for invalid input, a field, a reason, and a message in words. input is what was sent: a
// Go word in it may come back quoted in the message.
func clearRefusal(t *testing.T, what string, err error, input string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: refused with %T %v, not the API's error", what, err, err)
	}
	ce, internal := ClientError(err)
	if internal || ce.Status >= 500 {
		t.Fatalf("%s: answered %d %s (%v)", what, ce.Status, ce.Code, err)
	}
	if e.Status != fiber.StatusBadRequest || e.Code != "invalid" {
		t.Fatalf("%s: refused %d %s, want 400 invalid: %s", what, e.Status, e.Code, e.Message)
	}
	if e.Field == "" || e.Params["reason"] == "" {
		t.Fatalf("%s: refusal names no field or reason: %+v", what, e)
	}
	if !utf8.ValidString(e.Message) || !utf8.ValidString(e.Field) {
		t.Fatalf("%s: refusal is not UTF-8: %q (field %q)", what, e.Message, e.Field)
	}
	for _, w := range goWords {
		if strings.Contains(e.Message, w) && !strings.Contains(input, w) {
			t.Fatalf("%s: refusal speaks Go (%q): %s", what, w, e.Message)
		}
	}
}

// validators are the pure checks (no database) a handler runs on a decoded body after parseBody,
// keyed by the body's type; each returns the refusals it makes.
var validators = map[reflect.Type]func(v any) []error{
	reflect.TypeOf(decisionRequest{}): func(v any) []error {
		_, err := checkDecision(*v.(*decisionRequest))
		return errs(err)
	},
	reflect.TypeOf(studentRequest{}):  func(v any) []error { return errList(StudentErrors(*v.(*studentRequest))) },
	reflect.TypeOf(dropoutRequest{}):  func(v any) []error { return errList(DropoutErrors(*v.(*dropoutRequest))) },
	reflect.TypeOf(attemptRequest{}):  func(v any) []error { return errList(AttemptErrors(*v.(*attemptRequest))) },
	reflect.TypeOf(DonationRequest{}): func(v any) []error { return errList(DonationErrors(*v.(*DonationRequest))) },
	reflect.TypeOf(GrantRequest{}):    func(v any) []error { return errList(GrantErrors(*v.(*GrantRequest))) },
	reflect.TypeOf(objectionRequest{}): func(v any) []error {
		return errList(ObjectionErrors(*v.(*objectionRequest)))
	},
}

func errs(err error) []error {
	if err == nil {
		return nil
	}
	return []error{err}
}

func errList(es []*Error) []error {
	var out []error
	for _, e := range es {
		out = append(out, e)
	}
	return out
}

// FuzzRequestBody posts one body to the decoder of every route that takes one (parseBody, which
// every handler calls first), and to the pure checks that follow it where the route has them: no
// panic, and each refusal is a clear 400 naming a field — never a 500.
func FuzzRequestBody(f *testing.F) {
	routes := bodyRoutes(f)
	for _, s := range []string{
		`{}`, ` {"comment": "同意"}`, `{"comment": 1}`, `{"amount_fen": 1e400}`, `{"amount_fen": 12.5}`,
		`{"amount_fen": 99999999999999999999999}`, `{"amount_fen": -1}`, `{"items": [{"student_id": null}]}`,
		`{"measures": ["admonishment", "no_action"], "note": "x"}`, `{"persons": ["u-1", {"user_id": 2}]}`,
		`{"persons": [[]]}`, `{"fields": {"a": {"b": 1}}}`, `{"a":1}{"b":2}`, `{"name": "\u0000"}`,
		"{\"name\": \"\xff\xfe\"}", "{\"\xff\": 1}", `[]`, `null`, `"x"`, `{"student_id": "s", "student_id": 3}`,
		`{"sex": "女", "birth_date": "2012-02-30", "id_card_no": "11010519491231002x", "name": " 李梅 "}`,
		`{"term": "2026-2027-3", "last_attended_on": "9999-12-31"}`, `{"outcome": "returned", "fields": null}`,
		`{"measures": "admonishment"}`, `{"date": "2026-13-01"}`, `{"visitors": ["a","a","a"]}`, `{` + strings.Repeat(`"a":{`, 200),
	} {
		f.Add([]byte(s))
	}
	app := fiber.New() // one app for every input: only its context pool is used
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range routes {
			fctx := &fasthttp.RequestCtx{}
			fctx.Request.SetBody(body)
			c := app.AcquireCtx(fctx)
			dst := reflect.New(r.typ)
			err := parseBody(c, dst.Interface())
			app.ReleaseCtx(c)
			what := r.method + " " + r.path
			if err != nil {
				clearRefusal(t, what, err, string(body))
				continue
			}
			if check := validators[r.typ]; check != nil {
				for _, err := range check(dst.Interface()) {
					clearRefusal(t, what+" (its checks)", err, string(body))
				}
			}
		}
	})
}

// FuzzValidTerm: a term is accepted only as YYYY-YYYY-N with consecutive years and N of 1 or 2, and
// a refusal is a ruleError that quotes at most a short prefix of what was typed.
func FuzzValidTerm(f *testing.F) {
	for _, s := range []string{"2026-2027-1", "2026-2027-2", "2026-2028-1", "2026-2027-3", "２０２６-2027-1", "2026-2027-1\n", "9999-10000-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, term string) {
		err := ValidTerm(term)
		if err == nil {
			if len(term) != 11 || term[4] != '-' || term[9] != '-' || (term[10] != '1' && term[10] != '2') {
				t.Fatalf("ValidTerm accepted %q", term)
			}
			a, b := term[:4], term[5:9]
			if !digits(a) || !digits(b) || atoi(b) != atoi(a)+1 {
				t.Fatalf("ValidTerm accepted %q: the years do not follow", term)
			}
			return
		}
		var re *ruleError
		if !errors.As(err, &re) || re.reason == "" {
			t.Fatalf("ValidTerm(%q) refused without a reason: %v", term, err)
		}
		clearRefusal(t, "term "+quote(term), badValue("term", err), term)
	})
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// FuzzPlanTaskRows: a task list's rows, however ragged, become tasks or row errors that name a
// row within the list — never a panic; and every task it returns has a title and a lead section.
func FuzzPlanTaskRows(f *testing.F) {
	f.Add([]byte("一级指标,二级指标,工作任务,牵头股室,配合股室,完成时限\n组织领导,责任落实,制定方案,教育股,资助中心、经费中心,2026年12月31日\n,,,,,\n,,走访,JS-JYG,,2026/1/2\n"))
	f.Add([]byte("level1,level2,task,lead,cooperating,due_on\na,b,c,JS,,2026.02.30\n"))
	f.Add([]byte("\xef\xbb\xbf工作任务\n\"未闭合\n"))
	f.Add([]byte("完成时限,完成时限\n2026-1-1,x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadTable("list.csv", data)
		if err != nil {
			clearRefusal(t, "ReadTable", badValue("file", err), string(data))
			return
		}
		tasks, rowNums, rowErrs := PlanTaskRows(rows)
		if len(tasks) != len(rowNums) {
			t.Fatalf("%d tasks but %d row numbers", len(tasks), len(rowNums))
		}
		for _, n := range rowNums {
			if n < 2 || n > len(rows) {
				t.Fatalf("task row %d outside the list's rows 2..%d", n, len(rows))
			}
		}
		for _, e := range rowErrs {
			if e.Row < 1 || (len(rows) > 0 && e.Row > len(rows)) || e.Message == "" || e.Reason == "" {
				t.Fatalf("row error %+v (list of %d rows)", e, len(rows))
			}
		}
	})
}

// FuzzParseDueOn: a deadline read from a list is a real date written 2006-01-02, or refused.
func FuzzParseDueOn(f *testing.F) {
	for _, s := range []string{"2026-12-31", "2026/12/31", "2026.12.31", "2026年12月31日", "2026年2月30日", " 2026-1-2 ", "2026--12-31", "年月日"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDueOn(s)
		if !ok {
			return
		}
		if validDate(got) != nil {
			t.Fatalf("parseDueOn(%q) = %q, not a date", s, got)
		}
		if again, ok := parseDueOn(got); !ok || again != got {
			t.Fatalf("parseDueOn(%q) = %q, which reads again as %q %v", s, got, again, ok)
		}
	})
}
