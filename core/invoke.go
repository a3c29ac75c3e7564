package core

import (
	"context"
	"fmt"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// call runs one operation on a provider with its timeout, counting it.
func call[Resp any](ctx context.Context, h *Host, p *provider, op string, capability sdk.Capability,
	f func(ctx context.Context, impl sdk.Provider) (*Resp, error)) (*Resp, error) {
	impl, m, err := p.current()
	if err != nil {
		h.metrics.calls.WithLabelValues(p.id, op, string(sdk.CodeUnavailable)).Inc()
		return nil, err
	}
	if !m.Has(capability) {
		return nil, sdk.Unsupported(p.id, capability)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	start := time.Now()
	resp, err := recovered(ctx, impl, f)
	h.metrics.latency.WithLabelValues(p.id, op).Observe(time.Since(start).Seconds())
	if err != nil {
		e := sdk.AsError(err)
		if e.Provider == "" {
			c := *e
			c.Provider = p.id
			e = &c
		}
		h.metrics.calls.WithLabelValues(p.id, op, string(e.Code)).Inc()
		p.noticeFailure(e)
		return nil, e
	}
	h.metrics.calls.WithLabelValues(p.id, op, "ok").Inc()
	return resp, nil
}

// unsupportedImpl is the error for a provider whose manifest lists a
// capability its Go value does not implement.
func unsupportedImpl(p string, c sdk.Capability) error { return sdk.Unsupported(p, c) }

// recovered runs f, turning a panic in an in-process provider into a
// provider_error for this call only: one bad provider never takes the host
// down. (Plugins and WASM guests recover on their own side.)
func recovered[Resp any](ctx context.Context, impl sdk.Provider, f func(context.Context, sdk.Provider) (*Resp, error)) (resp *Resp, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, &sdk.Error{Code: sdk.CodeProviderError, Message: fmt.Sprintf("provider panicked: %v", r)}
		}
	}()
	return f(ctx, impl)
}
