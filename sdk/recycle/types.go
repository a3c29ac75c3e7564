package recycle

import (
	"encoding/json"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

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

// OrderStates is every order state, in the order above.
var OrderStates = []OrderState{OrderWaitingToShip, OrderInTransit, OrderReceived,
	OrderInspecting, OrderInspected, OrderCompleted, OrderCancelled, OrderReturned}

// Final reports whether no further change is expected.
func (s OrderState) Final() bool {
	return s == OrderCompleted || s == OrderCancelled || s == OrderReturned
}

// The values of Order.Logistics and CreateOrderRequest.Logistics.
const (
	LogisticsExpress = "express" // the customer ships the item
	LogisticsStore   = "store"   // the customer brings it to a store
)

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
	Price          *sdk.Money      `json:"price,omitempty"`
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
	Condition   sdk.Condition     `json:"condition,omitempty"` // the condition found
	Checks      []InspectionCheck `json:"checks"`
	QuotedPrice *sdk.Money        `json:"quoted_price,omitempty"`
	FinalPrice  sdk.Money         `json:"final_price"`
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
	Amount       sdk.Money       `json:"amount"`            // paid to the seller in all
	Deposit      *sdk.Money      `json:"deposit,omitempty"` // part already paid in advance
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
	Subsidy        *sdk.Money      `json:"subsidy,omitempty"`
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
