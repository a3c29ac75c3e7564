package orderstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Change is one step of an order's state history.
type Change struct {
	Seq           int
	State         string
	ProviderState string
	At            time.Time
}

// Order is a recycle order as the host records it.
type Order struct {
	ID              string // the host's id
	Tenant          string
	Provider        string
	ProviderOrderID string
	QuoteID         string
	State           string // normalized
	ProviderState   string // the provider's own word
	Open            bool   // not in a final state: polled
	Data            []byte // the host's JSON view of the rest
	IdempotencyKey  string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	NextPollAt      time.Time
	History         []Change
}

// Event is one webhook event in the outbox.
type Event struct {
	ID            int64
	Tenant        string
	OrderID       string
	Type          string
	Payload       []byte
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	LastError     string
}

// InsertOrder records a new order with its first history and, when done is
// not nil, completes the idempotency record that created it, in one
// transaction. When the provider's order is already recorded (a recovery
// raced an answer), nothing is inserted and the recorded order is returned
// with existed true; done still completes the key with the body given.
func (s *Store) InsertOrder(ctx context.Context, o *Order, done *IdemAnswer) (rec *Order, existed bool, err error) {
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE provider = ? AND provider_order_id = ?`, o.Provider, o.ProviderOrderID).Scan(&id)
		switch {
		case err == nil:
			existed = true
			r, err := getOrder(ctx, tx, "", id)
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
			return completeIdem(ctx, tx, *done, now)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("order store: recording order: %w", err)
	}
	return rec, existed, nil
}

func numbered(h []Change, from int) []Change {
	out := make([]Change, len(h))
	for i, c := range h {
		c.Seq = from + i + 1
		out[i] = c
	}
	return out
}

// GetOrder reads a tenant's order (ErrNotFound when it is another's).
func (s *Store) GetOrder(ctx context.Context, tenant, id string) (*Order, error) {
	return getOrder(ctx, s.db, tenant, id)
}

// OrderByProvider reads an order by the provider's order number.
func (s *Store) OrderByProvider(ctx context.Context, provider, providerOrderID string) (*Order, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM orders WHERE provider = ? AND provider_order_id = ?`, provider, providerOrderID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return getOrder(ctx, s.db, "", id)
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

func getOrder(ctx context.Context, q querier, tenant, id string) (*Order, error) {
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
	if o.History, err = history(ctx, q, o.ID); err != nil {
		return nil, err
	}
	return o, nil
}

func history(ctx context.Context, q querier, id string) ([]Change, error) {
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

// Filter selects a tenant's orders. Zero fields do not filter.
type Filter struct {
	Tenant   string
	State    string
	Provider string
	Since    time.Time // created at or after
	Until    time.Time // created before
	Limit    int       // default 50
	Cursor   string    // from a previous page's next cursor
}

// ListOrders lists a tenant's orders, newest first, with the cursor of the
// next page ("" at the end). History is not loaded.
func (s *Store) ListOrders(ctx context.Context, f Filter) ([]Order, string, error) {
	query := `SELECT ` + orderCols + ` FROM orders WHERE tenant = ?`
	args := []any{f.Tenant}
	if f.State != "" {
		query += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Provider != "" {
		query += ` AND provider = ?`
		args = append(args, f.Provider)
	}
	if !f.Since.IsZero() {
		query += ` AND created_at >= ?`
		args = append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		query += ` AND created_at < ?`
		args = append(args, nanos(f.Until))
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		query += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
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
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(nanos(last.CreatedAt), last.ID)
	}
	return out, next, nil
}

// ErrBadCursor is returned for a cursor this store did not make.
var ErrBadCursor = errors.New("orderstore: malformed cursor")

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return 0, "", ErrBadCursor
	}
	return n, id, nil
}

// DueOrders lists open orders due for a poll at now, the longest waiting first.
func (s *Store) DueOrders(ctx context.Context, now time.Time, limit int) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+orderCols+` FROM orders WHERE open = 1 AND next_poll_at <= ?
		ORDER BY next_poll_at, id LIMIT ?`, nanos(now), limit)
	if err != nil {
		return nil, err
	}
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, *o)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for i := range out {
		h, err := history(ctx, s.db, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].History = h
	}
	return out, nil
}

// Update is a poll's outcome for one order.
type Update struct {
	OrderID       string
	State         string
	ProviderState string
	Open          bool
	Data          []byte
	UpdatedAt     time.Time
	NextPollAt    time.Time
	NewChanges    []Change // appended to the history
	Events        []Event  // enqueued, in order
}

// UpdateOrder writes a poll's outcome: the order's state, new history rows
// and webhook events, in one transaction.
func (s *Store) UpdateOrder(ctx context.Context, u Update) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE orders SET state = ?, provider_state = ?, open = ?, data = ?, updated_at = ?, next_poll_at = ? WHERE id = ?`,
			u.State, u.ProviderState, u.Open, u.Data, nanos(u.UpdatedAt), nanos(u.NextPollAt), u.OrderID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM order_history WHERE order_id = ?`, u.OrderID).Scan(&last); err != nil {
			return err
		}
		for i, c := range u.NewChanges {
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_history (order_id, seq, state, provider_state, at) VALUES (?, ?, ?, ?, ?)`,
				u.OrderID, last+i+1, c.State, c.ProviderState, nanos(c.At)); err != nil {
				return err
			}
		}
		for _, e := range u.Events {
			if err := enqueue(ctx, tx, e); err != nil {
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
func (s *Store) SetNextPoll(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE orders SET next_poll_at = ? WHERE id = ?`, nanos(at), id)
	return err
}

func enqueue(ctx context.Context, tx querier, e Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant, order_id, type, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Tenant, e.OrderID, e.Type, e.Payload, nanos(e.CreatedAt), nanos(e.NextAttemptAt))
	return err
}

// DueEvents lists, for each order with undelivered events, its oldest one
// when it is due at now: delivery in order per order.
func (s *Store) DueEvents(ctx context.Context, now time.Time, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, tenant, order_id, type, payload, created_at, attempts, next_attempt_at, last_error
		FROM outbox o WHERE delivered_at IS NULL
		AND id = (SELECT MIN(id) FROM outbox p WHERE p.order_id = o.order_id AND p.delivered_at IS NULL)
		AND next_attempt_at <= ? ORDER BY id LIMIT ?`, nanos(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var created, next int64
		if err := rows.Scan(&e.ID, &e.Tenant, &e.OrderID, &e.Type, &e.Payload, &created, &e.Attempts, &next, &e.LastError); err != nil {
			return nil, err
		}
		e.CreatedAt, e.NextAttemptAt = fromNanos(created), fromNanos(next)
		out = append(out, e)
	}
	return out, rows.Err()
}

// MarkDelivered records a 2xx answer to an event.
func (s *Store) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, nanos(at), id)
	return err
}

// MarkAttemptFailed records a failed delivery and when to try again.
func (s *Store) MarkAttemptFailed(ctx context.Context, id int64, next time.Time, errText string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`, nanos(next), errText, id)
	return err
}

// PendingEvents counts undelivered events.
func (s *Store) PendingEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&n)
	return n, err
}
