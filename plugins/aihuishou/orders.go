package aihuishou

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// orderStates maps the provider's order statuses (its English words, and the
// Chinese ones the document uses) onto the normalized states.
var orderStates = map[string]recycle.OrderState{
	"pending_send": recycle.OrderWaitingToShip, "pending": recycle.OrderWaitingToShip, "待邮寄": recycle.OrderWaitingToShip, "待到店": recycle.OrderWaitingToShip,
	"shipped": recycle.OrderInTransit, "in_transit": recycle.OrderInTransit, "运输中": recycle.OrderInTransit, "已寄出": recycle.OrderInTransit, "已发货": recycle.OrderInTransit,
	"received": recycle.OrderReceived, "已签收": recycle.OrderReceived, "已收货": recycle.OrderReceived,
	"inspecting": recycle.OrderInspecting, "检测中": recycle.OrderInspecting, "质检中": recycle.OrderInspecting,
	"inspected": recycle.OrderInspected, "已检测": recycle.OrderInspected, "待确认": recycle.OrderInspected,
	"completed": recycle.OrderCompleted, "finished": recycle.OrderCompleted, "settled": recycle.OrderCompleted, "已完成": recycle.OrderCompleted, "已结算": recycle.OrderCompleted,
	"cancelled": recycle.OrderCancelled, "canceled": recycle.OrderCancelled, "已取消": recycle.OrderCancelled,
	"returned": recycle.OrderReturned, "已退回": recycle.OrderReturned, "已退货": recycle.OrderReturned,
}

func orderState(path, s string) (recycle.OrderState, error) {
	st, ok := orderStates[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return "", sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: unknown order status %q", path, s)
	}
	return st, nil
}

// CreateOrder creates a recycle order from a valuation (QuoteID =
// valuation_id of a Quote without detail). The phone is masked before it
// leaves. Aihuishou takes no reference of the caller's: after a lost answer,
// GetOrder with the QuoteID finds the order.
func (a *Adapter) CreateOrder(ctx context.Context, req *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	if req == nil || strings.TrimSpace(req.QuoteID) == "" {
		return nil, sdk.InvalidField("quote_id", "is required: the valuation_id of a quote asked without detail")
	}
	if strings.HasPrefix(req.QuoteID, inquiryQuotePrefix) {
		return nil, sdk.InvalidField("quote_id", "a detail inquiry cannot be ordered; quote the item without detail to get an orderable valuation_id")
	}
	c := req.Customer
	if strings.TrimSpace(c.Name) == "" {
		return nil, sdk.InvalidField("customer.name", "is required")
	}
	if strings.TrimSpace(c.Phone) == "" {
		return nil, sdk.InvalidField("customer.phone", "is required (masked, e.g. 138****6789)")
	}
	if strings.TrimSpace(c.Address) == "" {
		return nil, sdk.InvalidField("customer.address", "is required by Aihuishou (the seller's address)")
	}
	lt := req.Logistics
	if lt == "" {
		lt = recycle.LogisticsExpress
	}
	if lt != recycle.LogisticsExpress && lt != recycle.LogisticsStore {
		return nil, sdk.InvalidField("logistics", "must be %q or %q, got %q", recycle.LogisticsExpress, recycle.LogisticsStore, lt)
	}
	phone := maskPhone(c.Phone)
	r, err := a.enterprise(ctx, pathOrderCreate, map[string]any{
		"valuation_id":   strings.TrimSpace(req.QuoteID),
		"user_name":      strings.TrimSpace(c.Name),
		"user_phone":     phone,
		"user_address":   strings.TrimSpace(c.Address),
		"logistics_type": lt,
	})
	if err != nil {
		return nil, err
	}
	o, err := a.parseOrder(pathOrderCreate, r, "")
	if err != nil {
		return nil, err
	}
	if o.QuoteID == "" {
		o.QuoteID = strings.TrimSpace(req.QuoteID)
	}
	if o.Logistics == "" {
		o.Logistics = lt
	}
	if o.Customer == nil {
		o.Customer = &recycle.Customer{Name: strings.TrimSpace(c.Name), Phone: phone, Address: strings.TrimSpace(c.Address)}
	}
	o.IdempotencyKey = req.Reference
	return &recycle.CreateOrderResponse{Order: *o}, nil
}

// GetOrder reads an order by OrderID (order_no) or, when OrderID is empty,
// by the QuoteID it was created from (getDetail with valuation_id).
func (a *Adapter) GetOrder(ctx context.Context, req *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	if req == nil {
		req = &recycle.GetOrderRequest{}
	}
	p := map[string]any{}
	switch {
	case strings.TrimSpace(req.OrderID) != "":
		p["order_no"] = strings.TrimSpace(req.OrderID)
	case strings.TrimSpace(req.QuoteID) != "":
		if strings.HasPrefix(req.QuoteID, inquiryQuotePrefix) {
			return nil, sdk.InvalidField("quote_id", "a detail inquiry has no order")
		}
		p["valuation_id"] = strings.TrimSpace(req.QuoteID)
	default:
		return nil, sdk.InvalidField("order_id", "order_id or quote_id is required")
	}
	r, err := a.enterprise(ctx, pathOrderDetail, p)
	if err != nil {
		return nil, err
	}
	o, err := a.parseOrder(pathOrderDetail, r, strings.TrimSpace(req.OrderID))
	if err != nil {
		return nil, err
	}
	if o.QuoteID == "" {
		o.QuoteID = strings.TrimSpace(req.QuoteID)
	}
	return &recycle.GetOrderResponse{Order: *o}, nil
}

type orderData struct {
	OrderNo        jstr            `json:"order_no"`
	ValuationID    jstr            `json:"valuation_id"`
	Status         jstr            `json:"status"`
	CreateTime     jstr            `json:"create_time"`
	UpdateTime     jstr            `json:"update_time"`
	UserName       jstr            `json:"user_name"`
	UserPhone      jstr            `json:"user_phone"`
	UserAddress    jstr            `json:"user_address"`
	LogisticsType  jstr            `json:"logistics_type"`
	ExpressNo      jstr            `json:"express_no"`
	ExpressCompany jstr            `json:"express_company"`
	StoreInfo      json.RawMessage `json:"store_info"`
	RecyclePrice   json.RawMessage `json:"recycle_price"`
	FinalPrice     json.RawMessage `json:"final_price"`
	SettlementNo   jstr            `json:"settlement_no"`
	History        []struct {
		Status jstr `json:"status"`
		Time   jstr `json:"time"`
	} `json:"status_history"`
	Inspection *struct {
		FinalPrice json.RawMessage `json:"final_price"`
	} `json:"inspection_result"`
}

type storeData struct {
	StoreID       jstr `json:"store_id"`
	StoreName     jstr `json:"store_name"`
	Address       jstr `json:"address"`
	Phone         jstr `json:"phone"`
	BusinessHours jstr `json:"business_hours"`
}

// parseOrder reads an order from /api/order/create or /api/order/getDetail.
func (a *Adapter) parseOrder(path string, r *reply, orderNo string) (*recycle.Order, error) {
	var d orderData
	if err := decodeData(path, r, &d); err != nil {
		return nil, err
	}
	o := &recycle.Order{Provider: ID, OrderID: string(d.OrderNo), QuoteID: string(d.ValuationID), Raw: r.raw,
		TrackingNo: string(d.ExpressNo), Carrier: string(d.ExpressCompany), SettlementID: string(d.SettlementNo)}
	if o.OrderID == "" {
		o.OrderID = orderNo
	}
	if o.OrderID == "" {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no order_no", path)
	}
	status := string(d.Status)
	if status == "" && path == pathOrderCreate {
		status = "pending_send" // the document: a new order starts waiting to be sent
	}
	var err error
	if o.State, err = orderState(path, status); err != nil {
		return nil, err
	}
	o.ProviderState = status
	if o.CreatedAt, err = timeField(path, "create_time", d.CreateTime, a.now()); err != nil {
		return nil, err
	}
	if o.UpdatedAt, err = timeField(path, "update_time", d.UpdateTime, time.Time{}); err != nil {
		return nil, err
	}
	switch lt := strings.ToLower(string(d.LogisticsType)); {
	case lt == "express" || lt == "store":
		o.Logistics = lt
	case o.TrackingNo != "":
		o.Logistics = recycle.LogisticsExpress
	}
	if s := strings.TrimSpace(string(d.StoreInfo)); s != "" && s != "null" {
		var st storeData
		if err := decodeData(path, &reply{data: d.StoreInfo}, &st); err != nil {
			return nil, err
		}
		o.Store = &recycle.Store{ID: string(st.StoreID), Name: string(st.StoreName), Address: string(st.Address),
			Phone: string(st.Phone), Hours: string(st.BusinessHours)}
		if o.Logistics == "" {
			o.Logistics = recycle.LogisticsStore
		}
	}
	if d.UserName != "" || d.UserPhone != "" {
		o.Customer = &recycle.Customer{Name: string(d.UserName), Phone: maskPhone(string(d.UserPhone)), Address: string(d.UserAddress)}
	}
	// The price: the inspected final price once there is one, else the quote's.
	for _, p := range []json.RawMessage{d.FinalPrice, inspectionPrice(d), d.RecyclePrice} {
		m, err := amount(path, "price", p, false)
		if err != nil {
			return nil, err
		}
		if m != nil {
			o.Price = m
			break
		}
	}
	for _, h := range d.History {
		st, err := orderState(path, string(h.Status))
		if err != nil {
			return nil, err
		}
		at, err := timeField(path, "status_history.time", h.Time, time.Time{})
		if err != nil {
			return nil, err
		}
		o.History = append(o.History, recycle.StateChange{State: st, ProviderState: string(h.Status), At: at})
	}
	if len(o.History) == 0 {
		o.History = []recycle.StateChange{{State: o.State, ProviderState: status, At: o.CreatedAt}}
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.History[len(o.History)-1].At
	}
	return o, nil
}

func inspectionPrice(d orderData) json.RawMessage {
	if d.Inspection == nil {
		return nil
	}
	return d.Inspection.FinalPrice
}

// TrackOrder reads the shipment trace by tracking number (and carrier), or
// by order: the order's express_no is read first.
func (a *Adapter) TrackOrder(ctx context.Context, req *recycle.TrackOrderRequest) (*recycle.TrackOrderResponse, error) {
	if req == nil {
		req = &recycle.TrackOrderRequest{}
	}
	no, carrier := strings.TrimSpace(req.TrackingNo), strings.TrimSpace(req.Carrier)
	if no == "" {
		if strings.TrimSpace(req.OrderID) == "" {
			return nil, sdk.InvalidField("tracking_no", "tracking_no or order_id is required")
		}
		o, err := a.GetOrder(ctx, &recycle.GetOrderRequest{OrderID: req.OrderID})
		if err != nil {
			return nil, err
		}
		if o.Order.TrackingNo == "" {
			return nil, &sdk.Error{Code: sdk.CodeNotFound,
				Message: "aihuishou: order " + req.OrderID + " has no shipment (a store order, or none yet)"}
		}
		no, carrier = o.Order.TrackingNo, o.Order.Carrier
	}
	p := map[string]any{"logistics_no": no}
	if carrier != "" {
		p["logistics_company"] = carrier
	}
	r, err := a.enterprise(ctx, pathTrace, p)
	if err != nil {
		return nil, err
	}
	var d struct {
		LogisticsNo      jstr `json:"logistics_no"`
		LogisticsCompany jstr `json:"logistics_company"`
		Status           jstr `json:"status"`
		Traces           []struct {
			Time     jstr `json:"time"`
			Location jstr `json:"location"`
			Desc     jstr `json:"desc"`
		} `json:"traces"`
	}
	if err := decodeData(pathTrace, r, &d); err != nil {
		return nil, err
	}
	tr := recycle.Tracking{Carrier: string(d.LogisticsCompany), TrackingNo: string(d.LogisticsNo), Raw: r.raw,
		Status: traceStatus(string(d.Status)), Events: []recycle.TrackingEvent{}}
	if tr.TrackingNo == "" {
		tr.TrackingNo = no
	}
	if tr.Carrier == "" {
		tr.Carrier = carrier
	}
	for _, e := range d.Traces {
		at, err := timeField(pathTrace, "traces.time", e.Time, time.Time{})
		if err != nil {
			return nil, err
		}
		tr.Events = append(tr.Events, recycle.TrackingEvent{At: at, Location: string(e.Location), Description: string(e.Desc)})
	}
	sort.SliceStable(tr.Events, func(i, j int) bool { return tr.Events[i].At.Before(tr.Events[j].At) })
	return &recycle.TrackOrderResponse{Tracking: tr}, nil
}

func traceStatus(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "in_transit", "shipped", "运输中", "派送中", "已揽收":
		return "in_transit"
	case "delivered", "signed", "已签收":
		return "delivered"
	case "returned", "已退回":
		return "returned"
	}
	return "pending"
}

// GetInspection reads the inspection report; before the device is
// inspected the provider answers a conflict.
func (a *Adapter) GetInspection(ctx context.Context, req *recycle.GetInspectionRequest) (*recycle.GetInspectionResponse, error) {
	if req == nil || strings.TrimSpace(req.OrderID) == "" {
		return nil, sdk.InvalidField("order_id", "is required")
	}
	r, err := a.enterprise(ctx, pathInspection, map[string]any{"order_no": strings.TrimSpace(req.OrderID)})
	if err != nil {
		return nil, err
	}
	var d struct {
		OrderNo     jstr            `json:"order_no"`
		InspectTime jstr            `json:"inspect_time"`
		Conclusion  jstr            `json:"conclusion"`
		Condition   jstr            `json:"condition"`
		QuotedPrice json.RawMessage `json:"quoted_price"`
		FinalPrice  json.RawMessage `json:"final_price"`
		CheckItems  []struct {
			Name   jstr            `json:"name"`
			Result jstr            `json:"result"`
			Passed json.RawMessage `json:"passed"`
		} `json:"check_items"`
	}
	if err := decodeData(pathInspection, r, &d); err != nil {
		return nil, err
	}
	final, err := amount(pathInspection, "final_price", d.FinalPrice, true)
	if err != nil {
		return nil, err
	}
	quoted, err := amount(pathInspection, "quoted_price", d.QuotedPrice, false)
	if err != nil {
		return nil, err
	}
	at, err := timeField(pathInspection, "inspect_time", d.InspectTime, time.Time{})
	if err != nil {
		return nil, err
	}
	in := recycle.Inspection{OrderID: string(d.OrderNo), Conclusion: string(d.Conclusion), Condition: conditionOf(string(d.Condition)),
		QuotedPrice: quoted, FinalPrice: *final, InspectedAt: at, Checks: []recycle.InspectionCheck{}, Raw: r.raw}
	if in.OrderID == "" {
		in.OrderID = strings.TrimSpace(req.OrderID)
	}
	for _, c := range d.CheckItems {
		passed := strings.TrimSpace(string(c.Passed)) == "true" || strings.TrimSpace(string(c.Passed)) == "1"
		in.Checks = append(in.Checks, recycle.InspectionCheck{Name: string(c.Name), Passed: passed, Result: string(c.Result)})
	}
	return &recycle.GetInspectionResponse{Inspection: in}, nil
}

// GetSettlement reads the payout: the settled amount (the inspected final
// price), the deposit already paid, and whether the rest is paid.
func (a *Adapter) GetSettlement(ctx context.Context, req *recycle.GetSettlementRequest) (*recycle.GetSettlementResponse, error) {
	if req == nil || strings.TrimSpace(req.OrderID) == "" {
		return nil, sdk.InvalidField("order_id", "is required")
	}
	p := map[string]any{"order_no": strings.TrimSpace(req.OrderID)}
	if s := strings.TrimSpace(req.SettlementID); s != "" {
		p["settlement_no"] = s
	}
	r, err := a.enterprise(ctx, pathSettlement, p)
	if err != nil {
		return nil, err
	}
	var d struct {
		SettlementNo jstr            `json:"settlement_no"`
		OrderNo      jstr            `json:"order_no"`
		SettleAmount json.RawMessage `json:"settle_amount"`
		DepositPrice json.RawMessage `json:"deposit_price"`
		Status       jstr            `json:"status"`
		PayMethod    jstr            `json:"pay_method"`
		PayTime      jstr            `json:"pay_time"`
	}
	if err := decodeData(pathSettlement, r, &d); err != nil {
		return nil, err
	}
	if d.SettlementNo == "" {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no settlement_no", pathSettlement)
	}
	total, err := amount(pathSettlement, "settle_amount", d.SettleAmount, true)
	if err != nil {
		return nil, err
	}
	dep, err := amount(pathSettlement, "deposit_price", d.DepositPrice, false)
	if err != nil {
		return nil, err
	}
	s := recycle.Settlement{OrderID: string(d.OrderNo), SettlementID: string(d.SettlementNo), Amount: *total, Deposit: dep,
		Status: "pending", Method: string(d.PayMethod), Raw: r.raw}
	if s.OrderID == "" {
		s.OrderID = strings.TrimSpace(req.OrderID)
	}
	if st := strings.ToLower(string(d.Status)); st == "paid" || st == "已打款" || st == "已结算" {
		s.Status = "paid"
	}
	if d.PayTime != "" {
		at, err := timeField(pathSettlement, "pay_time", d.PayTime, time.Time{})
		if err != nil {
			return nil, err
		}
		s.PaidAt = &at
	}
	return &recycle.GetSettlementResponse{Settlement: s}, nil
}

// CreateTradeIn links a recycle order to the order of a new device.
func (a *Adapter) CreateTradeIn(ctx context.Context, req *recycle.CreateTradeInRequest) (*recycle.CreateTradeInResponse, error) {
	if req == nil || strings.TrimSpace(req.RecycleOrderID) == "" {
		return nil, sdk.InvalidField("recycle_order_id", "is required: the Aihuishou order_no")
	}
	if strings.TrimSpace(req.NewOrderID) == "" {
		return nil, sdk.InvalidField("new_order_id", "is required: the new device's order number")
	}
	if len(req.NewOrderID) > 64 {
		return nil, sdk.InvalidField("new_order_id", "is too long (64 characters at most)")
	}
	r, err := a.enterprise(ctx, pathTradeIn, map[string]any{
		"recycle_order_no":     strings.TrimSpace(req.RecycleOrderID),
		"new_machine_order_no": strings.TrimSpace(req.NewOrderID),
	})
	if err != nil {
		return nil, err
	}
	var d struct {
		TradeInNo     jstr            `json:"trade_in_no"`
		RecycleNo     jstr            `json:"recycle_order_no"`
		NewNo         jstr            `json:"new_machine_order_no"`
		SubsidyAmount json.RawMessage `json:"subsidy_amount"`
		Status        jstr            `json:"status"`
		CreateTime    jstr            `json:"create_time"`
	}
	if err := decodeData(pathTradeIn, r, &d); err != nil {
		return nil, err
	}
	if d.TradeInNo == "" {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no trade_in_no", pathTradeIn)
	}
	sub, err := amount(pathTradeIn, "subsidy_amount", d.SubsidyAmount, false)
	if err != nil {
		return nil, err
	}
	at, err := timeField(pathTradeIn, "create_time", d.CreateTime, a.now())
	if err != nil {
		return nil, err
	}
	ti := recycle.TradeIn{TradeInID: string(d.TradeInNo), RecycleOrderID: string(d.RecycleNo), NewOrderID: string(d.NewNo),
		Subsidy: sub, Status: string(d.Status), CreatedAt: at, Raw: r.raw}
	if ti.RecycleOrderID == "" {
		ti.RecycleOrderID = strings.TrimSpace(req.RecycleOrderID)
	}
	if ti.NewOrderID == "" {
		ti.NewOrderID = strings.TrimSpace(req.NewOrderID)
	}
	if ti.Status == "" {
		ti.Status = "created"
	}
	return &recycle.CreateTradeInResponse{TradeIn: ti}, nil
}

// Interface guards.
var (
	_ sdk.Provider           = (*Adapter)(nil)
	_ sdk.Configurer         = (*Adapter)(nil)
	_ sdk.Quoter             = (*Adapter)(nil)
	_ sdk.BatchQuoter        = (*Adapter)(nil)
	_ sdk.Cataloger          = (*Adapter)(nil)
	_ recycle.Orderer        = (*Adapter)(nil)
	_ recycle.Tracker        = (*Adapter)(nil)
	_ recycle.Inspector      = (*Adapter)(nil)
	_ recycle.Settler        = (*Adapter)(nil)
	_ recycle.TradeInCreator = (*Adapter)(nil)
)
