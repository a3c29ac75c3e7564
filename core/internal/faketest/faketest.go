// Package faketest is a provider for the host's own tests: it quotes fixed
// prices and misbehaves on demand (by the item's model), in process or as a
// real plugin process.
package faketest

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Models that make the provider misbehave.
const (
	ModelSleep = "sleep" // block until the caller's deadline
	ModelCrash = "crash" // the process exits (plugin runtime)
	ModelEnv   = "env"   // remark lists the environment variable names the process sees
	ModelPID   = "pid"   // remark is the process id
	ModelFail  = "fail"  // answer unavailable
	ModelPanic = "panic" // panic inside the provider
)

// Provider is the fake. Price is what it quotes, in fen.
type Provider struct {
	ID     string
	Price  int64
	Calls  atomic.Int64
	secret string
}

// New returns a fake with the id and price.
func New(id string, price int64) *Provider { return &Provider{ID: id, Price: price} }

// Manifest implements sdk.Provider.
func (p *Provider) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: p.ID, Name: "Fake " + p.ID, Version: "0.1.0", Status: sdk.StatusStable,
		Categories:   []sdk.Category{sdk.CategoryPhone, sdk.CategoryTablet},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapCatalog},
		Secrets:      []sdk.ConfigKey{{Name: "app_secret", Description: "signing secret", Required: true}},
		Config:       []sdk.ConfigKey{{Name: "base_url", Description: "where the provider is"}},
		Limits:       sdk.Limits{QPS: 5, QuoteCacheTTL: sdk.Duration(10 * time.Minute), Timeout: sdk.Duration(5 * time.Second)}}
}

// Configure implements sdk.Configurer; it logs its secret on purpose so tests
// can check the host redacts it.
func (p *Provider) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if req.Secrets["app_secret"] == "" {
		return nil, sdk.InvalidField("app_secret", "is required")
	}
	p.secret = req.Secrets["app_secret"]
	req.LoggerOf().Info("configured with secret "+p.secret, "app_secret", p.secret, "base_url", req.Config["base_url"])
	req.LoggerOf().Warn("a fake provider, for tests only", "mode", "test", "app_secret", p.secret)
	return &sdk.ConfigureResponse{Manifest: p.Manifest()}, nil
}

// Quote implements sdk.Quoter.
func (p *Provider) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	p.Calls.Add(1)
	q := sdk.Quote{Provider: p.ID, QuoteID: p.ID + "-q1", Price: sdk.Fen(p.Price), Orderable: true,
		ValidUntil: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	switch req.Item.Model {
	case ModelSleep:
		<-ctx.Done()
		return nil, ctx.Err()
	case ModelCrash:
		os.Exit(3)
	case ModelEnv:
		var names []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			names = append(names, k)
		}
		sort.Strings(names)
		q.Remark = strings.Join(names, ",")
	case ModelPID:
		q.Remark = strconv.Itoa(os.Getpid())
	case ModelFail:
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: "provider down", Retryable: true, ProviderCode: "500"}
	case ModelPanic:
		panic("fake provider panics")
	}
	return &sdk.QuoteResponse{Quote: q}, nil
}

// SearchCatalog implements sdk.Cataloger.
func (p *Provider) SearchCatalog(_ context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	return &sdk.SearchCatalogResponse{Items: []sdk.CatalogItem{{Provider: p.ID, ID: "m1", Kind: sdk.KindModel, Title: "Model for " + req.Query}}, Total: 1, Page: 1, PageSize: 20}, nil
}

// GetCatalogItem implements sdk.Cataloger.
func (p *Provider) GetCatalogItem(_ context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	if req.ID != "m1" {
		return nil, sdk.Errorf(sdk.CodeNotFound, "no item %q", req.ID)
	}
	return &sdk.GetCatalogItemResponse{Item: sdk.CatalogItem{Provider: p.ID, ID: "m1", Kind: sdk.KindModel, Title: "Model"}}, nil
}

var (
	_ sdk.Configurer = (*Provider)(nil)
	_ sdk.Quoter     = (*Provider)(nil)
	_ sdk.Cataloger  = (*Provider)(nil)
)
