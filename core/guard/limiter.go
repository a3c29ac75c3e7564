package guard

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/sdk"
)

// Limiter paces calls to a provider. Limiters run on the wall clock: they
// pace real calls, so a moved test clock does not move them.
type Limiter interface {
	// Wait blocks until a call may go, or answers at once with an
	// *sdk.Error rate_limited when that would be after ctx's deadline (the
	// error's RetryAfter says when to come back), or the ctx's error when
	// it ends first.
	Wait(ctx context.Context) error
	// Slow is the provider's 429: nothing goes for retryAfter (1s when the
	// provider did not say), then half the rate for a while.
	Slow(retryAfter time.Duration)
	// QPS is the rate in force now.
	QPS() float64
}

// LimitSettings configure a limiter.
type LimitSettings struct {
	// QPS is the most calls in any one second. 0: no limit.
	QPS float64
	// Margin widens the window the QPS is counted in (1s+Margin), so calls
	// that leave the host evenly paced still arrive within the provider's
	// limit when the network delays some more than others. Default 100ms.
	Margin time.Duration
	// SlowFor is how long the rate stays halved after a 429. Default 30s.
	SlowFor time.Duration
}

// DefaultQPSMargin widens the second a QPS is counted in: enough for the
// jitter of one network path, small enough that a paced batch stays within
// 5% of the provider's floor (docs/BENCHMARKS.md).
const DefaultQPSMargin = 50 * time.Millisecond

func (s LimitSettings) withDefaults() LimitSettings {
	if s.Margin == 0 {
		s.Margin = DefaultQPSMargin
	}
	if s.SlowFor == 0 {
		s.SlowFor = 30 * time.Second
	}
	return s
}

// window is the span the QPS is counted in.
func (s LimitSettings) window() time.Duration { return time.Second + s.Margin }

// Local is a limiter of one process (golang.org/x/time/rate): calls evenly
// spaced, at most QPS in any window of 1s+Margin, no bursts.
type Local struct {
	s    LimitSettings
	lim  *rate.Limiter
	full rate.Limit

	mu        sync.Mutex
	pauseTill time.Time
	slowTill  time.Time
}

// NewLocal returns a local limiter; QPS 0 means no limit.
func NewLocal(s LimitSettings) *Local {
	s = s.withDefaults()
	l := &Local{s: s, full: rate.Inf}
	if s.QPS > 0 {
		// One call every window/QPS: QPS calls in any window.
		l.full = rate.Every(time.Duration(float64(s.window()) / s.QPS))
	}
	l.lim = rate.NewLimiter(l.full, 1)
	return l
}

// Wait implements Limiter.
func (l *Local) Wait(ctx context.Context) error {
	now := time.Now()
	l.mu.Lock()
	pause := l.pauseTill.Sub(now)
	if !l.slowTill.IsZero() && now.After(l.slowTill) {
		l.slowTill = time.Time{}
		l.lim.SetLimitAt(now, l.full)
	}
	l.mu.Unlock()
	if pause > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < pause {
			return rateLimited(pause)
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
	if l.full == rate.Inf {
		return nil
	}
	r := l.lim.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.Cancel()
		return rateLimited(d)
	}
	if err := sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// Slow implements Limiter.
func (l *Local) Slow(retryAfter time.Duration) {
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := now.Add(retryAfter); t.After(l.pauseTill) {
		l.pauseTill = t
	}
	l.slowTill = now.Add(retryAfter + l.s.SlowFor)
	if l.full != rate.Inf {
		l.lim.SetLimitAt(now, l.full/2)
	}
}

// QPS implements Limiter.
func (l *Local) QPS() float64 {
	lim := l.lim.Limit()
	if lim == rate.Inf {
		return 0
	}
	return float64(lim) * l.s.window().Seconds()
}

// Shared is a limiter shared by every replica through a store.RateWindow
// (Redis): at most QPS calls in any window of 1s+Margin, whichever replica
// makes them. When the store cannot be reached it falls back, for a second
// at a time, to a local limiter of QPS/Replicas.
type Shared struct {
	s        LimitSettings
	key      string
	rw       store.RateWindow
	fallback *Local
	onError  func(error)

	downUntil atomic.Int64 // unix nanos: use the fallback until then
	degraded  atomic.Bool  // the last question to the store failed
}

// NewShared returns a limiter shared through rw under key. replicas is the
// number of replicas expected to share it (at least 1). onError, if not nil,
// hears the store's errors (log and metric); it must not block.
func NewShared(s LimitSettings, key string, rw store.RateWindow, replicas int, onError func(error)) *Shared {
	s = s.withDefaults()
	if replicas < 1 {
		replicas = 1
	}
	local := s
	local.QPS = s.QPS / float64(replicas)
	return &Shared{s: s, key: key, rw: rw, fallback: NewLocal(local), onError: onError}
}

// limit is the whole number of calls admitted per window, and the window:
// a rate under 1 (a lane's share of qps: 1) admits one call per
// proportionally longer window.
func (l *Shared) limit() (int, time.Duration) {
	if l.s.QPS < 1 {
		return 1, time.Duration(float64(l.s.window()) / l.s.QPS)
	}
	return int(math.Floor(l.s.QPS)), l.s.window()
}

// Wait implements Limiter.
func (l *Shared) Wait(ctx context.Context) error {
	if l.s.QPS <= 0 {
		return nil
	}
	for {
		if time.Now().UnixNano() < l.downUntil.Load() {
			return l.fallback.Wait(ctx)
		}
		limit, window := l.limit()
		wait, err := l.rw.Admit(ctx, l.key, limit, window)
		if err != nil {
			if Expired(ctx) {
				// The caller's deadline (max_wait) cut the question short:
				// the store is fine. (The deadline's timer may not have
				// marked ctx done yet when the connection's deadline fired.)
				return context.DeadlineExceeded
			}
			l.downUntil.Store(time.Now().Add(time.Second).UnixNano())
			l.degraded.Store(true)
			if l.onError != nil {
				l.onError(err)
			}
			return l.fallback.Wait(ctx)
		}
		l.degraded.Store(false)
		if wait == 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return rateLimited(wait)
		}
		// Ask again when a slot frees; add a little spread so waiting
		// replicas do not all ask at the same instant.
		if err := sleep(ctx, wait+time.Duration(rand.Int64N(int64(2*time.Millisecond)))); err != nil {
			return err
		}
	}
}

// Slow implements Limiter: the pause and the halved rate are shared.
func (l *Shared) Slow(retryAfter time.Duration) {
	if retryAfter <= 0 {
		retryAfter = time.Second
	}
	l.fallback.Slow(retryAfter)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := l.rw.Pause(ctx, l.key, retryAfter, retryAfter+l.s.SlowFor); err != nil && l.onError != nil {
		l.onError(err)
	}
}

// QPS implements Limiter: the local share while the store is unreachable.
func (l *Shared) QPS() float64 {
	if l.degraded.Load() {
		return l.fallback.QPS()
	}
	return l.s.QPS
}

// Semaphore bounds the calls in flight.
type Semaphore struct {
	slots chan struct{}
}

// NewSemaphore allows n calls at once; n <= 0 means no bound.
func NewSemaphore(n int) *Semaphore {
	if n <= 0 {
		return &Semaphore{}
	}
	return &Semaphore{slots: make(chan struct{}, n)}
}

// Acquire takes a slot, waiting until one frees or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if s.slots == nil {
		return nil
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release gives a slot back.
func (s *Semaphore) Release() {
	if s.slots != nil {
		<-s.slots
	}
}

// InFlight is the number of slots taken.
func (s *Semaphore) InFlight() int { return len(s.slots) }

// Cap is the bound (0: none).
func (s *Semaphore) Cap() int { return cap(s.slots) }

func rateLimited(wait time.Duration) error {
	return &sdk.Error{Code: sdk.CodeRateLimited, Retryable: true, RetryAfter: wait,
		Message: fmt.Sprintf("the provider's rate limit has no free slot before the deadline; next in %s", wait.Round(time.Millisecond))}
}

// Expired reports whether ctx is done or its deadline has passed (a
// context's Err lags its deadline by the timer that marks it).
func Expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var (
	_ Limiter = (*Local)(nil)
	_ Limiter = (*Shared)(nil)
)
