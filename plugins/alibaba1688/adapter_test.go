package alibaba1688

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

func TestManifestIsValid(t *testing.T) {
	m := New().Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.ID != "alibaba1688" || !m.Has(sdk.CapCatalog) || m.Has(sdk.CapQuote) {
		t.Errorf("manifest id/capabilities: %+v", m)
	}
	for _, c := range []sdk.Category{sdk.CategoryPhone, sdk.CategoryTablet, sdk.CategoryLaptop, sdk.CategoryEarphones, sdk.CategoryWatch} {
		if !m.Serves(c) {
			t.Errorf("manifest does not serve %s", c)
		}
	}
	if !slices.Equal(m.SecretNames(), []string{"app_secret"}) {
		t.Errorf("secrets = %v, want [app_secret]", m.SecretNames())
	}
	if m.Limits.QPS != QPS || m.Limits.QuoteCacheTTL.D() != CatalogCacheTTL || m.Limits.Timeout.D() != DefaultTimeout {
		t.Errorf("limits = %+v", m.Limits)
	}
}

func TestConfigure(t *testing.T) {
	ok := map[string]string{"app_key": "k"}
	sec := map[string]string{"app_secret": "shh-value"}
	cases := []struct {
		name      string
		config    map[string]string
		secrets   map[string]string
		wantField string // "" when Configure must succeed
		endpoint  string
		timeout   time.Duration
	}{
		{"defaults", ok, sec, "", "https://open.1688.com/openapi/portals/1688/1.0/json", 10 * time.Second},
		{"base_url with trailing slash", map[string]string{"app_key": "k", "base_url": "http://127.0.0.1:9/"}, sec, "", "http://127.0.0.1:9/openapi/portals/1688/1.0/json", 10 * time.Second},
		{"base_url that already names the API path", map[string]string{"app_key": "k", "base_url": "http://h/openapi/portals/1688/1.0/json"}, sec, "", "http://h/openapi/portals/1688/1.0/json", 10 * time.Second},
		{"base_url under a prefix", map[string]string{"app_key": "k", "base_url": "https://gw.example/1688"}, sec, "", "https://gw.example/1688/openapi/portals/1688/1.0/json", 10 * time.Second},
		{"timeout", map[string]string{"app_key": "k", "timeout": "2500ms"}, sec, "", "https://open.1688.com/openapi/portals/1688/1.0/json", 2500 * time.Millisecond},
		{"secret given in config also works", map[string]string{"app_key": "k", "app_secret": "s"}, nil, "", "https://open.1688.com/openapi/portals/1688/1.0/json", 10 * time.Second},
		{"missing app_key", map[string]string{}, sec, "app_key", "", 0},
		{"blank app_key", map[string]string{"app_key": "  "}, sec, "app_key", "", 0},
		{"missing app_secret", ok, nil, "app_secret", "", 0},
		{"relative base_url", map[string]string{"app_key": "k", "base_url": "open.1688.com"}, sec, "base_url", "", 0},
		{"ftp base_url", map[string]string{"app_key": "k", "base_url": "ftp://open.1688.com"}, sec, "base_url", "", 0},
		{"base_url with a query", map[string]string{"app_key": "k", "base_url": "https://h/?x=1"}, sec, "base_url", "", 0},
		{"bad timeout", map[string]string{"app_key": "k", "timeout": "soon"}, sec, "timeout", "", 0},
		{"negative timeout", map[string]string{"app_key": "k", "timeout": "-1s"}, sec, "timeout", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := New()
			resp, err := a.Configure(context.Background(), &sdk.ConfigureRequest{Config: c.config, Secrets: c.secrets})
			if c.wantField != "" {
				e := sdkErr(t, err, sdk.CodeInvalidArgument)
				if e.Field != c.wantField || !strings.Contains(e.Message, c.wantField) {
					t.Errorf("error names field %q (%s), want %q", e.Field, e.Message, c.wantField)
				}
				if strings.Contains(e.Error(), "shh-value") {
					t.Errorf("error echoes a secret: %v", e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg := a.cfg.Load()
			if cfg.endpoint != c.endpoint || cfg.timeout != c.timeout {
				t.Errorf("endpoint %q timeout %s, want %q %s", cfg.endpoint, cfg.timeout, c.endpoint, c.timeout)
			}
			if resp.Manifest.Limits.Timeout.D() != c.timeout {
				t.Errorf("manifest timeout %s, want %s", resp.Manifest.Limits.Timeout.D(), c.timeout)
			}
		})
	}
}

func TestNotConfigured(t *testing.T) {
	_, err := New().GetCatalogItem(context.Background(), &sdk.GetCatalogItemRequest{ID: "1"})
	e := sdkErr(t, err, sdk.CodeUnavailable)
	if !strings.Contains(e.Message, "Configure") {
		t.Errorf("message should say to configure: %s", e.Message)
	}
}

// The check the lead relies on: a query with a space, a slash and Chinese
// goes through signed, and item_get brings SKU prices in exact fen.
func TestSearchAndGetAgainstSandbox(t *testing.T) {
	e := newEnv(t, sandbox.Options{Seed: 7})
	ctx := ctxT(t)
	res, err := e.a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "Apple/苹果 iPhone 15 Pro", PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == 0 || len(res.Items) == 0 {
		t.Fatalf("no results for a query every iPhone 15 Pro listing matches: %+v", res)
	}
	for _, it := range res.Items {
		low := strings.ToLower(it.Title)
		if !strings.Contains(low, "apple/苹果") || !strings.Contains(low, "iphone 15 pro") {
			t.Errorf("result %q does not hold every term", it.Title)
		}
		if it.Provider != ProviderID || it.Kind != sdk.KindProduct || it.Price == nil || it.Shop == nil || it.Shop.ID == "" || it.URL == "" {
			t.Errorf("result not normalized: %+v", it)
		}
	}

	want := findProduct(t, e.sb, "iPhone 15 Pro")
	got, err := e.a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: want.NumIID})
	if err != nil {
		t.Fatal(err)
	}
	it := got.Item
	if it.ID != want.NumIID || it.Title != want.Title || it.Kind != sdk.KindProduct {
		t.Errorf("item = %s %q, want %s %q", it.ID, it.Title, want.NumIID, want.Title)
	}
	if len(it.SKUs) != len(want.SKUs) {
		t.Fatalf("%d SKUs, want %d", len(it.SKUs), len(want.SKUs))
	}
	for i, s := range it.SKUs {
		w := want.SKUs[i]
		if s.ID != w.ID || s.Name != w.Name || s.Price != sdk.Fen(w.PriceFen) {
			t.Errorf("sku %d = %s %q %v, want %s %q %d fen", i, s.ID, s.Name, s.Price, w.ID, w.Name, w.PriceFen)
		}
		if s.Attributes["storage"] != w.Option || s.Attributes["color"] != w.Color {
			t.Errorf("sku %q attributes %v, want storage %q color %q", s.Name, s.Attributes, w.Option, w.Color)
		}
		if s.Stock == nil || *s.Stock != w.Stock {
			t.Errorf("sku %s stock %v, want %d", s.ID, s.Stock, w.Stock)
		}
	}
	if it.Price == nil || it.Price.Amount != want.MinFen || it.PriceMin == nil || it.PriceMin.Amount != want.MinFen ||
		it.PriceMax == nil || it.PriceMax.Amount != want.MaxFen {
		t.Errorf("price %v [%v, %v], want %d [%d, %d]", it.Price, it.PriceMin, it.PriceMax, want.MinFen, want.MinFen, want.MaxFen)
	}
	if it.Shop == nil || it.Shop.ID != want.ShopID || it.Shop.Name == "" || !strings.HasPrefix(it.Shop.URL, "https://") {
		t.Errorf("shop = %+v, want id %s", it.Shop, want.ShopID)
	}
	if len(it.Images) != 3 || it.Sales != want.Sales || it.URL != "https://detail.1688.com/offer/"+want.NumIID+".html" {
		t.Errorf("images %v sales %d url %s", it.Images, it.Sales, it.URL)
	}
	if it.Attributes["category"] != "手机" || it.Attributes["brand"] != "Apple/苹果" {
		t.Errorf("attributes = %v", it.Attributes)
	}
	if len(it.Raw) == 0 {
		t.Error("raw reply missing")
	}
}

func TestSKUAttributesFromSandboxNames(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	for _, m := range []struct{ model, storage, ram string }{
		{"Mate 60 Pro", "256GB", "12GB"},
		{"MacBook Air 13英寸 M3", "256GB", "16GB"},
		{"Legion 拯救者 Y9000P 2024", "1TB", "16GB"},
	} {
		p := findProduct(t, e.sb, m.model)
		got, err := e.a.GetCatalogItem(ctxT(t), &sdk.GetCatalogItemRequest{ID: p.NumIID})
		if err != nil {
			t.Fatal(err)
		}
		a := got.Item.SKUs[0].Attributes
		if a["storage"] != m.storage || a["ram"] != m.ram || a["color"] != p.SKUs[0].Color {
			t.Errorf("%s: sku %q attributes %v, want storage %s ram %s color %s", m.model, got.Item.SKUs[0].Name, a, m.storage, m.ram, p.SKUs[0].Color)
		}
	}
}

func TestSearchFiltersPagingAndSort(t *testing.T) {
	e := newEnv(t, sandbox.Options{QPS: -1})
	ctx := ctxT(t)
	search := func(req sdk.SearchCatalogRequest) *sdk.SearchCatalogResponse {
		t.Helper()
		res, err := e.a.SearchCatalog(ctx, &req)
		if err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		return res
	}

	all := search(sdk.SearchCatalogRequest{Query: "iphone", PageSize: 100})
	if all.Total <= 20 || all.PageSize != 100 || all.Page != 1 {
		t.Fatalf("iphone: total %d page %d size %d", all.Total, all.Page, all.PageSize)
	}
	var paged []string
	for page := 1; ; page++ {
		r := search(sdk.SearchCatalogRequest{Query: "iphone", Page: page, PageSize: 7})
		if r.Total != all.Total || r.Page != page || r.PageSize != 7 {
			t.Fatalf("page %d: total %d page %d size %d", page, r.Total, r.Page, r.PageSize)
		}
		if len(r.Items) == 0 {
			break
		}
		for _, it := range r.Items {
			paged = append(paged, it.ID)
		}
	}
	if len(paged) != min(all.Total, 100) && len(paged) != all.Total {
		t.Errorf("paging saw %d items, total %d", len(paged), all.Total)
	}

	cheap := search(sdk.SearchCatalogRequest{Query: "iphone", PageSize: 100, Filters: map[string]string{"sort": "price_asc"}})
	dear := search(sdk.SearchCatalogRequest{Query: "iphone", PageSize: 100, Filters: map[string]string{"sort": "price_desc"}})
	for i := 1; i < len(cheap.Items); i++ {
		if cheap.Items[i].Price.Amount < cheap.Items[i-1].Price.Amount {
			t.Fatalf("price_asc out of order at %d", i)
		}
		if dear.Items[i].Price.Amount > dear.Items[i-1].Price.Amount {
			t.Fatalf("price_desc out of order at %d", i)
		}
	}
	sales := search(sdk.SearchCatalogRequest{Query: "iphone", PageSize: 100, Filters: map[string]string{"sort": "sales"}})
	for i := 1; i < len(sales.Items); i++ {
		if sales.Items[i].Sales > sales.Items[i-1].Sales {
			t.Fatalf("sales out of order at %d", i)
		}
	}

	band := search(sdk.SearchCatalogRequest{Query: "iPhone", PageSize: 100,
		Filters: map[string]string{"min_price": "5000", "max_price": "6000.50"}})
	if band.Total == 0 || band.Total >= all.Total {
		t.Fatalf("price band 5000-6000.50: %d of %d", band.Total, all.Total)
	}
	for _, it := range band.Items {
		if it.Price.Amount < 500000 || it.Price.Amount > 600050 {
			t.Errorf("%s %q listed at %v, outside 5000-6000.50", it.ID, it.Title, it.Price)
		}
	}

	shop := e.sb.Shops()[0]
	for _, f := range []map[string]string{{"shop_id": shop.ID}, {"seller_nick": shop.Nick}} {
		r := search(sdk.SearchCatalogRequest{Filters: f, PageSize: 100})
		if r.Total != shop.ItemCount || len(r.Items) != shop.ItemCount {
			t.Errorf("%v: %d items, shop has %d", f, r.Total, shop.ItemCount)
		}
		for _, it := range r.Items {
			if it.Shop.ID != shop.ID {
				t.Errorf("%v: item of shop %s", f, it.Shop.ID)
			}
		}
	}
	inShop := search(sdk.SearchCatalogRequest{Query: "iPhone 16", Filters: map[string]string{"shop_id": shop.ID}})
	if inShop.Total == 0 || inShop.Total >= shop.ItemCount {
		t.Errorf("keyword inside a shop: %d of %d", inShop.Total, shop.ItemCount)
	}
}

func TestShops(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	ctx := ctxT(t)
	shop := e.sb.Shops()[0]
	got, err := e.a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: shop.ID, Kind: sdk.KindShop})
	if err != nil {
		t.Fatal(err)
	}
	it := got.Item
	if it.Kind != sdk.KindShop || it.ID != shop.ID || it.Title != shop.Name || it.URL != shop.URL ||
		it.Attributes["seller_nick"] != shop.Nick || it.Attributes["location"] != shop.Location {
		t.Errorf("shop = %+v", it)
	}
	res, err := e.a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindShop, Query: "华强北"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Items[0].ID != shop.ID {
		t.Errorf("shop search 华强北: %+v", res)
	}
	res, err = e.a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindShop, Filters: map[string]string{"shop_id": shop.ID}})
	if err != nil || res.Total != 1 || res.Items[0].Title != shop.Name {
		t.Errorf("shop by id: %+v %v", res, err)
	}
	res, err = e.a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Kind: sdk.KindShop, Filters: map[string]string{"shop_id": "b2b-none"}})
	if err != nil || res.Total != 0 || len(res.Items) != 0 {
		t.Errorf("unknown shop id: %+v %v", res, err)
	}
	_, err = e.a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "b2b-none", Kind: sdk.KindShop})
	sdkErr(t, err, sdk.CodeNotFound)
}

// Input the provider cannot take never reaches it.
func TestInputRefusedBeforeAnyCall(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	search := []struct {
		name  string
		req   *sdk.SearchCatalogRequest
		field string
	}{
		{"nil request", nil, "request"},
		{"no query", &sdk.SearchCatalogRequest{}, "query"},
		{"blank query", &sdk.SearchCatalogRequest{Query: " \u3000 "}, "query"},
		{"negative page", &sdk.SearchCatalogRequest{Query: "x", Page: -1}, "page"},
		{"page too large", &sdk.SearchCatalogRequest{Query: "x", PageSize: 101}, "page_size"},
		{"unknown kind", &sdk.SearchCatalogRequest{Query: "x", Kind: sdk.KindCarType}, "kind"},
		{"unknown filter", &sdk.SearchCatalogRequest{Query: "x", Filters: map[string]string{"brand": "apple"}}, "filters.brand"},
		{"bad min_price", &sdk.SearchCatalogRequest{Query: "x", Filters: map[string]string{"min_price": "cheap"}}, "filters.min_price"},
		{"negative max_price", &sdk.SearchCatalogRequest{Query: "x", Filters: map[string]string{"max_price": "-5"}}, "filters.max_price"},
		{"min above max", &sdk.SearchCatalogRequest{Query: "x", Filters: map[string]string{"min_price": "9", "max_price": "8"}}, "filters.max_price"},
		{"bad sort", &sdk.SearchCatalogRequest{Query: "x", Filters: map[string]string{"sort": "newest"}}, "filters.sort"},
		{"shop id and nick", &sdk.SearchCatalogRequest{Filters: map[string]string{"shop_id": "a", "seller_nick": "b"}}, "filters.seller_nick"},
		{"blank shop id", &sdk.SearchCatalogRequest{Filters: map[string]string{"shop_id": " "}}, "filters.shop_id"},
		{"blank seller nick", &sdk.SearchCatalogRequest{Filters: map[string]string{"seller_nick": "\t"}}, "filters.seller_nick"},
		{"shop search without query", &sdk.SearchCatalogRequest{Kind: sdk.KindShop}, "query"},
		{"shop search unknown filter", &sdk.SearchCatalogRequest{Kind: sdk.KindShop, Query: "x", Filters: map[string]string{"sort": "bid"}}, "filters.sort"},
	}
	for _, c := range search {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.a.SearchCatalog(ctxT(t), c.req)
			if got := sdkErr(t, err, sdk.CodeInvalidArgument); got.Field != c.field {
				t.Errorf("field %q, want %q (%v)", got.Field, c.field, got)
			}
		})
	}
	get := []struct {
		name  string
		req   *sdk.GetCatalogItemRequest
		field string
	}{
		{"nil request", nil, "request"},
		{"no id", &sdk.GetCatalogItemRequest{}, "id"},
		{"blank id", &sdk.GetCatalogItemRequest{ID: "  "}, "id"},
		{"huge id", &sdk.GetCatalogItemRequest{ID: strings.Repeat("9", 300)}, "id"},
		{"unknown kind", &sdk.GetCatalogItemRequest{ID: "1", Kind: sdk.KindModel}, "kind"},
	}
	for _, c := range get {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.a.GetCatalogItem(ctxT(t), c.req)
			if got := sdkErr(t, err, sdk.CodeInvalidArgument); got.Field != c.field {
				t.Errorf("field %q, want %q (%v)", got.Field, c.field, got)
			}
		})
	}
	if n := e.sb.Kit().Calls(); n != 0 {
		t.Errorf("the sandbox received %d calls for refused input", n)
	}
}

func TestProviderErrors(t *testing.T) {
	ctx := ctxT(t)
	get := func(a *Adapter, id string) error {
		_, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: id})
		return err
	}
	known := func(e *env) string { return e.sb.Products()[0].NumIID }

	t.Run("unknown app_key", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		cfg := e.sb.AdapterConfig(e.a.cfg.Load().endpoint)
		cfg["app_key"] = "someone-else"
		configure(t, e.a, cfg)
		err := sdkErr(t, get(e.a, known(e)), sdk.CodeUnauthenticated)
		if err.ProviderCode != "401" || err.Retryable || !strings.Contains(err.Message, "app_key") {
			t.Errorf("%+v", err)
		}
	})
	t.Run("wrong app_secret", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		cfg := e.sb.AdapterConfig(e.a.cfg.Load().endpoint)
		cfg["app_secret"] = "not-the-secret"
		configure(t, e.a, cfg)
		err := sdkErr(t, get(e.a, known(e)), sdk.CodeUnauthenticated)
		if err.ProviderCode != "402" || !strings.Contains(err.Message, "app_secret") || strings.Contains(err.Error(), "not-the-secret") {
			t.Errorf("%+v", err)
		}
	})
	t.Run("clock far from the provider's", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		e.a.Now = func() time.Time { return time.Now().Add(-11 * time.Minute) }
		err := sdkErr(t, get(e.a, known(e)), sdk.CodeUnauthenticated)
		if err.ProviderCode != "403" || !strings.Contains(err.Message, "clock") {
			t.Errorf("%+v", err)
		}
	})
	t.Run("unknown item", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		err := sdkErr(t, get(e.a, "100000000000"), sdk.CodeNotFound)
		if err.ProviderCode != "404" || err.ProviderMessage == "" || err.Retryable {
			t.Errorf("%+v", err)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{QPS: 1})
		if err := get(e.a, known(e)); err != nil {
			t.Fatal(err)
		}
		err := sdkErr(t, get(e.a, known(e)), sdk.CodeRateLimited)
		if err.ProviderCode != "429" || !err.Retryable || err.RetryAfter != time.Second {
			t.Errorf("%+v", err)
		}
	})
	t.Run("malformed bodies", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		if err := e.sb.Kit().SetFaults(sandboxkit.Faults{MalformedRate: 1}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			sdkErr(t, get(e.a, known(e)), sdk.CodeProviderError)
			_, err := e.a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "iphone"})
			sdkErr(t, err, sdk.CodeProviderError)
			_, err = e.a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "b2b-1", Kind: sdk.KindShop})
			sdkErr(t, err, sdk.CodeProviderError)
		}
	})
	t.Run("provider answers HTTP 500", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		if err := e.sb.Kit().SetFaults(sandboxkit.Faults{ErrorRate: 1}); err != nil {
			t.Fatal(err)
		}
		err := sdkErr(t, get(e.a, known(e)), sdk.CodeUnavailable)
		if !err.Retryable || err.ProviderCode != "HTTP 500" {
			t.Errorf("%+v", err)
		}
	})
	t.Run("provider hangs past the deadline", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		if err := e.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1}); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := e.a.GetCatalogItem(short, &sdk.GetCatalogItemRequest{ID: known(e)})
		if got := sdkErr(t, err, sdk.CodeDeadlineExceeded); !got.Retryable {
			t.Errorf("%+v", got)
		}
	})
	t.Run("configured timeout", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		cfg := e.sb.AdapterConfig(e.a.cfg.Load().endpoint)
		cfg["timeout"] = "50ms"
		configure(t, e.a, cfg)
		if err := e.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1}); err != nil {
			t.Fatal(err)
		}
		sdkErr(t, get(e.a, known(e)), sdk.CodeDeadlineExceeded)
	})
	t.Run("caller cancels", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		gone, cancel := context.WithCancel(ctx)
		cancel()
		_, err := e.a.GetCatalogItem(gone, &sdk.GetCatalogItemRequest{ID: known(e)})
		sdkErr(t, err, sdk.CodeCanceled)
	})
	t.Run("nothing listening", func(t *testing.T) {
		a := New()
		configure(t, a, map[string]string{"base_url": "http://127.0.0.1:1", "app_key": "k", "app_secret": "s"})
		err := sdkErr(t, get(a, "1"), sdk.CodeUnavailable)
		if !err.Retryable || strings.Contains(err.Message, "sign=") {
			t.Errorf("%+v", err)
		}
	})
	t.Run("wrong path", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		cfg := e.sb.AdapterConfig(e.a.cfg.Load().endpoint)
		cfg["base_url"] = strings.TrimSuffix(cfg["base_url"], APIPath) + "/elsewhere"
		configure(t, e.a, cfg)
		err := sdkErr(t, get(e.a, known(e)), sdk.CodeProviderError)
		if !strings.Contains(err.Message, "base_url") {
			t.Errorf("%+v", err)
		}
	})
}

// The adapter logs through the host's logger and never logs the secret.
func TestLogsCarryNoSecret(t *testing.T) {
	var buf strings.Builder
	sb := sandbox.New(sandbox.Options{})
	srv := newServer(t, sb)
	a := New()
	cfg := sb.AdapterConfig(srv)
	_, err := a.Configure(context.Background(), &sdk.ConfigureRequest{
		Config:  map[string]string{"base_url": cfg["base_url"], "app_key": cfg["app_key"], "unknown_key": "x"},
		Secrets: map[string]string{"app_secret": cfg["app_secret"]},
		Logger:  slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = a.GetCatalogItem(ctxT(t), &sdk.GetCatalogItemRequest{ID: "100000000000"})
	_, _ = a.GetCatalogItem(ctxT(t), &sdk.GetCatalogItemRequest{ID: sb.Products()[0].NumIID})
	log := buf.String()
	if strings.Contains(log, cfg["app_secret"]) {
		t.Errorf("log holds the secret:\n%s", log)
	}
	for _, want := range []string{"unknown_key", "api_name=item_get", "code=404"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
