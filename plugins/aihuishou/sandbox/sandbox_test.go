package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

var t0 = time.Date(2025, 3, 10, 10, 0, 0, 0, sdk.ChinaTime)

type reply struct {
	status int
	header http.Header
	Code   int             `json:"code"`
	Msg    string          `json:"msg"`
	Data   json.RawMessage `json:"data"`
	body   string
}

func post(t *testing.T, h http.Handler, path, ctype string, body []byte, hdr map[string]string) reply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	r := reply{status: w.Code, header: w.Header(), body: string(b)}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: reply is not JSON: %s", path, b)
	}
	return r
}

// enterprise signs params (plus timestamp at the clock) as the document says.
func enterprise(t *testing.T, s *Sandbox, path string, params map[string]any, secret string) reply {
	t.Helper()
	if _, ok := params["timestamp"]; !ok {
		params["timestamp"] = s.clock.Now().In(cst).Format(timeLayout)
	}
	body, _ := json.Marshal(params)
	plain := map[string]string{}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for k, v := range raw {
		plain[k], _, _ = plainJSON(v)
	}
	return post(t, s, path, "application/json;charset=UTF-8", body, map[string]string{"X-AppId": DemoAppID, "X-Sign": enterpriseSign(plain, secret)})
}

func open(t *testing.T, s *Sandbox, path string, params map[string]string, mutate func(url.Values)) reply {
	t.Helper()
	v := url.Values{"app_id": {DemoAppID}, "version": {"v2"}, "timestamp": {s.clock.Now().In(cst).Format(timeLayout)}}
	for k, x := range params {
		v.Set(k, x)
	}
	v.Set("sign", openSign(v, DemoAppSecret))
	if mutate != nil {
		mutate(v)
	}
	return post(t, s, path, "application/x-www-form-urlencoded", []byte(v.Encode()), nil)
}

func newSandbox(opts Options) (*Sandbox, *sandboxkit.ManualClock) {
	c := sandboxkit.NewManualClock(t0)
	opts.Clock = c
	if opts.QPS == 0 {
		opts.QPS = -1
	}
	return New(opts), c
}

var valuation14Pro = func() map[string]any {
	return map[string]any{"device_model": "iPhone 14 Pro", "brand": "Apple", "condition": "good",
		"functional_status": "normal", "storage": "256GB", "color": "black", "is_original": true}
}

var inquiry14Pro = map[string]string{"device_type": "手机", "brand": "苹果", "model": "iPhone 14 Pro", "storage": "256GB",
	"condition": "九成新", "function_status": "正常", "repair_history": "无"}

func TestLibrary(t *testing.T) {
	if len(lib.models) < 80 {
		t.Fatalf("%d models, want 80+", len(lib.models))
	}
	perType := map[deviceType]int{}
	perBrand := map[string]int{}
	for _, m := range lib.models {
		perType[m.typ]++
		perBrand[m.brand.key]++
		if len(m.tiers) == 0 || m.launchY < 2015 {
			t.Errorf("%s: tiers %v launch %d", m.name, m.tiers, m.launchY)
		}
	}
	for _, typ := range []deviceType{typePhone, typeTablet, typeLaptop, typeCamera, typeWatch} {
		if perType[typ] < 5 {
			t.Errorf("%d models of %s", perType[typ], typ)
		}
	}
	for _, b := range []string{"apple", "huawei", "honor", "xiaomi", "oppo", "vivo", "samsung"} {
		if perBrand[b] < 3 {
			t.Errorf("%d models of %s", perBrand[b], b)
		}
	}
	now := t0
	for _, tc := range []struct{ brand, model, want string }{
		{"Apple", "iPhone 14 Pro", "iPhone 14 Pro"},
		{"苹果", "iphone14pro", "iPhone 14 Pro"},
		{"APPLE", "Apple iPhone 14 Pro", "iPhone 14 Pro"},
		{"小米", "小米14", "Xiaomi 14"},
		{"Xiaomi", "Redmi K70", "Redmi K70"},
		{"华为", "Mate60 Pro", "HUAWEI Mate 60 Pro"},
		{"Samsung", "S23 Ultra", "Samsung Galaxy S23 Ultra"},
		{"索尼", "α7 IV", "A7 IV"},
		{"vivo", "X90 Pro+", "vivo X90 Pro+"},
	} {
		m, err := lib.find(tc.brand, tc.model, now)
		if err != nil || m.name != tc.want {
			t.Errorf("find(%s, %s) = %v, %v; want %s", tc.brand, tc.model, m, err, tc.want)
		}
	}
	for _, tc := range []struct{ brand, model, kind string }{
		{"Apple", "iPhone 15 Pro 高仿", "counterfeit"},
		{"Apple", "replica iPhone", "counterfeit"},
		{"Apple", "Mate 60 Pro", "mismatch"},
		{"Apple", "iPhone 17", "unreleased"},
		{"Apple", "iPhone 4S", "unlisted"},
		{"Nokia", "3310", "unlisted"},
	} {
		_, err := lib.find(tc.brand, tc.model, now)
		if le, ok := err.(*lookupError); !ok || le.kind != tc.kind {
			t.Errorf("find(%s, %s) = %v, want %s", tc.brand, tc.model, err, tc.kind)
		}
	}
}

func TestMarketCoefficientMovesEveryTenMinutes(t *testing.T) {
	m, _ := lib.find("Apple", "iPhone 14 Pro", t0)
	seen := map[int64]bool{}
	for i := 0; i < 200; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		c := marketCoefficient(1, m, at)
		if c < 900 || c > 1100 {
			t.Fatalf("coefficient %d out of 0.9-1.1", c)
		}
		if c != marketCoefficient(1, m, at.Add(9*time.Minute+59*time.Second)) {
			t.Fatal("the coefficient moved within a 10-minute window")
		}
		seen[c] = true
	}
	if len(seen) < 50 {
		t.Errorf("only %d distinct coefficients over 200 windows", len(seen))
	}
	if marketCoefficient(1, m, t0) == marketCoefficient(2, m, t0) && marketCoefficient(1, m, t0.Add(time.Hour)) == marketCoefficient(2, m, t0.Add(time.Hour)) {
		t.Error("the seed does not change the coefficient")
	}
}

func TestDepreciationAppleSlowerThanAndroid(t *testing.T) {
	iphone, _ := lib.find("Apple", "iPhone 15 Pro", t0)
	xiaomi, _ := lib.find("Xiaomi", "Xiaomi 14", t0)
	keep := func(m *model, years int) int64 {
		at := time.Date(m.launchY+years, m.launchM, 15, 0, 0, 0, 0, cst)
		return m.basePrice(m.tiers[0], 0, at) * 1000 / m.tiers[0].price
	}
	if a, x := keep(iphone, 2), keep(xiaomi, 2); a <= x {
		t.Errorf("after two years Apple keeps %d‰, Android %d‰", a, x)
	}
	if k := keep(iphone, 1); k < 650 || k > 750 {
		t.Errorf("an iPhone keeps %d‰ after a year, want about 70%% (12%% drop, then 20%%/year)", k)
	}
}

func TestValuationWire(t *testing.T) {
	s, _ := newSandbox(Options{})
	r := enterprise(t, s, "/api/valuation/get", valuation14Pro(), DemoAppSecret)
	if r.status != 200 || r.Code != 0 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, f := range []string{`"recycle_price":\d+\.\d\d[,}]`, `"deposit_price":\d+\.\d\d[,}]`, `"valid_time":"2025-03-12 10:00:00"`, `"valuation_id":"VAL20250310\d{6}"`} {
		if !regexp.MustCompile(f).MatchString(r.body) {
			t.Errorf("reply lacks %s: %s", f, r.body)
		}
	}
}

func TestEnterpriseAuth(t *testing.T) {
	s, clock := newSandbox(Options{})
	body := []byte(`{"order_no":"ORD1","timestamp":"2025-03-10 10:00:00"}`)
	goodSign := enterpriseSign(map[string]string{"order_no": "ORD1", "timestamp": "2025-03-10 10:00:00"}, DemoAppSecret)
	cases := []struct {
		name   string
		body   []byte
		hdr    map[string]string
		status int
		code   int
	}{
		{"no app id", body, map[string]string{"X-Sign": goodSign}, 401, codeUnknownApp},
		{"unknown app id", body, map[string]string{"X-AppId": "nobody", "X-Sign": goodSign}, 401, codeUnknownApp},
		{"no sign", body, map[string]string{"X-AppId": DemoAppID}, 401, codeBadSign},
		{"sign in lower case", body, map[string]string{"X-AppId": DemoAppID, "X-Sign": strings.ToLower(goodSign)}, 401, codeBadSign},
		{"not json", []byte(`order_no=1`), map[string]string{"X-AppId": DemoAppID, "X-Sign": goodSign}, 400, codeMissingParam},
		{"good", body, map[string]string{"X-AppId": DemoAppID, "X-Sign": goodSign}, 404, codeNotFound},
	}
	for _, tc := range cases {
		r := post(t, s, "/api/order/getDetail", "application/json", tc.body, tc.hdr)
		if r.status != tc.status || r.Code != tc.code {
			t.Errorf("%s: %d/%d %s, want %d/%d", tc.name, r.status, r.Code, r.Msg, tc.status, tc.code)
		}
	}
	for _, ts := range []string{"2025-03-10 10:05:01", "2025-03-10 09:54:59", "2025-03-10T10:00:00"} {
		p := valuation14Pro()
		p["timestamp"] = ts
		r := enterprise(t, s, "/api/valuation/get", p, DemoAppSecret)
		if r.status != 400 || (r.Code != codeTimestampSkew && r.Code != codeTimestampFormat) {
			t.Errorf("timestamp %s: %d %s", ts, r.status, r.body)
		}
	}
	// A UTC timestamp is read as UTC+8: eight hours off.
	p := valuation14Pro()
	p["timestamp"] = clock.Now().UTC().Format(timeLayout)
	if r := enterprise(t, s, "/api/valuation/get", p, DemoAppSecret); r.Code != codeTimestampSkew {
		t.Errorf("a UTC timestamp: %s", r.body)
	}
	if r := post(t, s, "/api/nothing", "application/json", body, nil); r.status != 404 || r.Code != codeNoSuchAPI {
		t.Errorf("unknown path: %s", r.body)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/valuation/get", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
}

func TestInquiryWire(t *testing.T) {
	s, _ := newSandbox(Options{})
	r := open(t, s, "/api/v2/item_get_inquir", inquiry14Pro, nil)
	if r.status != 200 || r.Code != 0 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var d struct {
		PriceInfo    map[string]json.RawMessage `json:"price_info"`
		QualityCheck []string                   `json:"quality_check"`
	}
	_ = json.Unmarshal(r.Data, &d)
	if string(d.PriceInfo["condition_discount"]) != "0.9" || len(d.QualityCheck) < 20 {
		t.Errorf("price_info %s, %d checks", r.Data, len(d.QualityCheck))
	}
	// The document allows a JSON body too.
	v := url.Values{"app_id": {DemoAppID}, "version": {"v2"}, "timestamp": {t0.Format(timeLayout)}}
	for k, x := range inquiry14Pro {
		v.Set(k, x)
	}
	js := map[string]string{"sign": openSign(v, DemoAppSecret)}
	for k := range v {
		js[k] = v.Get(k)
	}
	b, _ := json.Marshal(js)
	if r := post(t, s, "/api/v2/item_get_inquir", "application/json", b, nil); r.Code != 0 {
		t.Errorf("JSON body: %s", r.body)
	}
	with := func(k, x string) map[string]string {
		p := map[string]string{}
		for a, b := range inquiry14Pro {
			p[a] = b
		}
		p[k] = x
		return p
	}
	cases := []struct {
		name   string
		params map[string]string
		mutate func(url.Values)
		status int
		code   int
	}{
		{"sign in upper case", inquiry14Pro, func(v url.Values) { v.Set("sign", strings.ToUpper(v.Get("sign"))) }, 401, codeBadSign},
		{"tampered after signing", inquiry14Pro, func(v url.Values) { v.Set("storage", "1TB") }, 401, codeBadSign},
		{"version v1", with("version", "v1"), nil, 400, codeBadValue},
		{"no model", with("model", ""), nil, 400, codeMissingParam},
		{"car", with("device_type", "汽车"), nil, 400, codeDeviceType},
		{"laptop without ram", map[string]string{"device_type": "笔记本", "brand": "苹果", "model": "MacBook Air 13 M2", "storage": "256GB", "condition": "八成新", "function_status": "正常"}, nil, 400, codeMissingParam},
		{"type disagrees with model", with("device_type", "平板"), nil, 400, codeBadValue},
		{"unknown storage", with("storage", "64GB"), nil, 400, codeBadValue},
		{"bare 异常", with("function_status", "异常"), nil, 400, codeNeedDetail},
		{"scrapped", with("condition", "报废"), nil, 500, codeOutOfRange},
		{"unlisted", with("model", "iPhone 99"), nil, 404, codeModelUnlisted},
		{"counterfeit", with("model", "山寨 iPhone 14 Pro"), nil, 200, codeCounterfeit},
		{"unreleased", with("model", "iPhone 17 Pro"), nil, 200, codeUnreleased},
	}
	for _, tc := range cases {
		r := open(t, s, "/api/v2/item_get_inquir", tc.params, tc.mutate)
		if r.status != tc.status || r.Code != tc.code {
			t.Errorf("%s: %d/%d %s, want %d/%d", tc.name, r.status, r.Code, r.Msg, tc.status, tc.code)
		}
	}
}

func TestRateLimitPerApp(t *testing.T) {
	s, _ := newSandbox(Options{QPS: 5, Accounts: map[string]Account{DemoAppID: {Secret: DemoAppSecret}, "other": {Secret: "o"}}})
	var last reply
	for i := 0; i < 6; i++ {
		last = open(t, s, "/api/v2/item_get_inquir", inquiry14Pro, nil)
	}
	if last.status != 429 || last.Code != codeRateLimited || last.header.Get("Retry-After") == "" {
		t.Fatalf("6th call in a second: %d %v %s", last.status, last.header, last.body)
	}
	// Another enterprise has its own budget.
	v := url.Values{"app_id": {"other"}, "version": {"v2"}, "timestamp": {t0.Format(timeLayout)}}
	for k, x := range inquiry14Pro {
		v.Set(k, x)
	}
	v.Set("sign", openSign(v, "o"))
	if r := post(t, s, "/api/v2/item_get_inquir", "application/x-www-form-urlencoded", []byte(v.Encode()), nil); r.Code != 0 {
		t.Errorf("another app: %s", r.body)
	}
}

func TestAdapterConfigAndMalformed(t *testing.T) {
	s, _ := newSandbox(Options{})
	c := s.AdapterConfig("http://127.0.0.1:1")
	if c["base_url"] != c["open_url"] || c["app_id"] != DemoAppID || c["app_secret"] != DemoAppSecret || c["access"] != "commercial" {
		t.Errorf("%v", c)
	}
	_ = s.Kit().SetFaults(sandboxkit.Faults{MalformedRate: 1})
	r := httptest.NewRecorder()
	s.ServeHTTP(r, httptest.NewRequest(http.MethodPost, "/api/valuation/get", strings.NewReader("{}")))
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Body.Bytes(), &env); err == nil && len(env.Data) > 0 && env.Data[0] == '{' {
		t.Errorf("malformed reply has the documented shape: %s", r.Body)
	}
}
