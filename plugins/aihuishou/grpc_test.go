package aihuishou

import (
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// The adapter as the host sees it, over gRPC: quotes, an order's life and
// errors survive the plugin boundary.
func TestOverGRPC(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 3})
	p := sdktest.Start(t, e.a)
	cfg := e.sb.AdapterConfig(e.srv.URL)
	secrets := map[string]string{"app_secret": cfg["app_secret"]}
	delete(cfg, "app_secret")
	m := sdktest.Configure(t, p, cfg, secrets)
	if m.ID != ID || m.Limits.DailyQuota != 2000 || m.Limits.MaxBatch != 50 {
		t.Fatalf("manifest %+v", m)
	}
	q, err := p.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone})
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone, Detail: true})
	if err != nil || d.Quote.Breakdown == nil || d.Quote.Breakdown.FinalPrice.Amount != d.Quote.Price.Amount {
		t.Fatalf("detail over gRPC: %+v %v", d, err)
	}
	o, err := p.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: q.Quote.QuoteID,
		Customer: recycle.Customer{Name: "王五", Phone: "139****1234", Address: "南京市鼓楼区"}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(32 * time.Hour)
	s, err := p.GetSettlement(ctx(t), &recycle.GetSettlementRequest{OrderID: o.Order.OrderID})
	if err != nil || s.Settlement.Status != "paid" {
		t.Fatalf("settlement over gRPC: %+v %v", s, err)
	}
	_, err = p.Quote(ctx(t), &sdk.QuoteRequest{Item: phone("iPhone 99", "128GB", sdk.ConditionGood)})
	se := sdk.AsError(err)
	if se == nil || se.Code != sdk.CodeNotFound || se.ProviderCode != "40402" || se.ProviderMessage == "" {
		t.Errorf("error over gRPC: %+v", se)
	}
}
