package alibaba1688_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/recyclegate/recyclegate/plugins/alibaba1688"
	"github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

// Fetch one listing with its SKUs from a sandbox.
func ExampleAdapter_GetCatalogItem() {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	keys := sb.AdapterConfig(srv.URL)

	a := alibaba1688.New()
	ctx := context.Background()
	_, err := a.Configure(ctx, &sdk.ConfigureRequest{
		Config:  map[string]string{"base_url": keys["base_url"], "app_key": keys["app_key"]},
		Secrets: map[string]string{"app_secret": keys["app_secret"]},
	})
	if err != nil {
		panic(err)
	}
	got, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "680775234380"})
	if err != nil {
		panic(err)
	}
	it := got.Item
	fmt.Println(it.Title)
	fmt.Println(it.PriceMin, "to", it.PriceMax, "in", len(it.SKUs), "SKUs")
	s := it.SKUs[len(it.SKUs)-1]
	fmt.Println(s.Name, s.Price.Amount, "fen", s.Attributes["storage"], s.Attributes["color"])
	// Output:
	// Apple/苹果 iPhone 15 Pro 全网通5G手机 国行正品
	// 6454.00 CNY to 10227.00 CNY in 16 SKUs
	// 颜色:黑色钛金属;存储容量:1TB 1022700 fen 1TB 黑色钛金属
}

// Search by keyword, cheapest first, within a price band in yuan.
func ExampleAdapter_SearchCatalog() {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	keys := sb.AdapterConfig(srv.URL)

	a := alibaba1688.New()
	ctx := context.Background()
	if _, err := a.Configure(ctx, &sdk.ConfigureRequest{Config: keys}); err != nil {
		panic(err)
	}
	res, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{
		Query:    "华为 Mate 60",
		PageSize: 3,
		Filters:  map[string]string{"min_price": "5000", "max_price": "6000", "sort": "price_asc"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Total, "listings")
	for _, it := range res.Items {
		fmt.Println(it.Price, "-", it.Shop.Name)
	}
	// Output:
	// 4 listings
	// 5024.00 CNY - 西安市雁塔区秦川数码批发
	// 5089.00 CNY - 东莞市华讯通信设备有限公司
	// 5879.00 CNY - 广州天河优品数码科技有限公司
}
