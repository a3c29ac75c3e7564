package core

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the host's Prometheus series, on a registry of its own so two
// hosts in one process never collide.
type metrics struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	quotes   *prometheus.CounterVec
	guardMetrics
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_provider_calls_total",
			Help: "Calls to providers, by provider, operation and outcome (ok or an error code).",
		}, []string{"provider", "op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recyclegate_provider_call_duration_seconds",
			Help:    "Duration of provider calls, as the host sees them.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"provider", "op"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_plugin_restarts_total",
			Help: "Times a provider's plugin process was restarted after it ended.",
		}, []string{"provider"}),
		quotes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_quote_requests_total",
			Help: "Quote requests, by outcome: answered (at least one quote), empty, refused.",
		}, []string{"outcome"}),
	}
	m.guardMetrics = newGuardMetrics(m.reg)
	m.reg.MustRegister(m.calls, m.latency, m.restarts, m.quotes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
