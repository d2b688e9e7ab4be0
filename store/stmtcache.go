package store

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// stmtCache keeps the store's statements prepared, by query text, so that a query is parsed
// and planned once per connection instead of on every call. On the embedded SQLite store,
// preparing was 8% of the CPU of a subsidy lifecycle through the API — twice what running the
// statements cost (docs/benchmarks.md, "Prepared statements"); on PostgreSQL a prepared statement
// also saves lib/pq's second round trip per query (parse, then bind and execute).
//
// The cache holds the most recently used statements up to its size: texts that vary with their
// arguments (a list of n placeholders) would otherwise grow it without end. A statement pushed
// out is closed once the last caller using it is done; database/sql prepares it again on each
// connection it meets, and closes it there when the connection goes.
type stmtCache struct {
	db  *sqlx.DB
	max int

	mu      sync.Mutex
	byQuery map[string]*list.Element // of *cachedStmt
	recent  *list.List               // front: most recently used
	filling map[string]bool          // texts being prepared for a transaction's later calls
	closed  bool
}

type cachedStmt struct {
	query   string
	stmt    *sqlx.Stmt
	users   int  // callers between acquire and release
	evicted bool // out of the cache: closed when users reaches 0
}

// stmtCacheSize bounds the prepared statements per connection. The store has a few hundred
// fixed queries; the variable ones (placeholder lists, optional filters) share the rest.
const stmtCacheSize = 512

func newStmtCache(db *sqlx.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, byQuery: map[string]*list.Element{}, recent: list.New(), filling: map[string]bool{}}
}

// cached returns query's statement if the cache holds it (the caller must release it), or nil.
func (c *stmtCache) cached(query string) *cachedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byQuery[query]; ok {
		return c.useLocked(e)
	}
	return nil
}

// useLocked counts a caller of e's statement and marks it the most recently used; c.mu is held.
func (c *stmtCache) useLocked(e *list.Element) *cachedStmt {
	cs := e.Value.(*cachedStmt)
	cs.users++
	c.recent.MoveToFront(e)
	return cs
}

// fillLater prepares query for the next callers, in the background. A transaction that misses
// the cache must not prepare on the pool itself: it holds a connection already, and waiting for a
// second one while other transactions do the same is how a pool deadlocks (the lock-order bug
// TestAutoCopiesReadInsideTheirTransaction guards against).
func (c *stmtCache) fillLater(query string) {
	c.mu.Lock()
	if c.filling[query] || c.closed {
		c.mu.Unlock()
		return
	}
	c.filling[query] = true
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if cs, err := c.acquire(ctx, query); err == nil {
			c.release(cs)
		}
		c.mu.Lock()
		delete(c.filling, query)
		c.mu.Unlock()
	}()
}

// acquire returns the prepared statement of query, preparing it if it is not cached; the caller
// must release it when the statement's rows are read.
func (c *stmtCache) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	if cs := c.cached(query); cs != nil {
		return cs, nil
	}

	// Prepared outside the lock: a preparation waits for a connection (and on PostgreSQL for the
	// server). Two callers may prepare the same text at once; the later one keeps the earlier's.
	stmt, err := c.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		stmt.Close()
		return nil, sql.ErrConnDone
	}
	if e, ok := c.byQuery[query]; ok {
		stmt.Close()
		return c.useLocked(e), nil
	}
	cs := &cachedStmt{query: query, stmt: stmt, users: 1}
	c.byQuery[query] = c.recent.PushFront(cs)
	for c.recent.Len() > c.max {
		old := c.recent.Back()
		ocs := old.Value.(*cachedStmt)
		c.recent.Remove(old)
		delete(c.byQuery, ocs.query)
		ocs.evicted = true
		if ocs.users == 0 {
			ocs.stmt.Close()
		}
	}
	return cs, nil
}

// release ends a caller's use of cs.
func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.users--
	if cs.evicted && cs.users == 0 {
		cs.stmt.Close()
	}
}

// len is the number of cached statements.
func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recent.Len()
}

// close closes every cached statement (the pool is closing).
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.recent.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.byQuery = map[string]*list.Element{}
	c.recent.Init()
	c.closed = true
}

// prepared runs use with query's prepared statement on db: the pool's cached statement, or in a
// transaction the same statement bound to the transaction's connection (database/sql prepares it
// there once and closes the binding with the transaction); a transaction's call that misses the
// cache runs plain and has the statement prepared for the next. Any other q runs unprepared.
func (s *Store) prepared(ctx context.Context, db q, query string, use func(*sqlx.Stmt) error, plain func() error) error {
	if s.stmts == nil {
		return plain()
	}
	switch d := db.(type) {
	case *sqlx.Tx:
		cs := s.stmts.cached(query)
		if cs == nil {
			s.stmts.fillLater(query)
			return plain()
		}
		defer s.stmts.release(cs)
		return use(d.StmtxContext(ctx, cs.stmt))
	case *sqlx.DB:
		if d == s.db {
			cs, err := s.stmts.acquire(ctx, query)
			if err != nil {
				return err
			}
			defer s.stmts.release(cs)
			return use(cs.stmt)
		}
	}
	return plain()
}
