package policy

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// File is one policy file's name and content.
type File struct {
	// Name is the file's name as errors show it, as "policies/routing.yaml".
	Name string
	Data []byte

	// realSize is the file's size when Data holds only its start: LoadDir
	// and the Engine read no more of a file than MaxFileBytes+1.
	realSize int64
}

// size is the file's size in bytes.
func (f File) size() int64 { return max(int64(len(f.Data)), f.realSize) }

// sourceFile is a file being compiled, and its diagnostics.
type sourceFile struct {
	display string
	lines   []string
	diags   []Diagnostic // at most maxFileDiags
	more    int          // problems past those
}

// newSourceFile makes a file's lines from data (none when data is nil: a
// file that is not read).
func newSourceFile(name string, data []byte) *sourceFile {
	f := &sourceFile{display: name}
	if data != nil {
		f.lines = strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	}
	return f
}

func (f *sourceFile) line(n int) string {
	if n < 1 || n > len(f.lines) {
		return ""
	}
	return f.lines[n-1]
}

// exprSrc is an expression and where it sits in its file.
type exprSrc struct {
	text string
	node *yaml.Node
	file *sourceFile
	segs []segment
}

// segment maps a run of an expression's text to the file: the expression's
// rune offset start is at file line, column col (1-based).
type segment struct {
	start     int
	line, col int
}

// pos turns a position in the expression (CEL: 1-based line, 0-based
// column in runes) into a file position (1-based line and column).
func (e *exprSrc) pos(line, col int) (int, int) {
	if e.segs == nil {
		e.segs = e.segments()
	}
	off := 0
	lines := strings.Split(e.text, "\n")
	for i := 0; i < line-1 && i < len(lines); i++ {
		off += utf8.RuneCountInString(lines[i]) + 1
	}
	off += col
	best := e.segs[0]
	for _, s := range e.segs {
		if s.start <= off {
			best = s
		}
	}
	return best.line, best.col + off - best.start
}

// segments lines the expression's text up with the file's lines. Where
// the two cannot be matched (escapes in a quoted string), positions fall
// back to the start of the last matched run.
func (e *exprSrc) segments() []segment {
	n := e.node
	value := []rune(e.text)
	first := segment{start: 0, line: n.Line, col: n.Column}
	var startLine, indent int
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		startLine = n.Line + 1
		for l := startLine; l <= len(e.file.lines); l++ {
			s := e.file.line(l)
			if strings.TrimSpace(s) != "" {
				indent = len(s) - len(strings.TrimLeft(s, " "))
				break
			}
		}
		first = segment{start: 0, line: startLine, col: indent + 1}
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		startLine = n.Line
		first.col = n.Column + 1
	default:
		startLine = n.Line
	}
	segs := []segment{first}
	cursor := 0
	for l := startLine; l <= len(e.file.lines) && cursor < len(value); l++ {
		raw := []rune(e.file.line(l))
		colIdx := 0 // 0-based rune index of the content in the file line
		switch {
		case l == startLine && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0:
			colIdx = first.col - 1
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			colIdx = min(indent, len(raw))
		default:
			for colIdx < len(raw) && (raw[colIdx] == ' ' || raw[colIdx] == '\t') {
				colIdx++
			}
		}
		if colIdx > len(raw) {
			break
		}
		content := raw[colIdx:]
		if len(strings.TrimSpace(string(content))) == 0 {
			// A blank line folds into a newline of the value.
			if cursor < len(value) && value[cursor] == '\n' {
				cursor++
			}
			continue
		}
		k := 0
		for k < len(content) && cursor+k < len(value) && content[k] == value[cursor+k] {
			k++
		}
		if k == 0 {
			break
		}
		if l != startLine || cursor != 0 {
			segs = append(segs, segment{start: cursor, line: l, col: colIdx + 1})
		}
		cursor += k
		for cursor < len(value) && (value[cursor] == ' ' || value[cursor] == '\n') {
			cursor++
		}
	}
	return segs
}

// rawFile is a parsed policy file before compilation.
type rawFile struct {
	file        *sourceFile
	all         []*rawRule // every rule, in the file's order
	description string
	routing     []*rawRule
	def         *rawRule
	filters     []*rawRule
	compliance  []*rawRule
}

// rawRule is one rule as written.
type rawRule struct {
	kind        Kind
	node        *yaml.Node
	name        string
	nameNode    *yaml.Node
	description string
	when        *exprSrc
	message     string
	messageExpr *exprSrc
	selectExpr  *exprSrc
	providers   []string
	provNode    *yaml.Node
	strategy    string
	stratNode   *yaml.Node
	shadow      bool
}

var (
	yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
)

var ruleKeys = map[Kind][]string{
	KindRouting:    {"name", "description", "when", "providers", "select", "strategy", "shadow"},
	KindDefault:    {"description", "providers", "select", "strategy"},
	KindFilter:     {"name", "description", "when", "message", "message_expression", "shadow"},
	KindCompliance: {"name", "description", "when", "message", "message_expression", "shadow"},
}

// ruleKeySet is ruleKeys as sets.
var ruleKeySet = func() map[Kind]map[string]bool {
	out := map[Kind]map[string]bool{}
	for k, keys := range ruleKeys {
		out[k] = map[string]bool{}
		for _, key := range keys {
			out[k][key] = true
		}
	}
	return out
}()

// parseFile reads one policy file; problems go to d.
func parseFile(f *sourceFile, data []byte, d *diags) *rawFile {
	rf := &rawFile{file: f}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		d.add(f, line, 1, "", "not valid YAML (here or in the lines below): %s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		return rf // an empty file holds no rules
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		d.add(f, root.Line, root.Column, "", "a policy file is a mapping with routing, default, filters and compliance")
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "description":
			rf.description = scalar(f, v, "description", "", d)
		case "routing":
			rf.routing = parseRules(f, v, KindRouting, d)
			rf.all = append(rf.all, rf.routing...)
		case "filters":
			rf.filters = parseRules(f, v, KindFilter, d)
			rf.all = append(rf.all, rf.filters...)
		case "compliance":
			rf.compliance = parseRules(f, v, KindCompliance, d)
			rf.all = append(rf.all, rf.compliance...)
		case "default":
			if v.Kind != yaml.MappingNode {
				d.add(f, v.Line, v.Column, "", "default must be a mapping with providers or select, and strategy")
				continue
			}
			rf.def = parseRule(f, v, KindDefault, d)
			rf.all = append(rf.all, rf.def)
		default:
			d.add(f, k.Line, k.Column, "", "unknown key %q; a policy file has description, routing, default, filters and compliance", clip(k.Value, maxQuoted))
		}
	}
	return rf
}

func parseRules(f *sourceFile, n *yaml.Node, kind Kind, d *diags) []*rawRule {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.add(f, n.Line, n.Column, "", "%s must be a list of rules", kind.section())
		return nil
	}
	var out []*rawRule
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			d.add(f, item.Line, item.Column, "", "each %s rule is a mapping with %s", kind, strings.Join(ruleKeys[kind], ", "))
			continue
		}
		if r := parseRule(f, item, kind, d); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func parseRule(f *sourceFile, n *yaml.Node, kind Kind, d *diags) *rawRule {
	r := &rawRule{kind: kind, node: n}
	allowed := ruleKeySet[kind]
	// The name first, so every other problem can name the rule.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && allowed["name"] {
			r.nameNode = n.Content[i+1]
			r.name = scalar(f, r.nameNode, "name", "", d)
		}
	}
	if kind == KindDefault {
		r.name = "default"
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !allowed[k.Value] {
			d.add(f, k.Line, k.Column, r.name, "unknown key %q in a %s rule; want %s", clip(k.Value, maxQuoted), kind, strings.Join(ruleKeys[kind], ", "))
			continue
		}
		if seen[k.Value] {
			d.add(f, k.Line, k.Column, r.name, "%s is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "name":
		case "description":
			r.description = scalar(f, v, k.Value, r.name, d)
		case "when":
			r.when = exprOf(f, v, k.Value, r.name, d)
		case "message":
			r.message = scalar(f, v, k.Value, r.name, d)
		case "message_expression":
			r.messageExpr = exprOf(f, v, k.Value, r.name, d)
		case "select":
			r.selectExpr = exprOf(f, v, k.Value, r.name, d)
		case "strategy":
			r.stratNode = v
			r.strategy = scalar(f, v, k.Value, r.name, d)
		case "shadow":
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				d.add(f, v.Line, v.Column, r.name, "shadow must be true or false")
				continue
			}
			r.shadow = v.Value == "true"
		case "providers":
			r.provNode = v
			if v.Kind != yaml.SequenceNode {
				d.add(f, v.Line, v.Column, r.name, "providers must be a list of provider ids, as [my-provider]")
				continue
			}
			for _, p := range v.Content {
				if p.Kind != yaml.ScalarNode || p.Value == "" {
					d.add(f, p.Line, p.Column, r.name, "a provider id must be a plain word, as my-provider")
					continue
				}
				r.providers = append(r.providers, p.Value)
			}
		}
	}
	line, col := n.Line, n.Column
	switch kind {
	case KindRouting, KindFilter, KindCompliance:
		if r.nameNode == nil {
			d.add(f, line, col, "", "a %s rule needs a name", kind)
		} else if r.name != "" && !ruleName.MatchString(r.name) {
			d.add(f, r.nameNode.Line, r.nameNode.Column, "", "rule name %q: use lower-case letters, digits, '-', '_' or '.' (at most 64)", clip(r.name, maxQuoted))
		}
	}
	switch kind {
	case KindFilter, KindCompliance:
		if r.when == nil && !seen["when"] {
			d.add(f, line, col, r.name, "a %s rule needs when: the condition under which it %s", kind, kind.verb())
		}
		if kind == KindCompliance && r.message == "" && r.messageExpr == nil && !seen["message"] {
			d.add(f, line, col, r.name, "a compliance rule needs a message: what the caller is told when it denies")
		}
	case KindRouting, KindDefault:
		if seen["providers"] && seen["select"] {
			d.add(f, r.provNode.Line, r.provNode.Column, r.name, "give providers or select, not both")
		} else if !seen["providers"] && !seen["select"] {
			d.add(f, line, col, r.name, "a %s route needs providers (a list of ids) or select (an expression)", kind)
		}
		if seen["providers"] && len(r.providers) == 0 && r.provNode != nil && r.provNode.Kind == yaml.SequenceNode {
			d.add(f, r.provNode.Line, r.provNode.Column, r.name, "providers is empty")
		}
		if r.stratNode != nil && !validStrategy(r.strategy) {
			d.add(f, r.stratNode.Line, r.stratNode.Column, r.name, "unknown strategy %q; one of best_price, all, first", clip(r.strategy, maxQuoted))
		}
	}
	return r
}

func scalar(f *sourceFile, n *yaml.Node, key, rule string, d *diags) string {
	if n.Kind != yaml.ScalarNode {
		d.add(f, n.Line, n.Column, rule, "%s must be text", key)
		return ""
	}
	return n.Value
}

func exprOf(f *sourceFile, n *yaml.Node, key, rule string, d *diags) *exprSrc {
	if n.Kind == yaml.ScalarNode && n.Style&yaml.TaggedStyle != 0 && !strings.HasPrefix(n.Tag, "!!") {
		// when: !(a in b) is YAML's tag "!(a" on the text "in b)".
		written := strings.TrimSpace(n.Tag + " " + n.Value)
		q := `"` + written + `"`
		if strings.Contains(written, `"`) {
			q = "'" + strings.ReplaceAll(written, "'", "''") + "'"
		}
		d.add(f, n.Line, n.Column, rule, "%s starts with !, which YAML reads as a tag, not as CEL's not: quote the expression, as %s: %s", key, key, q)
		return nil
	}
	if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
		d.add(f, n.Line, n.Column, rule, "%s must be a CEL expression", key)
		return nil
	}
	return &exprSrc{text: n.Value, node: n, file: f}
}

func validStrategy(s string) bool {
	switch s {
	case StrategyBestPrice, StrategyAll, StrategyFirst:
		return true
	}
	return false
}

// Kind is the kind of a rule.
type Kind string

// The kinds of rule.
const (
	KindCompliance Kind = "compliance" // deny a request with a message
	KindRouting    Kind = "routing"    // choose the providers and the strategy
	KindDefault    Kind = "default"    // the route when no routing rule matches
	KindFilter     Kind = "filter"     // drop a quote that must not be shown
)

func (k Kind) section() string {
	if k == KindFilter {
		return "filters"
	}
	return string(k)
}

func (k Kind) verb() string {
	if k == KindFilter {
		return "drops the quote"
	}
	return "denies the request"
}

// The strategies a route may name.
const (
	StrategyBestPrice = "best_price"
	StrategyAll       = "all"
	StrategyFirst     = "first"
)
