package orderstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the store several host replicas share. Safe for concurrent
// use, in any number of processes.
//
// When the database cannot be reached the store says so at once: the
// first failure marks it down, every call then fails fast with an error
// wrapping ErrUnavailable (no network wait), and a background ping every
// 250 ms marks it up again as soon as it answers. Error texts never hold
// the URL's password.
type Postgres struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	log    *slog.Logger
	secret string // the URL's password, scrubbed from every error

	down    atomic.Bool
	mu      sync.Mutex
	lastErr string
	stop    chan struct{}
	done    chan struct{}
	closeMu sync.Once
}

var _ Store = (*Postgres)(nil)

// migrationLock is the pg_advisory_lock key under which replicas migrate
// one at a time ("recyclegate orderstore" in ASCII, cut to 63 bits).
const migrationLock int64 = 0x7265_6379_636c_6f72

// pingEvery is how often a store marked down tries the database.
const pingEvery = 250 * time.Millisecond

// OpenPostgres connects to the database at dsn (postgres://...), applies
// the migrations this build knows under an advisory lock (replicas that
// start together migrate once), and refuses a schema newer than it knows.
// The database must exist; its tables are created. Of o, Now and MaxConns
// are read.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*Postgres, error) {
	if err := CheckDatabaseURL(dsn); err != nil {
		return nil, fmt.Errorf("order store: database: %w", err)
	}
	secret := ""
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		secret, _ = u.User.Password()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's own text may quote the URL: say what is wrong without it.
		return nil, fmt.Errorf("order store: database %s: not a valid PostgreSQL URL", RedactURL(dsn))
	}
	cfg.MaxConns = 16
	if o.MaxConns > 0 {
		cfg.MaxConns = int32(o.MaxConns)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "recyclegate"
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Postgres{now: now, log: log, secret: secret, stop: make(chan struct{}), done: make(chan struct{})}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("order store: %s", s.scrub(err.Error()))
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	go s.watch()
	return s, nil
}

// migrate applies the pending migrations, one replica at a time.
func (s *Postgres) migrate(ctx context.Context) error {
	ms, err := migrations("postgres")
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("order store: connecting to the database: %s", s.scrub(err.Error()))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("order store: taking the migration lock: %s", s.scrub(err.Error()))
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrationLock)
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("order store: %s", s.scrub(err.Error()))
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("order store: reading the schema version: %s", s.scrub(err.Error()))
	}
	if have > len(ms) {
		return tooNew("postgres", have, len(ms))
	}
	for _, m := range ms[have:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("order store: migration %d (%s): %s", m.version, m.name, s.scrub(err.Error()))
		}
	}
	return nil
}

// watch pings a database marked down until it answers.
func (s *Postgres) watch() {
	defer close(s.done)
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if !s.down.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.pool.Ping(ctx)
		cancel()
		if err == nil {
			s.down.Store(false)
			s.log.Info("the order database answers again")
		}
	}
}

// Kind is "postgres".
func (s *Postgres) Kind() string { return "postgres" }

// Ping checks the database answers.
func (s *Postgres) Ping(ctx context.Context) error {
	if err := s.ready(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.fail(s.pool.Ping(ctx))
}

// Close ends the pool.
func (s *Postgres) Close() error {
	s.closeMu.Do(func() {
		close(s.stop)
		<-s.done
		s.pool.Close()
	})
	return nil
}

// dbError is an error of the database, its text scrubbed of the password.
type dbError struct {
	msg  string
	kind error // ErrUnavailable, or nil
}

func (e *dbError) Error() string { return e.msg }
func (e *dbError) Unwrap() error { return e.kind }

func (s *Postgres) scrub(msg string) string {
	if s.secret != "" {
		msg = strings.ReplaceAll(msg, s.secret, "xxxxx")
		if esc := url.QueryEscape(s.secret); esc != s.secret {
			msg = strings.ReplaceAll(msg, esc, "xxxxx")
		}
	}
	return msg
}

// ready fails fast while the database is marked down.
func (s *Postgres) ready() error {
	if !s.down.Load() {
		return nil
	}
	s.mu.Lock()
	last := s.lastErr
	s.mu.Unlock()
	return &dbError{msg: ErrUnavailable.Error() + " (" + last + ")", kind: ErrUnavailable}
}

// fail turns a pgx error into the store's: ErrNotFound for no rows, the
// context's own error, a scrubbed query error, or, for anything that
// means the server cannot be reached, ErrUnavailable (and the store is
// marked down until a ping answers).
func (s *Postgres) fail(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrStale) || errors.Is(err, ErrBadCursor) {
		return err
	}
	var de *dbError
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if s.down.Load() {
			return s.ready()
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && !serverGone(pe.Code) {
		return &dbError{msg: s.scrub(pe.Error())}
	}
	msg := s.scrub(err.Error())
	s.mu.Lock()
	s.lastErr = msg
	s.mu.Unlock()
	if !s.down.Swap(true) {
		s.pool.Reset() // the pool's connections are to a server that is gone
		s.log.Warn("the order database cannot be reached: order, trade-in and audit requests are refused (503) until it answers; it is tried every 250ms", "error", msg)
	}
	return &dbError{msg: ErrUnavailable.Error() + ": " + msg, kind: ErrUnavailable}
}

// serverGone reports whether a server error means the server is going
// away or not taking work: connection exceptions (08), operator
// intervention (57P: shutdown, crash, starting up) and too many
// connections (53300).
func serverGone(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
}

// tx runs f in one transaction, committing when it returns nil.
func (s *Postgres) tx(ctx context.Context, f func(pgx.Tx) error) error {
	if err := s.ready(); err != nil {
		return err
	}
	return s.fail(pgx.BeginFunc(ctx, s.pool, f))
}

// exec runs one statement and answers the rows it touched.
func (s *Postgres) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if err := s.ready(); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return 0, s.fail(err)
	}
	return tag.RowsAffected(), nil
}

// dollar numbers placeholders $1, $2, ...
func dollar() func() string {
	n := 0
	return func() string {
		n++
		return "$" + strconv.Itoa(n)
	}
}

type pgQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ---- idempotency

// BeginIdem claims (tenant, key) for a request (see Store).
func (s *Postgres) BeginIdem(ctx context.Context, in Idem, ttl, lease time.Duration) (Begin, *Idem, error) {
	if err := s.ready(); err != nil {
		return 0, nil, err
	}
	now := s.now()
	// A new key (or one whose finished record expired) is claimed by one
	// statement, one round trip: the common case of a create.
	var claimed bool
	err := s.pool.QueryRow(ctx, `INSERT INTO idempotency AS i (tenant, key, scope, body_hash, state, recovery, owner, lease_until, created_at, updated_at, expires_at, ttl)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)
		ON CONFLICT (tenant, key) DO UPDATE SET scope = excluded.scope, body_hash = excluded.body_hash, state = excluded.state, status = 0, body = NULL,
			resource = '', recovery = excluded.recovery, owner = excluded.owner, lease_until = excluded.lease_until, created_at = excluded.created_at,
			updated_at = excluded.updated_at, expires_at = excluded.expires_at, ttl = excluded.ttl
		WHERE i.state <> $5 AND i.expires_at < $9
		RETURNING true`,
		in.Tenant, in.Key, in.Scope, in.BodyHash, IdemSending, in.Recovery, in.Owner, nanos(now.Add(lease)), nanos(now), nanos(now.Add(ttl)), int64(ttl)).Scan(&claimed)
	switch {
	case err == nil:
		rec := in
		rec.State, rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt, rec.LeaseUntil = IdemSending, now, now, now.Add(ttl), now.Add(lease)
		return Started, &rec, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, nil, s.fail(err)
	}
	// The key has a live record: a replay, a request in flight, another
	// body, or a request to resume.
	cur, err := pgGetIdem(ctx, s.pool, in.Tenant, in.Key, false)
	if err == nil {
		if v := verdict(cur, in); v != Resumed {
			return v, cur, nil
		}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, s.fail(err)
	}
	var v Begin
	var out *Idem
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency WHERE tenant = $1 AND key = $2 AND state <> $3 AND expires_at < $4`,
			in.Tenant, in.Key, IdemSending, nanos(now)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency (tenant, key, scope, body_hash, state, recovery, owner, lease_until, created_at, updated_at, expires_at, ttl)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) ON CONFLICT (tenant, key) DO NOTHING`,
			in.Tenant, in.Key, in.Scope, in.BodyHash, IdemSending, in.Recovery, in.Owner, nanos(now.Add(lease)), nanos(now), nanos(now.Add(ttl)), int64(ttl))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			v = Started
			rec := in
			rec.State, rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt, rec.LeaseUntil = IdemSending, now, now, now.Add(ttl), now.Add(lease)
			out = &rec
			return nil
		}
		// The row lock makes a resume one replica's.
		cur, err := pgGetIdem(ctx, tx, in.Tenant, in.Key, true)
		if err != nil {
			return err
		}
		out, v = cur, verdict(cur, in)
		if v == Resumed {
			if _, err := tx.Exec(ctx, `UPDATE idempotency SET state = $1, owner = $2, lease_until = $3, updated_at = $4 WHERE tenant = $5 AND key = $6`,
				IdemSending, in.Owner, nanos(now.Add(lease)), nanos(now), in.Tenant, in.Key); err != nil {
				return err
			}
			cur.State, cur.Owner, cur.LeaseUntil, cur.UpdatedAt = IdemSending, in.Owner, now.Add(lease), now
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return v, out, nil
}

func pgGetIdem(ctx context.Context, q pgQuerier, tenant, key string, lock bool) (*Idem, error) {
	sql := `SELECT ` + idemCols + ` FROM idempotency WHERE tenant = $1 AND key = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	return scanIdem(q.QueryRow(ctx, sql, tenant, key))
}

// GetIdem reads a record.
func (s *Postgres) GetIdem(ctx context.Context, tenant, key string) (*Idem, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	r, err := pgGetIdem(ctx, s.pool, tenant, key, false)
	return r, s.fail(err)
}

func pgCompleteIdem(ctx context.Context, tx pgx.Tx, a IdemAnswer, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE idempotency SET state = $1, status = $2, body = $3, resource = $4, updated_at = $5,
		lease_until = 0, expires_at = $5 + ttl WHERE tenant = $6 AND key = $7`,
		IdemDone, a.Status, a.Body, a.Resource, nanos(now), a.Tenant, a.Key)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return &dbError{msg: fmt.Sprintf("idempotency record %s of tenant %s is gone", a.Key, a.Tenant)}
	}
	return nil
}

// CompleteIdem stores a request's answer.
func (s *Postgres) CompleteIdem(ctx context.Context, a IdemAnswer) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return pgCompleteIdem(ctx, tx, a, s.now()) })
}

// ReleaseIdem deletes a record in flight.
func (s *Postgres) ReleaseIdem(ctx context.Context, tenant, key string) error {
	_, err := s.exec(ctx, `DELETE FROM idempotency WHERE tenant = $1 AND key = $2 AND state = $3`, tenant, key, IdemSending)
	return err
}

// FailIdem marks a record as stopped half-way.
func (s *Postgres) FailIdem(ctx context.Context, tenant, key, resource string) error {
	_, err := s.exec(ctx, `UPDATE idempotency SET state = $1, resource = $2, updated_at = $3, lease_until = 0, expires_at = $3 + ttl
		WHERE tenant = $4 AND key = $5`, IdemFailed, resource, nanos(s.now()), tenant, key)
	return err
}

// SetIdemResource records what a request in flight has started.
func (s *Postgres) SetIdemResource(ctx context.Context, tenant, key, resource string) error {
	_, err := s.exec(ctx, `UPDATE idempotency SET resource = $1, updated_at = $2 WHERE tenant = $3 AND key = $4`,
		resource, nanos(s.now()), tenant, key)
	return err
}

// RenewIdem extends the leases of owner's records in flight among keys.
func (s *Postgres) RenewIdem(ctx context.Context, owner string, keys []IdemKey, lease time.Duration) error {
	if len(keys) == 0 {
		return nil
	}
	tenants, ks := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		tenants[i], ks[i] = k.Tenant, k.Key
	}
	_, err := s.exec(ctx, `UPDATE idempotency i SET lease_until = $1 FROM unnest($2::text[], $3::text[]) AS k(tenant, key)
		WHERE i.tenant = k.tenant AND i.key = k.key AND i.state = $4 AND i.owner = $5`,
		nanos(s.now().Add(lease)), tenants, ks, IdemSending, owner)
	return err
}

// ClaimSending takes over records in flight whose lease ended (see Store).
func (s *Postgres) ClaimSending(ctx context.Context, owner string, lease time.Duration, limit int) ([]Idem, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	now := s.now()
	rows, err := s.pool.Query(ctx, `UPDATE idempotency SET owner = $1, lease_until = $2
		WHERE (tenant, key) IN (SELECT tenant, key FROM idempotency WHERE state = $3 AND (lease_until <= $4 OR owner = $1)
			ORDER BY created_at LIMIT $5 FOR UPDATE SKIP LOCKED)
		RETURNING `+idemCols, owner, nanos(now.Add(lease)), IdemSending, nanos(now), limit)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Idem, error) {
		i, err := scanIdem(r)
		if err != nil {
			return Idem{}, err
		}
		return *i, nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	// Oldest first, as the subquery chose them.
	sortIdems(out)
	return out, nil
}

func sortIdems(r []Idem) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].CreatedAt.Before(r[j-1].CreatedAt); j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// ListSending lists records in flight without claiming them.
func (s *Postgres) ListSending(ctx context.Context, tenant string, limit int) ([]Idem, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+idemCols+` FROM idempotency WHERE state = $1 AND ($2 = '' OR tenant = $2)
		ORDER BY created_at LIMIT $3`, IdemSending, tenant, limit)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Idem, error) {
		i, err := scanIdem(r)
		if err != nil {
			return Idem{}, err
		}
		return *i, nil
	})
	return out, s.fail(err)
}

// PurgeIdem deletes finished records past their time to live.
func (s *Postgres) PurgeIdem(ctx context.Context) (int64, error) {
	return s.exec(ctx, `DELETE FROM idempotency WHERE state <> $1 AND expires_at < $2`, IdemSending, nanos(s.now()))
}

// ---- orders

// InsertOrder records a new order (see Store). The common case, a new
// order, is one round trip: the transaction is sent as one pipeline.
func (s *Postgres) InsertOrder(ctx context.Context, o *Order, done *IdemAnswer) (rec *Order, existed bool, err error) {
	if err := s.ready(); err != nil {
		return nil, false, err
	}
	now := s.now()
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`INSERT INTO orders (id, tenant, provider, provider_order_id, quote_id, state, provider_state, open, data,
		idempotency_key, created_at, updated_at, next_poll_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (provider, provider_order_id) DO NOTHING`,
		o.ID, o.Tenant, o.Provider, o.ProviderOrderID, o.QuoteID, o.State, o.ProviderState, o.Open, o.Data,
		o.IdempotencyKey, nanos(o.CreatedAt), nanos(o.UpdatedAt), nanos(o.NextPollAt))
	for i, c := range o.History {
		// Only when the order above was inserted (its id is new).
		b.Queue(`INSERT INTO order_history (order_id, seq, state, provider_state, at)
			SELECT $1::text, $2::int, $3::text, $4::text, $5::bigint WHERE EXISTS (SELECT 1 FROM orders WHERE id = $1::text)`,
			o.ID, i+1, c.State, c.ProviderState, nanos(c.At))
	}
	if done != nil {
		// A record that is gone fails the statement (1/0), and with it the
		// transaction: the order is not recorded without its key.
		b.Queue(`WITH u AS (UPDATE idempotency SET state = $1, status = $2, body = $3, resource = $4, updated_at = $5,
			lease_until = 0, expires_at = $5 + ttl WHERE tenant = $6 AND key = $7 RETURNING 1)
			SELECT 1 / (SELECT COUNT(*)::int FROM u)`,
			IdemDone, done.Status, done.Body, done.Resource, nanos(now), done.Tenant, done.Key)
	}
	b.Queue(`COMMIT`)
	err = func() error {
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil { // BEGIN
			return err
		}
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		existed = tag.RowsAffected() == 0
		for range o.History {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		if done != nil {
			if _, err := br.Exec(); err != nil {
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "22012" {
					return &dbError{msg: fmt.Sprintf("idempotency record %s of tenant %s is gone", done.Key, done.Tenant)}
				}
				return err
			}
		}
		_, err = br.Exec() // COMMIT
		return err
	}()
	if err != nil {
		// A failed pipeline leaves its connection in the aborted
		// transaction; the pool closes such a connection rather than reuse
		// it, so nothing of it is committed.
		return nil, false, s.fail(err)
	}
	if !existed {
		c := *o
		c.History = numbered(o.History, 0)
		return &c, false, nil
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM orders WHERE provider = $1 AND provider_order_id = $2`, o.Provider, o.ProviderOrderID).Scan(&id); err != nil {
		return nil, false, s.fail(err)
	}
	rec, err = pgGetOrder(ctx, s.pool, "", id)
	if err != nil {
		return nil, false, s.fail(err)
	}
	return rec, true, nil
}

func pgGetOrder(ctx context.Context, q pgQuerier, tenant, id string) (*Order, error) {
	sql := `SELECT ` + orderCols + ` FROM orders WHERE id = $1`
	args := []any{id}
	if tenant != "" {
		sql += ` AND tenant = $2`
		args = append(args, tenant)
	}
	o, err := scanOrder(q.QueryRow(ctx, sql, args...))
	if err != nil {
		return nil, err
	}
	if o.History, err = pgHistory(ctx, q, o.ID); err != nil {
		return nil, err
	}
	return o, nil
}

func pgHistory(ctx context.Context, q pgQuerier, id string) ([]Change, error) {
	rows, err := q.Query(ctx, `SELECT seq, state, provider_state, at FROM order_history WHERE order_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Change, error) {
		var c Change
		var at int64
		err := r.Scan(&c.Seq, &c.State, &c.ProviderState, &at)
		c.At = fromNanos(at)
		return c, err
	})
}

// GetOrder reads a tenant's order.
func (s *Postgres) GetOrder(ctx context.Context, tenant, id string) (*Order, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	o, err := pgGetOrder(ctx, s.pool, tenant, id)
	return o, s.fail(err)
}

// OrderByProvider reads an order by the provider's order number.
func (s *Postgres) OrderByProvider(ctx context.Context, provider, providerOrderID string) (*Order, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM orders WHERE provider = $1 AND provider_order_id = $2`, provider, providerOrderID).Scan(&id); err != nil {
		return nil, s.fail(err)
	}
	o, err := pgGetOrder(ctx, s.pool, "", id)
	return o, s.fail(err)
}

// ListOrders lists a tenant's orders, newest first.
func (s *Postgres) ListOrders(ctx context.Context, f Filter) ([]Order, string, error) {
	query, args, limit, err := listQuery(f, dollar())
	if err != nil {
		return nil, "", err
	}
	if err := s.ready(); err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, "", s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) {
		o, err := scanOrder(r)
		if err != nil {
			return Order{}, err
		}
		return *o, nil
	})
	if err != nil {
		return nil, "", s.fail(err)
	}
	out, next := page(out, limit)
	return out, next, nil
}

// ClaimDueOrders takes open orders due for a poll (see Store).
func (s *Postgres) ClaimDueOrders(ctx context.Context, now, next time.Time, limit int) ([]Order, error) {
	var out []Order
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE orders SET next_poll_at = $1
			WHERE id IN (SELECT id FROM orders WHERE open AND next_poll_at <= $2 ORDER BY next_poll_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING `+orderCols, nanos(next), nanos(now), limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) {
			o, err := scanOrder(r)
			if err != nil {
				return Order{}, err
			}
			return *o, nil
		})
		if err != nil {
			return err
		}
		for i := range out {
			if out[i].History, err = pgHistory(ctx, tx, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortOrders(out)
	return out, nil
}

func sortOrders(o []Order) {
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && (o[j].CreatedAt.Before(o[j-1].CreatedAt) || (o[j].CreatedAt.Equal(o[j-1].CreatedAt) && o[j].ID < o[j-1].ID)); j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

// UpdateOrder writes a poll's outcome (see Store).
func (s *Postgres) UpdateOrder(ctx context.Context, u Update) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// The row lock orders concurrent updates of one order; the history's
		// length, read under it, refuses a stale one.
		tag, err := tx.Exec(ctx, `UPDATE orders SET state = $1, provider_state = $2, open = $3, data = $4, updated_at = $5, next_poll_at = $6 WHERE id = $7`,
			u.State, u.ProviderState, u.Open, u.Data, nanos(u.UpdatedAt), nanos(u.NextPollAt), u.OrderID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return ErrNotFound
		}
		var last int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM order_history WHERE order_id = $1`, u.OrderID).Scan(&last); err != nil {
			return err
		}
		if last != u.HistoryLen {
			return ErrStale
		}
		b := &pgx.Batch{}
		for i, c := range u.NewChanges {
			b.Queue(`INSERT INTO order_history (order_id, seq, state, provider_state, at) VALUES ($1, $2, $3, $4, $5)`,
				u.OrderID, last+i+1, c.State, c.ProviderState, nanos(c.At))
		}
		for _, e := range u.Events {
			b.Queue(`INSERT INTO outbox (tenant, order_id, type, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				e.Tenant, e.OrderID, e.Type, e.Payload, nanos(e.CreatedAt), nanos(e.NextAttemptAt))
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// SetNextPoll moves an order's next poll.
// OpenCounts counts the open orders by provider and state.
func (s *Postgres) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT provider, state, COUNT(*) FROM orders WHERE open GROUP BY provider, state`)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenCount, error) {
		var c OpenCount
		err := r.Scan(&c.Provider, &c.State, &c.N)
		return c, err
	})
	return out, s.fail(err)
}

// SetNextPoll moves an order's next poll.
func (s *Postgres) SetNextPoll(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE orders SET next_poll_at = $1 WHERE id = $2`, nanos(at), id)
	return err
}

// ---- outbox

// ClaimEvents takes the due head event of each order (see Store).
func (s *Postgres) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Event, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `UPDATE outbox SET lease_until = $1, claimed_by = $2
		WHERE id IN (SELECT id FROM outbox o WHERE delivered_at IS NULL
			AND id = (SELECT MIN(id) FROM outbox p WHERE p.order_id = o.order_id AND p.delivered_at IS NULL)
			AND next_attempt_at <= $3 AND lease_until <= $3 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+eventCols, nanos(now.Add(lease)), owner, nanos(now), limit)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, s.fail(err)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// MarkDelivered records a 2xx answer to an event.
func (s *Postgres) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = '', lease_until = 0
		WHERE id = $2 AND delivered_at IS NULL`, nanos(at), id)
	return err
}

// MarkAttemptFailed records a failed delivery and when to try again.
func (s *Postgres) MarkAttemptFailed(ctx context.Context, id int64, next time.Time, errText string) error {
	_, err := s.exec(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, lease_until = 0
		WHERE id = $3 AND delivered_at IS NULL`, nanos(next), errText, id)
	return err
}

// PendingEvents counts undelivered events.
func (s *Postgres) PendingEvents(ctx context.Context) (int64, error) {
	if err := s.ready(); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&n)
	return n, s.fail(err)
}

// ListEvents lists a tenant's order's webhook events (see Store).
func (s *Postgres) ListEvents(ctx context.Context, tenant, orderID string, limit int) ([]Event, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+listEventCols+` FROM outbox WHERE order_id = $1 AND tenant = $2 ORDER BY id LIMIT $3`, orderID, tenant, limit)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) { return scanListedEvent(r) })
	return out, s.fail(err)
}

// ---- audit

var auditColumns = []string{"at", "tenant", "provider", "op", "outcome", "latency_us", "policy_revision", "detail"}

// AppendAudit writes entries in one COPY.
func (s *Postgres) AppendAudit(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	if err := s.ready(); err != nil {
		return err
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"audit"}, auditColumns, pgx.CopyFromSlice(len(es), func(i int) ([]any, error) {
		e := es[i]
		return []any{nanos(e.At), e.Tenant, e.Provider, e.Op, e.Outcome, e.Latency.Microseconds(), e.PolicyRevision, e.Detail}, nil
	}))
	return s.fail(err)
}

// QueryAudit lists entries, newest first.
func (s *Postgres) QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	q, args := auditQuery(f, dollar())
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) { return scanAudit(r) })
	return out, s.fail(err)
}

// PurgeAudit deletes entries older than before.
func (s *Postgres) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	return s.exec(ctx, `DELETE FROM audit WHERE at < $1`, nanos(before))
}

// ---- trade-ins

// PutTradeIn inserts or replaces a trade-in record (see Store).
func (s *Postgres) PutTradeIn(ctx context.Context, t *TradeIn, done *IdemAnswer) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tradeins (id, tenant, idempotency_key, state, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at`,
			t.ID, t.Tenant, t.IdempotencyKey, t.State, t.Data, nanos(t.CreatedAt), nanos(t.UpdatedAt)); err != nil {
			return err
		}
		if done != nil {
			return pgCompleteIdem(ctx, tx, *done, s.now())
		}
		return nil
	})
}

// GetTradeIn reads a tenant's trade-in.
func (s *Postgres) GetTradeIn(ctx context.Context, tenant, id string) (*TradeIn, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	var t TradeIn
	var created, updated int64
	err := s.pool.QueryRow(ctx, `SELECT id, tenant, idempotency_key, state, data, created_at, updated_at FROM tradeins WHERE id = $1 AND tenant = $2`, id, tenant).
		Scan(&t.ID, &t.Tenant, &t.IdempotencyKey, &t.State, &t.Data, &created, &updated)
	if err != nil {
		return nil, s.fail(err)
	}
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &t, nil
}
