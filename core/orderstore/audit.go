package orderstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AuditEntry is one provider call. Detail is JSON the host has already
// masked; this package stores what it is given.
type AuditEntry struct {
	ID             int64
	At             time.Time
	Tenant         string
	Provider       string
	Op             string
	Outcome        string // "ok" or an error code
	Latency        time.Duration
	PolicyRevision string
	Detail         string
}

// AppendAudit writes entries in one transaction.
func (s *Store) AppendAudit(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO audit (at, tenant, provider, op, outcome, latency_us, policy_revision, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range es {
			if _, err := st.ExecContext(ctx, nanos(e.At), e.Tenant, e.Provider, e.Op, e.Outcome, e.Latency.Microseconds(), e.PolicyRevision, e.Detail); err != nil {
				return fmt.Errorf("order store: audit: %w", err)
			}
		}
		return nil
	})
}

// AuditFilter selects a tenant's audit entries. Zero fields do not filter.
type AuditFilter struct {
	Tenant   string
	Provider string
	Op       string
	Outcome  string
	Since    time.Time
	Until    time.Time
	Before   int64 // entries with a smaller id (the next page)
	Limit    int   // default 100
}

// QueryAudit lists entries, newest first.
func (s *Store) QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := `SELECT id, at, tenant, provider, op, outcome, latency_us, policy_revision, detail FROM audit WHERE tenant = ?`
	args := []any{f.Tenant}
	if f.Provider != "" {
		q += ` AND provider = ?`
		args = append(args, f.Provider)
	}
	if f.Op != "" {
		q += ` AND op = ?`
		args = append(args, f.Op)
	}
	if f.Outcome != "" {
		q += ` AND outcome = ?`
		args = append(args, f.Outcome)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, nanos(f.Until))
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at, us int64
		if err := rows.Scan(&e.ID, &at, &e.Tenant, &e.Provider, &e.Op, &e.Outcome, &us, &e.PolicyRevision, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.Latency = fromNanos(at), time.Duration(us)*time.Microsecond
		out = append(out, e)
	}
	return out, rows.Err()
}

// PurgeAudit deletes entries older than before.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, nanos(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
