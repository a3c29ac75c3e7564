package aihuishou

import (
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

func TestQuoteValuationIsOrderable(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 7})
	res, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: phone("iPhone 14 Pro", "256GB", sdk.ConditionExcellent)})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Quote
	if !q.Orderable || !strings.HasPrefix(q.QuoteID, "VAL") {
		t.Errorf("quote %q orderable=%v, want an orderable valuation id", q.QuoteID, q.Orderable)
	}
	if q.Price.Currency != sdk.CNY || q.Price.Amount <= 0 {
		t.Errorf("price %v", q.Price)
	}
	if got, want := q.ValidUntil, t0.Add(48*time.Hour); !got.Equal(want) {
		t.Errorf("valid until %v, want %v (two days)", got, want)
	}
	if q.Deposit == nil || q.Deposit.Amount != 5000 {
		t.Errorf("deposit %v, want 50.00 CNY for a phone over 3000 yuan", q.Deposit)
	}
	if q.Item == nil || q.Item.Model != "iPhone 14 Pro" || q.Item.Storage != "256GB" {
		t.Errorf("item %+v", q.Item)
	}
	if len(q.Raw) == 0 {
		t.Error("raw reply missing")
	}
}

func TestQuoteDetailFillsBreakdown(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 7})
	it := phone("iPhone 14 Pro", "256GB", sdk.ConditionExcellent)
	it.Brand = "苹果"
	it.FunctionalIssues = []string{sdk.IssueBatteryAged}
	res, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: it, Detail: true})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Quote
	b := q.Breakdown
	if b == nil || b.BasePrice == nil || b.FinalPrice == nil || b.FunctionDeduction == nil {
		t.Fatalf("breakdown %+v", b)
	}
	if b.ConditionDiscount != 0.9 {
		t.Errorf("condition discount %v, want 0.9 for 九成新", b.ConditionDiscount)
	}
	if b.MarketCoefficient < 0.9 || b.MarketCoefficient > 1.1 {
		t.Errorf("market coefficient %v outside 0.9-1.1", b.MarketCoefficient)
	}
	if b.FunctionDeduction.Amount != b.BasePrice.Amount*80/1000 {
		t.Errorf("deduction %v, want 8%% of %v for 电池老化", b.FunctionDeduction, b.BasePrice)
	}
	// final = (base x discount - deduction) x coefficient, to the fen.
	coef := int64(b.MarketCoefficient*1000 + 0.5)
	want := ((b.BasePrice.Amount*900-b.FunctionDeduction.Amount*1000)*coef + 500_000) / 1_000_000
	if b.FinalPrice.Amount != want || q.Price != *b.FinalPrice {
		t.Errorf("final %v (price %v), want %d fen", b.FinalPrice, q.Price, want)
	}
	if q.Orderable {
		t.Error("a detail inquiry quote must not be orderable")
	}
	if got, want := q.ValidUntil, t0.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("valid until %v, want %v (24h)", got, want)
	}
	if len(q.Channels) == 0 || q.Channels[len(q.Channels)-1] != sdk.ChannelMail {
		t.Errorf("channels %v, want mail among them", q.Channels)
	}
	if len(q.Checks) < 20 {
		t.Errorf("%d quality checks, want 20+", len(q.Checks))
	}
	if q.Item.Condition != sdk.ConditionExcellent || q.Item.Brand != "Apple" {
		t.Errorf("item as understood %+v", q.Item)
	}
}

func TestQuoteNoPrice(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	cases := []struct {
		name   string
		item   sdk.Item
		detail bool
	}{
		{"unlisted model", phone("iPhone 99 Ultra", "256GB", sdk.ConditionGood), false},
		{"unlisted model, detail", phone("iPhone 99 Ultra", "256GB", sdk.ConditionGood), true},
		{"unreleased at the clock's date", phone("iPhone 17 Pro", "256GB", sdk.ConditionGood), false},
		{"counterfeit", phone("iPhone 15 Pro 高仿", "256GB", sdk.ConditionGood), true},
		{"brand and model disagree", sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "Mate 60 Pro", Storage: "256GB", Condition: sdk.ConditionGood}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: tc.item, Detail: tc.detail})
			se := wantCode(t, err, sdk.CodeNotFound)
			if se.ProviderCode == "" || se.ProviderMessage == "" {
				t.Errorf("provider code/message missing: %+v", se)
			}
		})
	}
}

func TestQuoteRefusedBeforeAnyCall(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	laptop := sdk.Item{Category: sdk.CategoryLaptop, Brand: "Apple", Model: "MacBook Air 13 M2", Storage: "256GB", Condition: sdk.ConditionGood}
	cases := []struct {
		name   string
		item   sdk.Item
		detail bool
		field  string
	}{
		{"a category Aihuishou does not price", sdk.Item{Category: sdk.CategoryCar, Car: &sdk.Car{}}, false, "item.car.type_id"},
		{"earphones", sdk.Item{Category: sdk.CategoryEarphones, Brand: "Apple", Model: "AirPods Pro", Condition: sdk.ConditionGood}, false, "item.category"},
		{"laptop without ram for the inquiry", laptop, true, "item.ram"},
		{"no brand", sdk.Item{Category: sdk.CategoryPhone, Model: "iPhone 14", Storage: "128GB", Condition: sdk.ConditionGood}, false, "item.brand"},
		{"no storage", sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14", Condition: sdk.ConditionGood}, true, "item.storage"},
		{"storage not a size", phone("iPhone 14", "lots", sdk.ConditionGood), false, "item.storage"},
		{"no condition", sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14", Storage: "128GB"}, false, "item.condition"},
		{"camera with a storage size", sdk.Item{Category: sdk.CategoryCamera, Brand: "Sony", Model: "A7 IV", Storage: "64GB", Condition: sdk.ConditionGood}, true, "item.storage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.sb.Kit().Calls()
			_, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: tc.item, Detail: tc.detail})
			se := wantCode(t, err, sdk.CodeInvalidArgument)
			if se.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", se.Field, tc.field, err)
			}
			if e.sb.Kit().Calls() != before {
				t.Error("the provider was called")
			}
		})
	}
	laptop.RAM = "8GB"
	if _, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: laptop, Detail: true}); err != nil {
		t.Errorf("laptop with ram: %v", err)
	}
}

func TestQuoteEveryCategoryAndChineseNames(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	cases := []sdk.Item{
		{Category: sdk.CategoryPhone, Brand: "小米", Model: "小米14", Storage: "256G", Condition: sdk.ConditionLikeNew},
		{Category: sdk.CategoryPhone, Brand: "huawei", Model: "mate 60 pro", Storage: "512GB", Condition: sdk.ConditionFair},
		{Category: sdk.CategoryTablet, Brand: "Apple", Model: "iPad Pro 11 (M4)", Storage: "1TB", Condition: sdk.ConditionNew},
		{Category: sdk.CategoryLaptop, Brand: "Lenovo", Model: "ThinkPad X1 Carbon 2023", Storage: "1TB", RAM: "32GB", Condition: sdk.ConditionGood},
		{Category: sdk.CategoryCamera, Brand: "Sony", Model: "A7M4", Storage: "kit", Condition: sdk.ConditionExcellent},
		{Category: sdk.CategoryWatch, Brand: "Apple", Model: "Apple Watch Ultra 2", Storage: "64GB", Condition: sdk.ConditionPoor,
			FunctionalIssues: []string{sdk.IssueScreenBroken, sdk.IssueChargingFault}},
	}
	for _, it := range cases {
		for _, detail := range []bool{false, true} {
			res, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: it, Detail: detail})
			if err != nil {
				t.Errorf("%s %s detail=%v: %v", it.Brand, it.Model, detail, err)
				continue
			}
			if res.Quote.Price.Amount <= 0 {
				t.Errorf("%s: price %v", it.Model, res.Quote.Price)
			}
		}
	}
}
