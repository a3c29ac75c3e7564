package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
)

// The operation names that cross a runtime boundary (gRPC and WASM alike).
const (
	OpDescribe      = "describe"
	OpConfigure     = "configure"
	OpQuote         = "quote"
	OpQuoteBatch    = "quote_batch"
	OpCatalogSearch = "catalog.search"
	OpCatalogGet    = "catalog.get"
	OpOrderCreate   = "order.create"
	OpOrderGet      = "order.get"
	OpOrderTrack    = "order.track"
	OpInspection    = "order.inspection"
	OpSettlement    = "order.settlement"
	OpTradeIn       = "tradein.create"
)

// Invoker carries one encoded operation across a boundary and brings back the
// encoded answer or an error (an *Error for a provider's failure).
type Invoker interface {
	Invoke(ctx context.Context, op string, payload []byte) ([]byte, error)
}

// Dispatch runs one encoded operation against p: it decodes the request,
// calls the capability p implements, and encodes the answer. A capability p
// does not implement answers unsupported; a panic in p is recovered into a
// provider_error so one bad call never takes the process down. logger is
// handed to Configure.
func Dispatch(ctx context.Context, p Provider, op string, payload []byte, logger *slog.Logger) (out []byte, err error) {
	return AppendDispatch(ctx, nil, p, op, payload, logger)
}

// AppendDispatch is Dispatch appending the answer to dst, for a runtime that
// keeps one reply buffer across calls: an answer in the binary envelope is
// encoded straight into it. On an error dst comes back unchanged. A runtime
// that serves one provider for many calls uses a Dispatcher instead.
func AppendDispatch(ctx context.Context, dst []byte, p Provider, op string, payload []byte, logger *slog.Logger) (out []byte, err error) {
	var d Dispatcher
	d.init(p, logger)
	return d.Append(ctx, dst, op, payload)
}

// A Dispatcher serves one provider for many calls, as AppendDispatch does,
// with the provider's capabilities looked up once, when it is made: a WASM
// guest pays for every type assertion at every call (the guest SDK,
// sdk/wasm, serves through one). It is safe for concurrent use.
type Dispatcher struct {
	p      Provider
	logger *slog.Logger
	quoter Quoter
	batch  BatchQuoter

	mu    sync.Mutex
	block int            // AllocateInBlocks's n; 0 allocates one at a time
	reqs  []QuoteRequest // the unused rest of the current block
}

// AllocateInBlocks makes d allocate the quote requests it decodes n at a
// time, each block living as long as any request in it: one allocation
// for n calls, for a runtime where every allocation is costly (a Go guest
// compiled to WebAssembly pays more for one than for the rest of decoding
// a request). A provider that keeps a request beyond its call keeps its
// block's memory too. Call it before d serves.
func (d *Dispatcher) AllocateInBlocks(n int) { d.block = n }

func (d *Dispatcher) newQuoteRequest() *QuoteRequest {
	if d.block <= 1 {
		return new(QuoteRequest)
	}
	d.mu.Lock()
	if len(d.reqs) == 0 {
		d.reqs = make([]QuoteRequest, d.block)
	}
	r := &d.reqs[0]
	d.reqs = d.reqs[1:]
	d.mu.Unlock()
	return r
}

// NewDispatcher returns a Dispatcher for p; logger is handed to Configure.
func NewDispatcher(p Provider, logger *slog.Logger) *Dispatcher {
	d := &Dispatcher{}
	d.init(p, logger)
	return d
}

func (d *Dispatcher) init(p Provider, logger *slog.Logger) {
	d.p, d.logger = p, logger
	d.quoter, _ = p.(Quoter)
	d.batch, _ = p.(BatchQuoter)
}

// Append runs one encoded operation as AppendDispatch does.
func (d *Dispatcher) Append(ctx context.Context, dst []byte, op string, payload []byte) (out []byte, err error) {
	defer recoverDispatch(op, dst, &out, &err)
	out, err = d.append(ctx, dst, op, payload, false)
	return // one return keeps the defer open-coded: a deferred call is costly in a WASM guest
}

// AppendKept is Append for a payload its caller never changes or reuses
// afterwards: the strings of a request in the binary envelope are not
// copied but point into payload, which stays in memory while any of them
// does. A WASM guest, where a heap allocation of a payload's size costs more
// than the rest of a quote, uses it (sdk/wasm).
func (d *Dispatcher) AppendKept(ctx context.Context, dst []byte, op string, payload []byte) (out []byte, err error) {
	defer recoverDispatch(op, dst, &out, &err)
	out, err = d.append(ctx, dst, op, payload, true)
	return
}

// recoverDispatch turns a panic in a provider into its provider_error, and
// puts dst back on an error.
func recoverDispatch(op string, dst []byte, out *[]byte, err *error) {
	if r := recover(); r != nil {
		*out, *err = nil, &Error{Code: CodeProviderError, Message: fmt.Sprintf("provider panicked in %s: %v", op, r)}
	}
	if *err != nil {
		*out = dst
	}
}

// answered is the error of a provider's call: its own, or one when it
// returned neither an answer nor an error.
func answered(noAnswer bool, err error) error {
	if err != nil {
		return AsError(err)
	}
	if noAnswer {
		return &Error{Code: CodeProviderError, Message: "provider returned neither an answer nor an error"}
	}
	return nil
}

func badRequest(err error) error {
	return &Error{Code: CodeInvalidArgument, Message: "decoding request: " + err.Error()}
}

// append is Append without the recovery; kept says whether decoded strings
// may point into payload.
func (d *Dispatcher) append(ctx context.Context, dst []byte, op string, payload []byte, kept bool) ([]byte, error) {
	p := d.p
	// The id only names the provider in an unsupported error; a manifest can
	// be costly to build (and a WASM guest runs it at every call), so only then.
	id := func() string { return p.Manifest().ID }
	switch op {
	// quote and quote_batch are written out, not shared through a generic
	// helper taking functions: an indirect call is costly in a WASM guest.
	case OpQuote:
		switch {
		case d.quoter == nil:
			return nil, Unsupported(id(), CapQuote)
		case !IsWire(payload):
			return callDecoded(ctx, dst, payload, d.quoter.Quote)
		}
		req := d.newQuoteRequest()
		if err := decodeQuoteRequest(payload, req, kept); err != nil {
			return nil, badRequest(err)
		}
		resp, err := d.quoter.Quote(ctx, req)
		if err := answered(resp == nil, err); err != nil {
			return nil, err
		}
		return appendQuoteResponse(dst, resp), nil
	case OpQuoteBatch:
		switch {
		case d.batch == nil:
			return nil, Unsupported(id(), CapQuoteBatch)
		case !IsWire(payload):
			return callDecoded(ctx, dst, payload, d.batch.QuoteBatch)
		}
		req := new(QuoteBatchRequest)
		if err := decodeQuoteBatchRequest(payload, req, kept); err != nil {
			return nil, badRequest(err)
		}
		resp, err := d.batch.QuoteBatch(ctx, req)
		if err := answered(resp == nil, err); err != nil {
			return nil, err
		}
		return appendQuoteBatchResponse(dst, resp), nil
	case OpDescribe:
		return appendJSON(dst, p.Manifest())
	case OpConfigure:
		req := &ConfigureRequest{}
		if err := decode(payload, req); err != nil {
			return nil, err
		}
		req.Logger = d.logger
		c, ok := p.(Configurer)
		if !ok {
			return appendJSON(dst, &ConfigureResponse{Manifest: p.Manifest()})
		}
		return call(ctx, dst, req, c.Configure)
	case OpCatalogSearch:
		if c, ok := p.(Cataloger); ok {
			return callDecoded(ctx, dst, payload, c.SearchCatalog)
		}
		return nil, Unsupported(id(), CapCatalog)
	case OpCatalogGet:
		if c, ok := p.(Cataloger); ok {
			return callDecoded(ctx, dst, payload, c.GetCatalogItem)
		}
		return nil, Unsupported(id(), CapCatalog)
	case OpOrderCreate:
		if o, ok := p.(Orderer); ok {
			return callDecoded(ctx, dst, payload, o.CreateOrder)
		}
		return nil, Unsupported(id(), CapOrders)
	case OpOrderGet:
		if o, ok := p.(Orderer); ok {
			return callDecoded(ctx, dst, payload, o.GetOrder)
		}
		return nil, Unsupported(id(), CapOrders)
	case OpOrderTrack:
		if t, ok := p.(Tracker); ok {
			return callDecoded(ctx, dst, payload, t.TrackOrder)
		}
		return nil, Unsupported(id(), CapTracking)
	case OpInspection:
		if t, ok := p.(Inspector); ok {
			return callDecoded(ctx, dst, payload, t.GetInspection)
		}
		return nil, Unsupported(id(), CapInspection)
	case OpSettlement:
		if t, ok := p.(Settler); ok {
			return callDecoded(ctx, dst, payload, t.GetSettlement)
		}
		return nil, Unsupported(id(), CapSettlement)
	case OpTradeIn:
		if t, ok := p.(TradeInCreator); ok {
			return callDecoded(ctx, dst, payload, t.CreateTradeIn)
		}
		return nil, Unsupported(id(), CapTradeIn)
	}
	return nil, &Error{Code: CodeUnsupported, Message: fmt.Sprintf("unknown operation %q", op)}
}

func decode(payload []byte, v any) error {
	if len(payload) == 0 {
		return nil
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return &Error{Code: CodeInvalidArgument, Message: "decoding request: " + err.Error()}
	}
	return nil
}

func callDecoded[Req, Resp any](ctx context.Context, dst []byte, payload []byte, f func(context.Context, *Req) (*Resp, error)) ([]byte, error) {
	req := new(Req)
	if err := decode(payload, req); err != nil {
		return nil, err
	}
	return call(ctx, dst, req, f)
}

func call[Req, Resp any](ctx context.Context, dst []byte, req *Req, f func(context.Context, *Req) (*Resp, error)) ([]byte, error) {
	resp, err := f(ctx, req)
	if err := answered(resp == nil, err); err != nil {
		return nil, err
	}
	return appendJSON(dst, resp)
}

// appendJSON appends v's JSON to dst (without a copy when dst is empty).
func appendJSON(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || cap(dst) == 0 {
		return b, err
	}
	return append(dst, b...), nil
}

// Remote is a provider on the far side of an Invoker: a plugin process, a
// WASM instance. It implements every capability interface; which ones the
// provider really offers is in its manifest, and the others answer
// unsupported.
type Remote struct {
	inv      Invoker
	wire     WireInvoker // inv, when its far side may speak the binary envelope
	manifest Manifest
}

// NewRemote returns a Remote speaking through inv. manifest is what the far
// side described (see Describe).
func NewRemote(inv Invoker, manifest Manifest) *Remote {
	r := &Remote{inv: inv, manifest: manifest}
	r.wire, _ = inv.(WireInvoker)
	return r
}

// Describe asks the far side for its manifest.
func Describe(ctx context.Context, inv Invoker) (Manifest, error) {
	var m Manifest
	out, err := inv.Invoke(ctx, OpDescribe, nil)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return m, &Error{Code: CodeProviderError, Message: "decoding manifest: " + err.Error()}
	}
	return m, nil
}

// Manifest returns the manifest the far side last described.
func (r *Remote) Manifest() Manifest { return r.manifest }

func invoke[Req, Resp any](ctx context.Context, r *Remote, op string, req *Req) (*Resp, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Message: "encoding request: " + err.Error()}
	}
	out, err := r.inv.Invoke(ctx, op, payload)
	if err != nil {
		return nil, err
	}
	resp := new(Resp)
	if err := json.Unmarshal(out, resp); err != nil {
		return nil, &Error{Code: CodeProviderError, Message: fmt.Sprintf("decoding %s answer: %v", op, err)}
	}
	return resp, nil
}

// Configure hands the far side its configuration; the manifest it answers
// becomes the Remote's manifest.
func (r *Remote) Configure(ctx context.Context, req *ConfigureRequest) (*ConfigureResponse, error) {
	resp, err := invoke[ConfigureRequest, ConfigureResponse](ctx, r, OpConfigure, req)
	if err != nil {
		return nil, err
	}
	r.manifest = resp.Manifest
	return resp, nil
}

// Quote implements Quoter.
func (r *Remote) Quote(ctx context.Context, req *QuoteRequest) (*QuoteResponse, error) {
	if r.speaksWire() {
		return callWire(ctx, r, OpQuote, func(b []byte) []byte { return appendQuoteRequest(b, req) }, decodeQuoteResponse)
	}
	return invoke[QuoteRequest, QuoteResponse](ctx, r, OpQuote, req)
}

// QuoteBatch implements BatchQuoter.
func (r *Remote) QuoteBatch(ctx context.Context, req *QuoteBatchRequest) (*QuoteBatchResponse, error) {
	if r.speaksWire() {
		return callWire(ctx, r, OpQuoteBatch, func(b []byte) []byte { return appendQuoteBatchRequest(b, req) }, decodeQuoteBatchResponse)
	}
	return invoke[QuoteBatchRequest, QuoteBatchResponse](ctx, r, OpQuoteBatch, req)
}

// speaksWire reports whether the far side decodes this SDK's binary
// envelope. It is asked at every call: a WASM module can be reloaded with
// one built against another SDK.
func (r *Remote) speaksWire() bool { return r.wire != nil && r.wire.WireVersion() == WireVersion }

// A WireCaller is a WireInvoker that encodes a request in the binary
// envelope and decodes the answer next to the far side's memory: enc
// appends the request to a buffer the WireCaller keeps, and dec reads the
// answer where the far side left it (the bytes are valid during dec only).
// That is two copies of the payload fewer than Invoke. Remote uses it for
// quote and quote_batch when the far side speaks the envelope; the WASM
// runtime implements it.
type WireCaller interface {
	WireInvoker
	CallWire(ctx context.Context, op string, enc func([]byte) []byte, dec func(answer []byte) error) error
}

// callWire sends a request in the binary envelope; the answer may come
// back in it or as JSON.
func callWire[Resp any](ctx context.Context, r *Remote, op string, enc func([]byte) []byte, dec func([]byte, *Resp, bool) error) (*Resp, error) {
	resp := new(Resp)
	read := func(out []byte) error {
		var err error
		if IsWire(out) {
			err = dec(out, resp, false)
		} else {
			err = json.Unmarshal(out, resp)
		}
		if err != nil {
			return &Error{Code: CodeProviderError, Message: fmt.Sprintf("decoding %s answer: %v", op, err)}
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

// SearchCatalog implements Cataloger.
func (r *Remote) SearchCatalog(ctx context.Context, req *SearchCatalogRequest) (*SearchCatalogResponse, error) {
	return invoke[SearchCatalogRequest, SearchCatalogResponse](ctx, r, OpCatalogSearch, req)
}

// GetCatalogItem implements Cataloger.
func (r *Remote) GetCatalogItem(ctx context.Context, req *GetCatalogItemRequest) (*GetCatalogItemResponse, error) {
	return invoke[GetCatalogItemRequest, GetCatalogItemResponse](ctx, r, OpCatalogGet, req)
}

// CreateOrder implements Orderer.
func (r *Remote) CreateOrder(ctx context.Context, req *CreateOrderRequest) (*CreateOrderResponse, error) {
	return invoke[CreateOrderRequest, CreateOrderResponse](ctx, r, OpOrderCreate, req)
}

// GetOrder implements Orderer.
func (r *Remote) GetOrder(ctx context.Context, req *GetOrderRequest) (*GetOrderResponse, error) {
	return invoke[GetOrderRequest, GetOrderResponse](ctx, r, OpOrderGet, req)
}

// TrackOrder implements Tracker.
func (r *Remote) TrackOrder(ctx context.Context, req *TrackOrderRequest) (*TrackOrderResponse, error) {
	return invoke[TrackOrderRequest, TrackOrderResponse](ctx, r, OpOrderTrack, req)
}

// GetInspection implements Inspector.
func (r *Remote) GetInspection(ctx context.Context, req *GetInspectionRequest) (*GetInspectionResponse, error) {
	return invoke[GetInspectionRequest, GetInspectionResponse](ctx, r, OpInspection, req)
}

// GetSettlement implements Settler.
func (r *Remote) GetSettlement(ctx context.Context, req *GetSettlementRequest) (*GetSettlementResponse, error) {
	return invoke[GetSettlementRequest, GetSettlementResponse](ctx, r, OpSettlement, req)
}

// CreateTradeIn implements TradeInCreator.
func (r *Remote) CreateTradeIn(ctx context.Context, req *CreateTradeInRequest) (*CreateTradeInResponse, error) {
	return invoke[CreateTradeInRequest, CreateTradeInResponse](ctx, r, OpTradeIn, req)
}

// Interface guards.
var (
	_ Configurer     = (*Remote)(nil)
	_ Quoter         = (*Remote)(nil)
	_ BatchQuoter    = (*Remote)(nil)
	_ Cataloger      = (*Remote)(nil)
	_ Orderer        = (*Remote)(nil)
	_ Tracker        = (*Remote)(nil)
	_ Inspector      = (*Remote)(nil)
	_ Settler        = (*Remote)(nil)
	_ TradeInCreator = (*Remote)(nil)
)
