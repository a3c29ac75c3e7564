// Package carvaluetest is the carvalue adapter's conformance suite: the
// behaviour a user relies on, checked against the sandbox through nothing
// but the sdk's interfaces, so that every runtime serving the adapter (in
// process, a go-plugin process, a WASM module) is held to the same tests.
// Start with Conformance:
//
//	carvaluetest.Conformance(t, func(t *testing.T, now func() time.Time) sdk.Provider {
//		a := carvalue.New()
//		a.Now = now
//		return a
//	})
package carvaluetest

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// Start returns a fresh, unconfigured carvalue provider as one runtime
// serves it. now is the sandbox's clock: a runtime that can make the
// adapter read it does; one that cannot (a separate process) runs on the
// real clock, which the sandbox's clock starts at.
type Start func(t *testing.T, now func() time.Time) sdk.Provider

// env is a sandbox on loopback and a provider pointed at it.
type env struct {
	clock *sandboxkit.ManualClock
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	start Start
}

func newEnv(t *testing.T, start Start, opts sandbox.Options) *env {
	t.Helper()
	clk := sandboxkit.NewManualClock(time.Now().Truncate(time.Second))
	opts.Clock = clk
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{clock: clk, sb: sb, srv: srv, start: start}
}

// provider starts a provider configured for the sandbox's demo account,
// with the keys in over replacing the defaults ("" deletes a key).
func (e *env) provider(t *testing.T, over map[string]string) sdk.Provider {
	t.Helper()
	p, err := e.configure(t, over)
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func (e *env) configure(t *testing.T, over map[string]string) (sdk.Provider, error) {
	t.Helper()
	return configure(t, e.start(t, e.clock.Now), e.sb.AdapterConfig(e.srv.URL), over)
}

func configure(t *testing.T, p sdk.Provider, base, over map[string]string) (sdk.Provider, error) {
	t.Helper()
	cfg, secrets := map[string]string{}, map[string]string{}
	for k, v := range base {
		cfg[k] = v
	}
	for k, v := range over {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	if s, ok := cfg["secret"]; ok {
		secrets["secret"] = s
		delete(cfg, "secret")
	}
	c, ok := p.(sdk.Configurer)
	if !ok {
		t.Fatalf("the provider is not a Configurer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Configure(ctx, &sdk.ConfigureRequest{Config: cfg, Secrets: secrets})
	return p, err
}

func intp(n int) *int { return &n }

// carItem is the document's example car, changed by mod.
func carItem(mod func(c *sdk.Car)) sdk.Item {
	c := &sdk.Car{TypeID: "52", CityID: "101100", FirstRegistration: "2022-01", MileageKM: 36200, Transfers: 1,
		Color: "grey", Accident: intp(1), Appearance: intp(1), Interior: intp(1), Electrical: intp(1), Engine: intp(1)}
	if mod != nil {
		mod(c)
	}
	return sdk.Item{Category: sdk.CategoryCar, Car: c}
}

func sdkErr(t *testing.T, err error) *sdk.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *sdk.Error, got %T %v", err, err)
	}
	return e
}

func quote(t *testing.T, p sdk.Provider, ctx context.Context, item sdk.Item) (*sdk.QuoteResponse, error) {
	t.Helper()
	q, ok := p.(sdk.Quoter)
	if !ok {
		t.Fatal("the provider is not a Quoter")
	}
	return q.Quote(ctx, &sdk.QuoteRequest{Item: item})
}

func ctx30() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = cancel // ends with its deadline
	return ctx
}

// Conformance runs the suite against providers from start.
func Conformance(t *testing.T, start Start) {
	t.Run("manifest and configure", func(t *testing.T) { testManifest(t, start) })
	t.Run("quote in every mode, method and format", func(t *testing.T) { testQuotes(t, start) })
	t.Run("catalog", func(t *testing.T) { testCatalog(t, start) })
	t.Run("provider statuses", func(t *testing.T) { testStatuses(t, start) })
	t.Run("bad input is refused without a call", func(t *testing.T) { testBadInput(t, start) })
	t.Run("malformed reply", func(t *testing.T) { testMalformed(t, start) })
	t.Run("timeout and cancellation", func(t *testing.T) { testTimeout(t, start) })
	t.Run("secret never in errors", func(t *testing.T) { testSecret(t, start) })
	t.Run("concurrent quotes", func(t *testing.T) { testConcurrent(t, start) })
}

func testManifest(t *testing.T, start Start) {
	e := newEnv(t, start, sandbox.Options{})
	p := e.start(t, e.clock.Now)
	m := p.Manifest()
	if m.ID != "carvalue" || !m.Has(sdk.CapQuote) || !m.Has(sdk.CapCatalog) || m.Limits.CostPerCall == nil ||
		m.Limits.CostPerCall.Amount != 700 || len(m.Secrets) != 1 || m.Secrets[0].Name != "secret" {
		t.Errorf("manifest %+v", m)
	}
	for _, c := range []struct {
		over  map[string]string
		field string
	}{
		{map[string]string{"base_url": ""}, "base_url"},
		{map[string]string{"secret": ""}, "secret"},
		{map[string]string{"method": "PUT"}, "method"},
		{map[string]string{"timeout": "forever"}, "timeout"},
	} {
		_, err := e.configure(t, c.over)
		if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument || se.Field != c.field {
			t.Errorf("config %v: got %+v, want invalid_argument on %s", c.over, se, c.field)
		}
	}
	resp, err := p.(sdk.Configurer).Configure(ctx30(), &sdk.ConfigureRequest{
		Config:  map[string]string{"base_url": e.srv.URL, "appid": sandbox.DemoAppID, "timeout": "3s", "quote_validity": "2h"},
		Secrets: map[string]string{"secret": sandbox.DemoSecret}})
	if err != nil || resp.Manifest.Limits.Timeout.D() != 3*time.Second || resp.Manifest.Limits.QuoteValidity.D() != 2*time.Hour {
		t.Errorf("the manifest in force: %+v %v", resp, err)
	}
}

func testQuotes(t *testing.T, start Start) {
	e := newEnv(t, start, sandbox.Options{Accounts: map[string]sandbox.Account{
		"hash-app": {Secret: "hashsecret000000000000000000000h", SignMode: sandbox.SignHash},
	}})
	var first *sdk.Quote
	calls := int64(0)
	for _, mode := range []string{"md5", "hash"} {
		for _, method := range []string{"GET", "POST"} {
			for _, format := range []string{"json", "xml", "jsonp"} {
				t.Run(mode+"/"+method+"/"+format, func(t *testing.T) {
					over := map[string]string{"method": method, "format": format}
					if mode == "hash" {
						over["appid"], over["secret"], over["sign_mode"] = "hash-app", "hashsecret000000000000000000000h", "hash"
					}
					p := e.provider(t, over)
					resp, err := quote(t, p, ctx30(), carItem(nil))
					if err != nil {
						t.Fatalf("Quote: %v", err)
					}
					calls++
					q := resp.Quote
					tr := q.Tiers
					if q.Provider != "carvalue" || q.Orderable || q.QuoteID == "" {
						t.Errorf("quote header: %+v", q)
					}
					if tr == nil || tr.Private == nil || tr.DealerBuy == nil || tr.DealerSell == nil || tr.Guide == nil {
						t.Fatalf("tiers missing: %+v", tr)
					}
					if q.Price != *tr.DealerBuy || tr.Guide.Amount != 39_880_000 || tr.Guide.Currency != sdk.CNY {
						t.Errorf("price %v, tiers %+v", q.Price, tr)
					}
					if !(tr.Private.Amount > tr.DealerBuy.Amount && tr.DealerSell.Amount > tr.Private.Amount) {
						t.Errorf("want dealer buy < private < dealer sell, got %v %v %v", *tr.DealerBuy, *tr.Private, *tr.DealerSell)
					}
					want := e.clock.Now().Add(24 * time.Hour)
					if d := q.ValidUntil.Sub(want); d < -time.Minute || d > time.Minute {
						t.Errorf("valid until %s, want about %s", q.ValidUntil, want)
					}
					if q.Item == nil || !strings.Contains(q.Item.Model, "奥迪Q5L") || len(q.Raw) == 0 {
						t.Errorf("item/raw: %+v %s", q.Item, q.Raw)
					}
					if first == nil {
						first = &q
					} else if *q.Tiers.Private != *first.Tiers.Private || q.Price != first.Price {
						t.Errorf("prices differ from the first run: %+v vs %+v", q.Tiers, first.Tiers)
					}
				})
			}
		}
	}
	if got := e.sb.Kit().Calls(); got != calls {
		t.Errorf("sandbox saw %d calls, want %d", got, calls)
	}
	if got := e.sb.Billed(sandbox.DemoAppID) + e.sb.Billed("hash-app"); got != calls {
		t.Errorf("billed %d, want %d", got, calls)
	}
}

func testCatalog(t *testing.T, start Start) {
	e := newEnv(t, start, sandbox.Options{})
	for _, format := range []string{"json", "xml"} {
		c := e.provider(t, map[string]string{"format": format}).(sdk.Cataloger)
		ctx := ctx30()
		r, err := c.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindCarType,
			Filters: map[string]string{"brand": "奥迪", "series": "Q5L", "year": "2024"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != 1 || len(r.Items) != 1 || r.Items[0].ID != "61" || r.Items[0].Price == nil ||
			r.Items[0].Price.Amount != 39_880_000 || r.Items[0].Attributes["brand"] != "奥迪" {
			t.Errorf("%s: car types %+v", format, r)
		}
		r, err = c.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindCity, Filters: map[string]string{"province": "安徽"}})
		if err != nil || r.Total != 2 || r.Items[0].ID != "101100" || r.Items[0].Title != "宣城" {
			t.Errorf("%s: cities %+v %v", format, r, err)
		}
		r, err = c.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "no such car"})
		if err != nil || r.Total != 0 || len(r.Items) != 0 {
			t.Errorf("%s: empty search %+v %v", format, r, err)
		}
		g, err := c.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "52"})
		if err != nil || g.Item.ID != "52" || g.Item.Attributes["year"] != "2021" {
			t.Errorf("%s: get 52: %+v %v", format, g, err)
		}
		_, err = c.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "999", Kind: sdk.KindCarType})
		if se := sdkErr(t, err); se.Code != sdk.CodeNotFound || se.ProviderCode != "10025" {
			t.Errorf("%s: unknown type: %+v", format, se)
		}
	}
	if n := e.sb.Billed(sandbox.DemoAppID); n != 0 {
		t.Errorf("look-ups billed %d", n)
	}
}

func testStatuses(t *testing.T, start Start) {
	cases := []struct {
		name   string
		opts   sandbox.Options
		over   map[string]string
		item   sdk.Item
		codeid string
		code   sdk.Code
	}{
		{name: "wrong secret", over: map[string]string{"secret": "wrongsecret00000000000000000000x"}, codeid: "10003", code: sdk.CodeUnauthenticated},
		{name: "unknown appid", over: map[string]string{"appid": "nobody"}, codeid: "10005", code: sdk.CodeUnauthenticated},
		{name: "application disabled", opts: sandbox.Options{Accounts: map[string]sandbox.Account{sandbox.DemoAppID: {Secret: sandbox.DemoSecret, Disabled: true}}},
			codeid: "10007", code: sdk.CodeForbidden},
		{name: "wrong path", over: map[string]string{"path": "/pyi/201/378"}, codeid: "10009", code: sdk.CodeNotFound},
		{name: "out of calls", opts: sandbox.Options{Accounts: map[string]sandbox.Account{sandbox.DemoAppID: {Secret: sandbox.DemoSecret, CallsRemaining: sandbox.Calls(0)}}},
			codeid: "10018", code: sdk.CodeQuotaExhausted},
		{name: "unknown car type", item: carItem(func(c *sdk.Car) { c.TypeID = "999" }), codeid: "10025", code: sdk.CodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, start, c.opts)
			p := e.provider(t, c.over)
			item := c.item
			if item.Car == nil {
				item = carItem(nil)
			}
			_, err := quote(t, p, ctx30(), item)
			se := sdkErr(t, err)
			if se.Code != c.code || se.ProviderCode != c.codeid || se.ProviderMessage == "" || se.Retryable != c.code.Retryable() {
				t.Errorf("got %+v, want %s with provider code %s", se, c.code, c.codeid)
			}
			if n := e.sb.Billed(sandbox.DemoAppID); n != 0 {
				t.Errorf("a failed valuation was billed (%d)", n)
			}
		})
	}
}

func testBadInput(t *testing.T, start Start) {
	e := newEnv(t, start, sandbox.Options{})
	p := e.provider(t, nil)
	cases := []struct {
		item  sdk.Item
		field string
	}{
		{sdk.Item{Category: sdk.CategoryPhone, Model: "iPhone 15", Condition: sdk.ConditionGood}, "item.category"},
		{sdk.Item{Category: sdk.CategoryCar}, "item.car"},
		{carItem(func(c *sdk.Car) { c.FirstRegistration = "2022/01" }), "item.car.first_registration"},
		{carItem(func(c *sdk.Car) { c.Accident = intp(4) }), "item.car.accident"},
		{carItem(func(c *sdk.Car) { c.Color = "pink" }), "item.car.color"},
		{carItem(func(c *sdk.Car) { c.TypeID = "52 53" }), "item.car.type_id"},
		{carItem(func(c *sdk.Car) { c.MileageKM = -1 }), "item.car.mileage_km"},
	}
	for _, c := range cases {
		_, err := quote(t, p, ctx30(), c.item)
		if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument || se.Field != c.field || se.Retryable {
			t.Errorf("got %+v, want invalid_argument on %s", se, c.field)
		}
	}
	if n := e.sb.Kit().Calls(); n != 0 {
		t.Fatalf("the sandbox received %d calls; bad input must be refused before any call", n)
	}
}

func testMalformed(t *testing.T, start Start) {
	for _, format := range []string{"json", "xml", "jsonp"} {
		e := newEnv(t, start, sandbox.Options{})
		if err := e.sb.Kit().SetFaults(sandboxkit.Faults{MalformedRate: 1}); err != nil {
			t.Fatal(err)
		}
		p := e.provider(t, map[string]string{"format": format})
		_, err := quote(t, p, ctx30(), carItem(nil))
		if se := sdkErr(t, err); se.Code != sdk.CodeProviderError || !strings.Contains(se.Message, "malformed") {
			t.Errorf("%s: got %+v", format, se)
		}
	}
}

func testTimeout(t *testing.T, start Start) {
	e := newEnv(t, start, sandbox.Options{})
	if err := e.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1}); err != nil {
		t.Fatal(err)
	}
	p := e.provider(t, map[string]string{"timeout": "50ms"})
	_, err := quote(t, p, ctx30(), carItem(nil))
	if se := sdkErr(t, err); se.Code != sdk.CodeDeadlineExceeded || !se.Retryable {
		t.Errorf("timeout: %+v", se)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = quote(t, p, ctx, carItem(nil))
	if se := sdkErr(t, err); se.Code != sdk.CodeCanceled {
		t.Errorf("canceled: %+v", se)
	}
}

func testSecret(t *testing.T, start Start) {
	const secret = "topsecret0000000000000000000000z"
	closed := httptest.NewServer(nil)
	url := closed.URL
	closed.Close()
	p, err := configure(t, start(t, time.Now), map[string]string{"base_url": url, "appid": "1", "secret": secret,
		"sign_mode": "hash", "method": "GET"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = quote(t, p, ctx30(), carItem(nil))
	se := sdkErr(t, err)
	if se.Code != sdk.CodeUnavailable || !se.Retryable {
		t.Errorf("got %+v, want unavailable", se)
	}
	if strings.Contains(se.Error(), secret) || strings.Contains(se.Error(), "sign=") {
		t.Fatalf("the error carries the secret: %v", se)
	}
}

func testConcurrent(t *testing.T, start Start) {
	e := newEnv(t, start, sandbox.Options{})
	p := e.provider(t, nil)
	const n = 8
	prices := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := quote(t, p, ctx30(), carItem(nil))
			if err != nil {
				t.Errorf("quote %d: %v", i, err)
				return
			}
			prices[i] = resp.Quote.Price.Amount
		}()
	}
	wg.Wait()
	for i := range prices {
		if prices[i] != prices[0] || prices[i] <= 0 {
			t.Fatalf("concurrent prices differ: %v", prices)
		}
	}
	if got := e.sb.Billed(sandbox.DemoAppID); got != n {
		t.Errorf("billed %d, want %d", got, n)
	}
}
