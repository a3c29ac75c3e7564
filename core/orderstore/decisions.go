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

	"github.com/jackc/pgx/v5"
)

// DecisionRecord is one policy decision recorded for replay. Data is the
// host's encoding (core/policy EncodeRecord), personal data already
// removed; this package stores what it is given.
type DecisionRecord struct {
	ID             int64
	At             time.Time
	Tenant         string
	Kind           string // quote, batch or order
	PolicyRevision string
	Data           []byte
}

// DecisionFilter selects recorded decisions. Zero fields do not filter.
type DecisionFilter struct {
	Tenant string
	Since  time.Time
	Until  time.Time
	Before int64 // decisions with a smaller id (the next page)
	Limit  int   // default 1000
}

// DecisionReader reads recorded decisions: a Store, or a store opened
// read-only (OpenDecisionReader).
type DecisionReader interface {
	// QueryDecisions lists decisions, newest first.
	QueryDecisions(ctx context.Context, f DecisionFilter) ([]DecisionRecord, error)
	Close() error
}

// decisionRowsPerInsert is how many rows one SQLite INSERT writes (6
// variables a row).
const decisionRowsPerInsert = 64

func decisionInsertRows(n int) string {
	return `INSERT INTO policy_decisions (at, tenant, kind, policy_revision, data) VALUES (?, ?, ?, ?, ?)` +
		strings.Repeat(", (?, ?, ?, ?, ?)", n-1)
}

var decisionInsertFull = decisionInsertRows(decisionRowsPerInsert)

// decisionQuery builds QueryDecisions' query; ph returns the next
// placeholder.
func decisionQuery(f DecisionFilter, ph func() string) (string, []any) {
	q := `SELECT id, at, tenant, kind, policy_revision, data FROM policy_decisions WHERE 1 = 1`
	var args []any
	if f.Tenant != "" {
		q += ` AND tenant = ` + ph()
		args = append(args, f.Tenant)
	}
	return pageQuery(q, args, ph, f.Since, f.Until, f.Before, f.Limit, 1000)
}

func scanDecision(sc interface{ Scan(...any) error }) (DecisionRecord, error) {
	var d DecisionRecord
	var at int64
	if err := sc.Scan(&d.ID, &at, &d.Tenant, &d.Kind, &d.PolicyRevision, &d.Data); err != nil {
		return d, err
	}
	d.At = fromNanos(at)
	return d, nil
}

// ---- SQLite

// AppendDecisions writes recorded decisions in one transaction.
func (s *SQLite) AppendDecisions(ctx context.Context, ds []DecisionRecord) error {
	if len(ds) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for len(ds) > 0 {
			n := min(len(ds), decisionRowsPerInsert)
			q := decisionInsertFull
			if n < decisionRowsPerInsert {
				q = decisionInsertRows(n)
			}
			args := make([]any, 0, 5*n)
			for _, d := range ds[:n] {
				args = append(args, nanos(d.At), d.Tenant, d.Kind, d.PolicyRevision, d.Data)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("order store: policy decisions: %w", err)
			}
			ds = ds[n:]
		}
		return nil
	})
}

// QueryDecisions lists decisions, newest first.
func (s *SQLite) QueryDecisions(ctx context.Context, f DecisionFilter) ([]DecisionRecord, error) {
	return sqliteQueryDecisions(ctx, s.db, f)
}

func sqliteQueryDecisions(ctx context.Context, db *sql.DB, f DecisionFilter) ([]DecisionRecord, error) {
	q, args := decisionQuery(f, func() string { return "?" })
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DecisionRecord
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TrimDecisions keeps the newest keep decisions and deletes the older ones.
func (s *SQLite) TrimDecisions(ctx context.Context, keep int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM policy_decisions WHERE id <= (SELECT MAX(id) FROM policy_decisions) - ?`, keep)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PurgeDecisions deletes decisions older than before.
func (s *SQLite) PurgeDecisions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM policy_decisions WHERE at < ?`, nanos(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ---- PostgreSQL

var decisionColumns = []string{"at", "tenant", "kind", "policy_revision", "data"}

// AppendDecisions writes recorded decisions in one COPY.
func (s *Postgres) AppendDecisions(ctx context.Context, ds []DecisionRecord) error {
	if len(ds) == 0 {
		return nil
	}
	if err := s.ready(); err != nil {
		return err
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"policy_decisions"}, decisionColumns, pgx.CopyFromSlice(len(ds), func(i int) ([]any, error) {
		d := ds[i]
		return []any{nanos(d.At), d.Tenant, d.Kind, d.PolicyRevision, d.Data}, nil
	}))
	return s.fail(err)
}

// QueryDecisions lists decisions, newest first.
func (s *Postgres) QueryDecisions(ctx context.Context, f DecisionFilter) ([]DecisionRecord, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	q, args := decisionQuery(f, dollar())
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DecisionRecord, error) { return scanDecision(r) })
	return out, s.fail(err)
}

// TrimDecisions keeps at most the newest keep decisions and deletes the
// older ones. Ids are handed out by every replica in one sequence, with
// gaps: it may keep a few less than keep, never more.
func (s *Postgres) TrimDecisions(ctx context.Context, keep int64) (int64, error) {
	return s.exec(ctx, `DELETE FROM policy_decisions WHERE id <= (SELECT MAX(id) FROM policy_decisions) - $1`, keep)
}

// PurgeDecisions deletes decisions older than before.
func (s *Postgres) PurgeDecisions(ctx context.Context, before time.Time) (int64, error) {
	return s.exec(ctx, `DELETE FROM policy_decisions WHERE at < $1`, nanos(before))
}

// ---- read-only

// sqliteReader reads a data directory's orders.db without writing to it.
type sqliteReader struct{ db *sql.DB }

func (r *sqliteReader) QueryDecisions(ctx context.Context, f DecisionFilter) ([]DecisionRecord, error) {
	return sqliteQueryDecisions(ctx, r.db, f)
}

func (r *sqliteReader) Close() error { return r.db.Close() }

// OpenDecisionReader opens the recorded decisions of a store for reading
// only, beside the host that may be running on it: SQLite's orders.db in
// o.Dir opened read-only (nothing migrated, no lease touched), or the
// PostgreSQL database of o.Database.
func OpenDecisionReader(ctx context.Context, o Options) (DecisionReader, error) {
	if o.Database != "" {
		return OpenPostgres(ctx, o.Database, o)
	}
	if o.Dir == "" {
		return nil, errors.New("order store: no data directory and no database to read")
	}
	path := filepath.Join(o.Dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("order store: %s: %w (is this the host's data_dir?)", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("order store: %w", err)
	}
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'policy_decisions'`).Scan(&n); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("order store %s: %w", path, err)
	}
	if n == 0 {
		_ = db.Close()
		return nil, fmt.Errorf("order store %s: no policy decisions recorded: a host of this version records them from its first start", path)
	}
	return &sqliteReader{db: db}, nil
}
