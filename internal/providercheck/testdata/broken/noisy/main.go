// Command noisy is a provider broken on purpose for the provider check's
// tests: it prints on stdout before its handshake.
package main

import (
	"context"
	"fmt"

	"github.com/recyclegate/recyclegate/sdk"
)

type provider struct{ key, base string }

func (p *provider) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "noisy", Name: "noisy (broken on purpose)", Version: "1.0.0", Status: sdk.StatusBeta,
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
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "noisy", QuoteID: "q1", Price: sdk.Fen(100000)}}, nil
}

func main() {
	fmt.Println("noisy provider starting")
	sdk.Serve(&provider{})
}
