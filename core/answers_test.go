package core_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// answerHost is a host with two in-process fakes, the policies in dir (none
// when empty) and a clock the test moves.
func answerHost(t *testing.T, dir string, g core.GuardConfig) (*core.Host, *faketest.Provider, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	fake := faketest.New("fake", 680000)
	h, err := core.New(core.Config{Policies: dir, Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}}},
		core.WithProvider(fake, map[string]string{"app_secret": testSecret}),
		core.WithProvider(faketest.New("other", 650000), map[string]string{"app_secret": testSecret}),
		core.WithGuards("fake", g), core.WithClock(clock.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, fake, clock
}

func askFake(t *testing.T, h *core.Host, tenant, model string) *core.QuoteResult {
	t.Helper()
	res, err := h.Quote(context.Background(), &core.Tenant{ID: tenant}, &core.QuoteRequest{Item: phone(model), Providers: []string{"fake"}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAnIdenticalRequestReusesItsAnswerUntilItsTTL(t *testing.T) {
	h, fake, clock := answerHost(t, "", core.GuardConfig{})
	first := askFake(t, h, "t1", "iPhone 13")
	if again := askFake(t, h, "t1", "iPhone 13"); again != first {
		t.Fatal("an identical request within the TTL was decided again")
	}
	if other := askFake(t, h, "t2", "iPhone 13"); other == first {
		t.Fatal("another tenant got the first tenant's answer")
	}
	if n := metric(t, h, "recyclegate_quote_cache_total", map[string]string{"provider": "fake", "result": "hit"}); n != 2 {
		t.Errorf("cache hits %v, want 2 (the reused answer, and the other tenant's quote from the cache)", n)
	}
	clock.Set(clock.Now().Add(core.DefaultAnswerTTL))
	if later := askFake(t, h, "t1", "iPhone 13"); later == first {
		t.Fatal("an answer outlived its TTL")
	}
	if n := fake.Calls.Load(); n != 1 {
		t.Errorf("provider called %d times, want 1 (every other answer from the cache)", n)
	}
}

func TestAReusedAnswerFollowsAPolicyReload(t *testing.T) {
	dir := policyDir(t, routeTo("other"))
	h, _, _ := answerHost(t, dir, core.GuardConfig{})
	ask := func() *core.QuoteResult {
		res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone("iPhone 13")})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := ask(); len(res.Quotes) != 1 || res.Quotes[0].Provider != "other" {
		t.Fatalf("quotes %+v", res.Quotes)
	}
	writePolicy(t, filepath.Join(dir, "policy.yaml"), routeTo("fake"))
	if changed, err := h.ReloadPolicies(); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if res := ask(); len(res.Quotes) != 1 || res.Quotes[0].Provider != "fake" {
		t.Fatalf("after the reload the request was answered as before: %+v", res.Quotes)
	}
}

func routeTo(id string) string {
	return "routing:\n  - name: phones\n    when: request.item.category == 'phone'\n    providers: [" + id + "]\ndefault:\n  providers: [\"*\"]\n"
}

func TestAReusedAnswerFollowsABreaker(t *testing.T) {
	h, _, _ := answerHost(t, "", core.GuardConfig{Retry: core.RetryConfig{Attempts: 1},
		Breaker: core.BreakerConfig{Failures: 1, OpenFor: time.Hour}})
	first := askFake(t, h, "t1", "iPhone 13")
	if res := askFake(t, h, "t1", faketest.ModelFail); len(res.Errors) != 1 {
		t.Fatalf("failing model: %+v", res)
	}
	if again := askFake(t, h, "t1", "iPhone 13"); again == first {
		t.Fatal("an answer decided with a closed breaker was reused after it opened")
	}
}

func TestAnswersAreNotReusedWhenTheQuoteCacheIsOff(t *testing.T) {
	h, fake, _ := answerHost(t, "", core.GuardConfig{CacheTTL: -1})
	askFake(t, h, "t1", "iPhone 13")
	askFake(t, h, "t1", "iPhone 13")
	if n := fake.Calls.Load(); n != 2 {
		t.Errorf("provider called %d times, want 2: its operator turned the cache off", n)
	}
}

func TestAnAnswerWithAnErrorIsNotReused(t *testing.T) {
	h, fake, _ := answerHost(t, "", core.GuardConfig{Retry: core.RetryConfig{Attempts: 1}})
	for range 2 {
		res, err := h.Quote(context.Background(), &core.Tenant{ID: "t1"},
			&core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: faketest.ModelFail, Storage: "256GB", Condition: sdk.ConditionGood},
				Providers: []string{"fake"}})
		if err != nil || len(res.Errors) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
	}
	if n := fake.Calls.Load(); n != 2 {
		t.Errorf("provider called %d times, want 2", n)
	}
}

func TestTheSameBytesAreAnsweredWithoutDecoding(t *testing.T) {
	h, fake, _ := answerHost(t, "", core.GuardConfig{})
	body := []byte(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"256GB","condition":"good"},"providers":["fake"]}`)
	decoded := 0
	decode := func(b []byte) func(*core.QuoteRequest) error {
		return func(req *core.QuoteRequest) error {
			decoded++
			return json.Unmarshal(b, req)
		}
	}
	first, err := h.QuoteBody(context.Background(), &core.Tenant{ID: "t1"}, body, decode(body))
	if err != nil || len(first.Quotes) != 1 {
		t.Fatalf("%v %+v", err, first)
	}
	again, err := h.QuoteBody(context.Background(), &core.Tenant{ID: "t1"}, body, decode(body))
	if err != nil || again != first || decoded != 1 {
		t.Fatalf("the same bytes: decoded %d times, reused %v (%v)", decoded, again == first, err)
	}
	if _, err := h.QuoteBody(context.Background(), &core.Tenant{ID: "t2"}, body, decode(body)); err != nil || decoded != 2 {
		t.Fatalf("another tenant's same bytes were not decoded (%d, %v)", decoded, err)
	}
	spaced := append([]byte(" "), body...)
	if res, err := h.QuoteBody(context.Background(), &core.Tenant{ID: "t1"}, spaced, decode(spaced)); err != nil || res != first || decoded != 3 {
		t.Fatalf("the same request in other bytes: decoded %d, reused %v (%v)", decoded, res == first, err)
	}
	bad := []byte(`{"item":{}}`)
	if _, err := h.QuoteBody(context.Background(), &core.Tenant{ID: "t1"}, bad, decode(bad)); sdk.CodeOf(err) != sdk.CodeInvalidArgument {
		t.Fatalf("bad input: %v", err)
	}
	if n := fake.Calls.Load(); n != 1 {
		t.Errorf("provider called %d times, want 1", n)
	}
}
