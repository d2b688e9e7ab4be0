package api

import (
	"encoding/json"
	"strings"
	"time"
)

// unknownField extracts the name from encoding/json's "unknown field" error.
func unknownField(err error) (string, bool) {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return strings.Trim(rest, `"`), true
	}
	return "", false
}

func jsonString(v any) string {
	if v == nil {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

func nowUTC() time.Time { return time.Now().UTC() }
