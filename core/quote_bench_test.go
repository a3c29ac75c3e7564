package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// BenchmarkHostQuoteUncached is Host.Quote of a new item each time at an
// in-process provider, its cache off: the host's whole decided path.
func BenchmarkHostQuoteUncached(b *testing.B) {
	h, err := core.New(core.Config{}, core.WithProvider(faketest.New("fake", 100), map[string]string{"app_secret": "x"}),
		core.WithGuards("fake", core.GuardConfig{QPS: 1e9, MaxInFlight: 1 << 20, CacheTTL: -1}),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	t := &core.Tenant{ID: "t"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		it := sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: fmt.Sprintf("m%d", i), Storage: "256GB", Condition: sdk.ConditionExcellent}
		if _, err := h.Quote(context.Background(), t, &core.QuoteRequest{Item: it}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostQuoteRecording is what recording each policy decision for
// replay adds to the quote path: Host.Quote of a new item each time under
// policies, with orders.decision_records off and on, interleaved in
// rounds so both see the same machine load. p50-ns is the median quote;
// the difference of the two is the recording's cost (the encoding and the
// write run on the audit writer's goroutine, not here).
func BenchmarkHostQuoteRecording(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(benchPolicies), 0o644); err != nil {
		b.Fatal(err)
	}
	hosts := map[string]*core.Host{}
	for _, mode := range []string{"off", "on"} {
		records := -1
		if mode == "on" {
			records = 0 // the default cap
		}
		h, err := core.New(core.Config{DataDir: b.TempDir(), Policies: dir, Orders: core.OrdersConfig{PollInterval: -1, DecisionRecords: records}},
			core.WithProvider(faketest.New("fake", 100), map[string]string{"app_secret": "x"}),
			core.WithGuards("fake", core.GuardConfig{QPS: 1e9, MaxInFlight: 1 << 20, CacheTTL: -1}),
			core.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		hosts[mode] = h
	}
	t := &core.Tenant{ID: "t"}
	for _, mode := range []string{"off", "on"} {
		b.Run("recording "+mode, func(b *testing.B) {
			h := hosts[mode]
			durs := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for i := range b.N {
				it := sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: fmt.Sprintf("%s%d", mode, i), Storage: "256GB", Condition: sdk.ConditionExcellent}
				start := time.Now()
				if _, err := h.Quote(context.Background(), t, &core.QuoteRequest{Item: it}); err != nil {
					b.Fatal(err)
				}
				durs = append(durs, time.Since(start))
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
			if mode == "on" { // what the writer kept up with
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, _ = h.Audit(ctx, t, core.AuditFilter{Limit: 1}) // waits for the writer
				cancel()
				mfs, _ := h.Metrics().Gather()
				for _, mf := range mfs {
					if mf.GetName() != "recyclegate_policy_decision_records_total" {
						continue
					}
					for _, m := range mf.GetMetric() {
						b.ReportMetric(m.GetCounter().GetValue(), m.GetLabel()[0].GetValue())
					}
				}
			}
		})
	}
}

// benchPolicies are a compliance rule, a route and two filters: every
// stage is decided, and recorded.
const benchPolicies = `
compliance:
  - name: tenant-category
    when: request.item.category != '' && !(request.item.category in tenant.categories)
    message: not entitled
routing:
  - name: phones
    when: request.item.category == 'phone'
    providers: [fake]
default:
  providers: ["*"]
filters:
  - name: zero-price
    when: quote.price <= 0
    message: no offer
  - name: short-validity
    when: quote.valid_for < duration('1h')
    message: too short
`
