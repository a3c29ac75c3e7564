// Package quote answers a quote request: it is decided once (compliance,
// route and filters from one policy evaluation, package gate), fanned out
// to the routed providers through package invoke, filtered and ranked.
// Start with New and Service.Quote; Router is the extension point for an
// embedder that routes by its own rules.
package quote

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

// Strategy says how a quote request uses the providers routed to.
type Strategy string

// The strategies.
const (
	// StrategyBestPrice asks every routed provider at once and ranks the
	// quotes, highest price first. The default.
	StrategyBestPrice Strategy = "best_price"
	// StrategyAll asks every routed provider at once and keeps the quotes in
	// route order.
	StrategyAll Strategy = "all"
	// StrategyFirst asks the routed providers one after another, in order,
	// and stops at the first quote: a fallback chain.
	StrategyFirst Strategy = "first"
)

// Valid reports whether s is a known strategy (or empty, the default).
func (s Strategy) Valid() bool {
	switch s {
	case "", StrategyBestPrice, StrategyAll, StrategyFirst:
		return true
	}
	return false
}

// Request is a request for quotes from one or more providers.
type Request struct {
	Item      sdk.Item `json:"item"`
	Providers []string `json:"providers,omitempty"` // restrict to these; routing decides when empty
	Strategy  Strategy `json:"strategy,omitempty"`
	Detail    bool     `json:"detail,omitempty"` // ask for price breakdowns
	// Explain asks for the policy trace in the result (Result.Explain).
	Explain bool `json:"explain,omitempty"`
}

// ProviderError is one provider's failure beside the quotes that did come back.
type ProviderError = invoke.ProviderError

// NewProviderError describes provider id's failure.
func NewProviderError(id string, err error) ProviderError { return invoke.NewProviderError(id, err) }

// Result is the answer to a Request: the quotes that came back, the best of
// them, and each failed provider's error. A result with no quote and only
// errors is still a result, not an error.
type Result struct {
	Quotes   []sdk.Quote     `json:"quotes"`
	Best     *sdk.Quote      `json:"best,omitempty"`
	Errors   []ProviderError `json:"errors"`
	Strategy Strategy        `json:"strategy"`
	Route    Route           `json:"route"`
	// Explain is the policy trace, when the request asked for it.
	Explain *policy.Decision `json:"explain,omitempty"`

	kept    bool                   // kept for reuse (answers): its encoding is kept too
	encoded atomic.Pointer[[]byte] // the result's JSON, once a kept result was written
}

// Route is a routing decision.
type Route struct {
	Providers []string `json:"providers"`
	Strategy  Strategy `json:"strategy"`
	Rule      string   `json:"rule,omitempty"` // what decided it

	pass *invoke.Pass // the gate's leave to ask Providers (set by the service's decision)
}

// Pass is the gate's leave to ask the route's providers, set on a route
// the Service decided (nil on one a Router answered, before the gate).
func (r Route) Pass() *invoke.Pass { return r.pass }

// RouteInput is what a Router decides on.
type RouteInput struct {
	Tenant    *invoke.Tenant
	Request   *Request
	Providers []invoke.ProviderInfo // every loaded provider, in configured order
}

// Router chooses the providers and strategy for a quote request.
type Router interface {
	Route(ctx context.Context, in RouteInput) (Route, error)
}

// CategoryRouter is the built-in router: every ready-or-not provider that
// quotes the item's category, in configured order, best price first.
type CategoryRouter struct{}

// Route implements Router.
func (CategoryRouter) Route(_ context.Context, in RouteInput) (Route, error) {
	r := Route{Strategy: StrategyBestPrice, Rule: "builtin: by category"}
	for _, p := range in.Providers {
		if servesQuote(p, in.Request.Item.Category) {
			r.Providers = append(r.Providers, p.ID)
		}
	}
	return r, nil
}

func servesQuote(p invoke.ProviderInfo, c sdk.Category) bool {
	return slices.Contains(p.Capabilities, sdk.CapQuote) && slices.Contains(p.Categories, c)
}

// Options configure a Service.
type Options struct {
	Invoke *invoke.Service
	Gate   *gate.Gate
	// Router routes when the policies do not (none configured) or instead
	// of them (an embedder's). Default CategoryRouter.
	Router Router
	// AnswerTTL is how long an answer is reused for an identical request
	// of the same tenant, while the policies and the providers' states are
	// those it was decided with. Default DefaultAnswerTTL; negative: never.
	AnswerTTL time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   prometheus.Registerer
}

// Service answers quote requests.
type Service struct {
	inv    *invoke.Service
	gate   *gate.Gate
	router Router
	// byPolicy: the policies route (the router is the built-in one).
	byPolicy bool
	now      func() time.Time
	log      *slog.Logger
	quotes   *prometheus.CounterVec
	answers  *answers
	answered prometheus.Counter
}

// New returns a Service.
func New(o Options) *Service {
	if o.Router == nil {
		o.Router = CategoryRouter{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	if o.AnswerTTL == 0 {
		o.AnswerTTL = DefaultAnswerTTL
	}
	_, builtin := o.Router.(CategoryRouter)
	s := &Service{inv: o.Invoke, gate: o.Gate, router: o.Router, byPolicy: builtin, now: o.Now, log: o.Logger,
		answers: newAnswers(o.AnswerTTL, 10000),
		quotes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recyclegate_quote_requests_total",
			Help: "Quote requests, by outcome: answered (at least one quote), empty, refused.",
		}, []string{"outcome"})}
	o.Metrics.MustRegister(s.quotes)
	s.answered = s.quotes.WithLabelValues("answered")
	return s
}

// Count counts a request by its outcome: answered, empty or refused.
func (s *Service) Count(outcome string) { s.quotes.WithLabelValues(outcome).Inc() }

// Validate checks a request before anything is decided or asked.
func (s *Service) Validate(req *Request) error {
	if err := req.Item.Validate(s.now()); err != nil {
		return err
	}
	if !req.Strategy.Valid() {
		return sdk.InvalidField("strategy", "unknown strategy %q; one of best_price, all, first", req.Strategy)
	}
	return nil
}

// Quote validates the request, decides it (compliance, route), asks the
// chosen providers concurrently (or in order, for strategy first), filters
// and ranks the quotes, and answers with them and every provider's error.
// It returns an error only when the request itself is refused: bad input
// (invalid_argument, naming the field), a compliance denial, or no
// provider that could serve it.
//
// An identical request of the same tenant may get the same answer again
// (Options.AnswerTTL): treat a result as read-only.
func (s *Service) Quote(ctx context.Context, tenant *invoke.Tenant, req *Request) (*Result, error) {
	return s.quote(ctx, tenant, req, nil)
}

// QuoteBody is Quote for a request still encoded, as an HTTP server has
// it: a tenant's request of the same bytes as one answered within the
// answer TTL gets that answer without being decoded; otherwise decode
// fills req from body (reporting bad input as it should be answered) and
// the request is answered as Quote does.
func (s *Service) QuoteBody(ctx context.Context, tenant *invoke.Tenant, body []byte, decode func(*Request) error) (*Result, error) {
	if s.answers.ttl > 0 && s.inv.CachesAnyQuotes() {
		if res, ok := s.answers.getBody(tenantID(tenant), body, s.gate.Set(), s.inv.Epoch(), s.now()); ok {
			s.countReuse(res)
			return res, nil
		}
	}
	var req Request
	if err := decode(&req); err != nil {
		s.Count("refused")
		return nil, err
	}
	return s.quote(ctx, tenant, &req, body)
}

// tenantID is t's id, "" for the host's own request.
func tenantID(t *invoke.Tenant) string {
	if t == nil {
		return ""
	}
	return t.ID
}

func (s *Service) countReuse(res *Result) {
	for _, q := range res.Quotes {
		s.inv.CountCacheHit(q.Provider)
	}
	s.answered.Inc()
}

func (s *Service) quote(ctx context.Context, tenant *invoke.Tenant, req *Request, body []byte) (*Result, error) {
	if err := s.Validate(req); err != nil {
		s.Count("refused")
		return nil, err
	}
	var key string
	set, epoch, now := s.gate.Set(), s.inv.Epoch(), s.now()
	if s.answers.ttl > 0 && !req.Explain && s.inv.CachesAnyQuotes() {
		key = answerKey(tenant, req)
		if res, ok := s.answers.get(key, set, epoch, now); ok {
			s.countReuse(res)
			return res, nil
		}
	}
	d := s.gate.Begin(ctx, nil, s.subject(tenant, req, policy.KindQuote, 1))
	route, err := s.decide(ctx, d, tenant, req, nil)
	if err != nil {
		d.Finish(ctx)
		s.Count("refused")
		return nil, err
	}
	res := &Result{Strategy: route.Strategy, Route: route, Quotes: []sdk.Quote{}, Errors: []ProviderError{}}
	s.ask(ctx, &invoke.Call{Tenant: tenant, Pass: route.pass}, &sdk.QuoteRequest{Item: req.Item, Detail: req.Detail}, route, res)
	Filter(d, res)
	explain := d.Finish(ctx)
	if req.Explain {
		res.Explain = explain
	}
	if len(res.Quotes) > 0 {
		s.answered.Inc()
	} else {
		s.Count("empty")
	}
	if key != "" {
		s.answers.put(key, req, res, set, epoch, now, s.inv.CachesQuotes, tenantID(tenant), body)
	}
	return res, nil
}

// ask asks the route's providers and puts their quotes, ranked, and errors
// in res.
func (s *Service) ask(ctx context.Context, c *invoke.Call, sreq *sdk.QuoteRequest, route Route, res *Result) {
	if route.Strategy == StrategyFirst {
		for _, id := range route.Providers {
			q, err := s.inv.Quote(ctx, id, c, sreq)
			if err != nil {
				res.Errors = append(res.Errors, NewProviderError(id, err))
				if ctx.Err() != nil {
					break
				}
				continue
			}
			res.Quotes = append(res.Quotes, *q)
			break
		}
		res.Best = Best(res.Quotes)
		return
	}
	quotes := make([]*sdk.Quote, len(route.Providers))
	errs := make([]error, len(route.Providers))
	if len(route.Providers) == 1 {
		// One provider: no fan-out, no goroutine.
		quotes[0], errs[0] = s.inv.Quote(ctx, route.Providers[0], c, sreq)
	} else {
		var wg sync.WaitGroup
		for i, id := range route.Providers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				quotes[i], errs[i] = s.inv.Quote(ctx, id, c, sreq)
			}()
		}
		wg.Wait()
	}
	for i, id := range route.Providers {
		if errs[i] != nil {
			res.Errors = append(res.Errors, NewProviderError(id, errs[i]))
			continue
		}
		res.Quotes = append(res.Quotes, *quotes[i])
	}
	if route.Strategy == StrategyBestPrice {
		Rank(res.Quotes)
	}
	res.Best = Best(res.Quotes)
}

func (s *Service) subject(tenant *invoke.Tenant, req *Request, kind string, batch int) gate.Subject {
	return gate.Subject{Tenant: tenant, Kind: kind, BatchSize: batch, Item: &req.Item, Strategy: string(req.Strategy),
		Providers: req.Providers}
}

// decide runs compliance and routes: the caller's list when given (each
// must exist and quote the category), else the policies' route, else the
// router's. infos are the providers, read when nil and needed.
func (s *Service) decide(ctx context.Context, d *gate.Decision, tenant *invoke.Tenant, req *Request, infos []invoke.ProviderInfo) (Route, error) {
	r, err := s.route(ctx, d, tenant, req, infos)
	if err != nil {
		return Route{}, err
	}
	// The providers resolved, the gate clears them (or refuses): the
	// tenant's entitlements, then the pass every provider call needs.
	if r.pass, err = d.Pass(r.Providers); err != nil {
		return Route{}, err
	}
	return r, nil
}

// route runs compliance and chooses the providers.
func (s *Service) route(ctx context.Context, d *gate.Decision, tenant *invoke.Tenant, req *Request, infos []invoke.ProviderInfo) (Route, error) {
	if err := d.Comply(); err != nil {
		return Route{}, err
	}
	if infos == nil && (len(req.Providers) > 0 || !s.byPolicy || !s.gate.Enabled()) {
		if _, builtin := s.router.(CategoryRouter); builtin || len(req.Providers) > 0 {
			infos = s.inv.Infos() // the built-in routing reads no guard state
		} else {
			infos = s.inv.Providers() // an embedder's router may
		}
	}
	if len(req.Providers) > 0 {
		r, err := requested(req, infos)
		if err == nil {
			d.Note(r.Rule, string(r.Strategy), r.Providers)
			if req.Explain {
				d.LeftOut(leftOutOf(infos, r.Providers, req.Item.Category, "not asked: the request names its providers"))
			}
		}
		return r, err
	}
	if s.byPolicy {
		if rd, ok := d.Route(); ok {
			return policyRoute(req, rd)
		}
	}
	r, err := s.router.Route(ctx, RouteInput{Tenant: tenant, Request: req, Providers: infos})
	if err != nil {
		return Route{}, err
	}
	if req.Strategy != "" {
		r.Strategy = req.Strategy
	}
	r.Providers = d.Entitled(r.Providers) // a router knows nothing of entitlements
	d.Note(r.Rule, string(r.Strategy), r.Providers)
	if req.Explain {
		d.LeftOut(leftOutOf(infos, r.Providers, req.Item.Category, "not asked: the router did not choose it"))
	}
	if len(r.Providers) == 0 {
		return Route{}, &sdk.Error{Code: sdk.CodeUnsupported, Field: "item.category",
			Message: fmt.Sprintf("no provider quotes category %s", req.Item.Category)}
	}
	return r, nil
}

// requested is the route of a request that names its providers.
func requested(req *Request, infos []invoke.ProviderInfo) (Route, error) {
	r := Route{Strategy: req.Strategy, Rule: "request: providers"}
	if r.Strategy == "" {
		r.Strategy = StrategyBestPrice
	}
	for i, id := range req.Providers {
		j := slices.IndexFunc(infos, func(p invoke.ProviderInfo) bool { return p.ID == id })
		if j < 0 && len(id) > 128 {
			return Route{}, sdk.InvalidField(fmt.Sprintf("providers[%d]", i), "is no provider: longer than 128 characters")
		}
		if j < 0 {
			ids := make([]string, len(infos))
			for k, p := range infos {
				ids[k] = p.ID
			}
			sort.Strings(ids)
			return Route{}, sdk.InvalidField(fmt.Sprintf("providers[%d]", i), "no provider %q; the providers are %s", id, strings.Join(ids, ", "))
		}
		if !servesQuote(infos[j], req.Item.Category) {
			return Route{}, sdk.InvalidField(fmt.Sprintf("providers[%d]", i), "provider %s does not quote category %s", id, req.Item.Category)
		}
		if !slices.Contains(r.Providers, id) {
			r.Providers = append(r.Providers, id)
		}
	}
	return r, nil
}

// policyRoute turns the policies' route into a Route, or the refusal when
// it chose nobody.
func policyRoute(req *Request, rd *policy.RouteDecision) (Route, error) {
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
		return Route{}, &sdk.Error{Code: sdk.CodeUnsupported, Field: "item.category", Message: msg + ")"}
	}
	return rt, nil
}

// Filter drops the quotes the decision's filters reject, from the quotes
// and best.
func Filter(d *gate.Decision, res *Result) {
	keep := d.Filter(res.Quotes)
	if keep == nil || !slices.Contains(keep, false) {
		return
	}
	kept := res.Quotes[:0:0]
	for i, q := range res.Quotes {
		if keep[i] {
			kept = append(kept, q)
		}
	}
	res.Quotes = kept
	res.Best = Best(res.Quotes)
}

// Rank orders quotes by price, highest first (stable).
func Rank(qs []sdk.Quote) {
	sort.SliceStable(qs, func(a, b int) bool { return qs[a].Price.Amount > qs[b].Price.Amount })
}

// Best is a copy of the highest-priced quote, or nil.
func Best(qs []sdk.Quote) *sdk.Quote {
	var b *sdk.Quote
	for i := range qs {
		if b == nil || qs[i].Price.Amount > b.Price.Amount {
			b = &qs[i]
		}
	}
	if b == nil {
		return nil
	}
	c := *b
	return &c
}

// RouteItem decides a batch's item: compliance, then its route, by the
// batch's pinned policy set.
func (s *Service) RouteItem(ctx context.Context, set *policy.Set, tenant *invoke.Tenant, req *Request, batch int, infos []invoke.ProviderInfo) (Route, error) {
	d := s.gate.Begin(ctx, set, s.subject(tenant, req, policy.KindBatch, batch))
	defer d.Finish(ctx)
	return s.decide(ctx, d, tenant, req, infos)
}

// FilterItem runs the pinned set's filters over a batch item's result.
func (s *Service) FilterItem(ctx context.Context, set *policy.Set, tenant *invoke.Tenant, req *Request, batch int, res *Result) {
	if set == nil || len(res.Quotes) == 0 {
		return
	}
	d := s.gate.Begin(ctx, set, s.subject(tenant, req, policy.KindBatch, batch))
	Filter(d, res)
	d.Finish(ctx)
}
