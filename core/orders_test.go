package core_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// manualClock is the host's injected clock.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recycler is a provider that takes orders: its orders move one state an
// hour on the shared clock. It can lose answers and refuse look-ups.
type recycler struct {
	clock   *manualClock
	mu      sync.Mutex
	seq     int
	orders  map[string]*recycle.Order
	byQuote map[string]string
	creates atomic.Int64
	links   atomic.Int64

	loseAnswers atomic.Int64 // creates that succeed but answer deadline_exceeded
	lookupDown  atomic.Bool  // GetOrder answers unavailable
	still       atomic.Bool  // orders stay in their first state
	polls       atomic.Int64 // GetOrder calls by order id (polls)
	linkDown    atomic.Int64 // trade-in calls that answer unavailable
}

func newRecycler(c *manualClock) *recycler {
	return &recycler{clock: c, orders: map[string]*recycle.Order{}, byQuote: map[string]string{}}
}

func (r *recycler) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "rec", Name: "Recycler", Version: "1.0.0", Status: sdk.StatusStable,
		Categories:   []sdk.Category{sdk.CategoryPhone},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapOrders, sdk.CapTracking, sdk.CapInspection, sdk.CapSettlement, sdk.CapTradeIn}}
}

func (r *recycler) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "rec", QuoteID: fmt.Sprintf("Q%d", r.seq), Price: sdk.Fen(500000),
		Orderable: true, ValidUntil: r.clock.Now().Add(48 * time.Hour)}}, nil
}

var lifeStates = []recycle.OrderState{recycle.OrderWaitingToShip, recycle.OrderInTransit, recycle.OrderReceived, recycle.OrderInspecting, recycle.OrderInspected, recycle.OrderCompleted}

// at is the order as it stands now: one state further each hour.
func (r *recycler) at(o *recycle.Order) recycle.Order {
	c := *o
	n := int(r.clock.Now().Sub(o.CreatedAt) / time.Hour)
	n = min(n, len(lifeStates)-1)
	if r.still.Load() {
		n = 0
	}
	c.History = nil
	for i := 0; i <= n; i++ {
		c.History = append(c.History, recycle.StateChange{State: lifeStates[i], ProviderState: "p_" + string(lifeStates[i]), At: o.CreatedAt.Add(time.Duration(i) * time.Hour)})
	}
	c.State, c.ProviderState = lifeStates[n], "p_"+string(lifeStates[n])
	return c
}

func (r *recycler) CreateOrder(_ context.Context, req *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.byQuote[req.QuoteID]; ok {
		return nil, &sdk.Error{Code: sdk.CodeConflict, Message: "already ordered", ProviderMessage: "valuation ordered as " + id}
	}
	r.creates.Add(1)
	r.seq++
	o := &recycle.Order{Provider: "rec", OrderID: fmt.Sprintf("R%04d", r.seq), QuoteID: req.QuoteID, Price: sdk.Fen(500000).Ptr(),
		Logistics: req.Logistics, TrackingNo: "SF1", Carrier: "SF", CreatedAt: r.clock.Now(),
		Customer: &recycle.Customer{Name: req.Customer.Name, Phone: req.Customer.Phone, Address: req.Customer.Address}}
	r.orders[o.OrderID] = o
	r.byQuote[req.QuoteID] = o.OrderID
	if r.loseAnswers.Load() > 0 {
		r.loseAnswers.Add(-1)
		return nil, &sdk.Error{Code: sdk.CodeDeadlineExceeded, Retryable: true, Message: "no answer"}
	}
	return &recycle.CreateOrderResponse{Order: r.at(o)}, nil
}

func (r *recycler) GetOrder(_ context.Context, req *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	if r.lookupDown.Load() {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "down"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.OrderID
	if id == "" {
		id = r.byQuote[req.QuoteID]
	} else {
		r.polls.Add(1)
	}
	o, ok := r.orders[id]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Message: "no such order"}
	}
	return &recycle.GetOrderResponse{Order: r.at(o)}, nil
}

func (r *recycler) TrackOrder(_ context.Context, req *recycle.TrackOrderRequest) (*recycle.TrackOrderResponse, error) {
	return &recycle.TrackOrderResponse{Tracking: recycle.Tracking{Carrier: "SF", TrackingNo: req.TrackingNo, Status: "in_transit",
		Raw: json.RawMessage(`{"user_phone":"13812345678"}`)}}, nil
}

func (r *recycler) GetInspection(_ context.Context, req *recycle.GetInspectionRequest) (*recycle.GetInspectionResponse, error) {
	return &recycle.GetInspectionResponse{Inspection: recycle.Inspection{OrderID: req.OrderID, Conclusion: "ok", FinalPrice: sdk.Fen(480000)}}, nil
}

func (r *recycler) GetSettlement(_ context.Context, req *recycle.GetSettlementRequest) (*recycle.GetSettlementResponse, error) {
	return &recycle.GetSettlementResponse{Settlement: recycle.Settlement{OrderID: req.OrderID, SettlementID: "S1", Amount: sdk.Fen(480000), Status: "paid"}}, nil
}

func (r *recycler) CreateTradeIn(_ context.Context, req *recycle.CreateTradeInRequest) (*recycle.CreateTradeInResponse, error) {
	if r.linkDown.Load() > 0 {
		r.linkDown.Add(-1)
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "trade-in service down"}
	}
	r.links.Add(1)
	return &recycle.CreateTradeInResponse{TradeIn: recycle.TradeIn{TradeInID: "TI1", RecycleOrderID: req.RecycleOrderID, NewOrderID: req.NewOrderID,
		Subsidy: sdk.Fen(10000).Ptr(), Status: "created"}}, nil
}

// shop is a catalog provider with one product and two SKUs.
type shop struct{ calls atomic.Int64 }

func (s *shop) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "shop", Version: "1.0.0", Categories: []sdk.Category{sdk.CategoryPhone}, Capabilities: []sdk.Capability{sdk.CapCatalog}}
}

func (s *shop) SearchCatalog(context.Context, *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	return &sdk.SearchCatalogResponse{}, nil
}

func (s *shop) GetCatalogItem(_ context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	s.calls.Add(1)
	if req.ID != "item-1" {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Message: "no such item"}
	}
	return &sdk.GetCatalogItemResponse{Item: sdk.CatalogItem{ID: "item-1", Kind: sdk.KindProduct, Title: "New phone",
		SKUs: []sdk.SKU{{ID: "sku-1", Name: "256GB", Price: sdk.Fen(799900)}, {ID: "sku-cheap", Name: "old stock", Price: sdk.Fen(300000)}}}}, nil
}

type orderEnv struct {
	h        *core.Host
	clock    *manualClock
	rec      *recycler
	shop     *shop
	a, b     *core.Tenant
	hooks    *hookSink
	dir      string
	policies string
	// configure changes the config before each start (tenants_test.go).
	configure func(*core.Config)
	secret    string   // tenant a's webhook_secret; hookSecret when empty
	previous  []string // tenant a's webhook_previous_secrets
}

// hookSink is a tenant's webhook endpoint: it verifies every signature and
// can be down.
type hookSink struct {
	secret string
	clock  *manualClock
	srv    *httptest.Server
	down   atomic.Bool
	mu     sync.Mutex
	got    []core.WebhookEvent
	bad    []string
}

func newHookSink(t *testing.T, secret string, c *manualClock) *hookSink {
	s := &hookSink{secret: secret, clock: c}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if err := core.VerifyWebhook(s.secret, r.Header.Get(core.SignatureHeader), body, s.clock.Now(), 5*time.Minute); err != nil {
			s.mu.Lock()
			s.bad = append(s.bad, err.Error())
			s.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var ev core.WebhookEvent
		_ = json.Unmarshal(body, &ev)
		s.mu.Lock()
		s.got = append(s.got, ev)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *hookSink) events() []core.WebhookEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]core.WebhookEvent(nil), s.got...)
}

const hookSecret = "whsec-0123456789abcdef"

func newOrderEnv(t *testing.T, dir string, opts ...core.Option) *orderEnv {
	t.Helper()
	clock := &manualClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	e := &orderEnv{clock: clock, rec: newRecycler(clock), shop: &shop{}, dir: dir}
	e.hooks = newHookSink(t, hookSecret, clock)
	e.start(t, opts...)
	return e
}

func (e *orderEnv) start(t *testing.T, opts ...core.Option) {
	t.Helper()
	cfg := core.Config{DataDir: e.dir, Policies: e.policies, Orders: core.OrdersConfig{PollInterval: -1},
		Tenants: []core.TenantConfig{
			{ID: "a", APIKeys: []string{"key-a-0123456789ab"}, WebhookURL: e.hooks.srv.URL, WebhookSecret: cmp.Or(e.secret, hookSecret),
				WebhookPreviousSecrets: e.previous},
			{ID: "b", APIKeys: []string{"key-b-0123456789ab"}},
		}}
	if e.configure != nil {
		e.configure(&cfg)
	}
	opts = append([]core.Option{core.WithClock(e.clock.Now), core.WithProvider(e.rec, nil), core.WithProvider(e.shop, nil),
		core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	h, err := core.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	e.h = h
	e.a, _ = h.Authenticate("key-a-0123456789ab")
	e.b, _ = h.Authenticate("key-b-0123456789ab")
}

func (e *orderEnv) quote(t *testing.T) string {
	t.Helper()
	return e.quoteAs(t, e.a)
}

// quoteAs is an orderable quote's id, as tenant received it.
func (e *orderEnv) quoteAs(t testing.TB, tenant *core.Tenant) string {
	t.Helper()
	res, err := e.h.Quote(context.Background(), tenant, &core.QuoteRequest{Item: phoneItem()})
	if err != nil || len(res.Quotes) != 1 {
		t.Fatalf("quote: %+v %v", res, err)
	}
	return res.Quotes[0].QuoteID
}

func phoneItem() sdk.Item {
	return sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14 Pro", Storage: "256GB", Condition: sdk.ConditionExcellent}
}

func orderReq(quote string) *core.CreateOrderRequest {
	return &core.CreateOrderRequest{QuoteID: quote, Customer: recycle.Customer{Name: "张三", Phone: "138****6789", Address: "上海市徐汇区 1 号"}}
}

var bg = context.Background()

func TestCreateOrderIdempotency(t *testing.T) {
	e := newOrderEnv(t, t.TempDir())
	q := e.quote(t)
	_, err := e.h.CreateOrder(bg, e.a, "", orderReq(q))
	if se := sdk.AsError(err); se.Code != sdk.CodeInvalidArgument || se.Field != "Idempotency-Key" {
		t.Fatalf("no key: %v", err)
	}
	first, err := e.h.CreateOrder(bg, e.a, "k1", orderReq(q))
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != 201 || first.Replayed || first.Order.State != recycle.OrderWaitingToShip || first.Order.Customer.Name != "张*" {
		t.Fatalf("first: %+v %s", first, first.Body)
	}
	again, err := e.h.CreateOrder(bg, e.a, "k1", orderReq(q))
	if err != nil || !again.Replayed || again.Status != 201 || string(again.Body) != string(first.Body) {
		t.Fatalf("replay: %+v %v", again, err)
	}
	other := orderReq(q)
	other.Logistics = recycle.LogisticsStore
	_, err = e.h.CreateOrder(bg, e.a, "k1", other)
	var ie *core.IdempotencyError
	if !errors.As(err, &ie) || !ie.Reused {
		t.Fatalf("other body: %v", err)
	}
	// The key is the tenant's own: tenant b's k1 is another request; and
	// a's quote is a's: b ordering it is not_found, as an unknown quote.
	if _, err := e.h.CreateOrder(bg, e.b, "k1", orderReq(q)); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Fatalf("b ordering a's quote: %v, want not_found", err)
	}
	if n := e.rec.creates.Load(); n != 1 {
		t.Fatalf("%d orders at the provider", n)
	}
	// An error does not bind the key: b may use k1 for a good request.
	if _, err := e.h.CreateOrder(bg, e.b, "k1", orderReq(e.quoteAs(t, e.b))); err != nil {
		t.Fatal(err)
	}
}

func TestUnmaskedPhoneRefused(t *testing.T) {
	e := newOrderEnv(t, "")
	req := orderReq("Q1")
	req.Customer.Phone = "13812346789"
	_, err := e.h.CreateOrder(bg, e.a, "k", req)
	se := sdk.AsError(err)
	if se.Code != sdk.CodeInvalidArgument || se.Field != "customer.phone" || !strings.Contains(se.Message, "138****6789") {
		t.Fatalf("%v", err)
	}
	if strings.Contains(se.Message, "13812346789") {
		t.Fatal("the error repeats the phone number")
	}
	if e.rec.creates.Load() != 0 {
		t.Fatal("the provider was called")
	}
}

func TestConcurrentCreatesWithOneKeyMakeOneOrder(t *testing.T) {
	e := newOrderEnv(t, t.TempDir())
	q := e.quote(t)
	var wg sync.WaitGroup
	var created, conflicts, replays atomic.Int64
	var body atomic.Value
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.h.CreateOrder(bg, e.a, "same", orderReq(q))
			switch {
			case err == nil && !a.Replayed:
				created.Add(1)
				body.Store(string(a.Body))
			case err == nil:
				replays.Add(1)
			case sdk.CodeOf(err) == sdk.CodeConflict:
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 || e.rec.creates.Load() != 1 || created.Load()+conflicts.Load()+replays.Load() != 50 {
		t.Fatalf("created %d, replays %d, conflicts %d, at the provider %d", created.Load(), replays.Load(), conflicts.Load(), e.rec.creates.Load())
	}
}

// A create whose answer is lost is settled by a look-up by quote, never by
// creating again; when the look-up fails too, recovery finishes it later.
func TestLostAnswerIsRecoveredByQuote(t *testing.T) {
	e := newOrderEnv(t, t.TempDir())
	q := e.quote(t)
	e.rec.loseAnswers.Store(1)
	a, err := e.h.CreateOrder(bg, e.a, "lost-1", orderReq(q))
	if err != nil || a.Order.ProviderOrderID == "" {
		t.Fatalf("lost answer, found by quote: %+v %v", a, err)
	}

	q2 := e.quote(t)
	e.rec.loseAnswers.Store(1)
	e.rec.lookupDown.Store(true)
	_, err = e.h.CreateOrder(bg, e.a, "lost-2", orderReq(q2))
	if se := sdk.AsError(err); se.Code != sdk.CodeUnavailable || !se.Retryable {
		t.Fatalf("outcome unknown: %v", err)
	}
	if _, err := e.h.CreateOrder(bg, e.a, "lost-2", orderReq(q2)); sdk.CodeOf(err) != sdk.CodeConflict {
		t.Fatalf("retry while unknown: %v, want 409", err)
	}
	e.rec.lookupDown.Store(false)
	if n, err := e.h.Orders().RecoverOrders(bg); err != nil || n != 1 {
		t.Fatalf("recovered %d %v", n, err)
	}
	r, err := e.h.CreateOrder(bg, e.a, "lost-2", orderReq(q2))
	if err != nil || !r.Replayed || r.Status != 201 {
		t.Fatalf("retry after recovery: %+v %v", r, err)
	}
	if n := e.rec.creates.Load(); n != 2 {
		t.Fatalf("%d creates at the provider, want 2", n)
	}
	list, _ := e.h.ListOrders(bg, e.a, core.OrderFilter{})
	if len(list.Orders) != 2 {
		t.Fatalf("%d orders recorded", len(list.Orders))
	}
}

// A host that dies after the provider accepted an order finds it by its
// quote at the next start: the retry replays it, nothing is created twice.
func TestCrashAfterTheProviderAcceptedIsRecoveredAtStart(t *testing.T) {
	dir := t.TempDir()
	e := newOrderEnv(t, dir, core.WithFailpoint(func(name string) {
		if name == core.FailpointAfterOrderCreate {
			panic("crash")
		}
	}))
	q := e.quote(t)
	func() {
		defer func() { _ = recover() }()
		_, _ = e.h.CreateOrder(bg, e.a, "crash", orderReq(q))
	}()
	e.h.Close()
	// Restart on the same data dir: the order exists at the provider.
	e.start(t)
	r, err := e.h.CreateOrder(bg, e.a, "crash", orderReq(q))
	if err != nil || !r.Replayed {
		t.Fatalf("after restart: %+v %v", r, err)
	}
	if e.rec.creates.Load() != 1 {
		t.Fatalf("%d creates", e.rec.creates.Load())
	}
}

func TestTenantsSeeOnlyTheirOwn(t *testing.T) {
	e := newOrderEnv(t, "")
	a, err := e.h.CreateOrder(bg, e.a, "k", orderReq(e.quote(t)))
	if err != nil {
		t.Fatal(err)
	}
	id := a.Order.ID
	for name, f := range map[string]func() error{
		"get":        func() error { _, err := e.h.GetOrder(bg, e.b, id); return err },
		"tracking":   func() error { _, err := e.h.TrackOrder(bg, e.b, id); return err },
		"inspection": func() error { _, err := e.h.GetInspection(bg, e.b, id); return err },
		"settlement": func() error { _, err := e.h.GetSettlement(bg, e.b, id); return err },
	} {
		if err := f(); sdk.CodeOf(err) != sdk.CodeNotFound {
			t.Errorf("%s of another tenant's order: %v, want not_found", name, err)
		}
	}
	if l, _ := e.h.ListOrders(bg, e.b, core.OrderFilter{}); len(l.Orders) != 0 {
		t.Errorf("b lists %d orders", len(l.Orders))
	}
	if p, _ := e.h.Audit(bg, e.b, core.AuditFilter{}); len(p.Entries) != 0 {
		t.Errorf("b sees %d audit entries", len(p.Entries))
	}
	tr, err := e.h.TrackOrder(bg, e.a, id)
	if err != nil || tr.Raw != nil {
		t.Fatalf("tracking %+v %v (raw replies may hold personal data)", tr, err)
	}
}

func TestAuditMasksPersonalData(t *testing.T) {
	e := newOrderEnv(t, "")
	q := e.quote(t)
	if _, err := e.h.CreateOrder(bg, e.a, "k", orderReq(q)); err != nil {
		t.Fatal(err)
	}
	// The provider's error quotes the customer: it is masked in the audit.
	_, _ = e.h.CreateOrder(bg, e.a, "k2", orderReq(q))
	p, err := e.h.Audit(bg, e.a, core.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]core.AuditEntry{}
	for _, en := range p.Entries {
		ops[en.Op+"/"+en.Outcome] = en
		b, _ := json.Marshal(en)
		if strings.Contains(string(b), "张三") || strings.Contains(string(b), "上海") {
			t.Errorf("audit entry keeps personal data: %s", b)
		}
	}
	c, ok := ops["order.create/ok"]
	if !ok || c.Tenant != "a" || c.Provider != "rec" || c.Detail["customer.name"] != "张*" || c.Detail["customer.phone"] != "138****6789" || c.Detail["quote_id"] != q {
		t.Fatalf("order.create entry %+v in %+v", c, p.Entries)
	}
	if _, ok := ops["order.create/conflict"]; !ok {
		t.Errorf("the refused create is not audited: %+v", p.Entries)
	}
	if _, ok := ops["quote/ok"]; !ok {
		t.Errorf("the quote is not audited: %+v", p.Entries)
	}
}

// TestOrderLifeWebhooks runs an order through its whole life on the
// clock: one signed webhook per state change, in order, and all of them
// once a webhook endpoint that was down is back.
func TestOrderLifeWebhooks(t *testing.T) {
	e := newOrderEnv(t, t.TempDir())
	a, err := e.h.CreateOrder(bg, e.a, "life", orderReq(e.quote(t)))
	if err != nil {
		t.Fatal(err)
	}
	// Two changes arrive while the endpoint is down, and a poll sees
	// several changes at once.
	e.hooks.down.Store(true)
	e.clock.Advance(time.Hour)
	if r, err := e.h.Orders().PollOrders(bg); err != nil || r.Polled != 1 || r.Events != 1 {
		t.Fatalf("poll: %+v %v", r, err)
	}
	e.clock.Advance(2 * time.Hour)
	if r, err := e.h.Orders().PollOrders(bg); err != nil || r.Events != 2 {
		t.Fatalf("poll seeing two changes: %+v %v", r, err)
	}
	for range 3 {
		if _, err := e.h.Orders().DeliverWebhooks(bg); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	if n := len(e.hooks.events()); n != 0 {
		t.Fatalf("%d delivered while down", n)
	}
	// The order's timeline shows the failed attempts: the head event is
	// retrying, with why; the others wait behind it.
	dl, err := e.h.Orders().WebhookDeliveries(bg, e.a, a.Order.ID)
	if err != nil || len(dl.Deliveries) != 3 {
		t.Fatalf("deliveries while down: %+v %v", dl, err)
	}
	if d := dl.Deliveries[0]; d.Status != "retrying" || d.Attempts < 1 || d.LastError == "" || d.NextAttemptAt == nil || d.State != lifeStates[1] ||
		d.Type != core.EventOrderStateChanged || !strings.HasPrefix(d.EventID, "evt_") {
		t.Fatalf("head delivery while down: %+v", d)
	}
	if d := dl.Deliveries[2]; d.Status != "pending" || d.Attempts != 0 {
		t.Fatalf("queued delivery while down: %+v", d)
	}
	e.hooks.down.Store(false)
	e.clock.Advance(10 * time.Minute)
	// The host's own loop may deliver some of them first; when this call
	// returns all three have arrived, whoever sent them.
	if r, err := e.h.Orders().DeliverWebhooks(bg); err != nil || r.Failed != 0 || len(e.hooks.events()) != 3 {
		t.Fatalf("back: %+v %v, %d received", r, err, len(e.hooks.events()))
	}
	for range 4 {
		e.clock.Advance(time.Hour)
		if _, err := e.h.Orders().PollOrders(bg); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.Orders().DeliverWebhooks(bg); err != nil {
			t.Fatal(err)
		}
	}
	got := e.hooks.events()
	want := lifeStates[1:]
	if len(got) != len(want) {
		t.Fatalf("%d webhooks, want %d: %+v", len(got), len(want), got)
	}
	for i, ev := range got {
		if ev.Data.State != want[i] || ev.Data.PreviousState != lifeStates[i] || ev.Data.Sequence != i+2 || ev.Data.OrderID != a.Order.ID || ev.Type != core.EventOrderStateChanged {
			t.Errorf("webhook %d: %+v, want %s", i, ev.Data, want[i])
		}
	}
	if len(e.hooks.bad) > 0 {
		t.Fatalf("bad signatures: %v", e.hooks.bad)
	}
	dl, err = e.h.Orders().WebhookDeliveries(bg, e.a, a.Order.ID)
	if err != nil || len(dl.Deliveries) != len(want) {
		t.Fatalf("deliveries: %+v %v", dl, err)
	}
	for i, d := range dl.Deliveries {
		if d.Status != "delivered" || d.DeliveredAt == nil || d.LastError != "" || d.EventID != got[i].ID || d.State != want[i] {
			t.Errorf("delivery %d: %+v, want %s delivered as %s", i, d, want[i], got[i].ID)
		}
	}
	if raw, _ := json.Marshal(dl); strings.Contains(string(raw), hookSecret) || strings.Contains(string(raw), "v1=") {
		t.Fatalf("the deliveries show a secret or a signature: %s", raw)
	}
	if _, err := e.h.Orders().WebhookDeliveries(bg, e.b, a.Order.ID); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Fatalf("another tenant's order's deliveries: %v, want not_found", err)
	}
	o, _ := e.h.GetOrder(bg, e.a, a.Order.ID)
	if o.State != recycle.OrderCompleted || len(o.History) != 6 {
		t.Fatalf("order %+v", o)
	}
	// A completed order is not polled any more.
	e.clock.Advance(time.Hour)
	if r, _ := e.h.Orders().PollOrders(bg); r.Polled != 0 {
		t.Fatalf("polled a final order: %+v", r)
	}
}

func TestWebhookSignature(t *testing.T) {
	now := time.Unix(1750000000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := core.SignWebhook("secret-0123456789", now, body)
	if !strings.HasPrefix(h, "t=1750000000,v1=") {
		t.Fatalf("header %q", h)
	}
	if err := core.VerifyWebhook("secret-0123456789", h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"other body":   core.VerifyWebhook("secret-0123456789", h, []byte(`{}`), now, 5*time.Minute),
		"other secret": core.VerifyWebhook("secret-x", h, body, now, 5*time.Minute),
		"replayed":     core.VerifyWebhook("secret-0123456789", h, body, now.Add(time.Hour), 5*time.Minute),
		"malformed":    core.VerifyWebhook("secret-0123456789", "v1=00", body, now, 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// During a rotation every event carries a signature per secret, the
// current one first: a receiver holding either verifies it.
func TestWebhookSignatureDuringARotation(t *testing.T) {
	now := time.Unix(1750000000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := core.SignWebhook("new-secret-0123456789", now, body, "old-secret-0123456789")
	if strings.Count(h, ",v1=") != 2 || h[:strings.LastIndex(h, ",")] != core.SignWebhook("new-secret-0123456789", now, body) {
		t.Fatalf("header %q", h)
	}
	for _, secret := range []string{"new-secret-0123456789", "old-secret-0123456789"} {
		if err := core.VerifyWebhook(secret, h, body, now, 5*time.Minute); err != nil {
			t.Errorf("%s: %v", secret, err)
		}
	}
	if core.VerifyWebhook("another-secret-0123456789", h, body, now, 5*time.Minute) == nil {
		t.Error("a third secret verified")
	}
}

// A receiver still on the old secret keeps receiving while the tenant's
// configuration names it as a previous secret; the old secret stays out
// of the log.
func TestWebhookRotationKeepsOldReceiversWorking(t *testing.T) {
	var logs logBuffer
	clock := &manualClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	e := &orderEnv{clock: clock, rec: newRecycler(clock), shop: &shop{}, previous: []string{hookSecret}}
	e.hooks = newHookSink(t, hookSecret, clock) // the receiver has not moved yet
	e.secret = "whsec-rotated-fedcba9876543210"
	e.start(t, core.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := e.h.CreateOrder(bg, e.a, "rotation", orderReq(e.quote(t))); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if r, err := e.h.Orders().PollOrders(bg); err != nil || r.Events != 1 {
		t.Fatalf("poll: %+v %v", r, err)
	}
	// The poll also woke the host's own delivery loop; whichever of the two
	// delivers, the event has reached the sink when this call returns.
	if r, err := e.h.Orders().DeliverWebhooks(bg); err != nil || r.Failed != 0 || len(e.hooks.events()) != 1 {
		t.Fatalf("deliver: %+v %v, %d received (refused: %v)", r, err, len(e.hooks.events()), e.hooks.bad)
	}
	e.h.Logger().Info("rotating", "old", hookSecret, "new", e.secret)
	if out := logs.String(); strings.Contains(out, hookSecret) || strings.Contains(out, e.secret) {
		t.Fatalf("a webhook secret in the log: %s", out)
	}
}

func TestWebhookRotationConfigIsChecked(t *testing.T) {
	for name, tc := range map[string]core.TenantConfig{
		"short":           {ID: "a", WebhookURL: "https://a.example/h", WebhookSecret: hookSecret, WebhookPreviousSecrets: []string{"short"}},
		"same as current": {ID: "a", WebhookURL: "https://a.example/h", WebhookSecret: hookSecret, WebhookPreviousSecrets: []string{hookSecret}},
		"without a URL":   {ID: "a", WebhookPreviousSecrets: []string{"old-secret-0123456789"}},
	} {
		tc.APIKeys = []string{"key-a-0123456789ab"}
		_, err := core.New(core.Config{Tenants: []core.TenantConfig{tc}}, core.WithLogger(slog.New(slog.DiscardHandler)))
		if err == nil || !strings.Contains(err.Error(), "webhook_previous_secrets") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func tradeInReq() *core.TradeInRequest {
	it := phoneItem()
	return &core.TradeInRequest{Old: core.TradeInOld{Item: &it},
		New:      core.TradeInNew{Provider: "shop", ItemID: "item-1", SKUID: "sku-1", NewOrderID: "JD-1"},
		Customer: recycle.Customer{Name: "李四", Phone: "139****0000", Address: "北京市朝阳区 2 号"}}
}

func TestTradeInStepsResumeAfterAFailure(t *testing.T) {
	e := newOrderEnv(t, t.TempDir())
	e.rec.linkDown.Store(1)
	_, err := e.h.CreateTradeIn(bg, e.a, "ti-1", tradeInReq())
	var te *core.TradeInError
	if !errors.As(err, &te) || te.Step != core.StepLink || sdk.CodeOf(err) != sdk.CodeUnavailable {
		t.Fatalf("link down: %v", err)
	}
	if !strings.Contains(sdk.AsError(err).Message, "step link") {
		t.Errorf("message %q does not name the step", sdk.AsError(err).Message)
	}
	got, err := e.h.GetTradeIn(bg, e.a, te.TradeIn.ID)
	if err != nil || got.State != core.TradeInFailed || got.FailedStep != core.StepLink || got.Steps[2].Status != core.StepDone || got.OrderID == "" {
		t.Fatalf("recorded: %+v %v", got, err)
	}
	if _, err := e.h.GetTradeIn(bg, e.b, te.TradeIn.ID); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Fatalf("another tenant: %v", err)
	}
	catalogCalls := e.shop.calls.Load()
	r, err := e.h.CreateTradeIn(bg, e.a, "ti-1", tradeInReq())
	if err != nil {
		t.Fatal(err)
	}
	ti := r.TradeIn
	if ti.ID != te.TradeIn.ID || ti.State != core.TradeInCompleted || e.rec.creates.Load() != 1 || e.shop.calls.Load() != catalogCalls || e.rec.links.Load() != 1 {
		t.Fatalf("resumed: %+v creates %d", ti, e.rec.creates.Load())
	}
	if ti.NewPrice.Amount != 799900 || ti.RecyclePrice.Amount != 500000 || ti.NetPrice.Amount != 299900 || ti.ProviderTradeInID != "TI1" {
		t.Fatalf("prices: %+v", ti)
	}
	for _, s := range ti.Steps {
		if s.Status != core.StepDone {
			t.Errorf("step %+v", s)
		}
	}
	if ti.Steps[3].Attempts != 2 || ti.Steps[2].Attempts != 1 {
		t.Errorf("attempts: %+v", ti.Steps)
	}
	again, err := e.h.CreateTradeIn(bg, e.a, "ti-1", tradeInReq())
	if err != nil || !again.Replayed || string(again.Body) != string(r.Body) {
		t.Fatalf("replay: %v", err)
	}
	o, err := e.h.GetOrder(bg, e.a, ti.OrderID)
	if err != nil || o.TradeInID != ti.ID {
		t.Fatalf("the recycle order: %+v %v", o, err)
	}
}

func TestTradeInNetPriceNeverBelowZeroAndBadSKU(t *testing.T) {
	e := newOrderEnv(t, "")
	req := tradeInReq()
	req.New.SKUID = "sku-cheap"
	r, err := e.h.CreateTradeIn(bg, e.a, "cheap", req)
	if err != nil || r.TradeIn.NetPrice.Amount != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	req = tradeInReq()
	req.New.SKUID = "sku-9"
	_, err = e.h.CreateTradeIn(bg, e.a, "bad-sku", req)
	var te *core.TradeInError
	if !errors.As(err, &te) || te.Step != core.StepPrice || sdk.AsError(err).Field != "new.sku_id" || !strings.Contains(err.Error(), "sku-1") {
		t.Fatalf("bad sku: %v", err)
	}
	for name, mut := range map[string]func(*core.TradeInRequest){
		"new.provider":   func(r *core.TradeInRequest) { r.New.Provider = "rec" },
		"old":            func(r *core.TradeInRequest) { r.Old.QuoteID = "Q1" },
		"customer.phone": func(r *core.TradeInRequest) { r.Customer.Phone = "139 1234 0000" },
	} {
		req := tradeInReq()
		mut(req)
		_, err := e.h.CreateTradeIn(bg, e.a, "v-"+name, req)
		if se := sdk.AsError(err); se.Field != name {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// With policies in force, each audit entry names their revision.
func TestAuditNamesThePolicyRevision(t *testing.T) {
	clock := &manualClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	e := &orderEnv{clock: clock, rec: newRecycler(clock), shop: &shop{}, policies: "../policies"}
	e.hooks = newHookSink(t, hookSecret, clock)
	e.start(t)
	st, ok := e.h.PolicyStatus()
	if !ok || st.Revision == "" {
		t.Fatalf("no policies in force: %+v", st)
	}
	if _, err := e.h.CreateOrder(bg, e.a, "k", orderReq(e.quote(t))); err != nil {
		t.Fatal(err)
	}
	p, err := e.h.Audit(bg, e.a, core.AuditFilter{})
	if err != nil || len(p.Entries) < 2 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, en := range p.Entries {
		if en.PolicyRevision != st.Revision {
			t.Errorf("entry %s: revision %q, want %q", en.Op, en.PolicyRevision, st.Revision)
		}
	}
}

// The webhook secret is a secret: the host's log never shows it.
func TestWebhookSecretIsRedacted(t *testing.T) {
	var logs logBuffer
	e := newOrderEnv(t, "", core.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	e.h.Logger().Info("configured", "webhook_secret", hookSecret)
	if strings.Contains(logs.String(), hookSecret) || !strings.Contains(logs.String(), core.Redacted) {
		t.Fatalf("log: %s", logs.String())
	}
}
