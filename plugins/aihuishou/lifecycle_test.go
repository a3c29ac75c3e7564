package aihuishou

import (
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// orderable quotes an item without detail and creates an order from it.
func (e *env) order(t *testing.T, it sdk.Item, address, logistics string) (*sdk.Quote, *recycle.Order) {
	t.Helper()
	q, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: it})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: q.Quote.QuoteID, Logistics: logistics,
		Customer: recycle.Customer{Name: "张三", Phone: "13812346789", Address: address}})
	if err != nil {
		t.Fatal(err)
	}
	return &q.Quote, &o.Order
}

func (e *env) state(t *testing.T, id string) *recycle.Order {
	t.Helper()
	o, err := e.a.GetOrder(ctx(t), &recycle.GetOrderRequest{OrderID: id})
	if err != nil {
		t.Fatal(err)
	}
	return &o.Order
}

// TestOrderLifeQuoteToSettlement runs one order from the valuation to the
// payout on the sandbox's manual clock, in milliseconds.
func TestOrderLifeQuoteToSettlement(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 3})
	q, o := e.order(t, phone("iPhone 14 Pro", "256GB", sdk.ConditionExcellent), "上海市徐汇区漕溪北路 88 号", recycle.LogisticsExpress)
	if o.State != recycle.OrderWaitingToShip || o.ProviderState != "pending_send" {
		t.Fatalf("new order %s/%s, want waiting_to_ship/pending_send", o.State, o.ProviderState)
	}
	if o.TrackingNo == "" || o.Carrier == "" || o.QuoteID != q.QuoteID || o.Customer.Phone != "138****6789" {
		t.Fatalf("order %+v", o)
	}
	if _, err := e.a.GetInspection(ctx(t), &recycle.GetInspectionRequest{OrderID: o.OrderID}); sdk.CodeOf(err) != sdk.CodeConflict {
		t.Fatalf("inspection before the device arrived: %v, want conflict", err)
	}
	if _, err := e.a.GetSettlement(ctx(t), &recycle.GetSettlementRequest{OrderID: o.OrderID}); sdk.CodeOf(err) != sdk.CodeConflict {
		t.Fatalf("settlement before inspection: %v, want conflict", err)
	}
	steps := []struct {
		after    time.Duration
		state    recycle.OrderState
		provider string
		trace    string
	}{
		{3 * time.Hour, recycle.OrderInTransit, "shipped", "in_transit"},
		{23 * time.Hour, recycle.OrderReceived, "received", "delivered"},
		{1 * time.Hour, recycle.OrderInspecting, "inspecting", "delivered"},
		{2 * time.Hour, recycle.OrderInspected, "inspected", "delivered"},
		{2 * time.Hour, recycle.OrderCompleted, "completed", "delivered"},
	}
	for _, s := range steps {
		e.clock.Advance(s.after)
		got := e.state(t, o.OrderID)
		if got.State != s.state || got.ProviderState != s.provider {
			t.Fatalf("at %s: state %s/%s, want %s/%s", e.clock.Now(), got.State, got.ProviderState, s.state, s.provider)
		}
		tr, err := e.a.TrackOrder(ctx(t), &recycle.TrackOrderRequest{OrderID: o.OrderID})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Tracking.Status != s.trace || len(tr.Tracking.Events) == 0 {
			t.Fatalf("trace %s with %d events, want %s", tr.Tracking.Status, len(tr.Tracking.Events), s.trace)
		}
	}
	final := e.state(t, o.OrderID)
	if len(final.History) != 6 || final.SettlementID == "" || !final.State.Final() {
		t.Fatalf("history %+v settlement %q", final.History, final.SettlementID)
	}
	tr, err := e.a.TrackOrder(ctx(t), &recycle.TrackOrderRequest{TrackingNo: o.TrackingNo, Carrier: o.Carrier})
	if err != nil {
		t.Fatal(err)
	}
	ev := tr.Tracking.Events
	if !strings.Contains(ev[0].Description, "揽收") || !strings.Contains(ev[len(ev)-1].Description, "签收") || ev[0].Location != "上海市" {
		t.Errorf("events oldest first, from pickup to delivery: %+v", ev)
	}
	in, err := e.a.GetInspection(ctx(t), &recycle.GetInspectionRequest{OrderID: o.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Inspection.Checks) < 20 || in.Inspection.QuotedPrice == nil || *in.Inspection.QuotedPrice != q.Price {
		t.Fatalf("inspection %+v", in.Inspection)
	}
	if in.Inspection.Condition == "" || in.Inspection.Conclusion == "" || in.Inspection.InspectedAt.IsZero() {
		t.Errorf("inspection %+v", in.Inspection)
	}
	st, err := e.a.GetSettlement(ctx(t), &recycle.GetSettlementRequest{OrderID: o.OrderID, SettlementID: final.SettlementID})
	if err != nil {
		t.Fatal(err)
	}
	s := st.Settlement
	if s.Status != "paid" || s.PaidAt == nil || s.Amount != in.Inspection.FinalPrice || s.Deposit == nil || *s.Deposit != *q.Deposit {
		t.Fatalf("settlement %+v, want paid %v with the deposit %v", s, in.Inspection.FinalPrice, q.Deposit)
	}
	if *final.Price != s.Amount {
		t.Errorf("order price %v, want the settled %v", final.Price, s.Amount)
	}
	ti, err := e.a.CreateTradeIn(ctx(t), &recycle.CreateTradeInRequest{RecycleOrderID: o.OrderID, NewOrderID: "JD-2025-0001"})
	if err != nil {
		t.Fatal(err)
	}
	if ti.TradeIn.TradeInID == "" || ti.TradeIn.Subsidy == nil || ti.TradeIn.Subsidy.Amount < 5000 {
		t.Fatalf("trade-in %+v", ti.TradeIn)
	}
	_, err = e.a.CreateTradeIn(ctx(t), &recycle.CreateTradeInRequest{RecycleOrderID: o.OrderID, NewOrderID: "JD-2025-0002"})
	wantCode(t, err, sdk.CodeConflict)
}

// The inspection's final price may differ from the quote: over many orders
// some are inspected lower, none higher.
func TestInspectionMayLowerThePrice(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 11})
	lower := 0
	for i := 0; i < 12; i++ {
		q, o := e.order(t, phone("iPhone 13", "128GB", sdk.ConditionExcellent), "北京市朝阳区 1 号", recycle.LogisticsExpress)
		e.clock.Advance(30 * time.Hour)
		in, err := e.a.GetInspection(ctx(t), &recycle.GetInspectionRequest{OrderID: o.OrderID})
		if err != nil {
			t.Fatal(err)
		}
		switch f := in.Inspection.FinalPrice.Amount; {
		case f > q.Price.Amount:
			t.Fatalf("inspected %d above the quote %d", f, q.Price.Amount)
		case f < q.Price.Amount:
			lower++
		}
	}
	if lower == 0 {
		t.Error("no inspection changed the price in 12 orders")
	}
}

func TestOrderScenarios(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 5})
	item := phone("iPhone 15", "256GB", sdk.ConditionGood)

	_, cancelled := e.order(t, item, "杭州市西湖区 #cancel", recycle.LogisticsExpress)
	_, returned := e.order(t, item, "杭州市西湖区 #return", recycle.LogisticsExpress)
	_, store := e.order(t, item, "深圳市福田区", recycle.LogisticsStore)
	if store.Store == nil || store.TrackingNo != "" || store.Logistics != recycle.LogisticsStore {
		t.Fatalf("store order %+v", store)
	}
	e.clock.Advance(6 * time.Hour)
	if got := e.state(t, store.OrderID); got.State != recycle.OrderCompleted {
		t.Errorf("store order after 6h: %s, want completed", got.State)
	}
	if _, err := e.a.TrackOrder(ctx(t), &recycle.TrackOrderRequest{OrderID: store.OrderID}); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Errorf("tracking a store order: %v, want not_found", err)
	}
	e.clock.Advance(70 * time.Hour)
	if got := e.state(t, cancelled.OrderID); got.State != recycle.OrderCancelled || got.ProviderState != "cancelled" {
		t.Errorf("never shipped after 76h: %s/%s, want cancelled", got.State, got.ProviderState)
	}
	got := e.state(t, returned.OrderID)
	if got.State != recycle.OrderReturned {
		t.Errorf("declined inspection: %s, want returned", got.State)
	}
	tr, err := e.a.TrackOrder(ctx(t), &recycle.TrackOrderRequest{OrderID: returned.OrderID})
	if err != nil || tr.Tracking.Status != "returned" {
		t.Errorf("trace of a returned order: %+v %v", tr, err)
	}
	if _, err := e.a.GetSettlement(ctx(t), &recycle.GetSettlementRequest{OrderID: returned.OrderID}); sdk.CodeOf(err) != sdk.CodeConflict {
		t.Errorf("settlement of a returned order: %v, want conflict", err)
	}
	if _, err := e.a.CreateTradeIn(ctx(t), &recycle.CreateTradeInRequest{RecycleOrderID: cancelled.OrderID, NewOrderID: "N1"}); sdk.CodeOf(err) != sdk.CodeConflict {
		t.Errorf("trade-in of a cancelled order: %v, want conflict", err)
	}
}

func TestGetOrderByQuoteAfterALostAnswer(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	q, o := e.order(t, phone("iPhone 14", "128GB", sdk.ConditionGood), "广州市天河区", recycle.LogisticsExpress)
	got, err := e.a.GetOrder(ctx(t), &recycle.GetOrderRequest{QuoteID: q.QuoteID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Order.OrderID != o.OrderID || got.Order.QuoteID != q.QuoteID {
		t.Fatalf("by quote: %+v, want order %s", got.Order, o.OrderID)
	}
	// A second order from the same valuation is refused, naming the first.
	_, err = e.a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: q.QuoteID, Customer: recycle.Customer{Name: "李四", Phone: "139****0000", Address: "x"}})
	if se := wantCode(t, err, sdk.CodeConflict); !strings.Contains(se.ProviderMessage, o.OrderID) {
		t.Errorf("message %q does not name %s", se.ProviderMessage, o.OrderID)
	}
	q2, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: phone("iPhone 14", "128GB", sdk.ConditionGood)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.a.GetOrder(ctx(t), &recycle.GetOrderRequest{QuoteID: q2.Quote.QuoteID})
	wantCode(t, err, sdk.CodeNotFound)
	// A valuation expires after two days.
	e.clock.Advance(49 * time.Hour)
	_, err = e.a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: q2.Quote.QuoteID, Customer: recycle.Customer{Name: "李四", Phone: "139****0000", Address: "x"}})
	wantCode(t, err, sdk.CodeInvalidArgument)
	// An inquiry quote cannot be ordered.
	_, err = e.a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: "inquiry:AHS10001@x", Customer: recycle.Customer{Name: "a", Phone: "b", Address: "c"}})
	if se := wantCode(t, err, sdk.CodeInvalidArgument); se.Field != "quote_id" {
		t.Errorf("field %q", se.Field)
	}
}

func TestEnterpriseSeesOnlyItsOwnOrders(t *testing.T) {
	accounts := map[string]sandbox.Account{
		"app-a": {Secret: "secret-a"},
		"app-b": {Secret: "secret-b"},
	}
	e := newEnv(t, sandbox.Options{Accounts: accounts})
	configure(t, e.a, map[string]string{"base_url": e.srv.URL, "open_url": e.srv.URL, "app_id": "app-a", "app_secret": "secret-a"})
	q, o := e.order(t, phone("iPhone 14", "128GB", sdk.ConditionGood), "成都市武侯区", recycle.LogisticsExpress)

	b := New()
	b.Now = e.clock.Now
	configure(t, b, map[string]string{"base_url": e.srv.URL, "open_url": e.srv.URL, "app_id": "app-b", "app_secret": "secret-b"})
	calls := []func() error{
		func() error { _, err := b.GetOrder(ctx(t), &recycle.GetOrderRequest{OrderID: o.OrderID}); return err },
		func() error { _, err := b.GetOrder(ctx(t), &recycle.GetOrderRequest{QuoteID: q.QuoteID}); return err },
		func() error {
			_, err := b.TrackOrder(ctx(t), &recycle.TrackOrderRequest{TrackingNo: o.TrackingNo})
			return err
		},
		func() error {
			_, err := b.GetInspection(ctx(t), &recycle.GetInspectionRequest{OrderID: o.OrderID})
			return err
		},
		func() error {
			_, err := b.GetSettlement(ctx(t), &recycle.GetSettlementRequest{OrderID: o.OrderID})
			return err
		},
		func() error {
			_, err := b.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: q.QuoteID, Customer: recycle.Customer{Name: "x", Phone: "1", Address: "y"}})
			return err
		},
		func() error {
			_, err := b.CreateTradeIn(ctx(t), &recycle.CreateTradeInRequest{RecycleOrderID: o.OrderID, NewOrderID: "n"})
			return err
		},
	}
	for i, call := range calls {
		if err := call(); sdk.CodeOf(err) != sdk.CodeNotFound {
			t.Errorf("call %d by another enterprise: %v, want not_found", i, err)
		}
	}
}
