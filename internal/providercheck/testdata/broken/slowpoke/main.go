// Command slowpoke is a provider broken on purpose for the provider check's
// tests: it calls its upstream without the call's context, so it ignores the deadline.
package main

import (
	"context"
	"net/http"

	"github.com/recyclegate/recyclegate/sdk"
)

type provider struct{ key, base string }

func (p *provider) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "slowpoke", Name: "slowpoke (broken on purpose)", Version: "1.0.0", Status: sdk.StatusBeta,
		Categories: []sdk.Category{sdk.CategoryPhone}, Capabilities: []sdk.Capability{sdk.CapQuote},
		Config:  []sdk.ConfigKey{{Name: "base_url", Type: sdk.TypeURL, Required: true, Description: "the provider's API"}},
		Secrets: []sdk.ConfigKey{{Name: "api_key", Required: true, Description: "the provider's key"}},
		Limits:  sdk.Limits{QPS: 10}}
}

func (p *provider) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	p.key, p.base = req.Value("api_key"), req.Value("base_url")
	return &sdk.ConfigureResponse{Manifest: p.Manifest()}, nil
}

func (p *provider) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	if req.Item.Category != sdk.CategoryPhone {
		return nil, sdk.InvalidField("item.category", "phones only")
	}
	if req.Item.Model == "" {
		return nil, sdk.InvalidField("item.model", "is required")
	}
	resp, err := http.Get(p.base + "/price") // the bug: no ctx, so the call's deadline never reaches it
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeUnavailable, "upstream: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, sdk.Errorf(sdk.CodeUnavailable, "upstream: HTTP %d", resp.StatusCode)
	}
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "slowpoke", QuoteID: "q1", Price: sdk.Fen(100000)}}, nil
}

func main() {

	sdk.Serve(&provider{})
}
