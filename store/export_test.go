package store

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Digest is an entry's chain hash as Append computes it: the tests rewrite a trail the way a
// database administrator who read this code could, recomputing the whole chain.
func (e AuditEntry) Digest() string { return e.digest() }

// ShrinkStmtCache gives s a statement cache of n entries, so that a test can push statements out
// while others use them.
func ShrinkStmtCache(s *Store, n int) {
	s.stmts.close()
	s.stmts = newStmtCache(s.db, n)
}

// StmtCacheLen is the number of statements s keeps prepared.
func StmtCacheLen(s *Store) int { return s.stmts.len() }

// SelectUsersForTest reads users matching where through the store's own query path (the pool, or
// tx when given).
func (s *Store) SelectUsersForTest(ctx context.Context, where string, arg any, dest *[]User, tx ...*sqlx.Tx) error {
	var db q = s.db
	if len(tx) > 0 {
		db = tx[0]
	}
	return s.sel(ctx, db, dest, `SELECT id, username, password_hash, display_name, active, created_at FROM users WHERE `+where, arg)
}
