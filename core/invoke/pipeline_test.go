package invoke

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// The pipeline's stages meet a call in the order build declares. These
// tests hold the order by what a user sees of it: what is spent, and which
// refusal a call gets, when two guards would both refuse.

func phone(model string) *sdk.QuoteRequest {
	return &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: model, Storage: "256GB", Condition: sdk.ConditionGood}}
}

func quotaUsed(t *testing.T, s *Service) int64 {
	t.Helper()
	gi := s.GuardInfo("fake")
	if gi == nil || gi.Quota == nil {
		t.Fatal("no quota shown")
	}
	return gi.Quota.Used
}

func TestAnOpenBreakerRefusesBeforeTheQuotaIsCounted(t *testing.T) {
	p := faketest.New("fake", 100)
	// The two failures that open the breaker spend the quota too: a call
	// then meets both refusals, and gets the breaker's.
	s := newService(t, p, guard.Config{DailyQuota: 2, CacheTTL: -1, Retry: guard.RetrySettings{Attempts: 1},
		Breaker: guard.BreakerSettings{Failures: 2, OpenFor: time.Hour}}, "", "")
	ctx := context.Background()
	for range 2 {
		if _, err := s.Quote(ctx, "fake", hostCall(s), phone(faketest.ModelFail)); sdk.CodeOf(err) != sdk.CodeUnavailable {
			t.Fatalf("failing call: %v", err)
		}
	}
	if got := s.GuardInfo("fake").Breaker; got != "open" {
		t.Fatalf("breaker %s after two failures", got)
	}
	_, err := s.Quote(ctx, "fake", hostCall(s), phone("iPhone 13"))
	if e := sdk.AsError(err); e.Code != sdk.CodeUnavailable || !strings.Contains(e.Message, "circuit breaker open") {
		t.Fatalf("a call to an open breaker: %v", err)
	}
	if used := quotaUsed(t, s); used != 2 {
		t.Errorf("quota used %d, want 2: the refused call was counted", used)
	}
	if n := p.Calls.Load(); n != 2 {
		t.Errorf("provider called %d times, want 2", n)
	}
}

func TestASpentQuotaRefusesBeforeTheRateLimitWaits(t *testing.T) {
	p := faketest.New("fake", 100)
	s := newService(t, p, guard.Config{DailyQuota: 1, QPS: 0.001, CacheTTL: -1}, "", "")
	if _, err := s.Quote(context.Background(), "fake", hostCall(s), phone("iPhone 13")); err != nil {
		t.Fatal(err)
	}
	// The next rate slot is a thousand seconds away: had the rate limit
	// come first, the call would end at its deadline waiting for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Quote(ctx, "fake", hostCall(s), phone("iPhone 14"))
	if sdk.CodeOf(err) != sdk.CodeQuotaExhausted {
		t.Fatalf("second call: %v, want quota_exhausted", err)
	}
	if n := p.Calls.Load(); n != 1 {
		t.Errorf("provider called %d times, want 1", n)
	}
}

func TestALaterRefusalGivesTheQuotaBack(t *testing.T) {
	p := faketest.New("fake", 100)
	s := newService(t, p, guard.Config{DailyQuota: 10, MaxInFlight: 1, CacheTTL: -1}, "", "")
	hold, release := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.Quote(hold, "fake", hostCall(s), phone(faketest.ModelSleep)) // holds the one slot until released
	}()
	for s.GuardInfo("fake").InFlight != 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Quote(ctx, "fake", hostCall(s), phone("iPhone 13"))
	if sdk.CodeOf(err) != sdk.CodeDeadlineExceeded {
		t.Fatalf("call without a free slot: %v", err)
	}
	if used := quotaUsed(t, s); used != 1 {
		t.Errorf("quota used %d, want 1: the call refused for a slot kept its reservation", used)
	}
	release()
	<-done
}

func TestRetriesComeWithinTheDeadlineAndEachAttemptIsCounted(t *testing.T) {
	p := faketest.New("fake", 100)
	s := newService(t, p, guard.Config{DailyQuota: 100, CacheTTL: -1,
		Retry: guard.RetrySettings{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}}, "", "")
	_, err := s.Quote(context.Background(), "fake", hostCall(s), phone(faketest.ModelFail))
	if sdk.CodeOf(err) != sdk.CodeUnavailable {
		t.Fatalf("%v", err)
	}
	// The retry budget starts with one retry to spend (Burst): a first call
	// and one retry reach the provider, and each attempt is counted.
	if n := p.Calls.Load(); n != 2 {
		t.Errorf("provider called %d times, want 2", n)
	}
	if used := quotaUsed(t, s); used != 2 {
		t.Errorf("quota used %d, want 2", used)
	}
}

func TestACachedQuoteAnswersBeforeAnyGuard(t *testing.T) {
	p := faketest.New("fake", 100)
	s := newService(t, p, guard.Config{DailyQuota: 100, Retry: guard.RetrySettings{Attempts: 1},
		Breaker: guard.BreakerSettings{Failures: 1, OpenFor: time.Hour}}, "", "")
	ctx := context.Background()
	if _, err := s.Quote(ctx, "fake", hostCall(s), phone("iPhone 13")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Quote(ctx, "fake", hostCall(s), phone(faketest.ModelFail)); err == nil {
		t.Fatal("a failing call succeeded")
	}
	q, err := s.Quote(ctx, "fake", hostCall(s), phone("iPhone 13"))
	if err != nil || q.Price.Amount != 100 {
		t.Fatalf("cached quote behind an open breaker: %v %+v", err, q)
	}
	if n := p.Calls.Load(); n != 2 {
		t.Errorf("provider called %d times, want 2", n)
	}
	if used := quotaUsed(t, s); used != 2 {
		t.Errorf("quota used %d, want 2: a cache hit costs nothing", used)
	}
}

func TestCallsCarryTheirTenantToTheObserver(t *testing.T) {
	var got []Record
	s := newService(t, faketest.New("fake", 100), guard.Config{CacheTTL: -1}, "", "")
	s.observe = func(r Record) { got = append(got, r) }
	c := &Call{Tenant: &Tenant{ID: "acme"}, Audit: map[string]string{"quote_id": "q1"}}
	c.Pass = &Pass{svc: s, tenant: "acme", providers: []string{"fake"}}
	if _, err := s.Quote(context.Background(), "fake", c, phone("iPhone 13")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tenant != "acme" || got[0].Op != rpc.OpQuote || got[0].Audit["quote_id"] != "q1" || got[0].Err != nil {
		t.Fatalf("records %+v", got)
	}
}

// hostCall is the host's own call to provider fake, cleared as the gate
// would clear it.
func hostCall(s *Service) *Call { return &Call{Pass: &Pass{svc: s, providers: []string{"fake"}}} }
