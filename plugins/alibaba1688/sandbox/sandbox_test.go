package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

var t0 = time.Date(2025, 3, 24, 17, 21, 55, 0, time.FixedZone("CST", 8*3600))

// client calls a sandbox the way a provider's user would, signing with the
// sandbox's own signOf (checked against the Python vectors below).
type client struct {
	t      *testing.T
	url    string
	key    string
	secret string
	now    func() time.Time
}

func start(t *testing.T, opts Options) (*Sandbox, *client, *sandboxkit.ManualClock) {
	t.Helper()
	clock := sandboxkit.NewManualClock(t0)
	if opts.Clock == nil {
		opts.Clock = clock
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, &client{t: t, url: srv.URL + APIPath, key: DemoAppKey, secret: DemoAppSecret, now: clock.Now}, clock
}

// params returns the public parameters for api plus extra, signed.
func (c *client) params(api string, extra map[string]string) map[string]string {
	p := map[string]string{"app_key": c.key, "api_name": api, "sign_method": "md5", "v": "2.0", "format": "json",
		"timestamp": strconv.FormatInt(c.now().UnixMilli(), 10)}
	for k, v := range extra {
		p[k] = v
	}
	p["sign"] = signOf(p, c.secret)
	return p
}

func (c *client) raw(params map[string]string) map[string]any {
	c.t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	resp, err := http.Get(c.url + "?" + q.Encode())
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatalf("reply is not JSON: %s", b)
	}
	return out
}

func (c *client) call(api string, extra map[string]string) map[string]any {
	c.t.Helper()
	return c.raw(c.params(api, extra))
}

func code(r map[string]any) string { s, _ := r["code"].(string); return s }

func TestSignMatchesPythonVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sign_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name, Secret, Sign string
			Params             map[string]string
		}
		Quote []struct{ In, Out string }
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		if got := signOf(c.Params, c.Secret); got != c.Sign {
			t.Errorf("%s: sign %s, want %s", c.Name, got, c.Sign)
		}
	}
	for _, q := range v.Quote {
		if got := quote(q.In); got != q.Out {
			t.Errorf("quote(%q) = %q, want %q", q.In, got, q.Out)
		}
	}
}

func TestCatalogue(t *testing.T) {
	s := New(Options{})
	ps := s.Products()
	if len(ps) < 200 || len(s.Shops()) < 20 {
		t.Fatalf("%d products in %d shops; want at least 200 in 20", len(ps), len(s.Shops()))
	}
	idRE := regexp.MustCompile(`^[1-9]\d{11}$`)
	seen := map[string]bool{}
	for _, p := range ps {
		if !idRE.MatchString(p.NumIID) || seen[p.NumIID] {
			t.Errorf("bad or duplicate num_iid %q", p.NumIID)
		}
		seen[p.NumIID] = true
		if len(p.SKUs) == 0 || p.Title == "" || p.MinFen <= 0 || p.MaxFen < p.MinFen || len(p.Images) == 0 {
			t.Errorf("incomplete product %+v", p)
		}
		for _, k := range p.SKUs {
			if seen[k.ID] || k.PriceFen < p.MinFen || k.PriceFen > p.MaxFen || k.PriceFen%10 != 0 {
				t.Errorf("%s: bad sku %+v", p.NumIID, k)
			}
			seen[k.ID] = true
		}
		if s.cat.shopByID[p.ShopID] == nil {
			t.Errorf("%s: unknown shop %s", p.NumIID, p.ShopID)
		}
	}
	// A trade-in must find the new devices an Aihuishou sandbox prices.
	for _, model := range []string{"iPhone 13", "iPhone 14 Pro", "iPhone 15 Pro Max", "iPhone 16", "Mate 60 Pro", "P60",
		"Pura 70", "nova 12", "Magic6 Pro", "Xiaomi 14", "K70", "Find X7", "Reno11", "X100 Pro", "Galaxy S24 Ultra",
		"Galaxy Z Fold5", "iPad Air 11英寸 M2", "iPad Pro 11英寸 M4", "iPad 10 第十代", "MacBook Air 13英寸 M2",
		"MacBook Pro 14英寸 M3", "ThinkPad X1 Carbon 2024", "Legion 拯救者 Y9000P 2024", "MateBook X Pro 2024",
		"XPS 13 9340", "AirPods Pro 2 USB-C", "Apple Watch Series 9 GPS", "20W USB-C 电源适配器",
		"iPhone 15 Pro 手机壳", "iPhone 15 系列 钢化膜"} {
		found := false
		for _, p := range ps {
			found = found || p.Model == model
		}
		if !found {
			t.Errorf("no listing of %s", model)
		}
	}
	// README.md and the package example name this listing.
	if p, ok := s.Product("680775234380"); !ok || p.Model != "iPhone 15 Pro" || len(p.SKUs) != 16 {
		t.Errorf("680775234380 is no longer the documented iPhone 15 Pro listing: %+v", p)
	}
	cats := map[string]int{}
	for _, p := range ps {
		cats[p.Category]++
	}
	for _, c := range []string{"phone", "tablet", "laptop", "watch", "earphones", "accessory"} {
		if cats[c] == 0 {
			t.Errorf("no %s listings", c)
		}
	}
}

func TestCatalogueIsDeterministic(t *testing.T) {
	a, b, c := New(Options{Seed: 1}).Products(), New(Options{Seed: 1}).Products(), New(Options{Seed: 2}).Products()
	samePrices := true
	for i := range a {
		if a[i].NumIID != b[i].NumIID || a[i].MinFen != b[i].MinFen || a[i].Sales != b[i].Sales || a[i].Title != b[i].Title {
			t.Fatalf("same seed, different listing %d", i)
		}
		if a[i].NumIID != c[i].NumIID {
			t.Fatalf("ids must not depend on the seed: %s vs %s", a[i].NumIID, c[i].NumIID)
		}
		samePrices = samePrices && a[i].MinFen == c[i].MinFen
	}
	if samePrices {
		t.Error("another seed should give other prices")
	}
}

func TestAuthentication(t *testing.T) {
	_, c, clock := start(t, Options{QPS: -1})
	id := "100000000000"
	cases := []struct {
		name   string
		params func() map[string]string
		code   string
	}{
		{"valid call reaches the catalogue", func() map[string]string { return c.params("item_get", map[string]string{"num_iid": id}) }, "404"},
		{"unknown app_key", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id})
			p["app_key"] = "nobody"
			p["sign"] = signOf(p, DemoAppSecret)
			return p
		}, "401"},
		{"missing app_key", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id})
			delete(p, "app_key")
			return p
		}, "401"},
		{"missing sign", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id})
			delete(p, "sign")
			return p
		}, "402"},
		{"signed with another secret", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id})
			p["sign"] = signOf(p, "other")
			return p
		}, "402"},
		{"lower-case sign", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id})
			p["sign"] = strings.ToLower(p["sign"])
			return p
		}, "402"},
		{"parameter changed after signing", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id})
			p["num_iid"] = "1"
			return p
		}, "402"},
		{"timestamp 11 minutes old", func() map[string]string {
			p := c.params("item_get", map[string]string{"num_iid": id,
				"timestamp": strconv.FormatInt(clock.Now().Add(-11*time.Minute).UnixMilli(), 10)})
			return p
		}, "403"},
		{"timestamp 11 minutes ahead", func() map[string]string {
			return c.params("item_get", map[string]string{"num_iid": id,
				"timestamp": strconv.FormatInt(clock.Now().Add(11*time.Minute).UnixMilli(), 10)})
		}, "403"},
		{"timestamp 9 minutes old is fine", func() map[string]string {
			return c.params("item_get", map[string]string{"num_iid": id,
				"timestamp": strconv.FormatInt(clock.Now().Add(-9*time.Minute).UnixMilli(), 10)})
		}, "404"},
		{"timestamp in seconds", func() map[string]string {
			return c.params("item_get", map[string]string{"num_iid": id, "timestamp": strconv.FormatInt(clock.Now().Unix(), 10)})
		}, "403"},
		{"timestamp as a date", func() map[string]string {
			return c.params("item_get", map[string]string{"num_iid": id, "timestamp": "2025-03-24 17:21:55"})
		}, "400"},
		{"sign_method hmac", func() map[string]string {
			return c.params("item_get", map[string]string{"num_iid": id, "sign_method": "hmac"})
		}, "400"},
		{"version 1.0", func() map[string]string { return c.params("item_get", map[string]string{"num_iid": id, "v": "1.0"}) }, "400"},
		{"format xml", func() map[string]string {
			return c.params("item_get", map[string]string{"num_iid": id, "format": "xml"})
		}, "400"},
		{"unknown api_name", func() map[string]string { return c.params("trade_get", nil) }, "405"},
		{"missing api_name", func() map[string]string { return c.params("", nil) }, "400"},
		{"missing num_iid", func() map[string]string { return c.params("item_get", nil) }, "400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.raw(tc.params())
			if code(r) != tc.code || r["message"] == "" {
				t.Errorf("code %v message %v, want code %s", r["code"], r["message"], tc.code)
			}
		})
	}
}

func TestTransportEdges(t *testing.T) {
	_, c, _ := start(t, Options{})
	p := c.params("item_get", map[string]string{"num_iid": "1"})
	q := url.Values{}
	for k, v := range p {
		q.Set(k, v)
	}
	q.Add("num_iid", "2")
	resp, err := http.Get(c.url + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if code(r) != "400" {
		t.Errorf("duplicate parameter: %v", r)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{{http.MethodPost, APIPath, http.StatusMethodNotAllowed}, {http.MethodGet, "/api/other", http.StatusNotFound}} {
		req, _ := http.NewRequest(tc.method, strings.TrimSuffix(c.url, APIPath)+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: HTTP %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

func TestRateLimit(t *testing.T) {
	s, c, _ := start(t, Options{QPS: 3, Accounts: map[string]string{DemoAppKey: DemoAppSecret, "second-key": "second-secret"}})
	wall := time.Unix(1_700_000_000, 0)
	s.wall = func() time.Time { return wall }
	for i := 0; i < 3; i++ {
		if r := c.call("item_get", map[string]string{"num_iid": "1"}); code(r) != "404" {
			t.Fatalf("call %d: %v", i, r)
		}
	}
	if r := c.call("item_get", map[string]string{"num_iid": "1"}); code(r) != "429" {
		t.Fatalf("4th call in a second: %v", r)
	}
	wall = wall.Add(time.Second)
	if r := c.call("item_get", map[string]string{"num_iid": "1"}); code(r) != "404" {
		t.Fatalf("after a second: %v", r)
	}
	other := *c
	other.key, other.secret = "second-key", "second-secret"
	if r := other.call("item_get", map[string]string{"num_iid": "1"}); code(r) != "404" {
		t.Fatalf("the limit is per app_key: %v", r)
	}
}

func TestAccountsAndAdapterConfig(t *testing.T) {
	s := New(Options{})
	if got := s.AdapterConfig("http://127.0.0.1:1"); got["app_key"] != DemoAppKey || got["app_secret"] != DemoAppSecret || got["base_url"] != "http://127.0.0.1:1" {
		t.Errorf("demo config: %v", got)
	}
	s = New(Options{Accounts: map[string]string{"b": "sb", "a": "sa"}})
	if got := s.AdapterConfig("u"); got["app_key"] != "a" || got["app_secret"] != "sa" {
		t.Errorf("first account: %v", got)
	}
	_, c, _ := start(t, Options{Accounts: map[string]string{"mine": "my-secret"}})
	if r := c.call("item_get", map[string]string{"num_iid": "1"}); code(r) != "401" {
		t.Errorf("the demo account is replaced by Accounts: %v", r)
	}
	c.key, c.secret = "mine", "my-secret"
	if r := c.call("item_get", map[string]string{"num_iid": "1"}); code(r) != "404" {
		t.Errorf("own account: %v", r)
	}
}

func items(t *testing.T, r map[string]any) (list []map[string]any, total int) {
	t.Helper()
	if code(r) != "200" {
		t.Fatalf("reply %v", r)
	}
	block := r["items"].(map[string]any)
	for _, it := range block["item"].([]any) {
		list = append(list, it.(map[string]any))
	}
	return list, int(block["total_results"].(float64))
}

func TestItemGet(t *testing.T) {
	s, c, _ := start(t, Options{})
	p := s.Products()[10]
	r := c.call("item_get", map[string]string{"num_iid": p.NumIID})
	if code(r) != "200" || r["message"] != "success" {
		t.Fatal(r)
	}
	it := r["item"].(map[string]any)
	if it["title"] != p.Title || it["price"] != yuan(p.MinFen) || it["num_iid"] != p.NumIID || it["sales"] != strconv.FormatInt(p.Sales, 10) {
		t.Errorf("item %v", it)
	}
	for _, k := range []string{"pic_url", "detail_url", "shop_name", "shop_url", "shop_id", "seller_nick"} {
		if s, _ := it[k].(string); s == "" {
			t.Errorf("item lacks %s", k)
		}
	}
	skus := it["sku"].([]any)
	if len(skus) != len(p.SKUs) {
		t.Fatalf("%d skus, want %d", len(skus), len(p.SKUs))
	}
	for i, raw := range skus {
		k := raw.(map[string]any)
		if k["sku_id"] != p.SKUs[i].ID || k["sku_name"] != p.SKUs[i].Name || k["sku_price"] != yuan(p.SKUs[i].PriceFen) {
			t.Errorf("sku %v, want %+v", k, p.SKUs[i])
		}
	}
}

func TestKeywordSearch(t *testing.T) {
	_, c, _ := start(t, Options{QPS: -1})
	search := func(extra map[string]string) ([]map[string]any, int) {
		return items(t, c.call("item_search", extra))
	}
	count := func(q string) int { _, n := search(map[string]string{"q": q}); return n }

	if n := count("iPhone 15 Pro"); n == 0 || n != count("IPHONE 15 pro") || n != count("iphone15pro") {
		t.Errorf("case and spacing: %d %d %d", n, count("IPHONE 15 pro"), count("iphone15pro"))
	}
	if count("苹果 手机") == 0 || count("苹果手机") != count("苹果 手机") {
		t.Errorf("Chinese terms: %d vs %d", count("苹果手机"), count("苹果 手机"))
	}
	if count("Apple/苹果 iPhone 15") == 0 || count("华为 Mate 60") == 0 || count("笔记本 ThinkPad") == 0 || count("钢化膜") == 0 {
		t.Error("mixed queries find nothing")
	}
	if count("iPhone 华为") != 0 {
		t.Error("every term must match")
	}
	if count("iPhone\u3000256GB") == 0 {
		t.Error("a full-width space separates terms")
	}
	list, total := search(map[string]string{"q": "手机", "page_size": "5", "page": "3"})
	if len(list) != 5 || total < 100 {
		t.Errorf("paging: %d of %d", len(list), total)
	}
	if list, _ := search(map[string]string{"q": "手机", "page": "1000"}); len(list) != 0 {
		t.Errorf("past the end: %d", len(list))
	}
	list, _ = search(map[string]string{"q": "手机", "page_size": "100", "sort": "bid", "start_price": "1000", "end_price": "2000.5"})
	last := int64(0)
	for _, it := range list {
		lo, _, _ := strings.Cut(it["price"].(string), "-")
		fen := mustFen(t, lo)
		if fen < last {
			t.Fatal("bid must sort by price, lowest first")
		}
		last = fen
	}
	if len(list) == 0 {
		t.Fatal("no phones between 1000 and 2000.50")
	}
	for _, tc := range []map[string]string{
		{},
		{"q": " "},
		{"q": "x", "page": "0"},
		{"q": "x", "page_size": "101"},
		{"q": "x", "sort": "price"},
		{"q": "x", "start_price": "abc"},
		{"q": "x", "start_price": "9", "end_price": "8"},
	} {
		if r := c.call("item_search", tc); code(r) != "400" {
			t.Errorf("%v: %v", tc, r)
		}
	}
}

func mustFen(t *testing.T, yuanText string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(yuanText, ".")
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || len(frac) != 2 {
		t.Fatalf("price %q is not yuan with two decimals", yuanText)
	}
	return w*100 + f
}

func TestShopCalls(t *testing.T) {
	s, c, _ := start(t, Options{QPS: -1})
	sh := s.Shops()[3]
	for _, by := range []map[string]string{{"shop_id": sh.ID}, {"seller_nick": sh.Nick}, {"seller_nick": sh.Name}, {"sid": sh.ID}} {
		r := c.call("seller_info", by)
		if code(r) != "200" || r["shop"].(map[string]any)["shop_name"] != sh.Name {
			t.Errorf("seller_info %v: %v", by, r)
		}
		by["page_size"] = "100"
		list, total := items(t, c.call("item_search_shop", by))
		if total != sh.ItemCount || len(list) != total {
			t.Errorf("item_search_shop %v: %d, want %d", by, total, sh.ItemCount)
		}
	}
	if r := c.call("seller_info", map[string]string{"shop_id": "b2b-0"}); code(r) != "404" {
		t.Errorf("unknown shop: %v", r)
	}
	if r := c.call("item_search_shop", nil); code(r) != "400" {
		t.Errorf("no shop named: %v", r)
	}
	r := c.call("shop_search", map[string]string{"q": "深圳 苹果"})
	if code(r) != "200" || r["shops"].(map[string]any)["total_results"].(float64) == 0 {
		t.Errorf("shop_search: %v", r)
	}
}

func TestMalformedFault(t *testing.T) {
	s, c, _ := start(t, Options{})
	if err := s.Kit().SetFaults(sandboxkit.Faults{MalformedRate: 1}); err != nil {
		t.Fatal(err)
	}
	q := url.Values{}
	for k, v := range c.params("item_get", map[string]string{"num_iid": "1"}) {
		q.Set(k, v)
	}
	for i := 0; i < len(malformedBodies); i++ {
		resp, err := http.Get(c.url + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != malformedBodies[i].body {
			t.Errorf("malformed body %d = %s", i, b)
		}
	}
	if st := s.Kit().Stats(); st.Injected != int64(len(malformedBodies)) || st.Calls != 0 {
		t.Errorf("stats %+v", st)
	}
}
