package core_test

import (
	"context"
	"testing"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

func TestProvidersReportTheirRecentLatency(t *testing.T) {
	h, err := core.New(core.Config{}, core.WithProvider(faketest.New("fake", 1), map[string]string{"app_secret": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if l := h.Providers()[0].Latency; l != 0 {
		t.Fatalf("latency %s before any call", l.D())
	}
	item := sdk.Item{Category: sdk.CategoryPhone, Model: "x", Condition: sdk.ConditionGood}
	if _, err := h.Quote(context.Background(), nil, &core.QuoteRequest{Item: item}); err != nil {
		t.Fatal(err)
	}
	if l := h.Providers()[0].Latency; l <= 0 {
		t.Fatalf("latency %s after a call", l.D())
	}
}
