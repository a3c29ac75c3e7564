package orders

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterGauges adds the order store's state, read at each scrape.
func (o *Service) RegisterGauges(reg prometheus.Registerer) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "recyclegate_order_store_up", Help: "1 when the order store answers, else 0 (order routes answer 503).",
		ConstLabels: prometheus.Labels{"kind": o.StoreKind()},
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if o.Ping(ctx) != nil {
			return 0
		}
		return 1
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "recyclegate_webhooks_pending", Help: "Webhook events not yet delivered, of every replica sharing the store (-1: the store cannot be read).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := o.PendingWebhooks(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}
