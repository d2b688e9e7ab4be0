package activities_test

import (
	"context"
	"testing"

	"jiaofu/activities"
	"jiaofu/store"
)

// newCounty opens a fresh SQLite store with the bureau, its supervision office, township T01's
// central school and one school under it, and returns the store, the township and the school.
func newCounty(t *testing.T) (*store.Store, store.Unit, store.Unit) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, "", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mustUnit(t)(s.CreateUnit(ctx, "JS", "建始县教育局", store.KindBureau, "", ""))
	mustUnit(t)(s.CreateUnit(ctx, activities.SupervisionUnitCode, "监察室", store.KindSection, "JS", ""))
	township := mustUnit(t)(s.CreateUnit(ctx, "JS-T01", "业州镇中心学校", store.KindTownshipSchool, "JS", "T01"))
	school := mustUnit(t)(s.CreateUnit(ctx, "JS-T01-S01", "业州一小", store.KindSchool, "JS-T01", ""))
	return s, township, school
}

// mustUnit fails the test on a unit that could not be created.
func mustUnit(t *testing.T) func(store.Unit, error) store.Unit {
	return func(u store.Unit, err error) store.Unit {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
}
