package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// The findings of issue 23, each as the behaviour a tenant relies on:
// tenants a (entitled to everything) and b (configured per test) of the
// order environment, with rec (quotes, orders, trade-ins) and shop (a
// catalog) as providers.

// tenantEnv is the order environment with b entitled to providers only
// (none: all), an admin tenant ops, and the policies in dir ("": none).
func tenantEnv(t *testing.T, dir string, bProviders ...string) *orderEnv {
	t.Helper()
	clock := &manualClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	e := &orderEnv{clock: clock, rec: newRecycler(clock), shop: &shop{}, dir: t.TempDir(), policies: dir}
	e.hooks = newHookSink(t, hookSecret, clock)
	e.configure = func(c *core.Config) {
		c.Tenants[1].Providers = bProviders
		c.Tenants = append(c.Tenants, core.TenantConfig{ID: "ops", APIKeys: []string{"key-ops-0123456789"}, Admin: true})
	}
	e.start(t, core.WithGuards("rec", core.GuardConfig{CacheTTL: time.Hour}))
	return e
}

func tradeInOf(quoteID string, item *sdk.Item) *core.TradeInRequest {
	return &core.TradeInRequest{Old: core.TradeInOld{QuoteID: quoteID, Item: item},
		New:      core.TradeInNew{Provider: "shop", ItemID: "item-1", SKUID: "sku-1", NewOrderID: "N1"},
		Customer: recycle.Customer{Name: "张三", Phone: "138****6789", Address: "上海市徐汇区 1 号"}}
}

// Finding 1: beta ordered alpha's quote, with no provider named, at a
// provider beta is not entitled to; alpha's own order then failed.
func TestATenantCannotOrderAnotherTenantsQuote(t *testing.T) {
	e := tenantEnv(t, "", "shop")
	q := e.quote(t) // a's
	for name, req := range map[string]*core.CreateOrderRequest{
		"no provider":    orderReq(q),
		"provider named": {Provider: "rec", QuoteID: q, Customer: orderReq(q).Customer},
	} {
		_, err := e.h.CreateOrder(bg, e.b, "steal-"+strings.ReplaceAll(name, " ", "-"), req)
		se := sdk.AsError(err)
		if se.Code != sdk.CodeNotFound {
			t.Fatalf("%s: b ordering a's quote: %v, want not_found", name, err)
		}
		// The same answer as for a quote that never existed: no hint.
		_, unknown := e.h.CreateOrder(bg, e.b, "guess-"+strings.ReplaceAll(name, " ", "-"), orderReq("Q999"))
		if strings.ReplaceAll(sdk.AsError(unknown).Message, "Q999", q) != se.Message {
			t.Fatalf("%s: %q and %q tell a's quote from an unknown one", name, se.Message, sdk.AsError(unknown).Message)
		}
	}
	if _, err := e.h.CreateOrder(bg, e.a, "mine", orderReq(q)); err != nil {
		t.Fatalf("a's own order on its quote: %v", err)
	}
	if n := e.rec.creates.Load(); n != 1 {
		t.Fatalf("%d orders at the provider, want a's one", n)
	}
	// b's own quote at a provider it is not entitled to: refused before
	// any provider call.
	if _, err := e.h.Quote(bg, e.b, &core.QuoteRequest{Item: phoneItem(), Providers: []string{"rec"}}); sdk.CodeOf(err) != sdk.CodeForbidden {
		t.Fatalf("b quoting at rec: %v, want forbidden", err)
	}
}

// Finding 2: a trade-in ran no compliance at all, and its quote step
// called the provider directly.
func TestTradeInsPassTheGateOnBothLegs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(`
compliance:
  - name: no-shop-trade-ins
    when: request.kind == 'order' && 'shop' in request.providers
    message: trade-ins against shop are closed
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e := tenantEnv(t, dir, "shop")
	it := phoneItem()
	// b is entitled to shop only: the recycle leg (rec) is refused.
	_, err := e.h.CreateTradeIn(bg, e.b, "ti-b", tradeInOf("", &it))
	if se := sdk.AsError(err); se.Code != sdk.CodeForbidden || !strings.Contains(se.Message, "provider rec") {
		t.Fatalf("b's trade-in: %v, want forbidden for rec", err)
	}
	// a is entitled to both; the policy refuses the catalog leg's provider.
	_, err = e.h.CreateTradeIn(bg, e.a, "ti-a", tradeInOf("", &it))
	if se := sdk.AsError(err); se.Code != sdk.CodeForbidden || se.Message != "trade-ins against shop are closed" {
		t.Fatalf("a's trade-in: %v, want the policy's denial", err)
	}
	if e.rec.creates.Load() != 0 || e.shop.calls.Load() != 0 {
		t.Fatalf("a refused trade-in reached the providers: %d orders, %d catalog reads", e.rec.creates.Load(), e.shop.calls.Load())
	}
	// A trade-in on a's quote by b: not found, as for an order.
	q := e.quote(t)
	if _, err := e.h.CreateTradeIn(bg, e.b, "ti-b2", tradeInOf(q, nil)); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Fatalf("b's trade-in on a's quote: %v, want not_found", err)
	}
}

// Finding 3: the quote cache handed alpha's valuation ids to ops and beta.
func TestTheCacheNeverHandsAnOrderableQuoteToTwoTenants(t *testing.T) {
	e := tenantEnv(t, "")
	ops, _ := e.h.Authenticate("key-ops-0123456789")
	ids := map[string]string{}
	for _, tn := range []*core.Tenant{e.a, e.b, ops, e.a} {
		q := e.quoteAs(t, tn)
		if other, ok := ids[q]; ok && other != tn.ID {
			t.Fatalf("quote %s handed to %s and %s", q, other, tn.ID)
		}
		ids[q] = tn.ID
	}
	if len(ids) != 3 {
		t.Fatalf("quote ids %v: want one per tenant, a's second from the cache", ids)
	}
}

// Finding 4: a provider's text carried another tenant's order number.
func TestAProvidersTextNeverReachesATenant(t *testing.T) {
	e := tenantEnv(t, "")
	q := e.quote(t)
	first, err := e.h.CreateOrder(bg, e.a, "one", orderReq(q))
	if err != nil {
		t.Fatal(err)
	}
	pid := first.Order.ProviderOrderID
	// The provider answers a second order on the quote with a conflict
	// whose text names its order number.
	req := orderReq(q)
	req.Logistics = recycle.LogisticsStore
	_, err = e.h.CreateOrder(bg, e.a, "two", req)
	var se *sdk.Error
	if !errors.As(err, &se) || se.Code != sdk.CodeConflict {
		t.Fatalf("second order: %v, want conflict", err)
	}
	if se.ProviderMessage != "" || strings.Contains(se.Error(), pid) {
		t.Fatalf("the tenant reads the provider's text: %#v", se)
	}
	page, err := e.h.Audit(bg, e.a, core.AuditFilter{Outcome: "conflict"})
	if err != nil || len(page.Entries) == 0 {
		t.Fatalf("a's audit: %+v %v", page, err)
	}
	for _, en := range page.Entries {
		for k, v := range en.Detail {
			if strings.Contains(v, pid) {
				t.Fatalf("a's audit detail %s holds the provider's text: %q", k, v)
			}
		}
	}
	// An admin reads the provider's own words; a tenant reads no one else's log.
	ops, _ := e.h.Authenticate("key-ops-0123456789")
	page, err = e.h.Audit(bg, ops, core.AuditFilter{Tenant: "a", Outcome: "conflict"})
	if err != nil || len(page.Entries) == 0 || !strings.Contains(page.Entries[0].Detail["provider_error"], pid) {
		t.Fatalf("the admin's view: %+v %v", page, err)
	}
	if _, err := e.h.Audit(bg, e.b, core.AuditFilter{Tenant: "a"}); sdk.CodeOf(err) != sdk.CodeForbidden {
		t.Fatalf("b reading a's audit: %v, want forbidden", err)
	}
}

// Finding 5: the catalog ignored entitlements and was audited to no one.
func TestTheCatalogIsEntitledAndAuditedToItsTenant(t *testing.T) {
	e := tenantEnv(t, "", "rec")
	if _, err := e.h.GetCatalogItem(bg, e.b, "shop", &sdk.GetCatalogItemRequest{ID: "item-1"}); sdk.CodeOf(err) != sdk.CodeForbidden {
		t.Fatalf("b reading shop's catalog: %v, want forbidden", err)
	}
	if _, err := e.h.SearchCatalog(bg, e.b, "shop", &sdk.SearchCatalogRequest{Query: "x"}); sdk.CodeOf(err) != sdk.CodeForbidden {
		t.Fatalf("b searching shop's catalog: %v, want forbidden", err)
	}
	if e.shop.calls.Load() != 0 {
		t.Fatal("a refused catalog read reached the provider")
	}
	if _, err := e.h.GetCatalogItem(bg, e.a, "shop", &sdk.GetCatalogItemRequest{ID: "item-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.SearchCatalog(bg, e.a, "nowhere", &sdk.SearchCatalogRequest{}); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Fatalf("an unknown provider: %v, want not_found", err)
	}
	page, err := e.h.Audit(bg, e.a, core.AuditFilter{Provider: "shop"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Op != "catalog.get" || page.Entries[0].Tenant != "a" {
		t.Fatalf("a's audit of its catalog read: %+v %v", page, err)
	}
}
