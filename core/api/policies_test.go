package api_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
)

const apiPolicies = `
compliance:
  - name: tenant-category
    when: "!(request.item.category in tenant.categories)"
    message_expression: "'your account is not entitled to quotes for category ' + request.item.category"
filters:
  - name: hide-low
    when: quote.provider == 'low'
    message: low quotes are hidden
`

func newPolicyServer(t *testing.T, providers ...*faketest.Provider) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(apiPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := core.Config{Policies: dir, Tenants: []core.TenantConfig{
		{ID: "acme", APIKeys: []string{"acme-key-0123456789"}, Admin: true},
		{ID: "tablets-only", APIKeys: []string{"tab-key-0123456789"}, Categories: []string{"tablet"}},
	}}
	var opts []core.Option
	for _, p := range providers {
		opts = append(opts, core.WithProvider(p, map[string]string{"app_secret": "secret-" + p.ID}))
	}
	h, err := core.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(api.New(h))
	t.Cleanup(srv.Close)
	apitest.Check(t, srv)
	return srv
}

func TestComplianceDenialIsAProblem403(t *testing.T) {
	srv := newPolicyServer(t, faketest.New("low", 500000))
	resp, body := do(t, srv, "POST", "/v1/quotes", "tab-key-0123456789", okItem)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %s: %v", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if body["detail"] != "your account is not entitled to quotes for category phone" || body["code"] != "forbidden" {
		t.Fatalf("problem %v", body)
	}
}

func TestExplainSaysWhichFilterDroppedAQuote(t *testing.T) {
	srv := newPolicyServer(t, faketest.New("low", 500000), faketest.New("high", 700000))
	body := strings.Replace(okItem, `{"item"`, `{"explain":true,"item"`, 1)
	resp, res := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, res)
	}
	quotes := res["quotes"].([]any)
	if len(quotes) != 1 || quotes[0].(map[string]any)["provider"] != "high" || res["best"].(map[string]any)["provider"] != "high" {
		t.Fatalf("quotes %v best %v", quotes, res["best"])
	}
	ex := res["explain"].(map[string]any)
	dropped := ex["dropped"].([]any)
	if len(dropped) != 1 {
		t.Fatalf("explain %v", ex)
	}
	d := dropped[0].(map[string]any)
	if d["provider"] != "low" || d["rule"] != "hide-low" || d["message"] != "low quotes are hidden" {
		t.Fatalf("dropped %v", d)
	}
	if rev, _ := ex["revision"].(string); len(rev) != 12 {
		t.Errorf("revision %q", rev)
	}
	route := ex["route"].(map[string]any)
	if route["rule"] != "default" || len(route["choices"].([]any)) != 2 {
		t.Errorf("route %v", route)
	}
}

func TestPolicyStatus(t *testing.T) {
	srv := newPolicyServer(t)
	resp, st := do(t, srv, "GET", "/v1/policies", "acme-key-0123456789", "")
	if resp.StatusCode != http.StatusOK || st["enabled"] != true || len(st["revision"].(string)) != 12 {
		t.Fatalf("%d %v", resp.StatusCode, st)
	}
	var names []string
	for _, r := range st["rules"].([]any) {
		names = append(names, r.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "tenant-category,default,hide-low" {
		t.Errorf("rules %v", names)
	}
	for _, path := range []string{"GET /v1/policies", "POST /v1/policies/evaluate"} {
		method, p, _ := strings.Cut(path, " ")
		resp, prob := do(t, srv, method, p, "tab-key-0123456789", `{}`)
		if resp.StatusCode != http.StatusForbidden || prob["code"] != "forbidden" {
			t.Errorf("%s by a tenant that is not an admin: %d %v", path, resp.StatusCode, prob)
		}
	}
	plain := newServer(t)
	_, st = do(t, plain, "GET", "/v1/policies", "acme-key-0123456789", "")
	if st["enabled"] != false || st["revision"] != "builtin" {
		t.Errorf("without policies: %v", st)
	}
}

func TestPolicyDryRunCallsNoProvider(t *testing.T) {
	p := faketest.New("low", 500000)
	srv := newPolicyServer(t, p)
	body := `{"request":` + okItem + `,"quotes":[{"provider":"low","quote_id":"q1","price":{"amount":500000,"currency":"CNY"},"valid_until":"2030-01-01T00:00:00Z","orderable":true}]}`
	resp, d := do(t, srv, "POST", "/v1/policies/evaluate", "acme-key-0123456789", body)
	if resp.StatusCode != http.StatusOK || d["allowed"] != true || len(d["dropped"].([]any)) != 1 {
		t.Fatalf("%d %v", resp.StatusCode, d)
	}
	// What another tenant's entitlements would get.
	body = `{"request":` + okItem + `,"tenant":{"categories":["car"]}}`
	_, d = do(t, srv, "POST", "/v1/policies/evaluate", "acme-key-0123456789", body)
	if d["allowed"] != false || d["denied"].(map[string]any)["rule"] != "tenant-category" {
		t.Fatalf("what-if tenant: %v", d)
	}
	// Policies given in the body, which do not compile: 400 naming file:line:col.
	body = `{"request":` + okItem + `,"policies":{"try.yaml":"routing:\n  - name: x\n    when: request.item.categry == 'phone'\n    providers: [low]\n"}}`
	resp, prob := do(t, srv, "POST", "/v1/policies/evaluate", "acme-key-0123456789", body)
	if resp.StatusCode != http.StatusBadRequest || prob["field"] != "policies" || !strings.Contains(prob["detail"].(string), "try.yaml:3:23: rule x: when: undefined field 'categry'") {
		t.Fatalf("%d %v", resp.StatusCode, prob)
	}
	// And ones that do.
	body = `{"request":` + okItem + `,"policies":{"try.yaml":"routing:\n  - name: x\n    when: request.item.category == 'phone'\n    providers: [low]\n"}}`
	_, d = do(t, srv, "POST", "/v1/policies/evaluate", "acme-key-0123456789", body)
	if d["route"].(map[string]any)["rule"] != "x" {
		t.Fatalf("given policies: %v", d)
	}
	if n := p.Calls.Load(); n != 0 {
		t.Fatalf("the dry run called the provider %d times", n)
	}
}
