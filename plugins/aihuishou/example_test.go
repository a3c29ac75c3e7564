package aihuishou_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// Point the adapter at the sandbox, then ask both quotes for one phone.
func Example() {
	clock := sandboxkit.NewManualClock(time.Date(2025, 3, 10, 10, 0, 0, 0, sdk.ChinaTime))
	sb := sandbox.New(sandbox.Options{Clock: clock, Seed: 7})
	srv := httptest.NewServer(sb)
	defer srv.Close()

	a := aihuishou.New()
	a.Now = clock.Now
	cfg := sb.AdapterConfig(srv.URL)
	secret := map[string]string{"app_secret": cfg["app_secret"]}
	delete(cfg, "app_secret")
	ctx := context.Background()
	if _, err := a.Configure(ctx, &sdk.ConfigureRequest{Config: cfg, Secrets: secret}); err != nil {
		panic(err)
	}

	item := sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14 Pro", Storage: "256GB",
		Condition: sdk.ConditionExcellent}
	v, err := a.Quote(ctx, &sdk.QuoteRequest{Item: item})
	if err != nil {
		panic(err)
	}
	fmt.Println("valuation:", v.Quote.QuoteID, v.Quote.Price, "orderable:", v.Quote.Orderable)

	item.FunctionalIssues = []string{sdk.IssueBatteryAged}
	d, err := a.Quote(ctx, &sdk.QuoteRequest{Item: item, Detail: true})
	if err != nil {
		panic(err)
	}
	b := d.Quote.Breakdown
	fmt.Println("inquiry: base", *b.BasePrice, "x", b.ConditionDiscount, "-", *b.FunctionDeduction, "x", b.MarketCoefficient, "=", *b.FinalPrice)
	// Output:
	// valuation: VAL20250310000001 3707.89 CNY orderable: true
	// inquiry: base 4483.00 CNY x 0.9 - 358.64 CNY x 0.919 = 3378.30 CNY
}
