package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Provider is the greenbox provider: a price list, a condition factor and a
// deduction per functional issue.
type Provider struct {
	apiKey string
	now    func() time.Time
}

// New returns an unconfigured provider.
func New() *Provider { return &Provider{now: time.Now} }

// prices are the list prices in fen of a device in new condition, by
// lower-cased model and storage.
var prices = map[string]int64{
	"iphone 14 pro/256gb":   520000,
	"iphone 14 pro/128gb":   480000,
	"iphone 13/128gb":       260000,
	"galaxy s23/256gb":      310000,
	"apple watch series 8/": 120000,
}

// conditionFactor is per mille of the list price.
var conditionFactor = map[sdk.Condition]int64{
	sdk.ConditionNew: 1000, sdk.ConditionLikeNew: 930, sdk.ConditionExcellent: 880,
	sdk.ConditionGood: 800, sdk.ConditionFair: 680, sdk.ConditionPoor: 500,
}

// Manifest implements sdk.Provider.
func (p *Provider) Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID: "greenbox", Name: "Greenbox trade-in (example)", Version: "1.0.0", Status: sdk.StatusBeta,
		Categories:   []sdk.Category{sdk.CategoryPhone, sdk.CategoryWatch},
		Capabilities: []sdk.Capability{sdk.CapQuote},
		Secrets:      []sdk.ConfigKey{{Name: "api_key", Description: "the key greenbox issued", Required: true}},
		Limits:       sdk.Limits{QPS: 20, QuoteCacheTTL: sdk.Duration(time.Hour), QuoteValidity: sdk.Duration(72 * time.Hour)},
		Description:  "An example provider built outside the host as its own plugin binary.",
	}
}

// Configure implements sdk.Configurer.
func (p *Provider) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	p.apiKey = req.Value("api_key")
	if p.apiKey == "" {
		return nil, sdk.InvalidField("api_key", "is required")
	}
	req.LoggerOf().Info("greenbox configured")
	return &sdk.ConfigureResponse{Manifest: p.Manifest()}, nil
}

// Quote implements sdk.Quoter.
func (p *Provider) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	it := req.Item
	m := p.Manifest()
	switch {
	case !m.Serves(it.Category):
		return nil, sdk.InvalidField("item.category", "greenbox buys phones and watches, not %q", it.Category)
	case strings.TrimSpace(it.Model) == "":
		return nil, sdk.InvalidField("item.model", "is required")
	}
	key := strings.ToLower(strings.TrimSpace(it.Model)) + "/" + strings.ToLower(it.Storage)
	list, ok := prices[key]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Field: "item.model",
			Message: fmt.Sprintf("greenbox does not buy %s %s", it.Model, it.Storage)}
	}
	price := list * conditionFactor[it.Condition] / 1000
	deduction := int64(len(it.FunctionalIssues)) * 30000
	price = max(price-deduction, 0)
	now := p.now()
	sum := sha256.Sum256([]byte(key + string(it.Condition) + now.Format(time.RFC3339)))
	return &sdk.QuoteResponse{Quote: sdk.Quote{
		Provider: "greenbox", QuoteID: "gb-" + hex.EncodeToString(sum[:6]), Price: sdk.Fen(price),
		ValidUntil: now.Add(72 * time.Hour), Channels: []string{sdk.ChannelMail},
		Breakdown: &sdk.Breakdown{BasePrice: sdk.Fen(list).Ptr(), FunctionDeduction: sdk.Fen(deduction).Ptr(),
			ConditionDiscount: float64(conditionFactor[it.Condition]) / 1000, FinalPrice: sdk.Fen(price).Ptr()},
	}}, nil
}

var (
	_ sdk.Configurer = (*Provider)(nil)
	_ sdk.Quoter     = (*Provider)(nil)
)
