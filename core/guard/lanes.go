package guard

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/sdk"
)

// Lane is the part of a provider's quota, rate and concurrency a call may
// spend. Order work has a reserve that quotes, batch and catalog cannot
// touch; within it, settling an in-doubt create comes first
// (docs/guards.md, "Lanes").
type Lane uint8

// The lanes, from the least to the most privileged.
const (
	// LaneGeneral: quotes, batch quotes, catalog. It stops where the
	// reserve starts.
	LaneGeneral Lane = iota
	// LaneOrders: order creates and reads, trade-in steps. It may spend the
	// reserve but the last SettleFloor calls of the day.
	LaneOrders
	// LanePoll: the background polls of open orders. As LaneOrders, and
	// bounded by the polling share of the day as well.
	LanePoll
	// LaneSettle: the look-up that settles a create whose outcome is
	// unknown. It may spend the whole quota.
	LaneSettle
)

func (l Lane) String() string {
	switch l {
	case LaneOrders:
		return "orders"
	case LanePoll:
		return "poll"
	case LaneSettle:
		return "settle"
	}
	return "general"
}

// DefaultReserve is the share of a provider's daily quota, QPS and
// max_in_flight kept for order work when its guards block names none.
const DefaultReserve = 0.1

// Reserve is a provider's reserve for order work, as computed from its
// limits: what GET /v1/providers shows.
type Reserve struct {
	// Share of the quota, QPS and concurrency kept for order work (0: none).
	Share float64 `json:"share"`
	// Quota: calls a day only order work may spend (share * daily_quota,
	// rounded down).
	Quota int64 `json:"quota,omitempty"`
	// GeneralLimit: calls a day quotes, batch and catalog may spend.
	GeneralLimit int64 `json:"general_limit,omitempty"`
	// SettleFloor: the last calls of the day only in-doubt look-ups may spend.
	SettleFloor int64 `json:"settle_floor,omitempty"`
	// PollBudget: calls a day the polling of open orders may spend (0: no
	// daily quota, polling follows poll_interval only).
	PollBudget int64 `json:"poll_budget,omitempty"`
	// GeneralQPS is the rate quotes, batch and catalog may use (0: no limit).
	GeneralQPS float64 `json:"general_qps,omitempty"`
	// Slots of max_in_flight kept for order work.
	Slots int `json:"slots,omitempty"`
}

// ReserveFor computes the reserve of a provider with a daily quota, a QPS
// and max_in_flight; share and pollShare as configured (nil: default).
func ReserveFor(share, pollShare *float64, quota int64, qps float64, inFlight int) Reserve {
	s := DefaultReserve
	if share != nil {
		s = *share
	}
	r := Reserve{Share: s}
	if s <= 0 {
		return r
	}
	if quota > 1 {
		// Rounded down, and never the whole quota: a quota under 1/share
		// calls has no reserve.
		r.Quota = min(quota-1, int64(math.Floor(s*float64(quota))))
		r.GeneralLimit = quota - r.Quota
		r.SettleFloor = min(r.Quota, max(1, r.Quota/5))
		ps := s / 2
		if pollShare != nil {
			ps = *pollShare
		}
		r.PollBudget = int64(math.Floor(ps * float64(quota)))
	}
	if qps > 0 {
		r.GeneralQPS = qps * (1 - s)
	}
	if inFlight > 1 {
		r.Slots = min(inFlight-1, max(1, int(math.Round(s*float64(inFlight)))))
	}
	return r
}

// validateReserve checks the reserve keys of a guards block.
func validateReserve(where string, share, pollShare *float64) error {
	if share != nil && (*share < 0 || *share >= 1 || math.IsNaN(*share)) {
		return fmt.Errorf("%s.reserve must be a share from 0 (none) to under 1, such as 0.1", where)
	}
	if pollShare != nil && (*pollShare < 0 || *pollShare > 1 || math.IsNaN(*pollShare)) {
		return fmt.Errorf("%s.poll_share must be a share from 0 to 1, such as 0.05", where)
	}
	if share != nil && pollShare != nil && *pollShare > *share {
		return fmt.Errorf("%s.poll_share (%g) must not be more than reserve (%g): polls spend the reserve", where, *pollShare, *share)
	}
	return nil
}

// LaneLimiter paces the general lane below the provider's rate, so that
// order work always finds a share of it: general calls wait for a slot of
// their own limiter (GeneralQPS) and then of the provider's; order work
// waits for the provider's only.
type LaneLimiter struct {
	All     Limiter
	General Limiter // nil: no reserve
}

// Wait waits for a slot of the lane.
func (l *LaneLimiter) Wait(ctx context.Context, lane Lane) error {
	if lane == LaneGeneral && l.General != nil {
		if err := l.General.Wait(ctx); err != nil {
			return err
		}
	}
	return l.All.Wait(ctx)
}

// Slow is the provider's 429: both limiters pause and slow down.
func (l *LaneLimiter) Slow(retryAfter time.Duration) {
	l.All.Slow(retryAfter)
	if l.General != nil {
		l.General.Slow(retryAfter)
	}
}

// QPS is the provider's rate in force.
func (l *LaneLimiter) QPS() float64 { return l.All.QPS() }

// LaneSemaphore keeps slots of max_in_flight for order work: a general call
// takes a slot of its own (all but the reserved ones) and one of the
// provider's.
type LaneSemaphore struct {
	All     *Semaphore
	General *Semaphore // nil: no reserve
}

// NewLaneSemaphore allows n calls at once, reserved of them for order work.
func NewLaneSemaphore(n, reserved int) *LaneSemaphore {
	s := &LaneSemaphore{All: NewSemaphore(n)}
	if n > 0 && reserved > 0 && reserved < n {
		s.General = NewSemaphore(n - reserved)
	}
	return s
}

// Acquire takes a slot for the lane; Release gives it back.
func (s *LaneSemaphore) Acquire(ctx context.Context, lane Lane) error {
	general := lane == LaneGeneral && s.General != nil
	if general {
		if err := s.General.Acquire(ctx); err != nil {
			return err
		}
	}
	if err := s.All.Acquire(ctx); err != nil {
		if general {
			s.General.Release()
		}
		return err
	}
	return nil
}

// Release gives back the slots a call of lane acquired.
func (s *LaneSemaphore) Release(lane Lane) {
	s.All.Release()
	if lane == LaneGeneral && s.General != nil {
		s.General.Release()
	}
}

// laneLimit is the most calls of the day the lane may bring the quota
// counter to: every lane spends the one counter, each up to its own limit,
// so the reserve holds on every store (memory, embedded, Redis) with the
// same all-or-nothing spend.
func (a *Account) laneLimit(lane Lane) int64 {
	r := a.s.Reserve
	switch {
	case r.Quota == 0:
		return a.s.DailyQuota
	case lane == LaneGeneral:
		return max(r.GeneralLimit, 0)
	case lane == LaneSettle:
		return a.s.DailyQuota
	}
	return a.s.DailyQuota - r.SettleFloor
}

// laneRefusal words a quota refusal for the lane that met it: a quote
// refused while orders may still go says so.
func (a *Account) laneRefusal(err error, k kind, lane Lane, le *store.LimitError) error {
	e, ok := err.(*sdk.Error)
	if !ok || a.s.Reserve.Quota == 0 {
		return err
	}
	c := *e
	switch {
	case k == kQuota && lane == LaneGeneral:
		c.Message = fmt.Sprintf("provider %s: the share of the daily quota for quotes, batch and catalog (%d of %d calls) is used up; %d calls are kept for orders; %s",
			a.s.Provider, le.Limit, a.s.DailyQuota, a.s.Reserve.Quota, resetText(c.RetryAfter))
	case k == kQuota && (lane == LaneOrders || lane == LanePoll):
		c.Message = fmt.Sprintf("provider %s: the daily quota of %d calls is used up for orders (%d used; the last %d are kept to settle orders whose outcome is unknown); %s",
			a.s.Provider, a.s.DailyQuota, le.Used, a.s.Reserve.SettleFloor, resetText(c.RetryAfter))
	case k == kPoll:
		c.Message = fmt.Sprintf("provider %s: today's polling share of %d calls is used up; open orders are polled again after %s",
			a.s.Provider, le.Limit, resetText(c.RetryAfter))
	}
	return &c
}

func resetText(wait time.Duration) string {
	return fmt.Sprintf("it resets at 00:00 China time, in %s", wait.Round(time.Second))
}
