package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TradeIn is a trade-in record: its state and the host's JSON of its steps.
type TradeIn struct {
	ID             string
	Tenant         string
	IdempotencyKey string
	State          string
	Data           []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// PutTradeIn inserts or replaces a trade-in record (a step's progress).
// When done is not nil the idempotency record is completed in the same
// transaction.
func (s *Store) PutTradeIn(ctx context.Context, t *TradeIn, done *IdemAnswer) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tradeins (id, tenant, idempotency_key, state, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at`,
			t.ID, t.Tenant, t.IdempotencyKey, t.State, t.Data, nanos(t.CreatedAt), nanos(t.UpdatedAt)); err != nil {
			return err
		}
		if done != nil {
			return completeIdem(ctx, tx, *done, s.now())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("order store: trade-in %s: %w", t.ID, err)
	}
	return nil
}

// GetTradeIn reads a tenant's trade-in (ErrNotFound when it is another's).
func (s *Store) GetTradeIn(ctx context.Context, tenant, id string) (*TradeIn, error) {
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
