package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/store"
)

// TestPreparedStatementsUnderChurn: with a cache far smaller than the texts in use, statements
// are pushed out while other callers still run them — every query still answers right, in and
// out of transactions, and the cache stays at its size.
func TestPreparedStatementsUnderChurn(t *testing.T) {
	t.Parallel()
	for name, s := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := makeFixture(t, s)
			store.ShrinkStmtCache(s, 3)
			const texts = 12
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 60; i++ {
						// A different text per i (the extra condition), all asking the same user.
						k := (g + i) % texts
						var got []store.User
						if err := s.SelectUsersForTest(ctx, fmt.Sprintf("username = ? AND %d = %d", k, k), "head", &got); err != nil {
							errs <- fmt.Errorf("query %d: %w", k, err)
							return
						}
						if len(got) != 1 || got[0].ID != f.leader.ID {
							errs <- fmt.Errorf("query %d: got %+v", k, got)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := store.StmtCacheLen(s); n != 3 {
				t.Errorf("cache holds %d statements, want its size 3", n)
			}

			// In a transaction a cached statement runs on the transaction's connection: it sees
			// the transaction's own uncommitted write, and nothing stays once it rolls back. A
			// text the cache does not hold runs plain there, and is prepared for the next caller.
			store.ShrinkStmtCache(s, 8)
			const inTx, txOnly = "username = ? AND 1 = 1", "username = ? AND 2 = 2"
			var warm []store.User
			if err := s.SelectUsersForTest(ctx, inTx, "head", &warm); err != nil || store.StmtCacheLen(s) != 1 {
				t.Fatalf("warming the cache: %v, %d cached", err, store.StmtCacheLen(s))
			}
			errRollback := fmt.Errorf("roll back")
			err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET display_name = ? WHERE id = ?`), "改名", f.leader.ID); err != nil {
					return err
				}
				for _, where := range []string{inTx, txOnly} {
					var got []store.User
					if err := s.SelectUsersForTest(ctx, where, "head", &got, tx); err != nil {
						return err
					}
					if len(got) != 1 || got[0].DisplayName != "改名" {
						t.Errorf("%s in the transaction: %+v, want its own write", where, got)
					}
				}
				return errRollback
			})
			if err != errRollback {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); store.StmtCacheLen(s) < 2 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if n := store.StmtCacheLen(s); n != 2 {
				t.Errorf("after the transaction's miss the cache holds %d statements, want 2", n)
			}
			u, err := s.UserByID(ctx, f.leader.ID)
			if err != nil || u.DisplayName != "校长" {
				t.Errorf("after rollback: %q %v", u.DisplayName, err)
			}
		})
	}
}

// TestStorePlansEachExecution: the store's PostgreSQL sessions plan a prepared statement for its
// values every time (plan_cache_mode), so a cached statement never runs on a generic plan.
func TestStorePlansEachExecution(t *testing.T) {
	t.Parallel()
	s, ok := openStores(t)["postgres"]
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	var mode string
	if err := s.DB().GetContext(context.Background(), &mode, `SHOW plan_cache_mode`); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" {
		t.Errorf("plan_cache_mode = %q, want force_custom_plan", mode)
	}
}
