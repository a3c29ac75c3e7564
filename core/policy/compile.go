package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
)

// Options bound the policies. The zero value of a field means its default.
// The limits on what a set may hold (MaxRules, MaxFileBytes,
// MaxRequestCost, MaxCost) are checked by Compile, so by LoadDir, an
// Engine's load and reload, and the CLI's `policy check`; a set over any of them
// is refused with a *LoadError that names the limit, the value found and
// how to raise it.
type Options struct {
	// MaxCost is the most an expression may cost: one whose estimated cost
	// (with inputs as large as the host allows) is higher is refused at
	// load, and one that costs more while running is stopped. Default
	// 100000, about a comprehension over 64 providers nested in another.
	MaxCost uint64
	// Timeout bounds the evaluation of one request's rules. Default 50ms.
	Timeout time.Duration
	// MaxRules is the most rules a set may hold, across its files and
	// kinds (the default route counts). A set with more is refused once
	// its files are parsed, before any expression is compiled. Default
	// DefaultMaxRules; host.yaml policy_limits.max_rules.
	MaxRules int
	// MaxFileBytes is the largest policy file: a larger one is refused
	// before its YAML is parsed (LoadDir and the Engine read no more of it
	// than that). Default DefaultMaxFileBytes (1 MiB); host.yaml
	// policy_limits.max_file_bytes.
	MaxFileBytes int64
	// MaxRequestCost bounds the estimated cost of one request's
	// evaluation: the sum, over every rule of the set, of its expressions'
	// estimated costs (when, select, message_expression) plus one for the
	// rule itself. A filter counts once, though it runs once per quote.
	// A set over it is refused at load. Default DefaultMaxRequestCost;
	// host.yaml policy_limits.max_request_cost. See docs/RATIONALE.md.
	MaxRequestCost uint64
}

// Defaults of Options.
const (
	DefaultMaxCost        = 100_000
	DefaultTimeout        = 50 * time.Millisecond
	DefaultMaxRules       = 5_000
	DefaultMaxFileBytes   = 1 << 20
	DefaultMaxRequestCost = 50_000
)

func (o Options) withDefaults() Options {
	if o.MaxCost == 0 {
		o.MaxCost = DefaultMaxCost
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRules <= 0 {
		o.MaxRules = DefaultMaxRules
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxRequestCost == 0 {
		o.MaxRequestCost = DefaultMaxRequestCost
	}
	return o
}

// raiseHint tells how to raise a limit: its host.yaml key, and its Options
// field and default for an embedder.
func raiseHint(key, field string, def any) string {
	return fmt.Sprintf("raise policy_limits.%s in host.yaml (Options.%s; default %v)", key, field, def)
}

// Set is a compiled, type-checked policy set: what is in force at one
// moment. It is immutable and safe for concurrent use; a reload builds a new
// Set and swaps it in whole.
type Set struct {
	revision   string
	files      []string
	compliance []*rule
	routing    []*rule
	def        *rule
	filters    []*rule
	opts       Options
	loadedAt   time.Time
	cost       uint64 // the estimated cost of one request's evaluation (MaxRequestCost)
}

// rule is one compiled rule.
type rule struct {
	Kind        Kind
	Name        string
	File        string // display name of its file
	At          string // File:Line
	Line        int
	Column      int
	Description string
	Shadow      bool
	WhenText    string
	when        *program // nil: always
	message     string
	messageExpr *program
	providers   []string
	sel         *program
	SelectText  string
	strategy    string
	implicit    bool // the built-in default route
}

// program is one compiled expression. Its cost, estimated at load, is at
// most the limit for inputs within the assumed sizes (see bounds.go). A
// sized program's cost grows with its input: for an input beyond those
// sizes it runs as limited, under the run-time cost limit and the deadline.
type program struct {
	prg     cel.Program
	limited cel.Program // sized only
	sized   bool
	cost    uint64
	text    string // the expression, for a hint about its evaluation errors
}

// Compile compiles and type-checks policy files into a Set. Every problem
// of every file is reported in one *LoadError, each at its file:line:col
// (at most maxFileDiags per file). Files are read in name order; rules keep
// their order within each kind. The limits of opts are checked in the
// order that costs least: a file's size before its YAML is parsed, the
// number of rules before any expression is compiled, and the estimated
// cost of a request once every expression compiled.
func Compile(files []File, opts Options) (*Set, error) {
	opts = opts.withDefaults()
	base, filterEnv, err := environments()
	if err != nil {
		return nil, fmt.Errorf("building the CEL environment: %w", err)
	}
	files = append([]File(nil), files...)
	sort.Slice(files, func(a, b int) bool { return files[a].Name < files[b].Name })
	s := &Set{opts: opts, loadedAt: time.Now()}
	d := &diags{}
	h := sha256.New()
	var parsed []*rawFile
	nrules := 0
	var over *rawRule // the first rule past MaxRules
	var overFile *sourceFile
	for _, f := range files {
		hashFile(h, f)
		s.files = append(s.files, f.Name)
		if size := f.size(); size > opts.MaxFileBytes {
			d.add(d.newFile(f.Name, nil), 0, 0, "", "the file is %d bytes, more than the limit of %d bytes, so it was not read: split it, or %s",
				size, opts.MaxFileBytes, raiseHint("max_file_bytes", "MaxFileBytes", "1048576, 1 MiB"))
			continue
		}
		sf := d.newFile(f.Name, f.Data)
		rf := parseFile(sf, f.Data, d)
		if rf == nil {
			continue
		}
		for _, r := range rf.all {
			if nrules++; nrules == opts.MaxRules+1 {
				over, overFile = r, sf
			}
		}
		if over == nil {
			parsed = append(parsed, rf)
		} else {
			parsed = nil // nothing will be compiled: the files' trees can go
		}
	}
	if over != nil {
		d.addSet("the policy set has %d rules, more than the limit of %d (rule %d is at %s:%d), so no expression was compiled: remove rules, or %s",
			nrules, opts.MaxRules, opts.MaxRules+1, overFile.display, over.node.Line, raiseHint("max_rules", "MaxRules", DefaultMaxRules))
		return nil, d.err()
	}
	type named struct {
		r    *rule
		file *sourceFile
		raw  *rawRule
	}
	seen := map[string]named{}
	var defFile *sourceFile
	var defRaw *rawRule
	for _, rf := range parsed {
		sf := rf.file
		add := func(raws []*rawRule, env *cel.Env) []*rule {
			var out []*rule
			for _, raw := range raws {
				r := compileRule(env, sf, raw, opts, d)
				if prev, dup := seen[r.Name]; dup && r.Name != "" {
					d.add(sf, raw.nameNode.Line, raw.nameNode.Column, "", "rule name %q is used twice: also at %s:%d", clip(r.Name, maxQuoted), prev.file.display, prev.raw.node.Line)
				} else if r.Name != "" {
					seen[r.Name] = named{r, sf, raw}
				}
				out = append(out, r)
			}
			return out
		}
		s.compliance = append(s.compliance, add(rf.compliance, base)...)
		s.routing = append(s.routing, add(rf.routing, base)...)
		s.filters = append(s.filters, add(rf.filters, filterEnv)...)
		if rf.def != nil {
			if defRaw != nil {
				d.add(sf, rf.def.node.Line, rf.def.node.Column, "", "a second default route; the first is at %s:%d (there is one default route)", defFile.display, defRaw.node.Line)
				continue
			}
			defFile, defRaw = sf, rf.def
			s.def = compileRule(base, sf, rf.def, opts, d)
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if s.def == nil {
		s.def = &rule{Kind: KindDefault, Name: "default", implicit: true, strategy: StrategyBestPrice,
			Description: "every provider that quotes the category, best price first (no default route is written)"}
	}
	if s.cost = s.requestCost(); s.cost > opts.MaxRequestCost {
		d.addSet("one request's evaluation has an estimated cost of %d, more than the limit of %d (each rule counts its expressions' estimated cost plus 1; a filter counts once). The costliest rules: %s. Simplify or remove rules, or %s",
			s.cost, opts.MaxRequestCost, s.costliest(3), raiseHint("max_request_cost", "MaxRequestCost", DefaultMaxRequestCost))
		return nil, d.err()
	}
	s.revision = hex.EncodeToString(h.Sum(nil))[:12]
	return s, nil
}

// hashFile adds a file's name (without its directory) and content to the
// revision's hash. A file cut short when it was read (over MaxFileBytes)
// counts with its full size.
func hashFile(h io.Writer, f File) {
	fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f.Name), f.size())
	_, _ = h.Write(f.Data)
}

// all is every rule of the set: compliance, routing, the default route,
// then the filters (the order of Rules).
func (s *Set) all() []*rule {
	out := make([]*rule, 0, len(s.compliance)+len(s.routing)+1+len(s.filters))
	out = append(append(append(out, s.compliance...), s.routing...), s.def)
	return append(out, s.filters...)
}

// cost is the rule's part of a request's estimated cost: its expressions'
// estimates, plus one for visiting the rule (so that no rule is free).
func (r *rule) cost() uint64 {
	c := uint64(1)
	for _, p := range []*program{r.when, r.sel, r.messageExpr} {
		if p != nil {
			c = addSat(c, p.cost)
		}
	}
	return c
}

// requestCost is the estimated cost of one request's evaluation: the sum of
// the rules' costs (see Options.MaxRequestCost).
func (s *Set) requestCost() uint64 {
	var c uint64
	for _, r := range s.all() {
		if !r.implicit {
			c = addSat(c, r.cost())
		}
	}
	return c
}

// costliest names the n costliest rules with their place and cost, and
// what the others cost together.
func (s *Set) costliest(n int) string {
	var rules []*rule
	for _, r := range s.all() {
		if !r.implicit {
			rules = append(rules, r)
		}
	}
	sort.SliceStable(rules, func(a, b int) bool { return rules[a].cost() > rules[b].cost() })
	var parts []string
	var rest uint64
	for i, r := range rules {
		if i < n {
			parts = append(parts, fmt.Sprintf("%s (%s) %d", clip(r.Name, maxQuoted), r.At, r.cost()))
		} else {
			rest = addSat(rest, r.cost())
		}
	}
	if k := len(rules) - n; k > 0 {
		parts = append(parts, fmt.Sprintf("the other %d rules %d together", k, rest))
	}
	return strings.Join(parts, ", ")
}

func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// RequestCost is the estimated cost of one request's evaluation, as checked
// against Options.MaxRequestCost at load.
func (s *Set) RequestCost() uint64 { return s.cost }

func compileRule(env *cel.Env, f *sourceFile, raw *rawRule, opts Options, d *diags) *rule {
	r := &rule{Kind: raw.kind, Name: raw.name, File: f.display, Line: raw.node.Line, Column: raw.node.Column,
		Description: raw.description, Shadow: raw.shadow, message: raw.message, providers: raw.providers,
		strategy: raw.strategy}
	r.At = fmt.Sprintf("%s:%d", r.File, r.Line)
	if r.strategy == "" {
		r.strategy = StrategyBestPrice
	}
	if raw.when != nil {
		r.WhenText = raw.when.text
		r.when = compileExpr(env, raw.when, r.Name, "when", cel.BoolType, opts, d)
	}
	if raw.messageExpr != nil {
		r.messageExpr = compileExpr(env, raw.messageExpr, r.Name, "message_expression", cel.StringType, opts, d)
	}
	if raw.selectExpr != nil {
		r.SelectText = raw.selectExpr.text
		r.sel = compileExpr(env, raw.selectExpr, r.Name, "select", cel.ListType(cel.StringType), opts, d)
	}
	return r
}

func compileExpr(env *cel.Env, src *exprSrc, ruleName, key string, want *cel.Type, opts Options, d *diags) *program {
	ast, iss := env.Compile(src.text)
	if iss != nil && iss.Err() != nil {
		for _, e := range iss.Errors() {
			line, col := src.pos(e.Location.Line(), e.Location.Column())
			msg := e.Message
			if h := typeHint(msg, src.text, offsetOf(src.text, e.Location.Line(), e.Location.Column())); h != "" {
				msg += ": " + h
			}
			d.add(src.file, line, col, ruleName, "%s: %s", key, msg)
		}
		return nil
	}
	line, col := src.pos(1, 0)
	if !ast.OutputType().IsExactType(want) {
		hint := ""
		if want.IsExactType(cel.ListType(cel.StringType)) && ast.OutputType().IsExactType(cel.StringType) {
			hint = "; for one provider write a list of one, as ['my-provider']"
		}
		d.add(src.file, line, col, ruleName, "%s must be %s, this expression is %s%s", key, describeType(want), ast.OutputType(), hint)
		return nil
	}
	est, err := env.EstimateCost(ast, sizeEstimator{scale: 1})
	if err != nil {
		d.add(src.file, line, col, ruleName, "%s: estimating its cost: %v", key, err)
		return nil
	}
	if est.Max > opts.MaxCost {
		d.add(src.file, line, col, ruleName, "%s: estimated cost %s exceeds the limit %d (nested comprehensions over lists multiply; see policies/README.md)",
			key, costText(est.Max), opts.MaxCost)
		return nil
	}
	big, err := env.EstimateCost(ast, sizeEstimator{scale: 1000})
	sized := err != nil || big.Max != est.Max
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		d.add(src.file, line, col, ruleName, "%s: %v", key, err)
		return nil
	}
	p := &program{prg: prg, sized: sized, cost: est.Max, text: src.text}
	if sized {
		p.limited, err = env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(opts.MaxCost), cel.InterruptCheckFrequency(64))
		if err != nil {
			d.add(src.file, line, col, ruleName, "%s: %v", key, err)
			return nil
		}
	}
	return p
}

// offsetOf is the byte offset in text of a CEL location (line from 1,
// column from 0 in characters).
func offsetOf(text string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	for c := 0; c < col && off < len(text); c++ {
		_, sz := utf8.DecodeRuneInString(text[off:])
		off += sz
	}
	return off
}

func describeType(t *cel.Type) string {
	switch {
	case t.IsExactType(cel.BoolType):
		return "true or false (a bool)"
	case t.IsExactType(cel.StringType):
		return "text (a string)"
	}
	return "a list of provider ids (list(string))"
}

func costText(c uint64) string {
	if c == ^uint64(0) {
		return "unbounded"
	}
	return fmt.Sprint(c)
}

// Revision identifies the set: the first 12 hex digits of a SHA-256 over
// its files' names and contents.
func (s *Set) Revision() string { return s.revision }

// Files are the files the set was compiled from, in order.
func (s *Set) Files() []string { return append([]string(nil), s.files...) }

// LoadedAt is when the set was compiled.
func (s *Set) LoadedAt() time.Time { return s.loadedAt }
