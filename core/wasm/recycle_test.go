package wasm_test

import (
	"context"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// The guest SDK serves the order side of a provider that implements
// sdk/recycle's interfaces (testdata/recycler), and answers unsupported
// for one that does not import sdk/recycle (the probe) or for an interface
// the provider lacks, as a plugin does.
func TestGuestServesTheOrderSide(t *testing.T) {
	path, sum := wasmtest.BuildGuest(t, "./testdata/recycler")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	man, err := rpc.Describe(ctx, m)
	if err != nil || !man.Has(sdk.CapOrders) {
		t.Fatalf("describe: %+v, %v", man, err)
	}
	r := rpc.NewRemote(m, man)
	created, err := r.CreateOrder(ctx, &recycle.CreateOrderRequest{QuoteID: "q1",
		Customer: recycle.Customer{Name: "张三", Phone: "138****6789"}, Logistics: recycle.LogisticsStore})
	if err != nil {
		t.Fatal(err)
	}
	if o := created.Order; o.OrderID != "o-q1" || o.State != recycle.OrderWaitingToShip ||
		o.Logistics != recycle.LogisticsStore || o.Customer == nil || o.Customer.Name != "张三" {
		t.Fatalf("create: %+v", o)
	}
	got, err := r.GetOrder(ctx, &recycle.GetOrderRequest{OrderID: "o-q1"})
	if err != nil || got.Order.State != recycle.OrderInTransit {
		t.Fatalf("get: %+v, %v", got, err)
	}
	_, err = r.CreateOrder(ctx, &recycle.CreateOrderRequest{})
	if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument || se.Field != "quote_id" {
		t.Errorf("the provider's error: %+v", se)
	}
	_, err = r.TrackOrder(ctx, &recycle.TrackOrderRequest{OrderID: "o-q1"})
	if se, want := sdkErr(t, err), rpc.Unsupported("recycler", sdk.CapTracking); *se != *want {
		t.Errorf("an interface the provider lacks: %+v", se)
	}

	probe := load(t, wasm.Config{}, nil)
	_, err = probe.remote.CreateOrder(ctx, &recycle.CreateOrderRequest{QuoteID: "q1"})
	if se, want := sdkErr(t, err), rpc.Unsupported("probe", sdk.CapOrders); *se != *want {
		t.Errorf("a guest without sdk/recycle: %+v", se)
	}
}
