package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// What a person may send, checked at the edge for every route before a handler sees it: every
// text is valid UTF-8 with no control characters (a NUL byte cannot be stored in PostgreSQL, and
// the others have no place in a form), and has a length limit; every list has a count limit.
// Whatever passes is small enough to travel through workflow history, so no single request can
// grow a case's history by more than a few kilobytes.
//
// A field's limits come from its struct tags:
//
//	max:"1000"       characters of a text (or of each text in a list or map); default defaultMaxRunes
//	items:"20"       entries of a list or map; default defaultMaxItems
//	multiline:"true" tab and line breaks are allowed (free text typed in a textarea)
const (
	defaultMaxRunes = 100 // names, codes, ids, dates: one line
	defaultMaxItems = 100
	paramMaxRunes   = 200 // path and query parameters
)

// Free text is tagged max:"1000" (a comment, reason or note: a paragraph) or max:"2000" (a
// persuasion attempt's notes); the console shows the refusal next to the field, in Chinese.

type inputRule struct {
	max, items int
	multiline  bool
}

func ruleOf(f reflect.StructField) inputRule {
	r := inputRule{max: defaultMaxRunes, items: defaultMaxItems}
	if n, err := strconv.Atoi(f.Tag.Get("max")); err == nil && n > 0 {
		r.max = n
	}
	if n, err := strconv.Atoi(f.Tag.Get("items")); err == nil && n > 0 {
		r.items = n
	}
	r.multiline = f.Tag.Get("multiline") == "true"
	return r
}

// checkInput walks a decoded request body and refuses the first text or list beyond its limits,
// naming it as the JSON names it (items[3].student_id, visitors[2], fields.evidence_note).
func checkInput(v any) error {
	return walkInput(reflect.ValueOf(v), "", inputRule{max: defaultMaxRunes, items: defaultMaxItems})
}

func walkInput(v reflect.Value, path string, r inputRule) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkInput(v.Elem(), path, r)
	case reflect.String:
		return checkText(path, v.String(), r)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			sub := path
			if !f.Anonymous {
				sub = joinField(path, name)
			}
			if err := walkInput(v.Field(i), sub, ruleOf(f)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Len() > r.items {
			return bad(path, "at most %d entries (got %d)", r.items, v.Len()).because("max_entries", "max", strconv.Itoa(r.items))
		}
		for i := 0; i < v.Len(); i++ {
			if err := walkInput(v.Index(i), fmt.Sprintf("%s[%d]", path, i), r); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.Len() > r.items {
			return bad(path, "at most %d entries (got %d)", r.items, v.Len()).because("max_entries", "max", strconv.Itoa(r.items))
		}
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key().Interface())
			if err := checkText(path, key, inputRule{max: defaultMaxRunes}); err != nil {
				return err
			}
			if err := walkInput(iter.Value(), joinField(path, key), r); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkText refuses invalid UTF-8, control characters (tab and line breaks only in multiline
// text), and text longer than the rule allows.
func checkText(field, s string, r inputRule) error {
	if field == "" {
		field = "body"
	}
	if !utf8.ValidString(s) {
		return bad(field, "contains bytes that are not readable text (not UTF-8); type or paste it again").because("not_utf8")
	}
	n := 0
	for _, c := range s {
		n++
		if isControl(c) && !(r.multiline && (c == '\n' || c == '\r' || c == '\t')) {
			what := "a control character"
			if c == 0 {
				what = "a NUL byte (an invisible control character)"
			}
			return bad(field, "contains %s at character %d; remove it and send again", what, n).because("control_char", "position", strconv.Itoa(n))
		}
	}
	if r.max > 0 && n > r.max {
		return bad(field, "at most %d characters (this one has %d)", r.max, n).because("max_chars", "max", strconv.Itoa(r.max))
	}
	return nil
}

// isControl is true for the C0 and C1 control characters and DEL.
func isControl(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }

// blank is true for text with nothing visible in it: spaces, and format characters such as the
// zero-width space (U+200B) that look like nothing on screen.
func blank(s string) bool {
	for _, c := range s {
		if !unicode.IsSpace(c) && !unicode.Is(unicode.Cf, c) {
			return false
		}
	}
	return true
}

// quote shows a person's input in a message: quoted, and at most a short prefix of it.
func quote(s string) string {
	const keep = 40
	if utf8.RuneCountInString(s) <= keep {
		return strconv.Quote(s)
	}
	r := []rune(s)
	return strconv.Quote(string(r[:keep])) + "…"
}

// parseBody decodes a JSON object into dst and checks every text and list in it.
func parseBody(c *fiber.Ctx, dst any) error {
	body := c.Body()
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return bad("body", "a JSON object is required").because("json")
	}
	if trimmed[0] != '{' {
		return bad("body", "must be a JSON object in braces, such as {\"comment\": \"…\"}").because("json")
	}
	if !utf8.Valid(body) {
		// encoding/json would quietly turn the bad bytes into U+FFFD; refuse them instead.
		return bad(invalidUTF8Field(body), "contains bytes that are not readable text (not UTF-8); type or paste it again").because("not_utf8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			field := ute.Field
			if field == "" {
				field = "body"
			}
			if n, ok := strings.CutPrefix(ute.Value, "number "); ok && isInteger(ute.Type) {
				// A number where a whole one goes (amounts are whole fen): say which rule it breaks.
				if strings.ContainsAny(n, ".eE") {
					return bad(field, "must be a whole number, without a fraction (%s)", n).because("whole_number")
				}
				return bad(field, "%s is far too large", n).because("number_too_large")
			}
			return bad(field, "must be %s", kindWords(ute.Type)).because("json_type")
		}
		if f, ok := unknownField(err); ok {
			// The key names the field at fault, unless it cannot: empty ({"": 1}, found by
			// FuzzRequestBody), or too long or unprintable to stand as a field's name.
			if f == "" || checkText("", f, inputRule{max: defaultMaxRunes}) != nil {
				return bad("body", "has an unknown field %s", quote(f)).because("unknown_field")
			}
			return bad(f, "unknown field").because("unknown_field")
		}
		return bad("body", "not valid JSON (%s)", strings.TrimPrefix(err.Error(), "json: ")).because("json")
	}
	if dec.More() {
		return bad("body", "must be one JSON object, with nothing after it").because("json")
	}
	return checkInput(dst)
}

func isInteger(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// kindWords names what a field must be in a clerk's words, not Go's.
func kindWords(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "text in quotes"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list in square brackets"
	default:
		return "an object in braces"
	}
}

// invalidUTF8Field finds the field whose text holds invalid UTF-8: the key of the string in which
// the bad bytes stand (or the key itself), by a scan of the raw JSON.
func invalidUTF8Field(body []byte) string {
	lastKey := ""
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		start := i + 1
		j := start
		for j < len(body) && body[j] != '"' {
			if body[j] == '\\' {
				j++
			}
			j++
		}
		if j > len(body) {
			j = len(body)
		}
		raw := body[start:j]
		k := j + 1
		for k < len(body) && (body[k] == ' ' || body[k] == '\t' || body[k] == '\r' || body[k] == '\n') {
			k++
		}
		isKey := k < len(body) && body[k] == ':'
		if !utf8.Valid(raw) {
			if isKey || lastKey == "" {
				return "body"
			}
			return lastKey
		}
		if isKey {
			lastKey = string(raw)
		}
		i = j
	}
	return "body"
}

// checkParams refuses path and query parameters that are not short, readable text.
func checkParams(c *fiber.Ctx) error {
	for _, name := range c.Route().Params {
		if err := checkText(name, c.Params(name), inputRule{max: paramMaxRunes}); err != nil {
			return err
		}
	}
	var err error
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if err == nil {
			err = checkText("query", string(k), inputRule{max: paramMaxRunes})
		}
		if err == nil {
			err = checkText(string(k), string(v), inputRule{max: paramMaxRunes})
		}
	})
	if err != nil {
		return err
	}
	return c.Next()
}
