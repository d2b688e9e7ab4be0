package store

import "testing"

// TestStageOf: a kindergarten's classes are preschool whatever their grade; at a school the
// grade decides (6-3-3).
func TestStageOf(t *testing.T) {
	for _, c := range []struct {
		kind  string
		grade int
		want  string
	}{
		{KindKindergarten, 1, "preschool"}, {KindKindergarten, 3, "preschool"},
		{KindSchool, 1, "primary"}, {KindSchool, 6, "primary"},
		{KindSchool, 7, "junior"}, {KindSchool, 9, "junior"},
		{KindSchool, 10, "senior"}, {KindSchool, 12, "senior"},
		{KindTownshipSchool, 8, "junior"}, {KindSchool, 0, ""}, {KindSchool, 13, ""},
	} {
		if got := StageOf(c.kind, c.grade); got != c.want {
			t.Errorf("StageOf(%s, %d) = %q, want %q", c.kind, c.grade, got, c.want)
		}
	}
}
