package policy

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDefaultPolicyCases runs the cases of the repository's policies/tests,
// as `host policy test policies` does.
func TestDefaultPolicyCases(t *testing.T) {
	_, results, err := RunCases("../../policies", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 10 {
		t.Fatalf("only %d cases", len(results))
	}
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("case %s: %s", r.Name, strings.Join(r.Failures, "; "))
		}
	}
}

func TestCaseFailuresSayWhat(t *testing.T) {
	_, results, err := RunCases("testdata/casefail", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		got = append(got, r.Name+": "+strings.Join(r.Failures, "; "))
	}
	want := []string{
		"error: want allowed, got denied by fragile: request refused: policy rule fragile could not be evaluated; " +
			"rule fragile (testdata/casefail/routing.yaml:6) could not be evaluated: no such key: region: " +
			"check a key a request may lack first, as 'region' in tenant.attributes && ... (or has(tenant.attributes.region))",
		"wrong: route.rule: want trucks, got cars; route.providers: want [truckvalue], got [carvalue]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13812346789":    "138****6789",
		"138****6789":    "138****6789",
		"+8613812346789": "+86*******6789",
		"12345678":       "****5678",
		"123":            "***",
		"":               "",
	} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDecisionLogMasksPersonalData: a decision log shows the phone masked
// and never the customer's name or address, even when a rule's message
// quotes them.
func TestDecisionLogMasksPersonalData(t *testing.T) {
	set := mustCompile(t, `
compliance:
  - name: phone
    when: request.kind == 'order' && !request.order.customer.phone.matches('^1[3-9][0-9][*]{4}[0-9]{4}$')
    message_expression: "'phone ' + request.order.customer.phone + ' of ' + request.order.customer.name + ' at ' + request.order.customer.address + ' is not masked'"
`)
	in := input("phone")
	in.Request.Kind = KindOrder
	in.Request.Order.Customer = Customer{Name: "张三", Phone: "13812346789", Address: "上海市徐汇区漕溪北路 1 号"}
	d := set.Evaluate(context.Background(), in)
	if d.Allowed || !strings.Contains(d.Denied.Message, "13812346789") {
		t.Fatalf("decision %+v", d) // the caller is told its own data
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(context.Background(), slog.LevelInfo, "policy decision", d.LogAttrs(in)...)
	out := buf.String()
	for _, secret := range []string{"13812346789", "张三", "漕溪北路"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"phone":"138****6789"`, `"denied_by":"phone"`, `"decision":"deny"`, `"policy_revision":"` + set.Revision()} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

// TestCaseFileUnknownKeysAreNamedAtOnce: a case file's misspelt keys are
// all named, with their lines and the keys valid there, never a Go type.
func TestCaseFileUnknownKeysAreNamedAtOnce(t *testing.T) {
	dir := t.TempDir()
	writeCase(t, dir+"/routing.yaml", "routing:\n  - name: r\n    when: \"true\"\n    providers: [a]\n")
	writeCase(t, dir+"/tests/typo/input.yaml", "request:\n  item:\n    catgory: phone\n    brnd: Apple\ntenant:\n  id: acme\n")
	writeCase(t, dir+"/tests/typo/expect.yaml", "allowed: true\n")
	_, _, err := RunCases(dir, Options{})
	if err == nil {
		t.Fatal("unknown keys must be refused")
	}
	msg := err.Error()
	for _, want := range []string{"input.yaml", "2 unknown keys",
		`line 3: unknown key "catgory" in request.item (did you mean category?); valid keys:`,
		`line 4: unknown key "brnd" in request.item (did you mean brand?)`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nwant %q", msg, want)
		}
	}
	if strings.Contains(msg, "policy.Item") || strings.Contains(msg, "not found in type") {
		t.Errorf("names a Go type: %s", msg)
	}
}

func writeCase(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, text)
}
