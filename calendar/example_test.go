package calendar_test

import (
	"fmt"
	"time"

	"jiaofu/calendar"
)

// A publicity period of five working days, opened the day before National Day 2025.
func ExampleSpec_Due() {
	spec, err := calendar.ParseSpec("5wd")
	if err != nil {
		panic(err)
	}
	opened := time.Date(2025, 9, 30, 10, 0, 0, 0, calendar.CST)
	due := spec.Due(calendar.Default(), opened)
	fmt.Println(due)
	fmt.Println(due.In(calendar.CST).Format("2006-01-02 15:04 Mon"))
	// Output:
	// 2025-10-14 16:00:00 +0000 UTC
	// 2025-10-15 00:00 Wed
}
