package store

import (
	"strings"
	"testing"
)

// TestPastPrefix checks the range's upper end: every string starting with the prefix sorts
// before it, and nothing between the prefix and it fails to start with the prefix.
func TestPastPrefix(t *testing.T) {
	for _, c := range []struct {
		prefix, end string
		ok          bool
	}{
		{"/JS/JS-T01/", "/JS/JS-T010", true},
		{"/JS/JS-T0_/", "/JS/JS-T0_0", true},
		{"/建始/", "/建始0", true},
		{"/a\uD7FF", "/a\uE000", true},
		{"/a\U0010FFFF", "/b", true},
		{"\U0010FFFF", "", false},
		{"/a\xff", "/b", true}, // not UTF-8: bytes
		{"\xff\xff", "", false},
	} {
		end, ok := pastPrefix(c.prefix)
		if end != c.end || ok != c.ok {
			t.Errorf("pastPrefix(%q) = %q, %v; want %q, %v", c.prefix, end, ok, c.end, c.ok)
		}
		if ok && (end <= c.prefix || !(c.prefix+"\U0010FFFF\xff" < end)) {
			t.Errorf("pastPrefix(%q) = %q does not bound the strings starting with the prefix", c.prefix, end)
		}
		if ok && strings.HasPrefix(end, c.prefix) {
			t.Errorf("pastPrefix(%q) = %q itself starts with the prefix", c.prefix, end)
		}
	}
}
