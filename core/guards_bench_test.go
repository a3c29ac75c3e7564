package core

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/sdk"
)

// BenchmarkQuoteGuards measures what the guards add to a quote from an
// in-process provider (no network, no plugin): the same Host.Quote with no
// guards, through the breaker and limits only, with a quota and budget kept
// in the embedded store or in Redis, and answered from the cache.
//
//	go test -run '^$' -bench QuoteGuards -benchmem ./core/
func BenchmarkQuoteGuards(b *testing.B) {
	item := func(i int) sdk.Item {
		return sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: fmt.Sprintf("m%d", i), Storage: "256GB", Condition: sdk.ConditionExcellent}
	}
	unlimited := GuardConfig{QPS: 1e9, MaxInFlight: 1 << 20, CacheTTL: -1}
	counted := unlimited
	counted.DailyQuota = 1 << 40
	counted.CostPerCall = "0.01"
	counted.Budget = BudgetConfig{PerDay: "100000000", PerMonth: "100000000"}
	cached := unlimited
	cached.CacheTTL = 0 // the manifest's 10 minutes
	redisURL := storetest.StartRedis(b).URL
	for _, bc := range []struct {
		name     string
		guards   GuardConfig
		store    string
		noGuards bool
		sameItem bool
	}{
		{name: "uncached/no-guards", guards: unlimited, noGuards: true},
		{name: "uncached/breaker+limits", guards: unlimited},
		{name: "uncached/quota+budget-embedded", guards: counted, store: "embedded"},
		{name: "uncached/quota+budget-redis", guards: counted, store: "redis"},
		{name: "cached/memory", guards: cached, sameItem: true},
		{name: "cached/redis", guards: cached, store: "redis", sameItem: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := Config{}
			switch bc.store {
			case "embedded":
				cfg.DataDir = b.TempDir()
			case "redis":
				cfg.Store = redisURL
			}
			h, err := New(cfg, WithProvider(faketest.New("fake", 100), map[string]string{"app_secret": "x"}), WithGuards("fake", bc.guards),
				WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			if bc.noGuards {
				h.guards.byID = map[string]*guards{}
			}
			ctx := context.Background()
			tenant := &Tenant{ID: "t"}
			if bc.sameItem {
				if _, err := h.Quote(ctx, tenant, &QuoteRequest{Item: item(0)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				n := i + 1
				if bc.sameItem {
					n = 0
				}
				res, err := h.Quote(ctx, tenant, &QuoteRequest{Item: item(n)})
				if err != nil || len(res.Quotes) != 1 {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
}
