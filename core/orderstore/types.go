package orderstore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned for a record that does not exist (or belongs to
// another tenant: callers cannot tell the two apart).
var ErrNotFound = errors.New("orderstore: not found")

// ErrUnavailable is wrapped by every error that means the database cannot
// be reached (down, restarting, refusing connections): nothing was
// written, and the same call may succeed once it is back.
var ErrUnavailable = errors.New("the order database is unavailable")

// ErrStale refuses an Update computed from a history that has grown since
// it was read (another poll of the order got there first).
var ErrStale = errors.New("orderstore: the order changed since it was read")

// ErrBadCursor is returned for a cursor this store did not make.
var ErrBadCursor = errors.New("orderstore: malformed cursor")

// States of an idempotency record.
const (
	// IdemSending: written before the provider is called; the request is in
	// flight, or its replica died during it (recovered once its lease ends).
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
	Recovery []byte
	// Owner is the replica running the request (IdemSending), and
	// LeaseUntil when another replica may take it over: the owner renews
	// the lease while it runs; a replica that died stops renewing.
	Owner      string
	LeaseUntil time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  time.Time
}

// IdemKey names an idempotency record.
type IdemKey struct{ Tenant, Key string }

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

// IdemAnswer completes an idempotency record with its first answer.
type IdemAnswer struct {
	Tenant   string
	Key      string
	Status   int
	Body     []byte
	Resource string
}

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

// Update is a poll's outcome for one order.
type Update struct {
	OrderID string
	// HistoryLen is the length of the history the update was computed
	// from: when the order's history has grown since, the update is
	// refused with ErrStale, so two polls never record one change twice.
	HistoryLen    int
	State         string
	ProviderState string
	Open          bool
	Data          []byte
	UpdatedAt     time.Time
	NextPollAt    time.Time
	NewChanges    []Change // appended to the history
	Events        []Event  // enqueued, in order
}

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

func numbered(h []Change, from int) []Change {
	out := make([]Change, len(h))
	for i, c := range h {
		c.Seq = from + i + 1
		out[i] = c
	}
	return out
}

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

// verdict decides BeginIdem for a key whose record exists (not expired):
// the same decision in both stores.
func verdict(cur *Idem, in Idem) Begin {
	switch {
	case cur.Scope != in.Scope || cur.BodyHash != in.BodyHash:
		return Mismatch
	case cur.State == IdemDone:
		return Replay
	case cur.State == IdemFailed:
		return Resumed
	}
	return InFlight
}

// OpenCount is the number of open orders of a provider in a state.
type OpenCount struct {
	Provider string
	State    string
	N        int
}
