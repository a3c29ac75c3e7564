package rpc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// Remote is a provider on the far side of an Invoker: a plugin process, a
// WASM instance. It implements every capability interface, sdk's and
// sdk/recycle's; which ones the provider really offers is in its manifest,
// and the others answer unsupported.
type Remote struct {
	inv      Invoker
	wire     WireInvoker // inv, when its far side may speak the binary envelope
	manifest sdk.Manifest
}

// NewRemote returns a Remote speaking through inv. manifest is what the far
// side described (see Describe).
func NewRemote(inv Invoker, manifest sdk.Manifest) *Remote {
	r := &Remote{inv: inv, manifest: manifest}
	r.wire, _ = inv.(WireInvoker)
	return r
}

// Describe asks the far side for its manifest.
func Describe(ctx context.Context, inv Invoker) (sdk.Manifest, error) {
	var m sdk.Manifest
	out, err := inv.Invoke(ctx, OpDescribe, nil)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return m, &sdk.Error{Code: sdk.CodeProviderError, Message: "decoding manifest: " + err.Error()}
	}
	return m, nil
}

// Manifest returns the manifest the far side last described.
func (r *Remote) Manifest() sdk.Manifest { return r.manifest }

func invoke[Req, Resp any](ctx context.Context, r *Remote, op string, req *Req) (*Resp, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "encoding request: " + err.Error()}
	}
	out, err := r.inv.Invoke(ctx, op, payload)
	if err != nil {
		return nil, err
	}
	resp := new(Resp)
	if err := json.Unmarshal(out, resp); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: fmt.Sprintf("decoding %s answer: %v", op, err)}
	}
	return resp, nil
}

// Configure hands the far side its configuration; the manifest it answers
// becomes the Remote's manifest.
func (r *Remote) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	resp, err := invoke[sdk.ConfigureRequest, sdk.ConfigureResponse](ctx, r, OpConfigure, req)
	if err != nil {
		return nil, err
	}
	r.manifest = resp.Manifest
	return resp, nil
}

// Quote implements sdk.Quoter.
func (r *Remote) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	if r.speaksWire() {
		return callWire[sdk.QuoteResponse](ctx, r, OpQuote, func(b []byte) []byte { b, _ = req.AppendBinary(b); return b })
	}
	return invoke[sdk.QuoteRequest, sdk.QuoteResponse](ctx, r, OpQuote, req)
}

// QuoteBatch implements sdk.BatchQuoter.
func (r *Remote) QuoteBatch(ctx context.Context, req *sdk.QuoteBatchRequest) (*sdk.QuoteBatchResponse, error) {
	if r.speaksWire() {
		return callWire[sdk.QuoteBatchResponse](ctx, r, OpQuoteBatch, func(b []byte) []byte { b, _ = req.AppendBinary(b); return b })
	}
	return invoke[sdk.QuoteBatchRequest, sdk.QuoteBatchResponse](ctx, r, OpQuoteBatch, req)
}

// speaksWire reports whether the far side decodes this SDK's binary
// envelope. It is asked at every call: a WASM module can be reloaded with
// one built against another SDK.
func (r *Remote) speaksWire() bool { return r.wire != nil && r.wire.WireVersion() == WireVersion }

// callWire sends a request in the binary envelope; the answer may come
// back in it or as JSON.
func callWire[Resp any, P interface {
	*Resp
	UnmarshalBinary([]byte) error
}](ctx context.Context, r *Remote, op string, enc func([]byte) []byte) (*Resp, error) {
	resp := P(new(Resp))
	read := func(out []byte) error {
		var err error
		if IsWire(out) {
			err = resp.UnmarshalBinary(out)
		} else {
			err = json.Unmarshal(out, resp)
		}
		if err != nil {
			return &sdk.Error{Code: sdk.CodeProviderError, Message: fmt.Sprintf("decoding %s answer: %v", op, err)}
		}
		return nil
	}
	if c, ok := r.wire.(WireCaller); ok {
		if err := c.CallWire(ctx, op, enc, read); err != nil {
			return nil, err
		}
		return resp, nil
	}
	out, err := r.inv.Invoke(ctx, op, enc(nil))
	if err != nil {
		return nil, err
	}
	if err := read(out); err != nil {
		return nil, err
	}
	return resp, nil
}

// SearchCatalog implements sdk.Cataloger.
func (r *Remote) SearchCatalog(ctx context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	return invoke[sdk.SearchCatalogRequest, sdk.SearchCatalogResponse](ctx, r, OpCatalogSearch, req)
}

// GetCatalogItem implements sdk.Cataloger.
func (r *Remote) GetCatalogItem(ctx context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	return invoke[sdk.GetCatalogItemRequest, sdk.GetCatalogItemResponse](ctx, r, OpCatalogGet, req)
}

// CreateOrder implements recycle.Orderer.
func (r *Remote) CreateOrder(ctx context.Context, req *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	return invoke[recycle.CreateOrderRequest, recycle.CreateOrderResponse](ctx, r, OpOrderCreate, req)
}

// GetOrder implements recycle.Orderer.
func (r *Remote) GetOrder(ctx context.Context, req *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	return invoke[recycle.GetOrderRequest, recycle.GetOrderResponse](ctx, r, OpOrderGet, req)
}

// TrackOrder implements recycle.Tracker.
func (r *Remote) TrackOrder(ctx context.Context, req *recycle.TrackOrderRequest) (*recycle.TrackOrderResponse, error) {
	return invoke[recycle.TrackOrderRequest, recycle.TrackOrderResponse](ctx, r, OpOrderTrack, req)
}

// GetInspection implements recycle.Inspector.
func (r *Remote) GetInspection(ctx context.Context, req *recycle.GetInspectionRequest) (*recycle.GetInspectionResponse, error) {
	return invoke[recycle.GetInspectionRequest, recycle.GetInspectionResponse](ctx, r, OpInspection, req)
}

// GetSettlement implements recycle.Settler.
func (r *Remote) GetSettlement(ctx context.Context, req *recycle.GetSettlementRequest) (*recycle.GetSettlementResponse, error) {
	return invoke[recycle.GetSettlementRequest, recycle.GetSettlementResponse](ctx, r, OpSettlement, req)
}

// CreateTradeIn implements recycle.TradeInCreator.
func (r *Remote) CreateTradeIn(ctx context.Context, req *recycle.CreateTradeInRequest) (*recycle.CreateTradeInResponse, error) {
	return invoke[recycle.CreateTradeInRequest, recycle.CreateTradeInResponse](ctx, r, OpTradeIn, req)
}

// Interface guards.
var (
	_ sdk.Configurer         = (*Remote)(nil)
	_ sdk.Quoter             = (*Remote)(nil)
	_ sdk.BatchQuoter        = (*Remote)(nil)
	_ sdk.Cataloger          = (*Remote)(nil)
	_ recycle.Orderer        = (*Remote)(nil)
	_ recycle.Tracker        = (*Remote)(nil)
	_ recycle.Inspector      = (*Remote)(nil)
	_ recycle.Settler        = (*Remote)(nil)
	_ recycle.TradeInCreator = (*Remote)(nil)
)
