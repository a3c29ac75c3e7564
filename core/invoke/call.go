package invoke

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// Tenant is an authenticated client of the host.
type Tenant struct {
	ID    string `json:"id"`
	Admin bool   `json:"admin,omitempty"` // may read and dry-run the policies
}

// Call says who a provider call is made for. A nil *Call is a call for no
// tenant, one unit.
type Call struct {
	// Pass is the gate's leave for the call (package gate makes it):
	// every operation refuses a call without one naming its provider.
	Pass *Pass
	// Tenant's quotas count the call, and the audit log files it under the
	// tenant. Nil: the host's own call (none of a tenant's quotas).
	Tenant *Tenant
	// TenantID files the call in the audit log when Tenant is nil (a
	// background poll for a tenant's order).
	TenantID string
	// Units of quota and budget the call counts (a batch call counts its
	// items, as providers do). Zero means 1.
	Units int64
	// Audit is what the audit log may say about the call: keys ending in
	// "name" are masked, keys ending in "address" are never kept, phone
	// numbers in values are masked.
	Audit map[string]string
	// Lane overrides the lane of the provider's quota, rate and
	// concurrency the call spends (lanes.go): zero takes it from the
	// operation (order operations LaneOrders, the rest LaneGeneral).
	Lane guard.Lane
	// Paced calls (batch jobs, background order work) wait for a rate or
	// concurrency slot up to their deadline; others (API calls) at most the
	// provider's max_wait.
	Paced bool
}

// tenantID is who the audit files the call under.
func (c *Call) tenantID() string {
	switch {
	case c == nil:
		return ""
	case c.Tenant != nil:
		return c.Tenant.ID
	}
	return c.TenantID
}

func (c *Call) units() int64 {
	if c == nil || c.Units <= 0 {
		return 1
	}
	return c.Units
}

// Record is one call that reached a provider, as it finished: what the
// audit log keeps.
type Record struct {
	Provider string
	Op       string
	Tenant   string
	Audit    map[string]string
	Start    time.Time
	Latency  time.Duration
	Err      error
}

// Observer hears every call that reached a provider, on the caller's
// goroutine: it must not block.
type Observer func(Record)

// request is one call on its way down a provider's pipeline.
type request struct {
	call   *Call
	op     string
	cap    sdk.Capability
	body   any             // *sdk.QuoteRequest, *recycle.CreateOrderRequest, ...
	caller context.Context // the caller's context, before the provider's timeout
	impl   sdk.Provider    // set by the available stage
	brk    *guard.Breaker  // set by the breaker check
	final  bool            // the error must not be retried (a guard refused, the plugin died)
	died   bool            // the plugin process died during the call
	reach  bool            // the provider was called
	start  time.Time       // when the provider was called
	// waitEnd is when an API call's waits for slots end (max_wait), and
	// wait the context of one of those waits (waitContext).
	waitEnd time.Time
	wait    waitCtx
	taken   time.Duration // how long it took
	// span is the call's span while tracing is on (the guards add their
	// events to it), nil otherwise; attempt counts the retry stage's tries.
	span    trace.Span
	attempt int
}

// capabilities says which capability each operation needs.
var capabilities = map[string]sdk.Capability{
	rpc.OpQuote:         sdk.CapQuote,
	rpc.OpQuoteBatch:    sdk.CapQuoteBatch,
	rpc.OpCatalogSearch: sdk.CapCatalog,
	rpc.OpCatalogGet:    sdk.CapCatalog,
	rpc.OpOrderCreate:   sdk.CapOrders,
	rpc.OpOrderGet:      sdk.CapOrders,
	rpc.OpOrderTrack:    sdk.CapTracking,
	rpc.OpInspection:    sdk.CapInspection,
	rpc.OpSettlement:    sdk.CapSettlement,
	rpc.OpTradeIn:       sdk.CapTradeIn,
}

// dispatch is the runtime: the one place an operation meets the
// provider's Go interface, whatever runtime serves it.
func dispatch(ctx context.Context, impl sdk.Provider, id, op string, body any) (any, error) {
	no := func(c sdk.Capability) error { return rpc.Unsupported(id, c) }
	switch req := body.(type) {
	case *sdk.QuoteRequest:
		if q, ok := impl.(sdk.Quoter); ok {
			return answer(q.Quote(ctx, req))
		}
		return nil, no(sdk.CapQuote)
	case *sdk.QuoteBatchRequest:
		if q, ok := impl.(sdk.BatchQuoter); ok {
			return answer(q.QuoteBatch(ctx, req))
		}
		return nil, no(sdk.CapQuoteBatch)
	case *sdk.SearchCatalogRequest:
		if c, ok := impl.(sdk.Cataloger); ok {
			return answer(c.SearchCatalog(ctx, req))
		}
		return nil, no(sdk.CapCatalog)
	case *sdk.GetCatalogItemRequest:
		if c, ok := impl.(sdk.Cataloger); ok {
			return answer(c.GetCatalogItem(ctx, req))
		}
		return nil, no(sdk.CapCatalog)
	case *recycle.CreateOrderRequest:
		if o, ok := impl.(recycle.Orderer); ok {
			return answer(o.CreateOrder(ctx, req))
		}
		return nil, no(sdk.CapOrders)
	case *recycle.GetOrderRequest:
		if o, ok := impl.(recycle.Orderer); ok {
			return answer(o.GetOrder(ctx, req))
		}
		return nil, no(sdk.CapOrders)
	case *recycle.TrackOrderRequest:
		if t, ok := impl.(recycle.Tracker); ok {
			return answer(t.TrackOrder(ctx, req))
		}
		return nil, no(sdk.CapTracking)
	case *recycle.GetInspectionRequest:
		if i, ok := impl.(recycle.Inspector); ok {
			return answer(i.GetInspection(ctx, req))
		}
		return nil, no(sdk.CapInspection)
	case *recycle.GetSettlementRequest:
		if s, ok := impl.(recycle.Settler); ok {
			return answer(s.GetSettlement(ctx, req))
		}
		return nil, no(sdk.CapSettlement)
	case *recycle.CreateTradeInRequest:
		if t, ok := impl.(recycle.TradeInCreator); ok {
			return answer(t.CreateTradeIn(ctx, req))
		}
		return nil, no(sdk.CapTradeIn)
	}
	return nil, fmt.Errorf("invoke: no operation takes %T (op %s)", body, op)
}

// answer turns a typed answer into the pipeline's, refusing a nil answer
// without an error (a provider bug) instead of handing it up.
func answer[Resp any](resp *Resp, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "provider answered nothing and no error"}
	}
	return hostTimes(resp), nil
}

// recovered runs the runtime, turning a panic in an in-process provider
// into a provider_error for this call only: one bad provider never takes
// the host down. (Plugins and WASM guests recover on their own side.)
func recovered(ctx context.Context, impl sdk.Provider, id, op string, body any) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, &sdk.Error{Code: sdk.CodeProviderError, Message: fmt.Sprintf("provider panicked: %v", r)}
		}
	}()
	return dispatch(ctx, impl, id, op, body)
}

// ProviderError is one provider's failure beside the quotes that did come back.
type ProviderError struct {
	Provider        string   `json:"provider"`
	Code            sdk.Code `json:"code"`
	Message         string   `json:"message"`
	Retryable       bool     `json:"retryable"`
	ProviderCode    string   `json:"provider_code,omitempty"`
	ProviderMessage string   `json:"provider_message,omitempty"`
	// RetryAfter (nanoseconds) is when to ask again: a rate slot, a
	// breaker's next probe, a quota's reset.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Limit is whose limit a quota_exhausted or rate_limited failure hit:
	// tenant (its own quota or budget) or provider.
	Limit string `json:"limit,omitempty"`
}

// NewProviderError describes provider id's failure.
func NewProviderError(id string, err error) ProviderError {
	e := sdk.AsError(err)
	pe := ProviderError{Provider: id, Code: e.Code, Message: e.Message, Retryable: e.Retryable,
		ProviderCode: e.ProviderCode, ProviderMessage: e.ProviderMessage, RetryAfter: e.RetryAfter}
	if e.Code == sdk.CodeQuotaExhausted || e.Code == sdk.CodeRateLimited {
		pe.Limit = guard.Whose(err)
	}
	return pe
}
