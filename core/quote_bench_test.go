package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

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
