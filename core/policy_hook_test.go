package core_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

const testPolicies = `
compliance:
  - name: tenant-category
    when: request.item.category != '' && !(request.item.category in tenant.categories)
    message_expression: "'your account is not entitled to quotes for category ' + request.item.category"
  - name: tenant-providers
    when: request.providers.exists(p, !(p in tenant.providers))
    message_expression: "'your account is not entitled to provider ' + request.providers.filter(p, !(p in tenant.providers))[0]"
routing:
  - name: phones
    when: request.item.category == 'phone'
    providers: [other]
default:
  providers: ["*"]
filters:
  - name: no-fake-quotes
    when: quote.provider == 'fake' && tenant.attributes['drop'] == 'fake'
    message: fake quotes are hidden
`

// newPolicyHost starts a host with two in-process fakes (fake quotes 6800
// yuan, other 6500) and the policies in dir.
func newPolicyHost(t *testing.T, dir string, tenants ...core.TenantConfig) (*core.Host, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if len(tenants) == 0 {
		tenants = []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}}
	}
	cfg := core.Config{Tenants: tenants, Policies: dir}
	h, err := core.New(cfg,
		core.WithProvider(faketest.New("fake", 680000), map[string]string{"app_secret": testSecret}),
		core.WithProvider(faketest.New("other", 650000), map[string]string{"app_secret": testSecret}),
		core.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(h.Close)
	return h, logs
}

func policyDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	writePolicy(t, filepath.Join(dir, "policy.yaml"), src)
	return dir
}

func writePolicy(t *testing.T, path, src string) {
	t.Helper()
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyRoutesAndExplains(t *testing.T) {
	h, logs := newPolicyHost(t, policyDir(t, testPolicies))
	res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone("iPhone 14 Pro"), Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Quotes) != 1 || res.Quotes[0].Provider != "other" || res.Route.Rule != "policy: phones" {
		t.Fatalf("quotes %+v route %+v", res.Quotes, res.Route)
	}
	ex := res.Explain
	st, _ := h.PolicyStatus()
	if ex == nil || ex.Revision != st.Revision || ex.Route.Rule != "phones" || len(ex.Rules) != 1 || ex.Rules[0].Outcome != "routed" {
		t.Fatalf("explain %+v", ex)
	}
	if !strings.Contains(logs.String(), `"msg":"policy decision"`) || !strings.Contains(logs.String(), `"route_rule":"phones"`) {
		t.Errorf("no decision log:\n%s", logs)
	}
	// Without explain, none.
	res, err = h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone("iPhone 14 Pro")})
	if err != nil || res.Explain != nil {
		t.Fatalf("%v %+v", err, res.Explain)
	}
}

func TestPolicyComplianceDenies(t *testing.T) {
	h, _ := newPolicyHost(t, policyDir(t, testPolicies),
		core.TenantConfig{ID: "shop", APIKeys: []string{"k-0123456789abcdef"}, Categories: []string{"tablet"}, Providers: []string{"fake"}})
	shop := &core.Tenant{ID: "shop"}
	_, err := h.Quote(context.Background(), shop, &core.QuoteRequest{Item: phone("iPhone 14 Pro")})
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != sdk.CodeForbidden || e.Message != "your account is not entitled to quotes for category phone" {
		t.Fatalf("err = %#v", err)
	}
	// A tenant cannot name a provider it is not entitled to.
	tablet := phone("iPad Pro")
	tablet.Category = sdk.CategoryTablet
	_, err = h.Quote(context.Background(), shop, &core.QuoteRequest{Item: tablet, Providers: []string{"other"}})
	if !errors.As(err, &e) || e.Code != sdk.CodeForbidden || e.Message != "your account is not entitled to provider other" {
		t.Fatalf("err = %#v", err)
	}
	// The default route sends it only to what it is entitled to.
	res, err := h.Quote(context.Background(), shop, &core.QuoteRequest{Item: tablet, Explain: true})
	if err != nil || len(res.Quotes) != 1 || res.Quotes[0].Provider != "fake" {
		t.Fatalf("%v %+v", err, res)
	}
	var why string
	for _, c := range res.Explain.Route.Choices {
		if c.ID == "other" {
			why = c.Reason
		}
	}
	if why != "the tenant is not entitled to it" {
		t.Errorf("explain choices %+v", res.Explain.Route.Choices)
	}
}

func TestPolicyFilterDropsAQuote(t *testing.T) {
	h, _ := newPolicyHost(t, policyDir(t, testPolicies),
		core.TenantConfig{ID: "t1", APIKeys: []string{"k-0123456789abcdef"}, Attributes: map[string]string{"drop": "fake"}})
	tablet := phone("iPad Pro")
	tablet.Category = sdk.CategoryTablet
	res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: tablet, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Quotes) != 1 || res.Quotes[0].Provider != "other" || res.Best == nil || res.Best.Provider != "other" {
		t.Fatalf("quotes %+v best %+v", res.Quotes, res.Best)
	}
	d := res.Explain.Dropped
	if len(d) != 1 || d[0].Provider != "fake" || d[0].Rule != "no-fake-quotes" || d[0].Message != "fake quotes are hidden" {
		t.Fatalf("dropped %+v", d)
	}
}

func TestTenantEntitlementsNeedPolicies(t *testing.T) {
	_, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "t", APIKeys: []string{"k-0123456789abcdef"}, Tier: "free"}}})
	if err == nil || !strings.Contains(err.Error(), "enforced by policies") {
		t.Fatalf("err = %v", err)
	}
	_, err = core.New(core.Config{Tenants: []core.TenantConfig{{ID: "t", APIKeys: []string{"k-0123456789abcdef"}, Categories: []string{"boats"}}}, Policies: "x"})
	if err == nil || !strings.Contains(err.Error(), `tenants[0].categories[0]: unknown category "boats"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestABrokenPolicyDirectoryStopsNew(t *testing.T) {
	dir := policyDir(t, "routing:\n  - name: x\n    when: request.itm.category == 'phone'\n    providers: [fake]\n")
	_, err := core.New(core.Config{Policies: dir}, core.WithProvider(faketest.New("fake", 1), map[string]string{"app_secret": testSecret}))
	if err == nil || !strings.Contains(err.Error(), "policy.yaml:3:18: rule x: when: undefined field 'itm'") {
		t.Fatalf("err = %v", err)
	}
}

// TestPolicyHotReloadUnderLoad edits the routing rule while quotes are
// served: within a second the new rule routes, no quote fails because of
// the swap, and a broken edit is refused while the policy in force stays.
func TestPolicyHotReloadUnderLoad(t *testing.T) {
	dir := policyDir(t, testPolicies)
	h, logs := newPolicyHost(t, dir)
	var stop atomic.Bool
	var served, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone("iPhone 14 Pro")})
				served.Add(1)
				if err != nil || len(res.Quotes) != 1 {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	providerOf := func() string {
		res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone("iPhone 14 Pro")})
		if err != nil || len(res.Quotes) == 0 {
			return ""
		}
		return res.Quotes[0].Provider
	}
	if p := providerOf(); p != "other" {
		t.Fatalf("routed to %q", p)
	}
	start := time.Now()
	writePolicy(t, filepath.Join(dir, "policy.yaml"), strings.Replace(testPolicies, "providers: [other]", "providers: [fake]", 1))
	for providerOf() != "fake" {
		if time.Since(start) > time.Second {
			t.Fatal("the edited routing rule is not in force within a second")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("the edit routed after %s", time.Since(start))
	before, _ := h.PolicyStatus()

	// A broken edit: refused, the policy in force stays, the error shows.
	writePolicy(t, filepath.Join(dir, "policy.yaml"), strings.Replace(testPolicies, "request.item.category == 'phone'", "request.item.category == 7", 1))
	eventually(t, 2*time.Second, "the refusal shows in the status", func() bool {
		st, _ := h.PolicyStatus()
		return st.LastError != nil
	})
	st, _ := h.PolicyStatus()
	if st.Revision != before.Revision || len(st.LastError.Diagnostics) != 1 || st.LastError.Diagnostics[0].Line != 11 {
		t.Fatalf("status %+v", st)
	}
	if p := providerOf(); p != "fake" {
		t.Fatalf("after a refused edit, routed to %q", p)
	}
	if !strings.Contains(logs.String(), "policy change refused") {
		t.Error("the refusal is not logged")
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d quotes failed during the swaps: %v", failed.Load(), served.Load(), failures[:min(3, len(failures))])
	}
	t.Logf("%d quotes served during the edits, none failed", served.Load())
}

// An order's provider is resolved before anything is decided: one that
// takes no orders is refused as such, before the policies are asked
// (the order's compliance decision is in tenants_test.go).
func TestAnOrderAtAProviderThatTakesNoOrders(t *testing.T) {
	h, _ := newPolicyHost(t, policyDir(t, testPolicies),
		core.TenantConfig{ID: "shop", APIKeys: []string{"k-0123456789abcdef"}, Providers: []string{"fake"}})
	_, err := h.CreateOrder(context.Background(), &core.Tenant{ID: "shop"}, "order-key-0001",
		&core.CreateOrderRequest{Provider: "other", QuoteID: "other-q1", Customer: recycle.Customer{Name: "张三", Phone: "138****6789", Address: "上海市徐汇区漕溪北路 1 号"}})
	if e := sdk.AsError(err); e.Code != sdk.CodeUnsupported || e.Field != "provider" {
		t.Fatalf("err = %#v", err)
	}
}

func TestPolicyReadsTheGuardsLiveState(t *testing.T) {
	// fake may be asked while it has quota left today; then the default.
	dir := policyDir(t, `
routing:
  - name: while-quota-lasts
    when: candidates.exists(p, p.id == 'fake' && p.quota_remaining > 0 && p.breaker == 'closed')
    providers: [fake]
default:
  providers: [other]
`)
	cfg := core.Config{Policies: dir, Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}}}
	h, err := core.New(cfg,
		core.WithProvider(faketest.New("fake", 680000), map[string]string{"app_secret": testSecret}),
		core.WithProvider(faketest.New("other", 650000), map[string]string{"app_secret": testSecret}),
		core.WithGuards("fake", core.GuardConfig{DailyQuota: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	var got []string
	for i := range 3 {
		res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone("iPhone " + string(rune('A'+i)))})
		if err != nil || len(res.Quotes) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
		got = append(got, res.Quotes[0].Provider)
	}
	if strings.Join(got, ",") != "fake,fake,other" {
		t.Fatalf("routed to %v; want fake twice (its quota is 2), then other", got)
	}
}

// TestPolicyLimitsComeFromTheConfig: policy_limits reaches the engine: a
// directory over max_rules is refused at start, naming the key to raise.
func TestPolicyLimitsComeFromTheConfig(t *testing.T) {
	cfg := core.Config{Policies: policyDir(t, testPolicies), PolicyLimits: core.PolicyLimits{MaxRules: 2},
		Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}}}
	_, err := core.New(cfg, core.WithProvider(faketest.New("fake", 1), map[string]string{"app_secret": testSecret}),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), "policy_limits.max_rules") {
		t.Fatalf("a set of 4 rules with max_rules 2: %v", err)
	}
}

// TestProviderNoRouteReachesIsAWarningAtLoad: a loaded provider that no
// routing rule and no default can ever ask is named in a warning when the
// policies load, and again on each reload that keeps it out.
func TestProviderNoRouteReachesIsAWarningAtLoad(t *testing.T) {
	dir := policyDir(t, "routing:\n  - name: phones\n    when: request.item.category == 'phone'\n    providers: [other]\ndefault:\n  providers: [other]\n")
	_, logs := newPolicyHost(t, dir)
	out := logs.String()
	if !strings.Contains(out, `"level":"WARN","msg":"provider fake is never asked for a quote: no routing rule names it`) {
		t.Fatalf("no warning for fake:\n%s", out)
	}
	if strings.Contains(out, "provider other is never asked") {
		t.Fatalf("other is routed:\n%s", out)
	}
	// The shipped kind of policies, with "*" in the default, warns of none.
	_, logs = newPolicyHost(t, policyDir(t, testPolicies))
	if strings.Contains(logs.String(), "is never asked") {
		t.Fatalf("a warning with \"*\" in the default:\n%s", logs.String())
	}
}
