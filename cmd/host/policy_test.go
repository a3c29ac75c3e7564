package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPolicyCheckTheDefaultPolicies(t *testing.T) {
	code, out, errs := runCLI("policy", "check", "../../policies")
	if code != 0 || !strings.HasPrefix(out, "ok: 3 file(s), ") || !strings.Contains(out, "revision ") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestPolicyCheckPrintsFileLineColumnAndACaret(t *testing.T) {
	dir := t.TempDir()
	src := "routing:\n  - name: cars\n    when: request.item.category == 1\n    providers: [carvalue]\n"
	if err := os.WriteFile(filepath.Join(dir, "routing.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("policy", "check", dir)
	want := filepath.Join(dir, "routing.yaml") + ":3:33: rule cars: when: found no matching overload for '_==_' applied to '(string, int)': category is text; compare it with text in quotes, such as 'phone'\n" +
		" |     when: request.item.category == 1\n" +
		" | ................................^\n"
	if code != 1 || out != want || !strings.Contains(errs, "1 problem(s)") {
		t.Fatalf("exit %d\n--- stdout\n%s--- want\n%s--- stderr\n%s", code, out, want, errs)
	}
}

func TestPolicyTestRunsTheCases(t *testing.T) {
	code, out, errs := runCLI("policy", "test", "../../policies")
	if code != 0 || !strings.Contains(out, "ok    car-goes-to-carvalue\n") || !strings.Contains(out, " 0 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"policy", "test", "-run", "^order-", "-v", "../../policies"},
		{"policy", "test", "../../policies", "-run", "^order-", "-v"}, // flags after the directory, as policies/README.md writes it
	} {
		code, out, errs = runCLI(args...)
		if code != 0 || !strings.Contains(out, "2 case(s): 2 passed") || !strings.Contains(out, "denied by order-phone-masked") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
}

// TestPolicyTestNamesTheProvidersLeftOut: -v says which providers a
// case's route did not ask and why; a provider no route reaches is a
// warning.
func TestPolicyTestNamesTheProvidersLeftOut(t *testing.T) {
	code, out, errs := runCLI("policy", "test", "../../policies", "-run", "^phone-goes-to-aihuishou$", "-v")
	if code != 0 || !strings.Contains(out, "left out: carvalue (it does not quote category phone), alibaba1688 (it does not quote)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	dir := t.TempDir()
	for path, text := range map[string]string{
		"routing.yaml":            "routing:\n  - name: phones\n    when: request.item.category == 'phone'\n    providers: [aihuishou]\ndefault:\n  providers: [aihuishou]\n",
		"tests/providers.yaml":    "- {id: aihuishou, state: ready, categories: [phone], capabilities: [quote]}\n- {id: greenbox, state: ready, categories: [phone], capabilities: [quote]}\n",
		"tests/phone/input.yaml":  "request:\n  item: {category: phone, model: x}\ntenant: {id: t}\n",
		"tests/phone/expect.yaml": "route: {rule: phones, providers: [aihuishou]}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs = runCLI("policy", "test", dir, "-v")
	if code != 0 || !strings.Contains(out, "left out: greenbox (the route (phones) does not name it)") ||
		!strings.Contains(out, "warning: provider greenbox is never asked for a quote") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestPolicyTestReportsAFailingCase(t *testing.T) {
	code, out, errs := runCLI("policy", "test", "../../core/policy/testdata/casefail")
	if code != 1 || !strings.Contains(out, "FAIL  wrong\n        route.rule: want trucks, got cars\n") || !strings.Contains(errs, "2 case(s) failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestPolicyUsage(t *testing.T) {
	for _, args := range [][]string{{"policy"}, {"policy", "lint", "x"}, {"policy", "check"}, {"policy", "check", "a", "b"}} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := runCLI("policy", "check", "/no/such/dir"); code != 1 || !strings.Contains(errs, "not a directory") {
		t.Errorf("missing dir: exit %d %s", code, errs)
	}
}
