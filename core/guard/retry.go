package guard

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// RetrySettings configure retries of operations safe to repeat (quotes,
// catalog look-ups, order reads; never order or trade-in creation): a
// provider's guards.retry block in host.yaml. Zero values are the defaults.
type RetrySettings struct {
	// Attempts is the most calls for one operation, the first included.
	// Default 3; 1 turns retries off.
	Attempts int `yaml:"attempts"`
	// Backoff is the first wait; each retry doubles it, up to MaxBackoff,
	// and the wait is drawn at random below that (full jitter). Defaults
	// 100ms and 2s.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Budget is the share of first calls that may be retried (plus Burst).
	// Default 0.2: at most 20% extra calls.
	Budget float64 `yaml:"budget"`
	// Burst is the retries allowed before any first call paid for them.
	// Default 1.
	Burst float64 `yaml:"-"`
	// MaxSaved caps the saved-up retries. Default 10.
	MaxSaved float64 `yaml:"-"`
}

// WithDefaults fills zero values with the documented defaults.
func (s RetrySettings) WithDefaults() RetrySettings {
	if s.Attempts == 0 {
		s.Attempts = 3
	}
	if s.Backoff == 0 {
		s.Backoff = 100 * time.Millisecond
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = 2 * time.Second
	}
	if s.Budget == 0 {
		s.Budget = 0.2
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
	r.tokens = min(r.tokens+r.s.Budget, r.s.MaxSaved)
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
	ceiling := r.s.Backoff << (attempt - 1)
	if ceiling > r.s.MaxBackoff || ceiling <= 0 {
		ceiling = r.s.MaxBackoff
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
