package invoke

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// handler is a pipeline from a stage down to the provider.
type handler func(ctx context.Context, r *request) (any, error)

// stage wraps the rest of the pipeline.
type stage func(next handler) handler

// pipeline is one provider's guards and runtime, built once at New.
type pipeline struct {
	svc *Service
	p   *registry.Provider
	id  string

	gc       guard.Config
	perOp    bool
	settings guard.BreakerSettings
	mu       sync.Mutex
	breakers map[string]*guard.Breaker // by operation; "" when one for all

	lim     atomic.Pointer[limits] // see limits
	retrier *guard.Retrier
	// revivals is the provider's Revivals the breakers last heard of.
	revivals atomic.Uint64
	// outcomes counts the calls that reached the provider, and their
	// recent error rate (GuardInfo).
	outcomes outcomes

	call handler // every stage, in order
	// spans: the tracing stages' span names and baggage by operation
	// (tracing on only; read-only once built).
	spans map[string]*opSpans
}

// limits are the guards built from the provider's manifest and its guards
// block.
type limits struct {
	limiter  *guard.LaneLimiter
	sem      *guard.LaneSemaphore
	account  *guard.Account
	reserve  guard.Reserve // the order lanes' share (lanes.go)
	maxWait  time.Duration // an API call's longest wait for a slot
	cacheTTL time.Duration
	// perTenant: the provider takes orders, so its quotes may be ordered
	// and are cached per tenant (cacheKey).
	perTenant bool
	// provisional: built before the manifest was known (an optional
	// provider that had not started yet), from the guards block alone.
	provisional bool
}

// limits returns the guards in force. Provisional ones are replaced, once,
// as soon as the provider's manifest is known: no call reaches a provider
// before it is (it is not ready until then).
func (pl *pipeline) limits() *limits {
	l := pl.lim.Load()
	if !l.provisional {
		return l
	}
	m := pl.p.Manifest()
	if m.ID == "" {
		return l
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if l = pl.lim.Load(); l.provisional {
		l = pl.newLimits(m)
		pl.lim.Store(l)
	}
	return l
}

// build chains the stages. This is the one place their order is declared.
func (pl *pipeline) build() handler {
	stages := [...]stage{
		pl.cache,        // quotes: a fresh cached quote answers; identical calls share one
		pl.deadline,     // the provider's timeout bounds everything below, waits and retries included
		pl.retry,        // safe operations repeated within the retry budget and the deadline
		pl.available,    // a provider not ready fails at once; an operation it lacks is unsupported
		pl.breakerCheck, // an open breaker refuses before anything is reserved
		pl.reserve,      // quota, budget and tenant quota; refunded when a later guard refuses
		pl.tenantUsage,  // the tenant's usage and cost budget (tenantusage.go); refunded likewise
		pl.breaker,      // takes a half-open probe and hears the outcome
		pl.concurrency,  // max_in_flight
		pl.rate,         // qps: waits for a slot up to the deadline
		pl.measure,      // metrics, latency, the audit record, the error marked with the provider
	}
	h := pl.runtime
	if pl.svc.tr.On() {
		pl.spans = map[string]*opSpans{}
		for op := range capabilities {
			pl.spans[op] = pl.spanNames(op)
		}
		h = pl.traceRuntime(h)
	}
	for i := len(stages) - 1; i >= 0; i-- {
		h = stages[i](h)
	}
	if pl.svc.tr.On() {
		h = pl.trace(h) // outermost: the call's span, which the guards add events to
	}
	return h
}

// trace makes the call's span (tracing on only: off, the stage is not in
// the pipeline). The guards add what they did to it as events: the cache's
// hit or miss, a wait for the rate limit, a refusal (quota, breaker, ...),
// a retry.
func (pl *pipeline) trace(next handler) handler {
	tr := pl.svc.tr
	return func(ctx context.Context, r *request) (any, error) {
		names := pl.spanNames(r.op)
		ctx, span := tr.Start(ctx, names.call)
		r.span = span
		resp, err := next(ctx, r)
		endSpan(span, err, names.provider, names.op, attribute.String("recyclegate.tenant", r.call.tenantID()), names.runtime)
		return resp, err
	}
}

// traceRuntime makes a span of each call that crosses the runtime's
// boundary (one per attempt: a plugin's gRPC call, a WASM call), and puts
// the provider, the operation and the attempt in the baggage, for the
// spans beyond it: the plugin's, and the provider's HTTP call
// (sdk/httpkit). An in-process provider is a Go call with no boundary to
// mark: its calls get the baggage only, and the call's span is theirs.
func (pl *pipeline) traceRuntime(next handler) handler {
	tr := pl.svc.tr
	inProcess := pl.p.Runtime() == registry.RuntimeInProcess
	return func(ctx context.Context, r *request) (any, error) {
		attempt := max(r.attempt, 1)
		names := pl.spanNames(r.op)
		b := names.first
		if attempt > 1 {
			b = otelkit.CallBaggage(pl.id, r.op, attempt)
		}
		if inProcess {
			return next(baggage.ContextWithBaggage(ctx, b), r)
		}
		ctx, span := tr.Start(ctx, names.runtimeCall, trace.WithSpanKind(trace.SpanKindClient))
		resp, err := next(baggage.ContextWithBaggage(ctx, b), r)
		endSpan(span, err, names.provider, names.op, attribute.Int(otelkit.BaggageAttempt, attempt), names.runtime)
		return resp, err
	}
}

// opSpans are what the spans of an operation's calls are named, their
// fixed attributes, and the baggage of its first attempt: made once, not
// at every call.
type opSpans struct {
	call, runtimeCall     string
	provider, op, runtime attribute.KeyValue
	first                 baggage.Baggage
	exemplars             telemetry.Exemplars // of the latency series (provider, op)
}

// spanNames returns op's span names (every operation's are made when the
// tracing stages are built).
func (pl *pipeline) spanNames(op string) *opSpans {
	if n, ok := pl.spans[op]; ok {
		return n
	}
	return &opSpans{call: "provider " + pl.id + " " + op, runtimeCall: "call " + pl.id + " " + op,
		provider: attribute.String(otelkit.BaggageProvider, pl.id), op: attribute.String(otelkit.BaggageOp, op),
		runtime: attribute.String("recyclegate.runtime", pl.p.Runtime()),
		first:   otelkit.CallBaggage(pl.id, op, 1)}
}

// endSpan ends a span with its attributes (a, b, c, d) and the call's
// outcome: ok, or the error's code. They are written once, as it ends:
// one copy, not one at the start and a regrowth here.
func endSpan(span trace.Span, err error, a, b, c, d attribute.KeyValue) {
	outcome := "ok"
	if err != nil {
		e := sdk.AsError(err)
		outcome = string(e.Code)
		span.SetStatus(codes.Error, e.Message)
	}
	span.SetAttributes(a, b, c, d, attribute.String("recyclegate.outcome", outcome))
	span.End()
}

// noteRevivals lets the open breakers probe the provider at once when its
// process was replaced or answers again since they last looked (a
// restart, an unresponsive plugin revived): what they counted against the
// old process says little of the new one, and waiting out open_for would
// hold back a provider that is back. The supervisor and the breaker meet
// here only (docs/operations.md).
func (pl *pipeline) noteRevivals() {
	n := pl.p.Revivals()
	if pl.revivals.Load() == n || pl.revivals.Swap(n) == n {
		return
	}
	pl.mu.Lock()
	bs := make([]*guard.Breaker, 0, len(pl.breakers))
	for _, b := range pl.breakers {
		bs = append(bs, b)
	}
	pl.mu.Unlock()
	for _, b := range bs {
		b.Revive()
	}
}

// breakerFor returns the breaker of op.
func (pl *pipeline) breakerFor(op string) *guard.Breaker {
	if !pl.perOp {
		op = ""
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	b, ok := pl.breakers[op]
	if !ok {
		name := "provider " + pl.id
		if op != "" {
			name += " " + op
		}
		b = guard.NewBreaker(name, pl.settings, func(from, to string) { pl.svc.breakerChanged(pl.id, op, from, to) })
		pl.breakers[op] = b
	}
	return b
}

// cache answers a quote from the cache when it holds a fresh one, and
// makes concurrent identical requests share one call (singleflight). Each
// caller gets its own copy and waits only until its own deadline; the
// shared call runs until the first caller's deadline. Other operations
// pass through.
func (pl *pipeline) cache(next handler) handler {
	s := pl.svc
	return func(ctx context.Context, r *request) (any, error) {
		req, ok := r.body.(*sdk.QuoteRequest)
		cacheTTL := pl.limits().cacheTTL
		if !ok || cacheTTL <= 0 {
			return next(ctx, r)
		}
		key := pl.cacheKey(r.call, req)
		if resp, ok := s.cached(ctx, key); ok {
			s.m.cache.WithLabelValues(pl.id, "hit").Inc()
			if r.span != nil {
				r.span.AddEvent("cache hit")
			}
			return resp, nil
		}
		resp, shared, err := s.flight.Do(ctx, key, func(ctx context.Context) (*sdk.QuoteResponse, error) {
			// A call that just ended may have filled the cache.
			if resp, ok := s.cached(ctx, key); ok {
				return resp, nil
			}
			v, err := next(ctx, r)
			if err != nil {
				return nil, err
			}
			resp := v.(*sdk.QuoteResponse)
			ttl := cacheTTL
			if vu := resp.Quote.ValidUntil; !vu.IsZero() {
				ttl = min(ttl, vu.Sub(s.now()))
			}
			if ttl > 0 {
				_ = s.cachePut(ctx, key, resp, ttl)
			}
			return resp, nil
		})
		if shared {
			s.m.cache.WithLabelValues(pl.id, "shared").Inc()
		} else {
			s.m.cache.WithLabelValues(pl.id, "miss").Inc()
		}
		if r.span != nil {
			r.span.AddEvent("cache miss", trace.WithAttributes(attribute.Bool("recyclegate.cache.shared", shared)))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, &sdk.Error{Code: sdk.CodeOf(ctx.Err()), Provider: pl.id, Retryable: true,
					Message: fmt.Sprintf("provider %s: the deadline passed while the quote was being asked", pl.id)}
			}
			return nil, err
		}
		// Every caller of a shared run gets its own copy of the struct.
		c := *resp
		return &c, nil
	}
}

// deadline bounds the whole operation by the provider's timeout, waits and
// retries included; the caller's deadline, when sooner, too, and it
// travels to the provider (through the plugin boundary, to its HTTP call).
func (pl *pipeline) deadline(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		r.caller = ctx
		ctx, cancel := context.WithTimeout(ctx, pl.p.Timeout())
		defer cancel()
		return next(ctx, r)
	}
}

// retry repeats a failed call with backoff when the error is retryable and
// the operation is safe to repeat (never order or trade-in creation),
// within the provider's retry budget and the deadline. A final error (a
// guard's own refusal: repeating changes nothing; a plugin that died during
// the call: it may have died of this very request) is not repeated.
func (pl *pipeline) retry(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		pl.retrier.First()
		for n := 1; ; n++ {
			r.final, r.died, r.reach, r.waitEnd, r.attempt = false, false, false, time.Time{}, n
			resp, err := next(ctx, r)
			if err == nil {
				return resp, nil
			}
			if r.final || r.caller.Err() != nil {
				return nil, err
			}
			remaining := time.Duration(1<<63 - 1)
			if dl, ok := ctx.Deadline(); ok {
				remaining = time.Until(dl)
			}
			wait, ok := pl.retrier.Retry(r.op, n, err, remaining)
			if !ok {
				return nil, err
			}
			pl.svc.m.retries.WithLabelValues(pl.id, r.op).Inc()
			if r.span != nil {
				r.span.AddEvent("retry", trace.WithAttributes(attribute.Int(otelkit.BaggageAttempt, n+1),
					attribute.String("recyclegate.wait", wait.String()), attribute.String("recyclegate.error", string(sdk.CodeOf(err)))))
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, err
			}
		}
	}
}

// available takes the provider to call: one that is not ready fails at
// once (a call to a dead plugin never waits for it), an operation its
// manifest lacks is unsupported.
func (pl *pipeline) available(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		impl, m, err := pl.p.Current()
		if err != nil {
			pl.svc.m.calls.WithLabelValues(pl.id, r.op, string(sdk.CodeUnavailable)).Inc()
			return nil, err
		}
		if !m.Has(r.cap) {
			return nil, rpc.Unsupported(pl.id, r.cap)
		}
		r.impl = impl
		return next(ctx, r)
	}
}

// breakerCheck refuses at once while the breaker is open, before anything
// is reserved.
func (pl *pipeline) breakerCheck(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		pl.noteRevivals()
		b := pl.breakerFor(r.op)
		if err := b.Check(); err != nil {
			return nil, pl.refuse(r, "breaker_open", err)
		}
		r.brk = b
		return next(ctx, r)
	}
}

// reserve counts the call against the provider's quota and budget and the
// tenant's quota, all or nothing, and gives it back when a later guard
// refused (the provider was never asked).
func (pl *pipeline) reserve(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		ticket, err := pl.limits().account.Reserve(ctx, pl.svc.tenantLimit(r.call, pl.id), r.call.units(), r.lane())
		if err != nil {
			reason := "quota"
			if sdk.CodeOf(err) == sdk.CodeUnavailable {
				reason = "store_unavailable"
			} else {
				pl.svc.quotaRefused(pl.id, r.lane())
			}
			return nil, pl.refuse(r, reason, err)
		}
		if ticket != nil {
			pl.svc.quotaSpent(pl.id, r.lane())
		}
		resp, err := next(ctx, r)
		if !r.reach {
			ticket.Refund()
		}
		return resp, err
	}
}

// breaker takes a slot of the breaker (a half-open probe) and tells it the
// call's outcome. The breaker guards the provider: its plugin process
// dying is the supervisor's business, not a sign the provider is down.
func (pl *pipeline) breaker(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		done, err := r.brk.Allow()
		if err != nil {
			return nil, pl.refuse(r, "breaker_open", err)
		}
		resp, err := next(ctx, r)
		switch {
		case !r.reach || r.died:
			done(guard.Ignore)
		default:
			done(guard.Classify(err, r.caller.Err() != nil))
		}
		return resp, err
	}
}

// concurrency holds one of the provider's max_in_flight slots for the
// call, in its lane (some are kept for order work); an API call waits at
// most max_wait for it.
func (pl *pipeline) concurrency(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		l := pl.limits()
		wctx, w := pl.waitContext(ctx, r, l)
		lane := r.lane()
		err := l.sem.Acquire(wctx, lane)
		w.release()
		if err != nil {
			if !guard.Expired(ctx) && guard.Expired(wctx) {
				return nil, pl.refuse(r, "concurrency", maxWaitError(pl.id, "a free slot (max_in_flight)", l.maxWait))
			}
			return nil, pl.refuse(r, "concurrency", waitError(pl.id, "a free slot (max_in_flight)", err))
		}
		defer l.sem.Release(lane)
		return next(ctx, r)
	}
}

// rate waits for a slot of the provider's rate limit in the call's lane, up
// to the deadline, or max_wait for an API call: a slot further off answers
// rate_limited at once with Retry-After.
func (pl *pipeline) rate(next handler) handler {
	return func(ctx context.Context, r *request) (any, error) {
		var t0 time.Time
		if r.span != nil {
			t0 = time.Now()
		}
		l := pl.limits()
		wctx, w := pl.waitContext(ctx, r, l)
		err := l.limiter.Wait(wctx, r.lane())
		w.release()
		if err != nil {
			if !guard.Expired(ctx) && guard.Expired(wctx) && sdk.CodeOf(err) != sdk.CodeRateLimited {
				err = maxWaitError(pl.id, "the rate limit", l.maxWait)
			}
			return nil, pl.refuse(r, "rate_limited", waitError(pl.id, "the rate limit", err))
		}
		if r.span != nil {
			if w := time.Since(t0); w > 100*time.Microsecond {
				r.span.AddEvent("rate limit wait", trace.WithAttributes(attribute.String("recyclegate.wait", w.String())))
			}
		}
		return next(ctx, r)
	}
}

// measure records the call that reached the provider: its latency and
// outcome in the metrics and the provider's recent latency, the audit
// record (the Observer), and its error marked with the provider. A plugin
// that died during the call makes the error final; a provider's
// rate_limited answer slows the limiter down.
func (pl *pipeline) measure(next handler) handler {
	s := pl.svc
	return func(ctx context.Context, r *request) (any, error) {
		resp, err := next(ctx, r)
		if r.span != nil {
			pl.spanNames(r.op).exemplars.Observe(ctx, s.m.latency.WithLabelValues(pl.id, r.op), r.taken.Seconds())
		} else {
			s.m.latency.WithLabelValues(pl.id, r.op).Observe(r.taken.Seconds())
		}
		if err == nil {
			pl.p.NoteLatency(r.taken)
		}
		if s.observe != nil {
			s.observe(Record{Provider: pl.id, Op: r.op, Tenant: r.call.tenantID(), Audit: auditOf(r.call),
				Start: r.start, Latency: r.taken, Err: err})
		}
		pl.outcomes.note(err != nil)
		if err == nil {
			s.m.calls.WithLabelValues(pl.id, r.op, "ok").Inc()
			return resp, nil
		}
		r.died = pl.p.Died(err)
		r.final = r.died
		e := withProvider(sdk.AsError(err), pl.id)
		s.m.calls.WithLabelValues(pl.id, r.op, string(e.Code)).Inc()
		if e.Code == sdk.CodeRateLimited {
			pl.limits().limiter.Slow(e.RetryAfter)
		}
		// The provider's own text goes to the audit log (above), never
		// further up: it may quote another tenant's data.
		return nil, Scrub(e)
	}
}

// runtime calls the provider.
func (pl *pipeline) runtime(ctx context.Context, r *request) (any, error) {
	r.reach = true
	r.start = time.Now()
	resp, err := recovered(ctx, r.impl, pl.id, r.op, r.body)
	r.taken = time.Since(r.start)
	return resp, err
}

func auditOf(c *Call) map[string]string {
	if c == nil {
		return nil
	}
	return c.Audit
}

// refuse counts a guard's refusal, marks the error with the provider and
// makes it final: repeating the call changes nothing.
func (pl *pipeline) refuse(r *request, reason string, err error) error {
	r.final = true
	pl.svc.m.refusals.WithLabelValues(pl.id, reason).Inc()
	if r.span != nil {
		r.span.AddEvent("guard refused", trace.WithAttributes(attribute.String("recyclegate.guard.reason", reason)))
	}
	e := withProvider(sdk.AsError(err), pl.id)
	if whose := guard.Whose(err); whose != guard.LimitProvider {
		return &guard.LimitError{Whose: whose, Err: e} // whose limit it is travels up
	}
	return e
}

// withProvider marks an error with the provider it came from.
func withProvider(e *sdk.Error, id string) *sdk.Error {
	if e.Provider != "" {
		return e
	}
	c := *e
	c.Provider = id
	return &c
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
