package calendar

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Spec is a deadline period as written in configuration ("5wd", "4wh", "15d", "2w" or a Go
// duration such as "72h"); it is a comparable value and its zero value means unset.
type Spec struct {
	n    int64 // count of unit; nanoseconds when unit is goDuration
	unit unit
}

type unit uint8

const (
	unset unit = iota
	workdays
	workHours
	days
	weeks
	goDuration
)

// counted lists the count units in the order ParseSpec tries them ("wd" before "d"); nominal
// bounds a count so that every Spec spans less than a time.Duration (about 292 years).
var counted = [...]struct {
	suffix  string
	unit    unit
	nominal time.Duration
}{
	{"wd", workdays, 24 * time.Hour},
	{"wh", workHours, time.Hour},
	{"d", days, 24 * time.Hour},
	{"w", weeks, 7 * 24 * time.Hour},
}

// ParseSpec parses a deadline period, rejecting empty, zero, negative and too-large ones with an
// error that quotes s and lists the accepted forms.
func ParseSpec(s string) (Spec, error) {
	if s == "" {
		return Spec{}, specError(s, "empty")
	}
	for _, u := range counted {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64) // out of range, n is ±MaxInt64, caught below
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return Spec{}, specError(s, "the count is not a whole number")
		case n <= 0:
			return Spec{}, specError(s, "not positive")
		case n > math.MaxInt64/int64(u.nominal):
			return Spec{}, specError(s, "too large, over about 292 years")
		}
		return Spec{n: n, unit: u.unit}, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return Spec{}, specError(s, "unknown form")
	case d <= 0:
		return Spec{}, specError(s, "not positive")
	}
	return Spec{n: int64(d), unit: goDuration}, nil
}

// ParseOffset parses a ladder rung's offset from the instant it counts from: a deadline period
// as ParseSpec reads it, or "0" / "0s" for the instant itself (a case deadline's first rung,
// which fires as the deadline passes). The zero offset is the unset Spec, whose Due is from.
func ParseOffset(s string) (Spec, error) {
	if s == "0" || s == "0s" {
		return Spec{}, nil
	}
	return ParseSpec(s)
}

func specError(s, reason string) error {
	return fmt.Errorf("calendar: deadline %q: %s; want a positive whole number followed by wd (working days), "+
		`wh (working hours), d (days of 24h) or w (weeks), such as "5wd", or a Go duration such as "72h" or "1h30m"`, s, reason)
}

// String returns the Spec in the form ParseSpec reads back, or "" when it is unset.
func (s Spec) String() string {
	if s.unit == goDuration {
		return time.Duration(s.n).String()
	}
	for _, u := range counted {
		if u.unit == s.unit {
			return strconv.FormatInt(s.n, 10) + u.suffix
		}
	}
	return ""
}

// IsZero reports whether the Spec is unset.
func (s Spec) IsZero() bool { return s == Spec{} }

// Due returns, in UTC, the instant at which a period of s started at from ends; a nil c means
// Default(), and an unset Spec returns from.
func (s Spec) Due(c *Calendar, from time.Time) time.Time {
	if c == nil {
		c = Default()
	}
	switch s.unit {
	case workdays:
		return c.AddWorkdays(from, int(s.n))
	case workHours:
		return c.AddWorkHours(from, int(s.n))
	case days:
		return from.Add(time.Duration(s.n) * 24 * time.Hour).UTC()
	case weeks:
		return from.Add(time.Duration(s.n) * 7 * 24 * time.Hour).UTC()
	case goDuration:
		return from.Add(time.Duration(s.n)).UTC()
	}
	return from.UTC()
}

// Fixed is the Spec's length when it is wall time (days, weeks or a Go duration), the same on
// every calendar; false for working days and hours, which depend on where they start.
func (s Spec) Fixed() (time.Duration, bool) {
	switch s.unit {
	case days:
		return time.Duration(s.n) * 24 * time.Hour, true
	case weeks:
		return time.Duration(s.n) * 7 * 24 * time.Hour, true
	case goDuration:
		return time.Duration(s.n), true
	}
	return 0, false
}

// MarshalText encodes the Spec as its String, so that it reads naturally in JSON and config files.
func (s Spec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses text with ParseSpec, except that empty text means unset, so that an empty
// config value falls back to the caller's default.
func (s *Spec) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*s = Spec{}
		return nil
	}
	v, err := ParseSpec(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
