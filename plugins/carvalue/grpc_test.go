package carvalue_test

import (
	"context"
	"testing"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// The adapter as the host sees it, over gRPC: quotes, look-ups and errors
// survive the plugin boundary.
func TestOverGRPC(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a := carvalue.New()
	a.Now = e.clock.Now
	p := sdktest.Start(t, a)
	cfg := e.sb.AdapterConfig(e.srv.URL)
	secrets := map[string]string{"secret": cfg["secret"]}
	delete(cfg, "secret")
	m := sdktest.Configure(t, p, cfg, secrets)
	if m.ID != "carvalue" || m.Limits.CostPerCall == nil {
		t.Fatalf("manifest %+v", m)
	}
	ctx := context.Background()
	resp, err := p.Quote(ctx, &sdk.QuoteRequest{Item: carItem(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Quote.Price.Amount <= 0 || resp.Quote.Tiers == nil || resp.Quote.Tiers.Guide.Amount != 39_880_000 {
		t.Errorf("quote %+v", resp.Quote)
	}
	if _, err := p.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindCity, Query: "宣城"}); err != nil {
		t.Errorf("catalog: %v", err)
	}
	_, err = p.Quote(ctx, &sdk.QuoteRequest{Item: carItem(func(c *sdk.Car) { c.TypeID = "9999" })})
	if se := sdkErr(t, err); se.Code != sdk.CodeNotFound || se.ProviderCode != "10025" || se.ProviderMessage != "查无数据" {
		t.Errorf("error over gRPC: %+v", se)
	}
	_, err = p.Quote(ctx, &sdk.QuoteRequest{Item: carItem(func(c *sdk.Car) { c.Accident = intp(7) })})
	if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument || se.Field != "item.car.accident" {
		t.Errorf("invalid input over gRPC: %+v", se)
	}
	if n := e.sb.Billed(sandbox.DemoAppID); n != 1 {
		t.Errorf("billed %d, want 1", n)
	}
}
