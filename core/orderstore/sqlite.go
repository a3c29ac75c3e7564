package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// FileName is the SQLite store's file in its data directory.
const FileName = "orders.db"

// SQLite is the embedded store: one file in the data directory, used by
// one host process at a time. Safe for concurrent use.
type SQLite struct {
	db   *sql.DB
	now  func() time.Time
	path string
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating and migrating if needed) orders.db in dir; an
// empty dir opens a store in memory. Of o only Now is read.
func OpenSQLite(dir string, o Options) (*SQLite, error) {
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
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &SQLite{db: db, now: now, path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("order store %s: %w", path, err)
	}
	// One process uses the file: whatever a previous process held in
	// flight, it holds no more.
	if _, err := db.ExecContext(ctx, `UPDATE idempotency SET lease_until = 0 WHERE state = ?`, IdemSending); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("order store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE outbox SET lease_until = 0 WHERE delivered_at IS NULL AND lease_until <> 0`); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("order store %s: %w", path, err)
	}
	return s, nil
}

// migrate brings the schema to the newest version this build knows
// (PRAGMA user_version), and refuses a newer one.
func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := migrations("sqlite")
	if err != nil {
		return err
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return err
	}
	if have > len(ms) {
		return tooNew("sqlite", have, len(ms))
	}
	for _, m := range ms[have:] {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			for _, stmt := range splitStatements(m.sql) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// splitStatements splits a migration file at the semicolons that end its
// lines (the files are written so; none is inside a string).
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// Kind is "sqlite".
func (s *SQLite) Kind() string { return "sqlite" }

// Path is the database file (":memory:" for a store in memory).
func (s *SQLite) Path() string { return s.path }

// Ping checks the file answers.
func (s *SQLite) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// tx runs f in one IMMEDIATE transaction (the DSN's _txlock), committing
// when f returns nil.
func (s *SQLite) tx(ctx context.Context, f func(*sql.Tx) error) error {
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

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ---- idempotency

// BeginIdem claims (tenant, key) for a request (see Store).
func (s *SQLite) BeginIdem(ctx context.Context, in Idem, ttl, lease time.Duration) (Begin, *Idem, error) {
	now := s.now()
	// A retry of a finished or running request is answered from a read:
	// those records change only by expiry (done) or by their own request
	// finishing (sending: a 409 that raced the finish is still true of the
	// moment it was read). A claim, an expired record and a resume take
	// the write transaction below.
	if cur, err := sqliteGetIdem(ctx, s.db, in.Tenant, in.Key); err == nil && (cur.State == IdemSending || !cur.ExpiresAt.Before(now)) {
		if v := verdict(cur, in); v != Resumed {
			return v, cur, nil
		}
	}
	var verdictOut Begin
	var out *Idem
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// An expired finished record frees its key.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE tenant = ? AND key = ? AND state != ? AND expires_at < ?`,
			in.Tenant, in.Key, IdemSending, nanos(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency (tenant, key, scope, body_hash, state, recovery, owner, lease_until, created_at, updated_at, expires_at, ttl)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, key) DO NOTHING`,
			in.Tenant, in.Key, in.Scope, in.BodyHash, IdemSending, in.Recovery, in.Owner, nanos(now.Add(lease)), nanos(now), nanos(now), nanos(now.Add(ttl)), int64(ttl))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			verdictOut = Started
			rec := in
			rec.State, rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt, rec.LeaseUntil = IdemSending, now, now, now.Add(ttl), now.Add(lease)
			out = &rec
			return nil
		}
		cur, err := sqliteGetIdem(ctx, tx, in.Tenant, in.Key)
		if err != nil {
			return err
		}
		out = cur
		verdictOut = verdict(cur, in)
		if verdictOut == Resumed {
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency SET state = ?, owner = ?, lease_until = ?, updated_at = ? WHERE tenant = ? AND key = ?`,
				IdemSending, in.Owner, nanos(now.Add(lease)), nanos(now), in.Tenant, in.Key); err != nil {
				return err
			}
			cur.State, cur.Owner, cur.LeaseUntil, cur.UpdatedAt = IdemSending, in.Owner, now.Add(lease), now
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("order store: idempotency key: %w", err)
	}
	return verdictOut, out, nil
}

const idemCols = `tenant, key, scope, body_hash, state, status, body, resource, recovery, owner, lease_until, created_at, updated_at, expires_at`

func scanIdem(sc interface{ Scan(...any) error }) (*Idem, error) {
	var r Idem
	var lease, created, updated, expires int64
	if err := sc.Scan(&r.Tenant, &r.Key, &r.Scope, &r.BodyHash, &r.State, &r.Status, &r.Body, &r.Resource, &r.Recovery,
		&r.Owner, &lease, &created, &updated, &expires); err != nil {
		return nil, err
	}
	r.LeaseUntil, r.CreatedAt, r.UpdatedAt, r.ExpiresAt = fromNanos(lease), fromNanos(created), fromNanos(updated), fromNanos(expires)
	return &r, nil
}

func sqliteGetIdem(ctx context.Context, q querier, tenant, key string) (*Idem, error) {
	r, err := scanIdem(q.QueryRowContext(ctx, `SELECT `+idemCols+` FROM idempotency WHERE tenant = ? AND key = ?`, tenant, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

// GetIdem reads a record.
func (s *SQLite) GetIdem(ctx context.Context, tenant, key string) (*Idem, error) {
	return sqliteGetIdem(ctx, s.db, tenant, key)
}

func sqliteCompleteIdem(ctx context.Context, tx querier, a IdemAnswer, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE idempotency SET state = ?, status = ?, body = ?, resource = ?, updated_at = ?,
		lease_until = 0, expires_at = ? + ttl WHERE tenant = ? AND key = ?`,
		IdemDone, a.Status, a.Body, a.Resource, nanos(now), nanos(now), a.Tenant, a.Key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("idempotency record %s of tenant %s is gone", a.Key, a.Tenant)
	}
	return nil
}

// CompleteIdem stores a request's answer.
func (s *SQLite) CompleteIdem(ctx context.Context, a IdemAnswer) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return sqliteCompleteIdem(ctx, tx, a, s.now()) })
}

// ReleaseIdem deletes a record in flight.
func (s *SQLite) ReleaseIdem(ctx context.Context, tenant, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE tenant = ? AND key = ? AND state = ?`, tenant, key, IdemSending)
	return err
}

// FailIdem marks a record as stopped half-way.
func (s *SQLite) FailIdem(ctx context.Context, tenant, key, resource string) error {
	now := nanos(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE idempotency SET state = ?, resource = ?, updated_at = ?, lease_until = 0, expires_at = ? + ttl
		WHERE tenant = ? AND key = ?`, IdemFailed, resource, now, now, tenant, key)
	return err
}

// SetIdemResource records what a request in flight has started.
func (s *SQLite) SetIdemResource(ctx context.Context, tenant, key, resource string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE idempotency SET resource = ?, updated_at = ? WHERE tenant = ? AND key = ?`,
		resource, nanos(s.now()), tenant, key)
	return err
}

// RenewIdem extends the leases of owner's records in flight among keys.
func (s *SQLite) RenewIdem(ctx context.Context, owner string, keys []IdemKey, lease time.Duration) error {
	if len(keys) == 0 {
		return nil
	}
	until := nanos(s.now().Add(lease))
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency SET lease_until = ? WHERE tenant = ? AND key = ? AND state = ? AND owner = ?`,
				until, k.Tenant, k.Key, IdemSending, owner); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClaimSending takes over records in flight whose lease ended (see Store).
func (s *SQLite) ClaimSending(ctx context.Context, owner string, lease time.Duration, limit int) ([]Idem, error) {
	now := s.now()
	var out []Idem
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+idemCols+` FROM idempotency WHERE state = ? AND (lease_until <= ? OR owner = ?)
			ORDER BY created_at LIMIT ?`, IdemSending, nanos(now), owner, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			r, err := scanIdem(rows)
			if err != nil {
				_ = rows.Close()
				return err
			}
			r.Owner, r.LeaseUntil = owner, now.Add(lease)
			out = append(out, *r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency SET owner = ?, lease_until = ? WHERE tenant = ? AND key = ?`,
				owner, nanos(r.LeaseUntil), r.Tenant, r.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListSending lists records in flight without claiming them.
func (s *SQLite) ListSending(ctx context.Context, tenant string, limit int) ([]Idem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+idemCols+` FROM idempotency WHERE state = ? AND (? = '' OR tenant = ?)
		ORDER BY created_at LIMIT ?`, IdemSending, tenant, tenant, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Idem
	for rows.Next() {
		r, err := scanIdem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// PurgeIdem deletes finished records past their time to live.
func (s *SQLite) PurgeIdem(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE state != ? AND expires_at < ?`, IdemSending, nanos(s.now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ---- orders

// InsertOrder records a new order (see Store).
func (s *SQLite) InsertOrder(ctx context.Context, o *Order, done *IdemAnswer) (rec *Order, existed bool, err error) {
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE provider = ? AND provider_order_id = ?`, o.Provider, o.ProviderOrderID).Scan(&id)
		switch {
		case err == nil:
			existed = true
			r, err := sqliteGetOrder(ctx, tx, "", id)
			if err != nil {
				return err
			}
			rec = r
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, tenant, provider, provider_order_id, quote_id, state, provider_state, open, data,
				idempotency_key, created_at, updated_at, next_poll_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				o.ID, o.Tenant, o.Provider, o.ProviderOrderID, o.QuoteID, o.State, o.ProviderState, o.Open, o.Data,
				o.IdempotencyKey, nanos(o.CreatedAt), nanos(o.UpdatedAt), nanos(o.NextPollAt)); err != nil {
				return err
			}
			for i, c := range o.History {
				if _, err := tx.ExecContext(ctx, `INSERT INTO order_history (order_id, seq, state, provider_state, at) VALUES (?, ?, ?, ?, ?)`,
					o.ID, i+1, c.State, c.ProviderState, nanos(c.At)); err != nil {
					return err
				}
			}
			c := *o
			c.History = numbered(o.History, 0)
			rec = &c
		default:
			return err
		}
		if done != nil {
			return sqliteCompleteIdem(ctx, tx, *done, now)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("order store: recording order: %w", err)
	}
	return rec, existed, nil
}

// GetOrder reads a tenant's order.
func (s *SQLite) GetOrder(ctx context.Context, tenant, id string) (*Order, error) {
	return sqliteGetOrder(ctx, s.db, tenant, id)
}

// OrderByProvider reads an order by the provider's order number.
func (s *SQLite) OrderByProvider(ctx context.Context, provider, providerOrderID string) (*Order, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM orders WHERE provider = ? AND provider_order_id = ?`, provider, providerOrderID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return sqliteGetOrder(ctx, s.db, "", id)
}

const orderCols = `id, tenant, provider, provider_order_id, quote_id, state, provider_state, open, data, idempotency_key, created_at, updated_at, next_poll_at`

func scanOrder(sc interface{ Scan(...any) error }) (*Order, error) {
	var o Order
	var created, updated, next int64
	if err := sc.Scan(&o.ID, &o.Tenant, &o.Provider, &o.ProviderOrderID, &o.QuoteID, &o.State, &o.ProviderState, &o.Open, &o.Data,
		&o.IdempotencyKey, &created, &updated, &next); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt, o.NextPollAt = fromNanos(created), fromNanos(updated), fromNanos(next)
	return &o, nil
}

func sqliteGetOrder(ctx context.Context, q querier, tenant, id string) (*Order, error) {
	query := `SELECT ` + orderCols + ` FROM orders WHERE id = ?`
	args := []any{id}
	if tenant != "" {
		query += ` AND tenant = ?`
		args = append(args, tenant)
	}
	o, err := scanOrder(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if o.History, err = sqliteHistory(ctx, q, o.ID); err != nil {
		return nil, err
	}
	return o, nil
}

func sqliteHistory(ctx context.Context, q querier, id string) ([]Change, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, state, provider_state, at FROM order_history WHERE order_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var at int64
		if err := rows.Scan(&c.Seq, &c.State, &c.ProviderState, &at); err != nil {
			return nil, err
		}
		c.At = fromNanos(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// listQuery builds ListOrders' query; ph returns the next placeholder.
func listQuery(f Filter, ph func() string) (string, []any, int, error) {
	query := `SELECT ` + orderCols + ` FROM orders WHERE tenant = ` + ph()
	args := []any{f.Tenant}
	if f.State != "" {
		query += ` AND state = ` + ph()
		args = append(args, f.State)
	}
	if f.Provider != "" {
		query += ` AND provider = ` + ph()
		args = append(args, f.Provider)
	}
	if !f.Since.IsZero() {
		query += ` AND created_at >= ` + ph()
		args = append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		query += ` AND created_at < ` + ph()
		args = append(args, nanos(f.Until))
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		a, b, c := ph(), ph(), ph()
		query += ` AND (created_at < ` + a + ` OR (created_at = ` + b + ` AND id < ` + c + `))`
		args = append(args, at, at, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + ph()
	args = append(args, limit+1)
	return query, args, limit, nil
}

// page cuts a page of limit+1 rows to limit, with the next cursor.
func page(out []Order, limit int) ([]Order, string) {
	if len(out) <= limit {
		return out, ""
	}
	out = out[:limit]
	last := out[limit-1]
	return out, encodeCursor(nanos(last.CreatedAt), last.ID)
}

// ListOrders lists a tenant's orders, newest first.
func (s *SQLite) ListOrders(ctx context.Context, f Filter) ([]Order, string, error) {
	query, args, limit, err := listQuery(f, func() string { return "?" })
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out, next := page(out, limit)
	return out, next, nil
}

// OpenCounts counts the open orders by provider and state.
func (s *SQLite) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT provider, state, COUNT(*) FROM orders WHERE open = 1 GROUP BY provider, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OpenCount
	for rows.Next() {
		var c OpenCount
		if err := rows.Scan(&c.Provider, &c.State, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimDueOrders takes open orders due for a poll (see Store).
func (s *SQLite) ClaimDueOrders(ctx context.Context, now, next time.Time, limit int) ([]Order, error) {
	var out []Order
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+orderCols+` FROM orders WHERE open = 1 AND next_poll_at <= ?
			ORDER BY next_poll_at, id LIMIT ?`, nanos(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				_ = rows.Close()
				return err
			}
			o.NextPollAt = next
			out = append(out, *o)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for i := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET next_poll_at = ? WHERE id = ?`, nanos(next), out[i].ID); err != nil {
				return err
			}
			h, err := sqliteHistory(ctx, tx, out[i].ID)
			if err != nil {
				return err
			}
			out[i].History = h
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateOrder writes a poll's outcome (see Store).
func (s *SQLite) UpdateOrder(ctx context.Context, u Update) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM order_history WHERE order_id = ?`, u.OrderID).Scan(&last); err != nil {
			return err
		}
		if last != u.HistoryLen {
			return ErrStale
		}
		res, err := tx.ExecContext(ctx, `UPDATE orders SET state = ?, provider_state = ?, open = ?, data = ?, updated_at = ?, next_poll_at = ? WHERE id = ?`,
			u.State, u.ProviderState, u.Open, u.Data, nanos(u.UpdatedAt), nanos(u.NextPollAt), u.OrderID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		for i, c := range u.NewChanges {
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_history (order_id, seq, state, provider_state, at) VALUES (?, ?, ?, ?, ?)`,
				u.OrderID, last+i+1, c.State, c.ProviderState, nanos(c.At)); err != nil {
				return err
			}
		}
		for _, e := range u.Events {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant, order_id, type, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
				e.Tenant, e.OrderID, e.Type, e.Payload, nanos(e.CreatedAt), nanos(e.NextAttemptAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("order store: updating order %s: %w", u.OrderID, err)
	}
	return nil
}

// SetNextPoll moves an order's next poll.
func (s *SQLite) SetNextPoll(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE orders SET next_poll_at = ? WHERE id = ?`, nanos(at), id)
	return err
}

// ---- outbox

const eventCols = `id, tenant, order_id, type, payload, created_at, attempts, next_attempt_at, last_error`

func scanEvent(sc interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var created, next int64
	if err := sc.Scan(&e.ID, &e.Tenant, &e.OrderID, &e.Type, &e.Payload, &created, &e.Attempts, &next, &e.LastError); err != nil {
		return e, err
	}
	e.CreatedAt, e.NextAttemptAt = fromNanos(created), fromNanos(next)
	return e, nil
}

// ClaimEvents takes the due head event of each order (see Store).
func (s *SQLite) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Event, error) {
	var out []Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+eventCols+` FROM outbox o WHERE delivered_at IS NULL
			AND id = (SELECT MIN(id) FROM outbox p WHERE p.order_id = o.order_id AND p.delivered_at IS NULL)
			AND next_attempt_at <= ? AND lease_until <= ? ORDER BY id LIMIT ?`, nanos(now), nanos(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				_ = rows.Close()
				return err
			}
			out = append(out, e)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, e := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_until = ?, claimed_by = ? WHERE id = ?`, nanos(now.Add(lease)), owner, e.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MarkDelivered records a 2xx answer to an event.
func (s *SQLite) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = '', lease_until = 0
		WHERE id = ? AND delivered_at IS NULL`, nanos(at), id)
	return err
}

// MarkAttemptFailed records a failed delivery and when to try again.
func (s *SQLite) MarkAttemptFailed(ctx context.Context, id int64, next time.Time, errText string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_until = 0
		WHERE id = ? AND delivered_at IS NULL`, nanos(next), errText, id)
	return err
}

// PendingEvents counts undelivered events.
func (s *SQLite) PendingEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&n)
	return n, err
}

// listEventCols are eventCols and when the event was delivered (0: not yet).
const listEventCols = eventCols + `, COALESCE(delivered_at, 0)`

func scanListedEvent(sc interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var created, next, delivered int64
	if err := sc.Scan(&e.ID, &e.Tenant, &e.OrderID, &e.Type, &e.Payload, &created, &e.Attempts, &next, &e.LastError, &delivered); err != nil {
		return e, err
	}
	e.CreatedAt, e.NextAttemptAt = fromNanos(created), fromNanos(next)
	if delivered != 0 {
		e.DeliveredAt = fromNanos(delivered)
	}
	return e, nil
}

// ListEvents lists a tenant's order's webhook events (see Store).
func (s *SQLite) ListEvents(ctx context.Context, tenant, orderID string, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+listEventCols+` FROM outbox WHERE order_id = ? AND tenant = ? ORDER BY id LIMIT ?`, orderID, tenant, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanListedEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ---- audit

// AppendAudit writes entries in one transaction.
func (s *SQLite) AppendAudit(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Many rows a statement: a statement's own cost (binding, stepping,
		// resetting through database/sql) was most of a row's.
		for len(es) > 0 {
			n := min(len(es), auditRowsPerInsert)
			q := auditInsertFull
			if n < auditRowsPerInsert {
				q = auditInsertRows(n)
			}
			args := make([]any, 0, 8*n)
			for _, e := range es[:n] {
				args = append(args, nanos(e.At), e.Tenant, e.Provider, e.Op, e.Outcome, e.Latency.Microseconds(), e.PolicyRevision, e.Detail)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("order store: audit: %w", err)
			}
			es = es[n:]
		}
		return nil
	})
}

// auditRowsPerInsert is how many audit rows one INSERT writes (8 variables
// a row, far below SQLite's 32,766).
const auditRowsPerInsert = 64

// auditInsertRows is the INSERT of n audit rows.
func auditInsertRows(n int) string {
	return `INSERT INTO audit (at, tenant, provider, op, outcome, latency_us, policy_revision, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)` +
		strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?)", n-1)
}

var auditInsertFull = auditInsertRows(auditRowsPerInsert)

// auditQuery builds QueryAudit's query; ph returns the next placeholder.
func auditQuery(f AuditFilter, ph func() string) (string, []any) {
	q := `SELECT id, at, tenant, provider, op, outcome, latency_us, policy_revision, detail FROM audit WHERE tenant = ` + ph()
	args := []any{f.Tenant}
	if f.Provider != "" {
		q += ` AND provider = ` + ph()
		args = append(args, f.Provider)
	}
	if f.Op != "" {
		q += ` AND op = ` + ph()
		args = append(args, f.Op)
	}
	if f.Outcome != "" {
		q += ` AND outcome = ` + ph()
		args = append(args, f.Outcome)
	}
	return pageQuery(q, args, ph, f.Since, f.Until, f.Before, f.Limit, 100)
}

// pageQuery ends a query of a log (audit, decisions) with its time window
// [since, until), the page before id before (0: the newest) and the limit
// (limit, or def when not set), newest first; ph returns the next
// placeholder.
func pageQuery(q string, args []any, ph func() string, since, until time.Time, before int64, limit, def int) (string, []any) {
	if !since.IsZero() {
		q += ` AND at >= ` + ph()
		args = append(args, nanos(since))
	}
	if !until.IsZero() {
		q += ` AND at < ` + ph()
		args = append(args, nanos(until))
	}
	if before > 0 {
		q += ` AND id < ` + ph()
		args = append(args, before)
	}
	if limit <= 0 {
		limit = def
	}
	q += ` ORDER BY id DESC LIMIT ` + ph()
	return q, append(args, limit)
}

func scanAudit(sc interface{ Scan(...any) error }) (AuditEntry, error) {
	var e AuditEntry
	var at, us int64
	if err := sc.Scan(&e.ID, &at, &e.Tenant, &e.Provider, &e.Op, &e.Outcome, &us, &e.PolicyRevision, &e.Detail); err != nil {
		return e, err
	}
	e.At, e.Latency = fromNanos(at), time.Duration(us)*time.Microsecond
	return e, nil
}

// QueryAudit lists entries, newest first.
func (s *SQLite) QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q, args := auditQuery(f, func() string { return "?" })
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PurgeAudit deletes entries older than before.
func (s *SQLite) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, nanos(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ---- trade-ins

// PutTradeIn inserts or replaces a trade-in record (see Store).
func (s *SQLite) PutTradeIn(ctx context.Context, t *TradeIn, done *IdemAnswer) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tradeins (id, tenant, idempotency_key, state, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at`,
			t.ID, t.Tenant, t.IdempotencyKey, t.State, t.Data, nanos(t.CreatedAt), nanos(t.UpdatedAt)); err != nil {
			return err
		}
		if done != nil {
			return sqliteCompleteIdem(ctx, tx, *done, s.now())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("order store: trade-in %s: %w", t.ID, err)
	}
	return nil
}

// GetTradeIn reads a tenant's trade-in.
func (s *SQLite) GetTradeIn(ctx context.Context, tenant, id string) (*TradeIn, error) {
	var t TradeIn
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT id, tenant, idempotency_key, state, data, created_at, updated_at FROM tradeins WHERE id = ? AND tenant = ?`, id, tenant).
		Scan(&t.ID, &t.Tenant, &t.IdempotencyKey, &t.State, &t.Data, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &t, nil
}
