package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// States of an idempotency record.
const (
	// IdemSending: written before the provider is called; the request is in
	// flight, or the host died during it (recovered at start).
	IdemSending = "sending"
	// IdemDone: the first answer is stored and is replayed.
	IdemDone = "done"
	// IdemFailed: a multi-step request stopped half-way; a retry with the
	// same body resumes it.
	IdemFailed = "failed"
)

// Idem is one idempotency record: a tenant's key, what it was used for, and
// the first answer once there is one.
type Idem struct {
	Tenant   string
	Key      string
	Scope    string // the operation, "POST /v1/orders"
	BodyHash string // hex SHA-256 of the canonical request body
	State    string
	Status   int    // the first answer's HTTP status (IdemDone)
	Body     []byte // the first answer's body (IdemDone)
	Resource string // the id of what the request created
	// Recovery is what the host needs to finish the request after a crash
	// (for an order: the provider and the quote it was made from).
	Recovery  []byte
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Begin is BeginIdem's verdict.
type Begin int

// The verdicts.
const (
	// Started: the record was created in state sending; go ahead.
	Started Begin = iota + 1
	// Replay: the key's first request finished; answer Idem.Status and Idem.Body.
	Replay
	// Mismatch: the key was used with another body or operation.
	Mismatch
	// InFlight: the key's first request is still running (or awaits recovery).
	InFlight
	// Resumed: the key's request had stopped half-way (IdemFailed); it is
	// in state sending again and the caller continues from Idem.Resource.
	Resumed
)

func (b Begin) String() string {
	switch b {
	case Started:
		return "started"
	case Replay:
		return "replay"
	case Mismatch:
		return "mismatch"
	case InFlight:
		return "in_flight"
	case Resumed:
		return "resumed"
	}
	return fmt.Sprintf("begin(%d)", int(b))
}

// BeginIdem claims (tenant, key) for a request, atomically: of any number of
// concurrent calls with one key, exactly one gets Started (or Resumed). ttl
// is how long a finished record is kept (a record in flight is never
// expired). The returned record is the one stored.
func (s *Store) BeginIdem(ctx context.Context, in Idem, ttl time.Duration) (Begin, *Idem, error) {
	now := s.now()
	// A retry of a finished or running request is answered from a read:
	// those records change only by expiry (done) or by their own request
	// finishing (sending: a 409 that raced the finish is still true of the
	// moment it was read). A claim, an expired record and a resume take
	// the write transaction below.
	if cur, err := getIdem(ctx, s.db, in.Tenant, in.Key); err == nil && (cur.State == IdemSending || !cur.ExpiresAt.Before(now)) {
		switch {
		case cur.Scope != in.Scope || cur.BodyHash != in.BodyHash:
			return Mismatch, cur, nil
		case cur.State == IdemDone:
			return Replay, cur, nil
		case cur.State == IdemSending:
			return InFlight, cur, nil
		}
	}
	var verdict Begin
	var out *Idem
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// An expired finished record frees its key.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE tenant = ? AND key = ? AND state != ? AND expires_at < ?`,
			in.Tenant, in.Key, IdemSending, nanos(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency (tenant, key, scope, body_hash, state, recovery, created_at, updated_at, expires_at, ttl)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, key) DO NOTHING`,
			in.Tenant, in.Key, in.Scope, in.BodyHash, IdemSending, in.Recovery, nanos(now), nanos(now), nanos(now.Add(ttl)), int64(ttl))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			verdict = Started
			rec := in
			rec.State, rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt = IdemSending, now, now, now.Add(ttl)
			out = &rec
			return nil
		}
		cur, err := getIdem(ctx, tx, in.Tenant, in.Key)
		if err != nil {
			return err
		}
		out = cur
		switch {
		case cur.Scope != in.Scope || cur.BodyHash != in.BodyHash:
			verdict = Mismatch
		case cur.State == IdemDone:
			verdict = Replay
		case cur.State == IdemFailed:
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency SET state = ?, updated_at = ? WHERE tenant = ? AND key = ?`,
				IdemSending, nanos(now), in.Tenant, in.Key); err != nil {
				return err
			}
			cur.State, cur.UpdatedAt = IdemSending, now
			verdict = Resumed
		default:
			verdict = InFlight
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("order store: idempotency key: %w", err)
	}
	return verdict, out, nil
}

func getIdem(ctx context.Context, q querier, tenant, key string) (*Idem, error) {
	var r Idem
	var created, updated, expires int64
	err := q.QueryRowContext(ctx, `SELECT tenant, key, scope, body_hash, state, status, body, resource, recovery, created_at, updated_at, expires_at
		FROM idempotency WHERE tenant = ? AND key = ?`, tenant, key).
		Scan(&r.Tenant, &r.Key, &r.Scope, &r.BodyHash, &r.State, &r.Status, &r.Body, &r.Resource, &r.Recovery, &created, &updated, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = fromNanos(created), fromNanos(updated), fromNanos(expires)
	return &r, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// GetIdem reads a record.
func (s *Store) GetIdem(ctx context.Context, tenant, key string) (*Idem, error) {
	return getIdem(ctx, s.db, tenant, key)
}

// IdemAnswer completes an idempotency record with its first answer.
type IdemAnswer struct {
	Tenant   string
	Key      string
	Status   int
	Body     []byte
	Resource string
}

func completeIdem(ctx context.Context, tx querier, a IdemAnswer, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE idempotency SET state = ?, status = ?, body = ?, resource = ?, updated_at = ?,
		expires_at = ? + ttl WHERE tenant = ? AND key = ?`,
		IdemDone, a.Status, a.Body, a.Resource, nanos(now), nanos(now), a.Tenant, a.Key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("idempotency record %s of tenant %s is gone", a.Key, a.Tenant)
	}
	return nil
}

// CompleteIdem stores a request's answer: later requests with the key
// replay it. The record is kept its time to live from now.
func (s *Store) CompleteIdem(ctx context.Context, a IdemAnswer) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return completeIdem(ctx, tx, a, s.now()) })
}

// ReleaseIdem deletes a record in flight: nothing was done, the key may be
// used again.
func (s *Store) ReleaseIdem(ctx context.Context, tenant, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE tenant = ? AND key = ? AND state = ?`, tenant, key, IdemSending)
	return err
}

// FailIdem marks a record as stopped half-way: a retry with the same body
// resumes (BeginIdem answers Resumed) within its time to live from now.
// resource names what was started.
func (s *Store) FailIdem(ctx context.Context, tenant, key, resource string) error {
	now := nanos(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE idempotency SET state = ?, resource = ?, updated_at = ?, expires_at = ? + ttl
		WHERE tenant = ? AND key = ?`, IdemFailed, resource, now, now, tenant, key)
	return err
}

// SetIdemResource records what a request in flight has started (so a
// recovery can find it).
func (s *Store) SetIdemResource(ctx context.Context, tenant, key, resource string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE idempotency SET resource = ?, updated_at = ? WHERE tenant = ? AND key = ?`,
		resource, nanos(s.now()), tenant, key)
	return err
}

// Sending lists the records in state sending, oldest first: at start, the
// requests a crash interrupted.
func (s *Store) Sending(ctx context.Context) ([]Idem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant, key FROM idempotency WHERE state = ? ORDER BY created_at`, IdemSending)
	if err != nil {
		return nil, err
	}
	var keys [][2]string
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			_ = rows.Close()
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := make([]Idem, 0, len(keys))
	for _, k := range keys {
		r, err := getIdem(ctx, s.db, k[0], k[1])
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// PurgeIdem deletes finished records past their time to live.
func (s *Store) PurgeIdem(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE state != ? AND expires_at < ?`, IdemSending, nanos(s.now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
