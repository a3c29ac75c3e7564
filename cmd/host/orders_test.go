package main

import (
	"bytes"
	"encoding/json"
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
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/plugins/alibaba1688"
	alibaba1688sandbox "github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// ordersEnv is a host with the real Aihuishou and 1688 adapters, in
// process, talking HTTP to their sandboxes on 127.0.0.1, served over HTTP
// by the API; host and sandboxes share one manual clock.
type ordersEnv struct {
	clock *sandboxkit.ManualClock
	ahs   *aihuishousandbox.Sandbox
	ali   *alibaba1688sandbox.Sandbox
	h     *core.Host
	api   *httptest.Server
	hooks *webhookEndpoint
	dir   string
	// ahsURL and aliURL are the sandboxes' addresses.
	ahsURL, aliURL string
}

// webhookEndpoint is tenant a's webhook URL: it checks each signature
// against the shared clock and can be down.
type webhookEndpoint struct {
	clock *sandboxkit.ManualClock
	srv   *httptest.Server
	down  atomic.Bool
	mu    sync.Mutex
	got   []core.WebhookEvent
	bad   int
}

const testWebhookSecret = "whsec-test-0123456789"

func newWebhookEndpoint(t *testing.T, clock *sandboxkit.ManualClock) *webhookEndpoint {
	w := &webhookEndpoint{clock: clock}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if w.down.Load() {
			http.Error(rw, "maintenance", http.StatusBadGateway)
			return
		}
		if err := core.VerifyWebhook(testWebhookSecret, r.Header.Get("Recyclegate-Signature"), body, w.clock.Now(), 5*time.Minute); err != nil {
			w.mu.Lock()
			w.bad++
			w.mu.Unlock()
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev core.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.got = append(w.got, ev)
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookEndpoint) events() []core.WebhookEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]core.WebhookEvent(nil), w.got...)
}

func newOrdersEnv(t *testing.T) *ordersEnv {
	t.Helper()
	e := newSandboxedEnv(t)
	e.hooks = newWebhookEndpoint(t, e.clock)
	e.startHost(t, []core.TenantConfig{
		{ID: "a", APIKeys: []string{"key-a-0123456789ab"}, WebhookURL: e.hooks.srv.URL, WebhookSecret: testWebhookSecret},
		{ID: "b", APIKeys: []string{"key-b-0123456789ab"}},
	}, slog.New(slog.DiscardHandler))
	return e
}

// newSandboxedEnv starts the Aihuishou and 1688 sandboxes on loopback, on
// one manual clock; startHost then serves a host on their adapters.
func newSandboxedEnv(t *testing.T) *ordersEnv {
	t.Helper()
	clock := sandboxkit.NewManualClock(time.Date(2025, 3, 10, 10, 0, 0, 0, sdk.ChinaTime))
	e := &ordersEnv{clock: clock, dir: t.TempDir()}
	e.ahs = aihuishousandbox.New(aihuishousandbox.Options{Clock: clock, QPS: -1, Seed: 3})
	ahsSrv, err := sandboxkit.Listen("127.0.0.1:0", e.ahs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ahsSrv.Close() })
	e.ali = alibaba1688sandbox.New(alibaba1688sandbox.Options{Clock: clock, QPS: -1})
	aliSrv, err := sandboxkit.Listen("127.0.0.1:0", e.ali)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = aliSrv.Close() })
	e.ahsURL, e.aliURL = ahsSrv.URL, aliSrv.URL
	return e
}

// startHost serves a host with tenants on the sandboxes' adapters (orders
// on disk, polling off), through the API's contract check.
func (e *ordersEnv) startHost(t *testing.T, tenants []core.TenantConfig, log *slog.Logger) {
	t.Helper()
	ahs, ali := aihuishou.New(), alibaba1688.New()
	ahs.Now, ali.Now = e.clock.Now, e.clock.Now
	cfg := core.Config{DataDir: e.dir, Orders: core.OrdersConfig{PollInterval: -1}, Tenants: tenants}
	var err error
	e.h, err = core.New(cfg, core.WithClock(e.clock.Now), core.WithLogger(log),
		core.WithProvider(ahs, e.ahs.AdapterConfig(e.ahsURL)), core.WithProvider(ali, e.ali.AdapterConfig(e.aliURL)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.h.Close)
	e.api = httptest.NewServer(apitest.Handler(t, api.New(e.h)))
	t.Cleanup(e.api.Close)
}

type answer struct {
	status int
	hdr    http.Header
	body   map[string]any
	raw    []byte
}

func (e *ordersEnv) do(t *testing.T, method, path, apiKey, idemKey, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, hdr: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (e *ordersEnv) quote(t *testing.T, apiKey string) string {
	t.Helper()
	a := e.do(t, "POST", "/v1/quotes", apiKey, "", iphone)
	quotes, _ := a.body["quotes"].([]any)
	if a.status != 200 || len(quotes) != 1 {
		t.Fatalf("quote: %d %s", a.status, a.raw)
	}
	return quotes[0].(map[string]any)["quote_id"].(string)
}

func orderBody(quote, phone string) string {
	return fmt.Sprintf(`{"quote_id":%q,"customer":{"name":"张三","phone":%q,"address":"上海市徐汇区漕溪北路 88 号"},"logistics":"express"}`, quote, phone)
}

func (e *ordersEnv) creates() int64 { return e.ahs.Kit().Stats().ByPath["/api/order/create"] }

// TestOneKeyHundredConcurrentPosts: 100 concurrent POST /v1/orders with
// one key make exactly one order at the sandbox; every answer is the
// replayed 201 or a 409.
func TestOneKeyHundredConcurrentPosts(t *testing.T) {
	e := newOrdersEnv(t)
	q := e.quote(t, "key-a-0123456789ab")
	body := orderBody(q, "138****6789")
	var wg sync.WaitGroup
	answers := make([]answer, 100)
	start := make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", "one-key", body)
		}()
	}
	close(start)
	wg.Wait()
	var created, replayed, conflict int
	var first []byte
	for _, a := range answers {
		switch {
		case a.status == 201 && a.hdr.Get("Idempotent-Replayed") != "true":
			created++
			first = a.raw
		case a.status == 201:
			replayed++
		case a.status == 409 && a.body["field"] == "Idempotency-Key":
			conflict++
		default:
			t.Errorf("answer %d %s", a.status, a.raw)
		}
	}
	if created != 1 || created+replayed+conflict != 100 || e.creates() != 1 {
		t.Fatalf("created %d, replayed %d, 409 %d; orders created at the sandbox %d", created, replayed, conflict, e.creates())
	}
	for _, a := range answers {
		if a.status == 201 && !bytes.Equal(a.raw, first) {
			t.Fatalf("a replay differs from the first answer:\n%s\n%s", a.raw, first)
		}
	}
	again := e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", "one-key", body)
	if again.status != 201 || again.hdr.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.raw, first) {
		t.Fatalf("later retry: %d %s", again.status, again.raw)
	}
}

func TestOrderRequestErrors(t *testing.T) {
	e := newOrdersEnv(t)
	q := e.quote(t, "key-a-0123456789ab")
	for _, c := range []struct {
		name, key, body string
		status          int
		field, says     string
	}{
		{"no key", "", orderBody(q, "138****6789"), 400, "Idempotency-Key", "Idempotency-Key"},
		{"unmasked phone", "k1", orderBody(q, "13812346789"), 400, "customer.phone", "138****6789"},
		{"no quote", "k2", `{"customer":{"name":"a","phone":"138****6789"}}`, 400, "quote_id", "quote_id"},
		{"bad logistics", "k3", strings.Replace(orderBody(q, "138****6789"), "express", "drone", 1), 400, "logistics", "express"},
		{"unknown field", "k4", `{"quote_id":"x","colour":"red"}`, 400, "colour", "colour"},
	} {
		a := e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", c.key, c.body)
		if a.status != c.status || a.body["field"] != c.field || !strings.Contains(fmt.Sprint(a.body["detail"]), c.says) {
			t.Errorf("%s: %d %s", c.name, a.status, a.raw)
		}
	}
	if ok := e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", "k5", orderBody(q, "138****6789")); ok.status != 201 {
		t.Fatalf("create: %d %s", ok.status, ok.raw)
	}
	other := e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", "k5", strings.Replace(orderBody(q, "138****6789"), "express", "store", 1))
	if other.status != 422 || other.body["field"] != "Idempotency-Key" {
		t.Fatalf("same key, other body: %d %s", other.status, other.raw)
	}
	if e.creates() != 1 {
		t.Fatalf("%d creates", e.creates())
	}
}

// TestOrderLifeOnTheSandboxClock runs an order from creation to payout on
// the sandbox's clock: one signed webhook per state change, in order, all
// of them delivered once the tenant's endpoint is back; the order's
// tracking, inspection and settlement; tenant isolation; the audit log.
func TestOrderLifeOnTheSandboxClock(t *testing.T) {
	e := newOrdersEnv(t)
	created := e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", "life", orderBody(e.quote(t, "key-a-0123456789ab"), "138****6789"))
	if created.status != 201 {
		t.Fatalf("%d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	if created.hdr.Get("Location") != "/v1/orders/"+id || created.body["state"] != "waiting_to_ship" {
		t.Fatalf("created: %v %s", created.hdr, created.raw)
	}
	ctx := t.Context()
	step := func(d time.Duration) {
		t.Helper()
		e.clock.Advance(d)
		if _, err := e.h.Orders().PollOrders(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.Orders().DeliverWebhooks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(3 * time.Hour) // shipped
	e.hooks.down.Store(true)
	step(23 * time.Hour) // received
	step(time.Hour)      // inspecting
	for range 5 {        // retried with backoff while down
		step(30 * time.Second)
	}
	if n := len(e.hooks.events()); n != 1 {
		t.Fatalf("%d webhooks before the endpoint went down, want 1", n)
	}
	e.hooks.down.Store(false)
	step(10 * time.Minute) // back: the two waiting arrive, in order
	step(2 * time.Hour)    // inspected
	step(2 * time.Hour)    // completed
	want := []recycle.OrderState{recycle.OrderInTransit, recycle.OrderReceived, recycle.OrderInspecting, recycle.OrderInspected, recycle.OrderCompleted}
	got := e.hooks.events()
	if len(got) != len(want) || e.hooks.bad != 0 {
		t.Fatalf("%d webhooks (%d badly signed), want %d: %+v", len(got), e.hooks.bad, len(want), got)
	}
	prev := recycle.OrderWaitingToShip
	for i, ev := range got {
		if ev.Data.State != want[i] || ev.Data.PreviousState != prev || ev.Data.OrderID != id || ev.Data.Sequence != i+2 || ev.ID == "" {
			t.Errorf("webhook %d: %+v, want %s after %s", i, ev.Data, want[i], prev)
		}
		prev = ev.Data.State
	}

	o := e.do(t, "GET", "/v1/orders/"+id, "key-a-0123456789ab", "", "")
	hist, _ := o.body["history"].([]any)
	if o.status != 200 || o.body["state"] != "completed" || o.body["provider_state"] != "completed" || len(hist) != 6 || o.body["settlement_id"] == "" {
		t.Fatalf("order: %d %s", o.status, o.raw)
	}
	if strings.Contains(string(o.raw), "张三") || strings.Contains(string(o.raw), "漕溪北路") || !strings.Contains(string(o.raw), "张*") {
		t.Errorf("the order keeps personal data: %s", o.raw)
	}
	for _, sub := range []string{"tracking", "inspection", "settlement"} {
		a := e.do(t, "GET", "/v1/orders/"+id+"/"+sub, "key-a-0123456789ab", "", "")
		if a.status != 200 || a.body[sub] == nil {
			t.Errorf("%s: %d %s", sub, a.status, a.raw)
		}
		if b := e.do(t, "GET", "/v1/orders/"+id+"/"+sub, "key-b-0123456789ab", "", ""); b.status != 404 {
			t.Errorf("%s by another tenant: %d %s", sub, b.status, b.raw)
		}
	}
	if b := e.do(t, "GET", "/v1/orders/"+id, "key-b-0123456789ab", "", ""); b.status != 404 {
		t.Errorf("another tenant's order: %d", b.status)
	}
	// The order's webhook deliveries: every event delivered, the one that
	// was tried while the endpoint was down after several attempts (those
	// behind it waited); no secret.
	wh := e.do(t, "GET", "/v1/orders/"+id+"/webhook-deliveries", "key-a-0123456789ab", "", "")
	ds, _ := wh.body["deliveries"].([]any)
	if wh.status != 200 || len(ds) != len(want) || bytes.Contains(wh.raw, []byte(testWebhookSecret)) {
		t.Fatalf("webhook deliveries: %d %s", wh.status, wh.raw)
	}
	for i, d := range ds {
		d := d.(map[string]any)
		retried := d["attempts"].(float64) > 1
		if d["status"] != "delivered" || d["event_id"] != got[i].ID || d["state"] != string(want[i]) || retried != (want[i] == recycle.OrderReceived) {
			t.Errorf("delivery %d: %v", i, d)
		}
	}
	if b := e.do(t, "GET", "/v1/orders/"+id+"/webhook-deliveries", "key-b-0123456789ab", "", ""); b.status != 404 {
		t.Errorf("another tenant's order's webhook deliveries: %d %s", b.status, b.raw)
	}
	list := e.do(t, "GET", "/v1/orders?state=completed", "key-a-0123456789ab", "", "")
	if orders, _ := list.body["orders"].([]any); list.status != 200 || len(orders) != 1 {
		t.Errorf("list: %d %s", list.status, list.raw)
	}
	if bytes.Contains(list.raw, []byte(`"history":null`)) || bytes.Contains(list.raw, []byte(`"history"`)) {
		t.Errorf("a list leaves history out (the document: an array, left out of a list): %s", list.raw)
	}
	if list := e.do(t, "GET", "/v1/orders", "key-b-0123456789ab", "", ""); len(list.body["orders"].([]any)) != 0 {
		t.Errorf("b lists a's orders: %s", list.raw)
	}
	if bad := e.do(t, "GET", "/v1/orders?state=lost", "key-a-0123456789ab", "", ""); bad.status != 400 || bad.body["field"] != "state" {
		t.Errorf("bad state filter: %d %s", bad.status, bad.raw)
	}

	audit := e.do(t, "GET", "/v1/audit?op=order.create", "key-a-0123456789ab", "", "")
	entries, _ := audit.body["entries"].([]any)
	if audit.status != 200 || len(entries) != 1 {
		t.Fatalf("audit: %d %s", audit.status, audit.raw)
	}
	en := entries[0].(map[string]any)
	detail := en["detail"].(map[string]any)
	if en["tenant"] != "a" || en["provider"] != "aihuishou" || en["outcome"] != "ok" || detail["customer.name"] != "张*" || detail["customer.phone"] != "138****6789" {
		t.Errorf("audit entry %v", en)
	}
	all := e.do(t, "GET", "/v1/audit?limit=1000", "key-a-0123456789ab", "", "")
	if strings.Contains(string(all.raw), "张三") || strings.Contains(string(all.raw), "漕溪北路") {
		t.Errorf("the audit keeps personal data")
	}
	if polls := e.do(t, "GET", "/v1/audit?op=order.get", "key-a-0123456789ab", "", ""); len(polls.body["entries"].([]any)) < 5 {
		t.Errorf("polls are not audited: %s", polls.raw)
	}
	if b := e.do(t, "GET", "/v1/audit", "key-b-0123456789ab", "", ""); strings.Contains(string(b.raw), `"tenant":"a"`) {
		t.Errorf("b sees a's audit: %s", b.raw)
	}
}

// TestTradeInWithTheCatalog: the old iPhone is quoted and ordered at the
// recycler, the new one priced from the 1688 catalog, the two linked; the
// answer is the net price with each step.
func TestTradeInWithTheCatalog(t *testing.T) {
	e := newOrdersEnv(t)
	p, ok := e.ali.Product("680775234380")
	if !ok || len(p.SKUs) == 0 {
		t.Fatal("the sandbox has no iPhone 15 Pro listing")
	}
	sku := p.SKUs[len(p.SKUs)-1]
	body := fmt.Sprintf(`{"old":{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"128GB","condition":"good"}},
		"new":{"provider":"alibaba1688","item_id":"680775234380","sku_id":%q,"new_order_id":"JD-2025-0001"},
		"customer":{"name":"李四","phone":"139****0000","address":"北京市朝阳区建国路 1 号"}}`, sku.ID)
	if a := e.do(t, "POST", "/v1/trade-ins", "key-a-0123456789ab", "", body); a.status != 400 || a.body["field"] != "Idempotency-Key" {
		t.Fatalf("no key: %d %s", a.status, a.raw)
	}
	a := e.do(t, "POST", "/v1/trade-ins", "key-a-0123456789ab", "ti-1", body)
	if a.status != 201 {
		t.Fatalf("trade-in: %d %s", a.status, a.raw)
	}
	var ti core.TradeIn
	if err := json.Unmarshal(a.raw, &ti); err != nil {
		t.Fatal(err)
	}
	if ti.State != core.TradeInCompleted || ti.RecycleProvider != "aihuishou" || ti.CatalogProvider != "alibaba1688" || ti.ProviderTradeInID == "" {
		t.Fatalf("trade-in %s", a.raw)
	}
	if ti.NewPrice.Amount != sku.PriceFen || ti.RecyclePrice.Amount <= 0 || ti.NetPrice.Amount != max(sku.PriceFen-ti.RecyclePrice.Amount, 0) {
		t.Fatalf("prices: new %v recycle %v net %v", ti.NewPrice, ti.RecyclePrice, ti.NetPrice)
	}
	for _, s := range ti.Steps {
		if s.Status != core.StepDone || s.Attempts != 1 {
			t.Errorf("step %+v", s)
		}
	}
	again := e.do(t, "POST", "/v1/trade-ins", "key-a-0123456789ab", "ti-1", body)
	if again.status != 201 || again.hdr.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.raw, a.raw) {
		t.Fatalf("replay: %d %s", again.status, again.raw)
	}
	if got := e.do(t, "GET", "/v1/trade-ins/"+ti.ID, "key-a-0123456789ab", "", ""); got.status != 200 || got.body["state"] != "completed" {
		t.Fatalf("get: %d %s", got.status, got.raw)
	}
	if got := e.do(t, "GET", "/v1/trade-ins/"+ti.ID, "key-b-0123456789ab", "", ""); got.status != 404 {
		t.Fatalf("another tenant: %d", got.status)
	}
	if o := e.do(t, "GET", "/v1/orders/"+ti.OrderID, "key-a-0123456789ab", "", ""); o.status != 200 || o.body["trade_in_id"] != ti.ID {
		t.Fatalf("the recycle order: %d %s", o.status, o.raw)
	}
	// A SKU the item does not have stops at step price, naming the field.
	bad := strings.Replace(body, sku.ID, "0000", 1)
	f := e.do(t, "POST", "/v1/trade-ins", "key-a-0123456789ab", "ti-2", bad)
	if f.status != 404 || f.body["step"] != "price" || f.body["field"] != "new.sku_id" || f.body["trade_in_id"] == nil {
		t.Fatalf("bad sku: %d %s", f.status, f.raw)
	}
	if e.creates() != 1 {
		t.Fatalf("%d orders created at the sandbox", e.creates())
	}
	// A quote already ordered stops the trade-in at step order: 409, a
	// TradeInProblem naming the step (the contract checks its shape).
	q := e.quote(t, "key-a-0123456789ab")
	if o := e.do(t, "POST", "/v1/orders", "key-a-0123456789ab", "ord-before-ti", orderBody(q, "138****6789")); o.status != 201 {
		t.Fatalf("order: %d %s", o.status, o.raw)
	}
	used := fmt.Sprintf(`{"old":{"provider":"aihuishou","quote_id":%q},
		"new":{"provider":"alibaba1688","item_id":"680775234380","sku_id":%q,"new_order_id":"JD-2025-0003"},
		"customer":{"name":"李四","phone":"139****0000","address":"北京市朝阳区建国路 1 号"}}`, q, sku.ID)
	c := e.do(t, "POST", "/v1/trade-ins", "key-a-0123456789ab", "ti-3", used)
	if c.status != 409 || c.body["step"] != "order" || c.body["code"] != "conflict" || c.body["trade_in_id"] == nil || c.body["trade_in"] == nil {
		t.Fatalf("a quote already ordered: %d %s", c.status, c.raw)
	}
}

// TestOrderCLI drives `host order` and `host tradein` against the API.
func TestOrderCLI(t *testing.T) {
	e := newOrdersEnv(t)
	q := e.quote(t, "key-a-0123456789ab")
	run1 := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append(args, "--host", e.api.URL, "--api-key", "key-a-0123456789ab"), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run1("order", "create", "--quote-id", q, "--name", "张三", "--phone", "138****6789", "--address", "上海市 1 号")
	if code != 0 || !strings.Contains(out, "waiting_to_ship") || !strings.Contains(errs, "idempotency key: cli-") {
		t.Fatalf("create: %d\n%s\n%s", code, out, errs)
	}
	key := strings.Fields(strings.TrimPrefix(strings.SplitN(errs, "\n", 2)[0], "idempotency key: "))[0]
	code, out2, errs := run1("order", "create", "--quote-id", q, "--name", "张三", "--phone", "138****6789", "--address", "上海市 1 号", "--idempotency-key", key)
	if code != 0 || out2 != out || !strings.Contains(errs, "replayed") {
		t.Fatalf("retry with the printed key: %d\n%s\n%s", code, out2, errs)
	}
	code, _, errs = run1("order", "create", "--quote-id", q, "--name", "张三", "--phone", "13812346789")
	if code != 1 || !strings.Contains(errs, "customer.phone") || !strings.Contains(errs, "138****6789") {
		t.Fatalf("unmasked phone: %d %s", code, errs)
	}
	code, out, _ = run1("order", "list")
	if code != 0 || !strings.Contains(out, "aihuishou") || len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Fatalf("list: %d\n%s", code, out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if code, out, _ = run1("order", "get", id, "--json"); code != 0 || !strings.Contains(out, `"id": "`+id) {
		t.Fatalf("get --json: %d\n%s", code, out)
	}
	if code, out, _ = run1("order", "track", id); code != 0 || !strings.Contains(out, "pending") {
		t.Fatalf("track: %d\n%s", code, out)
	}
	if code, _, errs = run1("order", "inspection", id); code != 1 || !strings.Contains(errs, "409") {
		t.Fatalf("inspection before the device arrived: %d %s", code, errs)
	}
	if code, _, _ = run1("order", "get"); code != 2 {
		t.Fatalf("get without id: %d", code)
	}
	if code, _, _ = run1("order", "fly"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
	p, _ := e.ali.Product("680775234380")
	code, out, errs = run1("tradein", "create", "--brand", "Apple", "--model", "iPhone 13", "--storage", "128GB", "--condition", "good",
		"--new-provider", "alibaba1688", "--new-item", "680775234380", "--new-sku", p.SKUs[0].ID, "--new-order-id", "JD-9",
		"--name", "李四", "--phone", "139****0000", "--address", "北京市 2 号")
	if code != 0 || !strings.Contains(out, "net price") || !strings.Contains(out, "completed") {
		t.Fatalf("tradein: %d\n%s\n%s", code, out, errs)
	}
}
