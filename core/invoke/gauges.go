package invoke

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/registry"
)

// RegisterProviderGauges adds the providers' readiness and state, read at
// each scrape rather than written at each request.
func RegisterProviderGauges(reg prometheus.Registerer, providers *registry.Registry) {
	for _, p := range providers.All() {
		for _, state := range registry.States {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "recyclegate_provider_state",
				Help:        "1 for the provider's state now (starting, ready, unresponsive, restarting, failed, down), 0 for the others.",
				ConstLabels: prometheus.Labels{"provider": p.ID(), "state": state},
			}, func() float64 {
				if p.State() == state {
					return 1
				}
				return 0
			}))
		}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "recyclegate_provider_up",
			Help:        "1 when the provider is ready to serve, else 0.",
			ConstLabels: prometheus.Labels{"provider": p.ID(), "runtime": p.Runtime()},
		}, func() float64 {
			if p.Ready() {
				return 1
			}
			return 0
		}))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "recyclegate_providers_ready", Help: "Providers ready to serve.",
	}, func() float64 {
		n := 0
		for _, p := range providers.All() {
			if p.Ready() {
				n++
			}
		}
		return float64(n)
	}))
}
