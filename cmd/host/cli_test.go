package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// subcommands are every subcommand the CLI has, written out here rather
// than taken from the command table, so a table that loses one fails.
var subcommands = []string{
	"serve", "sandbox", "quote", "batch", "catalog search", "catalog get",
	"order create", "order get", "order list", "order track", "order inspection", "order settlement",
	"tradein create", "tradein get", "plugins list", "policy check", "policy test", "policy replay",
	"provider describe", "provider check", "provider new", "version",
}

func runArgs(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEverySubcommandHasASynopsis(t *testing.T) {
	var listed []string
	for _, c := range commands {
		listed = append(listed, c.name)
	}
	if strings.Join(listed, ",") != strings.Join(subcommands, ",") {
		t.Fatalf("the command table has %v, want %v", listed, subcommands)
	}
	_, top, _ := runArgs("--help")
	for _, name := range subcommands {
		var first string
		for _, help := range []string{"-h", "--help", "-help"} {
			args := append(strings.Fields(name), help)
			code, out, errs := runArgs(args...)
			if code != 0 || errs != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, errs)
			}
			lines := strings.Split(out, "\n")
			if len(lines) < 3 || !strings.HasPrefix(lines[0]+" ", "usage: recyclegate "+name+" ") || lines[1] != "" {
				t.Errorf("%v: does not start with a usage line and a blank line:\n%s", args, out)
				continue
			}
			if s := lines[2]; !oneSentence(s) {
				t.Errorf("%v: %q is not one sentence", args, s)
			}
			if !strings.Contains(top, "  "+strings.TrimPrefix(lines[0], "usage: ")+"\n        "+lines[2]+"\n") {
				t.Errorf("the program's usage does not list %q with %q:\n%s", lines[0], lines[2], top)
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("%v differs from -h:\n%s\nvs\n%s", args, out, first)
			}
		}
		if code, out, _ := runArgs(append([]string{"help"}, strings.Fields(name)...)...); code != 0 || out != first {
			t.Errorf("help %s: exit %d\n%s", name, code, out)
		}
	}
	for _, g := range []string{"catalog", "order", "tradein", "plugins", "policy"} {
		code, out, _ := runArgs(g, "-h")
		if code != 0 || !strings.HasPrefix(out, "usage:\n") {
			t.Errorf("%s -h: exit %d\n%s", g, code, out)
		}
		for _, name := range subcommands {
			if strings.HasPrefix(name, g+" ") && !strings.Contains(out, "  recyclegate "+name+" ") {
				t.Errorf("%s -h does not list %s:\n%s", g, name, out)
			}
		}
	}
}

// oneSentence reports whether s is one sentence: a capital first, a full
// stop last and none between.
func oneSentence(s string) bool {
	if s == "" || !unicode.IsUpper([]rune(s)[0]) || !strings.HasSuffix(s, ".") {
		return false
	}
	return !strings.Contains(strings.TrimSuffix(s, "."), ". ")
}

func TestABadFlagExitsTwo(t *testing.T) {
	for _, name := range subcommands {
		args := append(strings.Fields(name), "--no-such-flag")
		code, out, errs := runArgs(args...)
		want := "recyclegate " + name + ": flag provided but not defined: -no-such-flag\nusage: recyclegate " + name
		if code != 2 || out != "" || !strings.HasPrefix(errs, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, errs, want)
		}
	}
	for _, args := range [][]string{
		{"order", "list", "--limit", "many"},
		{"quote", "--accident", "x"},
		{"serve", "--listen"},
		{"order", "fly"},
		{"catalog"},
		{"version", "extra"},
		{"help", "nope"},
	} {
		if code, _, errs := runArgs(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
	// A command that fails, rather than being miscalled, exits 1.
	if code, _, errs := runArgs("plugins", "list", "--host", "127.0.0.1:1", "--timeout", "1s"); code != 1 || !strings.Contains(errs, "recyclegate plugins list: is the host running?") {
		t.Errorf("plugins list without a host: exit %d, %q", code, errs)
	}
}

// TestTheBinaryNamesItselfAndExitsLikeTheFlagPackage builds the command
// under another name: usage names the program by its binary, a bad flag
// exits 2, -h exits 0.
func TestTheBinaryNamesItselfAndExitsLikeTheFlagPackage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exitCode := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String(), errb.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), out.String(), errb.String()
		}
		t.Fatalf("%v: %v", args, err)
		return 0, "", ""
	}
	if code, _, errs := exitCode("quote", "--bogus"); code != 2 || !strings.HasPrefix(errs, "rgate quote: flag provided but not defined: -bogus\nusage: rgate quote ") {
		t.Errorf("quote --bogus: exit %d\n%s", code, errs)
	}
	if code, out, _ := exitCode("order", "create", "-h"); code != 0 || !strings.HasPrefix(out, "usage: rgate order create ") {
		t.Errorf("order create -h: exit %d\n%s", code, out)
	}
	if code, out, _ := exitCode("-h"); code != 0 || !strings.HasPrefix(out, "rgate: ") || !strings.Contains(out, "\n  rgate serve ") {
		t.Errorf("-h: exit %d\n%s", code, out)
	}
	if code, _, errs := exitCode("nope"); code != 2 || !strings.HasPrefix(errs, `rgate: unknown command "nope"`) {
		t.Errorf("nope: exit %d\n%s", code, errs)
	}
	if code, _, _ := exitCode(); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
}
