package api

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"jiaofu/calendar"
	"jiaofu/identity"
	"jiaofu/store"
)

// ruleError is a check's refusal of a value, before it is known which field the value is: the
// English message, and the reason (and values, as key, value pairs) a client words it by.
// badValue makes it a field's 400.
type ruleError struct {
	msg    string
	reason string
	kv     []string
}

func (e *ruleError) Error() string { return e.msg }

// broken is a ruleError.
func broken(reason string, kv []string, format string, args ...any) error {
	return &ruleError{msg: fmt.Sprintf(format, args...), reason: reason, kv: kv}
}

// badValue is the 400 for field whose value a check refused with err: err's message, and its
// reason if it has one.
func badValue(field string, err error) *Error {
	e := bad(field, "%v", err)
	var re *ruleError
	if errors.As(err, &re) {
		e.because(re.reason, re.kv...)
	}
	return e
}

// ValidIDCard checks an 18-character resident ID number: digits, a real birth date, and the
// GB 11643 check character (identity.CheckIDCard, which the imports apply too).
func ValidIDCard(id string) error {
	if p := identity.CheckIDCard(id); p != nil {
		return problemError(p)
	}
	return nil
}

// problemError is an identity rule's refusal as a ruleError (badValue names its field).
func problemError(p *identity.Problem) error {
	return &ruleError{msg: p.Msg, reason: p.Reason, kv: p.KV}
}

var termRe = regexp.MustCompile(`^(\d{4})-(\d{4})-([12])$`)

// ValidTerm checks a term written YYYY-YYYY-N (N = 1 autumn, 2 spring) with consecutive years.
func ValidTerm(term string) error {
	m := termRe.FindStringSubmatch(term)
	if m == nil {
		return broken("term_format", nil, "%s is not a term such as 2026-2027-1", quote(term))
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	if b != a+1 {
		return broken("term_years", nil, "%s: the second year must follow the first", quote(term))
	}
	return nil
}

// schoolYearOf is the first calendar year of the school year that at falls in: a school year
// starts on 1 September, China time (2026-09-01 begins 2026–2027).
func schoolYearOf(at time.Time) int {
	t := at.In(calendar.CST)
	if t.Month() >= time.September {
		return t.Year()
	}
	return t.Year() - 1
}

// termForApplication checks a new application's term: well formed, and of the current school
// year or the next one at now. Schools apply for the term under way and for the coming one (an
// autumn list is drawn up in the summer); a term years ahead or behind is a typing slip that would
// otherwise open a case nobody reviews in its time.
func termForApplication(term string, now time.Time, anyTerm bool) error {
	if err := ValidTerm(term); err != nil || anyTerm {
		return err
	}
	y := schoolYearOf(now)
	if first, _ := strconv.Atoi(term[:4]); first != y && first != y+1 {
		return broken("term_window", []string{"this_year", fmt.Sprintf("%d-%d", y, y+1), "next_year", fmt.Sprintf("%d-%d", y+1, y+2)},
			"the term must be in the %d–%d or %d–%d school year (such as %d-%d-1)", y, y+1, y+1, y+2, y, y+1)
	}
	return nil
}

// unitCodeRe is the alphabet of unit codes and township codes: capital letters A–Z, digits and
// '-', starting with a letter or digit, at most 32 characters (README.md, "Org units"). A unit's
// code is a segment of its path ("/JS/JS-T01/"), by which every read is scoped; this alphabet
// keeps out '/', SQL's pattern characters '_' and '%', and codes that differ only in case from
// another's (js-t01 beside JS-T01), which a clerk could not tell apart. The store's scoping does
// not rely on it: databases from before this rule may hold other codes.
var unitCodeRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,31}$`)

// unitCode checks a code against unitCodeRe; example is a valid code of the field's kind.
func unitCode(field, v, example string) error {
	if !unitCodeRe.MatchString(v) {
		return bad(field, "use only capital letters A–Z, digits and '-', starting with a letter or digit, at most 32 characters (such as %s)", example).
			because("unit_code_format", "example", example)
	}
	return nil
}

func validDate(s string) error {
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return broken("date_format", nil, "%s is not a date such as 2026-09-01", quote(s))
	}
	return nil
}

// MaskName hides a name for public lists: 李* for two characters, 张*三 for three, first and last
// with stars between for longer ones.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch n := len(r); {
	case n == 0:
		return ""
	case n == 1:
		return "*"
	case n == 2:
		return string(r[0]) + "*"
	default:
		return string(r[0]) + strings.Repeat("*", n-2) + string(r[n-1])
	}
}

// text checks a required free-text field and its length.
func text(field, v string, max int) error {
	v = strings.TrimSpace(v)
	if blank(v) {
		return bad(field, "required").because("required")
	}
	if utf8.RuneCountInString(v) > max {
		return bad(field, "at most %d characters", max).because("max_chars", "max", strconv.Itoa(max))
	}
	return nil
}

// The field checks below are the API's own, exported so that the console can run them before a
// request and show every field's error at once (a handler stops at its first). Each handler calls
// the same check in its own order, so that a rule is written once.

// collect keeps the checks that failed.
func collect(checks ...*Error) []*Error {
	var out []*Error
	for _, e := range checks {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// Required refuses an empty field as the handlers do.
func Required(field, v string) *Error {
	if blank(strings.TrimSpace(v)) {
		return bad(field, "required").because("required")
	}
	return nil
}

// EvidenceNote checks an application's evidence note: required for a student who is not
// poverty-registered (建档立卡), at most 1000 characters.
func EvidenceNote(note string, povertyRegistered bool) *Error {
	if !povertyRegistered && strings.TrimSpace(note) == "" {
		return bad("evidence_note", "required: the student is not poverty-registered (建档立卡), so the application needs a note of the family's hardship evidence").
			because("required_without_poverty_registration")
	}
	if utf8.RuneCountInString(note) > 1000 {
		return bad("evidence_note", "at most 1000 characters").because("max_chars", "max", "1000")
	}
	return nil
}

// ApplicationTerm checks a new application's term as POST /api/v1/subsidy-applications does:
// this or next school year's, or a term an administrator opened (PUT /api/v1/admin/open-terms),
// which is read only for a term outside the window.
func (s *Server) ApplicationTerm(ctx context.Context, term string) *Error {
	err := termForApplication(term, nowUTC(), s.cfg.AnyTerm)
	if err == nil {
		return nil
	}
	if ValidTerm(term) == nil {
		if open, oerr := s.openTerms(ctx); oerr == nil && slices.Contains(open, term) {
			return nil
		}
		e := badValue("term", err)
		e.Message += "; an administrator can open another term"
		return e
	}
	return badValue("term", err)
}

// openTermsKey is the setting that holds the terms an administrator opened for applications.
const openTermsKey = "open_terms"

func (s *Server) openTerms(ctx context.Context) ([]string, error) {
	v, err := s.store.Setting(ctx, openTermsKey)
	if errors.Is(err, store.ErrNotFound) || v == "" {
		return nil, nil
	}
	return strings.Split(v, ","), err
}

// LastAttended checks a dropout case's last day at school: a date, not after today (China time).
func LastAttended(v string) *Error {
	if err := validDate(v); err != nil {
		return badValue("last_attended_on", err)
	}
	if d, _ := time.ParseInLocation("2006-01-02", v, calendar.CST); d.After(time.Now()) {
		return bad("last_attended_on", "cannot be in the future").because("future")
	}
	return nil
}

// Text checks a required free-text field of at most max characters.
func Text(field, v string, max int) *Error {
	if err := text(field, v, max); err != nil {
		return err.(*Error)
	}
	return nil
}
