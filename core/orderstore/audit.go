package orderstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
