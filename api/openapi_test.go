package api

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"jiaofu/casework"
	"jiaofu/config"
)

// queryReaders are the calls by which a handler reads a query parameter: the parameter's name is
// their string argument after the context (renamedFilter also reads the name after it).
var queryReaders = map[string]bool{"Query": true, "QueryInt": true, "QueryBool": true, "QueryFloat": true, "filterParam": true, "renamedFilter": true}

// eachFunc calls visit with every function of the package's own (non-test) source that has a
// body: the tests that read the handlers' source walk them this way.
func eachFunc(t *testing.T, visit func(fn *ast.FuncDecl)) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				visit(fn)
			}
		}
	}
}

// calleeName is the name a call calls: a function's, or a method's without its receiver.
func calleeName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// handsRequest reports whether a call hands the request (c) to the function it calls, which may
// then answer for the handler.
func handsRequest(call *ast.CallExpr) bool {
	for _, a := range call.Args {
		if id, ok := a.(*ast.Ident); ok && id.Name == "c" {
			return true
		}
	}
	return false
}

// queriesRead maps each function of the package (by name; methods too) to the query parameters
// it reads, itself or through the package's functions it calls with the request's context.
func queriesRead(t *testing.T) map[string][]string {
	t.Helper()
	direct := map[string][]string{}
	calls := map[string][]string{}
	eachFunc(t, func(fn *ast.FuncDecl) {
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			callee := calleeName(call)
			if queryReaders[callee] {
				for i, a := range call.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING && (i <= 1 || callee == "renamedFilter" && i == 2) {
						v, _ := strconv.Unquote(lit.Value)
						direct[fn.Name.Name] = append(direct[fn.Name.Name], v)
					}
				}
				return true
			}
			if handsRequest(call) { // a helper handed the request reads for the handler
				calls[fn.Name.Name] = append(calls[fn.Name.Name], callee)
			}
			return true
		})
	})
	out := map[string][]string{}
	var read func(name string, seen map[string]bool) []string
	read = func(name string, seen map[string]bool) []string {
		if seen[name] {
			return nil
		}
		seen[name] = true
		qs := append([]string(nil), direct[name]...)
		for _, c := range calls[name] {
			qs = append(qs, read(c, seen)...)
		}
		return qs
	}
	for name := range direct {
		out[name] = nil
	}
	for name := range calls {
		out[name] = nil
	}
	for name := range out {
		qs := read(name, map[string]bool{})
		sort.Strings(qs)
		out[name] = slices.Compact(qs)
	}
	return out
}

// handlerName is the name of the method or function a route's handler is.
func handlerName(h any) string {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name()
	name = strings.TrimSuffix(name, "-fm")
	return name[strings.LastIndex(name, ".")+1:]
}

// TestRouteQueriesDeclared: the query parameters a route declares for the document are exactly
// those its handler reads, so that the document cannot lose one a handler starts to read.
func TestRouteQueriesDeclared(t *testing.T) {
	read := queriesRead(t)
	for _, r := range New(config.Default(), nil, nil, nil, nil).Routes() {
		var declared []string
		for _, q := range r.Query {
			declared = append(declared, q.Name)
		}
		sort.Strings(declared)
		if got := read[handlerName(r.Handler)]; !slices.Equal(got, declared) {
			t.Errorf("%s %s (%s) reads the query parameters %v but declares %v", r.Method, r.Path, handlerName(r.Handler), got, declared)
		}
	}
}

// servedDocument is the document as GET /api/v1/openapi.json serves it, loaded by kin-openapi.
func servedDocument(t *testing.T) (*Server, *openapi3.T) {
	t.Helper()
	s := New(config.Default(), nil, nil, nil, nil)
	raw, err := json.Marshal(s.Document())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	return s, doc
}

// TestOpenAPIDocumentValid: the served document is a valid OpenAPI 3 document (kin-openapi's
// validator, which client generators rely on), with every route of the table, each with the
// error schema for its 4xx and 5xx answers, its path and query parameters, and a schema for
// its request body.
func TestOpenAPIDocumentValid(t *testing.T) {
	s, doc := servedDocument(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	errRef := "#/components/schemas/Error"
	for _, r := range s.Routes() {
		item := doc.Paths.Value(s.DocumentPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is not in the document", r.Method, r.Path)
			continue
		}
		op := item.GetOperation(r.Method)
		for _, code := range []string{"4XX", "5XX"} {
			resp := op.Responses.Value(code)
			if resp == nil || resp.Value == nil || resp.Value.Content.Get("application/json") == nil ||
				resp.Value.Content.Get("application/json").Schema.Ref != errRef {
				t.Errorf("%s %s: %s does not answer with the error schema", r.Method, r.Path, code)
			}
		}
		for _, m := range docParamRe.FindAllStringSubmatch(s.DocumentPath(r.Path), -1) {
			if p := op.Parameters.GetByInAndName("path", m[1]); p == nil || !p.Required {
				t.Errorf("%s %s: path parameter %s missing or optional", r.Method, r.Path, m[1])
			}
		}
		for _, q := range r.Query {
			p := op.Parameters.GetByInAndName("query", q.Name)
			if p == nil {
				t.Errorf("%s %s: query parameter %s missing", r.Method, r.Path, q.Name)
				continue
			}
			if got := enumOf(p.Schema.Value); !slices.Equal(got, q.Enum) {
				t.Errorf("%s %s: ?%s takes %v in the document, %v in the handler", r.Method, r.Path, q.Name, got, q.Enum)
			}
		}
		if r.Body != nil && (op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil) {
			t.Errorf("%s %s: no request body schema", r.Method, r.Path)
		}
	}
}

func enumOf(s *openapi3.Schema) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, v := range s.Enum {
		out = append(out, v.(string))
	}
	return out
}

// TestOpenAPIEnumsMatchRegistry: every closed set the document names is the registry's — the
// task kinds and each one's outcomes (casework), the accountability measures, and the states of
// every kind of case — and the request fields that take them refer to them.
func TestOpenAPIEnumsMatchRegistry(t *testing.T) {
	_, doc := servedDocument(t)
	schema := func(name string) *openapi3.Schema {
		t.Helper()
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Fatalf("components.schemas.%s missing", name)
		}
		return ref.Value
	}
	same := func(what string, got, want []string) {
		t.Helper()
		got, want = slices.Clone(got), slices.Clone(want)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the document says %v, the registry %v", what, got, want)
		}
	}
	same("TaskKind", enumOf(schema("TaskKind")), casework.TaskKindNames())
	var all []string
	for _, p := range casework.Processes {
		for _, k := range p.TaskKinds {
			same("outcomes of "+k.Name, enumOf(schema(outcomeSchema(k.Name))), k.Outcomes)
			all = append(all, k.Outcomes...)
		}
		for _, ck := range p.Cases {
			var states []string
			for _, st := range ck.States {
				states = append(states, st.Name)
			}
			same("states of "+p.Name+" "+ck.Name, enumOf(schema(stateSchema(p.Name, ck.Name))), states)
		}
	}
	sort.Strings(all)
	all = slices.Compact(all)
	same("TaskOutcome", enumOf(schema("TaskOutcome")), all)
	// An answer's outcome: every completion's, and withdrawn (撤回), which no completion takes.
	ended := slices.Clone(all)
	if !slices.Contains(ended, casework.OutcomeWithdrawn) {
		ended = append(ended, casework.OutcomeWithdrawn)
	}
	same("TaskResultOutcome", enumOf(schema("TaskResultOutcome")), ended)
	var measures []string
	for _, m := range casework.Measures() {
		measures = append(measures, m.Name)
	}
	same("AccountabilityMeasure", enumOf(schema("AccountabilityMeasure")), measures)

	body := func(method, path string) *openapi3.Schema {
		t.Helper()
		return doc.Paths.Value(path).GetOperation(method).RequestBody.Value.Content.Get("application/json").Schema.Value
	}
	if ref := body("POST", "/api/v1/tasks/{id}/complete").Properties["outcome"].Ref; ref != "#/components/schemas/TaskOutcome" {
		t.Errorf("a task's completion takes outcome as %q, not the TaskOutcome enum", ref)
	}
	answer := func(method, path string, status int) *openapi3.Schema {
		t.Helper()
		return doc.Paths.Value(path).GetOperation(method).Responses.Status(status).Value.Content.Get("application/json").Schema.Value
	}
	task := answer("GET", "/api/v1/tasks/{id}", 200)
	if ref := task.Properties["outcome"].Ref; ref != "#/components/schemas/TaskResultOutcome" {
		t.Errorf("a task's answer has outcome as %q, not the TaskResultOutcome enum", ref)
	}
	if slices.Contains(task.Required, "outcome") {
		t.Errorf("a task's answer requires outcome, which an open task leaves out")
	}
	if ref := task.Properties["kind"].Ref; ref != "#/components/schemas/TaskKind" {
		t.Errorf("a task's answer has kind as %q, not the TaskKind enum", ref)
	}
	if ref := answer("POST", "/api/v1/tasks/{id}/complete", 200).Properties["outcome"].Ref; ref != "#/components/schemas/TaskResultOutcome" {
		t.Errorf("a task action's answer has outcome as %q, not the TaskResultOutcome enum", ref)
	}
	if ref := body("POST", "/api/v1/accountability-records/{id}/decision").Properties["measures"].Value.Items.Ref; ref != "#/components/schemas/AccountabilityMeasure" {
		t.Errorf("a decision's measures are %q, not the AccountabilityMeasure enum", ref)
	}
}

// checkedBefore are required fields that the handler checks before it runs the body's pure
// checks (validators), which therefore leave them out.
var checkedBefore = map[string]bool{
	"GrantRequest.student_id": true, // CreateGrant reads the student first (studentFor: Required)
}

// TestRequiredFieldsMatchChecks: for the bodies whose checks need no database (validators), an
// empty body is refused for at least every field the document calls required, and every field
// refused as missing is one the document calls required.
func TestRequiredFieldsMatchChecks(t *testing.T) {
	for typ, check := range validators {
		var tagged []string
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i); f.Tag.Get("required") == "true" {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				tagged = append(tagged, name)
			}
		}
		refused := map[string]bool{}
		for _, err := range check(reflect.New(typ).Interface()) {
			e := err.(*Error)
			refused[e.Field] = true
			if strings.HasPrefix(e.Params["reason"], "required") && !slices.Contains(tagged, e.Field) {
				t.Errorf("%s: an empty body is refused for missing %s, which the document does not call required", typ.Name(), e.Field)
			}
		}
		if typ == reflect.TypeOf(decisionRequest{}) {
			continue // checkDecision stops at its first refusal
		}
		for _, f := range tagged {
			if !refused[f] && !checkedBefore[typ.Name()+"."+f] {
				t.Errorf("%s: the document calls %s required, but an empty body is not refused for it", typ.Name(), f)
			}
		}
	}
}

// TestEveryRouteAnswers: every route declares its success answers — a JSON body's type, a file's
// media type, or no body — so that a route added without one fails here instead of reaching a
// client generator as an untyped answer; and the document carries them as declared.
func TestEveryRouteAnswers(t *testing.T) {
	s, doc := servedDocument(t)
	for _, r := range s.Routes() {
		if len(r.Answers) == 0 {
			t.Errorf("%s %s (%s) declares no success answer: add .returns, .answers, .creates, .acts, .file or .noContent to its route", r.Method, r.Path, handlerName(r.Handler))
			continue
		}
		op := doc.Paths.Value(s.DocumentPath(r.Path)).GetOperation(r.Method)
		for _, a := range r.Answers {
			if a.Status < 200 || a.Status > 299 {
				t.Errorf("%s %s: %d is not a success status", r.Method, r.Path, a.Status)
			}
			resp := op.Responses.Status(a.Status)
			if resp == nil || resp.Value == nil {
				t.Errorf("%s %s: %d is not in the document", r.Method, r.Path, a.Status)
				continue
			}
			switch {
			case a.Media != "":
				if resp.Value.Content.Get(a.Media) == nil {
					t.Errorf("%s %s: %d is not described as %s", r.Method, r.Path, a.Status, a.Media)
				}
			case a.Body != nil:
				if mt := resp.Value.Content.Get("application/json"); mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
					t.Errorf("%s %s: %d has no JSON schema", r.Method, r.Path, a.Status)
				}
			default:
				if len(resp.Value.Content) != 0 {
					t.Errorf("%s %s: %d declares no body, but the document gives it one", r.Method, r.Path, a.Status)
				}
			}
		}
	}
}

// TestIdempotencyKeyDocumented: the two creates whose id the service picks take the
// Idempotency-Key header in the document, and no other route claims to.
func TestIdempotencyKeyDocumented(t *testing.T) {
	_, doc := servedDocument(t)
	want := map[string]bool{"post /api/v1/hardship/grants": true, "post /api/v1/inspection-rounds/{id}/findings": true}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := strings.ToLower(method) + " " + path
			p := op.Parameters.GetByInAndName("header", IdempotencyKeyHeader)
			if want[key] != (p != nil) {
				t.Errorf("%s: takes Idempotency-Key in the document: %v, want %v", key, p != nil, want[key])
			}
		}
	}
}

// TestAnswerSchemaClosed: an answer's schema takes the fields of its type and no other, so that
// the e2e check of real answers finds a field the document leaves out; a field left out because
// it is omitempty is still taken.
func TestAnswerSchemaClosed(t *testing.T) {
	_, doc := servedDocument(t)
	task := doc.Paths.Value("/api/v1/tasks/{id}").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	var open map[string]any
	raw, err := json.Marshal(taskAnswer{taskView: taskView{Task: casework.Task{Kind: casework.KindSubsidyReview, State: casework.TaskOpen}, Outcomes: []string{}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &open); err != nil {
		t.Fatal(err)
	}
	if err := task.VisitJSON(open); err != nil {
		t.Fatalf("an open task's answer does not fit its schema: %v", err)
	}
	open["surprise"] = "x"
	if err := task.VisitJSON(open); err == nil {
		t.Errorf("a task's answer with a field its type does not have fits the schema")
	}
}

// mayAccept maps each function of the package to whether it may answer 202: it runs a workflow
// Update (update, whose answer is 202 when the workflow takes it but does not finish in time),
// waits for a created record (created), or names StatusAccepted itself — or calls, handing it the
// request, a function that does.
func mayAccept(t *testing.T) map[string]bool {
	t.Helper()
	direct := map[string]bool{}
	calls := map[string][]string{}
	eachFunc(t, func(fn *ast.FuncDecl) {
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if n.Sel.Name == "StatusAccepted" {
					direct[fn.Name.Name] = true
				}
			case *ast.CallExpr:
				callee := calleeName(n)
				if callee == "update" || callee == "created" {
					direct[fn.Name.Name] = true
				}
				if handsRequest(n) {
					calls[fn.Name.Name] = append(calls[fn.Name.Name], callee)
				}
			}
			return true
		})
	})
	out := map[string]bool{}
	var reach func(name string, seen map[string]bool) bool
	reach = func(name string, seen map[string]bool) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		if direct[name] {
			return true
		}
		for _, c := range calls[name] {
			if reach(c, seen) {
				return true
			}
		}
		return false
	}
	for name := range calls {
		out[name] = reach(name, map[string]bool{})
	}
	for name := range direct {
		out[name] = true
	}
	return out
}

// TestAcceptedDeclared: a route declares a 202 answer exactly when its handler may answer 202
// (mayAccept), so that a client generator is told of every answer that means "taken, not yet
// recorded", and of no other.
func TestAcceptedDeclared(t *testing.T) {
	may := mayAccept(t)
	for _, r := range New(config.Default(), nil, nil, nil, nil).Routes() {
		declared := slices.ContainsFunc(r.Answers, func(a Answer) bool { return a.Status == 202 })
		if h := handlerName(r.Handler); may[h] != declared {
			t.Errorf("%s %s (%s): may answer 202: %v; declares 202: %v", r.Method, r.Path, h, may[h], declared)
		}
	}
}
