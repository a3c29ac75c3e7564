package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/recyclegate/recyclegate/core/policy"
)

// policyDetail follows the synopsis of policy check and policy test.
const policyDetail = "Exits 1 when something is wrong. See policies/README.md.\n"

// cmdPolicy checks and tests a policy directory without a running host.
func cmdPolicy(args []string, stdout, stderr io.Writer) error {
	if err := groupCommand("policy", args, stdout); err != nil {
		return err
	}
	if args[0] == "check" {
		return cmdPolicyCheck(args[1:], stdout, stderr)
	}
	if args[0] == "replay" {
		return cmdPolicyReplay(args[1:], stdout, stderr)
	}
	return cmdPolicyTest(args[1:], stdout, stderr)
}

// policyDirArg parses the flags, before or after the one argument, the
// policy directory, and returns it.
func policyDirArg(fs *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return "", usagef("want one policy directory, as: %s %s policies", prog(), fs.Name())
	}
	dir := filepath.Clean(pos[0])
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return dir, nil
}

func cmdPolicyCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("policy check", stdout, policyDetail)
	dir, err := policyDirArg(fs, args)
	if err != nil {
		return err
	}
	set, err := policy.LoadDir(dir, policy.Options{})
	var le *policy.LoadError
	if errors.As(err, &le) {
		fmt.Fprintln(stdout, le.Error())
		return fmt.Errorf("%d problem(s) in %s; nothing was loaded", le.Problems(), dir)
	}
	if err != nil {
		return err
	}
	rules := set.Rules()
	fmt.Fprintf(stdout, "ok: %d file(s), %d rule(s), revision %s\n", len(set.Files()), len(rules), set.Revision())
	return nil
}

func cmdPolicyTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("policy test", stdout, policyDetail)
	runPattern := fs.String("run", "", "run only the cases whose folder name matches this regular expression")
	verbose := fs.Bool("v", false, "print each case's decision")
	dir, err := policyDirArg(fs, args)
	if err != nil {
		return err
	}
	var only *regexp.Regexp
	if *runPattern != "" {
		if only, err = regexp.Compile(*runPattern); err != nil {
			return usagef("--run %q: %v", *runPattern, err)
		}
	}
	set, results, err := policy.RunCases(dir, policy.Options{})
	var le *policy.LoadError
	if errors.As(err, &le) {
		fmt.Fprintln(stdout, le.Error())
		return fmt.Errorf("%d problem(s) in %s: fix them (%s policy check) before testing", le.Problems(), dir, prog())
	}
	if err != nil {
		return err
	}
	passed, failed := 0, 0
	for _, r := range results {
		if only != nil && !only.MatchString(r.Name) {
			continue
		}
		if r.Passed() {
			passed++
			fmt.Fprintf(stdout, "ok    %s\n", r.Name)
		} else {
			failed++
			fmt.Fprintf(stdout, "FAIL  %s\n", r.Name)
			for _, f := range r.Failures {
				fmt.Fprintf(stdout, "        %s\n", f)
			}
		}
		if *verbose {
			fmt.Fprintf(stdout, "        %s\n", describeDecision(r.Decision))
		}
	}
	for _, w := range set.Unreachable(caseProviders(results)) {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%d case(s): %d passed, %d failed (revision %s)\n", passed+failed, passed, failed, set.Revision())
	if passed+failed == 0 {
		return fmt.Errorf("no case matches --run %q", *runPattern)
	}
	if failed > 0 {
		return fmt.Errorf("%d case(s) failed", failed)
	}
	return nil
}

// caseProviders are the providers the cases' routes considered, those
// that quote.
func caseProviders(results []policy.CaseResult) []string {
	var ids []string
	for _, r := range results {
		if r.Decision == nil || r.Decision.Route == nil {
			continue
		}
		for _, c := range r.Decision.Route.Choices {
			switch c.Reason {
			case "not loaded", "does not quote", "not asked: it does not quote":
				continue
			}
			if !slices.Contains(ids, c.ID) {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids
}

func describeDecision(d *policy.Decision) string {
	var parts []string
	if d.Denied != nil {
		parts = append(parts, fmt.Sprintf("denied by %s: %s", d.Denied.Rule, d.Denied.Message))
	}
	if d.Route != nil {
		parts = append(parts, fmt.Sprintf("route %s [%s] %s", d.Route.Rule, strings.Join(d.Route.Providers, ", "), d.Route.Strategy))
		var out []string
		for _, c := range d.Route.Choices {
			if !c.Chosen {
				out = append(out, fmt.Sprintf("%s (%s)", c.ID, strings.TrimPrefix(c.Reason, "not asked: ")))
			}
		}
		if len(out) > 0 {
			parts = append(parts, "left out: "+strings.Join(out, ", "))
		}
	}
	for _, x := range d.Dropped {
		parts = append(parts, fmt.Sprintf("dropped %s by %s", x.Provider, x.Rule))
	}
	for _, h := range d.Rules {
		if h.Shadow {
			parts = append(parts, fmt.Sprintf("shadow %s %s", h.Rule, h.Outcome))
		}
	}
	return strings.Join(parts, "; ")
}

// DefaultPolicyDir is where `host serve` without --config looks for
// policies: the repository's policies/ when it runs from the repository's
// root (go run ./cmd/host serve).
const DefaultPolicyDir = "policies"

// sandboxPolicies is the policy directory of sandbox mode: DefaultPolicyDir
// when it holds a policy file, else none (the built-in routing by category).
func sandboxPolicies() string {
	if files, _ := filepath.Glob(filepath.Join(DefaultPolicyDir, "*.yaml")); len(files) > 0 {
		return DefaultPolicyDir
	}
	return ""
}
