package main

import (
	"context"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// echo is the benchmarks' own provider: it prices any phone at once, so what
// is measured is the host around it, not a provider.
type echo struct{ id string }

// Manifest implements sdk.Provider. No QPS, quota or budget: the guards let
// every call through, and quotes may be cached for ten minutes.
func (e *echo) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: e.id, Name: "Benchmark echo", Version: "1.0.0", Status: sdk.StatusStable,
		Categories:   []sdk.Category{sdk.CategoryPhone},
		Capabilities: []sdk.Capability{sdk.CapQuote},
		Limits:       sdk.Limits{QuoteCacheTTL: sdk.Duration(10 * time.Minute), Timeout: sdk.Duration(5 * time.Second)}}
}

var validUntil = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

// Quote implements sdk.Quoter.
func (e *echo) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: e.id, QuoteID: e.id + ":" + req.Item.Model,
		Price: sdk.Fen(512300), ValidUntil: validUntil, Orderable: true, Channels: []string{sdk.ChannelMail}}}, nil
}

var _ sdk.Quoter = (*echo)(nil)
