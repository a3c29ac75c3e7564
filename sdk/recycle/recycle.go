package recycle

import (
	"context"

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
)

// Orderer creates recycle orders from quotes and reads them back
// (sdk.CapOrders). CreateOrder is never retried blindly by the host.
type Orderer interface {
	CreateOrder(ctx context.Context, req *CreateOrderRequest) (*CreateOrderResponse, error)
	GetOrder(ctx context.Context, req *GetOrderRequest) (*GetOrderResponse, error)
}

// Tracker reads an order's shipment trace (sdk.CapTracking).
type Tracker interface {
	TrackOrder(ctx context.Context, req *TrackOrderRequest) (*TrackOrderResponse, error)
}

// Inspector reads an order's inspection report (sdk.CapInspection).
type Inspector interface {
	GetInspection(ctx context.Context, req *GetInspectionRequest) (*GetInspectionResponse, error)
}

// Settler reads an order's settlement (sdk.CapSettlement).
type Settler interface {
	GetSettlement(ctx context.Context, req *GetSettlementRequest) (*GetSettlementResponse, error)
}

// TradeInCreator links a recycle order to a new-device order
// (sdk.CapTradeIn).
type TradeInCreator interface {
	CreateTradeIn(ctx context.Context, req *CreateTradeInRequest) (*CreateTradeInResponse, error)
}

// This package serves its operations wherever package sdk's dispatcher runs
// (sdk.Serve, sdk/wasm's guest, sdk/rpc's Dispatcher): sdk cannot import it,
// so it hands the dispatcher, through package bridge, a Binder per
// operation when it initializes, before any package importing it does. A
// provider implementing one of these interfaces imports this package, so
// its binary always has them.
func init() {
	bridge.RegisterOp(bridge.OpOrderCreate, bind(Orderer.CreateOrder))
	bridge.RegisterOp(bridge.OpOrderGet, bind(Orderer.GetOrder))
	bridge.RegisterOp(bridge.OpOrderTrack, bind(Tracker.TrackOrder))
	bridge.RegisterOp(bridge.OpInspection, bind(Inspector.GetInspection))
	bridge.RegisterOp(bridge.OpSettlement, bind(Settler.GetSettlement))
	bridge.RegisterOp(bridge.OpTradeIn, bind(TradeInCreator.CreateTradeIn))
}

// bind returns the Binder of the operation an interface's method serves: a
// provider implementing the interface P gets a Method that decodes a *Req
// and calls the method.
func bind[P, Req, Resp any](method func(P, context.Context, *Req) (*Resp, error)) bridge.Binder {
	return func(provider any) bridge.Method {
		p, ok := provider.(P)
		if !ok {
			return nil
		}
		return func(ctx context.Context, payload []byte, decode func([]byte, any) error) (any, error) {
			req := new(Req)
			if err := decode(payload, req); err != nil {
				return nil, err
			}
			resp, err := method(p, ctx, req)
			if resp == nil {
				return nil, err // no answer is nil, not a nil *Resp
			}
			return resp, err
		}
	}
}
