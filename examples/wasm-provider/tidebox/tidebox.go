// Package tidebox is an example provider written once and built both ways:
// natively (tests, a go-plugin binary) and as a WASM module (../main.go).
// Tidebox is an imaginary phone recycler: it prices from a list, adjusted by
// a live market factor from its rates service when rates_url is configured.
package tidebox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
)

// ID is the provider's id.
const ID = "tidebox"

// Provider is the tidebox provider. HTTPClient is injectable: the WASM main
// hands it a client that goes through the host.
type Provider struct {
	HTTPClient *http.Client

	apiKey   string
	ratesURL string
}

// New returns an unconfigured provider.
func New() *Provider { return &Provider{HTTPClient: http.DefaultClient} }

// listPrices are in fen, for a device in new condition, by lower-cased model.
var listPrices = map[string]int64{
	"iphone 15":     450000,
	"iphone 14":     360000,
	"pixel 8":       280000,
	"galaxy s24":    390000,
	"galaxy a54":    120000,
	"xiaomi 14":     260000,
	"mate 60 pro":   410000,
	"iphone 13":     250000,
	"iphone se 3":   110000,
	"oneplus 12":    270000,
	"find x7":       300000,
	"redmi note 13": 70000,
}

// perMille of the list price by condition.
var perMille = map[sdk.Condition]int64{
	sdk.ConditionNew: 1000, sdk.ConditionLikeNew: 920, sdk.ConditionExcellent: 860,
	sdk.ConditionGood: 780, sdk.ConditionFair: 640, sdk.ConditionPoor: 450,
}

// Manifest implements sdk.Provider.
func (p *Provider) Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID: ID, Name: "Tidebox (WASM example)", Version: "1.0.0", Status: sdk.StatusBeta,
		Categories:   []sdk.Category{sdk.CategoryPhone},
		Capabilities: []sdk.Capability{sdk.CapQuote},
		Config: []sdk.ConfigKey{{Name: "rates_url", Type: sdk.TypeURL,
			Description: "tidebox's rates service; its market factor adjusts prices. Empty: list prices only"}},
		Secrets:     []sdk.ConfigKey{{Name: "api_key", Description: "the key tidebox issued", Required: true}},
		Limits:      sdk.Limits{QPS: 50, QuoteValidity: sdk.Duration(48 * time.Hour), Timeout: sdk.Duration(5 * time.Second)},
		Description: "An example provider written once and run as a WASM module.",
	}
}

// Configure implements sdk.Configurer.
func (p *Provider) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	key := req.Value("api_key")
	if key == "" {
		return nil, sdk.InvalidField("api_key", "is required")
	}
	rates := strings.TrimSpace(req.Value("rates_url"))
	if rates != "" {
		if u, err := url.Parse(rates); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, sdk.InvalidField("rates_url", "must be an http or https URL, got %q", rates)
		}
	}
	p.apiKey, p.ratesURL = key, rates
	req.LoggerOf().Info("tidebox configured", "rates_url", rates) // never a secret: the host redacts its own log, not yours
	return &sdk.ConfigureResponse{Manifest: p.Manifest()}, nil
}

// Quote implements sdk.Quoter.
func (p *Provider) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	if p.apiKey == "" {
		return nil, sdk.Errorf(sdk.CodeUnavailable, "tidebox is not configured")
	}
	it := req.Item
	if it.Category != sdk.CategoryPhone {
		return nil, sdk.InvalidField("item.category", "tidebox buys phones only")
	}
	model := strings.ToLower(strings.TrimSpace(it.Model))
	if model == "" {
		return nil, sdk.InvalidField("item.model", "is required")
	}
	list, ok := listPrices[model]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Field: "item.model", Message: fmt.Sprintf("tidebox does not buy %q", it.Model)}
	}
	factor, ok := perMille[it.Condition]
	if !ok {
		return nil, sdk.InvalidField("item.condition", "unknown condition %q", it.Condition)
	}
	price := list * factor / 1000
	market := 1.0
	if p.ratesURL != "" {
		m, err := p.marketFactor(ctx, model)
		if err != nil {
			return nil, err
		}
		market = m
		price = int64(float64(price)*m/100+0.5) * 100 // whole yuan
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return nil, sdk.Errorf(sdk.CodeProviderError, "drawing a quote id: %v", err)
	}
	now := time.Now()
	return &sdk.QuoteResponse{Quote: sdk.Quote{
		Provider: ID, QuoteID: "tb-" + hex.EncodeToString(id), Price: sdk.Fen(price),
		ValidUntil: now.Add(48 * time.Hour), Channels: []string{sdk.ChannelMail},
		Breakdown: &sdk.Breakdown{BasePrice: sdk.Fen(list).Ptr(), ConditionDiscount: float64(factor) / 1000,
			MarketCoefficient: market, FinalPrice: sdk.Fen(price).Ptr()},
	}}, nil
}

// marketFactor asks the rates service: GET {rates_url}?model=..., answered
// {"factor": 1.04}.
func (p *Provider) marketFactor(ctx context.Context, model string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ratesURL+"?model="+url.QueryEscape(model), nil)
	if err != nil {
		return 0, sdk.Errorf(sdk.CodeInvalidArgument, "rates request: %v", err)
	}
	req.Header.Set("X-Api-Key", p.apiKey)
	resp, body, err := httpkit.Do(p.HTTPClient, req, 1<<16, "tidebox rates service")
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true,
			Message:      fmt.Sprintf("tidebox rates service: HTTP %d: %s", resp.StatusCode, httpkit.Snippet(body)),
			ProviderCode: fmt.Sprintf("HTTP %d", resp.StatusCode), ProviderMessage: strings.TrimSpace(string(body))}
	}
	var r struct {
		Factor float64 `json:"factor"`
	}
	if err := httpkit.DecodeJSON(body, &r); err != nil || r.Factor <= 0.5 || r.Factor > 1.5 {
		return 0, sdk.Errorf(sdk.CodeProviderError, "tidebox rates service answered %s", httpkit.Snippet(body))
	}
	return r.Factor, nil
}

var (
	_ sdk.Configurer = (*Provider)(nil)
	_ sdk.Quoter     = (*Provider)(nil)
)
