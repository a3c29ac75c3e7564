package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// FileName is the embedded store's file in its directory.
const FileName = "guards.db"

// Embedded is the store of one host process: counters in SQLite (in
// Options.Dir, or in memory), the cache in memory.
type Embedded struct {
	db    *sql.DB
	get   *sql.Stmt // a counter's value
	add   *sql.Stmt // add to a counter, creating it
	sub   *sql.Stmt // take from a counter, not below zero
	now   func() time.Time
	kind  string
	cache *memCache
	// mu serializes Spend and Refund within the process; SQLite's own
	// locking (BEGIN IMMEDIATE) serializes them between processes.
	mu sync.Mutex
}

// OpenEmbedded opens (creating it if needed) the SQLite store in opts.Dir.
func OpenEmbedded(opts Options) (*Embedded, error) {
	if opts.Dir == "" {
		return nil, errors.New("embedded store: the data directory (data_dir) is empty")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: creating %s: %w", opts.Dir, err)
	}
	path := filepath.Join(opts.Dir, FileName)
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	return openSQLite(dsn, "embedded", opts)
}

// OpenMemory opens a store that lives and dies with the process.
func OpenMemory(opts Options) (*Embedded, error) {
	return openSQLite("file::memory:?_txlock=immediate", "memory", opts)
}

func openSQLite(dsn, kind string, opts Options) (*Embedded, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s store: %w", kind, err)
	}
	// One connection: a memory database exists per connection, and one
	// writer at a time is what SQLite does anyway.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS counters (
		key TEXT PRIMARY KEY,
		value INTEGER NOT NULL,
		expires INTEGER NOT NULL -- unix seconds; 0: never
	)`); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s store: creating tables: %w", kind, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM counters WHERE expires > 0 AND expires < ?`, now().Unix()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s store: dropping expired counters: %w", kind, err)
	}
	n := opts.CacheEntries
	if n <= 0 {
		n = 10000
	}
	s := &Embedded{db: db, now: now, kind: kind, cache: newMemCache(n, now)}
	for _, st := range []struct {
		into **sql.Stmt
		q    string
	}{
		{&s.get, `SELECT value FROM counters WHERE key = ?`},
		{&s.add, `INSERT INTO counters(key, value, expires) VALUES(?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET value = value + excluded.value, expires = excluded.expires`},
		{&s.sub, `UPDATE counters SET value = MAX(0, value - ?) WHERE key = ?`},
	} {
		if *st.into, err = db.PrepareContext(ctx, st.q); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("%s store: %w", kind, err)
		}
	}
	return s, nil
}

// Kind implements Store.
func (s *Embedded) Kind() string { return s.kind }

// Close implements Store.
func (s *Embedded) Close() error { return s.db.Close() }

func (s *Embedded) fail(err error) error {
	return fmt.Errorf("%s store: %w: %w", s.kind, ErrUnavailable, err)
}

// Spend implements Store.
func (s *Embedded) Spend(ctx context.Context, cs []Counter) (Reservation, error) {
	now := s.now()
	r := Reservation{Keys: make([]string, len(cs)), N: make([]int64, len(cs)), Totals: make([]int64, len(cs))}
	for i, c := range cs {
		r.Keys[i] = c.Key + ":" + c.Period.Suffix(now)
		r.N[i] = c.N
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Reservation{}, s.fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	for i, c := range cs {
		var v int64
		err := tx.StmtContext(ctx, s.get).QueryRowContext(ctx, r.Keys[i]).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Reservation{}, s.fail(err)
		}
		if c.Limit > 0 && v+c.N > c.Limit {
			return Reservation{}, &LimitError{Index: i, Key: r.Keys[i], Used: v, Limit: c.Limit, N: c.N}
		}
		r.Totals[i] = v + c.N
	}
	for i, c := range cs {
		var exp int64
		if k := c.Period.keep(); k > 0 {
			exp = now.Add(k).Unix()
		}
		if _, err := tx.StmtContext(ctx, s.add).ExecContext(ctx, r.Keys[i], c.N, exp); err != nil {
			return Reservation{}, s.fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Reservation{}, s.fail(err)
	}
	return r, nil
}

// Refund implements Store.
func (s *Embedded) Refund(ctx context.Context, r Reservation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	for i, k := range r.Keys {
		if _, err := tx.StmtContext(ctx, s.sub).ExecContext(ctx, r.N[i], k); err != nil {
			return s.fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err)
	}
	return nil
}

// Read implements Store.
func (s *Embedded) Read(ctx context.Context, cs []Counter) ([]int64, error) {
	now := s.now()
	out := make([]int64, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	keys := make([]any, len(cs))
	idx := map[string][]int{}
	for i, c := range cs {
		k := c.Key + ":" + c.Period.Suffix(now)
		keys[i] = k
		idx[k] = append(idx[k], i)
	}
	q := `SELECT key, value FROM counters WHERE key IN (?` + strings.Repeat(", ?", len(cs)-1) + `)`
	rows, err := s.db.QueryContext(ctx, q, keys...)
	if err != nil {
		return nil, s.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, s.fail(err)
		}
		for _, i := range idx[k] {
			out[i] = v
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err)
	}
	return out, nil
}

// Get implements Store.
func (s *Embedded) Get(_ context.Context, key string) ([]byte, bool, error) {
	v, ok := s.cache.get(key)
	return v, ok, nil
}

// Set implements Store.
func (s *Embedded) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	s.cache.set(key, val, ttl)
	return nil
}

// memCache is a bounded map with expiry on an injected clock.
type memCache struct {
	mu  sync.Mutex
	max int
	now func() time.Time
	m   map[string]memEntry
}

type memEntry struct {
	val     []byte
	expires time.Time
}

func newMemCache(max int, now func() time.Time) *memCache {
	return &memCache{max: max, now: now, m: map[string]memEntry{}}
}

func (c *memCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, key)
		return nil, false
	}
	return e.val, true
}

func (c *memCache) set(key string, val []byte, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		// Make room: drop what expired; if nothing did, drop an arbitrary
		// tenth (map order), which is cheap and good enough for a cache.
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = memEntry{val: val, expires: now.Add(ttl)}
}

var _ Store = (*Embedded)(nil)
