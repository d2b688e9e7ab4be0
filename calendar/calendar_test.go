package calendar

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// cst returns the instant at the given CST wall time.
func cst(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, CST)
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCST(t *testing.T) {
	t.Parallel()
	if CST.String() != "Asia/Shanghai" {
		t.Errorf("CST = %s, want Asia/Shanghai from the embedded tzdata", CST)
	}
	if got := utc("2026-05-29T17:00:00Z").In(CST).Format("2006-01-02 15:04 Mon"); got != "2026-05-30 01:00 Sat" {
		t.Errorf("2026-05-29T17:00Z in CST = %s, want 2026-05-30 01:00 Sat", got)
	}
}

func TestDefaultData(t *testing.T) {
	t.Parallel()
	days, err := ParseCSV(strings.NewReader(holidaysCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 72 {
		t.Errorf("embedded CSV has %d days, want 72", len(days))
	}
	for _, d := range days {
		tm, _ := time.Parse(time.DateOnly, d.Date)
		if wd := tm.Weekday(); d.Type == Workday && wd != time.Saturday && wd != time.Sunday {
			t.Errorf("%s %s is a make-up workday on a %s", d.Date, d.Name, wd)
		}
	}
}

func TestIsWorkday(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"plain Saturday", cst(2026, 3, 7, 10, 0), false},
		{"plain Sunday", cst(2026, 3, 8, 10, 0), false},
		{"plain Monday", cst(2026, 3, 9, 10, 0), true},
		{"Saturday before National Day", cst(2025, 9, 27, 10, 0), false},
		{"make-up Sunday before National Day", cst(2025, 9, 28, 10, 0), true},
		{"Tuesday before National Day", cst(2025, 9, 30, 23, 59), true},
		{"National Day, a Wednesday", cst(2025, 10, 1, 10, 0), false},
		{"National Day block, Friday", cst(2025, 10, 3, 10, 0), false},
		{"last day of the block, a Wednesday", cst(2025, 10, 8, 10, 0), false},
		{"first Thursday after", cst(2025, 10, 9, 0, 0), true},
		{"make-up Saturday after National Day", cst(2025, 10, 11, 10, 0), true},
		{"Sunday after the make-up Saturday", cst(2025, 10, 12, 10, 0), false},
		{"Spring Festival 2026 make-up Saturday", cst(2026, 2, 14, 10, 0), true},
		{"Spring Festival 2026 first day, a Sunday", cst(2026, 2, 15, 10, 0), false},
		{"Spring Festival 2026 Monday", cst(2026, 2, 16, 10, 0), false},
		{"Spring Festival 2026 last day, a Monday", cst(2026, 2, 23, 10, 0), false},
		{"after Spring Festival 2026", cst(2026, 2, 24, 10, 0), true},
		{"Spring Festival 2026 make-up Saturday after", cst(2026, 2, 28, 10, 0), true},
		{"Friday 17:00 UTC is Saturday 01:00 CST", utc("2026-05-29T17:00:00Z"), false},
		{"Sunday 16:30 UTC is Monday 00:30 CST", utc("2026-05-31T16:30:00Z"), true},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.IsWorkday(tt.t); got != tt.want {
				t.Errorf("IsWorkday(%s) = %v, want %v", tt.t.In(CST), got, tt.want)
			}
		})
	}
}

func TestAddWorkdays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		n    int
		want string // UTC
	}{
		{"Monday +1: Monday itself never counts", cst(2026, 3, 9, 9, 0), 1, "2026-03-10T16:00:00Z"},
		{"Friday +1 skips the weekend", cst(2026, 3, 13, 9, 0), 1, "2026-03-16T16:00:00Z"},
		{"Saturday +1", cst(2026, 3, 7, 10, 0), 1, "2026-03-09T16:00:00Z"},
		{"Sunday +5", cst(2026, 3, 8, 10, 0), 5, "2026-03-13T16:00:00Z"},
		{"Friday +1 lands on the make-up Sunday", cst(2025, 9, 26, 10, 0), 1, "2025-09-28T16:00:00Z"},
		{"Tuesday +1 jumps National Day", cst(2025, 9, 30, 10, 0), 1, "2025-10-09T16:00:00Z"},
		{"Tuesday +3 reaches the make-up Saturday", cst(2025, 9, 30, 10, 0), 3, "2025-10-11T16:00:00Z"},
		{"Tuesday +5 across National Day", cst(2025, 9, 30, 10, 0), 5, "2025-10-14T16:00:00Z"},
		{"inside the holiday block +1", cst(2025, 10, 3, 10, 0), 1, "2025-10-09T16:00:00Z"},
		{"Spring Festival 2026: Friday +1 is the make-up Saturday", cst(2026, 2, 13, 15, 0), 1, "2026-02-14T16:00:00Z"},
		{"Spring Festival 2026: Friday +5", cst(2026, 2, 13, 15, 0), 5, "2026-02-27T16:00:00Z"},
		{"Spring Festival 2026: Friday +6", cst(2026, 2, 13, 15, 0), 6, "2026-02-28T16:00:00Z"},
		{"Thursday 17:00 UTC is Friday in CST", utc("2026-05-28T17:00:00Z"), 1, "2026-06-01T16:00:00Z"},
		{"Thursday 15:59 UTC is still Thursday in CST", utc("2026-05-28T15:59:00Z"), 1, "2026-05-29T16:00:00Z"},
		{"Friday 17:00 UTC is Saturday in CST", utc("2026-05-29T17:00:00Z"), 1, "2026-06-01T16:00:00Z"},
		{"late 2026, past the last listed day", cst(2026, 12, 1, 10, 0), 20, "2026-12-29T16:00:00Z"},
		{"n = 0 returns t", utc("2026-03-09T01:02:03Z"), 0, "2026-03-09T01:02:03Z"},
		{"n < 0 returns t", utc("2026-03-09T01:02:03Z"), -3, "2026-03-09T01:02:03Z"},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := c.AddWorkdays(tt.t, tt.n)
			if want := utc(tt.want); !got.Equal(want) {
				t.Errorf("AddWorkdays(%s, %d) = %s (CST %s), want %s", tt.t.In(CST), tt.n, got, got.In(CST), want)
			}
			if tt.n > 0 && got.Location() != time.UTC {
				t.Errorf("AddWorkdays returned location %s, want UTC", got.Location())
			}
		})
	}
}

// TestAddWorkdaysNaive checks the week-skipping walk against a day-by-day count, across the
// last listed day of the default calendar.
func TestAddWorkdaysNaive(t *testing.T) {
	t.Parallel()
	c := Default()
	for start := cst(2026, 9, 1, 12, 0); start.Before(cst(2027, 1, 1, 0, 0)); start = start.AddDate(0, 0, 1) {
		for n := 1; n <= 40; n++ {
			d, left := start, n
			for left > 0 {
				d = d.AddDate(0, 0, 1)
				if c.IsWorkday(d) {
					left--
				}
			}
			y, m, dd := d.Date()
			want := time.Date(y, m, dd+1, 0, 0, 0, 0, CST)
			if got := c.AddWorkdays(start, n); !got.Equal(want) {
				t.Fatalf("AddWorkdays(%s, %d) = %s, want %s", start, n, got.In(CST), want)
			}
		}
	}
}

func TestAddWorkHours(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		h    int
		want time.Time
	}{
		{"within the morning", cst(2026, 3, 10, 9, 0), 2, cst(2026, 3, 10, 11, 0)},
		{"ends at noon, not 14:30", cst(2026, 3, 10, 9, 0), 3, cst(2026, 3, 10, 12, 0)},
		{"across lunch", cst(2026, 3, 10, 11, 0), 2, cst(2026, 3, 10, 15, 30)},
		{"starting during lunch", cst(2026, 3, 10, 12, 30), 1, cst(2026, 3, 10, 15, 30)},
		{"before opening", cst(2026, 3, 10, 7, 0), 1, cst(2026, 3, 10, 9, 30)},
		{"a whole day ends at 18:00", cst(2026, 3, 10, 8, 30), 7, cst(2026, 3, 10, 18, 0)},
		{"overnight", cst(2026, 3, 10, 17, 0), 2, cst(2026, 3, 11, 9, 30)},
		{"after closing", cst(2026, 3, 10, 19, 0), 1, cst(2026, 3, 11, 9, 30)},
		{"at closing", cst(2026, 3, 10, 18, 0), 1, cst(2026, 3, 11, 9, 30)},
		{"keeps seconds", cst(2026, 3, 10, 9, 0).Add(30 * time.Second), 1, cst(2026, 3, 10, 10, 0).Add(30 * time.Second)},
		{"over a weekend", cst(2026, 3, 13, 16, 0), 4, cst(2026, 3, 16, 10, 30)},
		{"from Saturday", cst(2026, 3, 14, 10, 0), 1, cst(2026, 3, 16, 9, 30)},
		{"several days", cst(2026, 3, 9, 8, 30), 15, cst(2026, 3, 11, 9, 30)},
		{"two whole days end on the second evening", cst(2026, 3, 9, 8, 30), 14, cst(2026, 3, 10, 18, 0)},
		{"across National Day", cst(2025, 9, 30, 17, 0), 2, cst(2025, 10, 9, 9, 30)},
		{"onto the make-up Sunday", cst(2025, 9, 27, 10, 0), 1, cst(2025, 9, 28, 9, 30)},
		{"Friday 17:00 UTC is Saturday 01:00 CST", utc("2026-05-29T17:00:00Z"), 1, cst(2026, 6, 1, 9, 30)},
		{"h = 0 returns t", cst(2026, 3, 14, 10, 0), 0, cst(2026, 3, 14, 10, 0)},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := c.AddWorkHours(tt.t, tt.h)
			if !got.Equal(tt.want) {
				t.Errorf("AddWorkHours(%s, %d) = %s, want %s", tt.t.In(CST), tt.h, got.In(CST), tt.want)
			}
			if tt.h > 0 && got.Location() != time.UTC {
				t.Errorf("AddWorkHours returned location %s, want UTC", got.Location())
			}
		})
	}
}

// TestAddWorkHoursNaive checks AddWorkHours against a half-hour-by-half-hour count around National Day 2025.
func TestAddWorkHoursNaive(t *testing.T) {
	t.Parallel()
	c := Default()
	working := func(t time.Time) bool { // is the half hour starting at t working time?
		l := t.In(CST)
		clock := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute
		return c.IsWorkday(t) && (clock >= morningStart && clock < morningEnd || clock >= afternoonStart && clock < afternoonEnd)
	}
	for start := cst(2025, 9, 25, 0, 0); start.Before(cst(2025, 10, 14, 0, 0)); start = start.Add(30 * time.Minute) {
		for _, h := range []int{1, 3, 4, 7, 8, 15} {
			var want time.Time
			for t, left := start, 2*h; left > 0; t = t.Add(30 * time.Minute) {
				if working(t) {
					left--
				}
				want = t.Add(30 * time.Minute)
			}
			if got := c.AddWorkHours(start, h); !got.Equal(want) {
				t.Fatalf("AddWorkHours(%s, %d) = %s, want %s", start, h, got.In(CST), want)
			}
		}
	}
}

func TestWith(t *testing.T) {
	t.Parallel()
	base := Default()
	c, err := base.With([]Day{
		{Date: "2026-03-09", Type: Holiday, Name: "县级停课"},
		{Date: "2025-10-08", Type: Workday, Name: "更正"},
		{Date: "2027-02-06", Type: Workday, Name: "春节调休"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		t          time.Time
		base, with bool
	}{
		{cst(2026, 3, 9, 10, 0), true, false},
		{cst(2025, 10, 8, 10, 0), false, true},
		{cst(2027, 2, 6, 10, 0), false, true},
		{cst(2025, 10, 1, 10, 0), false, false}, // kept from the receiver
	}
	for _, tt := range tests {
		if got := base.IsWorkday(tt.t); got != tt.base {
			t.Errorf("receiver IsWorkday(%s) = %v, want %v (With must not change it)", tt.t, got, tt.base)
		}
		if got := c.IsWorkday(tt.t); got != tt.with {
			t.Errorf("With(...).IsWorkday(%s) = %v, want %v", tt.t, got, tt.with)
		}
	}
	if _, err := base.With([]Day{{Date: "2027-02-30", Type: Holiday}}); err == nil || !strings.Contains(err.Error(), "days[0].Date") {
		t.Errorf("With(bad date) error = %v, want one naming days[0].Date", err)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		days []Day
		want string
	}{
		{"bad date", []Day{{Date: "2026-01-01", Type: Holiday}, {Date: "2026/01/02", Type: Holiday}}, `days[1].Date: "2026/01/02"`},
		{"no such day", []Day{{Date: "2026-02-29", Type: Holiday}}, `days[0].Date`},
		{"bad type", []Day{{Date: "2026-01-01", Type: "Holiday"}}, `days[0].Type: "Holiday"`},
		{"repeated date", []Day{{Date: "2026-01-01", Type: Holiday}, {Date: "2026-01-01", Type: Workday}}, "days[1].Date: 2026-01-01 is already given in days[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.days)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseCSV(t *testing.T) {
	t.Parallel()
	days, err := ParseCSV(strings.NewReader("\uFEFFdate,type,name\n2027-02-06,workday,春节调休\n\n2027-02-07, holiday, 春节\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Day{{"2027-02-06", Workday, "春节调休"}, {"2027-02-07", Holiday, "春节"}}
	if len(days) != len(want) || days[0] != want[0] || days[1] != want[1] {
		t.Errorf("ParseCSV = %v, want %v", days, want)
	}
}

func TestParseCSVErrors(t *testing.T) {
	t.Parallel()
	const header = "date,type,name\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "line 1"},
		{"wrong header", "day,type,name\n", `line 1: header is "day,type,name"`},
		{"bad date", header + "2026-01-01,holiday,元旦\n2026-1-2,holiday,元旦\n", "line 3, column 1 (date)"},
		{"bad type", header + "2026-01-01,day off,元旦\n", `line 2, column 2 (type): "day off"`},
		{"missing field", header + "2026-01-01,holiday,元旦\n2026-01-02,holiday\n", "line 3"},
		{"bad quote", header + "2026-01-01,holiday,\"元旦\n", "line 2"},
		{"repeated date", header + "2026-01-01,holiday,元旦\n2026-01-02,holiday,元旦\n2026-01-01,workday,x\n", "line 4, column 1 (date): 2026-01-01 is already listed on line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCSV(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCSV error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, str string
	}{
		{"5wd", "5wd"},
		{"4wh", "4wh"},
		{"15d", "15d"},
		{"2w", "2w"},
		{"20s", "20s"},
		{"72h", "72h0m0s"},
		{"1h30m", "1h30m0s"},
		{"106751wd", "106751wd"}, // the largest count of days a Duration can hold
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSpec(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if s.IsZero() || s.String() != tt.str {
				t.Errorf("ParseSpec(%q) = %q (zero %v), want %q", tt.in, s, s.IsZero(), tt.str)
			}
			back, err := ParseSpec(s.String())
			if err != nil || back != s {
				t.Errorf("ParseSpec(%q) = %v, %v; want %v", s.String(), back, err, s)
			}
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"0wd", "not positive"},
		{"-1d", "not positive"},
		{"-99999999999999999999d", "not positive"},
		{"0s", "not positive"},
		{"-5m", "not positive"},
		{"5x", "unknown form"},
		{"5 wd", "not a whole number"},
		{"1.5d", "not a whole number"},
		{"5WD", "unknown form"},
		{"wd", "not a whole number"},
		{"99999999999999999999wd", "too large"},
		{"106752wd", "too large"},
		{"99999999999h", "unknown form"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSpec(tt.in)
			if err == nil {
				t.Fatalf("ParseSpec(%q) = %v, want an error", tt.in, s)
			}
			msg := err.Error()
			for _, want := range []string{`"` + tt.in + `"`, tt.reason, `"5wd"`, `"72h"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("ParseSpec(%q) error %q does not contain %q", tt.in, msg, want)
				}
			}
		})
	}
}

func TestSpecDue(t *testing.T) {
	t.Parallel()
	from := cst(2025, 9, 30, 10, 0)
	tests := []struct {
		spec string
		want time.Time
	}{
		{"5wd", cst(2025, 10, 15, 0, 0)},
		{"4wh", cst(2025, 9, 30, 16, 30)},
		{"10wh", cst(2025, 10, 9, 15, 30)},
		{"15d", cst(2025, 10, 15, 10, 0)},
		{"2w", cst(2025, 10, 14, 10, 0)},
		{"72h", cst(2025, 10, 3, 10, 0)},
		{"20s", cst(2025, 9, 30, 10, 0).Add(20 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Due(Default(), from)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("%s.Due(%s) = %s, want %s in UTC", s, from, got, tt.want.UTC())
			}
			if nilCal := s.Due(nil, from); !nilCal.Equal(got) {
				t.Errorf("%s.Due(nil, ...) = %s, want the Default() result %s", s, nilCal, got)
			}
		})
	}
	if got := (Spec{}).Due(Default(), from); !got.Equal(from) {
		t.Errorf("zero Spec Due = %s, want from", got)
	}
}

func TestSpecJSON(t *testing.T) {
	t.Parallel()
	type config struct {
		Publicity Spec `json:"publicity"`
		Reminder  Spec `json:"reminder"`
	}
	var c config
	if err := json.Unmarshal([]byte(`{"publicity":"5wd","reminder":""}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Publicity != (Spec{n: 5, unit: workdays}) || !c.Reminder.IsZero() {
		t.Errorf("decoded %+v", c)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"publicity":"5wd","reminder":""}` {
		t.Errorf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`{"publicity":"5x"}`), &c); err == nil || !strings.Contains(err.Error(), `"5x"`) {
		t.Errorf("decoding 5x: error = %v, want one quoting the input", err)
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"5wd", "4wh", "15d", "2w", "20s", "72h", "1h30m", "", "0wd", "-1d", "5x", "wd",
		"99999999999999999999wd", "106751wd", "2562047wh", "+5wd", "007d", "1.5h", ".5s", "2562047h47m16.854775807s"} {
		f.Add(s)
	}
	from := cst(2026, 5, 29, 17, 0)
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpec(s)
		if err != nil {
			return
		}
		if spec.IsZero() {
			t.Fatalf("ParseSpec(%q) succeeded with an unset Spec", s)
		}
		back, err := ParseSpec(spec.String())
		if err != nil || back != spec {
			t.Fatalf("ParseSpec(%q) = %v; ParseSpec(%q) = %v, %v", s, spec, spec.String(), back, err)
		}
		if due := spec.Due(Default(), from); !due.After(from) {
			t.Fatalf("ParseSpec(%q).Due(%s) = %s, not after it", s, from, due)
		}
	})
}

// A ladder rung may count from the instant itself; every other offset is a deadline period.
func TestParseOffset(t *testing.T) {
	from := time.Date(2026, 3, 2, 9, 0, 0, 0, CST)
	for _, in := range []string{"0", "0s"} {
		s, err := ParseOffset(in)
		if err != nil || !s.Due(nil, from).Equal(from) {
			t.Errorf("ParseOffset(%q) = %v, %v; want the instant itself", in, s, err)
		}
	}
	if s, err := ParseOffset("2h"); err != nil || !s.Due(nil, from).Equal(from.Add(2*time.Hour)) {
		t.Errorf("ParseOffset(2h) = %v, %v", s, err)
	}
	for _, bad := range []string{"", "-1s", "0d", "soon"} {
		if _, err := ParseOffset(bad); err == nil {
			t.Errorf("ParseOffset(%q) accepted", bad)
		}
	}
}
