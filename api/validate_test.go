package api

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"jiaofu/calendar"
	"jiaofu/demo"
	"jiaofu/store"
)

func TestMaskName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"李梅": "李*", "张小三": "张*三", "谭欧阳小雨": "谭***雨", "王": "*", "": "", " 向金花 ": "向*花"} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMaskName: a masked name never reveals more than its first and last character, and keeps
// the name's length so a reader can tell entries apart.
func FuzzMaskName(f *testing.F) {
	for _, s := range []string{"李梅", "张小三", "谭欧阳小雨", "A", "ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) {
			return
		}
		got := []rune(MaskName(name))
		r := []rune(strings.TrimSpace(name))
		if len(got) != len(r) {
			t.Fatalf("MaskName(%q) = %q: length %d, want %d", name, string(got), len(got), len(r))
		}
		for i := 1; i < len(r)-1 || (len(r) == 2 && i == 1); i++ {
			if got[i] != '*' {
				t.Fatalf("MaskName(%q) = %q shows character %d", name, string(got), i)
			}
		}
		if len(r) == 1 && got[0] != '*' {
			t.Fatalf("a one-character name is shown: %q", string(got))
		}
	})
}

func TestValidIDCard(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"11010519491231002X", "440524188001010014"} {
		if err := ValidIDCard(id); err != nil {
			t.Errorf("ValidIDCard(%s): %v", id, err)
		}
	}
	for _, id := range []string{"11010519491231002", "110105194912310021", "1101051949123100X2", "110105194913310028", "11010519491231002Y"} {
		if ValidIDCard(id) == nil {
			t.Errorf("ValidIDCard(%s) accepted", id)
		}
	}
	// Lowercase x is how people type it; it is the same check character.
	if err := ValidIDCard("11010519491231002x"); err != nil {
		t.Errorf("lowercase x: %v", err)
	}
}

func TestValidTerm(t *testing.T) {
	t.Parallel()
	for _, term := range []string{"2026-2027-1", "2026-2027-2"} {
		if err := ValidTerm(term); err != nil {
			t.Errorf("%s: %v", term, err)
		}
	}
	for _, term := range []string{"2026-2028-1", "2026-2027-3", "2026-27-1", "2026-2027", "", "２０２６-2027-1"} {
		if ValidTerm(term) == nil {
			t.Errorf("%q accepted", term)
		}
	}
}

func TestTermForApplication(t *testing.T) {
	t.Parallel()
	cst := func(s string) time.Time {
		at, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.CST)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	for _, c := range []struct {
		now       string
		ok, notOK []string
	}{
		{"2026-12-01 10:00", []string{"2026-2027-1", "2026-2027-2", "2027-2028-1", "2027-2028-2"}, []string{"2025-2026-2", "2028-2029-1", "2030-2031-2"}},
		// 31 August is still the old school year; 1 September at 00:00 China time (16:00 UTC
		// the day before) is the new one.
		{"2027-08-31 23:59", []string{"2026-2027-2", "2027-2028-1"}, []string{"2028-2029-1", "2025-2026-2"}},
		{"2027-09-01 00:00", []string{"2027-2028-1", "2028-2029-1"}, []string{"2026-2027-2"}},
	} {
		now := cst(c.now).UTC()
		for _, term := range c.ok {
			if err := termForApplication(term, now, false); err != nil {
				t.Errorf("at %s, %s: %v", c.now, term, err)
			}
		}
		for _, term := range c.notOK {
			if termForApplication(term, now, false) == nil {
				t.Errorf("at %s, %s accepted", c.now, term)
			}
		}
	}
	err := termForApplication("2030-2031-2", cst("2026-12-01 10:00"), false)
	if err == nil || !strings.Contains(err.Error(), "the term must be in the 2026–2027 or 2027–2028 school year") {
		t.Errorf("message: %v", err)
	}
	if termForApplication("2026-2028-1", cst("2026-12-01 10:00"), true) == nil {
		t.Error("a malformed term accepted")
	}
	if err := termForApplication("3000-3001-1", cst("2026-12-01 10:00"), true); err != nil {
		t.Errorf("AnyTerm (the benchmarks): %v", err)
	}
}

func TestYuan(t *testing.T) {
	t.Parallel()
	for fen, want := range map[int64]string{0: "0.00", 5: "0.05", 50000: "500.00", 62550: "625.50"} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %s, want %s", fen, got, want)
		}
	}
}

func TestUnitCodeAlphabet(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"JS", "JS-T01", "JS-T01-S01", "JS-ZZZX", "JS-JCS", "JS-T01-GOV", "T01", "7", strings.Repeat("A", 32)} {
		if err := unitCode("code", ok, "JS-T01-S03"); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "JS_HQ", "js-t01", "JS-T0%", "-JS", "JS/T01", "JS T01", "ＪＳ", "JS-t01", strings.Repeat("A", 33)} {
		err := unitCode("code", bad, "JS-T01-S03")
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Field != "code" {
			t.Errorf("%q: %v, want a 400 naming code", bad, err)
		}
	}
}

// TestDemoUnitCodesFit: every unit a new installation and the demo create keeps to the alphabet
// the API now requires (they are written through the store, which does not check it).
func TestDemoUnitCodesFit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash := func(string) (string, error) { return "not-a-hash", nil }
	if _, err := demo.Bootstrap(ctx, st, "a-password", hash); err != nil {
		t.Fatal(err)
	}
	if err := demo.Seed(ctx, st, hash); err != nil {
		t.Fatal(err)
	}
	units, err := st.Units(ctx, "")
	if err != nil || len(units) < 20 {
		t.Fatalf("demo units: %d, %v", len(units), err)
	}
	for _, u := range units {
		if err := unitCode("code", u.Code, "JS-T01-S03"); err != nil {
			t.Errorf("demo unit %s: %v", u.Code, err)
		}
		if u.TownshipCode != "" {
			if err := unitCode("township_code", u.TownshipCode, "T01"); err != nil {
				t.Errorf("demo unit %s: %v", u.Code, err)
			}
		}
	}
}
