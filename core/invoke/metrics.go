package invoke

import "github.com/prometheus/client_golang/prometheus"

// metrics are the calls' and guards' series (docs/guards.md lists them).
type metrics struct {
	calls              *prometheus.CounterVec
	latency            *prometheus.HistogramVec
	breakerTransitions *prometheus.CounterVec
	refusals           *prometheus.CounterVec
	retries            *prometheus.CounterVec
	cache              *prometheus.CounterVec
	budgetWarnings     *prometheus.CounterVec
	storeErrors        *prometheus.CounterVec
	laneRefusals       *prometheus.CounterVec
	reg                prometheus.Registerer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reg: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_provider_calls_total",
			Help: "Calls to providers, by provider, operation and outcome (ok or an error code).",
		}, []string{"provider", "op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recyclegate_provider_call_duration_seconds",
			Help:    "Duration of provider calls, as the host sees them.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"provider", "op"}),
		breakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_breaker_transitions_total",
			Help: "Circuit breaker state changes, by provider, from and to (closed, half-open, open).",
		}, []string{"provider", "from", "to"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_guard_refusals_total",
			Help: "Calls a guard refused before the provider: breaker_open, quota (quota, budget or tenant quota), store_unavailable, concurrency, rate_limited.",
		}, []string{"provider", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_provider_retries_total",
			Help: "Calls repeated after a retryable error, by provider and operation.",
		}, []string{"provider", "op"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_quote_cache_total",
			Help: "Quote cache look-ups: hit, miss (this request called the provider), shared (joined a call in flight).",
		}, []string{"provider", "result"}),
		budgetWarnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_budget_warnings_total",
			Help: "Times a provider's budget passed its warning share (warn_at, default 80%), by period (day, month).",
		}, []string{"provider", "period"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_store_errors_total",
			Help: "Failures to reach the state store, by use: counters (quota and budget: calls refused), rate (local share used), cache (a miss).",
		}, []string{"use"}),
	}
	m.laneRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recyclegate_lane_refusals_total",
		Help: "Calls refused because their lane's share of the provider's daily quota was spent, by provider and lane (general, orders, poll, settle).",
	}, []string{"provider", "lane"})
	reg.MustRegister(m.laneRefusals)
	reg.MustRegister(m.calls, m.latency, m.breakerTransitions, m.refusals, m.retries, m.cache, m.budgetWarnings, m.storeErrors)
	return m
}

// registerGuards adds the gauges of one provider's guards, read when
// Prometheus scrapes.
func (m *metrics) registerGuards(s *Service, id string) {
	gauge := func(name, help string, labels prometheus.Labels, f func(*GuardInfo) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 {
				gi := s.GuardInfo(id)
				if gi == nil {
					return 0
				}
				return f(gi)
			}))
	}
	p := prometheus.Labels{"provider": id}
	gauge("recyclegate_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", p, func(g *GuardInfo) float64 {
		return float64(breakerRank(g.Breaker))
	})
	gauge("recyclegate_provider_in_flight", "Calls in flight to the provider from this host.", p, func(g *GuardInfo) float64 { return float64(g.InFlight) })
	gauge("recyclegate_rate_limit_qps", "The provider's rate limit in force (lower after a 429, a local share while the store is down); 0: none.", p,
		func(g *GuardInfo) float64 { return g.QPS })
	gauge("recyclegate_quota_used", "Calls made today (China time) against the provider's daily quota.", p, func(g *GuardInfo) float64 {
		if g.Quota == nil {
			return 0
		}
		return float64(g.Quota.Used)
	})
	gauge("recyclegate_quota_left", "Calls left today in the provider's daily quota (0 when it has none).", p, func(g *GuardInfo) float64 {
		if g.Quota == nil {
			return 0
		}
		return float64(g.Quota.Left)
	})
	gauge("recyclegate_quota_reserved", "Calls a day of the provider's quota kept for order work (creates, in-doubt look-ups, trade-ins, polls); 0: none.", p,
		func(g *GuardInfo) float64 { return float64(g.Reserve.Quota) })
	gauge("recyclegate_poll_quota_used", "Calls the polling of open orders spent today of its share of the provider's quota.", p,
		func(g *GuardInfo) float64 { return float64(g.Reserve.PollUsed) })
	gauge("recyclegate_poll_quota_limit", "The polling share of the provider's daily quota (0: no daily quota).", p,
		func(g *GuardInfo) float64 { return float64(g.Reserve.PollBudget) })
	for _, period := range []string{"day", "month"} {
		l := prometheus.Labels{"provider": id, "period": period}
		gauge("recyclegate_budget_spent_fen", "What the provider's calls cost this day or month, in fen.", l, func(g *GuardInfo) float64 {
			if g.Budget == nil {
				return 0
			}
			if period == "day" {
				return float64(g.Budget.DaySpent.Amount)
			}
			return float64(g.Budget.MonthSpent.Amount)
		})
		gauge("recyclegate_budget_limit_fen", "The provider's budget for the day or month, in fen (0: none).", l, func(g *GuardInfo) float64 {
			if g.Budget == nil {
				return 0
			}
			lim := g.Budget.DayLimit
			if period == "month" {
				lim = g.Budget.MonthLimit
			}
			if lim == nil {
				return 0
			}
			return float64(lim.Amount)
		})
	}
}
