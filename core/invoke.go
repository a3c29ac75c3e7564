package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// call runs one operation on a provider through its guards, in the order
// ARCHITECTURE.md gives:
//
//	quota, budget and tenant quota -> circuit breaker -> concurrency and
//	rate limit -> deadline -> the adapter call
//
// and repeats it with backoff when the error is retryable and the operation
// is safe to repeat (never order or trade-in creation), within the
// provider's retry budget and the deadline. The provider's timeout bounds
// the whole operation, waits and retries included; the caller's deadline,
// when sooner, too, and it travels to the provider (through the plugin
// boundary, to its HTTP call). Quotes go through cachedQuote first.
func call[Resp any](ctx context.Context, h *Host, p *provider, op string, capability sdk.Capability,
	f func(ctx context.Context, impl sdk.Provider) (*Resp, error)) (*Resp, error) {
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	g := h.guardsOf(p.id)
	if g == nil {
		resp, _, err := attempt(ctx, caller, h, p, nil, op, capability, f)
		return resp, err
	}
	g.retry.First()
	for n := 1; ; n++ {
		resp, final, err := attempt(ctx, caller, h, p, g, op, capability, f)
		if err == nil {
			return resp, nil
		}
		if final || caller.Err() != nil {
			return nil, err
		}
		remaining := time.Duration(1<<63 - 1)
		if dl, ok := ctx.Deadline(); ok {
			remaining = time.Until(dl)
		}
		wait, ok := g.retry.Retry(op, n, err, remaining)
		if !ok {
			return nil, err
		}
		h.metrics.retries.WithLabelValues(p.id, op).Inc()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// attempt is one pass through the guards to the provider. final reports an
// error that must not be retried: a guard's own refusal (an open breaker,
// a spent quota, no rate slot before the deadline: repeating changes
// nothing), or a plugin that died during the call (it may have died of this
// very request: never feed it to its successor).
func attempt[Resp any](ctx, caller context.Context, h *Host, p *provider, g *guards, op string, capability sdk.Capability,
	f func(ctx context.Context, impl sdk.Provider) (*Resp, error)) (resp *Resp, final bool, err error) {
	impl, m, err := p.current()
	if err != nil {
		h.metrics.calls.WithLabelValues(p.id, op, string(sdk.CodeUnavailable)).Inc()
		return nil, false, err
	}
	if !m.Has(capability) {
		return nil, false, rpc.Unsupported(p.id, capability)
	}
	var done func(guard.Outcome)
	if g != nil {
		b := g.breaker(op)
		// A breaker that is open refuses before anything is reserved.
		if err := b.Check(); err != nil {
			return nil, true, h.refused(p.id, "breaker_open", err)
		}
		ticket, err := g.account.Reserve(ctx, h.tenantLimit(quotaTenantOf(ctx), p.id), callUnitsOf(ctx))
		if err != nil {
			reason := "quota"
			if sdk.CodeOf(err) == sdk.CodeUnavailable {
				reason = "store_unavailable"
			}
			return nil, true, h.refused(p.id, reason, err)
		}
		done, err = b.Allow()
		if err != nil {
			ticket.Refund()
			return nil, true, h.refused(p.id, "breaker_open", err)
		}
		if err := g.sem.Acquire(ctx); err != nil {
			ticket.Refund()
			done(guard.Ignore)
			return nil, true, h.refused(p.id, "concurrency", waitError(p.id, "a free slot (max_in_flight)", err))
		}
		defer g.sem.Release()
		if err := g.limiter.Wait(ctx); err != nil {
			ticket.Refund()
			done(guard.Ignore)
			return nil, true, h.refused(p.id, "rate_limited", waitError(p.id, "the rate limit", err))
		}
	}
	start := time.Now()
	resp, err = recovered(ctx, impl, f)
	took := time.Since(start)
	h.metrics.latency.WithLabelValues(p.id, op).Observe(took.Seconds())
	if err == nil {
		p.noteLatency(took)
	}
	h.audit(ctx, p.id, op, start, err) // the audit log (orders_audit.go)
	died := err != nil && (pluginTransportFailure(err) || p.exited())
	if done != nil {
		// The breaker guards the provider; its plugin process dying is the
		// supervisor's business, not a sign the provider is down.
		if died {
			done(guard.Ignore)
		} else {
			done(guard.Classify(err, caller.Err() != nil))
		}
	}
	if err != nil {
		e := sdk.AsError(err)
		if e.Provider == "" {
			c := *e
			c.Provider = p.id
			e = &c
		}
		h.metrics.calls.WithLabelValues(p.id, op, string(e.Code)).Inc()
		if g != nil && e.Code == sdk.CodeRateLimited {
			g.limiter.Slow(e.RetryAfter)
		}
		p.noticeFailure(e)
		return nil, died, e
	}
	h.metrics.calls.WithLabelValues(p.id, op, "ok").Inc()
	return resp, false, nil
}

type unitsKey struct{}

// withCallUnits makes the calls made with ctx count n units of quota and
// budget each (a batch call counts its items, as providers do). Default 1.
func withCallUnits(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, unitsKey{}, int64(n))
}

func callUnitsOf(ctx context.Context) int64 {
	if n, ok := ctx.Value(unitsKey{}).(int64); ok && n > 0 {
		return n
	}
	return 1
}

// refused counts a guard's refusal and marks the error with the provider.
func (h *Host) refused(id, reason string, err error) error {
	h.metrics.refusals.WithLabelValues(id, reason).Inc()
	e := sdk.AsError(err)
	if e.Provider == "" {
		c := *e
		c.Provider = id
		e = &c
	}
	return e
}

// waitError says what a call was waiting for when its deadline came.
func waitError(id, what string, err error) error {
	e := sdk.AsError(err)
	if e.Code == sdk.CodeRateLimited {
		return e
	}
	c := *e
	c.Message = fmt.Sprintf("provider %s: the deadline passed while waiting for %s", id, what)
	return &c
}

// pluginTransportFailure reports an error of the plugin connection itself
// (the process died or stopped answering: sdk's transportError), as opposed
// to an error the provider answered.
func pluginTransportFailure(err error) bool {
	e := sdk.AsError(err)
	return e.Code == sdk.CodeUnavailable && strings.HasPrefix(e.Message, "plugin unreachable")
}

// exited reports whether the provider's plugin process has ended.
func (p *provider) exited() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.client != nil && p.client.Exited()
}

// cachedQuote asks a provider for a quote through the cache: a fresh
// cached quote is answered without a provider call (spending no quota and
// no budget), and concurrent identical requests share one call
// (singleflight). Each caller gets its own copy and waits only until its
// own deadline; the shared call runs until the first caller's deadline.
func cachedQuote(ctx context.Context, h *Host, p *provider, req *sdk.QuoteRequest,
	f func(ctx context.Context, impl sdk.Provider) (*sdk.QuoteResponse, error)) (*sdk.QuoteResponse, error) {
	g := h.guardsOf(p.id)
	if g == nil || g.cacheTTL <= 0 {
		return call(ctx, h, p, rpc.OpQuote, sdk.CapQuote, f)
	}
	key := guard.QuoteKey(p.id, req)
	if resp, ok := h.cachedResponse(ctx, key); ok {
		h.metrics.cache.WithLabelValues(p.id, "hit").Inc()
		return resp, nil
	}
	resp, shared, err := h.guards.flight.Do(ctx, key, func(ctx context.Context) (*sdk.QuoteResponse, error) {
		// A call that just ended may have filled the cache.
		if resp, ok := h.cachedResponse(ctx, key); ok {
			return resp, nil
		}
		resp, err := call(ctx, h, p, rpc.OpQuote, sdk.CapQuote, f)
		if err != nil {
			return nil, err
		}
		now := h.now()
		ttl := g.cacheTTL
		if vu := resp.Quote.ValidUntil; !vu.IsZero() {
			ttl = min(ttl, vu.Sub(now))
		}
		if ttl > 0 {
			_ = h.cachePut(ctx, key, resp, ttl)
		}
		return resp, nil
	})
	if shared {
		h.metrics.cache.WithLabelValues(p.id, "shared").Inc()
	} else {
		h.metrics.cache.WithLabelValues(p.id, "miss").Inc()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, &sdk.Error{Code: sdk.CodeOf(ctx.Err()), Provider: p.id, Retryable: true,
				Message: fmt.Sprintf("provider %s: the deadline passed while the quote was being asked", p.id)}
		}
		return nil, err
	}
	// Every caller of a shared run gets its own copy of the struct.
	c := *resp
	return &c, nil
}

// cachePut caches a quote for ttl: decoded in this process, and encoded in
// the shared store when there is one. A store that fails is logged and
// returned; the cache fails open.
func (h *Host) cachePut(ctx context.Context, key string, resp *sdk.QuoteResponse, ttl time.Duration) error {
	if !h.sharedCache() {
		h.memo.put(key, resp, h.now().Add(ttl))
		return nil
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := h.guards.store.Set(sctx, key, b, ttl); err != nil {
		h.storeFailed("cache", err)
		return err
	}
	h.memo.put(key, resp, h.now().Add(ttl))
	return nil
}

// sharedCache reports whether quotes are cached in a store other replicas
// read (Redis). Otherwise the memo of decoded quotes is the whole cache.
func (h *Host) sharedCache() bool { return h.guards.store.Kind() == "redis" }

// cachedResponse returns a cached quote that is still valid. A store that
// cannot be reached is a miss: the cache fails open (quota and budget,
// checked next, fail closed).
func (h *Host) cachedResponse(ctx context.Context, key string) (*sdk.QuoteResponse, bool) {
	if resp, ok := h.memo.get(key, h.now()); ok {
		return resp, true
	}
	if !h.sharedCache() {
		return nil, false
	}
	b, ok, err := h.guards.store.Get(ctx, key)
	if err != nil {
		h.storeFailed("cache", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var resp sdk.QuoteResponse
	if json.Unmarshal(b, &resp) != nil {
		return nil, false
	}
	if vu := resp.Quote.ValidUntil; !vu.IsZero() && !h.now().Before(vu) {
		return nil, false
	}
	return &resp, true
}

// unsupportedImpl is the error for a provider whose manifest lists a
// capability its Go value does not implement.
func unsupportedImpl(p string, c sdk.Capability) error { return rpc.Unsupported(p, c) }

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
