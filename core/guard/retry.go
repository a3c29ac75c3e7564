package guard

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// RetrySettings configure retries. Zero values are the defaults.
type RetrySettings struct {
	// Attempts is the most calls for one operation, the first included.
	// Default 3; 1 turns retries off.
	Attempts int
	// Base is the first backoff; each retry doubles it, up to Max, and the
	// wait is drawn at random below that (full jitter). Defaults 100ms, 2s.
	Base time.Duration
	Max  time.Duration
	// Ratio is the retry budget: retries are at most this share of first
	// calls (plus Burst). Default 0.2: at most 20% extra calls.
	Ratio float64
	// Burst is the retries allowed before any first call paid for them.
	// Default 1.
	Burst float64
	// MaxSaved caps the saved-up retries. Default 10.
	MaxSaved float64
}

// WithDefaults fills zero values with the documented defaults.
func (s RetrySettings) WithDefaults() RetrySettings {
	if s.Attempts == 0 {
		s.Attempts = 3
	}
	if s.Base == 0 {
		s.Base = 100 * time.Millisecond
	}
	if s.Max == 0 {
		s.Max = 2 * time.Second
	}
	if s.Ratio == 0 {
		s.Ratio = 0.2
	}
	if s.Burst == 0 {
		s.Burst = 1
	}
	if s.MaxSaved == 0 {
		s.MaxSaved = 10
	}
	return s
}

// safeOps are the operations safe to repeat: they read, or price, and
// change nothing at the provider. Order and trade-in creation are not here:
// the host never repeats them blindly. Nor are batch quotes: the batch
// engine splits and repeats them itself.
var safeOps = map[string]bool{
	rpc.OpQuote:         true,
	rpc.OpCatalogSearch: true,
	rpc.OpCatalogGet:    true,
	rpc.OpOrderGet:      true,
	rpc.OpOrderTrack:    true,
	rpc.OpInspection:    true,
	rpc.OpSettlement:    true,
}

// Safe reports whether an operation may be repeated.
func Safe(op string) bool { return safeOps[op] }

// Retrier decides whether to repeat a failed call and how long to wait,
// within a retry budget shared by every call to one provider.
type Retrier struct {
	s      RetrySettings
	mu     sync.Mutex
	tokens float64
}

// NewRetrier returns a retrier with a full initial burst.
func NewRetrier(s RetrySettings) *Retrier {
	s = s.WithDefaults()
	return &Retrier{s: s, tokens: s.Burst}
}

// Settings returns the settings in force.
func (r *Retrier) Settings() RetrySettings { return r.s }

// First records a first attempt: it pays Ratio of a retry into the budget.
func (r *Retrier) First() {
	r.mu.Lock()
	r.tokens = min(r.tokens+r.s.Ratio, r.s.MaxSaved)
	r.mu.Unlock()
}

// Retry decides whether attempt (1 for the first call) of op, which failed
// with err, is repeated, and after how long. It takes a retry from the
// budget when it says yes. remaining is the time left before the deadline;
// a retry that could not start before it is not made.
func (r *Retrier) Retry(op string, attempt int, err error, remaining time.Duration) (time.Duration, bool) {
	if err == nil || !Safe(op) || attempt >= r.s.Attempts {
		return 0, false
	}
	e := sdk.AsError(err)
	if !e.Retryable {
		return 0, false
	}
	switch e.Code {
	case sdk.CodeUnavailable, sdk.CodeRateLimited, sdk.CodeProviderError, sdk.CodeDeadlineExceeded:
	default:
		return 0, false
	}
	ceiling := r.s.Base << (attempt - 1)
	if ceiling > r.s.Max || ceiling <= 0 {
		ceiling = r.s.Max
	}
	wait := time.Duration(rand.Int64N(int64(ceiling) + 1))
	if e.RetryAfter > wait {
		wait = e.RetryAfter
	}
	if wait >= remaining {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokens < 1 {
		return 0, false
	}
	r.tokens--
	return wait, true
}
