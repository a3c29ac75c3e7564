package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core/internal/faketest"
)

func replayBody(t *testing.T, policies string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"policies": map[string]string{"policy.yaml": policies}}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// The console's policy editor asks what an edit would change of the
// recorded decisions: dropping the filter shows each hidden quote again;
// the set in force changes nothing; a broken edit is a 400 with
// file:line:col; only admins may ask.
func TestReplayOverTheAPI(t *testing.T) {
	srv := newPolicyServer(t, faketest.New("low", 500000), faketest.New("high", 700000))
	for i := range 5 { // five requests, not one answer reused
		item := strings.Replace(okItem, "iPhone 14 Pro", fmt.Sprint("iPhone 1", i), 1)
		if resp, body := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", item); resp.StatusCode != http.StatusOK {
			t.Fatalf("quote: %d %v", resp.StatusCode, body)
		}
	}
	for range 2 {
		if resp, _ := do(t, srv, "POST", "/v1/quotes", "tab-key-0123456789", okItem); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("tablets-only asked for a phone: %d", resp.StatusCode)
		}
	}
	resp, rep := do(t, srv, "POST", "/v1/policies/replay", "acme-key-0123456789", replayBody(t, apiPolicies, nil))
	if resp.StatusCode != http.StatusOK || rep["decisions"] != 7.0 || rep["changed"] != 0.0 {
		t.Fatalf("unchanged: %d %v", resp.StatusCode, rep)
	}
	open := strings.Replace(apiPolicies, "quote.provider == 'low'", "false", 1)
	resp, rep = do(t, srv, "POST", "/v1/policies/replay", "acme-key-0123456789", replayBody(t, open, map[string]any{"since": "1h", "examples": 2}))
	if resp.StatusCode != http.StatusOK || rep["decisions"] != 7.0 || rep["changed"] != 5.0 {
		t.Fatalf("without the filter: %d %v", resp.StatusCode, rep)
	}
	rules := rep["rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["rule"] != "hide-low" || rules[0].(map[string]any)["quotes_kept"] != 5.0 {
		t.Fatalf("rules %v", rules)
	}
	if ex := rep["examples"].([]any); len(ex) != 2 || ex[0].(map[string]any)["change"] != "quote_kept" {
		t.Fatalf("examples %v", ex)
	}
	broken := strings.Replace(apiPolicies, "quote.provider", "quote.provdier", 1)
	resp, prob := do(t, srv, "POST", "/v1/policies/replay", "acme-key-0123456789", replayBody(t, broken, nil))
	if resp.StatusCode != http.StatusBadRequest || prob["field"] != "policies" || !strings.Contains(prob["detail"].(string), "policy.yaml:8:16: rule hide-low") {
		t.Fatalf("broken: %d %v", resp.StatusCode, prob)
	}
	resp, prob = do(t, srv, "POST", "/v1/policies/replay", "acme-key-0123456789", replayBody(t, apiPolicies, map[string]any{"since": "yesterday"}))
	if resp.StatusCode != http.StatusBadRequest || prob["field"] != "since" {
		t.Fatalf("bad since: %d %v", resp.StatusCode, prob)
	}
	if resp, _ := do(t, srv, "POST", "/v1/policies/replay", "tab-key-0123456789", replayBody(t, apiPolicies, nil)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a tenant that is no admin replayed: %d", resp.StatusCode)
	}
}

// The policy editor's dry run can start from a recorded request: admins
// list the newest recorded decisions (masked as recorded), one tenant's
// if asked, and evaluate one's item; others are refused.
func TestRecordedDecisionsForADryRun(t *testing.T) {
	srv := newPolicyServer(t, faketest.New("low", 500000), faketest.New("high", 700000))
	if resp, body := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", okItem); resp.StatusCode != http.StatusOK {
		t.Fatalf("quote: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, srv, "POST", "/v1/quotes", "tab-key-0123456789", okItem); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tablets-only asked for a phone: %d", resp.StatusCode)
	}
	resp, list := do(t, srv, "GET", "/v1/policies/decisions?limit=5", "acme-key-0123456789", "")
	ds, _ := list["decisions"].([]any)
	if resp.StatusCode != http.StatusOK || len(ds) != 2 {
		t.Fatalf("decisions: %d %v", resp.StatusCode, list)
	}
	newest, older := ds[0].(map[string]any), ds[1].(map[string]any)
	if newest["tenant"] != "tablets-only" || newest["outcome"].(map[string]any)["allowed"] != false || older["tenant"] != "acme" ||
		older["id"].(float64) >= newest["id"].(float64) {
		t.Fatalf("not the newest first, or not as decided: %v", ds)
	}
	item := older["request"].(map[string]any)["item"].(map[string]any)
	if item["model"] != "iPhone 14 Pro" || item["category"] != "phone" {
		t.Fatalf("recorded item %v", item)
	}
	resp, one := do(t, srv, "GET", "/v1/policies/decisions?tenant=acme", "acme-key-0123456789", "")
	if ds, _ := one["decisions"].([]any); resp.StatusCode != http.StatusOK || len(ds) != 1 || ds[0].(map[string]any)["tenant"] != "acme" {
		t.Fatalf("acme's decisions: %d %v", resp.StatusCode, one)
	}
	body, _ := json.Marshal(map[string]any{"request": map[string]any{"item": map[string]any{"category": item["category"], "brand": item["brand"],
		"model": item["model"], "storage": item["storage"], "condition": item["condition"]}}})
	if resp, d := do(t, srv, "POST", "/v1/policies/evaluate", "acme-key-0123456789", string(body)); resp.StatusCode != http.StatusOK || d["allowed"] != true {
		t.Fatalf("dry run of the recorded request: %d %v", resp.StatusCode, d)
	}
	if resp, prob := do(t, srv, "GET", "/v1/policies/decisions?limit=500", "acme-key-0123456789", ""); resp.StatusCode != http.StatusBadRequest || prob["field"] != "limit" {
		t.Fatalf("limit 500: %d %v", resp.StatusCode, prob)
	}
	if resp, _ := do(t, srv, "GET", "/v1/policies/decisions", "tab-key-0123456789", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a tenant that is no admin listed the decisions: %d", resp.StatusCode)
	}
}
