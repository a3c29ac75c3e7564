package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"cel.dev/cel-go/cel"
)

// Options bound the policies. The zero value of a field means its default.
type Options struct {
	// MaxCost is the most an expression may cost: one whose estimated cost
	// (with inputs as large as the host allows) is higher is refused at
	// load, and one that costs more while running is stopped. Default
	// 100000, about a comprehension over 64 providers nested in another.
	MaxCost uint64
	// Timeout bounds the evaluation of one request's rules. Default 50ms.
	Timeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxCost = 100_000
	DefaultTimeout = 50 * time.Millisecond
)

func (o Options) withDefaults() Options {
	if o.MaxCost == 0 {
		o.MaxCost = DefaultMaxCost
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
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
}

// Compile compiles and type-checks policy files into a Set. Every problem
// of every file is reported in one *LoadError, each at its file:line:col.
// Files are read in name order; rules keep their order within each kind.
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
	type named struct {
		r    *rule
		file *sourceFile
		raw  *rawRule
	}
	seen := map[string]named{}
	var defFile *sourceFile
	var defRaw *rawRule
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f.Name), len(f.Data))
		h.Write(f.Data)
		s.files = append(s.files, f.Name)
		sf := newSourceFile(f)
		rf := parseFile(sf, f.Data, d)
		if rf == nil {
			continue
		}
		add := func(raws []*rawRule, env *cel.Env) []*rule {
			var out []*rule
			for _, raw := range raws {
				r := compileRule(env, sf, raw, opts, d)
				if prev, dup := seen[r.Name]; dup && r.Name != "" {
					d.add(sf, raw.nameNode.Line, raw.nameNode.Column, "", "rule name %q is used twice: also at %s:%d", r.Name, prev.file.display, prev.raw.node.Line)
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
	s.revision = hex.EncodeToString(h.Sum(nil))[:12]
	return s, nil
}

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
			d.add(src.file, line, col, ruleName, "%s: %s", key, e.Message)
		}
		return nil
	}
	line, col := src.pos(1, 0)
	if !ast.OutputType().IsExactType(want) {
		d.add(src.file, line, col, ruleName, "%s must be %s, this expression is %s", key, describeType(want), ast.OutputType())
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
	p := &program{prg: prg, sized: sized, cost: est.Max}
	if sized {
		p.limited, err = env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(opts.MaxCost), cel.InterruptCheckFrequency(64))
		if err != nil {
			d.add(src.file, line, col, ruleName, "%s: %v", key, err)
			return nil
		}
	}
	return p
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
