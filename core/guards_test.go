package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// testClock is the host's clock in guard tests: quota days move with it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// webSetup is a host running the web provider as a plugin process against
// a sandbox on loopback.
type webSetup struct {
	cfg   core.Config
	opts  []core.Option
	sb    *faketest.Sandbox
	logs  *logBuffer
	clock *testClock
}

func newWebSetup(t *testing.T, g core.GuardConfig) *webSetup {
	t.Helper()
	sb, err := faketest.StartSandbox(12345)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	s := &webSetup{sb: sb, logs: &logBuffer{}, clock: &testClock{t: time.Now()}}
	s.cfg = core.Config{
		Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}, {ID: "t2", APIKeys: []string{"key-2-0123456789ab"}}},
		Providers: []core.ProviderConfig{{ID: "web", Runtime: core.RuntimeBuiltin, Guards: g,
			Config: map[string]string{"base_url": sb.URL()}}},
	}
	s.opts = []core.Option{core.WithBuiltin("web", core.BuiltinCommand("web")), core.WithClock(s.clock.Now),
		core.WithLogger(slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}
	return s
}

func (s *webSetup) start(t *testing.T) *core.Host {
	t.Helper()
	h, err := core.New(s.cfg, s.opts...)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// ask quotes one model at the web provider; perr is its error, if any.
func ask(h *core.Host, tenant, model string, timeout time.Duration) (q *sdk.Quote, perr *core.ProviderError, took time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	res, err := h.Quote(ctx, &core.Tenant{ID: tenant}, &core.QuoteRequest{Item: phone(model), Providers: []string{"web"}})
	took = time.Since(start)
	if err != nil {
		return nil, &core.ProviderError{Code: sdk.CodeOf(err), Message: err.Error()}, took
	}
	if len(res.Quotes) == 1 {
		return &res.Quotes[0], nil, took
	}
	return nil, &res.Errors[0], took
}

func webGuards(t *testing.T, h *core.Host) *core.GuardInfo {
	t.Helper()
	for _, p := range h.Providers() {
		if p.ID == "web" {
			if p.Guards == nil {
				t.Fatal("GET /v1/providers shows no guards")
			}
			return p.Guards
		}
	}
	t.Fatal("no provider web")
	return nil
}

// metric reads one series of the host's metrics (0 when absent).
func metric(t *testing.T, h *core.Host, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := h.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

func TestBreakerOpensOnProviderErrorsAndClosesThroughHalfOpen(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{Breaker: core.BreakerConfig{Failures: 3, OpenFor: 300 * time.Millisecond}})
	h := s.start(t)
	if err := s.sb.Kit().SetFaults(sandboxkit.Faults{ErrorRate: 1, ErrorStatus: 503}); err != nil {
		t.Fatal(err)
	}
	// Every call fails: the breaker opens at its threshold (retries count).
	for i := range 10 {
		_, perr, took := ask(h, "t1", fmt.Sprintf("m%d", i), 5*time.Second)
		if perr == nil {
			t.Fatalf("quote %d answered while the provider fails", i)
		}
		if i >= 3 && (perr.Code != sdk.CodeUnavailable || !strings.Contains(perr.Message, "circuit breaker open")) {
			t.Fatalf("quote %d with the breaker open: %+v", i, perr)
		}
		if i >= 3 && took > time.Second {
			t.Fatalf("an open breaker answered after %s, not at once", took)
		}
	}
	if got := s.sb.Received(); got != 3 {
		t.Fatalf("the sandbox received %d calls; the breaker opens after 3 failures", got)
	}
	if g := webGuards(t, h); g.Breaker != "open" {
		t.Fatalf("GET /v1/providers: breaker %s", g.Breaker)
	}
	// While open, nothing reaches the provider.
	for i := range 20 {
		ask(h, "t1", fmt.Sprintf("open%d", i), time.Second)
	}
	if got := s.sb.Received(); got != 3 {
		t.Fatalf("the sandbox received %d calls while the breaker was open", got-3)
	}
	// The provider recovers; after open_for one probe goes, and closes it.
	if err := s.sb.Kit().SetFaults(sandboxkit.Faults{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the breaker lets a probe through", func() bool {
		q, _, _ := ask(h, "t1", "probe", time.Second)
		return q != nil
	})
	if got := s.sb.Received(); got != 4 {
		t.Fatalf("recovery took %d calls, want one probe", got-3)
	}
	if g := webGuards(t, h); g.Breaker != "closed" {
		t.Fatalf("after a good probe: breaker %s", g.Breaker)
	}
	for _, tr := range [][2]string{{"closed", "open"}, {"open", "half-open"}, {"half-open", "closed"}} {
		if metric(t, h, "recyclegate_breaker_transitions_total", map[string]string{"provider": "web", "from": tr[0], "to": tr[1]}) != 1 {
			t.Errorf("transition %s > %s not counted once", tr[0], tr[1])
		}
	}
	if metric(t, h, "recyclegate_guard_refusals_total", map[string]string{"provider": "web", "reason": "breaker_open"}) < 27 {
		t.Error("refusals by the open breaker not counted")
	}
}

func TestBadInputDoesNotOpenTheBreaker(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{Breaker: core.BreakerConfig{Failures: 2}})
	h := s.start(t)
	s.sb.Status.Store(http.StatusNotFound)
	for i := range 6 {
		if _, perr, _ := ask(h, "t1", fmt.Sprintf("nf%d", i), 5*time.Second); perr == nil || perr.Code != sdk.CodeNotFound {
			t.Fatalf("want not_found, got %+v", perr)
		}
	}
	if g := webGuards(t, h); g.Breaker != "closed" || s.sb.Received() != 6 {
		t.Fatalf("breaker %s after not_found answers, %d calls", g.Breaker, s.sb.Received())
	}
}

func TestHangingProviderEveryCallReturnsByItsDeadline(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{MaxInFlight: 5, Retry: core.RetryConfig{Attempts: 1}})
	s.cfg.Providers[0].Timeout = 400 * time.Millisecond
	h := s.start(t)
	// Warm up, then measure the host's goroutines.
	if q, _, _ := ask(h, "t1", "warm", 5*time.Second); q == nil {
		t.Fatal("no quote before the hang")
	}
	runtime.GC()
	baseline := runtime.NumGoroutine()
	if err := s.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1}); err != nil {
		t.Fatal(err)
	}
	const callers = 40
	var wg sync.WaitGroup
	var late atomic.Int64
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the callers have their own, shorter deadline; the others
			// rely on the provider's 400ms timeout.
			deadline := 5 * time.Second
			if i%2 == 0 {
				deadline = 250 * time.Millisecond
			}
			_, perr, took := ask(h, "t1", fmt.Sprintf("hang%d", i), deadline)
			limit := min(deadline, 400*time.Millisecond) + 300*time.Millisecond // scheduling slack under -race
			if perr == nil || took > limit {
				late.Add(1)
				t.Errorf("caller %d: %+v after %s (deadline %s)", i, perr, took, deadline)
			}
		}()
	}
	wg.Wait()
	if late.Load() > 0 {
		t.Fatalf("%d calls outlived their deadline", late.Load())
	}
	eventually(t, 5*time.Second, "goroutines back to the baseline", func() bool {
		runtime.GC()
		return runtime.NumGoroutine() <= baseline+2
	})
}

func TestKillDuringFiveHundredConcurrentQuotes(t *testing.T) {
	logs := &logBuffer{}
	cfg := core.Config{Providers: []core.ProviderConfig{{ID: "fake", Runtime: core.RuntimeBuiltin,
		Config: map[string]string{"app_secret": testSecret},
		Guards: core.GuardConfig{QPS: 1e6, MaxInFlight: 1000, CacheTTL: -1}}}}
	h, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")),
		core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	pid := pluginPID(t, h, "fake")
	const n = 500
	const deadline = 3 * time.Second
	var wg sync.WaitGroup
	var done, answered, failed, late atomic.Int64
	var killed atomic.Int64 // unix nanos of the kill
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			res, err := h.Quote(ctx, &core.Tenant{ID: "t"}, &core.QuoteRequest{Item: phone(fmt.Sprintf("k%d", i))})
			if took := time.Since(start); took > deadline+500*time.Millisecond {
				late.Add(1)
			}
			switch {
			case err != nil:
				t.Errorf("quote %d refused: %v", i, err)
			case len(res.Quotes) == 1:
				answered.Add(1)
			default:
				failed.Add(1)
			}
			if done.Add(1) == 50 {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Error(err)
				}
				killed.Store(time.Now().UnixNano())
			}
		}()
	}
	wg.Wait()
	if late.Load() > 0 {
		t.Fatalf("%d of %d quotes answered after their deadline", late.Load(), n)
	}
	t.Logf("%d quotes answered, %d failed over the kill", answered.Load(), failed.Load())
	eventually(t, 10*time.Second, "plugin restarted", func() bool {
		p := h.Providers()[0]
		return p.State == core.StateReady && p.PID != pid
	})
	// The supervisor notices the death at once and restarts the plugin.
	var back time.Time
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"plugin ready"`) && !strings.Contains(line, fmt.Sprintf(`"pid":%d`, pid)) {
			var rec struct {
				Time time.Time `json:"time"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil {
				back = rec.Time
			}
		}
	}
	if back.IsZero() {
		t.Fatalf("no restart in the log:\n%s", logs)
	}
	// 5s: a restart under the race detector, on two cores busy with 450
	// callers, takes 1.5-3.5s; a supervisor that waits for its next tick or
	// a long backoff takes more.
	if d := back.Sub(time.Unix(0, killed.Load())); d > 5*time.Second {
		t.Fatalf("plugin back %s after kill -9, want within 5s", d)
	} else {
		t.Logf("plugin back %s after kill -9", d)
	}
	// Back means answering: the plugin's death did not open the breaker.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := h.Quote(ctx, &core.Tenant{ID: "t"}, &core.QuoteRequest{Item: phone("after")})
	if err != nil || len(res.Quotes) != 1 {
		t.Fatalf("after the restart: %v %+v", err, res)
	}
}

func TestThousandConcurrentIdenticalQuotesMakeOneProviderCall(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{})
	h := s.start(t)
	// Slow the sandbox a little so the requests overlap the call.
	if err := s.sb.Kit().SetFaults(sandboxkit.Faults{Latency: sandboxkit.Duration(100 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var wg sync.WaitGroup
	var quoted atomic.Int64
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if q, _, _ := ask(h, "t1", "iPhone 15 Pro", 10*time.Second); q != nil && q.Price.Amount == 12345 {
				quoted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if quoted.Load() != n {
		t.Fatalf("%d of %d requests quoted", quoted.Load(), n)
	}
	if got := s.sb.Received(); got != 1 {
		t.Fatalf("%d provider calls for %d identical requests, want 1", got, n)
	}
	hits := metric(t, h, "recyclegate_quote_cache_total", map[string]string{"provider": "web", "result": "hit"})
	shared := metric(t, h, "recyclegate_quote_cache_total", map[string]string{"provider": "web", "result": "shared"})
	if hits+shared != n-1 {
		t.Fatalf("cache hits %v + shared %v, want %d", hits, shared, n-1)
	}
}

func TestDailyQuotaIsKeptAcrossRestartsAndResetsAtMidnightChinaTime(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{DailyQuota: 3})
	s.cfg.DataDir = t.TempDir()
	s.clock.Set(time.Date(2025, 9, 1, 23, 30, 0, 0, sdk.ChinaTime))
	h := s.start(t)
	for i := range 3 {
		if q, perr, _ := ask(h, "t1", fmt.Sprintf("q%d", i), 5*time.Second); q == nil {
			t.Fatalf("quote %d: %+v", i, perr)
		}
	}
	// A cached quote spends nothing.
	if q, _, _ := ask(h, "t1", "q0", 5*time.Second); q == nil {
		t.Fatal("cached quote refused")
	}
	_, perr, _ := ask(h, "t1", "q3", 5*time.Second)
	if perr == nil || perr.Code != sdk.CodeQuotaExhausted || !strings.Contains(perr.Message, "daily quota of 3 calls") {
		t.Fatalf("fourth call: %+v", perr)
	}
	if g := webGuards(t, h); g.Quota == nil || g.Quota.Used != 3 || g.Quota.Left != 0 || g.Store != "embedded" {
		t.Fatalf("GET /v1/providers quota %+v (store %s)", g.Quota, g.Store)
	}
	// A restart keeps the count.
	h.Close()
	h = s.start(t)
	if _, perr, _ := ask(h, "t1", "q4", 5*time.Second); perr == nil || perr.Code != sdk.CodeQuotaExhausted {
		t.Fatalf("after a restart: %+v", perr)
	}
	if got := s.sb.Received(); got != 3 {
		t.Fatalf("the provider received %d calls with a quota of 3", got)
	}
	// 00:00 in Beijing: a new day, a new quota.
	s.clock.Set(time.Date(2025, 9, 2, 0, 0, 0, 0, sdk.ChinaTime))
	if q, perr, _ := ask(h, "t1", "q5", 5*time.Second); q == nil {
		t.Fatalf("after midnight China time: %+v", perr)
	}
	if g := webGuards(t, h); g.Quota.Used != 1 {
		t.Fatalf("new day: quota %+v", g.Quota)
	}
}

func TestBudgetWarnsAtEightyPercentAndRefusesAtTheLimit(t *testing.T) {
	// A call costs 10 fen (the manifest); the day's budget is 0.50 yuan.
	s := newWebSetup(t, core.GuardConfig{Budget: core.BudgetConfig{PerDay: "0.50", PerMonth: "100"}})
	h := s.start(t)
	for i := range 5 {
		if q, perr, _ := ask(h, "t1", fmt.Sprintf("b%d", i), 5*time.Second); q == nil {
			t.Fatalf("call %d: %+v", i, perr)
		}
		warned := strings.Contains(s.logs.String(), "provider budget nearly spent")
		if warned != (i >= 3) {
			t.Fatalf("after %d fen: warned=%v; the warning comes at 80%% (40 fen)", (i+1)*10, warned)
		}
	}
	_, perr, _ := ask(h, "t1", "b5", 5*time.Second)
	if perr == nil || perr.Code != sdk.CodeQuotaExhausted || !strings.Contains(perr.Message, "daily budget of 0.50 CNY") {
		t.Fatalf("over budget: %+v", perr)
	}
	if got := s.sb.Received(); got != 5 {
		t.Fatalf("%d calls made on a budget of 5", got)
	}
	g := webGuards(t, h)
	if g.Budget == nil || g.Budget.DaySpent.Amount != 50 || g.Budget.DayLimit.Amount != 50 || g.Budget.MonthSpent.Amount != 50 {
		t.Fatalf("budget %+v", g.Budget)
	}
	if metric(t, h, "recyclegate_budget_warnings_total", map[string]string{"provider": "web", "period": "day"}) != 1 {
		t.Fatal("budget warning not counted")
	}
	if metric(t, h, "recyclegate_budget_spent_fen", map[string]string{"provider": "web", "period": "day"}) != 50 {
		t.Fatal("budget spent not exported")
	}
}

func TestTenantQuota(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{})
	s.cfg.Tenants[0].Quotas = &core.TenantQuotas{DailyCalls: 2}
	h := s.start(t)
	for i := range 2 {
		if q, perr, _ := ask(h, "t1", fmt.Sprintf("t%d", i), 5*time.Second); q == nil {
			t.Fatalf("call %d: %+v", i, perr)
		}
	}
	if _, perr, _ := ask(h, "t1", "t2", 5*time.Second); perr == nil || perr.Code != sdk.CodeQuotaExhausted || !strings.Contains(perr.Message, "tenant t1") {
		t.Fatalf("third call of t1: %+v", perr)
	}
	// Another tenant is not affected, and a cached quote is free.
	if q, perr, _ := ask(h, "t2", "t3", 5*time.Second); q == nil {
		t.Fatalf("tenant t2: %+v", perr)
	}
	if q, _, _ := ask(h, "t1", "t3", 5*time.Second); q == nil {
		t.Fatal("a cached quote counted against the tenant's quota")
	}
}

func TestRetriesRepeatAFailedQuote(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{Retry: core.RetryConfig{Backoff: time.Millisecond}})
	h := s.start(t)
	// One failure, then answers: the host repeats the quote.
	if err := s.sb.Kit().SetFaults(sandboxkit.Faults{ErrorRate: 1, ErrorStatus: 502}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for s.sb.Kit().Stats().Injected == 0 {
			time.Sleep(time.Millisecond)
		}
		_ = s.sb.Kit().SetFaults(sandboxkit.Faults{})
	}()
	q, perr, _ := ask(h, "t1", "retry", 5*time.Second)
	if q == nil {
		t.Fatalf("%+v", perr)
	}
	if metric(t, h, "recyclegate_provider_retries_total", map[string]string{"provider": "web", "op": "quote"}) < 1 {
		t.Fatal("retry not counted")
	}
}

func TestRetryAfterSlowsTheRateLimit(t *testing.T) {
	s := newWebSetup(t, core.GuardConfig{QPS: 10, Retry: core.RetryConfig{Attempts: 1}})
	h := s.start(t)
	s.sb.Status.Store(http.StatusTooManyRequests) // with Retry-After: 1
	if _, perr, _ := ask(h, "t1", "r1", 5*time.Second); perr == nil || perr.Code != sdk.CodeRateLimited {
		t.Fatalf("want rate_limited, got %+v", perr)
	}
	if g := webGuards(t, h); g.QPS < 4.9 || g.QPS > 5.1 {
		t.Fatalf("QPS after a 429: %v, want half of 10", g.QPS)
	}
	// Nothing goes during the Retry-After: a caller that cannot wait is told so at once.
	s.sb.Status.Store(0)
	before := s.sb.Received()
	_, perr, took := ask(h, "t1", "r2", 200*time.Millisecond)
	if perr == nil || perr.Code != sdk.CodeRateLimited || took > 150*time.Millisecond || s.sb.Received() != before {
		t.Fatalf("during Retry-After: %+v after %s", perr, took)
	}
}

func TestRedisDownQuotaFailsClosed(t *testing.T) {
	redis := storetest.StartRedis(t)
	s := newWebSetup(t, core.GuardConfig{DailyQuota: 100})
	s.cfg.Store = redis.URL
	h := s.start(t)
	for i := range 3 {
		if q, perr, _ := ask(h, "t1", fmt.Sprintf("r%d", i), 5*time.Second); q == nil {
			t.Fatalf("call %d: %+v", i, perr)
		}
	}
	if g := webGuards(t, h); g.Store != "redis" || g.Quota.Used != 3 {
		t.Fatalf("guards %+v", g)
	}
	redis.Stop()
	for i := range 5 {
		_, perr, took := ask(h, "t1", fmt.Sprintf("down%d", i), 5*time.Second)
		if perr == nil || perr.Code != sdk.CodeUnavailable || !strings.Contains(perr.Message, "state store") {
			t.Fatalf("with redis down: %+v", perr)
		}
		if took > 2*time.Second {
			t.Fatalf("a dead store held a call %s", took)
		}
	}
	if got := s.sb.Received(); got != 3 {
		t.Fatalf("%d calls reached the provider while its quota could not be checked", got-3)
	}
	// Through the API: 503, code unavailable.
	srv := httptest.NewServer(apitest.Handler(t, api.New(h)))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/catalog/search?provider=web&q=x", nil)
	req.Header.Set("Authorization", "Bearer key-1-0123456789ab")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var prob struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&prob)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || prob.Code != "unavailable" {
		t.Fatalf("catalog search with redis down: %d %s", resp.StatusCode, prob.Code)
	}
	if metric(t, h, "recyclegate_store_errors_total", map[string]string{"use": "counters"}) == 0 {
		t.Fatal("store errors not counted")
	}
	// Redis back: calls go again.
	redis.Restart()
	eventually(t, 5*time.Second, "calls resume with redis back", func() bool {
		q, _, _ := ask(h, "t1", "back", 2*time.Second)
		return q != nil
	})
}

func TestGuardsConfigIsValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want string
	}{
		{"budget both ways", "providers:\n  - id: p\n    guards:\n      budget: {per_day: \"1.00\", per_day_fen: 100}\n", "per_day or per_day_fen"},
		{"bad yuan", "providers:\n  - id: p\n    guards:\n      budget: {per_month: \"lots\"}\n", "budget.per_month"},
		{"negative qps", "providers:\n  - id: p\n    guards: {qps: -1}\n", "guards.qps"},
		{"ratio", "providers:\n  - id: p\n    guards:\n      breaker: {failure_ratio: 2}\n", "failure_ratio"},
		{"unknown key", "providers:\n  - id: p\n    guards: {qsp: 5}\n", "qsp"},
		{"reserve of everything", "providers:\n  - id: p\n    guards: {reserve: 1}\n", "guards.reserve"},
		{"poll share past the reserve", "providers:\n  - id: p\n    guards: {reserve: 0.1, poll_share: 0.2}\n", "poll_share"},
		{"negative max_wait", "providers:\n  - id: p\n    guards: {max_wait: -1s}\n", "max_wait"},
		{"tenant quota of an unknown provider", "providers:\n  - id: p\ntenants:\n  - id: t\n    api_keys: [k-0123456789abcdef]\n    quotas: {per_provider: {q: 5}}\n", "not a configured provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.ParseConfig([]byte(tc.yaml), func(string) (string, bool) { return "", false })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
	cfg, err := core.ParseConfig([]byte("replicas: 3\nproviders:\n  - id: p\n    guards:\n      qps: 5\n      daily_quota: 100\n      budget: {per_day: 200.00, warn_at: 0.9}\n      breaker: {failures: 3, open_for: 10s}\n      retry: {attempts: 2, backoff: 50ms}\n      cache_ttl: -1s\n      reserve: 0\n      poll_share: 0\n      max_wait: 250ms\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Providers[0].Guards
	if cfg.Replicas != 3 || g.QPS != 5 || g.DailyQuota != 100 || g.Budget.PerDay != "200.00" || g.Breaker.OpenFor != 10*time.Second || g.CacheTTL != -time.Second || g.Retry.Backoff != 50*time.Millisecond ||
		g.Reserve == nil || *g.Reserve != 0 || g.PollShare == nil || g.MaxWait != 250*time.Millisecond {
		t.Fatalf("decoded %+v", g)
	}
}
