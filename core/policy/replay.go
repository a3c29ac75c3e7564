package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Changes a replay reports, per rule.
const (
	// ChangeDenied: the rule denies a request that was allowed.
	ChangeDenied = "newly_denied"
	// ChangeAllowed: a request the rule denied is allowed now.
	ChangeAllowed = "no_longer_denied"
	// ChangeDeniedInstead: the rule denies a request another rule denied.
	ChangeDeniedInstead = "denied_instead"
	// ChangeRerouted: the rule routes a request elsewhere (other
	// providers, another order, or another strategy).
	ChangeRerouted = "rerouted"
	// ChangeDropped: the rule drops a quote that was shown.
	ChangeDropped = "quote_dropped"
	// ChangeKept: a quote the rule dropped is shown now.
	ChangeKept = "quote_kept"
)

// Recorded is one recorded decision: what the policies read, with
// personal data removed (DecodeRecord), and what they decided then.
type Recorded struct {
	ID       int64
	At       time.Time
	Revision string
	Stages   Stage
	Input    *Input
	Outcome  Outcome
}

// ReplayOptions tune a Replay.
type ReplayOptions struct {
	// Examples is how many examples each rule's change keeps. Default 3.
	Examples int
	// Cases are the policy directory's test cases, as guards: a change to
	// a recorded request one of them describes, that breaks what it
	// expects, is a violation (LoadCaseGuards).
	Cases []CaseGuard
}

// Replay evaluates a candidate policy set on recorded decisions and
// compares: Add each record, then read the Report. Not safe for
// concurrent use.
type Replay struct {
	set   *Set
	opts  ReplayOptions
	rep   ReplayReport
	rules map[string]*RuleChanges
	kinds map[string]Kind
	revs  map[string]bool
	ex    map[string]int // examples kept by rule and change
}

// NewReplay starts a replay of set.
func NewReplay(set *Set, o ReplayOptions) *Replay {
	if o.Examples <= 0 {
		o.Examples = 3
	}
	r := &Replay{set: set, opts: o, rules: map[string]*RuleChanges{}, kinds: map[string]Kind{}, revs: map[string]bool{},
		ex: map[string]int{}}
	for _, rl := range set.Rules() {
		r.kinds[rl.Name] = rl.Kind
	}
	r.rep = ReplayReport{Revision: set.Revision(), Rules: []RuleChanges{}, Examples: []ReplayExample{},
		Violations: []CaseViolation{}, RecordedRevisions: []string{}}
	return r
}

// ReplayReport is what a candidate policy set would have changed in the
// recorded decisions.
type ReplayReport struct {
	// Revision is the candidate set's.
	Revision string `json:"revision"`
	// Decisions is how many recorded decisions were replayed; Changed how
	// many of them would be decided otherwise.
	Decisions int `json:"decisions"`
	Changed   int `json:"changed"`
	// Unreadable counts records this host cannot read (written by a newer
	// one); they are left out.
	Unreadable int `json:"unreadable,omitempty"`
	// From and To span the replayed decisions' times.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// RecordedRevisions are the revisions that made the recorded decisions.
	RecordedRevisions []string `json:"recorded_revisions"`
	// Rules are the rules with changes, the most first.
	Rules []RuleChanges `json:"rules"`
	// Examples are the first few changes of each rule and kind, with the
	// request (masked) and both decisions.
	Examples []ReplayExample `json:"examples"`
	// Violations are the directory's own test cases that changes break,
	// for requests they describe.
	Violations []CaseViolation `json:"violations"`
}

// RuleChanges counts one rule's changes.
type RuleChanges struct {
	Rule           string `json:"rule"`
	Kind           Kind   `json:"kind,omitempty"` // empty: the rule is not in the candidate set
	NewlyDenied    int    `json:"newly_denied"`
	NoLongerDenied int    `json:"no_longer_denied"`
	DeniedInstead  int    `json:"denied_instead"`
	Rerouted       int    `json:"rerouted"`
	QuotesDropped  int    `json:"quotes_dropped"`
	QuotesKept     int    `json:"quotes_kept"`
}

func (c *RuleChanges) total() int {
	return c.NewlyDenied + c.NoLongerDenied + c.DeniedInstead + c.Rerouted + c.QuotesDropped + c.QuotesKept
}

// ReplayExample is one changed decision.
type ReplayExample struct {
	Change string    `json:"change"`
	Rule   string    `json:"rule"`
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Tenant string    `json:"tenant"`
	// Request is the request as recorded: the customer's phone masked,
	// never a name or an address.
	Request Request `json:"request"`
	// Quote is the quote dropped or kept (filter changes).
	Quote  *Quote  `json:"quote,omitempty"`
	Before Outcome `json:"before"`
	After  Outcome `json:"after"`
}

// CaseViolation is a test case whose expectation changes break, for
// requests the case describes: how many, what the first one broke, and
// the first few.
type CaseViolation struct {
	Case     string          `json:"case"`
	Changes  int             `json:"changes"`
	Failures []string        `json:"failures"`
	Examples []ReplayExample `json:"examples"`
}

// Unreadable counts a record that could not be decoded.
func (r *Replay) Unreadable() { r.rep.Unreadable++ }

// Add replays one recorded decision.
func (r *Replay) Add(ctx context.Context, rec *Recorded) {
	r.rep.Decisions++
	if rec.Revision != "" && !r.revs[rec.Revision] {
		r.revs[rec.Revision] = true
		r.rep.RecordedRevisions = append(r.rep.RecordedRevisions, rec.Revision)
	}
	if r.rep.From.IsZero() || rec.At.Before(r.rep.From) {
		r.rep.From = rec.At
	}
	if rec.At.After(r.rep.To) {
		r.rep.To = rec.At
	}
	after, quotes := r.evaluate(ctx, rec)
	before := &rec.Outcome
	changed := false
	note := func(change, rule string, q *Quote) {
		changed = true
		c := r.rule(rule)
		switch change {
		case ChangeDenied:
			c.NewlyDenied++
		case ChangeAllowed:
			c.NoLongerDenied++
		case ChangeDeniedInstead:
			c.DeniedInstead++
		case ChangeRerouted:
			c.Rerouted++
		case ChangeDropped:
			c.QuotesDropped++
		case ChangeKept:
			c.QuotesKept++
		}
		key := rule + "\x00" + change
		if r.ex[key] < r.opts.Examples {
			r.ex[key]++
			r.rep.Examples = append(r.rep.Examples, r.example(change, rule, rec, q, after))
		}
	}
	st := rec.Stages
	if st&StageComply != 0 {
		switch {
		case before.Allowed && !after.Allowed:
			note(ChangeDenied, after.Denied.Rule, nil)
		case !before.Allowed && after.Allowed:
			note(ChangeAllowed, before.Denied.Rule, nil)
		case !before.Allowed && !after.Allowed && before.Denied.Rule != after.Denied.Rule:
			note(ChangeDeniedInstead, after.Denied.Rule, nil)
		}
	}
	if before.Allowed && after.Allowed {
		if st&StageRoute != 0 && before.Route != nil && after.Route != nil &&
			(!slices.Equal(before.Route.Providers, after.Route.Providers) || before.Route.Strategy != after.Route.Strategy) {
			note(ChangeRerouted, after.Route.Rule, nil)
		}
		if st&StageFilter != 0 {
			for i := range quotes {
				q := &quotes[i]
				b, a := dropRule(before.Dropped, q), dropRule(after.Dropped, q)
				switch {
				case a != "" && a != b:
					note(ChangeDropped, a, q)
				case b != "" && a == "":
					note(ChangeKept, b, q)
				}
			}
		}
	}
	if changed {
		r.rep.Changed++
		r.guard(rec, before, &after)
	}
}

// evaluate runs the stages the recorded request ran with the candidate
// set, and returns the outcome and the quotes the filters judged.
func (r *Replay) evaluate(ctx context.Context, rec *Recorded) (Outcome, []Quote) {
	in := rec.Input
	quotes := in.Quotes
	in.Quotes = nil
	ev := r.set.Begin(ctx, in)
	defer ev.Close()
	st := rec.Stages
	if st&StageComply != 0 {
		ev.Comply()
	}
	if ev.dec.Allowed && st&StageRoute != 0 {
		ev.Route()
	}
	if ev.dec.Allowed && st&StageFilter != 0 && len(quotes) > 0 {
		judged := append([]Quote(nil), quotes...)
		ev.Filter(judged)
		quotes = judged
	}
	in.Quotes = quotes
	return OutcomeOf(&ev.dec, in), quotes
}

func dropRule(ds []Drop, q *Quote) string {
	for _, d := range ds {
		if d.Provider == q.Provider && d.QuoteID == q.QuoteID {
			return d.Rule
		}
	}
	return ""
}

func (r *Replay) rule(name string) *RuleChanges {
	c := r.rules[name]
	if c == nil {
		c = &RuleChanges{Rule: name, Kind: r.kinds[name]}
		r.rules[name] = c
	}
	return c
}

func (r *Replay) example(change, rule string, rec *Recorded, q *Quote, after Outcome) ReplayExample {
	ex := ReplayExample{Change: change, Rule: rule, ID: rec.ID, At: rec.At, Tenant: rec.Input.Tenant.ID,
		Request: rec.Input.Request, Before: rec.Outcome, After: after}
	ex.Request.Order.Customer = Customer{Phone: MaskPhone(ex.Request.Order.Customer.Phone)}
	if q != nil {
		c := *q
		ex.Quote = &c
	}
	return ex
}

// Report is the replay's report so far.
func (r *Replay) Report() *ReplayReport {
	rep := r.rep
	rep.Rules = make([]RuleChanges, 0, len(r.rules))
	for _, c := range r.rules {
		rep.Rules = append(rep.Rules, *c)
	}
	sort.Slice(rep.Rules, func(a, b int) bool {
		if ta, tb := rep.Rules[a].total(), rep.Rules[b].total(); ta != tb {
			return ta > tb
		}
		return rep.Rules[a].Rule < rep.Rules[b].Rule
	})
	return &rep
}

// CaseGuard is a policy test case read as a guard for a replay: it
// describes every recorded request that agrees with each field its
// input.yaml states under request and tenant (but the quote id and the
// customer's name and address, which are not recorded; a phone is
// compared masked), and expects of them what its expect.yaml says of
// compliance and the route (its dropped quotes are its own quotes'
// and are not carried over).
type CaseGuard struct {
	Name   string
	fields []caseField
	want   Expect
}

type caseField struct {
	path  string
	value any
}

// LoadCaseGuards reads the test cases of a policy directory (dir/tests) as
// guards. A directory without test cases has none.
func LoadCaseGuards(dir string) ([]CaseGuard, error) {
	root := filepath.Join(dir, CasesDir)
	entries, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading test cases: %w", err)
	}
	var out []CaseGuard
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		in, err := os.ReadFile(filepath.Join(root, e.Name(), "input.yaml"))
		if err != nil {
			return nil, fmt.Errorf("test case %s: %w", e.Name(), err)
		}
		exp, err := os.ReadFile(filepath.Join(root, e.Name(), "expect.yaml"))
		if err != nil {
			return nil, fmt.Errorf("test case %s: %w", e.Name(), err)
		}
		g, err := ParseCaseGuard(e.Name(), in, exp)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// ParseCaseGuard reads one test case (its input.yaml and expect.yaml) as a
// guard.
func ParseCaseGuard(name string, input, expect []byte) (CaseGuard, error) {
	g := CaseGuard{Name: name}
	var in Input
	if err := strictYAML(input, &in); err != nil {
		return g, fmt.Errorf("test case %s: input.yaml: %w", name, err)
	}
	if err := strictYAML(expect, &g.want); err != nil {
		return g, fmt.Errorf("test case %s: expect.yaml: %w", name, err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(input, &raw); err != nil {
		return g, fmt.Errorf("test case %s: input.yaml: %w", name, err)
	}
	for _, top := range []string{"request", "tenant"} {
		leaves(top, raw[top], &g.fields)
	}
	sort.Slice(g.fields, func(a, b int) bool { return g.fields[a].path < g.fields[b].path })
	// What a replay compares: compliance and the route.
	g.want.Dropped, g.want.Shadow, g.want.Errors = nil, nil, nil
	return g, nil
}

// unrecorded are the input fields a record never holds as given.
var unrecorded = map[string]bool{"request.order.quote_id": true, "request.order.customer.name": true,
	"request.order.customer.address": true}

func leaves(path string, v any, out *[]caseField) {
	if unrecorded[path] || v == nil {
		return
	}
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			leaves(path+"."+k, x, out)
		}
		return
	}
	if path == "request.order.customer.phone" {
		v = MaskPhone(fmt.Sprint(v))
	}
	*out = append(*out, caseField{path: path, value: canonical(v)})
}

// canonical makes a YAML or JSON value comparable: numbers as float64,
// lists as sorted strings.
func canonical(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = fmt.Sprint(canonical(e))
		}
		sort.Strings(s)
		return strings.Join(s, "\x00")
	}
	return fmt.Sprint(v)
}

// matches reports whether the record's input agrees with every field the
// case states.
func (g *CaseGuard) matches(in map[string]any) bool {
	if len(g.fields) == 0 {
		return false
	}
	for _, f := range g.fields {
		var v any = in
		for _, k := range strings.Split(f.path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			v = m[k]
		}
		if v == nil || canonical(v) != f.value {
			return false
		}
	}
	return true
}

// guard checks a changed decision against the cases: a case that
// describes the request and whose expectation the recorded decision met
// and the new one breaks is a violation.
func (r *Replay) guard(rec *Recorded, before, after *Outcome) {
	if len(r.opts.Cases) == 0 {
		return
	}
	in := *rec.Input
	in.Quotes = nil
	data, err := json.Marshal(&in)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return
	}
	for i := range r.opts.Cases {
		g := &r.opts.Cases[i]
		if !g.matches(m) {
			continue
		}
		want := g.want
		if rec.Stages&StageComply == 0 {
			want.Allowed, want.DeniedBy, want.Message = nil, "", ""
		}
		if rec.Stages&StageRoute == 0 {
			want.Route = nil
		}
		now := compare(&want, after.decision())
		if len(now) == 0 || len(compare(&want, before.decision())) > 0 {
			continue
		}
		change, rule := ChangeRerouted, ""
		switch {
		case before.Allowed && !after.Allowed:
			change, rule = ChangeDenied, after.Denied.Rule
		case !before.Allowed && after.Allowed:
			change, rule = ChangeAllowed, before.Denied.Rule
		case !after.Allowed:
			change, rule = ChangeDeniedInstead, after.Denied.Rule
		case after.Route != nil:
			rule = after.Route.Rule
		}
		v := r.violation(g.Name)
		v.Changes++
		if v.Failures == nil {
			v.Failures = now
		}
		if len(v.Examples) < r.opts.Examples {
			v.Examples = append(v.Examples, r.example(change, rule, rec, nil, *after))
		}
	}
}

func (r *Replay) violation(name string) *CaseViolation {
	for i := range r.rep.Violations {
		if r.rep.Violations[i].Case == name {
			return &r.rep.Violations[i]
		}
	}
	r.rep.Violations = append(r.rep.Violations, CaseViolation{Case: name, Examples: []ReplayExample{}})
	return &r.rep.Violations[len(r.rep.Violations)-1]
}

// decision is the outcome as compare reads a decision.
func (o *Outcome) decision() *Decision {
	d := &Decision{Allowed: o.Allowed, Denied: o.Denied, Dropped: o.Dropped, Rules: []RuleHit{}}
	if o.Route != nil {
		d.Route = &RouteDecision{Rule: o.Route.Rule, Strategy: o.Route.Strategy, Providers: o.Route.Providers}
	}
	return d
}
