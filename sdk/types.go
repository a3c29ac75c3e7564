package sdk

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as text ("10m0s",
// "48h0m0s") and also accepts a number of nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "10m", "1h30m" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want text such as \"10m\" or nanoseconds")
	}
	*d = Duration(n)
	return nil
}

// Breakdown explains how a provider reached its price, where it says.
type Breakdown struct {
	BasePrice         *Money  `json:"base_price,omitempty"`         // before any deduction
	ConditionDiscount float64 `json:"condition_discount,omitempty"` // factor, 0.9 for "90% new"
	FunctionDeduction *Money  `json:"function_deduction,omitempty"` // subtracted for faults
	MarketCoefficient float64 `json:"market_coefficient,omitempty"` // supply and demand, 0.9-1.1
	FinalPrice        *Money  `json:"final_price,omitempty"`
}

// PriceTiers are the prices of a car valuation.
type PriceTiers struct {
	Private    *Money `json:"private,omitempty"`     // a private sale
	DealerBuy  *Money `json:"dealer_buy,omitempty"`  // what a dealer pays the seller
	DealerSell *Money `json:"dealer_sell,omitempty"` // what a dealer asks a buyer
	Guide      *Money `json:"guide,omitempty"`       // the factory guide price when new
}

// Quote is a provider's price for an item.
type Quote struct {
	Provider   string          `json:"provider"`
	QuoteID    string          `json:"quote_id"`
	Price      Money           `json:"price"` // what the seller receives
	ValidUntil time.Time       `json:"valid_until"`
	Orderable  bool            `json:"orderable"` // an order can be created from QuoteID
	Deposit    *Money          `json:"deposit,omitempty"`
	Breakdown  *Breakdown      `json:"breakdown,omitempty"`
	Tiers      *PriceTiers     `json:"tiers,omitempty"`
	Channels   []string        `json:"channels,omitempty"`
	Remark     string          `json:"remark,omitempty"`
	Item       *Item           `json:"item,omitempty"`   // the item as the provider understood it
	Checks     []string        `json:"checks,omitempty"` // what inspection will look at
	Raw        json.RawMessage `json:"raw,omitempty"`    // the provider's reply, as sent
}

// QuoteRequest asks for one item's price.
type QuoteRequest struct {
	Item   Item `json:"item"`
	Detail bool `json:"detail,omitempty"` // ask for a breakdown where the provider has one
}

// QuoteResponse carries the quote.
type QuoteResponse struct {
	Quote Quote `json:"quote"`
}

// QuoteBatchRequest asks for many items' prices in one provider call.
type QuoteBatchRequest struct {
	Items  []Item `json:"items"`
	Detail bool   `json:"detail,omitempty"`
}

// BatchResult is one item's outcome, by its index in the request.
type BatchResult struct {
	Index int    `json:"index"`
	Quote *Quote `json:"quote,omitempty"`
	Error *Error `json:"error,omitempty"`
}

// QuoteBatchResponse has one result per requested item, in any order.
type QuoteBatchResponse struct {
	Results []BatchResult `json:"results"`
}

// Shop is a seller.
type Shop struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// SKU is one variant of a product.
type SKU struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Price      Money             `json:"price"`
	Stock      *int64            `json:"stock,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// CatalogItem is a normalized catalog entry: a product, a shop, a device
// model, a car type or a city.
type CatalogItem struct {
	Provider   string            `json:"provider"`
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Title      string            `json:"title"`
	Images     []string          `json:"images,omitempty"`
	Price      *Money            `json:"price,omitempty"`
	PriceMin   *Money            `json:"price_min,omitempty"` // where SKUs differ
	PriceMax   *Money            `json:"price_max,omitempty"`
	Sales      int64             `json:"sales,omitempty"`
	URL        string            `json:"url,omitempty"`
	Shop       *Shop             `json:"shop,omitempty"`
	SKUs       []SKU             `json:"skus,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"` // brand, series, year, specs ...
	Raw        json.RawMessage   `json:"raw,omitempty"`
}

// SearchCatalogRequest searches a provider's catalog.
type SearchCatalogRequest struct {
	Query    string            `json:"query"`
	Kind     string            `json:"kind,omitempty"` // one of the Kind constants; the provider's default if empty
	Page     int               `json:"page,omitempty"` // from 1
	PageSize int               `json:"page_size,omitempty"`
	Filters  map[string]string `json:"filters,omitempty"` // provider-documented: min_price, max_price, sort, shop_id, brand, year ...
}

// SearchCatalogResponse is one page of results.
type SearchCatalogResponse struct {
	Items    []CatalogItem `json:"items"`
	Total    int           `json:"total"`
	Page     int           `json:"page"`
	PageSize int           `json:"page_size"`
}

// GetCatalogItemRequest fetches one catalog entry by id.
type GetCatalogItemRequest struct {
	ID   string `json:"id"`
	Kind string `json:"kind,omitempty"`
}

// GetCatalogItemResponse carries the entry.
type GetCatalogItemResponse struct {
	Item CatalogItem `json:"item"`
}

// ConfigureRequest hands a provider its configuration. Config holds the
// provider's documented keys as the operator wrote them; Secrets holds the
// keys the manifest lists as secrets, kept apart so the host can redact them.
type ConfigureRequest struct {
	Config  map[string]string `json:"config"`
	Secrets map[string]string `json:"secrets"`
	// Logger writes into the host's structured log, whatever the runtime.
	// Set by the runtime; nil-safe via LoggerOf.
	Logger *slog.Logger `json:"-"`
}

// Value returns a config or secret value, config first.
func (r *ConfigureRequest) Value(key string) string {
	if v, ok := r.Config[key]; ok {
		return v
	}
	return r.Secrets[key]
}

// LoggerOf returns r.Logger, or a logger that discards when there is none.
func (r *ConfigureRequest) LoggerOf() *slog.Logger {
	if r == nil || r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// ConfigureResponse answers the manifest in force after the configuration
// (limits may depend on it, a daily quota by access tier for example).
type ConfigureResponse struct {
	Manifest Manifest `json:"manifest"`
}
