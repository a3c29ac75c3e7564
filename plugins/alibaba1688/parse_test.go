package alibaba1688

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares v, as indented JSON, with testdata/golden/name.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func reply(t *testing.T, name string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "replies", name))
	if err != nil {
		t.Fatal(err)
	}
	top, e := decodeReply("test", 200, b)
	if e != nil {
		t.Fatal(e)
	}
	return top
}

func TestItemGetReplyNormalizes(t *testing.T) {
	it, e := parseItemGet(reply(t, "item_get.json"), "610947572360")
	if e != nil {
		t.Fatal(e)
	}
	// The exact amounts matter more than the golden file: check them here.
	for i, want := range []int64{699900, 849950, 999999} {
		if it.SKUs[i].Price != sdk.Fen(want) {
			t.Errorf("sku %d price %v, want %d fen", i, it.SKUs[i].Price, want)
		}
	}
	if it.Price.Amount != 699900 || it.PriceMin.Amount != 699900 || it.PriceMax.Amount != 999999 || it.Sales != 12000 {
		t.Errorf("price %v [%v %v] sales %d", it.Price, it.PriceMin, it.PriceMax, it.Sales)
	}
	it.Raw = nil
	golden(t, "item_get.json", it)
}

func TestItemSearchReplyNormalizes(t *testing.T) {
	res, err := parseProductPage(reply(t, "item_search.json"), &sdk.SearchCatalogRequest{Query: "iphone 15 pro", Page: 2, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 37 || res.Page != 2 || res.PageSize != 2 || len(res.Items) != 2 {
		t.Fatalf("page: %+v", res)
	}
	if p := res.Items[0]; p.Price.Amount != 649900 || p.PriceMin.Amount != 649900 || p.PriceMax.Amount != 1029900 || p.Sales != 2000 {
		t.Errorf("range price: %v [%v %v] sales %d", p.Price, p.PriceMin, p.PriceMax, p.Sales)
	}
	if p := res.Items[1]; p.Price.Amount != 1580 || p.PriceMin != nil || p.ID != "628675986215" {
		t.Errorf("promotion price fallback: %+v", p)
	}
	for i := range res.Items {
		res.Items[i].Raw = nil
	}
	golden(t, "item_search.json", res)
}

func TestParsePriceText(t *testing.T) {
	cases := []struct {
		in     string
		lo, hi int64
		bad    bool
	}{
		{"6999.00", 699900, 699900, false},
		{"6999", 699900, 699900, false},
		{"0.01", 1, 1, false},
		{"12.50-18.00", 1250, 1800, false},
		{"12.50 - 18.00", 1250, 1800, false},
		{"18.00~12.50", 1250, 1800, false},
		{"¥6,999.00", 699900, 699900, false},
		{"6999元", 699900, 699900, false},
		{"1.005", 101, 101, false},
		{"6.999e3", 699900, 699900, false},
		{"", 0, 0, true},
		{"商品价格", 0, 0, true},
		{"-5", 0, 0, true},
		{"12.50-", 0, 0, true},
		{"1-2-3", 0, 0, true},
		{"NaN", 0, 0, true},
	}
	for _, c := range cases {
		lo, hi, err := parsePriceText(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q: want an error, got %d-%d", c.in, lo, hi)
			}
			continue
		}
		if err != nil || lo != c.lo || hi != c.hi {
			t.Errorf("%q = %d-%d %v, want %d-%d", c.in, lo, hi, err, c.lo, c.hi)
		}
	}
}

func TestParseSales(t *testing.T) {
	for in, want := range map[string]int64{
		`1523`: 1523, `"1523"`: 1523, `"2000+"`: 2000, `"1.2万"`: 12000, `"成交1,523件"`: 1523,
		`"3万+"`: 30000, `null`: 0, `"很多"`: 0, `[]`: 0, `-4`: 0, `"1e3"`: 1000, `""`: 0,
	} {
		if got := parseSales(json.RawMessage(in)); got != want {
			t.Errorf("parseSales(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestSKUAttributes(t *testing.T) {
	cases := []struct {
		name string
		want map[string]string
	}{
		{"颜色:原色钛金属;存储容量:256GB", map[string]string{"color": "原色钛金属", "storage": "256GB"}},
		{"0:0:颜色:黑色;1:1:内存:256GB", map[string]string{"color": "黑色", "storage": "256GB"}},
		{"颜色：雅川青；版本：12GB+512GB", map[string]string{"color": "雅川青", "storage": "512GB", "ram": "12GB"}},
		{"12+256G 雅丹黑", nil}, // "12" has no unit: only the storage is sure
		{"8GB+256G 雅丹黑", map[string]string{"color": "雅丹黑", "storage": "256GB", "ram": "8GB"}},
		{"黑色钛金属 1TB", map[string]string{"color": "黑色钛金属", "storage": "1TB"}},
		{"原色钛金属 / 512GB", map[string]string{"color": "原色钛金属", "storage": "512GB"}},
		{"颜色:深空灰色;配置:M3/16GB/512GB", map[string]string{"color": "深空灰色", "storage": "512GB", "ram": "16GB"}},
		{"配置:i9/32GB/1TB RTX4070", map[string]string{"storage": "1TB", "ram": "32GB"}},
		{"颜色:银色;尺寸:45mm", map[string]string{"color": "银色", "size": "45mm"}},
		{"运行内存:8GB", map[string]string{"ram": "8GB"}},
		{"Black 256gb", map[string]string{"color": "Black", "storage": "256GB"}},
		{"5G全网通 256G", map[string]string{"storage": "256GB"}},
		{"规格:20000mAh", nil},
		{"", nil},
	}
	for _, c := range cases {
		got := skuAttributes(c.name)
		if c.name == "12+256G 雅丹黑" {
			if got["storage"] != "256GB" || got["color"] != "雅丹黑" {
				t.Errorf("%q: %v", c.name, got)
			}
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q = %v, want %v", c.name, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q = %v, want %v", c.name, got, c.want)
			}
		}
	}
}

func TestReplyCodes(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		code      sdk.Code
		retryable bool
		provCode  string
	}{
		{"bad parameter", 200, `{"code":"400","message":"缺少参数: num_iid"}`, sdk.CodeInvalidArgument, false, "400"},
		{"bad app_key", 200, `{"code":"401","message":"app_key无效"}`, sdk.CodeUnauthenticated, false, "401"},
		{"bad sign", 200, `{"code":"402","message":"签名错误"}`, sdk.CodeUnauthenticated, false, "402"},
		{"bad timestamp", 200, `{"code":"403","message":"时间戳过期"}`, sdk.CodeUnauthenticated, false, "403"},
		{"not found", 200, `{"code":"404","message":"商品不存在"}`, sdk.CodeNotFound, false, "404"},
		{"unknown api", 200, `{"code":"405","message":"接口不存在"}`, sdk.CodeUnsupported, false, "405"},
		{"rate limited", 200, `{"code":"429","message":"调用频率超限"}`, sdk.CodeRateLimited, true, "429"},
		{"server error", 200, `{"code":"500","message":"系统繁忙"}`, sdk.CodeProviderError, true, "500"},
		{"numeric code", 200, `{"code":404,"msg":"not found"}`, sdk.CodeNotFound, false, "404"},
		{"unknown code", 200, `{"code":"9999","message":"?"}`, sdk.CodeProviderError, false, "9999"},
		{"HTTP 429 without JSON", 429, `Too Many Requests`, sdk.CodeRateLimited, true, "HTTP 429"},
		{"HTTP 503 without JSON", 503, `<html>busy</html>`, sdk.CodeUnavailable, true, "HTTP 503"},
		{"HTTP 500 JSON without code", 500, `{"error":"boom"}`, sdk.CodeUnavailable, true, "HTTP 500"},
		{"HTTP 200 HTML", 200, `<html>502 Bad Gateway</html>`, sdk.CodeProviderError, false, ""},
		{"HTTP 200 no code", 200, `{"message":"success","item":{}}`, sdk.CodeProviderError, false, ""},
		{"HTTP 200 code object", 200, `{"code":{"v":200}}`, sdk.CodeProviderError, false, ""},
		{"HTTP 200 JSON array", 200, `[1,2]`, sdk.CodeProviderError, false, ""},
		{"HTTP 200 null", 200, `null`, sdk.CodeProviderError, false, ""},
		{"HTTP 200 empty", 200, ``, sdk.CodeProviderError, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := decodeReply("item_get", c.status, []byte(c.body))
			if e == nil {
				t.Fatal("want an error")
			}
			if e.Code != c.code || e.Retryable != c.retryable || e.ProviderCode != c.provCode || e.Provider != ProviderID {
				t.Errorf("got %s retryable=%v provider code %q, want %s %v %q (%v)", e.Code, e.Retryable, e.ProviderCode, c.code, c.retryable, c.provCode, e)
			}
		})
	}
	top, e := decodeReply("item_get", 200, []byte(`{"code":"200","item":{"title":"x"}}`))
	if e != nil || top["item"] == nil {
		t.Errorf("success: %v", e)
	}
}

// Replies of the wrong shape are provider errors; nothing panics.
func TestWrongShapes(t *testing.T) {
	for name, body := range map[string]string{
		"no item":               `{"code":"200"}`,
		"item is an array":      `{"code":"200","item":[1]}`,
		"item without title":    `{"code":"200","item":{"price":"1.00"}}`,
		"title is an object":    `{"code":"200","item":{"title":{"zh":"x"}}}`,
		"price is words":        `{"code":"200","item":{"title":"x","price":"商品价格"}}`,
		"price is an array":     `{"code":"200","item":{"title":"x","price":[1]}}`,
		"sku is an object":      `{"code":"200","item":{"title":"x","sku":{"sku_id":1}}}`,
		"sku entry is a number": `{"code":"200","item":{"title":"x","sku":[7]}}`,
		"sku price is words":    `{"code":"200","item":{"title":"x","sku":[{"sku_id":"1","sku_price":"SKU价格"}]}}`,
		"sku price is a range":  `{"code":"200","item":{"title":"x","sku":[{"sku_id":"1","sku_price":"1-2"}]}}`,
		"sku without any price": `{"code":"200","item":{"title":"x","price":"1-2","sku":[{"sku_id":"1"}]}}`,
		"item_imgs is a string": `{"code":"200","item":{"title":"x","item_imgs":"a.jpg"}}`,
		"num_iid is an object":  `{"code":"200","item":{"title":"x","num_iid":{}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			top, e := decodeReply("item_get", 200, []byte(body))
			if e != nil {
				t.Fatal(e)
			}
			_, pe := parseItemGet(top, "1")
			if pe == nil || pe.Code != sdk.CodeProviderError {
				t.Errorf("want provider_error, got %v", pe)
			}
		})
	}
}

// The seed's own example reply, placeholders and all, is refused cleanly
// (its price is the text 商品价格), while the same shape with real values
// normalizes.
func TestSeedExampleReply(t *testing.T) {
	seed := `{"code":"200","message":"success","item":{"title":"商品标题","pic_url":"商品图片URL","price":"商品价格",
		"sales":"商品销量","detail_url":"商品详情页URL","shop_name":"店铺名称","shop_url":"店铺首页URL",
		"sku":[{"sku_id":"SKU ID","sku_name":"SKU名称","sku_price":"SKU价格"}]}}`
	top, _ := decodeReply("item_get", 200, []byte(seed))
	if _, e := parseItemGet(top, "1234567890"); e == nil || e.Code != sdk.CodeProviderError {
		t.Errorf("placeholder price: want provider_error, got %v", e)
	}
	real := `{"code":"200","message":"success","item":{"title":"Apple/苹果 iPhone 15 Pro","pic_url":"https://x/a.jpg","price":"6999.00",
		"sales":"1523","detail_url":"https://detail.1688.com/offer/1234567890.html","shop_name":"店铺名称","shop_url":"https://s.1688.com",
		"sku":[{"sku_id":"1","sku_name":"黑色 256GB","sku_price":"6999.00"},{"sku_id":"2","sku_name":"白色 512GB","sku_price":"8499.00"}]}}`
	top, _ = decodeReply("item_get", 200, []byte(real))
	it, e := parseItemGet(top, "1234567890")
	if e != nil {
		t.Fatal(e)
	}
	if it.ID != "1234567890" || it.Shop.Name != "店铺名称" || it.SKUs[1].Price.Amount != 849900 || it.PriceMax.Amount != 849900 || it.Sales != 1523 {
		t.Errorf("%+v", it)
	}
}

// FuzzParseReply feeds arbitrary bodies to every reply parser: each answers
// a value or an *sdk.Error, never a panic.
func FuzzParseReply(f *testing.F) {
	for _, name := range []string{"item_get.json", "item_search.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "replies", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 200)
	}
	for _, s := range []string{`{"code":"200","item":{"title":"x","sku":[{"sku_price":"1e400"}]}}`,
		`{"code":"200","items":{"item":[{"title":"t","num_iid":1,"price":"9999999999999999999"}]}}`,
		`{"code":"200","shop":{"shop_id":"b","shop_name":"n"},"shops":{"shop":[{"sid":1,"nick":"n"}]}}`,
		`{"code":"200","items":[{"title":"t","num_iid":"1"}],"item":{"title":"t","skus":[{"price":"-1"}]}}`,
		`{"code":"404"}`, `{"code":"`, `[]`, `"200"`, ``} {
		f.Add([]byte(s), 200)
	}
	f.Add([]byte(`{"code":"500"}`), 503)
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		top, e := decodeReply("fuzz", status, body)
		if e != nil {
			if e.Code == "" || e.Provider != ProviderID {
				t.Fatalf("incomplete error %+v", e)
			}
			return
		}
		req := &sdk.SearchCatalogRequest{Query: "q"}
		checks := []func() error{
			func() error { _, e := parseItemGet(top, "1"); return asErr(e) },
			func() error { _, err := parseProductPage(top, req); return err },
			func() error { _, e := parseSellerInfo(top, "b2b-1"); return asErr(e) },
			func() error { _, err := parseShopPage(top, req); return err },
		}
		for _, check := range checks {
			if err := check(); err != nil {
				var se *sdk.Error
				if !errors.As(err, &se) || se.Code != sdk.CodeProviderError {
					t.Fatalf("want a provider_error, got %T %v", err, err)
				}
			}
		}
	})
}

func asErr(e *sdk.Error) error {
	if e == nil {
		return nil
	}
	return e
}
