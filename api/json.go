package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// unknownField extracts the name from encoding/json's "unknown field" error, which quotes it
// as Go does (%q): unquoted, so that a key with a quote or backslash in it is named as it was sent.
func unknownField(err error) (string, bool) {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if name, uerr := strconv.Unquote(rest); uerr == nil {
			return name, true
		}
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
