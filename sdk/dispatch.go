package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
)

// The dispatcher is the provider's side of every runtime boundary: sdk.Serve
// serves it over gRPC, and sdk/rpc (a plugin in process, for tests) and
// sdk/wasm (a WASM guest) get it through package bridge, which sdk hands it
// to when it initializes.
func init() {
	bridge.RegisterDispatcher(func(p any, logger *slog.Logger, block int) bridge.Dispatcher {
		d := newDispatcher(p.(Provider), logger)
		d.block = block
		return d
	})
}

// A dispatcher serves one provider for many calls (bridge.Dispatcher says
// what it does), with the provider's capabilities looked up once, when it
// is made: a WASM guest pays for every type assertion at every call (the
// guest SDK, sdk/wasm, serves through one). It is safe for concurrent use.
type dispatcher struct {
	p      Provider
	logger *slog.Logger
	quoter Quoter
	batch  BatchQuoter
	// methods serve the operations of packages beside sdk (sdk/recycle's)
	// that the provider implements.
	methods map[string]bridge.Method

	mu    sync.Mutex
	block int            // quote requests allocated at a time; 0 or 1, one at a time
	reqs  []QuoteRequest // the unused rest of the current block
}

// newQuoteRequest allocates a quote request, block at a time when d.block is
// over 1, each block living as long as any request in it: one allocation
// for many calls, for a runtime where every allocation is costly (a Go
// guest compiled to WebAssembly pays more for one than for the rest of
// decoding a request). A provider that keeps a request beyond its call
// keeps its block's memory too.
func (d *dispatcher) newQuoteRequest() *QuoteRequest {
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

// newDispatcher returns a dispatcher for p; logger is handed to Configure.
func newDispatcher(p Provider, logger *slog.Logger) *dispatcher {
	d := &dispatcher{p: p, logger: logger}
	d.quoter, _ = p.(Quoter)
	d.batch, _ = p.(BatchQuoter)
	d.methods = bridge.Bind(p)
	return d
}

// Append implements bridge.Dispatcher.
func (d *dispatcher) Append(ctx context.Context, dst []byte, op string, payload []byte) (out []byte, err error) {
	defer recoverDispatch(op, dst, &out, &err)
	out, err = d.append(ctx, dst, op, payload, false)
	return // one return keeps the defer open-coded: a deferred call is costly in a WASM guest
}

// AppendKept implements bridge.Dispatcher. A WASM guest, where a heap
// allocation of a payload's size costs more than the rest of a quote, uses
// it (sdk/wasm).
func (d *dispatcher) AppendKept(ctx context.Context, dst []byte, op string, payload []byte) (out []byte, err error) {
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
func (d *dispatcher) append(ctx context.Context, dst []byte, op string, payload []byte, kept bool) ([]byte, error) {
	p := d.p
	// The id only names the provider in an unsupported error; a manifest can
	// be costly to build (and a WASM guest runs it at every call), so only then.
	id := func() string { return p.Manifest().ID }
	switch op {
	// quote and quote_batch are written out, not shared through a generic
	// helper taking functions: an indirect call is costly in a WASM guest.
	case bridge.OpQuote:
		switch {
		case d.quoter == nil:
			return nil, unsupported(id(), CapQuote)
		case !bridge.IsWire(payload):
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
	case bridge.OpQuoteBatch:
		switch {
		case d.batch == nil:
			return nil, unsupported(id(), CapQuoteBatch)
		case !bridge.IsWire(payload):
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
	case bridge.OpDescribe:
		return appendJSON(dst, p.Manifest())
	case bridge.OpConfigure:
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
	case bridge.OpCatalogSearch:
		if c, ok := p.(Cataloger); ok {
			return callDecoded(ctx, dst, payload, c.SearchCatalog)
		}
		return nil, unsupported(id(), CapCatalog)
	case bridge.OpCatalogGet:
		if c, ok := p.(Cataloger); ok {
			return callDecoded(ctx, dst, payload, c.GetCatalogItem)
		}
		return nil, unsupported(id(), CapCatalog)
	// The order operations are served by package sdk/recycle, which holds
	// their types (bridge says how): here is only which capability each
	// needs, for the unsupported answer.
	case bridge.OpOrderCreate, bridge.OpOrderGet:
		return d.callMethod(ctx, dst, op, payload, CapOrders)
	case bridge.OpOrderTrack:
		return d.callMethod(ctx, dst, op, payload, CapTracking)
	case bridge.OpInspection:
		return d.callMethod(ctx, dst, op, payload, CapInspection)
	case bridge.OpSettlement:
		return d.callMethod(ctx, dst, op, payload, CapSettlement)
	case bridge.OpTradeIn:
		return d.callMethod(ctx, dst, op, payload, CapTradeIn)
	}
	return nil, &Error{Code: CodeUnsupported, Message: fmt.Sprintf("unknown operation %q", op)}
}

// callMethod runs an operation served from beside sdk (bridge.Method): the
// provider's Method for op, or unsupported when it has none (it does not
// implement the operation, or its binary does not import the package
// serving it, which it would if it did).
func (d *dispatcher) callMethod(ctx context.Context, dst []byte, op string, payload []byte, c Capability) ([]byte, error) {
	m := d.methods[op]
	if m == nil {
		return nil, unsupported(d.p.Manifest().ID, c)
	}
	resp, err := m(ctx, payload, decode)
	if err := answered(resp == nil, err); err != nil {
		return nil, err
	}
	return appendJSON(dst, resp)
}

// decode reads a request's JSON; a request that is not is invalid_argument.
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
