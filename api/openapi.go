package api

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"
)

var paramRe = regexp.MustCompile(`:([A-Za-z_]+)`)

// OpenAPIPath turns a Fiber path (/tasks/:id) into an OpenAPI one (/tasks/{id}).
func OpenAPIPath(p string) string { return paramRe.ReplaceAllString(p, "{$1}") }

// Document builds the OpenAPI 3 document from the route table.
func (s *Server) Document() map[string]any {
	paths := map[string]map[string]any{}
	for _, r := range s.routes {
		p := OpenAPIPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_").Replace(p),
			"responses": map[string]any{
				"200":     map[string]any{"description": "OK"},
				"default": map[string]any{"description": "Error", "content": jsonContent(map[string]any{"$ref": "#/components/schemas/Error"})},
			},
		}
		if r.Method == fiber.MethodPost && r.Body != nil {
			op["responses"].(map[string]any)["201"] = map[string]any{"description": "Created"}
		}
		var params []any
		for _, m := range paramRe.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
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
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "object", "required": []string{"code", "message"}, "properties": map[string]any{
					"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"},
					"params": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}}}}},
		},
	}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// schemaOf describes a Go type as a JSON schema from its json tags.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

// OpenAPI serves the document.
func (s *Server) OpenAPI(c *fiber.Ctx) error { return c.JSON(s.Document()) }
