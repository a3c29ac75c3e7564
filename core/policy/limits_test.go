package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// routingRules writes n routing rules named prefix0.., each reading the
// item's category: "when: request.item.<field> == 'cN'".
func routingRules(prefix string, n int, field string) []byte {
	var b strings.Builder
	b.WriteString("routing:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: %s%d\n    when: request.item.%s == 'c%d'\n    providers: [p]\n", prefix, i, field, i)
	}
	return []byte(b.String())
}

func loadError(t *testing.T, err error) *LoadError {
	t.Helper()
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v (%T), want a *LoadError", err, err)
	}
	return le
}

// mustMention fails unless s holds every one of want.
func mustMention(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%q lacks %q", s, w)
		}
	}
}

// A set of 20,000 rules is refused once parsed: no expression is compiled
// (every rule has a typo, and none is reported), and the answer is one
// short diagnostic naming the limit, the count and how to raise it.
func TestTooManyRulesAreRefusedBeforeCompiling(t *testing.T) {
	files := []File{
		{Name: "policies/a.yaml", Data: routingRules("a", 10_000, "categry")},
		{Name: "policies/b.yaml", Data: routingRules("b", 10_000, "categry")},
	}
	_, err := Compile(files, Options{})
	le := loadError(t, err)
	if len(le.Diagnostics) != 1 {
		t.Fatalf("%d diagnostics (expressions were compiled?), want 1; the first: %v", len(le.Diagnostics), le.Diagnostics[0])
	}
	msg := err.Error()
	mustMention(t, msg, "20000 rules", "limit of 5000", "rule 5001 is at policies/a.yaml:", "policy_limits.max_rules", "Options.MaxRules", "default 5000")
	if len(msg) > 500 {
		t.Errorf("the message is %d bytes", len(msg))
	}
	// Within the limit, such rules are compiled (and their typos found).
	_, err = Compile([]File{{Name: "a.yaml", Data: routingRules("a", 100, "categry")}}, Options{MaxRules: 100})
	if le := loadError(t, err); le.Problems() != 100 || !strings.Contains(le.Diagnostics[0].Message, "undefined field 'categry'") {
		t.Fatalf("%d problems, the first %v", le.Problems(), le.Diagnostics[0])
	}
}

// The request's cost budget stops a large set whose rules each read the
// input, even with the rule limit raised: 20,000 rules of the cheapest kind
// (a field and a comparison, 3 + 1) cost 80,000.
func TestTwentyThousandRulesExceedTheDefaultRequestCost(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 20,000 rules: 2 s, and 30 s under the race detector")
	}
	var b strings.Builder
	b.WriteString("compliance:\n")
	for i := range 20_000 {
		fmt.Fprintf(&b, "  - name: c%d\n    when: request.batch_size > %d\n    message: no\n", i, i)
	}
	_, err := Compile([]File{{Name: "c.yaml", Data: []byte(b.String())}}, Options{MaxRules: 20_000, MaxFileBytes: 4 << 20})
	le := loadError(t, err)
	if len(le.Diagnostics) != 1 {
		t.Fatalf("diagnostics: %v", le)
	}
	mustMention(t, err.Error(), "estimated cost of 80000, more than the limit of 50000", "policy_limits.max_request_cost",
		"the other 19997 rules")
}

// A file over the byte limit is refused before its YAML is parsed (its
// syntax error is not reported); LoadDir reads no more of it than the limit
// and still reports its real size.
func TestFileOverTheByteLimitIsNotParsed(t *testing.T) {
	big := append([]byte("routing: [\n"), make([]byte, DefaultMaxFileBytes)...)
	for i := range big[11:] {
		big[11+i] = '#'
	}
	_, err := Compile([]File{{Name: "policies/big.yaml", Data: big}, {Name: "policies/ok.yaml", Data: []byte(routeTo("aihuishou"))}}, Options{})
	le := loadError(t, err)
	if len(le.Diagnostics) != 1 {
		t.Fatalf("diagnostics: %v", le)
	}
	want := fmt.Sprintf("policies/big.yaml: the file is %d bytes, more than the limit of 1048576 bytes, so it was not read", len(big))
	mustMention(t, err.Error(), want, "policy_limits.max_file_bytes", "Options.MaxFileBytes", "1 MiB")

	dir := t.TempDir()
	huge := make([]byte, 5<<20)
	if err := os.WriteFile(filepath.Join(dir, "huge.yaml"), huge, 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := readDir(dir, DefaultMaxFileBytes)
	if err != nil || len(files) != 1 || len(files[0].Data) != DefaultMaxFileBytes+1 || files[0].size() != 5<<20 {
		t.Fatalf("read %d bytes of a 5 MiB file (size %d): %v", len(files[0].Data), files[0].size(), err)
	}
	_, err = LoadDir(dir, Options{})
	mustMention(t, loadError(t, err).Error(), "huge.yaml: the file is 5242880 bytes")
	if _, err := LoadDir(dir, Options{MaxFileBytes: 6 << 20}); err == nil || strings.Contains(err.Error(), "bytes, more than") {
		t.Errorf("with the limit raised: %v", err)
	}
}

// A 2 MB expression is refused with a bounded message: the excerpt of its
// line keeps 80 characters either side of the error's column, marked with
// …, and the caret stays under that column.
func TestALongLineIsCutToAnExcerpt(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	src := "routing:\n  - name: long\n    when: request.item.model == '" + long + "' && request.item.categry == 'car'\n    providers: [p]\n"
	opts := Options{MaxFileBytes: 4 << 20}
	_, err := Compile([]File{{Name: "f.yaml", Data: []byte(src)}}, opts)
	le := loadError(t, err)
	if n := len(err.Error()); n > 1000 {
		t.Fatalf("the message is %d bytes", n)
	}
	d := le.Diagnostics[0]
	if utf8.RuneCountInString(d.Source) > 2*excerptRadius+3 || !strings.HasSuffix(d.Source, "…") || d.SourceColumn != d.Column {
		t.Errorf("excerpt %q (column %d, source column %d)", d.Source, d.Column, d.SourceColumn)
	}

	// The error far along a long line: … on both sides, the caret under it.
	pad := strings.Repeat("y", 500)
	src = "routing:\n  - name: long\n    when: request.item.model == '" + pad + "' && request.item.categry == '" + pad + "'\n    providers: [p]\n"
	_, err = Compile([]File{{Name: "f.yaml", Data: []byte(src)}}, opts)
	d = loadError(t, err).Diagnostics[0]
	if !strings.HasPrefix(d.Source, "…") || !strings.HasSuffix(d.Source, "…") || utf8.RuneCountInString(d.Source) != 2*excerptRadius+3 {
		t.Fatalf("excerpt %q", d.Source)
	}
	at := func(s string, col int) string { return string([]rune(s)[col-1:][:9]) }
	if got := at(d.Source, d.SourceColumn); got != ".categry " || at(strings.Split(src, "\n")[2], d.Column) != got {
		t.Errorf("the excerpt's column %d is at %q", d.SourceColumn, got)
	}
	lines := strings.Split(d.String(), "\n")
	if caret := lines[2][len(" | "):]; utf8.RuneCountInString(caret) != d.SourceColumn || !strings.HasSuffix(caret, "^") {
		t.Errorf("caret line %q for source column %d", caret, d.SourceColumn)
	}

	// Names and keys a message quotes are cut too.
	key := strings.Repeat("k", 100_000)
	_, err = Compile([]File{{Name: "f.yaml", Data: []byte("routing:\n  - name: " + key + "\n    " + key + ": 1\n    providers: [p]\n")}}, Options{})
	if n := len(err.Error()); n > 2000 {
		t.Errorf("a long name and key give a message of %d bytes", n)
	}
}

// A file with 50,000 errors lists 20 and counts the rest; each file is
// capped apart.
func TestErrorsAreCappedPerFile(t *testing.T) {
	var b strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&b, "key%d: %d\n", i, i)
	}
	_, err := Compile([]File{
		{Name: "a.yaml", Data: []byte(b.String())},
		{Name: "b.yaml", Data: []byte("filters:\n  - name: f\n    when: quote.prize > 0\n")},
	}, Options{})
	le := loadError(t, err)
	if len(le.Diagnostics) != maxFileDiags+2 || le.Problems() != 50_001 {
		t.Fatalf("%d diagnostics, %d problems", len(le.Diagnostics), le.Problems())
	}
	last := le.Diagnostics[maxFileDiags]
	if last.More != 50_000-maxFileDiags || last.String() != "a.yaml: and 49980 more errors in this file (the first 20 are listed)" {
		t.Errorf("summary %+v", last)
	}
	if le.Diagnostics[maxFileDiags+1].File != "b.yaml" {
		t.Errorf("the second file's error is missing: %v", le.Diagnostics[maxFileDiags+1])
	}
	if n := len(err.Error()); n > 5000 {
		t.Errorf("the message is %d bytes", n)
	}
}

// The request's budget refuses a set whose every expression is within the
// per-expression limit, and names its costliest rules; raised, it accepts
// the set and RequestCost says what the set costs.
func TestRequestCostBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("compliance:\n")
	for i := range 12 {
		fmt.Fprintf(&b, "  - name: entitled-%d\n    when: request.providers.exists(p, !(p in tenant.providers))\n    message: no\n", i)
	}
	files := []File{{Name: "c.yaml", Data: []byte(b.String())}}
	_, err := Compile(files, Options{})
	le := loadError(t, err)
	if len(le.Diagnostics) != 1 || le.Diagnostics[0].File != "" {
		t.Fatalf("diagnostics %v", le)
	}
	mustMention(t, err.Error(), "estimated cost of 55344, more than the limit of 50000",
		"entitled-0 (c.yaml:2) 4612", "the other 9 rules 41508 together", "policy_limits.max_request_cost", "Options.MaxRequestCost")
	set, err := Compile(files, Options{MaxRequestCost: 60_000})
	if err != nil || set.RequestCost() != 12*4612 {
		t.Fatalf("with the budget raised: cost %v, %v", set, err)
	}
}

// The shipped policies pass the default limits with a wide margin.
func TestTheShippedPoliciesPassTheDefaultLimits(t *testing.T) {
	set, err := LoadDir("../../policies", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := set.RequestCost(); c == 0 || c*4 > DefaultMaxRequestCost {
		t.Errorf("the shipped policies cost %d; the default budget %d leaves too little room", c, DefaultMaxRequestCost)
	}
	if n := len(set.Rules()); n*100 > DefaultMaxRules {
		t.Errorf("%d rules", n)
	}
	files, _ := ReadDir("../../policies")
	for _, f := range files {
		if f.size()*10 > DefaultMaxFileBytes {
			t.Errorf("%s: %d bytes", f.Name, f.size())
		}
	}
	t.Logf("shipped policies: %d rules, request cost %d of %d", len(set.Rules()), set.RequestCost(), DefaultMaxRequestCost)
}
