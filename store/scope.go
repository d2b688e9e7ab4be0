package store

import (
	"strings"
	"unicode/utf8"

	"jiaofu/schema"
)

// underPath is the one SQL condition for "col lies at or below the unit path prefix": a byte
// range, col >= prefix AND col < the least string after every string starting with prefix. It is
// the exact prefix test access.Within makes in Go. LIKE is not used because unit codes are
// patterns to it ("_" and "%" match other codes, and SQLite's LIKE ignores ASCII case), and old
// databases may hold such codes whatever the API now accepts.
//
// SQLite compares text byte by byte (BINARY, every column's collation here), so plain >= and <
// serve, and can use the indexes' unit_path column. PostgreSQL's < follows the database's
// collation, which is not byte order; ~>=~ and ~<~ compare bytes, and they are the operators of
// text_pattern_ops, the operator class the inbox index was built with (schema migrations 00005,
// 00006), so that index still finds a scope's tasks by range. An empty prefix is no restriction.
func (s *Store) underPath(col, prefix string) (string, []any) {
	if prefix == "" {
		return "1=1", nil
	}
	ge, lt := ">=", "<"
	if s.dialect == schema.Postgres {
		ge, lt = "~>=~", "~<~"
	}
	end, ok := pastPrefix(prefix)
	if !ok {
		return col + " " + ge + " ?", []any{prefix}
	}
	return "(" + col + " " + ge + " ? AND " + col + " " + lt + " ?)", []any{prefix, end}
}

// underAnyPath is the condition for "col lies under one of the scopes"; nil scopes mean no
// restriction, an empty non-nil list means nothing.
func (s *Store) underAnyPath(col string, scopes []string) (string, []any) {
	if scopes == nil {
		return "1=1", nil
	}
	if len(scopes) == 0 {
		return "1=0", nil
	}
	ors := make([]string, len(scopes))
	var args []any
	for i, sc := range scopes {
		var scArgs []any
		ors[i], scArgs = s.underPath(col, sc)
		args = append(args, scArgs...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// pastPrefix returns the least string that sorts after every string starting with prefix in
// byte order, or ok=false when there is none. For UTF-8 it increments the last character that
// can be (byte order is code-point order there) and keeps the result valid UTF-8, which
// PostgreSQL requires of text; other bytes, which only SQLite can hold, are incremented as bytes.
func pastPrefix(prefix string) (end string, ok bool) {
	if !utf8.ValidString(prefix) {
		b := []byte(prefix)
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] < 0xFF {
				b[i]++
				return string(b[:i+1]), true
			}
		}
		return "", false
	}
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		switch r := rs[i]; {
		case r == 0xD7FF: // the surrogates U+D800–DFFF are not characters
			rs[i] = 0xE000
		case r < utf8.MaxRune:
			rs[i] = r + 1
		default:
			continue
		}
		return string(rs[:i+1]), true
	}
	return "", false
}
