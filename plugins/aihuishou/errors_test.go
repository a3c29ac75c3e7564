package aihuishou

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

var iphone = phone("iPhone 14 Pro", "256GB", sdk.ConditionExcellent)

func TestBadCredentials(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	cases := map[string]map[string]string{
		"wrong secret":   {"app_id": sandbox.DemoAppID, "app_secret": "not-the-secret"},
		"unknown app_id": {"app_id": "who-is-this", "app_secret": sandbox.DemoAppSecret},
	}
	for name, kv := range cases {
		t.Run(name, func(t *testing.T) {
			kv["base_url"], kv["open_url"] = e.srv.URL, e.srv.URL
			a := New()
			a.Now = e.clock.Now
			configure(t, a, kv)
			for _, detail := range []bool{false, true} {
				_, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone, Detail: detail})
				se := wantCode(t, err, sdk.CodeUnauthenticated)
				if strings.Contains(se.Error(), kv["app_secret"]) {
					t.Error("the secret leaked into the error")
				}
			}
		})
	}
}

func TestSkewedClock(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	for _, skew := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
		e.a.Now = func() time.Time { return e.clock.Now().Add(skew) }
		for _, detail := range []bool{false, true} {
			_, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone, Detail: detail})
			se := wantCode(t, err, sdk.CodeInvalidArgument)
			if !strings.Contains(se.Message, "clock") || se.ProviderCode != "40002" {
				t.Errorf("skew %s: %v does not point at the clock", skew, err)
			}
		}
	}
	// Within five minutes, and in any zone, the call goes through.
	e.a.Now = func() time.Time { return e.clock.Now().Add(4 * time.Minute).In(time.UTC) }
	if _, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone}); err != nil {
		t.Fatalf("4 minutes of skew, UTC host: %v", err)
	}
}

func TestQuotaRunsOutAndResetsAtChinaMidnight(t *testing.T) {
	e := newEnv(t, sandbox.Options{Accounts: map[string]sandbox.Account{sandbox.DemoAppID: {Secret: sandbox.DemoAppSecret, DailyQuota: 3}}})
	for i := 0; i < 3; i++ {
		if _, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone, Detail: i%2 == 0}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone})
	if se := wantCode(t, err, sdk.CodeQuotaExhausted); se.Retryable {
		t.Error("a spent daily quota is not retryable")
	}
	// 23:59:59 UTC+8 is still the same day; 00:00 is a new one.
	e.clock.Set(time.Date(2025, 3, 10, 23, 59, 59, 0, sdk.ChinaTime))
	_, err = e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone, Detail: true})
	wantCode(t, err, sdk.CodeQuotaExhausted)
	e.clock.Set(time.Date(2025, 3, 11, 0, 0, 0, 0, sdk.ChinaTime))
	if _, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone}); err != nil {
		t.Fatalf("after midnight UTC+8: %v", err)
	}
}

func TestRateLimited(t *testing.T) {
	e := newEnv(t, sandbox.Options{QPS: 5})
	var last error
	for i := 0; i < 8 && last == nil; i++ {
		_, last = e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone})
	}
	se := wantCode(t, last, sdk.CodeRateLimited)
	if !se.Retryable || se.RetryAfter < time.Second {
		t.Errorf("rate limit %+v: want retryable with Retry-After", se)
	}
}

func TestPermissions(t *testing.T) {
	e := newEnv(t, sandbox.Options{Accounts: map[string]sandbox.Account{
		sandbox.DemoAppID: {Secret: sandbox.DemoAppSecret, Brands: []string{"华为"}, DenyBatch: true}}})
	_, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone})
	wantCode(t, err, sdk.CodeForbidden)
	_, err = e.a.QuoteBatch(ctx(t), &sdk.QuoteBatchRequest{Items: []sdk.Item{iphone}})
	wantCode(t, err, sdk.CodeForbidden)
	mate := sdk.Item{Category: sdk.CategoryPhone, Brand: "Huawei", Model: "Mate 60 Pro", Storage: "512GB", Condition: sdk.ConditionGood}
	if _, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: mate}); err != nil {
		t.Fatalf("a brand in scope: %v", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults sandboxkit.Faults
		code   sdk.Code
		retry  bool
	}{
		{"500", sandboxkit.Faults{ErrorRate: 1}, sdk.CodeProviderError, true},
		{"503", sandboxkit.Faults{ErrorRate: 1, ErrorStatus: 503}, sdk.CodeUnavailable, true},
		{"404 on a path", sandboxkit.Faults{ErrorRate: 1, ErrorStatus: 404}, sdk.CodeNotFound, false},
		{"malformed", sandboxkit.Faults{MalformedRate: 1}, sdk.CodeProviderError, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sandbox.Options{})
			if err := e.sb.Kit().SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			for _, detail := range []bool{false, true} {
				_, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone, Detail: detail})
				if se := wantCode(t, err, tc.code); se.Retryable != tc.retry {
					t.Errorf("retryable %v, want %v", se.Retryable, tc.retry)
				}
			}
		})
	}
	t.Run("hang until the deadline", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		_ = e.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1})
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := e.a.Quote(c, &sdk.QuoteRequest{Item: iphone})
		if se := wantCode(t, err, sdk.CodeDeadlineExceeded); !se.Retryable {
			t.Error("a deadline is retryable")
		}
	})
	t.Run("configured timeout", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		_ = e.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1})
		kv := e.sb.AdapterConfig(e.srv.URL)
		kv["timeout"] = "50ms"
		configure(t, e.a, kv)
		_, err := e.a.Quote(context.Background(), &sdk.QuoteRequest{Item: iphone})
		wantCode(t, err, sdk.CodeDeadlineExceeded)
	})
	t.Run("provider down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		a := New()
		configure(t, a, map[string]string{"base_url": url, "open_url": url, "app_id": "x", "app_secret": "y"})
		_, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: iphone})
		wantCode(t, err, sdk.CodeUnavailable)
	})
}

func TestNotConfigured(t *testing.T) {
	_, err := New().Quote(ctx(t), &sdk.QuoteRequest{Item: iphone})
	wantCode(t, err, sdk.CodeUnavailable)
}

func TestConfigure(t *testing.T) {
	base := map[string]string{"app_id": "a", "app_secret": "s"}
	cases := []struct {
		name  string
		extra map[string]string
		quota int64
		field string
	}{
		{"defaults to test access", nil, 100, ""},
		{"commercial access", map[string]string{"access": "commercial"}, 2000, ""},
		{"daily_quota overrides", map[string]string{"access": "commercial", "daily_quota": "500"}, 500, ""},
		{"bad access", map[string]string{"access": "vip"}, 0, "access"},
		{"bad quota", map[string]string{"daily_quota": "-1"}, 0, "daily_quota"},
		{"bad url", map[string]string{"base_url": "ftp://x"}, 0, "base_url"},
		{"bad timeout", map[string]string{"timeout": "soon"}, 0, "timeout"},
		{"unknown key", map[string]string{"qps": "9"}, 0, "qps"},
		{"no app_id", map[string]string{"app_id": ""}, 0, "app_id"},
		{"no secret", map[string]string{"app_secret": ""}, 0, "app_secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &sdk.ConfigureRequest{Config: map[string]string{"app_id": base["app_id"]}, Secrets: map[string]string{"app_secret": base["app_secret"]}}
			for k, v := range tc.extra {
				if k == "app_secret" {
					req.Secrets[k] = v
				} else {
					req.Config[k] = v
				}
			}
			res, err := New().Configure(context.Background(), req)
			if tc.field != "" {
				if se := wantCode(t, err, sdk.CodeInvalidArgument); se.Field != tc.field {
					t.Errorf("field %q, want %q", se.Field, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := res.Manifest
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			if m.Limits.DailyQuota != tc.quota || m.Limits.QPS != 5 || m.Limits.MaxConcurrency != 5 || m.Limits.MaxBatch != 50 ||
				m.Limits.QuoteCacheTTL.D() != 10*time.Minute || m.Limits.QuoteValidity.D() != 48*time.Hour {
				t.Errorf("limits %+v", m.Limits)
			}
			if len(m.Capabilities) != len(sdk.AllCapabilities) || len(m.Categories) != 5 {
				t.Errorf("capabilities %v categories %v", m.Capabilities, m.Categories)
			}
			if m.SecretNames()[0] != "app_secret" {
				t.Errorf("secrets %v", m.SecretNames())
			}
		})
	}
}
