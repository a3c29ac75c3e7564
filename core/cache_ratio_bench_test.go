package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// BenchmarkQuoteCacheHitRatio runs one workload through the quote cache and
// reports its hit ratio: three tenants each asking the same 20 items 5
// times, interleaved, of a provider whose quotes can be ordered (rec: it
// takes orders) and of one whose quotes cannot (fake: a valuation only).
// Answers are not reused (answer_ttl off), so every request meets the
// provider's cache. docs/BENCHMARKS.md has the figures before and after
// orderable quotes were cached per tenant.
func BenchmarkQuoteCacheHitRatio(b *testing.B) {
	for _, provider := range []string{"rec", "fake"} {
		b.Run(provider, func(b *testing.B) {
			var hits, looks float64
			for range b.N {
				h, l := cacheWorkload(b, provider)
				hits += h
				looks += l
			}
			b.ReportMetric(hits/looks, "hit-ratio")
			b.ReportMetric(looks/float64(b.N)-hits/float64(b.N), "provider-calls/op")
		})
	}
}

// cacheWorkload runs the workload on a new host and returns the cache's
// hits and look-ups.
func cacheWorkload(b *testing.B, provider string) (hits, looks float64) {
	clock := &manualClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	tenants := []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-t1-0123456789ab"}}, {ID: "t2", APIKeys: []string{"key-t2-0123456789ab"}},
		{ID: "t3", APIKeys: []string{"key-t3-0123456789ab"}}}
	h, err := core.New(core.Config{Tenants: tenants, AnswerTTL: -1},
		core.WithClock(clock.Now), core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithProvider(newRecycler(clock), nil), core.WithProvider(faketest.New("fake", 100), map[string]string{"app_secret": "x"}),
		core.WithGuards("rec", core.GuardConfig{CacheTTL: time.Hour, QPS: 1e9}), core.WithGuards("fake", core.GuardConfig{CacheTTL: time.Hour, QPS: 1e9}))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for round := range 5 {
		for i := range 20 {
			for _, tc := range tenants {
				it := sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: fmt.Sprintf("iPhone %d", i), Storage: "256GB", Condition: sdk.ConditionExcellent}
				res, err := h.Quote(context.Background(), &core.Tenant{ID: tc.ID}, &core.QuoteRequest{Item: it, Providers: []string{provider}})
				if err != nil || len(res.Quotes) != 1 {
					b.Fatalf("round %d: %+v %v", round, res, err)
				}
			}
		}
	}
	mfs, err := h.Metrics().Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "recyclegate_quote_cache_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var p, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "provider":
					p = l.GetValue()
				case "outcome", "result":
					outcome = l.GetValue()
				}
			}
			if p != provider {
				continue
			}
			looks += m.GetCounter().GetValue()
			if outcome == "hit" {
				hits += m.GetCounter().GetValue()
			}
		}
	}
	return hits, looks
}
