package orders

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// Polling within a budget. A provider with a daily quota has a polling
// share of it (guards.poll_share, half the order reserve by default). The
// share is spread over its open orders: an order in a state that changes
// often (in transit, received, being inspected) has weight 1, one waiting
// for the customer (to ship, to accept the inspection) weight 1/2, a final
// state none (never polled). An order of weight w is polled every
//
//	max(poll_interval, 24h * W / (share * w))
//
// where W is the weight of all the provider's open orders: the polls of a
// day add up to the share. A new order's first poll is spread over its
// first interval, so a burst of orders does not make a burst of polls.
// When open orders outgrow the share (their interval stretches past
// poll_interval) the host warns once, and once more when they fit again;
// recyclegate_poll_interval_seconds shows the interval in between.

// stateWeight is how often an order in a state is worth asking about.
func stateWeight(s recycle.OrderState) float64 {
	switch s {
	case recycle.OrderInTransit, recycle.OrderReceived, recycle.OrderInspecting:
		return 1
	case recycle.OrderWaitingToShip, recycle.OrderInspected:
		return 0.5
	}
	if s.Final() {
		return 0
	}
	return 1
}

// pollPlan is the interval of each provider's orders of weight 1, for one
// pass.
type pollPlan struct {
	base  time.Duration
	every map[string]time.Duration // by provider; absent: base
}

// interval is when an order of provider p in state s is polled next.
func (pl *pollPlan) interval(p string, s recycle.OrderState) time.Duration {
	w := stateWeight(s)
	if w == 0 {
		return 0
	}
	d, ok := pl.every[p]
	if !ok {
		return pl.base
	}
	return max(pl.base, time.Duration(float64(d)/w))
}

// plan computes the polling plan from the open orders and each provider's
// polling share, and logs a provider whose open orders outgrow it (once).
func (o *Service) plan(ctx context.Context) *pollPlan {
	pl := &pollPlan{base: o.pollInterval(), every: map[string]time.Duration{}}
	counts, err := o.store.OpenCounts(ctx)
	if err != nil {
		o.log.Warn("counting open orders for the polling plan; polling at poll_interval", "error", err)
		return pl
	}
	weight := map[string]float64{}
	open := map[string]int{}
	for _, c := range counts {
		weight[c.Provider] += float64(c.N) * stateWeight(recycle.OrderState(c.State))
		open[c.Provider] += c.N
	}
	for p, w := range weight {
		perDay, _ := o.inv.PollBudget(p)
		if perDay <= 0 || w == 0 {
			continue
		}
		d := time.Duration(float64(24*time.Hour) * w / float64(perDay))
		pl.every[p] = d
		if o.pollGauge != nil {
			o.pollGauge.WithLabelValues(p).Set(max(d, pl.base).Seconds())
		}
		if d > pl.base {
			o.stuck.Start("poll:"+p, func() {
				o.log.Warn("open orders outgrow the provider's polling share: each is polled less often than poll_interval (logged again when they fit)",
					"provider", p, "open_orders", open[p], "polls_a_day", perDay, "interval", d.Round(time.Second).String(), "poll_interval", pl.base.String())
			})
		} else {
			o.stuck.End("poll:"+p, func(n int64, lasted time.Duration) {
				o.log.Info("open orders fit the provider's polling share again", "provider", p, "open_orders", open[p], "lasted", lasted.Round(time.Second).String())
			})
		}
	}
	return pl
}

// firstPoll is a new order's first poll: spread over its first interval.
func (o *Service) firstPoll(p string, s recycle.OrderState, now time.Time) time.Time {
	o.planMu.Lock()
	pl := o.lastPlan
	o.planMu.Unlock()
	if pl == nil {
		return now.Add(o.pollInterval())
	}
	d := pl.interval(p, s)
	if d <= pl.base {
		return now.Add(pl.base)
	}
	return now.Add(pl.base + time.Duration(rand.Int64N(int64(d-pl.base))))
}

func newPollGauge(reg prometheus.Registerer) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "recyclegate_poll_interval_seconds",
		Help: "How often an open order of the provider in a changing state is polled: poll_interval, or longer when its open orders outgrow the polling share."},
		[]string{"provider"})
	reg.MustRegister(g)
	return g
}
