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

// OrderState is the normalized life of a recycle order.
type OrderState string

// The order states, in the order an order normally moves through them.
const (
	OrderWaitingToShip OrderState = "waiting_to_ship"
	OrderInTransit     OrderState = "in_transit"
	OrderReceived      OrderState = "received"
	OrderInspecting    OrderState = "inspecting"
	OrderInspected     OrderState = "inspected"
	OrderCompleted     OrderState = "completed"
	OrderCancelled     OrderState = "cancelled"
	OrderReturned      OrderState = "returned"
)

// Final reports whether no further change is expected.
func (s OrderState) Final() bool {
	return s == OrderCompleted || s == OrderCancelled || s == OrderReturned
}

// Customer is the seller. Phone must be masked (138****6789) before it
// leaves the host.
type Customer struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Address string `json:"address,omitempty"`
}

// Store is a place to hand an item in.
type Store struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Hours   string `json:"hours,omitempty"`
}

// StateChange is one step of an order's history.
type StateChange struct {
	State         OrderState `json:"state"`
	ProviderState string     `json:"provider_state,omitempty"`
	At            time.Time  `json:"at"`
}

// Order is a recycle order at a provider.
type Order struct {
	Provider       string          `json:"provider"`
	OrderID        string          `json:"order_id"` // the provider's order number
	QuoteID        string          `json:"quote_id,omitempty"`
	State          OrderState      `json:"state"`
	ProviderState  string          `json:"provider_state,omitempty"` // the provider's own word for the state
	Price          *Money          `json:"price,omitempty"`
	Logistics      string          `json:"logistics,omitempty"`
	TrackingNo     string          `json:"tracking_no,omitempty"`
	Carrier        string          `json:"carrier,omitempty"`
	Store          *Store          `json:"store,omitempty"`
	Customer       *Customer       `json:"customer,omitempty"`
	SettlementID   string          `json:"settlement_id,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at,omitempty"`
	History        []StateChange   `json:"history,omitempty"`
	Raw            json.RawMessage `json:"raw,omitempty"`
	IdempotencyKey string          `json:"-"`
}

// CreateOrderRequest creates a recycle order from an orderable quote.
type CreateOrderRequest struct {
	QuoteID   string   `json:"quote_id"`
	Customer  Customer `json:"customer"`
	Logistics string   `json:"logistics"` // LogisticsExpress or LogisticsStore
	// Reference is the host's own id for the order, so a provider that
	// supports it can find the order again after a lost answer.
	Reference string `json:"reference,omitempty"`
}

// CreateOrderResponse carries the order.
type CreateOrderResponse struct {
	Order Order `json:"order"`
}

// GetOrderRequest looks an order up by the provider's order id or, when that
// is unknown (an answer was lost), by the quote it was created from.
type GetOrderRequest struct {
	OrderID string `json:"order_id,omitempty"`
	QuoteID string `json:"quote_id,omitempty"`
}

// GetOrderResponse carries the order.
type GetOrderResponse struct {
	Order Order `json:"order"`
}

// TrackingEvent is one scan of a shipment.
type TrackingEvent struct {
	At          time.Time `json:"at"`
	Location    string    `json:"location,omitempty"`
	Description string    `json:"description"`
}

// Tracking is a shipment's trace.
type Tracking struct {
	Carrier    string          `json:"carrier"`
	TrackingNo string          `json:"tracking_no"`
	Status     string          `json:"status"` // pending, in_transit, delivered, returned
	Events     []TrackingEvent `json:"events"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// TrackOrderRequest asks for an order's shipment trace.
type TrackOrderRequest struct {
	OrderID    string `json:"order_id,omitempty"`
	TrackingNo string `json:"tracking_no,omitempty"`
	Carrier    string `json:"carrier,omitempty"`
}

// TrackOrderResponse carries the trace.
type TrackOrderResponse struct {
	Tracking Tracking `json:"tracking"`
}

// InspectionCheck is one point of an inspection report.
type InspectionCheck struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Result string `json:"result,omitempty"`
}

// Inspection is the report of the provider's inspection of a received item.
type Inspection struct {
	OrderID     string            `json:"order_id"`
	Conclusion  string            `json:"conclusion"`
	Condition   Condition         `json:"condition,omitempty"` // the condition found
	Checks      []InspectionCheck `json:"checks"`
	QuotedPrice *Money            `json:"quoted_price,omitempty"`
	FinalPrice  Money             `json:"final_price"`
	InspectedAt time.Time         `json:"inspected_at"`
	Raw         json.RawMessage   `json:"raw,omitempty"`
}

// GetInspectionRequest asks for an order's inspection report.
type GetInspectionRequest struct {
	OrderID string `json:"order_id"`
}

// GetInspectionResponse carries the report.
type GetInspectionResponse struct {
	Inspection Inspection `json:"inspection"`
}

// Settlement is the payout of an order.
type Settlement struct {
	OrderID      string          `json:"order_id"`
	SettlementID string          `json:"settlement_id"`
	Amount       Money           `json:"amount"`            // paid to the seller in all
	Deposit      *Money          `json:"deposit,omitempty"` // part already paid in advance
	Status       string          `json:"status"`            // pending, paid
	Method       string          `json:"method,omitempty"`
	PaidAt       *time.Time      `json:"paid_at,omitempty"`
	Raw          json.RawMessage `json:"raw,omitempty"`
}

// GetSettlementRequest asks for an order's settlement.
type GetSettlementRequest struct {
	OrderID      string `json:"order_id"`
	SettlementID string `json:"settlement_id,omitempty"`
}

// GetSettlementResponse carries the settlement.
type GetSettlementResponse struct {
	Settlement Settlement `json:"settlement"`
}

// TradeIn links a recycle order to the order of a new device.
type TradeIn struct {
	TradeInID      string          `json:"trade_in_id"`
	RecycleOrderID string          `json:"recycle_order_id"`
	NewOrderID     string          `json:"new_order_id"`
	Subsidy        *Money          `json:"subsidy,omitempty"`
	Status         string          `json:"status"`
	CreatedAt      time.Time       `json:"created_at"`
	Raw            json.RawMessage `json:"raw,omitempty"`
}

// CreateTradeInRequest links two orders.
type CreateTradeInRequest struct {
	RecycleOrderID string `json:"recycle_order_id"`
	NewOrderID     string `json:"new_order_id"`
}

// CreateTradeInResponse carries the trade-in.
type CreateTradeInResponse struct {
	TradeIn TradeIn `json:"trade_in"`
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
