package guard

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/recyclegate/recyclegate/sdk"
)

// BreakerSettings configure a Breaker: a provider's guards.breaker block
// in host.yaml. Zero values are the defaults.
type BreakerSettings struct {
	// Failures in a row that open the breaker. Default 5.
	Failures uint32 `yaml:"failures"`
	// FailureRatio opens it too: this share of failures among the calls of
	// the last Interval, once there were MinRequests. Default 0.5.
	FailureRatio float64 `yaml:"failure_ratio"`
	// MinRequests before FailureRatio applies. Default 20.
	MinRequests uint32 `yaml:"min_requests"`
	// Interval is the rolling window of the closed state's counts. Default 60s.
	Interval time.Duration `yaml:"interval"`
	// OpenFor is how long the breaker stays open before it lets probes
	// through (half-open). Default 30s.
	OpenFor time.Duration `yaml:"open_for"`
	// Probes are the calls let through while half-open; all must succeed to
	// close it, one failure opens it again. Default 1.
	Probes uint32 `yaml:"probes"`
	// PerOperation gives each operation (quote, catalog.search, ...) of a
	// provider its own breaker. Default false: one breaker for the
	// provider. (Read by whoever makes the breakers, not by NewBreaker.)
	PerOperation bool `yaml:"per_operation"`
}

// WithDefaults fills zero values with the documented defaults.
func (s BreakerSettings) WithDefaults() BreakerSettings {
	if s.Failures == 0 {
		s.Failures = 5
	}
	if s.FailureRatio == 0 {
		s.FailureRatio = 0.5
	}
	if s.MinRequests == 0 {
		s.MinRequests = 20
	}
	if s.Interval == 0 {
		s.Interval = 60 * time.Second
	}
	if s.OpenFor == 0 {
		s.OpenFor = 30 * time.Second
	}
	if s.Probes == 0 {
		s.Probes = 1
	}
	return s
}

// Outcome is what a call tells the breaker.
type Outcome int

// The outcomes.
const (
	Success Outcome = iota // the provider answered (even "not found")
	Failure                // the provider failed: counts toward opening
	Ignore                 // says nothing about the provider (the caller left)
)

// Classify decides what a call's error says about the provider. Failures:
// timeouts of the provider's own deadline, unavailable, provider_error (5xx,
// malformed replies) and rate_limited from the provider. Not failures: the
// caller's own cancellation or deadline (callerDone), and answers to bad
// input (invalid_argument, not_found, unauthenticated, forbidden, ...), which
// show the provider is up.
func Classify(err error, callerDone bool) Outcome {
	if err == nil {
		return Success
	}
	if callerDone {
		return Ignore
	}
	switch sdk.CodeOf(err) {
	case sdk.CodeDeadlineExceeded, sdk.CodeUnavailable, sdk.CodeProviderError, sdk.CodeRateLimited:
		return Failure
	case sdk.CodeCanceled:
		return Ignore
	}
	return Success
}

// ErrOpen is the breaker's refusal (errors.Is). The error a caller sees is
// an *sdk.Error with code unavailable that wraps it.
var ErrOpen = errors.New("circuit breaker open")

var (
	errFailure  = errors.New("failure")
	errExcluded = errors.New("excluded")
)

// Breaker is a circuit breaker (sony/gobreaker) for one provider, or one
// provider operation.
//
// Revive lets an open breaker probe at once, without waiting out OpenFor:
// the host calls it when the provider's process was replaced or answers
// again, so the breaker's verdict on the old one does not hold the new one
// back. It is half-open then, with the same probes as after OpenFor.
type Breaker struct {
	name     string
	s        BreakerSettings
	onChange func(from, to string)
	openedAt atomic.Int64 // unix nanos of the last opening

	mu sync.Mutex
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
	// revived: an open breaker whose provider was revived, half-open
	// until its probes tell (gobreaker cannot be moved to half-open).
	revived bool
	probing uint32 // probes let through while revived
	passed  uint32 // of which succeeded
}

// NewBreaker returns a closed breaker. onChange, if not nil, hears every
// state change ("closed", "half-open", "open"); it must not block.
func NewBreaker(name string, s BreakerSettings, onChange func(from, to string)) *Breaker {
	b := &Breaker{name: name, s: s.WithDefaults(), onChange: onChange}
	b.cb = b.newCB(nil)
	return b
}

// newCB makes the gobreaker. quiet, while set, keeps its state changes
// from onChange.
func (b *Breaker) newCB(quiet *atomic.Bool) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	s := b.s
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         b.name,
		MaxRequests:  s.Probes,
		Interval:     s.Interval,
		BucketPeriod: s.Interval / 6,
		Timeout:      s.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if c.ConsecutiveFailures >= s.Failures {
				return true
			}
			return c.Requests >= s.MinRequests && float64(c.TotalFailures) >= s.FailureRatio*float64(c.Requests)
		},
		IsSuccessful: func(err error) bool { return err == nil },
		IsExcluded:   func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openedAt.Store(time.Now().UnixNano())
			}
			if b.onChange != nil && (quiet == nil || !quiet.Load()) {
				b.onChange(from.String(), to.String())
			}
		},
	})
}

// current is the gobreaker in force and whether the breaker is revived.
func (b *Breaker) current() (*gobreaker.TwoStepCircuitBreaker[struct{}], bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cb, b.revived
}

// Allow asks to make a call. It answers a done function to report the
// call's outcome, or an *sdk.Error (unavailable, wrapping ErrOpen) at once
// when the breaker is open or its half-open probes are taken.
func (b *Breaker) Allow() (done func(Outcome), err error) {
	b.mu.Lock()
	if b.revived {
		if b.probing >= b.s.Probes {
			b.mu.Unlock()
			return nil, b.refusal()
		}
		b.probing++
		b.mu.Unlock()
		return b.probed, nil
	}
	cb := b.cb
	b.mu.Unlock()
	report, err := cb.Allow()
	if err != nil {
		return nil, b.refusal()
	}
	return func(o Outcome) {
		switch o {
		case Success:
			report(nil)
		case Failure:
			report(errFailure)
		default:
			report(errExcluded)
		}
	}, nil
}

// Revive lets an open breaker probe the provider now (see Breaker): the
// next calls, as many as Probes, go through; if they succeed the breaker
// closes, if one fails it opens again for OpenFor. A breaker that is not
// open is left as it is.
func (b *Breaker) Revive() {
	b.mu.Lock()
	if b.revived || b.cb.State() != gobreaker.StateOpen {
		b.mu.Unlock()
		return
	}
	b.revived, b.probing, b.passed = true, 0, 0
	b.mu.Unlock()
	if b.onChange != nil {
		b.onChange(gobreaker.StateOpen.String(), gobreaker.StateHalfOpen.String())
	}
}

// probed hears the outcome of a probe of a revived breaker.
func (b *Breaker) probed(o Outcome) {
	b.mu.Lock()
	if !b.revived {
		b.mu.Unlock()
		return
	}
	to := ""
	switch o {
	case Success:
		if b.passed++; b.passed >= b.s.Probes {
			b.revived, b.cb, to = false, b.newCB(nil), gobreaker.StateClosed.String()
		}
	case Failure:
		// Open again, for OpenFor from now: a new gobreaker, tripped.
		var quiet atomic.Bool
		quiet.Store(true)
		cb := b.newCB(&quiet)
		for range b.s.Failures {
			if report, err := cb.Allow(); err == nil {
				report(errFailure)
			}
		}
		quiet.Store(false)
		b.revived, b.cb, to = false, cb, gobreaker.StateOpen.String()
	default:
		b.probing-- // the probe said nothing: another may
	}
	b.mu.Unlock()
	if to != "" && b.onChange != nil {
		b.onChange(gobreaker.StateHalfOpen.String(), to)
	}
}

// Check answers the refusal Allow would give while the breaker is open, and
// nil otherwise, without taking a half-open probe: callers check it before
// they reserve anything.
func (b *Breaker) Check() error {
	if b.Open() {
		return b.refusal()
	}
	return nil
}

// Open reports whether the breaker refuses calls now (open, not yet due to
// probe). It changes nothing.
func (b *Breaker) Open() bool {
	cb, revived := b.current()
	return !revived && cb.State() == gobreaker.StateOpen
}

// State is "closed", "half-open" or "open".
func (b *Breaker) State() string {
	cb, revived := b.current()
	if revived {
		return gobreaker.StateHalfOpen.String()
	}
	return cb.State().String()
}

// refusal is the error of a refused call, with the time until the next probe.
func (b *Breaker) refusal() error {
	wait := b.s.OpenFor - time.Since(time.Unix(0, b.openedAt.Load()))
	if wait < 0 {
		wait = 0
	}
	msg := fmt.Sprintf("%s: circuit breaker open after repeated failures; next probe in %s", b.name, wait.Round(time.Millisecond))
	if b.State() == gobreaker.StateHalfOpen.String() {
		msg = fmt.Sprintf("%s: circuit breaker half-open, its probe is in flight", b.name)
		wait = 0
	}
	return &wrapped{err: &sdk.Error{Code: sdk.CodeUnavailable, Message: msg, Retryable: true, RetryAfter: wait}, cause: ErrOpen}
}

// wrapped is an *sdk.Error that also unwraps to a guard sentinel, so both
// sdk.AsError and errors.Is(err, guard.ErrOpen) work.
type wrapped struct {
	err   *sdk.Error
	cause error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.err, w.cause} }
