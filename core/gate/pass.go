package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

// The tenant gate. Every operation that calls a provider resolves its
// provider first (a quote's route, an order's quote, a catalog's named
// provider, a trade-in's two legs, an order read's stored provider) and
// then passes here, once: the tenant's entitlements (tenants[].providers
// and categories in host.yaml, enforced in Go whatever the policies say)
// and the compliance rules decide, and only then is an invoke.Pass made.
// Package invoke refuses every call without a pass naming its provider,
// and its Minter is this gate's alone, so an operation added later cannot
// reach a provider without passing the gate.

// claim takes inv's one Minter.
func (g *Gate) claim(inv *invoke.Service) error {
	g.inv = inv
	m, err := inv.Minter()
	if err != nil {
		return err
	}
	g.minter = m
	return nil
}

// errNoMinter is a call cleared by a gate that has no Minter: refused.
var errNoMinter = errors.New("gate: no minter (SetInvoke was not called, or invoke's minter was taken)")

func (g *Gate) mint(tenant string, providers []string) (*invoke.Pass, error) {
	if g.minter == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: errNoMinter.Error()}
	}
	return g.minter.Mint(tenant, providers...), nil
}

func tenantID(t *invoke.Tenant) string {
	if t == nil {
		return ""
	}
	return t.ID
}

// entitled checks that tenant may use each of providers and category ("":
// none): a tenant that names none in host.yaml may use all. The host's own
// request (nil) may use all.
func (g *Gate) entitled(tenant *invoke.Tenant, providers []string, category sdk.Category) error {
	if tenant == nil {
		return nil
	}
	attrs := g.tenants[tenant.ID]
	if category != "" && len(attrs.Categories) > 0 && !slices.Contains(attrs.Categories, string(category)) {
		return &sdk.Error{Code: sdk.CodeForbidden, Field: "item.category",
			Message: fmt.Sprintf("your account is not entitled to category %s", category)}
	}
	if len(attrs.Providers) == 0 {
		return nil
	}
	for _, p := range providers {
		if !slices.Contains(attrs.Providers, p) {
			return &sdk.Error{Code: sdk.CodeForbidden, Field: "provider",
				Message: fmt.Sprintf("your account is not entitled to provider %s", p)}
		}
	}
	return nil
}

// Entitled keeps, of providers, those the decision's tenant may use (a
// route the policies did not choose: the built-in router's, an
// embedder's).
func (d *Decision) Entitled(providers []string) []string {
	out := make([]string, 0, len(providers))
	for _, p := range providers {
		if d.g.entitled(d.sub.Tenant, []string{p}, "") == nil {
			out = append(out, p)
		}
	}
	return out
}

// Pass is the decision's leave to call providers, its provider(s) resolved:
// the tenant's entitlement to each provider and to the item's category,
// the compliance rules (already run by Comply, or run now), then the pass.
func (d *Decision) Pass(providers []string) (*invoke.Pass, error) {
	var cat sdk.Category
	if d.sub.Item != nil {
		cat = d.sub.Item.Category
	}
	if err := d.g.entitled(d.sub.Tenant, providers, cat); err != nil {
		return nil, err
	}
	if err := d.Comply(); err != nil {
		return nil, err
	}
	return d.g.mint(tenantID(d.sub.Tenant), providers)
}

// Order clears an order, or a trade-in's two legs, its providers resolved
// (the quote's, and a trade-in's catalog provider): the compliance rules
// of kind order read them as the request's providers, with the customer
// (the phone masked in the decision log, never the name or the address)
// and the trade-in's old item when it has one.
func (g *Gate) Order(ctx context.Context, tenant *invoke.Tenant, order *policy.Order, item *sdk.Item, providers ...string) (*invoke.Pass, error) {
	d := g.Begin(ctx, nil, Subject{Tenant: tenant, Kind: policy.KindOrder, Order: order, Item: item, Providers: providers})
	defer d.Finish(ctx)
	return d.Pass(providers)
}

// Catalog clears a catalog search or read at provider (kind catalog).
func (g *Gate) Catalog(ctx context.Context, tenant *invoke.Tenant, provider string) (*invoke.Pass, error) {
	d := g.Begin(ctx, nil, Subject{Tenant: tenant, Kind: policy.KindCatalog, Providers: []string{provider}})
	defer d.Finish(ctx)
	return d.Pass([]string{provider})
}

// Read clears a read of one of the tenant's own orders at its provider
// (tracking, inspection, settlement): the order was decided when it was
// made; the tenant must still be entitled to the provider.
func (g *Gate) Read(tenant *invoke.Tenant, provider string) (*invoke.Pass, error) {
	if err := g.entitled(tenant, []string{provider}, ""); err != nil {
		return nil, err
	}
	return g.mint(tenantID(tenant), []string{provider})
}

// Background clears the host's own work on a tenant's records (polling an
// order, recovering an interrupted request): what the tenant asked was
// decided when it asked.
func (g *Gate) Background(tenantID string, providers ...string) (*invoke.Pass, error) {
	return g.mint(tenantID, providers)
}
