package carvalue_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

// Every sign mode, method and format values the document's example car
// against the sandbox, with the same exact prices.
func TestQuoteAgainstSandboxEveryModeMethodFormat(t *testing.T) {
	e := newEnv(t, sandbox.Options{Accounts: map[string]sandbox.Account{
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
					a := e.adapter(t, over)
					resp, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
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
					if q.Price != *tr.DealerBuy {
						t.Errorf("price %v is not the dealer-buy price %v", q.Price, *tr.DealerBuy)
					}
					if tr.Guide.Amount != 39_880_000 || tr.Guide.Currency != sdk.CNY {
						t.Errorf("guide = %v, want 398800.00 CNY (39.88万)", *tr.Guide)
					}
					if !(tr.Private.Amount > tr.DealerBuy.Amount && tr.DealerSell.Amount > tr.Private.Amount) {
						t.Errorf("want dealer buy < private < dealer sell, got %v %v %v", *tr.DealerBuy, *tr.Private, *tr.DealerSell)
					}
					for _, m := range []*sdk.Money{tr.Private, tr.DealerBuy, tr.DealerSell} {
						if m.Amount%10_000 != 0 {
							t.Errorf("%v is not a whole 0.01 万元", *m)
						}
					}
					if !q.ValidUntil.Equal(testNow.Add(24 * time.Hour)) {
						t.Errorf("valid until %s, want 24h after %s", q.ValidUntil, testNow)
					}
					if q.Item == nil || !strings.Contains(q.Item.Model, "奥迪Q5L") || len(q.Raw) == 0 {
						t.Errorf("item/raw: %+v %s", q.Item, q.Raw)
					}
					if first == nil {
						first = &q
					} else if *q.Tiers.Private != *first.Tiers.Private || q.Price != first.Price || *q.Tiers.DealerSell != *first.Tiers.DealerSell {
						t.Errorf("prices differ from the first run: %+v vs %+v", q.Tiers, first.Tiers)
					}
				})
			}
		}
	}
	if got := e.sb.Kit().Calls(); got != calls {
		t.Errorf("sandbox saw %d calls, want %d", got, calls)
	}
	if got := e.sb.Billed("rg-sandbox") + e.sb.Billed("hash-app"); got != calls {
		t.Errorf("billed %d, want %d", got, calls)
	}
}

// The document's example reply, as JSON, XML and JSONP: prices in exact fen.
const docReplyJSON = `{"codeid":10000,"message":"返回成功","retdata":{"car_EnvirStandard":"国VI","car_areaname":"宣城",` +
	`"car_calc":[],"car_firstregtime":"2023-10","car_fullname":"奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型","car_miles":"1",` +
	`"car_personal":28.16,"car_purchase":26.68,"car_referprice":"39.88万","car_retail":29.64},"time":"1700811844"}`

const docReplyXML = `<?xml version="1.0" encoding="utf-8"?>
<root><codeid>10000</codeid><message>返回成功</message><retdata><car_EnvirStandard>国VI</car_EnvirStandard>` +
	`<car_areaname>宣城</car_areaname><car_calc></car_calc><car_firstregtime>2023-10</car_firstregtime>` +
	`<car_fullname>奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型</car_fullname><car_miles>1</car_miles>` +
	`<car_personal>28.16</car_personal><car_purchase>26.68</car_purchase><car_referprice>39.88万</car_referprice>` +
	`<car_retail>29.64</car_retail></retdata><time>1700811844</time></root>`

func TestDocumentExampleReplyInExactFen(t *testing.T) {
	cases := []struct {
		name, format, ctype, body string
	}{
		{"json", "json", "application/json", docReplyJSON},
		{"xml", "xml", "text/xml", docReplyXML},
		{"jsonp", "jsonp", "application/javascript", "jsonpReturn(" + docReplyJSON + ");"},
		{"jsonp without semicolon", "jsonp", "application/javascript", "jsonpReturn(" + docReplyJSON + ")"},
		{"prices as strings", "json", "application/json", strings.NewReplacer(`28.16`, `"28.16"`, `26.68`, `"26.68"`, `29.64`, `"29.64"`).Replace(docReplyJSON)},
		{"codeid as string", "json", "application/json", strings.Replace(docReplyJSON, `"codeid":10000`, `"codeid":"10000"`, 1)},
		{"prices inside car_calc", "json", "application/json", `{"codeid":10000,"message":"返回成功","retdata":{"car_referprice":"39.88万",` +
			`"car_calc":{"car_personal":28.16,"car_purchase":26.68,"car_retail":29.64}}}`},
		{"retdata as a list", "json", "application/json", `{"codeid":10000,"message":"ok","retdata":[{"car_personal":28.16,"car_purchase":26.68,"car_retail":29.64,"car_referprice":"39.88万"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStub(t, http.StatusOK, c.ctype, c.body)
			a := s.adapter(t, map[string]string{"format": c.format})
			resp, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil), Detail: true})
			if err != nil {
				t.Fatalf("Quote: %v", err)
			}
			q := resp.Quote
			want := map[string]int64{"price": 26_680_000, "private": 28_160_000, "dealer_buy": 26_680_000, "dealer_sell": 29_640_000, "guide": 39_880_000}
			got := map[string]int64{"price": q.Price.Amount, "private": q.Tiers.Private.Amount, "dealer_buy": q.Tiers.DealerBuy.Amount,
				"dealer_sell": q.Tiers.DealerSell.Amount, "guide": q.Tiers.Guide.Amount}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %d fen, want %d", k, got[k], w)
				}
			}
			if q.Breakdown == nil || q.Breakdown.BasePrice == nil || q.Breakdown.BasePrice.Amount != 39_880_000 {
				t.Errorf("breakdown: %+v", q.Breakdown)
			}
			if q.Raw == nil || !strings.Contains(string(q.Raw), "codeid") {
				t.Errorf("raw is not the reply as JSON: %s", q.Raw)
			}
		})
	}
}

// What goes on the wire: the document's parameter names and values, time in
// unix seconds, a valid sign, the form Content-Type on POST.
func TestQuoteRequestOnTheWire(t *testing.T) {
	for _, c := range []struct {
		method, format, mode string
	}{{"POST", "json", "md5"}, {"GET", "xml", "md5"}, {"GET", "jsonp", "hash"}, {"POST", "jsonp", "md5"}} {
		t.Run(c.method+"/"+c.format+"/"+c.mode, func(t *testing.T) {
			s := newStub(t, http.StatusOK, "application/json", docReplyJSON)
			a := s.adapter(t, map[string]string{"method": c.method, "format": c.format, "sign_mode": c.mode, "path": "/pyi/201/999"})
			if _, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)}); err != nil {
				t.Fatal(err)
			}
			r, form := <-s.got, <-s.form
			if r.Method != c.method || r.URL.Path != "/pyi/201/999" {
				t.Errorf("%s %s", r.Method, r.URL.Path)
			}
			if c.method == "POST" {
				if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded;charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if r.URL.RawQuery != "" {
					t.Errorf("POST carries a query: %s", r.URL.RawQuery)
				}
			}
			want := map[string]string{"appid": "10086", "car_accident": "1", "car_appearance": "1", "car_city_id": "101100",
				"car_color": "2", "car_electrical": "1", "car_engine": "1", "car_first_regtime": "2022-01", "car_interior": "1",
				"car_miles": "3.62", "car_transfer": "1", "car_type_id": "52", "format": c.format,
				"time": "1749954600"}
			if c.format == "jsonp" {
				want["callback"] = "jsonpReturn"
			}
			for k, v := range want {
				if form.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, form.Get(k), v)
				}
			}
			if len(form) != len(want)+1 {
				t.Errorf("parameters %v, want exactly %v and sign", form, want)
			}
			wantSign := carvalue.Sign(form, "0123456789abcdef0123456789abcdef", c.mode)
			if form.Get("sign") != wantSign {
				t.Errorf("sign %s, want %s", form.Get("sign"), wantSign)
			}
		})
	}
}

// Input the provider cannot take is refused before any call: the sandbox
// sees nothing and bills nothing.
func TestBadInputIsRefusedWithoutACall(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a := e.adapter(t, nil)
	cases := []struct {
		name  string
		item  sdk.Item
		field string
	}{
		{"not a car", sdk.Item{Category: sdk.CategoryPhone, Model: "iPhone 15", Condition: sdk.ConditionGood}, "item.category"},
		{"no category", sdk.Item{}, "item.category"},
		{"no car", sdk.Item{Category: sdk.CategoryCar}, "item.car"},
		{"future registration", carItem(func(c *sdk.Car) { c.FirstRegistration = "2025-07" }), "item.car.first_registration"},
		{"registration not YYYY-MM", carItem(func(c *sdk.Car) { c.FirstRegistration = "2022/01" }), "item.car.first_registration"},
		{"negative mileage", carItem(func(c *sdk.Car) { c.MileageKM = -1 }), "item.car.mileage_km"},
		{"accident 4", carItem(func(c *sdk.Car) { c.Accident = intp(4) }), "item.car.accident"},
		{"appearance 5", carItem(func(c *sdk.Car) { c.Appearance = intp(5) }), "item.car.appearance"},
		{"interior -1", carItem(func(c *sdk.Car) { c.Interior = intp(-1) }), "item.car.interior"},
		{"electrical 3", carItem(func(c *sdk.Car) { c.Electrical = intp(3) }), "item.car.electrical"},
		{"engine 5", carItem(func(c *sdk.Car) { c.Engine = intp(5) }), "item.car.engine"},
		{"grade missing", carItem(func(c *sdk.Car) { c.Engine = nil }), "item.car.engine"},
		{"negative transfers", carItem(func(c *sdk.Car) { c.Transfers = -1 }), "item.car.transfers"},
		{"unknown colour", carItem(func(c *sdk.Car) { c.Color = "pink" }), "item.car.color"},
		{"colour code 13", carItem(func(c *sdk.Car) { c.Color = "13" }), "item.car.color"},
		{"no colour", carItem(func(c *sdk.Car) { c.Color = "" }), "item.car.color"},
		{"no type", carItem(func(c *sdk.Car) { c.TypeID = "" }), "item.car.type_id"},
		{"type id with spaces", carItem(func(c *sdk.Car) { c.TypeID = "52 53" }), "item.car.type_id"},
		{"no city", carItem(func(c *sdk.Car) { c.CityID = " " }), "item.car.city_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: c.item})
			se := sdkErr(t, err)
			if se.Code != sdk.CodeInvalidArgument || se.Field != c.field || se.Retryable {
				t.Errorf("got %s field %q retryable %v (%v), want invalid_argument on %s", se.Code, se.Field, se.Retryable, se, c.field)
			}
		})
	}
	if _, err := a.Quote(context.Background(), nil); sdk.CodeOf(err) != sdk.CodeInvalidArgument {
		t.Errorf("nil request: %v", err)
	}
	if n := e.sb.Kit().Calls(); n != 0 {
		t.Fatalf("the sandbox received %d calls; bad input must be refused before any call", n)
	}
}

func TestColoursAndNumericCodes(t *testing.T) {
	cases := map[string]int{"beige": 0, "white": 1, "grey": 2, "gray": 2, "Red": 3, "brown": 4, "blue": 5, "yellow": 6,
		"purple": 7, "black": 8, "orange": 9, "silver": 10, "gold": 11, " green ": 12, "银色": 10, "0": 0, "12": 12, "07": 7}
	for in, want := range cases {
		got, ok := carvalue.ColorCode(in)
		if !ok || got != want {
			t.Errorf("ColorCode(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "pink", "13", "-1", "1.0", "100"} {
		if _, ok := carvalue.ColorCode(in); ok {
			t.Errorf("ColorCode(%q) accepted", in)
		}
	}
}

func TestFormatMiles(t *testing.T) {
	for km, want := range map[int64]string{36200: "3.62", 2000: "0.2", 0: "0", 10000: "1", 5: "0.0005",
		150000: "15", 123456: "12.3456", 1_000_000: "100", 99990: "9.999"} {
		if got := carvalue.FormatMiles(km); got != want {
			t.Errorf("FormatMiles(%d) = %q, want %q", km, got, want)
		}
	}
}

// The quote id is a hash of the request and its time: the same request in
// the same second has the same id, another second another id.
func TestQuoteIDIsStable(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a := e.adapter(t, nil)
	id := func() string {
		r, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
		if err != nil {
			t.Fatal(err)
		}
		return r.Quote.QuoteID
	}
	one, two := id(), id()
	e.clock.Advance(time.Second)
	three := id()
	if one != two || one == three || !strings.HasPrefix(one, "cv-") {
		t.Fatalf("ids %s %s %s", one, two, three)
	}
}
