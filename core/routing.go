package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// route decides the providers: the caller's list when given (each must
// exist and quote the category), else the policies' route, else the
// router's. A request without a policy run of its own (a batch's item) is
// checked by the compliance rules here.
func (h *Host) route(ctx context.Context, tenant *Tenant, req *QuoteRequest, infos []ProviderInfo) (Route, error) {
	pr := policyRunOf(ctx)
	if pr == nil {
		if rt, ok, err := h.routePolicyItem(ctx, tenant, req, infos); ok {
			return rt, err
		}
	}
	byID := make(map[string]ProviderInfo, len(infos))
	for _, p := range infos {
		byID[p.ID] = p
	}
	if len(req.Providers) > 0 {
		r := Route{Strategy: req.Strategy, Rule: "request: providers"}
		if r.Strategy == "" {
			r.Strategy = StrategyBestPrice
		}
		seen := map[string]bool{}
		for i, id := range req.Providers {
			p, ok := byID[id]
			if !ok {
				return Route{}, sdk.InvalidField(fmt.Sprintf("providers[%d]", i), "no provider %q; the providers are %s", id, strings.Join(sortedKeys(byID), ", "))
			}
			if !servesQuote(p, req.Item.Category) {
				return Route{}, sdk.InvalidField(fmt.Sprintf("providers[%d]", i), "provider %s does not quote category %s", id, req.Item.Category)
			}
			if !seen[id] {
				r.Providers = append(r.Providers, id)
				seen[id] = true
			}
		}
		if pr != nil {
			pr.noteRoute(r)
		}
		return r, nil
	}
	if pr != nil {
		if rt, ok, err := pr.policyRoute(req); ok {
			return rt, err
		}
	}
	r, err := h.router.Route(ctx, RouteInput{Tenant: tenant, Request: req, Providers: infos})
	if err != nil {
		return Route{}, err
	}
	if req.Strategy != "" {
		r.Strategy = req.Strategy
	}
	if pr != nil {
		pr.noteRoute(r)
	}
	if len(r.Providers) == 0 {
		return Route{}, &sdk.Error{Code: sdk.CodeUnsupported, Field: "item.category",
			Message: fmt.Sprintf("no provider quotes category %s", req.Item.Category)}
	}
	return r, nil
}
