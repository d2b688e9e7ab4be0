package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"jiaofu/store"
)

// TestUnstorableWrites: what PostgreSQL can never store (a NUL byte, an index row too large) is
// ErrUnstorable, so activities stop retrying it (the worker makes it non-retryable) and the API
// answers 400 instead of 500. SQLite stores both, so only PostgreSQL is asked.
func TestUnstorableWrites(t *testing.T) {
	t.Parallel()
	pg, ok := openStores(t)["postgres"]
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set; .ci/run sets it")
	}
	ctx := context.Background()
	if _, err := pg.CreateUnit(ctx, "JS", "建始县\x00教育局", store.KindBureau, "", ""); !errors.Is(err, store.ErrUnstorable) {
		t.Errorf("NUL in a unit name: %v, want ErrUnstorable", err)
	}
	if _, err := pg.CreateUnit(ctx, strings.Repeat("J", 300_000), "教育局", store.KindBureau, "", ""); !errors.Is(err, store.ErrUnstorable) {
		t.Errorf("a 300 KB code: %v, want ErrUnstorable", err)
	}
	// Nothing was half-written: the clean unit is created.
	if _, err := pg.CreateUnit(ctx, "JS", "建始县教育局", store.KindBureau, "", ""); err != nil {
		t.Errorf("clean unit after refused ones: %v", err)
	}
}
