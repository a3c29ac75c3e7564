//go:build wasip1

// Command recycler is a provider that takes recycle orders, as a WASM
// module, for the runtime's tests: the guest SDK serves the order side
// (sdk/recycle) of a provider that implements it, with no call of the
// author's beyond wasm.Serve. The tests build it themselves:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o recycler.wasm ./core/wasm/testdata/recycler
package main

import (
	"context"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/wasm"
)

type provider struct{}

func (provider) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "recycler", Version: "1", Status: sdk.StatusStable,
		Categories: []sdk.Category{sdk.CategoryPhone}, Capabilities: []sdk.Capability{sdk.CapOrders}}
}

func (provider) CreateOrder(_ context.Context, req *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	if req.QuoteID == "" {
		return nil, sdk.InvalidField("quote_id", "is required")
	}
	return &recycle.CreateOrderResponse{Order: recycle.Order{Provider: "recycler", OrderID: "o-" + req.QuoteID,
		QuoteID: req.QuoteID, State: recycle.OrderWaitingToShip, Logistics: req.Logistics, Customer: &req.Customer}}, nil
}

func (provider) GetOrder(_ context.Context, req *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	return &recycle.GetOrderResponse{Order: recycle.Order{Provider: "recycler", OrderID: req.OrderID, State: recycle.OrderInTransit}}, nil
}

var _ recycle.Orderer = provider{}

func init() { wasm.Serve(provider{}) }

func main() {}
