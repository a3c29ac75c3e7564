package carvalue_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// Value the document's example car against the sandbox.
func Example() {
	clock := sandboxkit.NewManualClock(time.Date(2025, 6, 15, 10, 30, 0, 0, sdk.ChinaTime))
	sb := sandbox.New(sandbox.Options{Clock: clock})
	srv := httptest.NewServer(sb)
	defer srv.Close()

	cfg := sb.AdapterConfig(srv.URL)
	secrets := map[string]string{"secret": cfg["secret"]}
	delete(cfg, "secret")
	a := carvalue.New()
	a.Now = clock.Now
	ctx := context.Background()
	if _, err := a.Configure(ctx, &sdk.ConfigureRequest{Config: cfg, Secrets: secrets}); err != nil {
		fmt.Println(err)
		return
	}

	one := 1
	resp, err := a.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryCar, Car: &sdk.Car{
		TypeID: "52", CityID: "101100", FirstRegistration: "2022-01", MileageKM: 36200, Transfers: 1,
		Color: "grey", Accident: &one, Appearance: &one, Interior: &one, Electrical: &one, Engine: &one}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	q := resp.Quote
	fmt.Println(q.Remark)
	fmt.Println("seller receives:", q.Price)
	fmt.Println("private sale:   ", *q.Tiers.Private)
	fmt.Println("dealer sells at:", *q.Tiers.DealerSell)
	fmt.Println("guide price:    ", *q.Tiers.Guide)
	fmt.Println("billed calls:   ", sb.Billed(sandbox.DemoAppID))
	// Output:
	// 奥迪 奥迪Q5L 2021款 40 TFSI 时尚动感型 | 宣城 | 国VI | 上牌 2022-01 | 3.62万公里
	// seller receives: 154400.00 CNY
	// private sale:    163000.00 CNY
	// dealer sells at: 171600.00 CNY
	// guide price:     398800.00 CNY
	// billed calls:    1
}
