package orders

import (
	"context"
	"slices"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/sdk"
)

// Usage is the summary beside the audit log: what the provider calls made
// for a tenant numbered and cost, by provider, today and this month (China
// time), with its budget. A tenant reads its own; an admin tenant reads
// every tenant's (whose "") or one (whose its id).
func (o *Service) Usage(ctx context.Context, tenant *invoke.Tenant, whose string) ([]*guard.TenantUsageReport, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	ids := []string{tenant.ID}
	switch {
	case whose != "" && whose != tenant.ID && !tenant.Admin:
		return nil, &sdk.Error{Code: sdk.CodeForbidden, Field: "tenant", Message: "only an admin tenant reads another tenant's usage"}
	case whose != "":
		ids = []string{whose}
	case tenant.Admin:
		ids = ids[:0]
		for id := range o.tenants {
			ids = append(ids, id)
		}
		slices.Sort(ids)
	}
	out := make([]*guard.TenantUsageReport, 0, len(ids))
	for _, id := range ids {
		r, err := o.inv.TenantUsage(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
