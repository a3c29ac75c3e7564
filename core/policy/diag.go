package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Diagnostic is one problem in a policy file, at a position a person can go
// to: File:Line:Column (both 1-based), with the source line and a caret.
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
	// Source is the file's line at Line (empty when there is none).
	Source string `json:"source,omitempty"`
}

// String renders the diagnostic as
//
//	policies/routing.yaml:4:11: rule cars: undeclared reference to 'requst'
//	 | when: requst.item.category == "car"
//	 | ......^
func (d Diagnostic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", d.File, d.Line, d.Column)
	if d.Rule != "" {
		fmt.Fprintf(&b, "rule %s: ", d.Rule)
	}
	b.WriteString(d.Message)
	if d.Source != "" && d.Column >= 1 {
		src := strings.ReplaceAll(d.Source, "\t", " ")
		b.WriteString("\n | ")
		b.WriteString(src)
		b.WriteString("\n | ")
		rest := src
		for i := 1; i < d.Column && rest != ""; i++ {
			r, sz := utf8.DecodeRuneInString(rest)
			rest = rest[sz:]
			if sz > 1 && r != utf8.RuneError {
				b.WriteString("\uff0e")
			} else {
				b.WriteByte('.')
			}
		}
		if r, sz := utf8.DecodeRuneInString(rest); sz > 1 && r != utf8.RuneError {
			b.WriteString("\uff3e")
		} else {
			b.WriteByte('^')
		}
	}
	return b.String()
}

// LoadError is a policy set that did not load: every problem found, in file
// order. A set with a LoadError is never put in force.
type LoadError struct {
	Diagnostics []Diagnostic
}

func (e *LoadError) Error() string {
	parts := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		parts[i] = d.String()
	}
	return strings.Join(parts, "\n")
}

// diags collects diagnostics while a set is compiled.
type diags struct {
	list []Diagnostic
}

func (d *diags) add(f *sourceFile, line, col int, rule, format string, args ...any) {
	d.list = append(d.list, Diagnostic{File: f.display, Line: line, Column: col, Rule: rule,
		Message: fmt.Sprintf(format, args...), Source: f.line(line)})
}

func (d *diags) err() error {
	if len(d.list) == 0 {
		return nil
	}
	return &LoadError{Diagnostics: d.list}
}
