package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"

	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// secureServer is the API for tenant acme over cfg (tenants filled in).
func secureServer(t *testing.T, cfg core.Config, opts ...any) (*httptest.Server, *core.Host) {
	t.Helper()
	cfg.Tenants = append(cfg.Tenants, core.TenantConfig{ID: "acme", APIKeys: []string{"acme-key-0123456789"}})
	copts := []core.Option{core.WithProvider(faketest.New("fake", 100), map[string]string{"app_secret": "secret-fake"})}
	var aopts []api.Option
	for _, o := range opts {
		switch o := o.(type) {
		case core.Option:
			copts = append(copts, o)
		case api.Option:
			aopts = append(aopts, o)
		}
	}
	h, err := core.New(cfg, copts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(api.New(h, aopts...))
	t.Cleanup(srv.Close)
	apitest.Check(t, srv)
	return srv, h
}

// Finding 6: 2,000 wrong keys in 0.6 s, all 401, no slowdown. Past 20
// failures a minute an address is answered 429 with Retry-After, while a
// valid key from the same address still gets in.
func TestWrongKeysAreSlowedPerAddressNeverAValidOne(t *testing.T) {
	c := sandboxkit.NewManualClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	srv, _ := secureServer(t, core.Config{}, api.WithClock(c.Now))
	for i := range 20 {
		if resp, _ := do(t, srv, "GET", "/v1/providers", "wrong-key-0123456789", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, body := do(t, srv, "GET", "/v1/providers", "wrong-key-0123456789", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" || body["limit"] != "auth" {
		t.Fatalf("the 21st failure: %d Retry-After %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := do(t, srv, "GET", "/v1/providers", "acme-key-0123456789", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("a valid key while the address is slowed: %d", resp.StatusCode)
	}
	c.Advance(time.Minute)
	if resp, _ := do(t, srv, "GET", "/v1/providers", "wrong-key-0123456789", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a minute later: %d, want 401", resp.StatusCode)
	}
}

// The limit is host.yaml's auth.max_failures_per_minute; negative: none.
func TestTheFailedKeyLimitIsConfigurable(t *testing.T) {
	srv, _ := secureServer(t, core.Config{Auth: core.AuthConfig{MaxFailuresPerMinute: 2}})
	for i, want := range []int{401, 401, 429} {
		if resp, _ := do(t, srv, "GET", "/v1/providers", "wrong-key-0123456789", ""); resp.StatusCode != want {
			t.Fatalf("failure %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	off, _ := secureServer(t, core.Config{Auth: core.AuthConfig{MaxFailuresPerMinute: -1}})
	for i := range 30 {
		if resp, _ := do(t, off, "GET", "/v1/providers", "wrong-key-0123456789", ""); resp.StatusCode != 401 {
			t.Fatalf("failure %d without a limit: %d", i+1, resp.StatusCode)
		}
	}
}

// Finding 8: two Authorization headers, the first won.
func TestASecondAuthorizationHeaderIsRefused(t *testing.T) {
	srv, _ := secureServer(t, core.Config{})
	req, _ := http.NewRequest("GET", srv.URL+"/v1/providers", nil)
	req.Header.Add("Authorization", "Bearer acme-key-0123456789")
	req.Header.Add("Authorization", "Bearer someone-elses-key-0123")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("two Authorization headers: %d, want 400", resp.StatusCode)
	}
}

// Finding 8: no X-Content-Type-Options nor Cache-Control: no-store on
// answers that carry tenant data.
func TestAnswersSayNosniffAndTenantDataIsNotStored(t *testing.T) {
	srv, _ := secureServer(t, core.Config{})
	for _, c := range []struct {
		path, key string
		noStore   bool
	}{
		{"/healthz", "", false},
		{"/openapi.json", "", false},
		{"/v1/providers", "acme-key-0123456789", true},
		{"/v1/orders", "acme-key-0123456789", true},
		{"/v1/audit", "acme-key-0123456789", true},
		{"/v1/orders", "", true}, // a 401 of a tenant route
		{"/nowhere", "", false},
	} {
		resp, _ := do(t, srv, "GET", c.path, c.key, "")
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.path, resp.Header.Get("X-Content-Type-Options"))
		}
		if got := resp.Header.Get("Cache-Control") == "no-store"; got != c.noStore {
			t.Errorf("%s: Cache-Control %q", c.path, resp.Header.Get("Cache-Control"))
		}
	}
}

// Finding 8: a 100 KB id was echoed twice in a 404.
func TestAnOverlongIDIsRefusedAndNotEchoed(t *testing.T) {
	srv, _ := secureServer(t, core.Config{})
	id := "x" + strings.Repeat("0123456789", 10000)
	for _, path := range []string{"/v1/orders/" + id, "/v1/orders/" + id + "/tracking", "/v1/trade-ins/" + id, "/v1/catalog/items/fake/" + id, "/v1/catalog/search?provider=" + id} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer acme-key-0123456789")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), id[:200]) || len(body) > 2000 {
			t.Fatalf("%d bytes of path: %d, %d bytes of answer", len(path), resp.StatusCode, len(body))
		}
	}
}

// Finding 8: /metrics told anyone the Go version and quota left. It can
// move to the debug listener, or be off.
func TestMetricsCanLeaveTheAPIListener(t *testing.T) {
	for _, c := range []struct {
		metrics      string
		api, onDebug int
	}{{"", 200, 404}, {"debug", 404, 200}, {"off", 404, 404}} {
		cfg := core.Config{Metrics: c.metrics}
		if c.metrics == "debug" {
			cfg.DebugListen = "127.0.0.1:0"
		}
		srv, h := secureServer(t, cfg)
		if resp, _ := do(t, srv, "GET", "/metrics", "", ""); resp.StatusCode != c.api {
			t.Errorf("metrics %q: API /metrics %d, want %d", c.metrics, resp.StatusCode, c.api)
		}
		rec := httptest.NewRecorder()
		api.Debug(h).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != c.onDebug {
			t.Errorf("metrics %q: debug /metrics %d, want %d", c.metrics, rec.Code, c.onDebug)
		}
	}
}

// Finding 7: no per-tenant budget, no way to read one's usage. The
// tenant's daily budget refuses its third call, the 429 says it is the
// tenant's limit, and GET /v1/usage shows what was spent: a tenant its
// own, an admin everyone's.
func TestATenantsBudgetAndUsage(t *testing.T) {
	cfg := core.Config{Tenants: []core.TenantConfig{
		{ID: "small", APIKeys: []string{"small-key-0123456789"}, Budget: &core.TenantBudget{PerDay: "2.00"}},
		{ID: "ops", APIKeys: []string{"ops-key-0123456789ab"}, Admin: true},
	}}
	srv, _ := secureServer(t, cfg, core.WithGuards("fake", core.GuardConfig{CostPerCall: "1.00"}))
	for i, want := range []int{200, 200, 429} {
		resp, body := do(t, srv, "GET", "/v1/catalog/search?provider=fake&q=x"+strings.Repeat("y", i), "small-key-0123456789", "")
		if resp.StatusCode != want {
			t.Fatalf("search %d: %d %v, want %d", i+1, resp.StatusCode, body, want)
		}
		if want == 429 && (body["limit"] != "tenant" || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("the refusal does not say whose limit: %v", body)
		}
	}
	// acme has no budget: the provider is not spent for it.
	if resp, _ := do(t, srv, "GET", "/v1/catalog/search?provider=fake&q=x", "acme-key-0123456789", ""); resp.StatusCode != 200 {
		t.Fatalf("acme: %d", resp.StatusCode)
	}
	_, body := do(t, srv, "GET", "/v1/usage", "small-key-0123456789", "")
	tenants, _ := body["tenants"].([]any)
	if len(tenants) != 1 {
		t.Fatalf("small's usage: %v", body)
	}
	u := tenants[0].(map[string]any)
	p := u["providers"].([]any)[0].(map[string]any)
	if u["tenant"] != "small" || p["calls_today"] != float64(2) || u["spent_today"].(map[string]any)["amount"] != float64(200) {
		t.Fatalf("small's usage: %v", u)
	}
	if resp, _ := do(t, srv, "GET", "/v1/usage?tenant=acme", "small-key-0123456789", ""); resp.StatusCode != 403 {
		t.Fatalf("small reading acme's usage: %d", resp.StatusCode)
	}
	_, body = do(t, srv, "GET", "/v1/usage", "ops-key-0123456789ab", "")
	if tenants, _ := body["tenants"].([]any); len(tenants) != 3 {
		t.Fatalf("the admin's view: %v", body)
	}
}
