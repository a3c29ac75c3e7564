package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/orders"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// replayProvider quotes the categories it is given; phonebuy's price
// follows the item's storage, so the filters have something to judge.
type replayProvider struct {
	id   string
	cats []sdk.Category
}

func (p *replayProvider) Manifest() sdk.Manifest {
	caps := []sdk.Capability{sdk.CapQuote}
	if p.id == "phonebuy" {
		caps = append(caps, sdk.CapOrders) // its quotes are bound to their tenant, and orders pass compliance
	}
	return sdk.Manifest{ID: p.id, Name: p.id, Version: "0.1.0", Status: sdk.StatusStable, Categories: p.cats,
		Capabilities: caps}
}

// CreateOrder refuses every order: the tests need the order's compliance
// decision, not an order.
func (p *replayProvider) CreateOrder(context.Context, *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	return nil, &sdk.Error{Code: sdk.CodeConflict, Message: "this test provider takes no orders"}
}

// GetOrder finds none.
func (p *replayProvider) GetOrder(context.Context, *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	return nil, &sdk.Error{Code: sdk.CodeNotFound, Message: "no such order"}
}

func (p *replayProvider) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: p.id, QuoteID: p.id + "-" + req.Item.Model, Price: sdk.Fen(replayPrice(p.id, &req.Item)),
		Orderable: true, ValidUntil: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}, nil
}

var _ sdk.Quoter = (*replayProvider)(nil)

// replayPrice is what each provider quotes, in fen.
func replayPrice(id string, it *sdk.Item) int64 {
	switch {
	case id == "carvalue":
		return 5_000_000
	case id == "pcshop":
		return 300_000
	}
	return map[string]int64{"16GB": 5_000, "64GB": 15_000, "128GB": 50_000}[it.Storage]
}

// ReplayPolicyV1 is the set in force; V2 tightens compliance (old cars),
// routes laptops to pcshop alone and raises the price floor.
const replayPolicyV1 = `
compliance:
  - name: tenant-category
    when: request.item.category != '' && !(request.item.category in tenant.categories)
    message_expression: "'your account is not entitled to quotes for category ' + request.item.category"
routing:
  - name: cars-to-carvalue
    when: request.item.category == 'car'
    providers: [carvalue]
  - name: laptops-to-pcshop
    when: request.item.category == 'laptop'
    providers: [pcshop, "*"]
default:
  providers: ["*"]
filters:
  - name: low-price
    when: quote.price < 10000
    message: too low
`

var replayPolicyV2 = strings.NewReplacer(
	"    message_expression: \"'your account is not entitled to quotes for category ' + request.item.category\"\n",
	"    message_expression: \"'your account is not entitled to quotes for category ' + request.item.category\"\n"+
		"  - name: old-cars\n    when: request.item.category == 'car' && request.item.car.mileage_km > 150000\n    message: cars over 150,000 km are not valued\n",
	"providers: [pcshop, \"*\"]", "providers: [pcshop]",
	"quote.price < 10000", "quote.price < 20000").Replace(replayPolicyV1)

type sentRequest struct {
	tenant   string
	category string
	storage  string
	mileage  int64
}

// newReplayHost serves the v1 policies with a data directory, three
// providers and three tenants (shop is entitled to phones and laptops
// only).
func newReplayHost(t *testing.T, now func() time.Time) (*core.Host, string) {
	t.Helper()
	dir, data := t.TempDir(), t.TempDir()
	writePolicy(t, filepath.Join(dir, "policy.yaml"), replayPolicyV1)
	cfg := core.Config{DataDir: data, Policies: dir, Tenants: []core.TenantConfig{
		{ID: "acme", APIKeys: []string{"k-acme-0123456789"}},
		{ID: "shop", APIKeys: []string{"k-shop-0123456789"}, Categories: []string{"phone", "laptop"}},
		{ID: "ops", APIKeys: []string{"k-ops-0123456789a"}, Admin: true},
	}, Orders: core.OrdersConfig{PollInterval: -1}}
	h, err := core.New(cfg, core.WithClock(now),
		core.WithProvider(&replayProvider{id: "phonebuy", cats: []sdk.Category{sdk.CategoryPhone, sdk.CategoryLaptop}}, nil),
		core.WithProvider(&replayProvider{id: "pcshop", cats: []sdk.Category{sdk.CategoryLaptop}}, nil),
		core.WithProvider(&replayProvider{id: "carvalue", cats: []sdk.Category{sdk.CategoryCar}}, nil),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, data
}

// serveMixed sends n requests: phones, laptops and cars in turn, a
// quarter from shop (whose cars are denied), storages and mileages spread.
func serveMixed(t *testing.T, h *core.Host, n int) []sentRequest {
	t.Helper()
	var sent []sentRequest
	storages := []string{"16GB", "64GB", "128GB"}
	zero := 0
	for i := range n {
		s := sentRequest{tenant: "acme", storage: storages[(i/3)%3]}
		if i%4 == 0 {
			s.tenant = "shop"
		}
		req := &core.QuoteRequest{Item: sdk.Item{Brand: "Brand", Model: fmt.Sprintf("M%d", i), Storage: s.storage, Condition: sdk.ConditionGood}}
		switch i % 3 {
		case 0:
			req.Item.Category, s.category = sdk.CategoryPhone, "phone"
		case 1:
			req.Item.Category, s.category = sdk.CategoryLaptop, "laptop"
		default:
			s.mileage = int64(i*7919) % 300_000
			req.Item.Category, s.category, req.Item.Storage, s.storage = sdk.CategoryCar, "car", "", ""
			req.Item.Car = &sdk.Car{TypeID: "T1", CityID: "C1", FirstRegistration: "2019-05", MileageKM: s.mileage,
				Accident: &zero, Appearance: &zero, Interior: &zero, Electrical: &zero, Engine: &zero}
		}
		tenant, _ := h.Authenticate("k-" + s.tenant + "-0123456789")
		_, err := h.Quote(context.Background(), tenant, req)
		denied := s.category == "car" && s.tenant == "shop"
		if (err != nil) != denied || (denied && sdk.AsError(err).Code != sdk.CodeForbidden) {
			t.Fatalf("request %d (%+v): %v", i, s, err)
		}
		sent = append(sent, s)
	}
	return sent
}

func replayV(t *testing.T, h *core.Host, src string, tests map[string]orders.ReplayCase) *policy.ReplayReport {
	t.Helper()
	ops, _ := h.Authenticate("k-ops-0123456789a")
	rep, err := h.Orders().ReplayPolicies(context.Background(), ops, &orders.ReplayRequest{Policies: map[string]string{"policy.yaml": src}, Tests: tests})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A host serves a few hundred mixed requests; a changed policy set is
// replayed on what it recorded, and the counts and examples are what the
// change must do, computed from the requests sent. The set in force
// replays with no difference.
func TestReplayShowsWhatAPolicyChangeWouldHaveDone(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	h, _ := newReplayHost(t, func() time.Time { return now })
	sent := serveMixed(t, h, 300)

	var oldCars, laptops, floor int
	for _, s := range sent {
		switch {
		case s.category == "car" && s.tenant == "acme" && s.mileage > 150_000:
			oldCars++
		case s.category == "laptop":
			laptops++
		}
		if s.category != "car" && s.storage == "64GB" { // phonebuy quotes 150 yuan: kept by v1, dropped by v2
			floor++
		}
	}
	if oldCars == 0 || laptops == 0 || floor == 0 {
		t.Fatalf("the mix tests nothing: %d old cars, %d laptops, %d under the new floor", oldCars, laptops, floor)
	}

	same := replayV(t, h, replayPolicyV1, nil)
	if same.Decisions != len(sent) || same.Changed != 0 || len(same.Rules) != 0 || len(same.Examples) != 0 {
		t.Fatalf("the set in force replays with differences: %+v", same)
	}

	rep := replayV(t, h, replayPolicyV2, map[string]orders.ReplayCase{
		"acme-cars-allowed":  {Input: "request: {item: {category: car}}\ntenant: {id: acme}\n", Expect: "allowed: true\n"},
		"shop-phones-routed": {Input: "request: {item: {category: phone}}\ntenant: {id: shop}\n", Expect: "route: {providers: [phonebuy]}\n"},
	})
	if rep.Decisions != len(sent) {
		t.Fatalf("replayed %d decisions, sent %d requests", rep.Decisions, len(sent))
	}
	got := map[string]policy.RuleChanges{}
	for _, c := range rep.Rules {
		got[c.Rule] = c
	}
	if c := got["old-cars"]; c.NewlyDenied != oldCars || c.Kind != "compliance" || total(c) != oldCars {
		t.Errorf("old-cars: %+v, want %d newly denied", c, oldCars)
	}
	if c := got["laptops-to-pcshop"]; c.Rerouted != laptops || total(c) != laptops {
		t.Errorf("laptops-to-pcshop: %+v, want %d rerouted", c, laptops)
	}
	if c := got["low-price"]; c.QuotesDropped != floor || total(c) != floor {
		t.Errorf("low-price: %+v, want %d quotes dropped", c, floor)
	}
	if len(rep.Rules) != 3 || rep.Changed != oldCars+laptops+floor-countLaptops64(sent) {
		t.Errorf("%d rules, %d changed: %+v", len(rep.Rules), rep.Changed, rep.Rules)
	}
	byChange := map[string]int{}
	for _, ex := range rep.Examples {
		byChange[ex.Change]++
		switch ex.Change {
		case "newly_denied":
			if ex.Request.Item.Category != "car" || ex.Request.Item.Car.MileageKM <= 150_000 || !ex.Before.Allowed ||
				ex.After.Allowed || ex.After.Denied.Rule != "old-cars" || ex.Tenant != "acme" {
				t.Errorf("newly denied example %+v", ex)
			}
		case "rerouted":
			if ex.Request.Item.Category != "laptop" || strings.Join(ex.Before.Route.Providers, ",") != "pcshop,phonebuy" ||
				strings.Join(ex.After.Route.Providers, ",") != "pcshop" {
				t.Errorf("rerouted example %+v %+v", ex.Before.Route, ex.After.Route)
			}
		case "quote_dropped":
			if ex.Quote == nil || ex.Quote.Price != 15_000 || len(ex.Before.Dropped) != 0 || len(ex.After.Dropped) != 1 {
				t.Errorf("dropped example %+v", ex)
			}
		default:
			t.Errorf("unexpected change %s", ex.Change)
		}
	}
	if byChange["newly_denied"] != 3 || byChange["rerouted"] != 3 || byChange["quote_dropped"] != 3 {
		t.Errorf("examples %v, want 3 of each", byChange)
	}
	// The directory's own case says acme's cars are allowed: every newly
	// denied one breaks it. Shop's phones still go to phonebuy.
	if len(rep.Violations) != 1 {
		t.Fatalf("violations %+v, want one case", rep.Violations)
	}
	if v := rep.Violations[0]; v.Case != "acme-cars-allowed" || v.Changes != oldCars || len(v.Examples) != 3 ||
		!strings.Contains(v.Failures[0], "want allowed, got denied by old-cars") {
		t.Errorf("violation %+v, want %d changes", v, oldCars)
	}
}

func total(c policy.RuleChanges) int {
	return c.NewlyDenied + c.NoLongerDenied + c.DeniedInstead + c.Rerouted + c.QuotesDropped + c.QuotesKept
}

// countLaptops64 is the laptops under the new floor: rerouted and a quote
// dropped, one changed decision.
func countLaptops64(sent []sentRequest) int {
	n := 0
	for _, s := range sent {
		if s.category == "laptop" && s.storage == "64GB" {
			n++
		}
	}
	return n
}

// A candidate that does not compile is refused with file:line:col.
func TestReplayRefusesPoliciesThatDoNotCompile(t *testing.T) {
	h, _ := newReplayHost(t, time.Now)
	ops, _ := h.Authenticate("k-ops-0123456789a")
	broken := strings.Replace(replayPolicyV1, "quote.price < 10000", "quote.prize < 10000", 1)
	_, err := h.Orders().ReplayPolicies(context.Background(), ops, &orders.ReplayRequest{Policies: map[string]string{"policy.yaml": broken}})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Code != sdk.CodeInvalidArgument || se.Field != "policies" || !strings.Contains(se.Message, "policy.yaml:17:16: rule low-price") {
		t.Fatalf("got %v", err)
	}
}

// Canary: what is recorded holds no customer name, no address and no
// full phone number, wherever the request carried them.
func TestRecordedDecisionsHoldNoNameAddressOrFullPhone(t *testing.T) {
	h, data := newReplayHost(t, time.Now)
	acme, _ := h.Authenticate("k-acme-0123456789")
	const name, address, phone = "欧阳娜娜", "上海市浦东新区世纪大道100号", "13912345678"
	if _, err := h.Quote(context.Background(), acme, &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "call " + phone,
		Model: "X", Storage: "128GB", Condition: sdk.ConditionGood}}); err != nil {
		t.Fatal(err)
	}
	_, err := h.CreateOrder(context.Background(), acme, "k1", &core.CreateOrderRequest{Provider: "phonebuy", QuoteID: "phonebuy-X",
		Customer: recycle.Customer{Name: name, Phone: "139****5678", Address: address}})
	if err == nil {
		t.Fatal("an order at a provider that takes none was accepted")
	}
	h.Close()
	r, err := orderstore.OpenDecisionReader(context.Background(), orderstore.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs, err := r.QueryDecisions(context.Background(), orderstore.DecisionFilter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, rec := range recs {
		s := string(rec.Data)
		for _, secret := range []string{phone, address, "上海", "世纪大道", name, "欧阳"} {
			if strings.Contains(s, secret) {
				t.Errorf("a %s record holds %q: %s", rec.Kind, secret, s)
			}
		}
		if rec.Kind == "order" && !strings.Contains(s, "139****5678") {
			t.Errorf("the order's masked phone is not kept: %s", s)
		}
	}
	if !strings.Contains(string(recs[1].Data), "139****5678") {
		t.Errorf("the brand's phone is not masked: %s", recs[1].Data)
	}
}

// At most orders.decision_records decisions are kept, the oldest dropped,
// and the counter says how many were kept and dropped.
func TestRecordedDecisionsAreBoundedAndCounted(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, filepath.Join(dir, "policy.yaml"), replayPolicyV1)
	h, err := core.New(core.Config{DataDir: t.TempDir(), Policies: dir, Orders: core.OrdersConfig{PollInterval: -1, DecisionRecords: 50},
		Tenants: []core.TenantConfig{{ID: "ops", APIKeys: []string{"k-ops-0123456789a"}, Admin: true}}},
		core.WithProvider(&replayProvider{id: "phonebuy", cats: []sdk.Category{sdk.CategoryPhone}}, nil),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ops, _ := h.Authenticate("k-ops-0123456789a")
	for i := range 120 {
		if _, err := h.Quote(context.Background(), ops, &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "B",
			Model: fmt.Sprint("M", i), Storage: "128GB", Condition: sdk.ConditionGood}}); err != nil {
			t.Fatal(err)
		}
	}
	rep := replayV(t, h, replayPolicyV1, nil)
	if rep.Decisions != 50 {
		t.Fatalf("%d decisions kept, want the newest 50", rep.Decisions)
	}
	counts := map[string]float64{}
	mfs, _ := h.Metrics().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "recyclegate_policy_decision_records_total" {
			for _, m := range mf.GetMetric() {
				counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if counts["kept"] != 120 || counts["dropped_oldest"] != 70 || counts["dropped_busy"] != 0 {
		t.Fatalf("counted %v", counts)
	}
}
