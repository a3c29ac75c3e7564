package invoke

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/sdk"
)

// ProviderInfo is what the host tells about a loaded provider: what the
// registry knows and the live state of its guards.
type ProviderInfo struct {
	registry.Info
	// Guards: breaker state, calls in flight, quota used and left, budget
	// spent.
	Guards *GuardInfo `json:"guards,omitempty"`
}

// GuardInfo is what GET /v1/providers shows of a provider's guards.
type GuardInfo struct {
	// Breaker is closed, half-open or open (the provider-wide breaker, or
	// the worst of the per-operation ones).
	Breaker string `json:"breaker"`
	// Breakers by operation, when each has its own.
	Breakers    map[string]string `json:"breakers,omitempty"`
	InFlight    int               `json:"in_flight"`
	MaxInFlight int               `json:"max_in_flight"`
	// QPS is the rate in force now: lower after a 429, or this replica's
	// share while the shared store is unreachable. 0: no limit.
	QPS      float64      `json:"qps"`
	CacheTTL sdk.Duration `json:"cache_ttl,omitempty"`
	Quota    *QuotaInfo   `json:"quota,omitempty"`
	Budget   *BudgetInfo  `json:"budget,omitempty"`
	// Reserve: the share of the quota, rate and concurrency kept for order
	// work (lanes), and the polling share.
	Reserve *ReserveInfo `json:"reserve,omitempty"`
	Store   string       `json:"store"` // embedded, memory or redis
	// Calls and Errors count the calls that reached the provider since
	// it was loaded (a console derives the calls per second from two
	// readings); ErrorRate is the share of recent ones that failed, an
	// exponentially weighted average with weight 1/16 (0 before a call).
	Calls     uint64  `json:"calls"`
	Errors    uint64  `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

// outcomes counts a provider's calls and their recent error rate, lock
// free.
type outcomes struct {
	calls, errors atomic.Uint64
	rate          atomic.Uint64 // float64 bits of the recent error rate
}

// note folds one call's outcome in.
func (o *outcomes) note(failed bool) {
	o.calls.Add(1)
	x := 0.0
	if failed {
		o.errors.Add(1)
		x = 1
	}
	for {
		old := o.rate.Load()
		r := math.Float64frombits(old)
		if o.calls.Load() == 1 {
			r = x
		} else {
			r += (x - r) / 16
		}
		if o.rate.CompareAndSwap(old, math.Float64bits(r)) {
			return
		}
	}
}

// QuotaInfo is a provider's daily quota.
type QuotaInfo struct {
	Limit    int64     `json:"limit"`
	Used     int64     `json:"used"`
	Left     int64     `json:"left"`
	ResetsAt time.Time `json:"resets_at"`
}

// BudgetInfo is what a provider's calls cost today and this month.
type BudgetInfo struct {
	CostPerCall sdk.Money  `json:"cost_per_call"`
	DaySpent    sdk.Money  `json:"day_spent"`
	DayLimit    *sdk.Money `json:"day_limit,omitempty"`
	MonthSpent  sdk.Money  `json:"month_spent"`
	MonthLimit  *sdk.Money `json:"month_limit,omitempty"`
}

// usageMaxAge is how stale the quota and budget shown may be; reading them
// is otherwise free.
const usageMaxAge = 2 * time.Second

// Providers describes every loaded provider, in routing order.
func (s *Service) Providers() []ProviderInfo {
	all := s.reg.All()
	out := make([]ProviderInfo, len(all))
	for i, p := range all {
		out[i] = ProviderInfo{Info: p.Info(), Guards: s.GuardInfo(p.ID())}
	}
	return out
}

// Infos is every provider's description without its guards' live state
// (Guards is nil): what routing reads, without building each provider's
// GuardInfo at every quote.
func (s *Service) Infos() []ProviderInfo {
	all := s.reg.All()
	out := make([]ProviderInfo, len(all))
	for i, p := range all {
		out[i] = ProviderInfo{Info: p.Info()}
	}
	return out
}

// breakerRank orders breaker states, worst last.
func breakerRank(s string) int {
	switch s {
	case "half-open":
		return 1
	case "open":
		return 2
	}
	return 0
}

// GuardInfo is the live state of provider id's guards, or nil for an
// unknown provider.
func (s *Service) GuardInfo(id string) *GuardInfo {
	pl, ok := s.byID[id]
	if !ok {
		return nil
	}
	pl.noteRevivals()
	l := pl.limits()
	gi := &GuardInfo{Breaker: "closed", InFlight: l.sem.All.InFlight(), MaxInFlight: l.sem.All.Cap(), QPS: l.limiter.QPS(),
		Store: s.store.Kind(), Reserve: &ReserveInfo{Reserve: l.reserve, MaxWait: sdk.Duration(l.maxWait)},
		Calls: pl.outcomes.calls.Load(), Errors: pl.outcomes.errors.Load(),
		ErrorRate: math.Float64frombits(pl.outcomes.rate.Load())}
	if l.cacheTTL > 0 {
		gi.CacheTTL = sdk.Duration(l.cacheTTL)
	}
	pl.mu.Lock()
	for op, b := range pl.breakers {
		st := b.State()
		if breakerRank(st) > breakerRank(gi.Breaker) {
			gi.Breaker = st
		}
		if pl.perOp {
			if gi.Breakers == nil {
				gi.Breakers = map[string]string{}
			}
			gi.Breakers[op] = st
		}
	}
	pl.mu.Unlock()
	as := l.account.Settings()
	if as.DailyQuota == 0 && as.CostPerCall == 0 && len(as.Tiers) == 0 {
		return gi
	}
	u := l.account.Usage(usageMaxAge)
	gi.Reserve.PollUsed = u.PollUsed
	if as.DailyQuota > 0 {
		gi.Quota = &QuotaInfo{Limit: as.DailyQuota, Used: u.QuotaUsed, Left: max(0, as.DailyQuota-u.QuotaUsed), ResetsAt: HostTime(u.ResetsAt)}
	}
	if as.CostPerCall > 0 || len(as.Tiers) > 0 {
		b := &BudgetInfo{CostPerCall: sdk.Fen(as.CostPerCall), DaySpent: sdk.Fen(u.DaySpent), MonthSpent: sdk.Fen(u.MonthSpent)}
		if as.BudgetDay > 0 {
			b.DayLimit = sdk.Fen(as.BudgetDay).Ptr()
		}
		if as.BudgetMonth > 0 {
			b.MonthLimit = sdk.Fen(as.BudgetMonth).Ptr()
		}
		gi.Budget = b
	}
	return gi
}

// State is what routing reads of a provider's guards, without allocating:
// the worst breaker state, the calls left in its daily quota for quotes,
// batch and catalog (the general lane; -1: no quota) and the rate in force (0: no limit).
type State struct {
	Breaker   string
	QuotaLeft int64
	QPS       float64
	Latency   time.Duration // recent call latency (0 until a call succeeded)
}

// StateOf returns provider id's guard state (zero for an unknown one).
func (s *Service) StateOf(id string) State {
	pl, ok := s.byID[id]
	if !ok {
		return State{Breaker: "closed", QuotaLeft: -1}
	}
	pl.noteRevivals()
	l := pl.limits()
	st := State{Breaker: "closed", QuotaLeft: -1, QPS: l.limiter.QPS(), Latency: pl.p.Latency()}
	pl.mu.Lock()
	for _, b := range pl.breakers {
		if bs := b.State(); breakerRank(bs) > breakerRank(st.Breaker) {
			st.Breaker = bs
		}
	}
	pl.mu.Unlock()
	if q := l.account.Settings().DailyQuota; q > 0 {
		if l.reserve.Quota > 0 {
			q = l.reserve.GeneralLimit // quotes and batches stop where the order reserve starts
		}
		st.QuotaLeft = max(0, q-l.account.Usage(usageMaxAge).QuotaUsed)
	}
	return st
}
