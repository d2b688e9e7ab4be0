// Package calendar does working-day arithmetic on China's holiday calendar, so that deadlines
// such as "5 working days" end where the county's offices expect them to.
package calendar

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // machines run in UTC and may lack zoneinfo
)

// CST is China Standard Time (Asia/Shanghai), the zone in which every day is counted.
var CST = loadCST()

func loadCST() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// DayType says whether a listed day is a holiday or a make-up workday.
type DayType string

const (
	// Holiday is a day off, even on a weekday.
	Holiday DayType = "holiday"
	// Workday is a working day, even on a weekend (调休).
	Workday DayType = "workday"
)

// Day is one date that departs from the Monday–Friday rule, as the State Council's yearly notice lists it.
type Day struct {
	Date string // YYYY-MM-DD, a CST date
	Type DayType
	Name string // e.g. 春节 or 春节调休
}

// Calendar tells working days from days off; it is immutable and safe for concurrent use, and
// its zero value is a plain Monday–Friday week.
type Calendar struct {
	days map[date]Day
	last date // the latest listed date: after it, every seven days hold exactly five working days
}

// New returns a calendar with the given holidays and make-up workdays, rejecting malformed or repeated days.
func New(days []Day) (*Calendar, error) {
	return (&Calendar{}).With(days)
}

//go:embed cn-holidays.csv
var holidaysCSV string

var defaultCalendar = sync.OnceValue(func() *Calendar {
	days, err := ParseCSV(strings.NewReader(holidaysCSV))
	if err != nil {
		panic("calendar: embedded cn-holidays.csv: " + err.Error())
	}
	c, err := New(days)
	if err != nil {
		panic("calendar: embedded cn-holidays.csv: " + err.Error())
	}
	return c
})

// Default returns the calendar shipped in cn-holidays.csv (2025 and 2026, from the official notices).
func Default() *Calendar { return defaultCalendar() }

// csvColumns is the header ParseCSV requires, in order.
var csvColumns = [...]string{"date", "type", "name"}

// ParseCSV reads a date,type,name file, such as cn-holidays.csv; its errors name the line and column.
func ParseCSV(r io.Reader) ([]Day, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvColumns)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("calendar: line 1: empty file, want the header %q", strings.Join(csvColumns[:], ","))
	}
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // spreadsheet programs write a byte-order mark
	if got, want := strings.Join(header, ","), strings.Join(csvColumns[:], ","); got != want {
		return nil, fmt.Errorf("calendar: line 1: header is %q, want %q", got, want)
	}
	var days []Day
	seen := make(map[date]int) // date → line
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return days, nil
		}
		if err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		line, _ := cr.FieldPos(0)
		day := Day{Date: rec[0], Type: DayType(rec[1]), Name: rec[2]}
		d, field, err := parseDay(day)
		if err != nil {
			return nil, fmt.Errorf("calendar: line %d, column %d (%s): %w", line, field+1, csvColumns[field], err)
		}
		if prev, dup := seen[d]; dup {
			return nil, fmt.Errorf("calendar: line %d, column 1 (date): %s is already listed on line %d", line, day.Date, prev)
		}
		seen[d] = line
		days = append(days, day)
	}
}

// With returns a new calendar in which days override the receiver's, so that an admin can add a
// year's notice (or correct a day) without a new release.
func (c *Calendar) With(days []Day) (*Calendar, error) {
	out := &Calendar{days: maps.Clone(c.days)}
	if out.days == nil {
		out.days = make(map[date]Day, len(days))
	}
	seen := make(map[date]int, len(days)) // date → index in days
	for i, day := range days {
		d, field, err := parseDay(day)
		if err != nil {
			return nil, fmt.Errorf("calendar: days[%d].%s: %w", i, [...]string{"Date", "Type"}[field], err)
		}
		if j, dup := seen[d]; dup {
			return nil, fmt.Errorf("calendar: days[%d].Date: %s is already given in days[%d]", i, day.Date, j)
		}
		seen[d] = i
		out.days[d] = day
	}
	for d := range out.days {
		out.last = max(out.last, d)
	}
	return out, nil
}

// parseDay validates day and returns its date, or the index of the bad field (0 date, 1 type) and why.
func parseDay(day Day) (date, int, error) {
	t, err := time.Parse(time.DateOnly, day.Date)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a valid YYYY-MM-DD date", day.Date)
	}
	if day.Type != Holiday && day.Type != Workday {
		return 0, 1, fmt.Errorf("%q is neither %q nor %q", day.Type, Holiday, Workday)
	}
	return date(t.Unix() / secondsPerDay), 0, nil
}

// IsWorkday reports whether the CST date of t is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool { return c.isWorkday(dateOf(t)) }

func (c *Calendar) isWorkday(d date) bool {
	if day, ok := c.days[d]; ok {
		return day.Type == Workday
	}
	wd := d.weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkdays returns the end (24:00 CST) of the n-th working day after t's CST date, in UTC;
// the day of t never counts, and n <= 0 returns t.
func (c *Calendar) AddWorkdays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	return (c.workdayAfter(dateOf(t), n) + 1).midnight().UTC()
}

// workdayAfter returns the n-th working day after d, or d itself when n is 0.
func (c *Calendar) workdayAfter(d date, n int) date {
	for n > 0 {
		if d >= c.last && n > 5 {
			k := (n - 1) / 5 // skip whole weeks: nothing is listed after c.last
			d += date(7 * k)
			n -= 5 * k
		}
		d++
		if c.isWorkday(d) {
			n--
		}
	}
	return d
}

// Working hours on a working day, as offsets from CST midnight.
const (
	morningStart   = 8*time.Hour + 30*time.Minute
	morningEnd     = 12 * time.Hour
	afternoonStart = 14*time.Hour + 30*time.Minute
	afternoonEnd   = 18 * time.Hour
	halfDay        = morningEnd - morningStart // equal to afternoonEnd - afternoonStart
	workDay        = 2 * halfDay
	hoursPerDay    = int(workDay / time.Hour)
)

// AddWorkHours returns, in UTC, the earliest instant by which h working hours (08:30–12:00 and
// 14:30–18:00 CST on working days) have passed since t; h <= 0 returns t.
func (c *Calendar) AddWorkHours(t time.Time, h int) time.Time {
	if h <= 0 {
		return t
	}
	d := dateOf(t)
	done := workDay // working time already past on day d when t came
	if c.isWorkday(d) {
		clock := t.Sub(d.midnight())
		done = min(max(clock-morningStart, 0), halfDay) + min(max(clock-afternoonStart, 0), halfDay)
	}
	if done == workDay {
		d, done = c.workdayAfter(d, 1), 0
	}
	// Whole days first, so that a large h cannot overflow a Duration.
	left := done + time.Duration(h%hoursPerDay)*time.Hour
	days := h/hoursPerDay + int(left/workDay)
	left %= workDay
	switch {
	case left == 0: // ends at the close of a working day, not the next morning
		return c.workdayAfter(d, days-1).midnight().Add(afternoonEnd).UTC()
	case left <= halfDay:
		return c.workdayAfter(d, days).midnight().Add(morningStart + left).UTC()
	default:
		return c.workdayAfter(d, days).midnight().Add(afternoonStart + left - halfDay).UTC()
	}
}

const secondsPerDay = 24 * 60 * 60

// date is a CST calendar date, counted in days since 1970-01-01.
type date int64

func dateOf(t time.Time) date {
	y, m, d := t.In(CST).Date()
	return date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

// midnight returns the instant at which d begins in CST.
func (d date) midnight() time.Time {
	y, m, day := time.Unix(int64(d)*secondsPerDay, 0).UTC().Date()
	return time.Date(y, m, day, 0, 0, 0, 0, CST)
}

func (d date) weekday() time.Weekday {
	return time.Weekday((int64(d)%7 + 7 + 4) % 7) // 1970-01-01 was a Thursday
}

// Show writes an instant in China time as the county's offices read it, 2006-01-02 15:04, with a
// deadline at the end of a day shown as that day's 24:00 rather than the next day's 00:00. The
// console's pages and the API's messages both word times by it.
func Show(t time.Time) string {
	t = t.In(CST)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Add(-time.Minute).Format("2006-01-02") + " 24:00"
	}
	return t.Format("2006-01-02 15:04")
}
