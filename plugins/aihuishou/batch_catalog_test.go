package aihuishou

import (
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

func TestQuoteBatchSplitsAt50(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	var items []sdk.Item
	for i := 0; i < 120; i++ {
		items = append(items, phone("iPhone 13", []string{"128GB", "256GB", "512GB"}[i%3], sdk.Conditions[i%6]))
	}
	items[7] = phone("iPhone 99", "128GB", sdk.ConditionGood)                                      // unlisted: fails alone
	items[60] = sdk.Item{Category: sdk.CategoryLaptop, Brand: "Apple", Model: "MacBook Air 13 M2"} // refused before any call
	before := e.sb.Kit().Stats().ByPath["/api/v2/item_get_inquir_batch"]
	res, err := e.a.QuoteBatch(ctx(t), &sdk.QuoteBatchRequest{Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if calls := e.sb.Kit().Stats().ByPath["/api/v2/item_get_inquir_batch"] - before; calls != 3 {
		t.Errorf("%d batch calls for 119 devices, want 3", calls)
	}
	if len(res.Results) != 120 {
		t.Fatalf("%d results", len(res.Results))
	}
	seen := map[int]bool{}
	for _, r := range res.Results {
		seen[r.Index] = true
		switch r.Index {
		case 7:
			if r.Error == nil || r.Error.Code != sdk.CodeNotFound {
				t.Errorf("unlisted: %+v", r)
			}
		case 60:
			if r.Error == nil || r.Error.Code != sdk.CodeInvalidArgument {
				t.Errorf("refused: %+v", r)
			}
		default:
			if r.Quote == nil || r.Quote.Breakdown == nil || r.Quote.Orderable {
				t.Errorf("item %d: %+v", r.Index, r)
			} else if r.Quote.Item.Storage != items[r.Index].Storage {
				t.Errorf("item %d answered for %s, want %s", r.Index, r.Quote.Item.Storage, items[r.Index].Storage)
			}
		}
	}
	if len(seen) != 120 {
		t.Errorf("%d distinct indexes", len(seen))
	}
	// A batch spends one call of the daily quota per device.
	if used := e.sb.QuotaUsed(sandbox.DemoAppID); used != 119 {
		t.Errorf("quota used %d, want 119 (one per device sent)", used)
	}
}

func TestSearchCatalog(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	res, err := e.a.SearchCatalog(ctx(t), &sdk.SearchCatalogRequest{Query: "iphone 14 pro"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) < 2 || res.Items[0].Title != "Apple iPhone 14 Pro" {
		t.Fatalf("search: %+v", res.Items)
	}
	first := res.Items[0]
	if first.Kind != sdk.KindModel || first.Attributes["storages"] != "128GB,256GB,512GB,1TB" || first.Attributes["category"] != "phone" ||
		first.Attributes["year"] != "2022" {
		t.Errorf("first %+v", first)
	}
	got, err := e.a.GetCatalogItem(ctx(t), &sdk.GetCatalogItemRequest{ID: first.ID})
	if err != nil || got.Item.ID != first.ID {
		t.Fatalf("get %s: %+v %v", first.ID, got, err)
	}
	_, err = e.a.GetCatalogItem(ctx(t), &sdk.GetCatalogItemRequest{ID: "AHS99999"})
	wantCode(t, err, sdk.CodeNotFound)

	laptops, err := e.a.SearchCatalog(ctx(t), &sdk.SearchCatalogRequest{Filters: map[string]string{"brand": "Apple", "category": "laptop"}, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if laptops.Total < 8 || len(laptops.Items) != 5 || laptops.Items[0].Attributes["rams"] == "" {
		t.Errorf("laptops: total %d, %+v", laptops.Total, laptops.Items)
	}
	// The model is unreleased at the clock's date (2025-03): not listed.
	unreleased, err := e.a.SearchCatalog(ctx(t), &sdk.SearchCatalogRequest{Query: "iPhone 17"})
	if err != nil || unreleased.Total != 0 {
		t.Errorf("iPhone 17 in 2025-03: %+v %v", unreleased, err)
	}
	for name, req := range map[string]*sdk.SearchCatalogRequest{
		"no query":       {},
		"kind":           {Query: "x", Kind: sdk.KindShop},
		"unknown filter": {Query: "x", Filters: map[string]string{"color": "red"}},
		"car category":   {Query: "x", Filters: map[string]string{"category": "car"}},
		"page size":      {Query: "x", PageSize: 500},
	} {
		if _, err := e.a.SearchCatalog(ctx(t), req); sdk.CodeOf(err) != sdk.CodeInvalidArgument {
			t.Errorf("%s: %v, want invalid_argument", name, err)
		}
	}
}

// Every model of the sandbox's library can be found and quoted by both APIs.
func TestEveryListedModelIsPriced(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.clock.Set(t0.AddDate(1, 0, 0)) // 2026-03: everything in the library is out
	n := 0
	for _, cat := range []string{"phone", "tablet", "laptop", "camera", "watch"} {
		for page := 1; ; page++ {
			res, err := e.a.SearchCatalog(ctx(t), &sdk.SearchCatalogRequest{Filters: map[string]string{"category": cat}, Page: page, PageSize: 50})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range res.Items {
				n++
				it := sdk.Item{Category: sdk.Category(cat), Brand: m.Attributes["brand"], Model: m.Title, Condition: sdk.ConditionGood}
				it.Storage, _, _ = strings.Cut(m.Attributes["storages"], ",")
				if cat == "camera" {
					it.Storage = "body"
				}
				it.RAM, _, _ = strings.Cut(m.Attributes["rams"], ",")
				for _, detail := range []bool{false, true} {
					if _, err := e.a.Quote(ctx(t), &sdk.QuoteRequest{Item: it, Detail: detail}); err != nil {
						t.Errorf("%s (%+v) detail=%v: %v", m.Title, it, detail, err)
					}
				}
			}
			if page*50 >= res.Total {
				break
			}
		}
	}
	if n < 80 {
		t.Errorf("the library lists %d models, want 80+", n)
	}
}
