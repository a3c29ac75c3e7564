package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/policy"
)

// benchInput is a realistic recorded input: a phone from a tenant of the
// default entitlements, three providers, two quotes judged.
func benchInput() *policy.Input {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	in := &policy.Input{Now: now,
		Request: policy.Request{Item: policy.Item{Category: "phone", Brand: "Apple", Model: "iPhone 14 Pro", Storage: "256GB", Condition: "excellent"}},
		Tenant:  policy.Tenant{ID: "acme"},
		Providers: []policy.Provider{
			{ID: "aihuishou", State: "ready", Categories: []string{"phone", "tablet", "laptop", "camera", "watch"},
				Capabilities:   []string{"quote", "quote_batch", "catalog", "orders", "tracking", "inspection", "settlement", "trade_in"},
				QuotaRemaining: 9500, DailyQuota: 10000, QPS: 20, Latency: 120 * time.Millisecond},
			{ID: "carvalue", State: "ready", Categories: []string{"car"}, Capabilities: []string{"quote", "catalog"}, QuotaRemaining: -1},
			{ID: "alibaba1688", State: "ready", Categories: []string{"phone", "tablet", "laptop", "earphones", "watch"},
				Capabilities: []string{"catalog"}, QuotaRemaining: -1, Breaker: "open"},
		},
		Quotes: []policy.Quote{{Provider: "aihuishou", QuoteID: "Q1", Price: 512000, ValidUntil: now.Add(72 * time.Hour), Orderable: true},
			{Provider: "aihuishou", QuoteID: "Q2", Price: 0, ValidUntil: now.Add(time.Minute)}},
	}
	in.Normalize()
	return in
}

// BenchmarkRecord is the encoding of one decision for replay (on the
// audit writer's goroutine, not the request's) and its decoding (on the
// replay's).
func BenchmarkRecord(b *testing.B) {
	set, err := policy.LoadDir("../../policies", policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	d := set.Evaluate(context.Background(), in)
	data, err := policy.EncodeRecord(in, d, policy.StageComply|policy.StageRoute|policy.StageFilter)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.ReportMetric(float64(len(data)), "bytes/record")
		for range b.N {
			if _, err := policy.EncodeRecord(in, d, policy.StageComply|policy.StageRoute|policy.StageFilter); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, _, _, err := policy.DecodeRecord(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
