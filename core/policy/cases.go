package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core/internal/strictyaml"
)

// CasesDir is the folder, inside a policy directory, of the policies' test
// cases: one folder per case, each with input.yaml and expect.yaml (as in
// cel-go's policy/testdata). A providers.yaml beside the case folders gives
// the providers of every case whose input names none.
const CasesDir = "tests"

// DefaultCaseTime is "now" in a case whose input does not say.
var DefaultCaseTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Expect is a case's expected decision. Only what it states is checked.
type Expect struct {
	// Allowed: false when a compliance rule must deny.
	Allowed *bool `yaml:"allowed"`
	// DeniedBy is the compliance rule that must deny.
	DeniedBy string `yaml:"denied_by"`
	// Message is the denial's exact message.
	Message string `yaml:"message"`
	Route   *struct {
		Rule      string    `yaml:"rule"`
		Providers *[]string `yaml:"providers"`
		Strategy  string    `yaml:"strategy"`
	} `yaml:"route"`
	// Dropped is every quote the filters must drop (an empty list: none).
	Dropped *[]struct {
		Provider string `yaml:"provider"`
		Rule     string `yaml:"rule"`
	} `yaml:"dropped"`
	// Shadow lists shadow rules that must have matched.
	Shadow []string `yaml:"shadow"`
	// Errors lists rules expected to fail to evaluate; any other failure
	// fails the case.
	Errors []string `yaml:"errors"`
}

// CaseResult is one case's outcome.
type CaseResult struct {
	Name     string
	Failures []string
	Decision *Decision
}

// Passed reports whether the case passed.
func (r CaseResult) Passed() bool { return len(r.Failures) == 0 }

// RunCases compiles the policies of dir and runs every case of
// dir/tests. An error means the policies or a case could not be read.
func RunCases(dir string, opts Options) (*Set, []CaseResult, error) {
	set, err := LoadDir(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	out, err := RunCasesOf(set, dir)
	return set, out, err
}

// RunCasesOf runs every case of dir/tests against set, which need not be
// the policies of dir: the files an operator is editing, say.
func RunCasesOf(set *Set, dir string) ([]CaseResult, error) {
	root := filepath.Join(dir, CasesDir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading test cases: %w", err)
	}
	var shared []Provider
	if data, err := os.ReadFile(filepath.Join(root, "providers.yaml")); err == nil {
		if err := strictYAML(data, &shared); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(root, "providers.yaml"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []CaseResult
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		res, err := runCase(set, filepath.Join(root, e.Name()), shared)
		if err != nil {
			return nil, err
		}
		res.Name = e.Name()
		out = append(out, res)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no test case in %s: make one folder per case with input.yaml and expect.yaml", root)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

func runCase(set *Set, dir string, shared []Provider) (CaseResult, error) {
	var in Input
	var want Expect
	for _, f := range []struct {
		name string
		v    any
	}{{"input.yaml", &in}, {"expect.yaml", &want}} {
		path := filepath.Join(dir, f.name)
		data, err := os.ReadFile(path)
		if err != nil {
			return CaseResult{}, fmt.Errorf("test case %s: %w", filepath.Base(dir), err)
		}
		if err := strictYAML(data, f.v); err != nil {
			return CaseResult{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	if in.Providers == nil {
		in.Providers = append([]Provider(nil), shared...)
	}
	if in.Now.IsZero() {
		in.Now = DefaultCaseTime
	}
	d := set.Evaluate(context.Background(), &in)
	return CaseResult{Decision: d, Failures: compare(&want, d)}, nil
}

func compare(want *Expect, d *Decision) []string {
	var f []string
	failf := func(format string, a ...any) { f = append(f, fmt.Sprintf(format, a...)) }
	allowed := want.Allowed
	if want.DeniedBy != "" || want.Message != "" {
		no := false
		allowed = &no
	}
	if allowed != nil && *allowed != d.Allowed {
		if d.Allowed {
			failf("want denied, got allowed")
		} else {
			failf("want allowed, got denied by %s: %s", d.Denied.Rule, d.Denied.Message)
		}
	}
	if d.Denied != nil {
		if want.DeniedBy != "" && want.DeniedBy != d.Denied.Rule {
			failf("denied_by: want %s, got %s", want.DeniedBy, d.Denied.Rule)
		}
		if want.Message != "" && want.Message != d.Denied.Message {
			failf("message: want %q, got %q", want.Message, d.Denied.Message)
		}
	}
	if r := want.Route; r != nil {
		switch {
		case d.Route == nil:
			failf("route: want one, got none (the request was denied)")
		default:
			if r.Rule != "" && r.Rule != d.Route.Rule {
				failf("route.rule: want %s, got %s", r.Rule, d.Route.Rule)
			}
			if r.Providers != nil && !slices.Equal(*r.Providers, d.Route.Providers) {
				failf("route.providers: want [%s], got [%s]", strings.Join(*r.Providers, ", "), strings.Join(d.Route.Providers, ", "))
			}
			if r.Strategy != "" && r.Strategy != d.Route.Strategy {
				failf("route.strategy: want %s, got %s", r.Strategy, d.Route.Strategy)
			}
		}
	}
	if want.Dropped != nil {
		var w, g []string
		for _, x := range *want.Dropped {
			w = append(w, x.Provider+" by "+x.Rule)
		}
		for _, x := range d.Dropped {
			g = append(g, x.Provider+" by "+x.Rule)
		}
		sort.Strings(w)
		sort.Strings(g)
		if !slices.Equal(w, g) {
			failf("dropped: want [%s], got [%s]", strings.Join(w, "; "), strings.Join(g, "; "))
		}
	}
	for _, s := range want.Shadow {
		found := false
		for _, h := range d.Rules {
			if h.Rule == s && h.Shadow && h.Outcome != OutcomeError {
				found = true
			}
		}
		if !found {
			failf("shadow: want rule %s to match, it did not", s)
		}
	}
	for _, h := range d.Rules {
		if (h.Outcome == OutcomeError || h.Outcome == OutcomeErrorDenied) && !slices.Contains(want.Errors, h.Rule) {
			failf("rule %s (%s) could not be evaluated: %s", h.Rule, h.At, h.Error)
		}
	}
	return f
}

// strictYAML decodes a case file: every unknown key at once, each with
// its line, where it is and the keys valid there.
func strictYAML(data []byte, v any) error { return strictyaml.Decode(data, v) }
