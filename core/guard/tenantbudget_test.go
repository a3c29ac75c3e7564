package guard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/sdk"
)

// A tenant's budget holds across replicas that share Redis: two hosts'
// usage counters spend from one total, the refusal names the tenant's
// limit and when it resets, a refunded call is not spent, and the usage
// each replica reads is the fleet's.
func TestTenantBudgetHoldsAcrossReplicasThroughRedis(t *testing.T) {
	srv := storetest.StartRedis(t)
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, sdk.ChinaTime) }
	budgets := map[string]guard.TenantBudget{"small": {PerDay: "3.00", PerProvider: map[string]guard.TenantBudgetLimits{"p2": {PerMonth: "1.00"}}}}
	var replicas [2]*guard.TenantUsage
	for i := range replicas {
		st, err := store.Open(ctx, srv.URL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		replicas[i] = guard.NewTenantUsage(st, budgets, now, nil)
	}
	if _, err := replicas[0].Spend(ctx, "small", "p1", 1, 100); err != nil {
		t.Fatal(err)
	}
	refunded, err := replicas[1].Spend(ctx, "small", "p1", 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	refunded.Refund() // the call never reached the provider
	if _, err := replicas[1].Spend(ctx, "small", "p2", 1, 100); err != nil {
		t.Fatal(err)
	}
	// p2's own monthly budget (1.00) is spent.
	_, err = replicas[0].Spend(ctx, "small", "p2", 1, 100)
	var le *guard.LimitError
	if !errors.As(err, &le) || le.Whose != guard.LimitTenant || le.Err.Code != sdk.CodeQuotaExhausted {
		t.Fatalf("p2's monthly budget: %v", err)
	}
	// 2.00 of the 3.00 a day are spent across both: one more call of 1.00, then none.
	if _, err := replicas[0].Spend(ctx, "small", "p1", 1, 100); err != nil {
		t.Fatal(err)
	}
	_, err = replicas[1].Spend(ctx, "small", "p1", 1, 100)
	if !errors.As(err, &le) || le.Err.RetryAfter != 14*time.Hour {
		t.Fatalf("the daily budget across replicas: %v", err)
	}
	// A tenant without a budget is counted, never refused.
	for range 5 {
		if _, err := replicas[0].Spend(ctx, "big", "p1", 2, 100); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := replicas[1].Read(ctx, "small", []string{"p1", "p2"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SpentToday.Amount != 300 || rep.Providers[0].CallsToday != 2 || rep.Providers[1].CallsMonth != 1 || rep.Budget == nil {
		t.Fatalf("small's usage: %+v", rep)
	}
	if rep, _ := replicas[0].Read(ctx, "big", []string{"p1"}); rep.Providers[0].CallsToday != 10 || rep.SpentMonth.Amount != 1000 {
		t.Fatalf("big's usage: %+v", rep)
	}
	// Without a budget the counts reach the store at the next flush (once
	// a second in the background; here, now): every replica reads them.
	replicas[0].Flush(ctx)
	if rep, _ := replicas[1].Read(ctx, "big", []string{"p1"}); rep.Providers[0].CallsToday != 10 || rep.SpentMonth.Amount != 1000 {
		t.Fatalf("big's usage read on the other replica: %+v", rep)
	}
	// The store down: a tenant with a budget is refused (fail closed), one
	// without is let through uncounted.
	srv.Stop()
	if _, err := replicas[0].Spend(ctx, "small", "p1", 1, 1); sdk.CodeOf(err) != sdk.CodeUnavailable {
		t.Fatalf("small with the store down: %v", err)
	}
	if _, err := replicas[0].Spend(ctx, "big", "p1", 1, 1); err != nil {
		t.Fatalf("big with the store down: %v", err)
	}
}
