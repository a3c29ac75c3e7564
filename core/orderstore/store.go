package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// FileName is the store's file in its data directory.
const FileName = "orders.db"

// ErrNotFound is returned for a record that does not exist (or belongs to
// another tenant: callers cannot tell the two apart).
var ErrNotFound = errors.New("orderstore: not found")

// Options configure Open.
type Options struct {
	// Now is the store's clock (expiry of idempotency records, due times).
	// Default time.Now.
	Now func() time.Time
}

// Store is the order-side database. Safe for concurrent use.
type Store struct {
	db   *sql.DB
	now  func() time.Time
	path string
}

// Open opens (creating if needed) orders.db in dir; an empty dir opens a
// store in memory.
func Open(dir string, opts Options) (*Store, error) {
	dsn := "file::memory:?_txlock=immediate"
	path := ":memory:"
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("order store: creating %s: %w", dir, err)
		}
		path = filepath.Join(dir, FileName)
		dsn = "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("order store: %w", err)
	}
	// One connection: a memory database exists per connection, SQLite has
	// one writer at a time anyway, and every statement here is short.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, now: now, path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("order store %s: creating tables: %w", path, err)
		}
	}
	return s, nil
}

// Path is the database file (":memory:" for a store in memory).
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

var schema = []string{
	`CREATE TABLE IF NOT EXISTS idempotency (
		tenant TEXT NOT NULL,
		key TEXT NOT NULL,
		scope TEXT NOT NULL,
		body_hash TEXT NOT NULL,
		state TEXT NOT NULL,
		status INTEGER NOT NULL DEFAULT 0,
		body BLOB,
		resource TEXT NOT NULL DEFAULT '',
		recovery BLOB,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		ttl INTEGER NOT NULL, -- nanoseconds a finished record is kept
		PRIMARY KEY (tenant, key)
	)`,
	`CREATE INDEX IF NOT EXISTS idempotency_state ON idempotency(state)`,
	`CREATE TABLE IF NOT EXISTS orders (
		id TEXT PRIMARY KEY,
		tenant TEXT NOT NULL,
		provider TEXT NOT NULL,
		provider_order_id TEXT NOT NULL,
		quote_id TEXT NOT NULL DEFAULT '',
		state TEXT NOT NULL,
		provider_state TEXT NOT NULL DEFAULT '',
		open INTEGER NOT NULL,
		data BLOB,
		idempotency_key TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		next_poll_at INTEGER NOT NULL,
		UNIQUE (provider, provider_order_id)
	)`,
	`CREATE INDEX IF NOT EXISTS orders_tenant ON orders(tenant, created_at, id)`,
	`CREATE INDEX IF NOT EXISTS orders_poll ON orders(open, next_poll_at)`,
	`CREATE TABLE IF NOT EXISTS order_history (
		order_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		state TEXT NOT NULL,
		provider_state TEXT NOT NULL DEFAULT '',
		at INTEGER NOT NULL,
		PRIMARY KEY (order_id, seq)
	)`,
	`CREATE TABLE IF NOT EXISTS outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant TEXT NOT NULL,
		order_id TEXT NOT NULL,
		type TEXT NOT NULL,
		payload BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt_at INTEGER NOT NULL,
		delivered_at INTEGER,
		last_error TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(order_id, id) WHERE delivered_at IS NULL`,
	`CREATE TABLE IF NOT EXISTS audit (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		at INTEGER NOT NULL,
		tenant TEXT NOT NULL,
		provider TEXT NOT NULL,
		op TEXT NOT NULL,
		outcome TEXT NOT NULL,
		latency_us INTEGER NOT NULL,
		policy_revision TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS audit_tenant ON audit(tenant, id)`,
	`CREATE INDEX IF NOT EXISTS audit_at ON audit(at)`,
	`CREATE TABLE IF NOT EXISTS tradeins (
		id TEXT PRIMARY KEY,
		tenant TEXT NOT NULL,
		idempotency_key TEXT NOT NULL,
		state TEXT NOT NULL,
		data BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		UNIQUE (tenant, idempotency_key)
	)`,
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// tx runs f in one IMMEDIATE transaction (the DSN's _txlock), committing
// when f returns nil.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("order store: %w", err)
	}
	if err := f(t); err != nil {
		_ = t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("order store: commit: %w", err)
	}
	return nil
}
