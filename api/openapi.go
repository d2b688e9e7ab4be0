package api

import (
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
)

var paramRe = regexp.MustCompile(`:([A-Za-z_]+)`)

// docParamRe is a parameter of a path in the document's syntax.
var docParamRe = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// OpenAPIPath turns a Fiber path (/tasks/:id) into an OpenAPI one (/tasks/{id}).
func OpenAPIPath(p string) string { return paramRe.ReplaceAllString(p, "{$1}") }

// DocumentPath is a route's path (Fiber syntax) as the document has it: OpenAPIPath, except that
// a parameter standing where a path of the same shape has another name is named by both
// (/api/v1/imports/{id_or_kind} for POST /api/v1/imports/:kind and GET /api/v1/imports/:id),
// since OpenAPI forbids two templates that differ only in their parameters' names.
func (s *Server) DocumentPath(path string) string {
	shape := func(p string) string { return paramRe.ReplaceAllString(p, ":") }
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if !strings.Contains(seg, ":") {
			continue
		}
		names := map[string]bool{}
		for _, r := range s.routes {
			other := strings.Split(r.Path, "/")
			if shape(r.Path) != shape(path) {
				continue
			}
			for _, m := range paramRe.FindAllStringSubmatch(other[i], -1) {
				names[m[1]] = true
			}
		}
		if len(names) > 1 {
			joined := slices.Sorted(maps.Keys(names))
			segs[i] = paramRe.ReplaceAllString(seg, ":"+strings.Join(joined, "_or_"))
		}
	}
	return OpenAPIPath(strings.Join(segs, "/"))
}

// Document builds the OpenAPI 3 document from the route table.
func (s *Server) Document() map[string]any {
	paths := map[string]map[string]any{}
	for _, r := range s.routes {
		p := s.DocumentPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_").Replace(p),
			"responses": map[string]any{
				// Every refusal and failure has the one error shape (errors.go); a generated
				// client decodes it by these.
				"4XX":     errorResponse("Refused: the error's code and params say why (README, Error codes)"),
				"5XX":     errorResponse("Failed (a 503 is worth retrying after Retry-After); nothing was half-done"),
				"default": errorResponse("Error"),
			},
		}
		responses := op["responses"].(map[string]any)
		for _, a := range r.Answers {
			// One status may answer in several media types (a report as JSON or as a workbook).
			answer, _ := responses[strconv.Itoa(a.Status)].(map[string]any)
			if answer == nil {
				answer = map[string]any{"description": answerDescription(a.Status)}
				responses[strconv.Itoa(a.Status)] = answer
			}
			content, _ := answer["content"].(map[string]any)
			switch {
			case a.Media != "":
				content = addContent(content, a.Media, map[string]any{"type": "string", "format": "binary"})
			case a.Body != nil:
				content = addContent(content, "application/json", describe(reflect.TypeOf(a.Body), true))
			}
			if content != nil {
				answer["content"] = content
			}
		}
		if len(r.Answers) == 0 {
			// Not described (TestEveryRouteAnswers names every such route): only that it succeeds.
			responses["200"] = map[string]any{"description": "OK"}
		}
		var params []any
		for _, m := range docParamRe.FindAllStringSubmatch(p, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range r.Query {
			schema := map[string]any{"type": "string"}
			if q.Type != "" {
				schema["type"] = q.Type
			}
			if q.Enum != nil {
				schema["enum"] = q.Enum
			}
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": schema})
		}
		if r.idempotent {
			params = append(params, map[string]any{"name": IdempotencyKeyHeader, "in": "header", "schema": map[string]any{"type": "string", "maxLength": 100, "pattern": "^[!-~]+$"},
				"description": "Repeating the request with the same key (the same caller) answers with the case the first request started instead of starting a second one"})
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(schemaOf(reflect.TypeOf(r.Body)))}
		}
		if r.Auth != "" {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["description"] = "Who may call: " + r.Auth
		}
		paths[p][strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "jiaofu (教扶) API", "version": "1",
			"description": "Approvals and accountability for the Jianshi County Education Bureau's poverty-alleviation work."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas":         schemas(),
		},
	}
}

// answerDescription words a success status for the document.
func answerDescription(status int) string {
	switch status {
	case fiber.StatusCreated:
		return "Created: the record as it is now"
	case fiber.StatusAccepted:
		return "Accepted: started or taken, but its record is not written yet; read it again shortly"
	case fiber.StatusNoContent:
		return "Done; no body"
	}
	return "OK"
}

func errorResponse(description string) map[string]any {
	return map[string]any{"description": description, "content": jsonContent(map[string]any{"$ref": "#/components/schemas/Error"})}
}

// outcomeSchema is the name of the schema of a task kind's outcomes.
func outcomeSchema(kind string) string { return "TaskOutcome." + kind }

// stateSchema is the name of the schema of the states of a process's kind of case.
func stateSchema(process, caseKind string) string { return "CaseState." + process + "." + caseKind }

// schemas are the document's named schemas: the error shape, and the closed sets of values the
// process registry (casework) fixes, so that a generated client has them as enums — task kinds
// and each one's outcomes, the accountability measures, and the states of each kind of case.
func schemas() map[string]any {
	enum := func(description string, values []string) map[string]any {
		return map[string]any{"type": "string", "description": description, "enum": values}
	}
	out := map[string]any{
		"Error": map[string]any{"type": "object", "required": []string{"error"}, "properties": map[string]any{
			"error": map[string]any{"type": "object", "required": []string{"code", "message"}, "properties": map[string]any{
				"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"},
				"params": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}}}},
		"TaskKind": enum("A kind of human task (待办)", casework.TaskKindNames()),
	}
	var outcomes []string
	for _, p := range casework.Processes {
		for _, k := range p.TaskKinds {
			out[outcomeSchema(k.Name)] = enum("The outcomes a task of kind "+k.Name+" ("+k.Label+") is completed with", k.Outcomes)
			for _, o := range k.Outcomes {
				if !slices.Contains(outcomes, o) {
					outcomes = append(outcomes, o)
				}
			}
		}
		for _, ck := range p.Cases {
			var states []string
			for _, st := range ck.States {
				states = append(states, st.Name)
			}
			out[stateSchema(p.Name, ck.Name)] = enum("The states of a "+p.Name+" "+ck.Name+" ("+ck.Label+")", states)
		}
	}
	sort.Strings(outcomes)
	out["TaskOutcome"] = enum("An outcome of some task kind; which ones a task takes: TaskOutcome.<kind>", outcomes)
	// A task's recorded outcome is one it was completed with, or withdrawn (the applicant took the
	// case back, 撤回), which no completion takes: so answers have their own enum. An open or
	// cancelled task has no outcome at all (the field is left out), never an empty one.
	out["TaskResultOutcome"] = enum("The outcome a task ended with: one of TaskOutcome, or withdrawn; absent while the task is open or when it was cancelled",
		slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(outcomes), casework.OutcomeWithdrawn)))))
	out["Opening"] = enum("A record started but not written yet", []string{"opening"})
	out["Accepted"] = enum("An action taken but not recorded yet", []string{"accepted"})
	var measures []string
	for _, m := range casework.Measures() {
		measures = append(measures, m.Name)
	}
	out["AccountabilityMeasure"] = enum("An accountability measure (问责措施)", measures)
	return out
}

// addContent adds a media type's schema to an answer's content; a second schema of the same
// status and media type makes it one of them (POST /api/v1/imports/:kind answers a plan's task
// list as the plan's own import does).
func addContent(content map[string]any, media string, schema any) map[string]any {
	if content == nil {
		content = map[string]any{}
	}
	if prev, ok := content[media].(map[string]any); ok {
		old := prev["schema"].(map[string]any)
		if one, ok := old["oneOf"].([]any); ok {
			old["oneOf"] = append(one, schema)
		} else {
			prev["schema"] = map[string]any{"oneOf": []any{old, schema}}
		}
		return content
	}
	content[media] = map[string]any{"schema": schema}
	return content
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// listOf is the shape of a list's answer, {"items": [...]}.
type listOf[T any] struct {
	Items []T `json:"items"`
}

// countedList is a ledger's answer: its entries and how many are in each state.
type countedList[T any] struct {
	Items  []T            `json:"items"`
	Counts map[string]int `json:"counts"`
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

// schemaOf describes a Go type as a JSON schema from its json tags, as encoding/json writes it: a
// nil pointer, slice or map is null, an embedded struct's fields are the outer object's, a time is
// an RFC 3339 text, and a type that writes itself may be any JSON.
func schemaOf(t reflect.Type) map[string]any { return describe(t, false) }

// describe is schemaOf for a request (answer false), whose required fields are those tagged
// required:"true", or for an answer, in which every field without omitempty is always present.
func describe(t reflect.Type, answer bool) map[string]any {
	if t.Kind() == reflect.Pointer {
		s := describe(t.Elem(), answer)
		s["nullable"] = true
		return s
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": describe(t.Elem(), answer), "nullable": true}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": describe(t.Elem(), answer), "nullable": true}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			// encoding/json writes the fields of an embedded struct even when its type is
			// unexported (taskAnswer embeds taskView), and no other unexported field.
			if name == "-" || !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
				continue
			}
			if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
				// An embedded struct's fields are the outer object's, unless the outer struct has a
				// field of the same name (encoding/json's rule: the shallower one wins).
				embedded := describe(f.Type, answer)
				for k, v := range embedded["properties"].(map[string]any) {
					if _, ok := props[k]; !ok && !hasJSONField(t, k) {
						props[k] = v
						if req, _ := embedded["required"].([]string); slices.Contains(req, k) {
							required = append(required, k)
						}
					}
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = describe(f.Type, answer)
			// required:"true" marks a field without which the handler refuses the request.
			if answer && !strings.Contains(f.Tag.Get("json"), ",omitempty") || !answer && f.Tag.Get("required") == "true" {
				required = append(required, name)
			}
			// schema:"Name" says the field takes the named schema's values (an enum of schemas()).
			if ref := f.Tag.Get("schema"); ref != "" {
				props[name] = map[string]any{"$ref": "#/components/schemas/" + ref}
				if f.Type.Kind() == reflect.Slice {
					props[name] = map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/" + ref}}
				}
			}
		}
		out := map[string]any{"type": "object", "properties": props}
		if answer {
			// An answer has exactly the fields its type declares, so that the check of real
			// answers against the document (e2e TestOpenAPIResponses) finds a field the
			// document leaves out, as it finds one missing.
			out["additionalProperties"] = false
		}
		if required != nil {
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}

// hasJSONField says whether struct t has a field of its own (not embedded) named name in JSON.
func hasJSONField(t reflect.Type, name string) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if n == "" && !f.Anonymous {
			n = f.Name
		}
		if n == name && f.IsExported() {
			return true
		}
	}
	return false
}

// OpenAPI serves the document.
func (s *Server) OpenAPI(c *fiber.Ctx) error { return c.JSON(s.Document()) }
