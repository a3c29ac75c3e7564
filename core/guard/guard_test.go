package guard_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

var cst = sdk.ChinaTime

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		callerDone bool
		want       guard.Outcome
	}{
		{"answer", nil, false, guard.Success},
		{"provider timeout", sdk.Errorf(sdk.CodeDeadlineExceeded, "x"), false, guard.Failure},
		{"context deadline", context.DeadlineExceeded, false, guard.Failure},
		{"unavailable", sdk.Errorf(sdk.CodeUnavailable, "x"), false, guard.Failure},
		{"5xx or malformed", sdk.Errorf(sdk.CodeProviderError, "x"), false, guard.Failure},
		{"429 from the provider", sdk.Errorf(sdk.CodeRateLimited, "x"), false, guard.Failure},
		{"the caller's deadline", sdk.Errorf(sdk.CodeDeadlineExceeded, "x"), true, guard.Ignore},
		{"the caller cancelled", context.Canceled, false, guard.Ignore},
		{"bad input", sdk.InvalidField("item.model", "x"), false, guard.Success},
		{"not found", sdk.Errorf(sdk.CodeNotFound, "x"), false, guard.Success},
		{"bad credentials", sdk.Errorf(sdk.CodeUnauthenticated, "x"), false, guard.Success},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := guard.Classify(tc.err, tc.callerDone); got != tc.want {
				t.Fatalf("Classify(%v, %v) = %v, want %v", tc.err, tc.callerDone, got, tc.want)
			}
		})
	}
}

func TestBreakerOpensThenClosesThroughHalfOpen(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	b := guard.NewBreaker("p", guard.BreakerSettings{Failures: 3, OpenFor: 100 * time.Millisecond}, func(from, to string) {
		mu.Lock()
		changes = append(changes, from+">"+to)
		mu.Unlock()
	})
	// Answers to bad input and callers leaving never open it.
	for range 10 {
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(guard.Classify(sdk.Errorf(sdk.CodeNotFound, "no such model"), false))
		done, _ = b.Allow()
		done(guard.Classify(context.Canceled, true))
	}
	if b.State() != "closed" {
		t.Fatalf("state %s", b.State())
	}
	for range 3 {
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(guard.Failure)
	}
	_, err := b.Allow()
	if !errors.Is(err, guard.ErrOpen) || sdk.CodeOf(err) != sdk.CodeUnavailable || !b.Open() {
		t.Fatalf("after 3 failures: %v (state %s)", err, b.State())
	}
	if ra := sdk.AsError(err).RetryAfter; ra <= 0 || ra > 100*time.Millisecond {
		t.Fatalf("retry after %s", ra)
	}
	// Half-open after OpenFor: one probe, the others refused while it runs.
	deadline := time.Now().Add(2 * time.Second)
	var probe func(guard.Outcome)
	for probe == nil {
		probe, _ = b.Allow()
		if time.Now().After(deadline) {
			t.Fatal("no probe allowed after OpenFor")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := b.Allow(); err == nil {
		t.Fatal("a second call while the probe is in flight")
	}
	probe(guard.Failure)
	if !b.Open() {
		t.Fatalf("a failed probe opens it again: %s", b.State())
	}
	probe = nil
	for probe == nil {
		probe, _ = b.Allow()
		time.Sleep(5 * time.Millisecond)
	}
	probe(guard.Success)
	if b.State() != "closed" {
		t.Fatalf("a good probe closes it: %s", b.State())
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
}

func TestBreakerOpensOnFailureRatio(t *testing.T) {
	b := guard.NewBreaker("p", guard.BreakerSettings{Failures: 100, FailureRatio: 0.5, MinRequests: 10}, nil)
	for i := range 10 {
		done, err := b.Allow()
		if err != nil {
			t.Fatalf("call %d refused", i)
		}
		if i%2 == 1 {
			done(guard.Failure)
		} else {
			done(guard.Success)
		}
	}
	if !b.Open() {
		t.Fatalf("half of 10 calls failed: state %s", b.State())
	}
}

// windowHolds checks that no window of w holds more than n of the times.
func windowHolds(t *testing.T, times []time.Time, n int, w time.Duration) {
	t.Helper()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 0; i+n < len(times); i++ {
		if d := times[i+n].Sub(times[i]); d < w {
			t.Fatalf("%d calls within %s (calls %d..%d), limit %d per %s", n+1, d, i, i+n, n, w)
		}
	}
}

func TestLocalLimiterSpacesCalls(t *testing.T) {
	l := guard.NewLocal(guard.LimitSettings{QPS: 10, Margin: 50 * time.Millisecond})
	var times []time.Time
	for range 15 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Now())
	}
	windowHolds(t, times, 10, time.Second)
}

func TestLimiterAnswersAtOnceWhenTheWaitPassesTheDeadline(t *testing.T) {
	l := guard.NewLocal(guard.LimitSettings{QPS: 1})
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Wait(ctx)
	if sdk.CodeOf(err) != sdk.CodeRateLimited || sdk.AsError(err).RetryAfter <= 0 {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 50*time.Millisecond {
		t.Fatalf("waited %s for a slot it could not get", time.Since(start))
	}
}

func TestRetryAfterSlowsTheLimiter(t *testing.T) {
	l := guard.NewLocal(guard.LimitSettings{QPS: 100})
	l.Slow(150 * time.Millisecond)
	if q := l.QPS(); q < 49.9 || q > 50.1 {
		t.Fatalf("QPS after a 429: %v, want 50", q)
	}
	start := time.Now()
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Fatalf("a call went %s after a 429 asking for 150ms", d)
	}
}

func TestSharedLimiterHoldsAcrossReplicasAndFallsBack(t *testing.T) {
	srv := storetest.StartRedis(t)
	var limiters []*guard.Shared
	var errs atomic.Int64
	for range 3 {
		s, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		limiters = append(limiters, guard.NewShared(guard.LimitSettings{QPS: 10, Margin: 50 * time.Millisecond}, "p", s, 3,
			func(error) { errs.Add(1) }))
	}
	var mu sync.Mutex
	var times []time.Time
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := limiters[i%3].Wait(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		}()
	}
	wg.Wait()
	windowHolds(t, times, 10, time.Second)

	// Redis down: each replica falls back to its share, 10/3 a second.
	srv.Stop()
	times = nil
	for range 5 {
		if err := limiters[0].Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Now())
	}
	if errs.Load() == 0 {
		t.Fatal("the store's failure was not reported")
	}
	if q := limiters[0].QPS(); q < 3.3 || q > 3.4 {
		t.Fatalf("fallback QPS %v, want 10/3", q)
	}
	windowHolds(t, times, 1, 300*time.Millisecond) // one call every 1.05s/(10/3)
}

func TestSemaphore(t *testing.T) {
	s := guard.NewSemaphore(2)
	ctx := context.Background()
	_ = s.Acquire(ctx)
	_ = s.Acquire(ctx)
	if s.InFlight() != 2 {
		t.Fatal(s.InFlight())
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third acquire: %v", err)
	}
	s.Release()
	if err := s.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestAccountQuotaBudgetAndTenant(t *testing.T) {
	c := &clock{t: time.Date(2025, 5, 20, 22, 0, 0, 0, cst)}
	st, err := store.OpenMemory(store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var warns []string
	a := guard.NewAccount(guard.AccountSettings{Provider: "p", DailyQuota: 5, CostPerCall: 100, BudgetDay: 500, BudgetMonth: 10000},
		st, c.Now, func(period string, spent, limit int64) { warns = append(warns, period) }, nil)
	ctx := context.Background()
	for i := range 5 {
		if _, err := a.Reserve(ctx, nil, 1, guard.LaneGeneral); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if len(warns) != 1 || warns[0] != "day" {
		t.Fatalf("warnings %v: want one, for the day, at 80%%", warns)
	}
	_, err = a.Reserve(ctx, nil, 1, guard.LaneGeneral)
	e := sdk.AsError(err)
	if e == nil || e.Code != sdk.CodeQuotaExhausted || e.RetryAfter != 2*time.Hour {
		t.Fatalf("sixth call: %+v", e)
	}
	u := a.Usage(0)
	if u.QuotaUsed != 5 || u.QuotaLimit != 5 || u.DaySpent != 500 || u.MonthSpent != 500 {
		t.Fatalf("usage %+v", u)
	}
	// The next day in Beijing: the quota and daily budget start again.
	c.Set(time.Date(2025, 5, 21, 0, 0, 0, 0, cst))
	tk, err := a.Reserve(ctx, nil, 1, guard.LaneGeneral)
	if err != nil {
		t.Fatal(err)
	}
	tk.Refund()
	if u := a.Usage(time.Hour); u.QuotaUsed != 0 || u.MonthSpent != 500 {
		t.Fatalf("after a refund %+v", u)
	}
	// A tenant's quota refuses before the provider's.
	ten := &guard.TenantLimit{ID: "t1", Daily: 2}
	for range 2 {
		if _, err := a.Reserve(ctx, ten, 1, guard.LaneGeneral); err != nil {
			t.Fatal(err)
		}
	}
	_, err = a.Reserve(ctx, ten, 1, guard.LaneGeneral)
	if e := sdk.AsError(err); e == nil || e.Code != sdk.CodeQuotaExhausted || e.Message[:9] != "tenant t1" {
		t.Fatalf("tenant over quota: %v", err)
	}
	if u := a.Usage(0); u.QuotaUsed != 2 {
		t.Fatalf("the refused tenant call spent the provider quota: %+v", u)
	}
}

func TestAccountBudgetWithTiersNeverUnderprices(t *testing.T) {
	c := &clock{t: time.Date(2025, 5, 20, 12, 0, 0, 0, cst)}
	st, _ := store.OpenMemory(store.Options{Now: c.Now})
	defer st.Close()
	a := guard.NewAccount(guard.AccountSettings{Provider: "p", CostPerCall: 10,
		Tiers: []guard.CostTier{{FromCalls: 0, PerCall: 10}, {FromCalls: 3, PerCall: 5}}, BudgetMonth: 10_000}, st, c.Now, nil, nil)
	for range 6 {
		if _, err := a.Reserve(context.Background(), nil, 1, guard.LaneGeneral); err != nil {
			t.Fatal(err)
		}
	}
	// Three at 10 fen, then three at 5: 45 fen.
	if u := a.Usage(0); u.MonthCalls != 6 || u.MonthSpent != 45 {
		t.Fatalf("usage %+v, want 6 calls, 45 fen", u)
	}
}

func TestAccountFailsClosedWhenTheStoreIsDown(t *testing.T) {
	srv := storetest.StartRedis(t)
	st, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var reported atomic.Int64
	a := guard.NewAccount(guard.AccountSettings{Provider: "p", DailyQuota: 100}, st, nil, nil, func(error) { reported.Add(1) })
	if _, err := a.Reserve(context.Background(), nil, 1, guard.LaneGeneral); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err = a.Reserve(context.Background(), nil, 1, guard.LaneGeneral)
	if e := sdk.AsError(err); e == nil || e.Code != sdk.CodeUnavailable || reported.Load() == 0 {
		t.Fatalf("with the store down: %v", err)
	}
	// A provider without quota or budget does not need the store.
	free := guard.NewAccount(guard.AccountSettings{Provider: "q"}, st, nil, nil, nil)
	if tk, err := free.Reserve(context.Background(), nil, 1, guard.LaneGeneral); err != nil || tk != nil {
		t.Fatalf("%v %v", tk, err)
	}
}

func TestFlightMakesOneCallAndEachCallerKeepsItsDeadline(t *testing.T) {
	var f guard.Flight[int]
	var calls atomic.Int64
	release := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		calls.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	var got atomic.Int64
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := f.Do(context.Background(), "k", fn)
			if err == nil && v == 42 {
				got.Add(1)
			}
		}()
	}
	// A caller with a short deadline leaves on time; the run goes on.
	for f.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, shared, err := f.Do(ctx, "k", fn); !errors.Is(err, context.DeadlineExceeded) || !shared {
		t.Fatalf("short caller: %v shared=%v", err, shared)
	}
	close(release)
	wg.Wait()
	if calls.Load() != 1 || got.Load() != 100 {
		t.Fatalf("%d runs, %d answers; want 1 and 100", calls.Load(), got.Load())
	}
}

func TestRetryOnlySafeOperationsWithinBudget(t *testing.T) {
	r := guard.NewRetrier(guard.RetrySettings{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	down := sdk.Errorf(sdk.CodeUnavailable, "down")
	if _, ok := r.Retry(rpc.OpOrderCreate, 1, down, time.Second); ok {
		t.Fatal("order creation retried")
	}
	if _, ok := r.Retry(rpc.OpTradeIn, 1, down, time.Second); ok {
		t.Fatal("trade-in creation retried")
	}
	if _, ok := r.Retry(rpc.OpQuote, 1, sdk.InvalidField("item", "bad"), time.Second); ok {
		t.Fatal("bad input retried")
	}
	if _, ok := r.Retry(rpc.OpQuote, 3, down, time.Second); ok {
		t.Fatal("retried past Attempts")
	}
	if _, ok := r.Retry(rpc.OpQuote, 1, &sdk.Error{Code: sdk.CodeRateLimited, Retryable: true, RetryAfter: 2 * time.Second}, time.Second); ok {
		t.Fatal("retried although Retry-After passes the deadline")
	}
	// The budget: 100 first calls that all fail get at most 20 retries (+1).
	retries := 0
	for range 100 {
		r.First()
		if _, ok := r.Retry(rpc.OpQuote, 1, down, time.Second); ok {
			retries++
		}
	}
	if retries > 21 || retries < 19 {
		t.Fatalf("%d retries for 100 calls, want about 20", retries)
	}
}

func TestQuoteKeyNormalizes(t *testing.T) {
	a := &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14  Pro", Storage: "256GB",
		FunctionalIssues: []string{"screen", "battery"}}}
	b := &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: " apple", Model: "iphone 14 pro", Storage: "256gb",
		FunctionalIssues: []string{"Battery", "screen"}}}
	if guard.QuoteKey("p", a) != guard.QuoteKey("p", b) {
		t.Fatal("the same item has two keys")
	}
	if guard.QuoteKey("p", a) == guard.QuoteKey("q", a) {
		t.Fatal("two providers share a key")
	}
	c := *a
	c.Detail = true
	if guard.QuoteKey("p", a) == guard.QuoteKey("p", &c) {
		t.Fatal("a breakdown shares the plain quote's key")
	}
	d := *b
	d.Item.Storage = "512GB"
	if guard.QuoteKey("p", b) == guard.QuoteKey("p", &d) {
		t.Fatal("two items share a key")
	}
}

// TestRevivedBreakerProbesAtOnce: Revive lets an open breaker probe now,
// not after OpenFor: a probe that succeeds closes it, one that fails opens
// it again for OpenFor; a breaker that is not open is left alone.
func TestRevivedBreakerProbesAtOnce(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	b := guard.NewBreaker("p", guard.BreakerSettings{Failures: 2, OpenFor: time.Hour}, func(from, to string) {
		mu.Lock()
		changes = append(changes, from+">"+to)
		mu.Unlock()
	})
	b.Revive() // closed: nothing to do
	if b.State() != "closed" {
		t.Fatalf("a closed breaker revived: %s", b.State())
	}
	open := func() {
		t.Helper()
		for range 2 {
			done, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			done(guard.Failure)
		}
		if !b.Open() || b.Check() == nil {
			t.Fatalf("not open: %s", b.State())
		}
	}
	open()
	b.Revive()
	if b.State() != "half-open" || b.Open() || b.Check() != nil {
		t.Fatalf("revived: %s", b.State())
	}
	done, err := b.Allow()
	if err != nil {
		t.Fatalf("the probe: %v", err)
	}
	if _, err := b.Allow(); !errors.Is(err, guard.ErrOpen) {
		t.Fatalf("a second call while the probe is in flight: %v", err)
	}
	done(guard.Failure)
	if !b.Open() {
		t.Fatalf("after a failed probe: %s", b.State())
	}
	if ra := sdk.AsError(b.Check()).RetryAfter; ra < 59*time.Minute {
		t.Fatalf("open again for %s, want OpenFor (1h) from the failed probe", ra)
	}
	b.Revive()
	done, err = b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	done(guard.Ignore) // says nothing: another may probe
	done, err = b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	done(guard.Success)
	if b.State() != "closed" {
		t.Fatalf("after a good probe: %s", b.State())
	}
	open() // the closed breaker counts afresh
	mu.Lock()
	defer mu.Unlock()
	want := "closed>open open>half-open half-open>open open>half-open half-open>closed closed>open"
	if got := strings.Join(changes, " "); got != want {
		t.Fatalf("changes %q, want %q", got, want)
	}
}
