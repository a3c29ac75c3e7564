package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

func newServer(t *testing.T, providers ...*faketest.Provider) *httptest.Server {
	t.Helper()
	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"acme-key-0123456789"}, Admin: true}}}
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

func do(t *testing.T, srv *httptest.Server, method, path, key, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		ct := "application/json"
		if strings.HasPrefix(path, "/v1/quotes/batch") {
			ct = "application/x-ndjson"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(data) > 0 && (strings.Contains(resp.Header.Get("Content-Type"), "json")) {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, data)
		}
	}
	return resp, m
}

const okItem = `{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"}}`

func TestQuoteAnswersIntegerFenFromEveryProvider(t *testing.T) {
	srv := newServer(t, faketest.New("low", 500000), faketest.New("high", 700000))
	resp, body := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", okItem)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	quotes := body["quotes"].([]any)
	if len(quotes) != 2 {
		t.Fatalf("quotes %v", quotes)
	}
	best := body["best"].(map[string]any)
	if best["provider"] != "high" || best["price"].(map[string]any)["amount"] != float64(700000) {
		t.Fatalf("best %v", best)
	}
	if body["request_id"] == "" || resp.Header.Get("X-Request-Id") != body["request_id"] {
		t.Fatalf("request id header %q body %v", resp.Header.Get("X-Request-Id"), body["request_id"])
	}
}

func TestPartialResultsKeepEachProvidersError(t *testing.T) {
	srv := newServer(t, faketest.New("good", 500000), faketest.New("bad", 1))
	body := `{"item":{"category":"phone","model":"` + faketest.ModelFail + `","condition":"good"},"providers":["bad"]}`
	resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	errs := m["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["provider"] != "bad" || errs[0].(map[string]any)["code"] != "unavailable" {
		t.Fatalf("errors %v", errs)
	}
}

func TestStrategyFirstStopsAtTheFirstQuote(t *testing.T) {
	a, b := faketest.New("a", 100), faketest.New("b", 200)
	srv := newServer(t, a, b)
	resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789",
		`{"item":{"category":"phone","model":"x","condition":"good"},"strategy":"first","providers":["a","b"]}`)
	if resp.StatusCode != 200 || len(m["quotes"].([]any)) != 1 || b.Calls.Load() != 0 {
		t.Fatalf("%d %v; b called %d times", resp.StatusCode, m, b.Calls.Load())
	}
}

func TestAuthentication(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	for name, key := range map[string]string{"no key": "", "wrong key": "nope"} {
		t.Run(name, func(t *testing.T) {
			resp, m := do(t, srv, "POST", "/v1/quotes", key, okItem)
			if resp.StatusCode != 401 || m["code"] != "unauthenticated" || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
		})
	}
	resp, _ := do(t, srv, "GET", "/v1/providers", "", "")
	if resp.StatusCode != 401 {
		t.Fatalf("providers without key: %d", resp.StatusCode)
	}
	for _, open := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if resp, _ := do(t, srv, "GET", open, "", ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d", open, resp.StatusCode)
		}
	}
}

func TestBadInputIs400ProblemNamingTheField(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	cases := []struct{ name, body, field string }{
		{"empty body", ``, "body"},
		{"malformed", `{"item": {`, "body"},
		{"not an object", `[1,2]`, "body"},
		{"trailing data", okItem + `{}`, "body"},
		{"unknown field", `{"item":{"category":"phone","model":"x","condition":"good"},"colour":"red"}`, "colour"},
		{"unknown item field", `{"item":{"category":"phone","model":"x","condition":"good","size":"xl"}}`, "item.size"},
		{"unknown car field", `{"item":{"category":"car","car":{"type_id":"52","city_id":"1","first_registration":"2022-01","mileage_km":1000,"milage":3,"accident":0,"appearance":0,"interior":0,"electrical":0,"engine":0}}}`, "item.car.milage"},
		{"car without mileage", `{"item":{"category":"car","car":{"type_id":"52","city_id":"1","first_registration":"2022-01","color":"white","accident":0,"appearance":0,"interior":0,"electrical":0,"engine":0}}}`, "item.car.mileage_km"},
		{"wrong type", `{"item":{"category":"phone","model":"x","condition":"good","storage":256}}`, "item.storage"},
		{"missing category", `{"item":{"model":"x","condition":"good"}}`, "item.category"},
		{"unknown category", `{"item":{"category":"spaceship","model":"x","condition":"good"}}`, "item.category"},
		{"missing model", `{"item":{"category":"phone","condition":"good"}}`, "item.model"},
		{"missing condition", `{"item":{"category":"phone","model":"x"}}`, "item.condition"},
		{"bad condition", `{"item":{"category":"phone","model":"x","condition":"shiny"}}`, "item.condition"},
		{"score out of range", `{"item":{"category":"phone","model":"x","condition":"good","condition_score":11}}`, "item.condition_score"},
		{"unknown issue", `{"item":{"category":"phone","model":"x","condition":"good","functional_issues":["haunted"]}}`, "item.functional_issues[0]"},
		{"car without car", `{"item":{"category":"car"}}`, "item.car"},
		{"car grade out of range", `{"item":{"category":"car","car":{"type_id":"52","city_id":"1","first_registration":"2022-01","mileage_km":1000,"accident":9,"appearance":0,"interior":0,"electrical":0,"engine":0}}}`, "item.car.accident"},
		{"future registration", `{"item":{"category":"car","car":{"type_id":"52","city_id":"1","first_registration":"2999-01","mileage_km":1000,"accident":0,"appearance":0,"interior":0,"electrical":0,"engine":0}}}`, "item.car.first_registration"},
		{"bad strategy", `{"item":{"category":"phone","model":"x","condition":"good"},"strategy":"cheapest"}`, "strategy"},
		{"unknown provider", `{"item":{"category":"phone","model":"x","condition":"good"},"providers":["nope"]}`, "providers[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", c.body)
			if resp.StatusCode != 400 || m["field"] != c.field || m["code"] != "invalid_argument" {
				t.Fatalf("%d %v, want 400 naming %s", resp.StatusCode, m, c.field)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if m["status"] != float64(400) || m["type"] == "" || m["title"] == "" {
				t.Fatalf("not RFC 9457: %v", m)
			}
		})
	}
}

func TestNoProviderForCategoryIs422(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", `{"item":{"category":"camera","model":"EOS R5","condition":"good"}}`)
	if resp.StatusCode != 422 || m["code"] != "unsupported" {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
}

func TestProviderPanicIsAnErrorNotACrash(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", `{"item":{"category":"phone","model":"`+faketest.ModelPanic+`","condition":"good"}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	if errs := m["errors"].([]any); len(errs) != 1 {
		t.Fatalf("%v", m)
	}
}

func TestProvidersAndCatalog(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	resp, m := do(t, srv, "GET", "/v1/providers", "acme-key-0123456789", "")
	ps := m["providers"].([]any)
	if resp.StatusCode != 200 || len(ps) != 1 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	p := ps[0].(map[string]any)
	if p["runtime"] != "in-process" || p["state"] != "ready" || p["version"] != "0.1.0" {
		t.Fatalf("%v", p)
	}
	resp, m = do(t, srv, "GET", "/v1/catalog/search?provider=p&q=iphone", "acme-key-0123456789", "")
	if resp.StatusCode != 200 || len(m["items"].([]any)) != 1 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	resp, m = do(t, srv, "GET", "/v1/catalog/search?q=iphone", "acme-key-0123456789", "")
	if resp.StatusCode != 400 || m["field"] != "provider" {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	resp, m = do(t, srv, "GET", "/v1/catalog/search?provider=p&page=zero", "acme-key-0123456789", "")
	if resp.StatusCode != 400 || m["field"] != "page" {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	resp, _ = do(t, srv, "GET", "/v1/catalog/items/p/m1", "acme-key-0123456789", "")
	if resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	resp, m = do(t, srv, "GET", "/v1/catalog/items/p/zz", "acme-key-0123456789", "")
	if resp.StatusCode != 404 || m["code"] != "not_found" {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	resp, _ = do(t, srv, "GET", "/v1/catalog/items/nope/m1", "acme-key-0123456789", "")
	if resp.StatusCode != 404 {
		t.Fatalf("%d", resp.StatusCode)
	}
	resp, _ = do(t, srv, "GET", "/v1/nothing", "acme-key-0123456789", "")
	if resp.StatusCode != 404 {
		t.Fatalf("%d", resp.StatusCode)
	}
}

func TestMetricsCountProviderCalls(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", okItem)
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(data, []byte(`recyclegate_provider_calls_total{op="quote",outcome="ok",provider="p"} 1`)) {
		t.Fatalf("metrics:\n%s", data)
	}
	if bytes.Contains(data, []byte("secret-p")) || bytes.Contains(data, []byte("acme-key-0123456789")) {
		t.Fatal("a secret appears in the metrics")
	}
}

func TestOpenAPIDocumentIsCommittedAndCoversEveryRoute(t *testing.T) {
	docs, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, api.OpenAPI) {
		t.Fatal("docs/openapi.json differs from core/api/openapi.json: copy one to the other")
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, route := range api.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
	}
}

func FuzzQuoteBody(f *testing.F) {
	f.Add(okItem)
	f.Add(`{"item":{"category":"car","car":{"first_registration":"2022-13"}}}`)
	f.Add(`{"item":null,"providers":[null]}`)
	h, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "t", APIKeys: []string{"k-0123456789abcdef"}}}},
		core.WithProvider(faketest.New("p", 1), map[string]string{"app_secret": "s"}))
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	handler := api.New(h)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/quotes", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k-0123456789abcdef")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code != 200 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("error without problem+json for %q", body)
		}
	})
}

var _ = sdk.CNY

// TestProfilerOnlyOnTheDebugListener: net/http/pprof is absent from the
// API's handler and present on the debug one (host.yaml debug_listen).
func TestProfilerOnlyOnTheDebugListener(t *testing.T) {
	srv := newServer(t, faketest.New("fake", 100))
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		resp, _ := do(t, srv, http.MethodGet, path, "acme-key-0123456789", "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("API %s: %d, want 404", path, resp.StatusCode)
		}
	}
	debug := httptest.NewServer(api.Debug(nil))
	t.Cleanup(debug.Close)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		resp, err := debug.Client().Get(debug.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("debug %s: %d, want 200", path, resp.StatusCode)
		}
	}
}
