package policy

import (
	"reflect"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
)

// The CEL type names of the input types.
const (
	typeRequest  = "policy.Request"
	typeTenant   = "policy.Tenant"
	typeProvider = "policy.Provider"
	typeQuote    = "policy.Quote"
	typeOthers   = "policy.Others"
)

// Variables every expression can read.
var baseVars = []cel.EnvOption{
	cel.Variable("request", cel.ObjectType(typeRequest)),
	cel.Variable("tenant", cel.ObjectType(typeTenant)),
	cel.Variable("providers", cel.ListType(cel.ObjectType(typeProvider))),
	cel.Variable("candidates", cel.ListType(cel.ObjectType(typeProvider))),
	cel.Variable("now", cel.TimestampType),
}

// Variables a filter can read besides.
var filterVars = []cel.EnvOption{
	cel.Variable("quote", cel.ObjectType(typeQuote)),
	cel.Variable("others", cel.ObjectType(typeOthers)),
	cel.Variable("quotes", cel.ListType(cel.ObjectType(typeQuote))),
}

// adapter turns the input's Go values into CEL values (set with the
// environments).
var adapter types.Adapter

var envs struct {
	once   sync.Once
	base   *cel.Env
	filter *cel.Env
	err    error
}

// environments returns the CEL environments, built once per process: the
// one for compliance and routing, and the one for filters.
func environments() (base, filter *cel.Env, err error) {
	envs.once.Do(func() {
		opts := []cel.EnvOption{
			ext.NativeTypes(reflect.TypeFor[Request](), reflect.TypeFor[Tenant](), reflect.TypeFor[Provider](),
				reflect.TypeFor[Quote](), reflect.TypeFor[Others](), ext.ParseStructTag("json")),
			ext.Strings(), ext.Sets(), ext.Lists(), ext.Math(),
			cel.DefaultUTCTimeZone(true),
		}
		envs.base, envs.err = cel.NewEnv(append(opts, baseVars...)...)
		if envs.err != nil {
			return
		}
		envs.filter, envs.err = envs.base.Extend(filterVars...)
		adapter = envs.filter.CELTypeAdapter()
	})
	return envs.base, envs.filter, envs.err
}

// The sizes the cost estimate assumes for the input. The host bounds what
// it passes in to these (a request with more is still evaluated, under the
// run-time cost limit).
const (
	sizeString    = 256 // any string: a model name, a phone number
	sizeProviders = 64  // providers, candidates, a request's providers, a tenant's providers
	sizeQuotes    = 64  // quotes in one answer
	sizeSmallList = 16  // categories, capabilities, functional issues
	sizeMap       = 32  // a tenant's attributes
)

// sizeEstimator tells the cost estimate how large the inputs can be. scale
// multiplies every size: an expression whose estimate does not change with
// the scale has a constant cost.
type sizeEstimator struct {
	scale uint64
}

func (e sizeEstimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	var size uint64
	switch n.Type().Kind() {
	case types.StringKind, types.BytesKind:
		size = sizeString
	case types.ListKind:
		size = sizeProviders
		switch last := path[len(path)-1]; {
		case path[0] == "quotes":
			size = sizeQuotes
		case last == "categories" || last == "capabilities" || last == "functional_issues":
			size = sizeSmallList
		}
	case types.MapKind:
		size = sizeMap
	default:
		return nil
	}
	return &cost.SizeEstimate{Min: 0, Max: size * e.scale}
}

// EstimateCallCost bounds the text of a number, time or duration turned
// into a string (the standard estimate leaves it unbounded).
func (sizeEstimator) EstimateCallCost(_, overload string, _ *cost.AstNode, _ []cost.AstNode) *cost.CallEstimate {
	switch overload {
	case overloads.IntToString, overloads.UintToString, overloads.DoubleToString, overloads.BoolToString,
		overloads.TimestampToString, overloads.DurationToString:
		return cost.NewCallEstimate(cost.FixedCostEstimate(1), &cost.SizeEstimate{Min: 1, Max: 40})
	}
	return nil
}
