// Package policy runs the CEL policies operators write in YAML: compliance
// rules that deny a request with a message, routing rules that choose the
// providers and the strategy, and filters that drop quotes. An operator
// starts with policies/README.md; an embedder starts with NewEngine:
//
//	e, err := policy.NewEngine("policies", policy.EngineOptions{Watch: true})
//	...
//	set := e.Set() // once per request: the set in force never changes under it
//	in.Normalize()
//	ev := set.Begin(ctx, in)
//	defer ev.Close()
//	if d := ev.Comply(); d != nil { /* refuse with d.Message */ }
//	route := ev.Route()
//	keep := ev.Filter(quotes)
//	explain := ev.Decision()
//
// Expressions are compiled and type-checked once, when a file loads (Compile,
// LoadDir): a typo, an unknown field or a type error is refused with
// file:line:col, the source line and a caret (an excerpt of a long line; at
// most 20 problems a file), and so is an expression whose estimated cost
// exceeds Options.MaxCost. What a set may hold is bounded too: a file over
// Options.MaxFileBytes is refused before it is parsed, a set of more than
// Options.MaxRules rules before any expression is compiled, and a set whose
// request would cost more than Options.MaxRequestCost (the sum of its rules'
// estimated costs) once compiled. An Engine watches its directory and
// swaps a new Set in atomically; a change that does not compile is refused
// and the set in force stays (Status shows why). Evaluation is bounded: the
// load-time estimate holds for inputs within the sizes it assumes, and a
// larger input runs under the run-time cost limit and Options.Timeout.
//
// Set.Evaluate is the dry run; RunCases runs a policy directory's test cases
// (tests/<case>/input.yaml and expect.yaml), as `host policy test` does.
//
// A host records each decision for replay (EncodeRecord: what the policies
// read, personal data removed, and what they decided). NewReplay evaluates a
// candidate set on recorded decisions (DecodeRecord) and reports, per rule,
// what it would change; LoadCaseGuards turns a directory's test cases into
// guards a change must not break, as `host policy replay` does.
//
// This package does not import the host (core): the host converts its
// request, tenant and providers into an Input.
package policy
