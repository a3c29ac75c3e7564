package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Outcomes of a rule, as explain and decision logs show them.
const (
	OutcomeDenied      = "denied"       // a compliance rule denied the request
	OutcomeWouldDeny   = "would_deny"   // a shadow compliance rule matched
	OutcomeRouted      = "routed"       // a routing rule (or the default) chose the providers
	OutcomeWouldRoute  = "would_route"  // a shadow routing rule matched
	OutcomeNoProvider  = "no_provider"  // a routing rule matched but named no usable provider
	OutcomeDropped     = "dropped"      // a filter dropped a quote
	OutcomeWouldDrop   = "would_drop"   // a shadow filter matched
	OutcomeError       = "error"        // the rule could not be evaluated
	OutcomeErrorDenied = "error_denied" // a compliance rule could not be evaluated: denied (fail closed)
)

// RuleHit is a rule that matched (or failed) for one request.
type RuleHit struct {
	Rule      string   `json:"rule"`
	Kind      Kind     `json:"kind"`
	At        string   `json:"at"` // file:line
	Outcome   string   `json:"outcome"`
	Shadow    bool     `json:"shadow,omitempty"`
	Provider  string   `json:"provider,omitempty"` // filters: whose quote
	QuoteID   string   `json:"quote_id,omitempty"`
	Providers []string `json:"providers,omitempty"` // routing: what it chose (or would have)
	Message   string   `json:"message,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// Denial is a compliance rule's refusal.
type Denial struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ProviderChoice says why a provider was chosen or passed over.
type ProviderChoice struct {
	ID     string `json:"id"`
	Chosen bool   `json:"chosen"`
	Reason string `json:"reason"`
}

// RouteDecision is the route a request took.
type RouteDecision struct {
	Rule      string           `json:"rule"`
	Strategy  string           `json:"strategy"`
	Providers []string         `json:"providers"`
	Choices   []ProviderChoice `json:"choices"`
}

// Drop is a quote a filter removed.
type Drop struct {
	Provider string `json:"provider"`
	QuoteID  string `json:"quote_id,omitempty"`
	Rule     string `json:"rule"`
	Message  string `json:"message,omitempty"`
}

// Decision is everything the policies decided for one request: what
// explain answers and what the decision log records.
type Decision struct {
	Revision string         `json:"revision"`
	Allowed  bool           `json:"allowed"`
	Denied   *Denial        `json:"denied,omitempty"`
	Route    *RouteDecision `json:"route,omitempty"`
	Dropped  []Drop         `json:"dropped"`
	Rules    []RuleHit      `json:"rules"`
}

// activation resolves the variables of one evaluation. The lists of
// structs are adapted to CEL values once per request, not once per access.
type activation struct {
	in         *Input
	candidates []*Provider
	providers  ref.Val
	candList   ref.Val
	quoteList  ref.Val
	quote      *Quote
	others     *Others
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "request":
		return &a.in.Request, true
	case "tenant":
		return &a.in.Tenant, true
	case "providers":
		if a.providers == nil {
			a.providers = providerList(a.in.Providers)
		}
		return a.providers, true
	case "candidates":
		if a.candList == nil {
			a.candList = providerList(a.candidates)
		}
		return a.candList, true
	case "now":
		return a.in.Now, true
	case "quote":
		if a.quote != nil {
			return a.quote, true
		}
	case "others":
		if a.others != nil {
			return a.others, true
		}
	case "quotes":
		if a.quoteList == nil && a.quote != nil {
			ql := make([]ref.Val, len(a.in.Quotes))
			for i := range a.in.Quotes {
				ql[i] = adapter.NativeToValue(&a.in.Quotes[i])
			}
			a.quoteList = types.NewRefValList(adapter, ql)
		}
		if a.quoteList != nil {
			return a.quoteList, true
		}
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Evaluation is one request's pass through a Set: Comply, then Route, then
// Filter, then Decision. It is not safe for concurrent use; make one per
// request with Begin.
type Evaluation struct {
	set    *Set
	ctx    context.Context
	cancel context.CancelFunc
	act    activation
	frame  *interpreter.ExecutionFrame // shared by the plain programs
	dec    Decision
	// bounded: the input is within the sizes the cost estimate assumed,
	// so no expression can cost more than the limit (see bounds.go).
	bounded bool
}

// Begin starts the evaluation of in, which the caller has normalized (see
// Input.Normalize). ctx bounds it, as does the set's Timeout.
func (s *Set) Begin(ctx context.Context, in *Input) *Evaluation {
	ev := &Evaluation{set: s, ctx: ctx}
	ev.act.in = in
	ev.bounded = in.withinBounds()
	ev.dec = Decision{Revision: s.revision, Allowed: true, Dropped: []Drop{}, Rules: []RuleHit{}}
	cat := in.Request.Item.Category
	for i := range in.Providers {
		p := &in.Providers[i]
		if slices.Contains(p.Capabilities, "quote") && slices.Contains(p.Categories, cat) {
			ev.act.candidates = append(ev.act.candidates, p)
		}
	}
	return ev
}

// Close releases the evaluation's deadline and frame.
func (ev *Evaluation) Close() {
	if ev.cancel != nil {
		ev.cancel()
	}
	if ev.frame != nil {
		ev.frame.Close()
		ev.frame = nil
	}
}

// deadline returns the context sized programs run under: the caller's,
// bounded by the set's Timeout (made on first use: most rules have a
// constant cost and need none).
func (ev *Evaluation) deadline() context.Context {
	if ev.cancel == nil {
		ev.ctx, ev.cancel = context.WithTimeout(ev.ctx, ev.set.opts.Timeout)
	}
	return ev.ctx
}

func (ev *Evaluation) run(p *program) (ref.Val, error) {
	if err := ev.ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy evaluation stopped: %w", err)
	}
	var out ref.Val
	var err error
	if p.sized && !ev.bounded {
		out, _, err = p.limited.ContextEval(ev.deadline(), &ev.act)
	} else {
		if ev.frame == nil {
			if ev.frame, err = interpreter.NewExecutionFrame(&ev.act); err != nil {
				return nil, err
			}
		}
		out, _, err = p.prg.Eval(ev.frame)
	}
	if err != nil {
		var cancelled interpreter.EvalCancelledError
		if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
			return nil, fmt.Errorf("stopped: cost limit %d exceeded", ev.set.opts.MaxCost)
		}
		if h := runtimeHint(err.Error(), p.text); h != err.Error() {
			return nil, errors.New(h)
		}
		return nil, err
	}
	if types.IsError(out) {
		return nil, errors.New(runtimeHint(fmt.Sprint(out), p.text))
	}
	return out, nil
}

func (ev *Evaluation) test(p *program) (bool, error) {
	if p == nil {
		return true, nil
	}
	out, err := ev.run(p)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("answered %v, not true or false", out)
	}
	return bool(b), nil
}

func (ev *Evaluation) messageOf(r *rule) string {
	if r.messageExpr != nil {
		if out, err := ev.run(r.messageExpr); err == nil {
			if s, ok := out.(types.String); ok && s != "" {
				return string(s)
			}
		}
	}
	if r.message != "" {
		return r.message
	}
	if r.Kind == KindFilter {
		return "dropped by filter " + r.Name
	}
	return "denied by policy " + r.Name
}

func (ev *Evaluation) hit(r *rule, outcome string) *RuleHit {
	ev.dec.Rules = append(ev.dec.Rules, RuleHit{Rule: r.Name, Kind: r.Kind, At: r.At, Outcome: outcome, Shadow: r.Shadow})
	return &ev.dec.Rules[len(ev.dec.Rules)-1]
}

// Comply runs the compliance rules in order and returns the first denial
// (nil: allowed). A shadow rule that matches is recorded, never enforced. A
// rule that cannot be evaluated denies (fail closed), unless it is shadow.
func (ev *Evaluation) Comply() *Denial {
	for _, r := range ev.set.compliance {
		deny, err := ev.test(r.when)
		switch {
		case err != nil && r.Shadow:
			ev.hit(r, OutcomeError).Error = err.Error()
			continue
		case err != nil:
			h := ev.hit(r, OutcomeErrorDenied)
			h.Error = err.Error()
			h.Message = fmt.Sprintf("request refused: policy rule %s could not be evaluated", r.Name)
			ev.dec.Denied = &Denial{Rule: r.Name, Message: h.Message}
		case !deny:
			continue
		case r.Shadow:
			ev.hit(r, OutcomeWouldDeny).Message = ev.messageOf(r)
			continue
		default:
			msg := ev.messageOf(r)
			ev.hit(r, OutcomeDenied).Message = msg
			ev.dec.Denied = &Denial{Rule: r.Name, Message: msg}
		}
		ev.dec.Allowed = false
		return ev.dec.Denied
	}
	return nil
}

// Route chooses the providers: the caller's explicit list when the request
// has one, else the first routing rule that matches and names at least one
// usable provider, else the default route (always there). A provider is
// usable when it is loaded, quotes and serves the item's category. The
// request's own strategy, when given, wins over the rule's.
func (ev *Evaluation) Route() *RouteDecision {
	in := ev.act.in
	if len(in.Request.Providers) > 0 {
		rd := ev.usable("request: providers", in.Request.Providers, StrategyBestPrice, "asked for by the request")
		return ev.finishRoute(rd)
	}
	for _, r := range ev.set.routing {
		ok, err := ev.test(r.when)
		if err != nil {
			ev.hit(r, OutcomeError).Error = err.Error()
			continue
		}
		if !ok {
			continue
		}
		ids, err := ev.routeIDs(r)
		if err != nil {
			ev.hit(r, OutcomeError).Error = err.Error()
			continue
		}
		rd := ev.usable(r.Name, ids, r.strategy, "named by rule "+r.Name)
		if r.Shadow {
			ev.hit(r, OutcomeWouldRoute).Providers = rd.Providers
			continue
		}
		if len(rd.Providers) == 0 {
			h := ev.hit(r, OutcomeNoProvider)
			h.Message = "matched, but none of its providers can quote this item"
			continue
		}
		ev.hit(r, OutcomeRouted).Providers = rd.Providers
		return ev.finishRoute(rd)
	}
	r := ev.set.def
	ids, err := ev.routeIDs(r)
	if err != nil {
		ev.hit(r, OutcomeError).Error = err.Error()
		ids = nil
	}
	rd := ev.usable(r.Name, ids, r.strategy, "the default route")
	ev.hit(r, OutcomeRouted).Providers = rd.Providers
	return ev.finishRoute(rd)
}

func (ev *Evaluation) finishRoute(rd *RouteDecision) *RouteDecision {
	if s := ev.act.in.Request.Strategy; s != "" {
		rd.Strategy = s
	}
	ev.dec.Route = rd
	return rd
}

func (ev *Evaluation) routeIDs(r *rule) ([]string, error) {
	switch {
	case r.implicit:
		return []string{Wildcard}, nil
	case r.sel != nil:
		out, err := ev.run(r.sel)
		if err != nil {
			return nil, err
		}
		v, err := out.ConvertToNative(reflectStrings)
		if err != nil {
			return nil, fmt.Errorf("select answered %v, not a list of provider ids", out)
		}
		return v.([]string), nil
	}
	return r.providers, nil
}

// Wildcard in a route's providers stands for every candidate (a provider
// that quotes the item's category) the route does not name itself, in the
// configured order.
const Wildcard = "*"

// usable keeps the ids that can serve the request, in order and once each,
// and says why each other one was passed over. A provider can serve it when
// it is loaded, quotes, serves the item's category, and the tenant is
// entitled to it: no route sends a tenant to a provider it is not
// entitled to, however the rule is written.
func (ev *Evaluation) usable(ruleName string, ids []string, strategy, why string) *RouteDecision {
	in := ev.act.in
	rd := &RouteDecision{Rule: ruleName, Strategy: strategy}
	if slices.Contains(ids, Wildcard) {
		named := map[string]bool{}
		for _, id := range ids {
			named[id] = true
		}
		var expanded []string
		for _, id := range ids {
			if id != Wildcard {
				expanded = append(expanded, id)
				continue
			}
			for _, c := range ev.act.candidates {
				if !named[c.ID] {
					expanded = append(expanded, c.ID)
				}
			}
		}
		ids = expanded
		why += " (" + Wildcard + ")"
	}
	rd.Providers = make([]string, 0, len(ids))
	rd.Choices = make([]ProviderChoice, 0, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue
		}
		c := ProviderChoice{ID: id}
		var p *Provider
		for i := range in.Providers {
			if in.Providers[i].ID == id {
				p = &in.Providers[i]
			}
		}
		switch {
		case p == nil:
			c.Reason = "not loaded"
		case !slices.Contains(p.Capabilities, "quote"):
			c.Reason = "does not quote"
		case !slices.Contains(p.Categories, in.Request.Item.Category):
			c.Reason = "does not quote category " + in.Request.Item.Category
		case !slices.Contains(in.Tenant.Providers, id):
			c.Reason = "the tenant is not entitled to it"
		default:
			c.Chosen, c.Reason = true, why
			if !p.Healthy {
				c.Reason += " (state " + p.State + ", breaker " + p.Breaker + ")"
			}
			rd.Providers = append(rd.Providers, id)
		}
		rd.Choices = append(rd.Choices, c)
	}
	// Every other provider, and why the route leaves it out.
	for i := range in.Providers {
		p := &in.Providers[i]
		if slices.Contains(ids, p.ID) {
			continue
		}
		rd.Choices = append(rd.Choices, ProviderChoice{ID: p.ID, Reason: leftOut(in, p, ruleName)})
	}
	return rd
}

// leftOut says why a provider a route does not name is not asked: what
// would keep it out whatever the rule, else that the rule does not name it
// (with its state when it is not healthy).
func leftOut(in *Input, p *Provider, ruleName string) string {
	switch {
	case !slices.Contains(p.Capabilities, "quote"):
		return "not asked: it does not quote"
	case !slices.Contains(p.Categories, in.Request.Item.Category):
		return "not asked: it does not quote category " + in.Request.Item.Category
	case !slices.Contains(in.Tenant.Providers, p.ID):
		return "not asked: the tenant is not entitled to it"
	}
	why := "not asked: the route (" + ruleName + ") does not name it"
	if !p.Healthy {
		why += " (and it is unhealthy: state " + p.State + ", breaker " + p.Breaker + ")"
	}
	return why
}

// Filter runs the filters over quotes (which become the input's Quotes) and
// reports, for each, whether it is kept. A quote is dropped by the first
// enforced filter that matches; shadow filters are recorded only. A filter
// that cannot be evaluated keeps the quote and is recorded as an error.
func (ev *Evaluation) Filter(quotes []Quote) []bool {
	in := ev.act.in
	in.Quotes = quotes
	ev.bounded = ev.bounded && quotesWithinBounds(quotes)
	ev.act.quoteList = nil
	keep := make([]bool, len(quotes))
	if len(ev.set.filters) == 0 {
		for i := range keep {
			keep[i] = true
		}
		return keep
	}
	for i := range quotes {
		q := &quotes[i]
		q.fill(in.Now)
		var o Others
		if ev.ctx.Err() == nil { // past the deadline every rule fails at once: no need to sort
			o = others(quotes, i)
		}
		ev.act.quote, ev.act.others = q, &o
		keep[i] = true
		for _, r := range ev.set.filters {
			drop, err := ev.test(r.when)
			if err != nil {
				h := ev.hit(r, OutcomeError)
				h.Provider, h.QuoteID, h.Error = q.Provider, q.QuoteID, err.Error()
				continue
			}
			if !drop {
				continue
			}
			msg := ev.messageOf(r)
			outcome := OutcomeDropped
			if r.Shadow {
				outcome = OutcomeWouldDrop
			}
			h := ev.hit(r, outcome)
			h.Provider, h.QuoteID, h.Message = q.Provider, q.QuoteID, msg
			if r.Shadow {
				continue
			}
			keep[i] = false
			ev.dec.Dropped = append(ev.dec.Dropped, Drop{Provider: q.Provider, QuoteID: q.QuoteID, Rule: r.Name, Message: msg})
			break
		}
	}
	ev.act.quote, ev.act.others = nil, nil
	return keep
}

// Decision returns what was decided so far.
func (ev *Evaluation) Decision() *Decision {
	d := ev.dec
	return &d
}

// Evaluate runs every stage on in (normalized here): compliance, then, when
// allowed, routing and the filters over in.Quotes. It calls no provider:
// it is the dry run and what policy tests check.
func (s *Set) Evaluate(ctx context.Context, in *Input) *Decision {
	in.Normalize()
	ev := s.Begin(ctx, in)
	defer ev.Close()
	if ev.Comply() != nil {
		return ev.Decision()
	}
	ev.Route()
	if len(in.Quotes) > 0 {
		ev.Filter(in.Quotes)
	}
	return ev.Decision()
}

var reflectStrings = reflect.TypeFor[[]string]()

func providerList[P Provider | *Provider](ps []P) ref.Val {
	vs := make([]ref.Val, len(ps))
	for i := range ps {
		switch p := any(&ps[i]).(type) {
		case *Provider:
			vs[i] = adapter.NativeToValue(p)
		case **Provider:
			vs[i] = adapter.NativeToValue(*p)
		}
	}
	return types.NewRefValList(adapter, vs)
}
