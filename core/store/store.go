package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Period says when a counter starts again from zero.
type Period uint8

// The periods. Days and months are those of China Standard Time (UTC+8):
// a daily counter resets at 00:00 in Beijing, whatever the host's zone.
const (
	Day   Period = iota + 1 // resets at 00:00 China time
	Month                   // resets at 00:00 China time on the 1st
	Total                   // never resets
)

// chinaTime is UTC+8 without daylight saving (sdk.ChinaTime; this package
// keeps its own copy to stay free of other imports).
var chinaTime = time.FixedZone("CST", 8*60*60)

func (p Period) String() string {
	switch p {
	case Day:
		return "day"
	case Month:
		return "month"
	case Total:
		return "total"
	}
	return fmt.Sprintf("period(%d)", uint8(p))
}

// code is the period's letter in keys and in the Lua scripts.
func (p Period) code() string {
	switch p {
	case Day:
		return "d"
	case Month:
		return "m"
	}
	return "t"
}

// Suffix is what the period adds to a counter's key at t: "d20250102",
// "m202501" or "t".
func (p Period) Suffix(t time.Time) string {
	c := t.In(chinaTime)
	switch p {
	case Day:
		return fmt.Sprintf("d%04d%02d%02d", c.Year(), c.Month(), c.Day())
	case Month:
		return fmt.Sprintf("m%04d%02d", c.Year(), c.Month())
	}
	return "t"
}

// End is when the period that holds t ends (the next reset); the zero time
// for Total.
func (p Period) End(t time.Time) time.Time {
	c := t.In(chinaTime)
	switch p {
	case Day:
		return time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, chinaTime)
	case Month:
		return time.Date(c.Year(), c.Month()+1, 1, 0, 0, 0, 0, chinaTime)
	}
	return time.Time{}
}

// keep is how long a counter of the period is kept after it was last
// written: long enough to be read back after its period ends.
func (p Period) keep() time.Duration {
	switch p {
	case Day:
		return 3 * 24 * time.Hour
	case Month:
		return 40 * 24 * time.Hour
	}
	return 0
}

// Counter is one counter a call spends from.
type Counter struct {
	Key    string // without the period, e.g. "quota:aihuishou"
	Period Period
	N      int64 // what Spend adds (Read ignores it); not negative
	Limit  int64 // Spend refuses when the total would pass it; 0: no limit
}

// Reservation is what a Spend added, so it can be given back exactly (to the
// period it was taken from, even after midnight).
type Reservation struct {
	Keys   []string // the counters' keys with their period
	N      []int64  // what was added to each
	Totals []int64  // each counter's total after the spend
}

// LimitError is Spend's refusal: counter Index would pass its limit.
type LimitError struct {
	Index int    // into the counters given to Spend
	Key   string // the counter's key with its period
	Used  int64  // its total before the refused spend
	Limit int64
	N     int64 // what was asked for
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("counter %s: %d used of %d, %d more refused", e.Key, e.Used, e.Limit, e.N)
}

// ErrUnavailable is wrapped by every error of a store that cannot be reached
// or answered nonsense. Callers of quotas and budgets fail closed on it.
var ErrUnavailable = errors.New("state store unavailable")

// Store keeps counters and cached values. Implementations are safe for
// concurrent use.
type Store interface {
	// Spend adds each counter's N to its total for the current period, all
	// or nothing: when one would pass its limit nothing is added and the
	// error is a *LimitError.
	Spend(ctx context.Context, cs []Counter) (Reservation, error)
	// Refund gives back what a Spend added (never below zero).
	Refund(ctx context.Context, r Reservation) error
	// Read returns the counters' totals for the current period.
	Read(ctx context.Context, cs []Counter) ([]int64, error)
	// Get returns a cached value; found is false when absent or expired.
	Get(ctx context.Context, key string) (val []byte, found bool, err error)
	// Set caches a value for ttl.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Kind is "embedded", "memory" or "redis".
	Kind() string
	// Close releases the store.
	Close() error
}

// RateWindow is a rate limit shared by every process using the store: at
// most limit admissions in any window. Only the Redis store has one.
type RateWindow interface {
	// Admit admits one call under key, or says how long to wait before
	// asking again.
	Admit(ctx context.Context, key string, limit int, window time.Duration) (wait time.Duration, err error)
	// Pause admits nothing under key for pause, then half the limit until
	// slowFor has passed (a provider's 429 with Retry-After).
	Pause(ctx context.Context, key string, pause, slowFor time.Duration) error
}

// Options configure Open.
type Options struct {
	// Dir is the embedded store's directory (Config.DataDir).
	Dir string
	// Now is the clock of the embedded and memory stores; default time.Now.
	// The Redis store uses Redis TIME, the one clock of all replicas.
	Now func() time.Time
	// CacheEntries bounds the embedded and memory stores' cache (they keep
	// it in memory). Default 10000.
	CacheEntries int
}

// Open opens the store a URL names: "" (the embedded store in opts.Dir),
// "memory", or "redis://[:password@]host:port/db" (also rediss://).
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	switch {
	case rawURL == "":
		return OpenEmbedded(opts)
	case rawURL == "memory":
		return OpenMemory(opts)
	case strings.HasPrefix(rawURL, "redis://") || strings.HasPrefix(rawURL, "rediss://"):
		return OpenRedis(ctx, rawURL, RedisOptions{})
	}
	return nil, fmt.Errorf("store %q: want empty (embedded, in data_dir), memory, or redis://host:port/db", Redact(rawURL))
}

// Redact removes a password from a store URL, for logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		if err != nil && strings.Contains(rawURL, "@") {
			return "(unparsable store URL)"
		}
		return rawURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}
