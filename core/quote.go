package core

import (
	"context"
	"fmt"
	"sort"
	"sync"

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

// QuoteRequest is a request for quotes from one or more providers.
type QuoteRequest struct {
	Item      sdk.Item `json:"item"`
	Providers []string `json:"providers,omitempty"` // restrict to these; routing decides when empty
	Strategy  Strategy `json:"strategy,omitempty"`
	Detail    bool     `json:"detail,omitempty"` // ask for price breakdowns
	// Explain asks for the policy trace in the result (QuoteResult.Explain).
	Explain bool `json:"explain,omitempty"`
}

// ProviderError is one provider's failure beside the quotes that did come back.
type ProviderError struct {
	Provider        string   `json:"provider"`
	Code            sdk.Code `json:"code"`
	Message         string   `json:"message"`
	Retryable       bool     `json:"retryable"`
	ProviderCode    string   `json:"provider_code,omitempty"`
	ProviderMessage string   `json:"provider_message,omitempty"`
}

// QuoteResult is the answer to a QuoteRequest: the quotes that came back, the
// best of them, and each failed provider's error. A result with no quote
// and only errors is still a result, not an error.
type QuoteResult struct {
	Quotes   []sdk.Quote     `json:"quotes"`
	Best     *sdk.Quote      `json:"best,omitempty"`
	Errors   []ProviderError `json:"errors"`
	Strategy Strategy        `json:"strategy"`
	Route    Route           `json:"route"`
	// Explain is the policy trace, when the request asked for it.
	Explain *Explain `json:"explain,omitempty"`
}

// Route is a routing decision.
type Route struct {
	Providers []string `json:"providers"`
	Strategy  Strategy `json:"strategy"`
	Rule      string   `json:"rule,omitempty"` // what decided it
}

// RouteInput is what a Router decides on.
type RouteInput struct {
	Tenant    *Tenant
	Request   *QuoteRequest
	Providers []ProviderInfo // every loaded provider, in configured order
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

func servesQuote(p ProviderInfo, c sdk.Category) bool {
	hasQuote := false
	for _, k := range p.Capabilities {
		if k == sdk.CapQuote {
			hasQuote = true
		}
	}
	if !hasQuote {
		return false
	}
	for _, k := range p.Categories {
		if k == c {
			return true
		}
	}
	return false
}

// Quote validates the request, routes it, asks the chosen providers
// concurrently (or in order, for strategy first), and answers with the quotes
// and every provider's error. It returns an error only when the request
// itself is refused: bad input (invalid_argument, naming the field), or no
// provider that could serve it.
func (h *Host) Quote(ctx context.Context, tenant *Tenant, req *QuoteRequest) (*QuoteResult, error) {
	ctx = withQuotaTenant(ctx, tenant)
	ctx = withTenant(ctx, tenant) // the audit log's tenant (orders_audit.go)
	if err := req.Item.Validate(h.now()); err != nil {
		h.metrics.quotes.WithLabelValues("refused").Inc()
		return nil, err
	}
	if !req.Strategy.Valid() {
		h.metrics.quotes.WithLabelValues("refused").Inc()
		return nil, sdk.InvalidField("strategy", "unknown strategy %q; one of best_price, all, first", req.Strategy)
	}
	infos := h.Providers()
	pr := h.beginPolicy(ctx, tenant, req, infos, policyKindQuote, 1) // compliance, routing and filters of one policy set
	if err := pr.comply(); err != nil {
		pr.close(ctx)
		h.metrics.quotes.WithLabelValues("refused").Inc()
		return nil, err
	}
	route, err := h.route(withPolicyRun(ctx, pr), tenant, req, infos)
	if err != nil {
		pr.close(ctx)
		h.metrics.quotes.WithLabelValues("refused").Inc()
		return nil, err
	}
	res := &QuoteResult{Strategy: route.Strategy, Route: route, Quotes: []sdk.Quote{}, Errors: []ProviderError{}}
	sreq := &sdk.QuoteRequest{Item: req.Item, Detail: req.Detail}
	if route.Strategy == StrategyFirst {
		for _, id := range route.Providers {
			q, err := h.quoteOne(ctx, id, sreq)
			if err != nil {
				res.Errors = append(res.Errors, providerError(id, err))
				if ctx.Err() != nil {
					break
				}
				continue
			}
			res.Quotes = append(res.Quotes, *q)
			break
		}
	} else {
		quotes := make([]*sdk.Quote, len(route.Providers))
		errs := make([]error, len(route.Providers))
		if len(route.Providers) == 1 {
			// One provider: no fan-out, no goroutine.
			quotes[0], errs[0] = h.quoteOne(ctx, route.Providers[0], sreq)
		} else {
			var wg sync.WaitGroup
			for i, id := range route.Providers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					quotes[i], errs[i] = h.quoteOne(ctx, id, sreq)
				}()
			}
			wg.Wait()
		}
		for i, id := range route.Providers {
			if errs[i] != nil {
				res.Errors = append(res.Errors, providerError(id, errs[i]))
				continue
			}
			res.Quotes = append(res.Quotes, *quotes[i])
		}
		if route.Strategy == StrategyBestPrice {
			sort.SliceStable(res.Quotes, func(a, b int) bool { return res.Quotes[a].Price.Amount > res.Quotes[b].Price.Amount })
		}
	}
	res.Best = best(res.Quotes)
	pr.filter(res)
	pr.finish(ctx, res, req.Explain)
	if len(res.Quotes) > 0 {
		h.metrics.quotes.WithLabelValues("answered").Inc()
	} else {
		h.metrics.quotes.WithLabelValues("empty").Inc()
	}
	return res, nil
}

func (h *Host) quoteOne(ctx context.Context, id string, req *sdk.QuoteRequest) (*sdk.Quote, error) {
	p, err := h.provider(id)
	if err != nil {
		return nil, err
	}
	resp, err := cachedQuote(ctx, h, p, req, func(ctx context.Context, impl sdk.Provider) (*sdk.QuoteResponse, error) {
		q, ok := impl.(sdk.Quoter)
		if !ok {
			return nil, unsupportedImpl(p.id, sdk.CapQuote)
		}
		return q.Quote(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	q := resp.Quote
	if q.Provider == "" {
		q.Provider = id
	}
	if err := checkQuote(&q); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: id, Message: err.Error()}
	}
	return &q, nil
}

// checkQuote refuses a provider answer that would mislead a caller.
func checkQuote(q *sdk.Quote) error {
	if q.Price.Amount < 0 {
		return fmt.Errorf("provider answered a negative price %s", q.Price)
	}
	if q.Price.Currency == "" {
		q.Price.Currency = sdk.CNY
	}
	if q.Orderable && q.QuoteID == "" {
		return fmt.Errorf("provider answered an orderable quote without a quote_id")
	}
	return nil
}

func best(qs []sdk.Quote) *sdk.Quote {
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

func providerError(id string, err error) ProviderError {
	e := sdk.AsError(err)
	return ProviderError{Provider: id, Code: e.Code, Message: e.Message, Retryable: e.Retryable,
		ProviderCode: e.ProviderCode, ProviderMessage: e.ProviderMessage}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
