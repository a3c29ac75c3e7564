package core

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

// Explain is the policy trace of a quote request asked with "explain": true:
// the policy revision, the rules that matched (shadow rules included), the
// route and why each provider was chosen or not, and the quotes the filters
// dropped. Without policies (Config.Policies empty) the revision is
// "builtin" and the route is the built-in routing by category.
type Explain = policy.Decision

// BuiltinRevision is the revision explain shows when no policies are
// configured.
const BuiltinRevision = "builtin"

// policySide is the host's policy engine and what it needs.
type policySide struct {
	engine  *policy.Engine
	tenants map[string]TenantConfig
}

// startPolicies loads Config.Policies, which must compile, and watches it.
func (h *Host) startPolicies() error {
	h.pol = &policySide{tenants: map[string]TenantConfig{}}
	for _, t := range h.cfg.Tenants {
		h.pol.tenants[t.ID] = t
	}
	if h.cfg.Policies == "" {
		return nil
	}
	e, err := policy.NewEngine(h.cfg.Policies, policy.EngineOptions{Watch: true, Logger: h.log.With("component", "policy")})
	if err != nil {
		return fmt.Errorf("policies %s: %w", h.cfg.Policies, err)
	}
	h.pol.engine = e
	return nil
}

func (h *Host) stopPolicies() {
	if h.pol != nil && h.pol.engine != nil {
		_ = h.pol.engine.Close()
	}
}

// PolicyStatus describes the policies in force (revision, files, rules) and
// the last change that was refused. ok is false when the host runs without
// policies.
func (h *Host) PolicyStatus() (st policy.Status, ok bool) {
	if h.pol == nil || h.pol.engine == nil {
		return policy.Status{}, false
	}
	return h.pol.engine.Status(), true
}

// ReloadPolicies re-reads the policy directory now (it is also watched). It
// reports whether a new set is in force; an error means the change was
// refused and the set in force stays.
func (h *Host) ReloadPolicies() (bool, error) {
	if h.pol == nil || h.pol.engine == nil {
		return false, &sdk.Error{Code: sdk.CodeNotFound, Message: "this host runs without policies (policies: in host.yaml)"}
	}
	return h.pol.engine.Reload()
}

// policyInput converts a request into what the policies read.
func (h *Host) policyInput(tenant *Tenant, req *QuoteRequest, infos []ProviderInfo, kind string, batch int) *policy.Input {
	in := &policy.Input{Now: h.now()}
	it := &req.Item
	in.Request = policy.Request{Kind: kind, Strategy: string(req.Strategy), BatchSize: int64(batch),
		Providers: append([]string{}, req.Providers...),
		Item: policy.Item{Category: string(it.Category), Brand: it.Brand, Model: it.Model, Storage: it.Storage,
			Condition: string(it.Condition), FunctionalIssues: append([]string{}, it.FunctionalIssues...),
			PurchaseChannel: it.PurchaseChannel}}
	if it.ConditionScore != nil {
		in.Request.Item.ConditionScore = *it.ConditionScore
	}
	if c := it.Car; c != nil {
		in.Request.Item.Car = policy.Car{TypeID: c.TypeID, CityID: c.CityID, FirstRegistration: c.FirstRegistration,
			MileageKM: c.MileageKM, Transfers: int64(c.Transfers)}
	}
	if tenant != nil {
		in.Tenant.ID = tenant.ID
		if tc, ok := h.pol.tenants[tenant.ID]; ok {
			in.Tenant.Tier, in.Tenant.MaxBatch = tc.Tier, int64(tc.MaxBatch)
			in.Tenant.Categories = append([]string(nil), tc.Categories...)
			in.Tenant.Providers = append([]string(nil), tc.Providers...)
			in.Tenant.Attributes = tc.Attributes
		}
	}
	if len(in.Tenant.Categories) == 0 { // entitled to every category
		for _, c := range sdk.Categories {
			in.Tenant.Categories = append(in.Tenant.Categories, string(c))
		}
	}
	in.Providers = make([]policy.Provider, len(infos))
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
		if g := p.Guards; g != nil { // the guards' live state (guards.go)
			if g.Breaker != "" {
				pp.Breaker = strings.ReplaceAll(g.Breaker, "-", "_")
			}
			if g.Quota != nil {
				pp.QuotaRemaining = max(g.Quota.Left, 0)
			}
			if g.QPS > 0 {
				pp.QPS = g.QPS
			}
		}
		pp.Latency = p.Latency.D()
		in.Providers[i] = pp
	}
	return in
}

// policyRun is one request's pass through the policies in force: one set,
// taken once, for compliance, routing and filters.
type policyRun struct {
	h       *Host
	in      *policy.Input
	ev      *policy.Evaluation
	builtin bool // no policies: only explain is filled, by hand
	router  bool // an embedder's Router (WithRouter) routes, not the policies
	dec     *policy.Decision
	noted   *policy.RouteDecision // a route the policies did not decide
}

type policyRunKey struct{}

func withPolicyRun(ctx context.Context, r *policyRun) context.Context {
	return context.WithValue(ctx, policyRunKey{}, r)
}

func policyRunOf(ctx context.Context) *policyRun {
	r, _ := ctx.Value(policyRunKey{}).(*policyRun)
	return r
}

// beginPolicy starts a request's evaluation with the set in force.
func (h *Host) beginPolicy(ctx context.Context, tenant *Tenant, req *QuoteRequest, infos []ProviderInfo, kind string, batch int) *policyRun {
	r := &policyRun{h: h}
	if h.pol == nil || h.pol.engine == nil {
		r.builtin = true
		r.dec = &policy.Decision{Revision: BuiltinRevision, Allowed: true, Dropped: []policy.Drop{}, Rules: []policy.RuleHit{}}
		return r
	}
	_, r.router = h.router.(CategoryRouter)
	r.router = !r.router
	r.in = h.policyInput(tenant, req, infos, kind, batch)
	r.in.Normalize()
	set := h.pol.engine.Set()
	if pin, ok := ctx.Value(policyPinKey{}).(*policyPin); ok {
		set = pin.set
	}
	r.ev = set.Begin(ctx, r.in)
	return r
}

type policyPinKey struct{}

// policyPin is the policy set and batch size of a batch: every item is
// decided by the same set, even if the files change meanwhile.
type policyPin struct {
	set   *policy.Set
	batch int
}

// pinPolicies makes every request under ctx use the set in force now, and
// tells the policies the batch holds n items (request.batch_size).
func (h *Host) pinPolicies(ctx context.Context, n int) context.Context {
	if h.pol == nil || h.pol.engine == nil {
		return ctx
	}
	return context.WithValue(ctx, policyPinKey{}, &policyPin{set: h.pol.engine.Set(), batch: n})
}

// filterPolicyItem runs the filters over a batch item's result.
func (h *Host) filterPolicyItem(ctx context.Context, tenant *Tenant, req *QuoteRequest, res *QuoteResult) {
	if h.pol == nil || h.pol.engine == nil || len(res.Quotes) == 0 {
		return
	}
	r := h.beginPolicy(ctx, tenant, req, h.Providers(), policy.KindBatch, batchSizeOf(ctx))
	r.filter(res)
	r.finish(ctx, nil, false)
}

// comply runs the compliance rules: a denial is a forbidden error carrying
// the rule's message (HTTP 403).
func (r *policyRun) comply() error {
	if r.builtin {
		return nil
	}
	if d := r.ev.Comply(); d != nil {
		return &sdk.Error{Code: sdk.CodeForbidden, Message: d.Message}
	}
	return nil
}

// policyRoute routes by the policies, or reports false when they do not
// route this request (no policies, or an embedder's Router).
func (r *policyRun) policyRoute(req *QuoteRequest) (Route, bool, error) {
	if r.builtin || r.router {
		return Route{}, false, nil
	}
	rd := r.ev.Route()
	rt := Route{Providers: rd.Providers, Strategy: Strategy(rd.Strategy), Rule: "policy: " + rd.Rule}
	if len(rt.Providers) == 0 {
		why := make([]string, 0, len(rd.Choices))
		for _, c := range rd.Choices {
			why = append(why, c.ID+" "+c.Reason)
		}
		msg := fmt.Sprintf("no provider quotes category %s for this account (route %s", req.Item.Category, rd.Rule)
		if len(why) > 0 {
			msg += ": " + strings.Join(why, "; ")
		}
		return Route{}, true, &sdk.Error{Code: sdk.CodeUnsupported, Field: "item.category", Message: msg + ")"}
	}
	return rt, true, nil
}

// noteRoute records a route the policies did not decide, for explain.
func (r *policyRun) noteRoute(rt Route) {
	r.noted = &policy.RouteDecision{Rule: rt.Rule, Strategy: string(rt.Strategy), Providers: rt.Providers,
		Choices: make([]policy.ProviderChoice, 0, len(rt.Providers))}
	for _, id := range rt.Providers {
		r.noted.Choices = append(r.noted.Choices, policy.ProviderChoice{ID: id, Chosen: true, Reason: rt.Rule})
	}
}

// filter drops the quotes the filters reject, from the quotes and best.
func (r *policyRun) filter(res *QuoteResult) {
	if r.builtin || len(res.Quotes) == 0 {
		return
	}
	qs := make([]policy.Quote, len(res.Quotes))
	for i, q := range res.Quotes {
		qs[i] = policy.Quote{Provider: q.Provider, QuoteID: q.QuoteID, Price: q.Price.Amount, Currency: string(q.Price.Currency),
			ValidUntil: q.ValidUntil, Orderable: q.Orderable}
	}
	keep := r.ev.Filter(qs)
	if !slices.Contains(keep, false) {
		return
	}
	kept := res.Quotes[:0:0]
	for i, q := range res.Quotes {
		if keep[i] {
			kept = append(kept, q)
		}
	}
	res.Quotes = kept
	res.Best = best(res.Quotes)
}

// finish logs the decision (personal data masked) and attaches explain
// when asked.
func (r *policyRun) finish(ctx context.Context, res *QuoteResult, explain bool) {
	d := r.dec
	if !r.builtin {
		d = r.ev.Decision()
		r.ev.Close()
	}
	if d.Route == nil && r.noted != nil && d.Allowed {
		d.Route = r.noted
	}
	if !r.builtin {
		r.h.log.LogAttrs(ctx, slog.LevelInfo, "policy decision", d.LogAttrs(r.in)...)
	}
	if explain && res != nil {
		res.Explain = d
	}
}

// close ends a run that produced no result (refused).
func (r *policyRun) close(ctx context.Context) { r.finish(ctx, nil, false) }

// routePolicyItem is routing for a request without a run of its own (a
// batch's item): compliance, then the policies' route.
func (h *Host) routePolicyItem(ctx context.Context, tenant *Tenant, req *QuoteRequest, infos []ProviderInfo) (Route, bool, error) {
	if h.pol == nil || h.pol.engine == nil {
		return Route{}, false, nil
	}
	r := h.beginPolicy(ctx, tenant, req, infos, policy.KindBatch, batchSizeOf(ctx))
	defer r.close(ctx)
	if err := r.comply(); err != nil {
		return Route{}, true, err
	}
	if len(req.Providers) > 0 {
		return Route{}, false, nil
	}
	return r.policyRoute(req)
}

func batchSizeOf(ctx context.Context) int {
	if pin, ok := ctx.Value(policyPinKey{}).(*policyPin); ok {
		return pin.batch
	}
	return 1
}

// validatePolicyTenants checks the tenants' entitlements: they are enforced
// by the policies, so they need policies.
func (c *Config) validatePolicyTenants() error {
	for i, t := range c.Tenants {
		if (t.Tier != "" || len(t.Categories) > 0 || len(t.Providers) > 0 || t.MaxBatch != 0 || len(t.Attributes) > 0) && c.Policies == "" {
			return fmt.Errorf("config: tenants[%d] (%s): tier, categories, providers, max_batch and attributes are enforced by policies; set policies: (a directory, as policies/) or remove them", i, t.ID)
		}
		for j, cat := range t.Categories {
			if !sdk.Category(cat).Valid() {
				return fmt.Errorf("config: tenants[%d].categories[%d]: unknown category %q", i, j, cat)
			}
		}
		if t.MaxBatch < 0 {
			return fmt.Errorf("config: tenants[%d].max_batch must not be negative", i)
		}
	}
	return nil
}

// policyKindQuote is the kind of a single quote request.
const policyKindQuote = policy.KindQuote

// PolicyEvaluation is a dry run: a request evaluated against the policies
// in force, or against the policy files it carries, without calling any
// provider (POST /v1/policies/evaluate).
type PolicyEvaluation struct {
	// Request is the quote request (explain is implied).
	Request QuoteRequest `json:"request"`
	// Kind is quote (default), batch or order.
	Kind string `json:"kind,omitempty"`
	// BatchSize is the batch's number of items (kind batch).
	BatchSize int `json:"batch_size,omitempty"`
	// Order is the order being placed (kind order).
	Order *policy.Order `json:"order,omitempty"`
	// Tenant replaces the caller's policy attributes, to see what another
	// tier or entitlement would get. The tenant's id stays the caller's.
	Tenant *PolicyTenant `json:"tenant,omitempty"`
	// Quotes are run through the filters, as if providers had answered them.
	Quotes []sdk.Quote `json:"quotes,omitempty"`
	// Policies, when given, are evaluated instead of the policies in force:
	// file name (as routing.yaml) to YAML text.
	Policies map[string]string `json:"policies,omitempty"`
}

// PolicyTenant is what the policies read of a tenant.
type PolicyTenant struct {
	Tier       string            `json:"tier,omitempty"`
	Categories []string          `json:"categories,omitempty"`
	Providers  []string          `json:"providers,omitempty"`
	MaxBatch   int               `json:"max_batch,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

var policyFileName = regexp.MustCompile(`^[A-Za-z0-9_.-]+\.ya?ml$`)

// EvaluatePolicy runs a dry run and answers the decision: compliance, the
// route with every provider's reason, and the quotes the filters drop.
func (h *Host) EvaluatePolicy(ctx context.Context, tenant *Tenant, pe *PolicyEvaluation) (*Explain, error) {
	req := &pe.Request
	if err := req.Item.Validate(h.now()); err != nil {
		e := sdk.AsError(err)
		if e.Field != "" {
			e = sdk.InvalidField("request."+e.Field, "%s", strings.TrimPrefix(e.Message, e.Field+": "))
		}
		return nil, e
	}
	if !req.Strategy.Valid() {
		return nil, sdk.InvalidField("request.strategy", "unknown strategy %q; one of best_price, all, first", req.Strategy)
	}
	switch pe.Kind {
	case "", policy.KindQuote, policy.KindBatch, policy.KindOrder:
	default:
		return nil, sdk.InvalidField("kind", "unknown kind %q; one of quote, batch, order", pe.Kind)
	}
	if pe.BatchSize < 0 {
		return nil, sdk.InvalidField("batch_size", "must not be negative")
	}
	var set *policy.Set
	if pe.Policies != nil {
		if len(pe.Policies) == 0 {
			return nil, sdk.InvalidField("policies", "is empty; give file names and their YAML, or leave it out to use the policies in force")
		}
		var files []policy.File
		for name, text := range pe.Policies {
			if !policyFileName.MatchString(name) {
				return nil, sdk.InvalidField("policies", "file name %q: want a plain name ending in .yaml", name)
			}
			files = append(files, policy.File{Name: name, Data: []byte(text)})
		}
		var err error
		if set, err = policy.Compile(files, policy.Options{}); err != nil {
			return nil, sdk.InvalidField("policies", "do not compile:\n%v", err)
		}
	} else if h.pol != nil && h.pol.engine != nil {
		set = h.pol.engine.Set()
	}
	infos := h.Providers()
	in := h.policyInput(tenant, req, infos, pe.Kind, max(pe.BatchSize, 1))
	if pe.Order != nil {
		in.Request.Order = *pe.Order
	}
	if t := pe.Tenant; t != nil {
		in.Tenant.Tier, in.Tenant.MaxBatch, in.Tenant.Attributes = t.Tier, int64(t.MaxBatch), t.Attributes
		in.Tenant.Categories, in.Tenant.Providers = t.Categories, t.Providers
		if len(in.Tenant.Categories) == 0 {
			for _, c := range sdk.Categories {
				in.Tenant.Categories = append(in.Tenant.Categories, string(c))
			}
		}
	}
	for _, q := range pe.Quotes {
		in.Quotes = append(in.Quotes, policy.Quote{Provider: q.Provider, QuoteID: q.QuoteID, Price: q.Price.Amount,
			Currency: string(q.Price.Currency), ValidUntil: q.ValidUntil, Orderable: q.Orderable})
	}
	if set == nil { // no policies: the built-in routing
		rt, err := CategoryRouter{}.Route(ctx, RouteInput{Tenant: tenant, Request: req, Providers: infos})
		if err != nil {
			return nil, err
		}
		r := &policyRun{builtin: true, dec: &policy.Decision{Revision: BuiltinRevision, Allowed: true, Dropped: []policy.Drop{}, Rules: []policy.RuleHit{}}}
		r.noteRoute(rt)
		r.dec.Route = r.noted
		return r.dec, nil
	}
	return set.Evaluate(ctx, in), nil
}

// complyOrder runs the compliance rules over an order (kind order): the
// order's provider is the request's provider, so a tenant cannot order from
// a provider it is not entitled to, and the customer's phone is there to be
// checked. The decision log shows the phone masked, never the name or the
// address.
func (h *Host) complyOrder(ctx context.Context, tenant *Tenant, req *CreateOrderRequest) error {
	if h.pol == nil || h.pol.engine == nil {
		return nil
	}
	q := &QuoteRequest{}
	if req.Provider != "" {
		q.Providers = []string{req.Provider}
	}
	r := h.beginPolicy(ctx, tenant, q, h.Providers(), policy.KindOrder, 1)
	r.in.Request.Order = policy.Order{Provider: req.Provider, QuoteID: req.QuoteID, Logistics: req.Logistics,
		Customer: policy.Customer{Name: req.Customer.Name, Phone: req.Customer.Phone, Address: req.Customer.Address}}
	defer r.close(ctx)
	return r.comply()
}
