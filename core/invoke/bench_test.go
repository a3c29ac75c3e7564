package invoke

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/sdk"
)

// BenchmarkQuoteGuards measures what the guards add to a quote from an
// in-process provider (no network, no plugin): the same Service.Quote
// with no guards (the runtime alone), through the breaker and limits only,
// with a quota and budget kept in the embedded store or in Redis, and
// answered from the cache.
//
//	go test -run '^$' -bench QuoteGuards -benchmem ./core/invoke/
func BenchmarkQuoteGuards(b *testing.B) {
	item := func(i int) sdk.Item {
		return sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: fmt.Sprintf("m%d", i), Storage: "256GB", Condition: sdk.ConditionExcellent}
	}
	unlimited := guard.Config{QPS: 1e9, MaxInFlight: 1 << 20, CacheTTL: -1}
	counted := unlimited
	counted.DailyQuota = 1 << 40
	counted.CostPerCall = "0.01"
	counted.Budget = guard.BudgetConfig{PerDay: "100000000", PerMonth: "100000000"}
	cached := unlimited
	cached.CacheTTL = 0 // the manifest's 10 minutes
	redisURL := storetest.StartRedis(b).URL
	for _, bc := range []struct {
		name     string
		guards   guard.Config
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
			s := newBenchService(b, bc.guards, bc.store, redisURL)
			if bc.noGuards {
				pl := s.byID["fake"]
				pl.call = pl.available(pl.runtime)
			}
			ctx := context.Background()
			c := &Call{Tenant: &Tenant{ID: "t"}, Pass: &Pass{svc: s, tenant: "t", providers: []string{"fake"}}}
			if bc.sameItem {
				if _, err := s.Quote(ctx, "fake", c, &sdk.QuoteRequest{Item: item(0)}); err != nil {
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
				if _, err := s.Quote(ctx, "fake", c, &sdk.QuoteRequest{Item: item(n)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newBenchService(b testing.TB, g guard.Config, kind, redisURL string) *Service {
	return newService(b, faketest.New("fake", 100), g, kind, redisURL)
}

// newService serves provider p (id "fake") through a pipeline built from g,
// its counters in a store of kind ("": memory, "embedded", "redis").
func newService(b testing.TB, p sdk.Provider, g guard.Config, kind, redisURL string) *Service {
	log := slog.New(slog.DiscardHandler)
	reg, err := registry.New([]registry.Spec{{ID: "fake", Runtime: registry.RuntimeInProcess,
		Impl: p, Config: map[string]string{"app_secret": "x"}}}, registry.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(reg.Close)
	opts := store.Options{}
	switch kind {
	case "":
		kind = "memory"
	case "embedded":
		opts.Dir = b.TempDir()
	case "redis":
		kind = redisURL
	}
	st, err := store.Open(context.Background(), kind, opts)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Registry: reg, Guards: map[string]guard.Config{"fake": g}, Store: st, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkOutcomesNote measures what counting a call and folding it into
// the recent error rate (GuardInfo's calls, errors, error_rate) adds to
// every call that reaches a provider, alone and from every P at once.
func BenchmarkOutcomesNote(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		var o outcomes
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			o.note(i%16 == 0)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var o outcomes
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				o.note(i%16 == 0)
				i++
			}
		})
	})
}
