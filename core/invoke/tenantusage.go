package invoke

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/sdk"
)

// tenantUsage counts a tenant's call against its usage and its budget
// (guard.TenantUsage): what the call costs at the provider's price, by
// provider, per day and month. A call past the tenant's budget is refused
// (quota_exhausted, whose limit: the tenant's) before the provider is
// asked; one refused further down is given back. The host's own calls
// (no tenant: a poll, a recovery) are not counted.
func (pl *pipeline) tenantUsage(next handler) handler {
	s := pl.svc
	return func(ctx context.Context, r *request) (any, error) {
		if s.usage == nil || r.call == nil || r.call.Tenant == nil {
			return next(ctx, r)
		}
		tenant, units, cost := r.call.Tenant.ID, r.call.units(), pl.limits().account.Cost()
		ticket, err := s.usage.Spend(ctx, tenant, pl.id, units, cost)
		if err != nil {
			return nil, pl.refuse(r, "tenant_budget", err)
		}
		resp, err := next(ctx, r)
		if !r.reach {
			ticket.Refund()
			return resp, err
		}
		s.tm.calls.WithLabelValues(tenant, pl.id).Add(float64(units))
		if cost > 0 {
			s.tm.spent.WithLabelValues(tenant, pl.id).Add(float64(cost * units))
		}
		return resp, err
	}
}

// tenantMetrics are the tenants' usage series.
type tenantMetrics struct {
	calls *prometheus.CounterVec
	spent *prometheus.CounterVec
}

func newTenantMetrics(reg prometheus.Registerer) *tenantMetrics {
	m := &tenantMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recyclegate_tenant_calls_total",
			Help: "Provider calls made for each tenant (cache hits not counted), by provider."}, []string{"tenant", "provider"}),
		spent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recyclegate_tenant_spent_fen_total",
			Help: "What the provider calls made for each tenant cost, in fen, by provider."}, []string{"tenant", "provider"}),
	}
	reg.MustRegister(m.calls, m.spent)
	return m
}

// TenantUsage reports tenant's use of every provider, today and this
// month (China time), and its budget.
func (s *Service) TenantUsage(ctx context.Context, tenant string) (*guard.TenantUsageReport, error) {
	if s.usage == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: "usage is not counted"}
	}
	ids := make([]string, 0, len(s.byID))
	for _, p := range s.reg.All() {
		ids = append(ids, p.ID())
	}
	return s.usage.Read(ctx, tenant, ids)
}
