package calendar

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fuzzFrom maps a fuzzed number to an instant between 2000 and 2100, the years deadlines start
// in, to the minute.
func fuzzFrom(x int64) time.Time {
	const span = 100 * 366 * 24 * 60 // minutes
	m := x % span
	if m < 0 {
		m += span
	}
	return time.Date(2000, 1, 1, 0, 0, 0, 0, CST).Add(time.Duration(m) * time.Minute)
}

// workingDaysBetween counts the working days after from's CST date up to and including the CST
// date of the instant just before due (a working-day deadline ends at 24:00 of its last day).
func workingDaysBetween(c *Calendar, from, due time.Time) int {
	last := dateOf(due.Add(-time.Nanosecond))
	n := 0
	for d := dateOf(from) + 1; d <= last; d++ {
		if c.isWorkday(d) {
			n++
		}
	}
	return n
}

// inWorkingHours is true when t (CST) is within a working day's hours: after 08:30 up to 12:00,
// or after 14:30 up to 18:00 — the instants at which a count of working hours can end.
func inWorkingHours(c *Calendar, t time.Time) bool {
	if !c.IsWorkday(t) {
		return false
	}
	clock := t.Sub(dateOf(t).midnight())
	return clock > morningStart && clock <= morningEnd || clock > afternoonStart && clock <= afternoonEnd
}

// FuzzDue: for every period ParseSpec accepts, its deadline from any instant is later than that
// instant, never earlier from a later start, and no earlier for a longer period of the same unit;
// a working-day deadline is the end (24:00 CST) of a working day with exactly n working days
// counted after the start's date; a working-hours deadline falls within working hours.
func FuzzDue(f *testing.F) {
	for _, s := range []string{"1wd", "5wd", "4wh", "7wh", "8wh", "15d", "2w", "20s", "72h", "1h30m", "400wd", "106751wd"} {
		for _, from := range []time.Time{cst(2026, 5, 29, 17, 0), cst(2026, 9, 30, 23, 59), cst(2026, 1, 1, 8, 30), cst(2025, 10, 8, 12, 0)} {
			f.Add(s, int64(from.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, CST))/time.Minute), int64(90))
		}
	}
	f.Fuzz(func(t *testing.T, s string, at, later int64) {
		spec, err := ParseSpec(s)
		if err != nil {
			return
		}
		c := Default()
		from := fuzzFrom(at)
		due := spec.Due(c, from)
		if !due.After(from) {
			t.Fatalf("%s from %s: due %s, not after it", s, from, due)
		}
		if due.Location() != time.UTC {
			t.Fatalf("%s from %s: due %s is not in UTC", s, from, due)
		}
		if later < 0 {
			later = -later
		}
		from2 := from.Add(time.Duration(later%(30*24*60)) * time.Minute)
		if due2 := spec.Due(c, from2); due2.Before(due) {
			t.Fatalf("%s: from %s due %s, but from the later %s due %s", s, from, due, from2, due2)
		}
		if spec.n < 1<<20 {
			if longer := (Spec{n: spec.n + 1, unit: spec.unit}).Due(c, from); longer.Before(due) {
				t.Fatalf("%s from %s: due %s, but one more is due earlier, %s", s, from, due, longer)
			}
		}
		switch spec.unit {
		case workdays:
			if !due.In(CST).Equal(dateOf(due).midnight()) {
				t.Fatalf("%s from %s: due %s, not at a day's end", s, from, due)
			}
			if !c.IsWorkday(due.Add(-time.Nanosecond)) {
				t.Fatalf("%s from %s: due %s ends a day off", s, from, Show(due))
			}
			if spec.n <= 2000 {
				if got := workingDaysBetween(c, from, due); got != int(spec.n) {
					t.Fatalf("%s from %s: due %s, %d working days later", s, from, Show(due), got)
				}
			}
		case workHours:
			if !inWorkingHours(c, due) {
				t.Fatalf("%s from %s: due %s, outside working hours", s, from, due.In(CST))
			}
		default:
			if d, ok := spec.Fixed(); !ok || due.Sub(from) != d {
				t.Fatalf("%s from %s: due %s, %s later, want %s", s, from, due, due.Sub(from), d)
			}
		}
	})
}

// FuzzParseOffset: an offset is the instant itself ("0", "0s") or a period ParseSpec reads; a
// refusal quotes the input.
func FuzzParseOffset(f *testing.F) {
	for _, s := range []string{"0", "0s", "00", "0wd", "1wd", "-0s", "0h", "3d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		off, err := ParseOffset(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("ParseOffset(%q): %v does not quote the input", s, err)
			}
			return
		}
		from := cst(2026, 3, 2, 9, 0)
		if off.IsZero() {
			if s != "0" && s != "0s" {
				t.Fatalf("ParseOffset(%q) is the instant itself", s)
			}
			if !off.Due(nil, from).Equal(from) {
				t.Fatalf("the zero offset moves %s", from)
			}
			return
		}
		if spec, err := ParseSpec(s); err != nil || spec != off {
			t.Fatalf("ParseOffset(%q) = %v, ParseSpec = %v, %v", s, off, spec, err)
		}
	})
}

// FuzzParseCSV: a holiday file is refused with an error naming a line, or read into days that
// make a calendar in which each listed day is what the file says it is.
func FuzzParseCSV(f *testing.F) {
	f.Add(holidaysCSV)
	f.Add("date,type,name\n2027-01-01,holiday,元旦\n2027-02-07,workday,春节调休\n")
	f.Add("\uFEFFdate,type,name\n2027-01-01, holiday ,元旦\n")
	f.Add("date,type,name\n2027-01-01,holiday,元旦\n2027-01-01,workday,x\n")
	f.Add("date,type\n")
	f.Add("")
	f.Add("date,type,name\n\"2027-01-01,holiday,x\n")
	f.Fuzz(func(t *testing.T, data string) {
		days, err := ParseCSV(strings.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "calendar: ") || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("ParseCSV: %v names no line", err)
			}
			return
		}
		c, err := Default().With(days)
		if err != nil {
			t.Fatalf("ParseCSV accepted days that With refuses: %v", err)
		}
		for _, d := range days {
			day, _ := time.ParseInLocation(time.DateOnly, d.Date, CST)
			if c.IsWorkday(day) != (d.Type == Workday) {
				t.Fatalf("%s listed as %s, IsWorkday = %v", d.Date, d.Type, c.IsWorkday(day))
			}
			if got := c.AddWorkdays(day, 1); !got.After(day) || !c.IsWorkday(got.Add(-time.Nanosecond)) {
				t.Fatalf("one working day after %s: %s", d.Date, Show(got))
			}
		}
	})
}
