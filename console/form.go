package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
)

// form keeps what the user typed and the errors of its fields, so that a refused form comes back
// filled in, with each error next to its field.
type form struct {
	Values map[string]string
	Errors map[string]*fieldError
	Banner *uiError
	Prefix string // prefixes element ids when one page has several forms
	fields map[string]bool
	alias  map[string]string // API field → form field (amount_fen → amount)
}

// fieldAliases send an API field to the form field that stands for it, in any form that has it.
var fieldAliases = map[string]string{
	"roles":              "role",
	"roles[0].role":      "role",
	"roles[0].unit_code": "unit_code",
	"amount_fen":         "amount",
	"entry_id":           "entry",
	// An outcome's fields go to the API as fields.<name>; the form shows them by name.
	"fields.evidence_note": "evidence_note",
	"fields.channel":       "channel",
	"fields.reference":     "reference",
}

func newForm(fields ...string) *form {
	f := &form{Values: map[string]string{}, Errors: map[string]*fieldError{}, fields: map[string]bool{}, alias: map[string]string{}}
	for _, n := range fields {
		f.fields[n] = true
	}
	for api, field := range fieldAliases {
		if f.fields[field] {
			f.alias[api] = field
		}
	}
	return f
}

// formFrom reads the named fields from the request body (trimmed).
func formFrom(c *fiber.Ctx, fields ...string) *form {
	f := newForm(fields...)
	for _, n := range fields {
		f.Values[n] = strings.TrimSpace(c.FormValue(n))
	}
	return f
}

func (f *form) has(field string) bool {
	if f == nil {
		return false
	}
	if a, ok := f.alias[field]; ok {
		field = a
	}
	return f.fields[field] || f.fields[indexRe.ReplaceAllString(field, "")] // units[1] → units
}

func (f *form) put(field string, fe *fieldError) {
	if a, ok := f.alias[field]; ok {
		field = a
	}
	if !f.fields[field] {
		field = indexRe.ReplaceAllString(field, "")
	}
	f.Errors[field] = fe
}

// V is a field's value.
func (f *form) V(name string) string { return f.Values[name] }

// E is a field's error, or nil.
func (f *form) E(name string) *fieldError { return f.Errors[name] }

// Checked tells whether a checkbox was ticked.
func (f *form) Checked(name string) bool {
	v := f.Values[name]
	return v == "on" || v == "true" || v == "1"
}

// failed records err on the form: next to its field when the API named one of the form's
// fields (a 400's, or a refusal's such as a duplicate code), otherwise as the form's banner. It
// returns the HTTP status to answer with.
func (f *form) failed(err error) int {
	var ae *apiError
	if !asAPI(err, &ae) {
		f.Banner = toUI(err, nil)
		return f.Banner.Status
	}
	if ae.Field != "" && f.has(ae.Field) && ae.Status < fiber.StatusInternalServerError {
		f.put(ae.Field, translateField(ae))
		return ae.Status
	}
	f.Banner = toUI(err, nil)
	return f.Banner.Status
}

// checked records the API's own checks of the form's fields (api.ApplicationErrors and the
// like), which the console runs before the request: the API stops at the first bad field, and a
// clerk should see every one at once, worded as the API's answers are. It reports whether any
// failed; then the request is not sent.
func (f *form) checked(errs []*api.Error) bool {
	for _, e := range errs {
		f.failed(fromAPI(e))
	}
	return len(errs) > 0
}

// option is one choice of a select.
type option struct {
	Value, Label string
}

// fieldView is what the field partials render.
type fieldView struct {
	ID, Name, Label, Type, Value, Hint, Placeholder string
	Err                                             *fieldError
	Options                                         []option
	Checked                                         bool
	Required                                        bool
}

// Template helpers: {{template "input" (input .F "term" "学期" "text" "提示")}} and so on.
func inputField(f *form, name, label, typ string, hint ...string) fieldView {
	v := fieldView{ID: "f-" + f.Prefix + name, Name: name, Label: label, Type: typ, Value: f.V(name), Err: f.E(name)}
	if len(hint) > 0 {
		v.Hint = hint[0]
	}
	if len(hint) > 1 {
		v.Placeholder = hint[1]
	}
	return v
}

func textareaField(f *form, name, label string, hint ...string) fieldView {
	return inputField(f, name, label, "textarea", hint...)
}

func selectField(f *form, name, label string, opts []option, hint ...string) fieldView {
	v := inputField(f, name, label, "select", hint...)
	v.Options = opts
	return v
}

func checkboxField(f *form, name, label string, hint ...string) fieldView {
	v := inputField(f, name, label, "checkbox", hint...)
	v.Checked = f.Checked(name)
	return v
}
