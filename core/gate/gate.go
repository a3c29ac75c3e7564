// Package gate decides requests by the CEL policies in force: compliance
// (allow, or deny with a message), routing (which providers, which
// strategy) and filters (which quotes may be shown), from one evaluation
// per request, with one policy set taken once. Start with New; for each
// request Begin a Decision, ask it what you need, and Finish it (the
// decision is logged with personal data masked, and its trace is what
// explain shows).
//
// It is also the tenant gate: once an operation has resolved its provider,
// Decision.Pass (or Order, Catalog, Read, Background) checks the tenant's
// entitlements and compliance and makes the invoke.Pass without which no
// provider call is made (pass.go).
//
// Without a policy directory the gate allows everything and routes
// nothing: the caller's built-in routing decides, and the trace says so
// (revision "builtin").
//
// SetRecorder hands each finished decision, with what the policies read,
// to a Recorder (package orders records them for replay).
package gate

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk"
)

// BuiltinRevision is the revision a trace shows when no policies are
// configured.
const BuiltinRevision = "builtin"

// Tenant is what the policies read of a tenant beside its id.
type Tenant struct {
	Tier       string            `json:"tier,omitempty"`
	Categories []string          `json:"categories,omitempty"`
	Providers  []string          `json:"providers,omitempty"`
	MaxBatch   int               `json:"max_batch,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Options configure a Gate.
type Options struct {
	// Dir is the policy directory, watched and reloaded when it changes.
	// Empty: no policies.
	Dir string
	// Tenants are the tenants' policy attributes by id.
	Tenants map[string]Tenant
	// Limits bound what the directory, and a dry run's inline policies,
	// may hold (zero fields: the defaults).
	Limits policy.Options
	// Invoke tells the providers' live state the routing rules read.
	Invoke *invoke.Service
	Logger *slog.Logger
	Now    func() time.Time
	// Tracing makes a span of each policy decision. Nil: off.
	Tracing *telemetry.Tracing
}

// Gate holds the policy engine.
type Gate struct {
	engine  *policy.Engine
	limits  policy.Options
	tenants map[string]Tenant
	inv     *invoke.Service
	minter  *invoke.Minter // the one maker of invoke's passes
	log     *slog.Logger
	now     func() time.Time
	tr      telemetry.Tracer
	// static is what the policies read of the providers that changes only
	// with invoke's epoch (state, manifest, breakers).
	static atomic.Pointer[staticProviders]
	// recorder hears each finished decision (SetRecorder).
	recorder atomic.Pointer[Recorder]
}

type staticProviders struct {
	epoch uint64
	list  []policy.Provider
}

// New loads the policy directory, which must compile, and watches it.
func New(o Options) (*Gate, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Gate{limits: o.Limits, tenants: o.Tenants, log: o.Logger, now: o.Now,
		tr: o.Tracing.Tracer("github.com/recyclegate/recyclegate/core/gate")}
	if o.Invoke != nil {
		if err := g.claim(o.Invoke); err != nil {
			return nil, err
		}
	}
	if o.Dir == "" {
		return g, nil
	}
	e, err := policy.NewEngine(o.Dir, policy.EngineOptions{Options: o.Limits, Watch: true, Logger: o.Logger.With("component", "policy"),
		Installed: g.warnUnreachable})
	if err != nil {
		return nil, fmt.Errorf("policies %s: %w", o.Dir, err)
	}
	g.engine = e
	return g, nil
}

// Close stops watching the directory.
func (g *Gate) Close() {
	if g.engine != nil {
		_ = g.engine.Close()
	}
}

// Compile compiles policy files under the gate's limits (a dry run's
// inline policies).
func (g *Gate) Compile(files []policy.File) (*policy.Set, error) {
	return policy.Compile(files, g.limits)
}

// Enabled reports whether policies are configured.
func (g *Gate) Enabled() bool { return g.engine != nil }

// Status describes the policies in force; ok is false without policies.
func (g *Gate) Status() (st policy.Status, ok bool) {
	if g.engine == nil {
		return policy.Status{}, false
	}
	st = g.engine.Status()
	st.LoadedAt = invoke.HostTime(st.LoadedAt)
	if st.LastError != nil {
		le := *st.LastError
		le.At = invoke.HostTime(le.At)
		st.LastError = &le
	}
	return st, true
}

// Reload re-reads the policy directory now. It reports whether a new set is
// in force; an error means the change was refused and the set in force
// stays.
func (g *Gate) Reload() (bool, error) {
	if g.engine == nil {
		return false, &sdk.Error{Code: sdk.CodeNotFound, Message: "this host runs without policies (policies: in host.yaml)"}
	}
	return g.engine.Reload()
}

// Set is the policy set in force now (nil without policies). A batch pins
// it, so every item is decided by the same set.
func (g *Gate) Set() *policy.Set {
	if g.engine == nil {
		return nil
	}
	return g.engine.Set()
}

// Revision is the revision of the set in force ("" without policies).
func (g *Gate) Revision() string {
	if s := g.Set(); s != nil {
		return s.Revision()
	}
	return ""
}

// Subject is the request a decision is about.
type Subject struct {
	Tenant *invoke.Tenant
	// Kind is policy.KindQuote, KindBatch, KindOrder or KindCatalog.
	Kind string
	// BatchSize is the batch's number of items (1 for a single request).
	BatchSize int
	Item      *sdk.Item
	// Strategy and Providers are what the caller asked for.
	Strategy  string
	Providers []string
	// Order is set for kind order.
	Order *policy.Order
	// Quotes are run through the filters (a dry run).
	Quotes []sdk.Quote
	// As replaces the tenant's policy attributes (a dry run: what another
	// tier or entitlement would get).
	As *Tenant
}

// SetInvoke tells the gate where to read the providers' state, for a gate
// made before the providers were loaded, and takes invoke's one Minter:
// from then on only this gate clears calls to providers. (A service whose
// Minter is taken already is logged and clears nothing: fail closed.)
func (g *Gate) SetInvoke(inv *invoke.Service) {
	if err := g.claim(inv); err != nil {
		g.log.Error("the tenant gate cannot clear calls: every provider call is refused", "error", err)
	}
	if g.engine != nil {
		g.warnUnreachable(g.engine.Set())
	}
}

// warnUnreachable warns of each loaded provider that quotes but that no
// route of set can ever ask.
func (g *Gate) warnUnreachable(set *policy.Set) {
	inv := g.inv
	if inv == nil || set == nil {
		return
	}
	var ids []string
	for _, p := range inv.Providers() {
		if slices.Contains(p.Capabilities, sdk.CapQuote) {
			ids = append(ids, p.ID)
		}
	}
	for _, w := range set.Unreachable(ids) {
		g.log.Warn(w, "component", "policy", "revision", set.Revision())
	}
}

// Input converts a subject and the providers' state into what the
// policies read.
func (g *Gate) Input(sub Subject) *policy.Input {
	in := &policy.Input{Now: g.now()}
	batch := max(sub.BatchSize, 1)
	in.Request = policy.Request{Kind: sub.Kind, Strategy: sub.Strategy, BatchSize: int64(batch),
		Providers: append([]string{}, sub.Providers...)}
	if it := sub.Item; it != nil {
		in.Request.Item = policy.Item{Category: string(it.Category), Brand: it.Brand, Model: it.Model, Storage: it.Storage,
			Condition: string(it.Condition), FunctionalIssues: append([]string{}, it.FunctionalIssues...),
			PurchaseChannel: it.PurchaseChannel}
		if it.ConditionScore != nil {
			in.Request.Item.ConditionScore = *it.ConditionScore
		}
		if c := it.Car; c != nil {
			in.Request.Item.Car = policy.Car{TypeID: c.TypeID, CityID: c.CityID, FirstRegistration: c.FirstRegistration,
				MileageKM: c.MileageKM, Transfers: int64(c.Transfers)}
		}
	}
	if sub.Order != nil {
		in.Request.Order = *sub.Order
	}
	var attrs Tenant
	if sub.Tenant != nil {
		in.Tenant.ID = sub.Tenant.ID
		attrs = g.tenants[sub.Tenant.ID]
	}
	if sub.As != nil {
		attrs = *sub.As
	}
	in.Tenant.Tier, in.Tenant.MaxBatch, in.Tenant.Attributes = attrs.Tier, int64(attrs.MaxBatch), attrs.Attributes
	in.Tenant.Categories = append([]string(nil), attrs.Categories...)
	in.Tenant.Providers = append([]string(nil), attrs.Providers...)
	if len(in.Tenant.Categories) == 0 { // entitled to every category
		for _, c := range sdk.Categories {
			in.Tenant.Categories = append(in.Tenant.Categories, string(c))
		}
	}
	in.Providers = g.providers()
	for _, q := range sub.Quotes {
		in.Quotes = append(in.Quotes, PolicyQuote(&q))
	}
	return in
}

// providers is what the policies read of every provider: the parts that
// change only with invoke's epoch are converted once per epoch, the rest
// (quota left, rate, latency, breaker) read now.
func (g *Gate) providers() []policy.Provider {
	if g.inv == nil {
		return []policy.Provider{}
	}
	epoch := g.inv.Epoch()
	st := g.static.Load()
	if st == nil || st.epoch != epoch {
		infos := g.inv.Providers()
		st = &staticProviders{epoch: epoch, list: make([]policy.Provider, len(infos))}
		for i, p := range infos {
			pp := policy.Provider{ID: p.ID, State: p.State, DailyQuota: p.Limits.DailyQuota, QPS: p.Limits.QPS,
				QuotaRemaining: -1, Breaker: policy.BreakerClosed}
			for _, c := range p.Categories {
				pp.Categories = append(pp.Categories, string(c))
			}
			for _, c := range p.Capabilities {
				pp.Capabilities = append(pp.Capabilities, string(c))
			}
			if p.Limits.CostPerCall != nil {
				pp.CostPerCall = p.Limits.CostPerCall.Amount
			}
			st.list[i] = pp
		}
		g.static.Store(st)
	}
	out := make([]policy.Provider, len(st.list))
	copy(out, st.list)
	for i := range out {
		pp := &out[i]
		live := g.inv.StateOf(pp.ID)
		switch live.Breaker {
		case "open":
			pp.Breaker = policy.BreakerOpen
		case "half-open":
			pp.Breaker = policy.BreakerHalfOpen
		}
		if live.QuotaLeft >= 0 {
			pp.QuotaRemaining = live.QuotaLeft
		}
		if live.QPS > 0 {
			pp.QPS = live.QPS
		}
		pp.Latency = live.Latency
	}
	return out
}

// PolicyQuote is a quote as the filters read it.
func PolicyQuote(q *sdk.Quote) policy.Quote {
	return policy.Quote{Provider: q.Provider, QuoteID: q.QuoteID, Price: q.Price.Amount, Currency: string(q.Price.Currency),
		ValidUntil: q.ValidUntil, Orderable: q.Orderable}
}

// Decision is one request's pass through the policies: one set, taken
// once, for compliance, routing and filters.
type Decision struct {
	g      *Gate
	sub    Subject
	in     *policy.Input
	ev     *policy.Evaluation
	dec    *policy.Decision      // without policies: filled by hand
	noted  *policy.RouteDecision // a route the policies did not decide
	stages policy.Stage          // what the policies were asked
	// span is the policies' span while tracing is on: from Begin to the
	// route (or to Finish, for a decision without one).
	span trace.Span
	// set is the policy set the decision runs, spanEnded whether its span
	// ended (at the route, or at Finish).
	set       *policy.Set
	spanEnded bool
	// complied: the compliance rules ran, and denied is their answer.
	complied bool
	denied   error
}

// Begin starts a request's decision with set (nil: the set in force).
func (g *Gate) Begin(ctx context.Context, set *policy.Set, sub Subject) *Decision {
	d := &Decision{g: g, sub: sub}
	if set == nil {
		set = g.Set()
	}
	if set == nil {
		d.dec = Builtin()
		return d
	}
	if g.tr.On() {
		// Its attributes are set once, when it ends (one write, not two).
		_, d.span = g.tr.Start(ctx, "policy")
		d.set = set
	}
	d.in = g.Input(sub)
	d.in.Normalize()
	d.ev = set.Begin(ctx, d.in)
	return d
}

// Builtin is the decision without policies: allowed, nothing dropped.
func Builtin() *policy.Decision {
	return &policy.Decision{Revision: BuiltinRevision, Allowed: true, Dropped: []policy.Drop{}, Rules: []policy.RuleHit{}}
}

// Comply runs the compliance rules: a denial is a forbidden error carrying
// the rule's message (HTTP 403).
func (d *Decision) Comply() error {
	if d.complied || d.ev == nil {
		return d.denied
	}
	d.stages |= policy.StageComply
	d.complied = true
	if den := d.ev.Comply(); den != nil {
		if d.span != nil {
			d.span.SetAttributes(attribute.String("recyclegate.policy.denied_by", den.Rule))
		}
		d.denied = &sdk.Error{Code: sdk.CodeForbidden, Message: den.Message}
	}
	return d.denied
}

// Route runs the routing rules; ok is false without policies.
func (d *Decision) Route() (rd *policy.RouteDecision, ok bool) {
	if d.ev == nil {
		return nil, false
	}
	d.stages |= policy.StageRoute
	rd = d.ev.Route()
	if d.span != nil {
		d.endSpan(rd)
	}
	return rd, true
}

// Note records a route the policies did not decide, for the trace.
func (d *Decision) Note(rule, strategy string, providers []string) {
	d.noted = RouteNote(rule, strategy, providers)
}

// LeftOut adds, to a noted route's trace, the providers it does not ask
// and why (for explain: the policies' own routes say it themselves).
func (d *Decision) LeftOut(choices []policy.ProviderChoice) {
	if d.noted != nil {
		d.noted.Choices = append(d.noted.Choices, choices...)
	}
}

// RouteNote is the trace of a route the policies did not decide.
func RouteNote(rule, strategy string, providers []string) *policy.RouteDecision {
	if providers == nil {
		providers = []string{}
	}
	rd := &policy.RouteDecision{Rule: rule, Strategy: strategy, Providers: providers,
		Choices: make([]policy.ProviderChoice, 0, len(providers))}
	for _, id := range providers {
		rd.Choices = append(rd.Choices, policy.ProviderChoice{ID: id, Chosen: true, Reason: rule})
	}
	return rd
}

// Filter runs the filters over quotes and reports which to keep (nil:
// all of them, as without policies).
func (d *Decision) Filter(quotes []sdk.Quote) []bool {
	if d.ev == nil || len(quotes) == 0 {
		return nil
	}
	d.stages |= policy.StageFilter
	qs := make([]policy.Quote, len(quotes))
	for i := range quotes {
		qs[i] = PolicyQuote(&quotes[i])
	}
	return d.ev.Filter(qs)
}

// Finish ends the decision: it is logged (personal data masked) and its
// trace returned.
func (d *Decision) Finish(ctx context.Context) *policy.Decision {
	dec := d.dec
	if d.ev != nil {
		dec = d.ev.Decision()
		d.ev.Close()
	}
	if dec.Route == nil && d.noted != nil && dec.Allowed {
		dec.Route = d.noted
	}
	if d.span != nil {
		d.traceDecision(ctx, dec)
	}
	if d.ev != nil {
		// A routine decision (allowed, nothing dropped, no shadow rule or
		// failure to report) is logged at debug: at thousands of quotes a
		// second its line would cost more than the decision.
		level := slog.LevelDebug
		if notable(dec) {
			level = slog.LevelInfo
		}
		if d.g.log.Enabled(ctx, level) {
			d.g.log.LogAttrs(ctx, level, "policy decision", dec.LogAttrs(d.in)...)
		}
		if rec := d.g.recorder.Load(); rec != nil && d.stages != 0 {
			(*rec)(Recording{Input: d.in, Decision: dec, Stages: d.stages})
		}
	}
	return dec
}

// Recording is one request's decision as a Recorder hears it: what the
// policies read (personal data still in it), what they decided, and which
// stages they were asked.
type Recording struct {
	Input    *policy.Input
	Decision *policy.Decision
	Stages   policy.Stage
}

// Recorder hears every decision the policies made for a request (a dry
// run is none), when it is finished, on the request's path: it must not
// block, and must not change what it is given (which nothing changes
// after it: it may keep it). Package orders records them for replay.
type Recorder func(Recording)

// SetRecorder makes r hear every finished decision (nil: none).
func (g *Gate) SetRecorder(r Recorder) {
	if r == nil {
		g.recorder.Store(nil)
		return
	}
	g.recorder.Store(&r)
}

// notable reports whether a decision is worth a line at info: a denial, a
// dropped quote, a shadow rule that matched, or a rule that failed.
func notable(d *policy.Decision) bool {
	if !d.Allowed || len(d.Dropped) > 0 {
		return true
	}
	for _, r := range d.Rules {
		if r.Shadow || r.Error != "" {
			return true
		}
	}
	return false
}

// traceDecision ends the policies' span, if the route did not, and adds
// a notable decision (a denial, quotes dropped, a shadow rule or a rule's
// failure) to the request's span as an event, with the rules that matched.
// A routine one is already on the policies' span (its route's rule): an
// event for it would cost more than the decision, as its log line would.
func (d *Decision) traceDecision(ctx context.Context, dec *policy.Decision) {
	if !notable(dec) {
		d.endSpan(nil)
		return
	}
	rules := make([]string, 0, len(dec.Rules))
	for _, r := range dec.Rules {
		rules = append(rules, r.Rule) // its outcome is in the explain and the decision log
	}
	attrs := trace.WithAttributes(attribute.Bool("recyclegate.policy.allowed", dec.Allowed),
		attribute.StringSlice("recyclegate.policy.rules", rules), attribute.Int("recyclegate.policy.dropped", len(dec.Dropped)))
	trace.SpanFromContext(ctx).AddEvent("policy decision", attrs)
	d.endSpan(nil)
}

// endSpan ends the policies' span, once, with its attributes written in
// one go: the set's revision, what was decided on, and the route (rd, nil
// when there is none).
func (d *Decision) endSpan(rd *policy.RouteDecision) {
	if d.spanEnded {
		return
	}
	d.spanEnded = true
	attrs := make([]attribute.KeyValue, 2, 5)
	attrs[0] = attribute.String("recyclegate.policy.revision", d.set.Revision())
	attrs[1] = attribute.String("recyclegate.policy.kind", string(d.sub.Kind))
	if rd != nil {
		attrs = append(attrs, attribute.String("recyclegate.policy.route_rule", rd.Rule),
			attribute.String("recyclegate.policy.strategy", rd.Strategy), attribute.StringSlice("recyclegate.policy.providers", rd.Providers))
	}
	d.span.SetAttributes(attrs...)
	d.span.End()
}
