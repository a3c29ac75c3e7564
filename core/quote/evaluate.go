package quote

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/sdk"
)

// PolicyEvaluation is a dry run: a request evaluated against the policies
// in force, or against the policy files it carries, without calling any
// provider (POST /v1/policies/evaluate).
type PolicyEvaluation struct {
	// Request is the quote request (explain is implied).
	Request Request `json:"request"`
	// Kind is quote (default), batch or order.
	Kind string `json:"kind,omitempty"`
	// BatchSize is the batch's number of items (kind batch).
	BatchSize int `json:"batch_size,omitempty"`
	// Order is the order being placed (kind order).
	Order *policy.Order `json:"order,omitempty"`
	// Tenant replaces the caller's policy attributes, to see what another
	// tier or entitlement would get. The tenant's id stays the caller's.
	Tenant *gate.Tenant `json:"tenant,omitempty"`
	// Quotes are run through the filters, as if providers had answered them.
	Quotes []sdk.Quote `json:"quotes,omitempty"`
	// Policies, when given, are evaluated instead of the policies in force:
	// file name (as routing.yaml) to YAML text.
	Policies map[string]string `json:"policies,omitempty"`
}

var policyFileName = regexp.MustCompile(`^[A-Za-z0-9_.-]+\.ya?ml$`)

// Evaluate runs a dry run and answers the decision: compliance, the route
// with every provider's reason, and the quotes the filters drop.
func (s *Service) Evaluate(ctx context.Context, tenant *invoke.Tenant, pe *PolicyEvaluation) (*policy.Decision, error) {
	req := &pe.Request
	if err := req.Item.Validate(s.now()); err != nil {
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
	set := s.gate.Set()
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
		if set, err = s.gate.Compile(files); err != nil {
			return nil, sdk.InvalidField("policies", "do not compile:\n%v", err)
		}
	}
	if set == nil { // no policies: the built-in routing
		rt, err := CategoryRouter{}.Route(ctx, RouteInput{Tenant: tenant, Request: req, Providers: s.inv.Providers()})
		if err != nil {
			return nil, err
		}
		dec := gate.Builtin()
		dec.Route = gate.RouteNote(rt.Rule, string(rt.Strategy), rt.Providers)
		dec.Route.Choices = append(dec.Route.Choices, leftOutOf(s.inv.Providers(), rt.Providers, req.Item.Category, "")...)
		return dec, nil
	}
	sub := s.subject(tenant, req, pe.Kind, pe.BatchSize)
	sub.Order, sub.As, sub.Quotes = pe.Order, pe.Tenant, pe.Quotes
	return set.Evaluate(ctx, s.gate.Input(sub)), nil
}

// leftOutOf says why each provider of infos but those chosen is not
// asked: it does not quote, or not the category, or else why (a route
// that could have asked it did not).
func leftOutOf(infos []invoke.ProviderInfo, chosen []string, c sdk.Category, why string) []policy.ProviderChoice {
	var out []policy.ProviderChoice
	for _, p := range infos {
		if slices.Contains(chosen, p.ID) {
			continue
		}
		reason := why
		switch {
		case !slices.Contains(p.Capabilities, sdk.CapQuote):
			reason = "not asked: it does not quote (capabilities " + joinCaps(p.Capabilities) + ")"
		case !slices.Contains(p.Categories, c):
			reason = "not asked: it does not quote category " + string(c) + " (it quotes " + joinCats(p.Categories) + ")"
		case reason == "":
			reason = "not asked"
		}
		if p.State != "" && p.State != registry.StateReady {
			reason += " (state " + p.State + ")"
		}
		out = append(out, policy.ProviderChoice{ID: p.ID, Reason: reason})
	}
	return out
}

func joinCaps(cs []sdk.Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func joinCats(cs []sdk.Category) string {
	if len(cs) == 0 {
		return "no category"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
