package invoke

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// orderOps are the operations of order work: they spend the order lanes
// of a provider's quota, rate and concurrency (docs/guards.md, "Lanes").
var orderOps = map[string]bool{
	rpc.OpOrderCreate: true,
	rpc.OpOrderGet:    true,
	rpc.OpOrderTrack:  true,
	rpc.OpInspection:  true,
	rpc.OpSettlement:  true,
	rpc.OpTradeIn:     true,
}

// lane is the lane the call spends: the Call's own, else the operation's.
func (r *request) lane() guard.Lane {
	if r.call != nil && r.call.Lane != guard.LaneGeneral {
		return r.call.Lane
	}
	if orderOps[r.op] {
		return guard.LaneOrders
	}
	return guard.LaneGeneral
}

// paced reports whether the call waits for slots up to its deadline.
func (r *request) paced() bool { return r.call != nil && r.call.Paced }

// waitContext bounds an API call's wait for a slot by max_wait; a paced
// call (batch, background) waits up to its deadline.
// One max_wait covers both waits (a concurrency slot, then a rate slot):
// the first stage sets when the waiting must end. The context is the
// request's own (no allocation) and makes no timer unless a wait needs one
// (waitCtx): a slot free at once, the common case, costs neither.
// Release the wait with w.release() (w is nil when ctx is the caller's).
func (pl *pipeline) waitContext(ctx context.Context, r *request, l *limits) (_ context.Context, w *waitCtx) {
	if r.paced() || l.maxWait <= 0 {
		return ctx, nil
	}
	if r.waitEnd.IsZero() {
		r.waitEnd = time.Now().Add(l.maxWait)
	}
	r.wait = waitCtx{Context: ctx, end: r.waitEnd}
	return &r.wait, &r.wait
}

// waitCtx is ctx with a deadline at end, made lazily: Deadline and Err
// answer from end without a timer, and the context.WithDeadline behind it
// is made the first time Done is asked for (a wait that blocks). release
// stops its timer, if one was made.
type waitCtx struct {
	context.Context
	end    time.Time
	mu     sync.Mutex
	inner  context.Context
	cancel context.CancelFunc
}

func (w *waitCtx) Deadline() (time.Time, bool) {
	if d, ok := w.Context.Deadline(); ok && d.Before(w.end) {
		return d, true
	}
	return w.end, true
}

func (w *waitCtx) Done() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inner == nil {
		w.inner, w.cancel = context.WithDeadline(w.Context, w.end)
	}
	return w.inner.Done()
}

func (w *waitCtx) Err() error {
	w.mu.Lock()
	inner := w.inner
	w.mu.Unlock()
	if inner != nil {
		return inner.Err()
	}
	if err := w.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(w.end) {
		return context.DeadlineExceeded
	}
	return nil
}

func (w *waitCtx) release() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		w.cancel()
	}
}

// maxWaitError is the refusal of an API call that found no slot within
// max_wait: rate_limited, retryable, with Retry-After.
func maxWaitError(id, what string, wait time.Duration) error {
	return &sdk.Error{Code: sdk.CodeRateLimited, Retryable: true, RetryAfter: max(wait, time.Second), Provider: id,
		Message: fmt.Sprintf("provider %s: no free slot of %s within max_wait (%s); retry after Retry-After", id, what, wait)}
}

// newLanes builds the lane-aware limiter and semaphore of a provider.
func (pl *pipeline) newLanes(l *limits, ls guard.LimitSettings, inFlight int, quota int64) {
	s, gc, id := pl.svc, pl.gc, pl.id
	l.reserve = guard.ReserveFor(gc.Reserve, gc.PollShare, quota, ls.QPS, inFlight)
	l.maxWait = gc.MaxWait
	if l.maxWait == 0 {
		l.maxWait = guard.DefaultMaxWait
	}
	newLimiter := func(ls guard.LimitSettings, key string) guard.Limiter {
		if rw, ok := s.sharedRate(); ok && ls.QPS > 0 {
			return guard.NewShared(ls, key, rw, s.replicas, func(err error) { s.storeFailed("rate", err) })
		}
		return guard.NewLocal(ls)
	}
	l.limiter = &guard.LaneLimiter{All: newLimiter(ls, id)}
	if q := l.reserve.GeneralQPS; q > 0 {
		g := ls
		g.QPS = q
		l.limiter.General = newLimiter(g, id+":general")
	}
	l.sem = guard.NewLaneSemaphore(inFlight, l.reserve.Slots)
}

// quotaRefused counts a quota refusal by lane, and logs the first of a
// run once (lanes' quota state, logged at its start and end).
func (s *Service) quotaRefused(id string, lane guard.Lane) {
	s.m.laneRefusals.WithLabelValues(id, lane.String()).Inc()
	s.spent.Start(id+"/"+lane.String(), func() {
		s.log.Warn("provider quota spent for a lane: its calls are refused until it resets, counted in recyclegate_lane_refusals_total; logged again when it ends",
			"provider", id, "lane", lane.String())
	})
}

// quotaSpent closes a lane's quota episode: a call of the lane was let
// through again.
func (s *Service) quotaSpent(id string, lane guard.Lane) {
	s.spent.End(id+"/"+lane.String(), func(n int64, lasted time.Duration) {
		s.log.Info("provider quota available again for a lane", "provider", id, "lane", lane.String(),
			"refused", n, "lasted", lasted.Round(time.Second).String())
	})
}

// ReserveInfo is what GET /v1/providers shows of a provider's order lanes.
type ReserveInfo struct {
	guard.Reserve
	// PollUsed: calls the polling of open orders spent today.
	PollUsed int64 `json:"poll_used"`
	// MaxWait bounds an API call's wait for a rate or concurrency slot.
	MaxWait sdk.Duration `json:"max_wait"`
}

// PollBudget is provider id's polling share of today: the calls a day the
// polling of open orders may spend (0: no daily quota, polling follows
// poll_interval only) and how many it spent.
func (s *Service) PollBudget(id string) (perDay, used int64) {
	pl, ok := s.byID[id]
	if !ok {
		return 0, 0
	}
	l := pl.limits()
	if l.reserve.PollBudget == 0 {
		return 0, 0
	}
	return l.reserve.PollBudget, l.account.Usage(usageMaxAge).PollUsed
}
