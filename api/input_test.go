package api

import (
	"strings"
	"testing"
)

func TestCheckInputNamesTheField(t *testing.T) {
	type inner struct {
		Note string `json:"note" max:"5" multiline:"true"`
	}
	type body struct {
		Name   string            `json:"name"`
		Tags   []string          `json:"tags" items:"2" max:"3"`
		Fields map[string]string `json:"fields" items:"1"`
		Inner  []inner           `json:"inner"`
		Opt    *string           `json:"opt" max:"2"`
	}
	long := "abc"
	for _, c := range []struct {
		in    body
		field string
	}{
		{body{Name: "a\x00b"}, "name"},
		{body{Name: "tab\there"}, "name"},
		{body{Name: strings.Repeat("名", 101)}, "name"},
		{body{Name: "\u0085"}, "name"}, // C1 control (NEL)
		{body{Tags: []string{"a", "b", "c"}}, "tags"},
		{body{Tags: []string{"abcd"}}, "tags[0]"},
		{body{Fields: map[string]string{"a": "1", "b": "2"}}, "fields"},
		{body{Fields: map[string]string{"a": "x\x01"}}, "fields.a"},
		{body{Inner: []inner{{Note: "ok"}, {Note: "123456"}}}, "inner[1].note"},
		{body{Opt: &long}, "opt"},
	} {
		err := checkInput(c.in)
		e, ok := err.(*Error)
		if !ok || e.Field != c.field {
			t.Errorf("%+v: %v, want a 400 naming %s", c.in, err, c.field)
		}
	}
	if err := checkInput(body{Name: "张三", Inner: []inner{{Note: "a\r\nb\t"}}}); err != nil {
		t.Errorf("clean input refused: %v", err)
	}
}

func TestInvalidUTF8Field(t *testing.T) {
	for raw, want := range map[string]string{
		`{"a":"ok","b":"x` + "\xff" + `"}`:          "b",
		`{"a":"ok", "b" : ["y", "` + "\xc3" + `"]}`: "b",
		`{"` + "\xff" + `":"v"}`:                    "body",
	} {
		if got := invalidUTF8Field([]byte(raw)); got != want {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}

func TestBlankAndQuote(t *testing.T) {
	if !blank("\u200b \ufeff\u3000") || blank("\u200b李") {
		t.Error("blank: zero-width and ideographic spaces are nothing; a letter is something")
	}
	if q := quote(strings.Repeat("长", 1000)); len([]rune(q)) > 45 {
		t.Errorf("quote kept %d characters", len([]rune(q)))
	}
}
