package orderstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Store is the contract of the order side's database: core/orders uses
// nothing else. SQLite (OpenSQLite, one host process) and PostgreSQL
// (OpenPostgres, any number of replicas) implement it, and both pass the
// suite in package orderstore/storetest.
//
// Whatever several replicas may do at once is decided in the database:
// a key is claimed by one INSERT; a record in flight belongs to its owner
// until its lease ends; due orders and webhook events are claimed (their
// next poll moved, a lease taken) in the statement that finds them, so
// two replicas never take the same one. An error that means the database
// cannot be reached wraps ErrUnavailable.
type Store interface {
	// Kind is "sqlite" or "postgres".
	Kind() string
	// Ping checks the database answers; an error wraps ErrUnavailable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error

	// BeginIdem claims (tenant, key) for a request, atomically: of any
	// number of concurrent calls with one key, on any replicas, exactly
	// one gets Started (or Resumed), and holds the record for in.Owner
	// for lease (renewed with RenewIdem). ttl is how long a finished
	// record is kept; a record in flight never expires. The returned
	// record is the one stored.
	BeginIdem(ctx context.Context, in Idem, ttl, lease time.Duration) (Begin, *Idem, error)
	// GetIdem reads a record.
	GetIdem(ctx context.Context, tenant, key string) (*Idem, error)
	// CompleteIdem stores a request's answer: later requests with the key
	// replay it. The record is kept its time to live from now.
	CompleteIdem(ctx context.Context, a IdemAnswer) error
	// ReleaseIdem deletes a record in flight: nothing was done, the key
	// may be used again.
	ReleaseIdem(ctx context.Context, tenant, key string) error
	// FailIdem marks a record as stopped half-way: a retry with the same
	// body resumes (BeginIdem answers Resumed) within its time to live.
	// resource names what was started.
	FailIdem(ctx context.Context, tenant, key, resource string) error
	// SetIdemResource records what a request in flight has started (so a
	// recovery can find it).
	SetIdemResource(ctx context.Context, tenant, key, resource string) error
	// RenewIdem extends to now+lease the leases of owner's records in
	// flight among keys.
	RenewIdem(ctx context.Context, owner string, keys []IdemKey, lease time.Duration) error
	// ClaimSending takes over, for owner and for lease, up to limit
	// records in flight whose lease has ended or that owner already
	// holds, oldest first: the requests a dead replica (or a crash)
	// interrupted. A replica skips those of its own it is still running.
	ClaimSending(ctx context.Context, owner string, lease time.Duration, limit int) ([]Idem, error)
	// PurgeIdem deletes finished records past their time to live.
	PurgeIdem(ctx context.Context) (int64, error)
	// ListSending lists up to limit records in flight, oldest first, of
	// one tenant ("": every tenant), without claiming them: the requests
	// running now and those whose outcome is being settled (in doubt).
	ListSending(ctx context.Context, tenant string, limit int) ([]Idem, error)

	// InsertOrder records a new order with its first history and, when
	// done is not nil, completes the idempotency record that created it,
	// in one transaction. When the provider's order is already recorded
	// (a recovery raced an answer), nothing is inserted and the recorded
	// order is returned with existed true; done still completes the key.
	InsertOrder(ctx context.Context, o *Order, done *IdemAnswer) (rec *Order, existed bool, err error)
	// GetOrder reads a tenant's order (ErrNotFound when it is another's).
	GetOrder(ctx context.Context, tenant, id string) (*Order, error)
	// OrderByProvider reads an order by the provider's order number.
	OrderByProvider(ctx context.Context, provider, providerOrderID string) (*Order, error)
	// ListOrders lists a tenant's orders, newest first, with the cursor of
	// the next page ("" at the end). History is not loaded.
	ListOrders(ctx context.Context, f Filter) ([]Order, string, error)
	// ClaimDueOrders takes up to limit open orders due for a poll at now,
	// the longest waiting first, and moves their next poll to next in the
	// same statement: across replicas an order is handed out once per
	// interval.
	ClaimDueOrders(ctx context.Context, now, next time.Time, limit int) ([]Order, error)
	// UpdateOrder writes a poll's outcome: the order's state, new history
	// rows and webhook events, in one transaction (ErrStale when the
	// history grew since u was computed).
	UpdateOrder(ctx context.Context, u Update) error
	// SetNextPoll moves an order's next poll.
	SetNextPoll(ctx context.Context, id string, at time.Time) error
	// OpenCounts counts the open orders by provider and state: what the
	// polling share is spread over.
	OpenCounts(ctx context.Context) ([]OpenCount, error)

	// ClaimEvents takes, for owner and for lease, up to limit webhook
	// events: of each order with undelivered events the oldest, when it is
	// due at now and no replica holds it. Delivery is in order per order,
	// and one replica at a time delivers an event; an event whose replica
	// died is taken again when its lease ends.
	ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Event, error)
	// MarkDelivered records a 2xx answer to an event.
	MarkDelivered(ctx context.Context, id int64, at time.Time) error
	// MarkAttemptFailed records a failed delivery and when to try again.
	MarkAttemptFailed(ctx context.Context, id int64, next time.Time, errText string) error
	// PendingEvents counts undelivered events.
	PendingEvents(ctx context.Context) (int64, error)
	// ListEvents lists up to limit webhook events of a tenant's order,
	// delivered or not, oldest first (DeliveredAt zero while undelivered):
	// the order's webhook deliveries. Another tenant's order has none.
	ListEvents(ctx context.Context, tenant, orderID string, limit int) ([]Event, error)

	// AppendAudit writes entries in one transaction.
	AppendAudit(ctx context.Context, es []AuditEntry) error
	// QueryAudit lists entries, newest first.
	QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// PurgeAudit deletes entries older than before.
	PurgeAudit(ctx context.Context, before time.Time) (int64, error)

	// AppendDecisions writes recorded policy decisions in one transaction.
	AppendDecisions(ctx context.Context, ds []DecisionRecord) error
	// QueryDecisions lists recorded decisions, newest first.
	QueryDecisions(ctx context.Context, f DecisionFilter) ([]DecisionRecord, error)
	// TrimDecisions keeps at most the newest keep decisions, deleting the
	// older ones, and says how many it deleted.
	TrimDecisions(ctx context.Context, keep int64) (int64, error)
	// PurgeDecisions deletes decisions older than before.
	PurgeDecisions(ctx context.Context, before time.Time) (int64, error)

	// PutTradeIn inserts or replaces a trade-in record (a step's
	// progress); when done is not nil the idempotency record is completed
	// in the same transaction.
	PutTradeIn(ctx context.Context, t *TradeIn, done *IdemAnswer) error
	// GetTradeIn reads a tenant's trade-in (ErrNotFound when it is another's).
	GetTradeIn(ctx context.Context, tenant, id string) (*TradeIn, error)
}

// Options configure a store.
type Options struct {
	// Database is where the records live: empty for SQLite in Dir, or a
	// postgres:// URL (PostgreSQL, shared by replicas).
	Database string
	// Dir holds orders.db (SQLite); empty keeps a SQLite store in memory.
	Dir string
	// Now is the store's clock (expiry of idempotency records, leases).
	// Default time.Now.
	Now func() time.Time
	// MaxConns bounds the PostgreSQL pool. Default 16.
	MaxConns int
	// Logger hears the PostgreSQL store go down and come back. Default
	// slog.Default().
	Logger *slog.Logger
}

// Open opens the store Options names: PostgreSQL for a postgres:// URL,
// else SQLite in Dir.
func Open(ctx context.Context, o Options) (Store, error) {
	if o.Database == "" {
		return OpenSQLite(o.Dir, o)
	}
	return OpenPostgres(ctx, o.Database, o)
}

// CheckDatabaseURL checks a database setting without echoing it (it holds
// a password): empty, or a postgres:// or postgresql:// URL with a host and
// a database name.
func CheckDatabaseURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL; want postgres://user:password@host:5432/dbname")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q: want postgres://user:password@host:5432/dbname", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("no host; want postgres://user:password@host:5432/dbname")
	}
	if strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("no database name; want postgres://user:password@host:5432/dbname")
	}
	return nil
}

// RedactURL is a database URL fit for a log line: the password replaced.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

// migration is one versioned schema change, from migrations/<kind>/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

//go:embed migrations
var migrationFiles embed.FS

// migrations lists kind's migrations, in version order.
func migrations(kind string) ([]migration, error) {
	dir := path.Join("migrations", kind)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d where %d was expected", kind, m.version, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the newest schema this build knows for a store kind
// ("sqlite", "postgres").
func SchemaVersion(kind string) int {
	ms, err := migrations(kind)
	if err != nil {
		return 0
	}
	return len(ms)
}

// tooNew is the error of a database migrated by a newer build.
func tooNew(kind string, have, known int) error {
	return fmt.Errorf("order store (%s): the database schema is at version %d, and this host knows versions up to %d: a newer recyclegate migrated it; run that version (or newer) on every replica, never an older one", kind, have, known)
}
