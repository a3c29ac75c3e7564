package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Diagnostic is one problem in a policy file, at a position a person can go
// to: File:Line:Column (both 1-based), with the source line and a caret.
// Line 0 is a problem with the whole file (it is too large), and an empty
// File one with the whole set (too many rules, too costly a request).
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
	// Source is the file's line at Line (empty when there is none). A long
	// line is cut to an excerpt around Column, marked with … where it was
	// cut; SourceColumn is then where Column falls in Source.
	Source       string `json:"source,omitempty"`
	SourceColumn int    `json:"source_column,omitempty"`
	// More, when not 0, makes this the last diagnostic of its file, which
	// had this many more problems that are not listed.
	More int `json:"more,omitempty"`
}

// Bounds on what a diagnostic repeats of the source: a 10 MB line or a
// file with 50,000 errors must not become a 10 MB log line or answer.
const (
	maxFileDiags  = 20  // problems listed per file; the rest are counted
	excerptRadius = 80  // characters of a long line kept either side of the column
	maxMessage    = 600 // characters of a message
	maxQuoted     = 64  // characters of a name or key a message quotes
)

// String renders the diagnostic as
//
//	policies/routing.yaml:4:11: rule cars: undeclared reference to 'requst'
//	 | when: requst.item.category == "car"
//	 | ......^
func (d Diagnostic) String() string {
	var b strings.Builder
	switch {
	case d.File == "":
	case d.Line == 0:
		fmt.Fprintf(&b, "%s: ", d.File)
	default:
		fmt.Fprintf(&b, "%s:%d:%d: ", d.File, d.Line, d.Column)
	}
	if d.Rule != "" {
		fmt.Fprintf(&b, "rule %s: ", d.Rule)
	}
	b.WriteString(d.Message)
	col := d.Column
	if d.SourceColumn > 0 {
		col = d.SourceColumn
	}
	if d.Source != "" && col >= 1 {
		src := strings.ReplaceAll(d.Source, "\t", " ")
		b.WriteString("\n | ")
		b.WriteString(src)
		b.WriteString("\n | ")
		rest := src
		for i := 1; i < col && rest != ""; i++ {
			r, sz := utf8.DecodeRuneInString(rest)
			rest = rest[sz:]
			if wide(r, sz) {
				b.WriteString("\uff0e")
			} else {
				b.WriteByte('.')
			}
		}
		if r, sz := utf8.DecodeRuneInString(rest); wide(r, sz) {
			b.WriteString("\uff3e")
		} else {
			b.WriteByte('^')
		}
	}
	return b.String()
}

// wide reports whether a rune takes two columns (CJK text, which policy
// messages and values often hold): every multi-byte rune but the excerpt's
// own … mark.
func wide(r rune, size int) bool {
	return size > 1 && r != utf8.RuneError && r != '…'
}

// LoadError is a policy set that did not load: every problem found, in file
// order (problems with the whole set first). A set with a LoadError is
// never put in force.
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

// Problems is how many problems were found: those listed, and those past
// the per-file cap that were only counted.
func (e *LoadError) Problems() int {
	n := 0
	for _, d := range e.Diagnostics {
		if d.More > 0 {
			n += d.More
		} else {
			n++
		}
	}
	return n
}

// diags collects diagnostics while a set is compiled: those of the whole
// set, and each file's (in its sourceFile), at most maxFileDiags a file.
type diags struct {
	set   []Diagnostic
	files []*sourceFile
}

// newFile starts a file's diagnostics. data is nil for a file that is not
// read (too large).
func (d *diags) newFile(name string, data []byte) *sourceFile {
	f := newSourceFile(name, data)
	d.files = append(d.files, f)
	return f
}

func (d *diags) add(f *sourceFile, line, col int, rule, format string, args ...any) {
	if len(f.diags) >= maxFileDiags {
		f.more++
		return
	}
	src, scol := excerpt(f.line(line), col)
	f.diags = append(f.diags, Diagnostic{File: f.display, Line: line, Column: col, Rule: clip(rule, maxQuoted),
		Message: clip(fmt.Sprintf(format, args...), maxMessage), Source: src, SourceColumn: scol})
}

// addSet records a problem with the whole set.
func (d *diags) addSet(format string, args ...any) {
	d.set = append(d.set, Diagnostic{Message: clip(fmt.Sprintf(format, args...), 2*maxMessage)})
}

func (d *diags) err() error {
	list := append([]Diagnostic(nil), d.set...)
	for _, f := range d.files {
		list = append(list, f.diags...)
		if f.more > 0 {
			list = append(list, Diagnostic{File: f.display, More: f.more,
				Message: fmt.Sprintf("and %d more errors in this file (the first %d are listed)", f.more, maxFileDiags)})
		}
	}
	if len(list) == 0 {
		return nil
	}
	return &LoadError{Diagnostics: list}
}

// clip cuts s to at most n characters, marking the cut with ….
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i, k := 0, 0
	for i < len(s) && k < n {
		_, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
		k++
	}
	if i >= len(s) {
		return s
	}
	return s[:i] + "…"
}

// excerpt cuts a long source line to excerptRadius characters either side
// of column col (1-based, in characters), marking each cut with …. It
// returns the line itself and 0 when it is short enough, else the excerpt
// and the column of col in it.
func excerpt(line string, col int) (string, int) {
	if len(line) <= 2*excerptRadius+1 {
		return line, 0
	}
	c := max(col, 1) - 1 // 0-based character index of the column
	first := max(c-excerptRadius, 0)
	i, k := 0, 0
	for k < first && i < len(line) {
		_, sz := utf8.DecodeRuneInString(line[i:])
		i += sz
		k++
	}
	start, first := i, k
	for k <= c+excerptRadius && i < len(line) {
		_, sz := utf8.DecodeRuneInString(line[i:])
		i += sz
		k++
	}
	if start == 0 && i == len(line) {
		return line, 0
	}
	s, scol := line[start:i], c-first+1
	if start > 0 {
		s, scol = "…"+s, scol+1
	}
	if i < len(line) {
		s += "…"
	}
	return s, scol
}
