package carvalue_test

import (
	"context"
	"testing"

	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

func TestSearchCarTypes(t *testing.T) {
	for _, format := range []string{"json", "xml", "jsonp"} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(format+"/"+method, func(t *testing.T) {
				e := newEnv(t, sandbox.Options{})
				a := e.adapter(t, map[string]string{"format": format, "method": method})
				ctx := context.Background()

				r, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindCarType, Filters: map[string]string{"brand": "奥迪", "series": "Q5L", "year": "2024"}})
				if err != nil {
					t.Fatal(err)
				}
				if r.Total != 1 || len(r.Items) != 1 {
					t.Fatalf("got %+v", r)
				}
				it := r.Items[0]
				if it.ID != "61" || it.Kind != sdk.KindCarType || it.Title != "奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型" ||
					it.Price == nil || it.Price.Amount != 39_880_000 || it.Attributes["emission_standard"] != "国VI" ||
					it.Attributes["brand"] != "奥迪" || it.Attributes["year"] != "2024" {
					t.Errorf("item %+v", it)
				}

				// The default kind is car_type; a keyword matches words of the name.
				r, err = a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "丰田 卡罗拉", PageSize: 1})
				if err != nil {
					t.Fatal(err)
				}
				if r.Total != 2 || len(r.Items) != 1 || r.PageSize != 1 || r.Page != 1 {
					t.Errorf("paging: %+v", r)
				}
				r, err = a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "no such car"})
				if err != nil || r.Total != 0 || len(r.Items) != 0 {
					t.Errorf("empty search: %+v %v", r, err)
				}

				g, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "52"})
				if err != nil || g.Item.ID != "52" || g.Item.Attributes["year"] != "2021" {
					t.Errorf("get 52: %+v %v", g, err)
				}
				_, err = a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "999", Kind: sdk.KindCarType})
				if se := sdkErr(t, err); se.Code != sdk.CodeNotFound || se.ProviderCode != "10025" {
					t.Errorf("unknown type: %v", se)
				}
				if n := e.sb.Billed("rg-sandbox"); n != 0 {
					t.Errorf("look-ups billed %d", n)
				}
			})
		}
	}
}

func TestSearchCities(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a := e.adapter(t, map[string]string{"format": "xml"})
	ctx := context.Background()
	r, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindCity, Filters: map[string]string{"province": "安徽"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 2 || r.Items[0].ID != "101100" || r.Items[0].Title != "宣城" || r.Items[0].Attributes["province"] != "安徽" {
		t.Errorf("cities: %+v", r)
	}
	r, err = a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindCity})
	if err != nil || r.Total < 30 || len(r.Items) != 20 {
		t.Errorf("all cities: total %d, %d items, %v", r.Total, len(r.Items), err)
	}
	g, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "100200", Kind: sdk.KindCity})
	if err != nil || g.Item.Title != "上海" {
		t.Errorf("get city: %+v %v", g, err)
	}
}

func TestCatalogBadRequestsAreRefusedWithoutACall(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a := e.adapter(t, nil)
	ctx := context.Background()
	cases := []struct {
		name  string
		run   func() error
		field string
	}{
		{"unknown kind", func() error {
			_, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindProduct})
			return err
		}, "kind"},
		{"unknown filter", func() error {
			_, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Filters: map[string]string{"colour": "red"}})
			return err
		}, "filters.colour"},
		{"province on car types", func() error {
			_, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Filters: map[string]string{"province": "安徽"}})
			return err
		}, "filters.province"},
		{"bad year", func() error {
			_, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Filters: map[string]string{"year": "24"}})
			return err
		}, "filters.year"},
		{"page size too large", func() error {
			_, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{PageSize: 101})
			return err
		}, "page_size"},
		{"negative page", func() error {
			_, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Page: -1})
			return err
		}, "page"},
		{"no id", func() error {
			_, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{})
			return err
		}, "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			se := sdkErr(t, c.run())
			if se.Code != sdk.CodeInvalidArgument || se.Field != c.field {
				t.Errorf("got %v field %q, want invalid_argument on %s", se, se.Field, c.field)
			}
		})
	}
	if n := e.sb.Kit().Calls(); n != 0 {
		t.Fatalf("%d calls reached the sandbox", n)
	}
}

// A look-up answering 查无数据 to a search is an empty result, not an error.
func TestSearchAnswered10025IsEmpty(t *testing.T) {
	s := newStub(t, 200, "application/json", `{"codeid":10025,"message":"查无数据","retdata":[]}`)
	a := s.adapter(t, nil)
	r, err := a.SearchCatalog(context.Background(), &sdk.SearchCatalogRequest{Query: "x"})
	if err != nil || r.Total != 0 || len(r.Items) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = a.GetCatalogItem(context.Background(), &sdk.GetCatalogItemRequest{ID: "1"})
	if se := sdkErr(t, err); se.Code != sdk.CodeNotFound {
		t.Errorf("get: %v", se)
	}
}
