package recycle_test

import (
	"context"
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/filltest"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/rpc"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// tracker takes no orders but traces shipments; it panics, fails or answers
// nothing on demand.
type tracker struct{}

func (tracker) Manifest() sdk.Manifest { return sdk.Manifest{ID: "t"} }
func (tracker) TrackOrder(_ context.Context, req *recycle.TrackOrderRequest) (*recycle.TrackOrderResponse, error) {
	switch req.OrderID {
	case "panic":
		panic("boom")
	case "missing":
		return nil, sdk.Errorf(sdk.CodeNotFound, "no order %s", req.OrderID)
	case "nothing":
		return nil, nil
	}
	return &recycle.TrackOrderResponse{Tracking: recycle.Tracking{TrackingNo: req.TrackingNo, Status: "in_transit"}}, nil
}

// The dispatcher serves the interfaces a provider implements and answers
// the others unsupported; a panic, an error or no answer in an order
// operation is handled as in a quote.
func TestTheDispatcherServesWhatTheProviderImplements(t *testing.T) {
	ctx := context.Background()
	d := rpc.NewDispatcher(tracker{}, nil)
	r := rpc.NewRemote(d, tracker{}.Manifest())
	resp, err := r.TrackOrder(ctx, &recycle.TrackOrderRequest{OrderID: "o1", TrackingNo: "SF1"})
	if err != nil || resp.Tracking.TrackingNo != "SF1" || resp.Tracking.Status != "in_transit" {
		t.Fatalf("track: %+v, %v", resp, err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want *sdk.Error
	}{
		{"create", func() error { _, err := r.CreateOrder(ctx, &recycle.CreateOrderRequest{}); return err },
			rpc.Unsupported("t", sdk.CapOrders)},
		{"get", func() error { _, err := r.GetOrder(ctx, &recycle.GetOrderRequest{}); return err },
			rpc.Unsupported("t", sdk.CapOrders)},
		{"inspection", func() error { _, err := r.GetInspection(ctx, &recycle.GetInspectionRequest{}); return err },
			rpc.Unsupported("t", sdk.CapInspection)},
		{"settlement", func() error { _, err := r.GetSettlement(ctx, &recycle.GetSettlementRequest{}); return err },
			rpc.Unsupported("t", sdk.CapSettlement)},
		{"trade-in", func() error { _, err := r.CreateTradeIn(ctx, &recycle.CreateTradeInRequest{}); return err },
			rpc.Unsupported("t", sdk.CapTradeIn)},
		{"an error", func() error { _, err := r.TrackOrder(ctx, &recycle.TrackOrderRequest{OrderID: "missing"}); return err },
			&sdk.Error{Code: sdk.CodeNotFound, Message: "no order missing"}},
		{"no answer", func() error { _, err := r.TrackOrder(ctx, &recycle.TrackOrderRequest{OrderID: "nothing"}); return err },
			&sdk.Error{Code: sdk.CodeProviderError, Message: "provider returned neither an answer nor an error"}},
		{"a panic", func() error { _, err := r.TrackOrder(ctx, &recycle.TrackOrderRequest{OrderID: "panic"}); return err },
			&sdk.Error{Code: sdk.CodeProviderError, Message: "provider panicked in order.track: boom"}},
		{"a bad request", func() error { _, err := d.Invoke(ctx, rpc.OpOrderTrack, []byte(`{"order_id":1}`)); return err },
			&sdk.Error{Code: sdk.CodeInvalidArgument, Message: "decoding request: json: cannot unmarshal number into Go struct field TrackOrderRequest.order_id of type string"}},
	} {
		got := sdk.AsError(tc.call())
		if got == nil || *got != *tc.want {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

// What a provider author writes and nothing more (a provider implementing
// an order interface, served by sdk's own test harness over gRPC) serves
// the order operations: importing this package is what registers them.
func TestServedOverGRPCWithNoCallOfTheAuthors(t *testing.T) {
	p := &recycler{answers: map[string]any{}}
	for _, o := range orderOps() {
		p.answers[o.op] = o.resp
	}
	create := orderOps()[0]
	resp, err := sdktest.Start(t, p).CreateOrder(context.Background(), create.req.(*recycle.CreateOrderRequest))
	if err != nil {
		t.Fatal(err)
	}
	filltest.EqualJSON(t, resp, create.resp)
	filltest.EqualJSON(t, p.got, create.req)
}
