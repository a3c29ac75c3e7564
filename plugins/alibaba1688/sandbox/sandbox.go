package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// The demo account every sandbox knows unless Options.Accounts replaces it.
// Obviously fake: it opens nothing but a sandbox.
const (
	DemoAppKey    = "rg-sandbox-key"
	DemoAppSecret = "rg-sandbox-secret-not-real"
)

// Wire constants and defaults.
const (
	// APIPath is the one path the sandbox answers, as the provider does.
	APIPath = "/openapi/portals/1688/1.0/json"
	// DefaultQPS is the calls per second one app_key may make.
	DefaultQPS = 10
	// DefaultTimestampWindow is how far a call's timestamp may be from the
	// sandbox clock, either way.
	DefaultTimestampWindow = 10 * time.Minute
	// DefaultPageSize and MaxPageSize bound page_size.
	DefaultPageSize = 40
	MaxPageSize     = 100
)

// The reply codes, as strings in "code". See the package README.
const (
	codeOK           = "200"
	codeBadParameter = "400"
	codeBadAppKey    = "401"
	codeBadSign      = "402"
	codeBadTimestamp = "403"
	codeNotFound     = "404"
	codeUnknownAPI   = "405"
	codeRateLimited  = "429"
)

// Options configure a sandbox. Zero values are the documented defaults.
type Options struct {
	Clock sandboxkit.Clock // nil: the system clock; read for the timestamp window
	Seed  uint64           // makes prices, sales, stock and fault draws deterministic
	// Accounts maps app_key to app_secret. Nil or empty: the demo account
	// (DemoAppKey, DemoAppSecret) only. When given, it replaces the demo
	// account.
	Accounts map[string]string
	// QPS is the calls per second one app_key may make (a token bucket with
	// a burst of QPS, on the wall clock). 0: DefaultQPS; negative: no limit.
	QPS int
	// TimestampWindow is how far the timestamp may stray from Clock either
	// way. 0: DefaultTimestampWindow.
	TimestampWindow time.Duration
}

// Sandbox behaves like the 1688 custom API: signed GET calls to APIPath
// answered from a generated catalogue of new devices and accessories.
type Sandbox struct {
	kit      *sandboxkit.Kit
	clock    sandboxkit.Clock
	accounts map[string]string
	qps      int
	window   time.Duration
	cat      *catalogue
	wall     func() time.Time // for the QPS limit; tests replace it

	mu        sync.Mutex
	buckets   map[string]*bucket
	malformed atomic.Uint64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New builds a sandbox.
func New(opts Options) *Sandbox {
	s := &Sandbox{
		clock:    opts.Clock,
		accounts: map[string]string{DemoAppKey: DemoAppSecret},
		qps:      opts.QPS,
		window:   opts.TimestampWindow,
		cat:      buildCatalogue(opts.Seed),
		wall:     time.Now,
		buckets:  map[string]*bucket{},
	}
	if s.clock == nil {
		s.clock = sandboxkit.SystemClock{}
	}
	if len(opts.Accounts) > 0 {
		s.accounts = make(map[string]string, len(opts.Accounts))
		for k, v := range opts.Accounts {
			s.accounts[k] = v
		}
	}
	if s.qps == 0 {
		s.qps = DefaultQPS
	}
	if s.window <= 0 {
		s.window = DefaultTimestampWindow
	}
	s.kit = sandboxkit.Wrap(http.HandlerFunc(s.handle), s.clock, opts.Seed)
	s.kit.Malformed = s.writeMalformed
	return s
}

// ServeHTTP serves the API behind the kit's faults, counters and /_sandbox/
// admin endpoints.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.kit.ServeHTTP(w, r) }

// Kit returns the fault and statistics kit.
func (s *Sandbox) Kit() *sandboxkit.Kit { return s.kit }

// AdapterConfig returns the adapter keys (config and secrets) that point the
// adapter at this sandbox listening at baseURL, with the demo account (or,
// when Options.Accounts replaced it, the first account by app_key).
func (s *Sandbox) AdapterConfig(baseURL string) map[string]string {
	key := DemoAppKey
	if _, ok := s.accounts[key]; !ok {
		keys := make([]string, 0, len(s.accounts))
		for k := range s.accounts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		key = keys[0]
	}
	return map[string]string{"base_url": baseURL, "app_key": key, "app_secret": s.accounts[key]}
}

// Products returns a copy of the catalogue's listings, in catalogue order.
func (s *Sandbox) Products() []Product {
	out := make([]Product, len(s.cat.products))
	for i, p := range s.cat.products {
		out[i] = p.clone()
	}
	return out
}

// Product returns one listing by its num_iid.
func (s *Sandbox) Product(numIID string) (Product, bool) {
	p, ok := s.cat.byID[numIID]
	if !ok {
		return Product{}, false
	}
	return p.clone(), true
}

// Shops returns a copy of the catalogue's shops.
func (s *Sandbox) Shops() []Shop {
	out := make([]Shop, len(s.cat.shops))
	for i, sh := range s.cat.shops {
		out[i] = *sh
	}
	return out
}

func (p *Product) clone() Product {
	c := *p
	c.Images = append([]string(nil), p.Images...)
	c.SKUs = append([]SKU(nil), p.SKUs...)
	return c
}

// reply is the envelope of every answer.
type reply struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Item    *itemJSON   `json:"item,omitempty"`
	Items   *itemsBlock `json:"items,omitempty"`
	Shop    *shopJSON   `json:"shop,omitempty"`
	Shops   *shopsBlock `json:"shops,omitempty"`
}

type imgJSON struct {
	URL string `json:"url"`
}

type skuJSON struct {
	SkuID    string `json:"sku_id"`
	SkuName  string `json:"sku_name"`
	SkuPrice string `json:"sku_price"`
	Quantity string `json:"quantity"`
}

type itemJSON struct {
	NumIID     string    `json:"num_iid"`
	Title      string    `json:"title"`
	PicURL     string    `json:"pic_url"`
	ItemImgs   []imgJSON `json:"item_imgs"`
	Price      string    `json:"price"`
	Sales      string    `json:"sales"`
	DetailURL  string    `json:"detail_url"`
	ShopID     string    `json:"shop_id"`
	ShopName   string    `json:"shop_name"`
	SellerNick string    `json:"seller_nick"`
	ShopURL    string    `json:"shop_url"`
	Location   string    `json:"location"`
	Brand      string    `json:"brand,omitempty"`
	Category   string    `json:"category"`
	MinNum     string    `json:"min_num"`
	Unit       string    `json:"unit"`
	SKU        []skuJSON `json:"sku"`
}

type searchItemJSON struct {
	NumIID         string `json:"num_iid"`
	Title          string `json:"title"`
	PicURL         string `json:"pic_url"`
	Price          string `json:"price"`
	PromotionPrice string `json:"promotion_price"`
	Sales          string `json:"sales"`
	DetailURL      string `json:"detail_url"`
	ShopID         string `json:"shop_id"`
	ShopName       string `json:"shop_name"`
	SellerNick     string `json:"seller_nick"`
	ShopURL        string `json:"shop_url"`
	Area           string `json:"area"`
}

type itemsBlock struct {
	Q            string           `json:"q,omitempty"`
	Page         int              `json:"page"`
	PageSize     int              `json:"page_size"`
	TotalResults int              `json:"total_results"`
	PageCount    int              `json:"pagecount"`
	Item         []searchItemJSON `json:"item"`
}

type shopJSON struct {
	ShopID       string `json:"shop_id"`
	ShopName     string `json:"shop_name"`
	SellerNick   string `json:"seller_nick"`
	ShopURL      string `json:"shop_url"`
	PicURL       string `json:"pic_url"`
	Location     string `json:"location"`
	ShopType     string `json:"shop_type"`
	Created      string `json:"created"`
	ItemCount    string `json:"item_count"`
	Sales        string `json:"sales"`
	MainProducts string `json:"main_products"`
}

type shopsBlock struct {
	Q            string     `json:"q,omitempty"`
	Page         int        `json:"page"`
	PageSize     int        `json:"page_size"`
	TotalResults int        `json:"total_results"`
	PageCount    int        `json:"pagecount"`
	Shop         []shopJSON `json:"shop"`
}

// yuan writes fen as the provider writes a price: "6999.00".
func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func fail(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusOK, reply{Code: code, Message: msg})
}

func (s *Sandbox) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != APIPath {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, "404 not found: the 1688 custom API is at %s\n", APIPath)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, reply{Code: codeBadParameter, Message: "请求方式错误: use GET " + APIPath})
		return
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fail(w, codeBadParameter, "参数格式错误: malformed query string: "+err.Error())
		return
	}
	params := make(map[string]string, len(values))
	for k, vs := range values {
		if len(vs) > 1 {
			fail(w, codeBadParameter, "参数重复: parameter "+k+" given more than once")
			return
		}
		params[k] = vs[0]
	}
	appKey := params["app_key"]
	secret, ok := s.accounts[appKey]
	if appKey == "" || !ok {
		fail(w, codeBadAppKey, "app_key无效: missing or unknown app_key")
		return
	}
	sign := params["sign"]
	if sign == "" {
		fail(w, codeBadSign, "签名错误: missing sign")
		return
	}
	if want := signOf(params, secret); subtle.ConstantTimeCompare([]byte(sign), []byte(want)) != 1 {
		fail(w, codeBadSign, "签名错误: invalid sign (md5 of the sorted, urllib-quoted parameters and &secret=, upper-case hex)")
		return
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		fail(w, codeBadParameter, "参数错误: timestamp must be unix time in milliseconds")
		return
	}
	if skew := s.clock.Now().Sub(time.UnixMilli(ts)); skew > s.window || skew < -s.window {
		fail(w, codeBadTimestamp, fmt.Sprintf("时间戳过期: timestamp is %s from the server time; the window is ±%s",
			skew.Round(time.Second), s.window))
		return
	}
	for k, want := range map[string]string{"sign_method": "md5", "v": "2.0", "format": "json"} {
		if params[k] != want {
			fail(w, codeBadParameter, fmt.Sprintf("参数错误: %s must be %q", k, want))
			return
		}
	}
	api := params["api_name"]
	handler, known := map[string]func(http.ResponseWriter, map[string]string){
		"item_get":         s.itemGet,
		"item_search":      s.itemSearch,
		"item_search_shop": s.itemSearchShop,
		"seller_info":      s.sellerInfo,
		"shop_search":      s.shopSearch,
	}[api]
	if api == "" {
		fail(w, codeBadParameter, "缺少参数: api_name")
		return
	}
	if !known {
		fail(w, codeUnknownAPI, "接口不存在: unknown api_name "+api)
		return
	}
	if !s.allow(appKey) {
		fail(w, codeRateLimited, fmt.Sprintf("调用频率超限: more than %d calls per second for this app_key", s.qps))
		return
	}
	handler(w, params)
}

// allow takes a token from the app_key's bucket.
func (s *Sandbox) allow(appKey string) bool {
	if s.qps < 0 {
		return true
	}
	now := s.wall()
	rate := float64(s.qps)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[appKey]
	if b == nil {
		b = &bucket{tokens: rate, last: now}
		s.buckets[appKey] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(rate, b.tokens+d.Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (s *Sandbox) itemGet(w http.ResponseWriter, params map[string]string) {
	id := params["num_iid"]
	if id == "" {
		fail(w, codeBadParameter, "缺少参数: num_iid")
		return
	}
	p, ok := s.cat.byID[id]
	if !ok {
		fail(w, codeNotFound, "商品不存在: no item with num_iid "+id)
		return
	}
	sh := s.cat.shopByID[p.ShopID]
	it := &itemJSON{
		NumIID: p.NumIID, Title: p.Title, PicURL: p.Images[0],
		Price: yuan(p.MinFen), Sales: strconv.FormatInt(p.Sales, 10),
		DetailURL: detailURL(p), ShopID: sh.ID, ShopName: sh.Name, SellerNick: sh.Nick,
		ShopURL: sh.URL, Location: sh.Location, Brand: p.Brand, Category: p.Kind,
		MinNum: "1", Unit: p.Unit, SKU: make([]skuJSON, 0, len(p.SKUs)),
	}
	for _, u := range p.Images {
		it.ItemImgs = append(it.ItemImgs, imgJSON{URL: u})
	}
	for _, k := range p.SKUs {
		it.SKU = append(it.SKU, skuJSON{SkuID: k.ID, SkuName: k.Name, SkuPrice: yuan(k.PriceFen),
			Quantity: strconv.FormatInt(k.Stock, 10)})
	}
	writeJSON(w, http.StatusOK, reply{Code: codeOK, Message: "success", Item: it})
}

func detailURL(p *Product) string { return "https://detail.1688.com/offer/" + p.NumIID + ".html" }

// paging reads page and page_size.
func paging(params map[string]string) (page, size int, msg string) {
	page, size = 1, DefaultPageSize
	if v := params["page"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return 0, 0, "参数错误: page must be a whole number from 1"
		}
		page = n
	}
	if v := params["page_size"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return 0, 0, fmt.Sprintf("参数错误: page_size must be from 1 to %d", MaxPageSize)
		}
		size = n
	}
	return page, size, ""
}

func (s *Sandbox) searchSpec(params map[string]string) (*searchSpec, string) {
	page, size, msg := paging(params)
	if msg != "" {
		return nil, msg
	}
	spec := &searchSpec{terms: queryTerms(params["q"]), page: page, pageSize: size}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"start_price", &spec.loFen}, {"end_price", &spec.hiFen}} {
		if v := strings.TrimSpace(params[f.name]); v != "" {
			fen, err := sdk.ParseAmount(v, sdk.UnitYuan)
			if err != nil || fen < 0 {
				return nil, "参数错误: " + f.name + " must be an amount in yuan, such as 4999.50"
			}
			*f.v = fen
		}
	}
	if spec.loFen > 0 && spec.hiFen > 0 && spec.loFen > spec.hiFen {
		return nil, "参数错误: start_price is above end_price"
	}
	switch spec.sort = params["sort"]; spec.sort {
	case "", "default", "bid", "_bid", "sale", "_sale":
	default:
		return nil, "参数错误: sort must be bid, _bid, sale or _sale"
	}
	return spec, ""
}

func (s *Sandbox) itemSearch(w http.ResponseWriter, params map[string]string) {
	if strings.TrimSpace(params["q"]) == "" {
		fail(w, codeBadParameter, "缺少参数: q")
		return
	}
	spec, msg := s.searchSpec(params)
	if msg != "" {
		fail(w, codeBadParameter, msg)
		return
	}
	s.writeProducts(w, params["q"], spec)
}

// shopOf finds the shop a call names by shop_id (or sid) or seller_nick (or
// nick); the nick may also be the shop's name.
func (s *Sandbox) shopOf(w http.ResponseWriter, params map[string]string) (*Shop, bool) {
	id := firstOf(params, "shop_id", "sid")
	nick := firstOf(params, "seller_nick", "nick")
	var sh *Shop
	switch {
	case id != "":
		sh = s.cat.shopByID[id]
	case nick != "":
		sh = s.cat.byNick[strings.ToLower(nick)]
		if sh == nil {
			sh = s.cat.byNick[nick]
		}
	default:
		fail(w, codeBadParameter, "缺少参数: shop_id or seller_nick")
		return nil, false
	}
	if sh == nil {
		fail(w, codeNotFound, "店铺不存在: no such shop")
		return nil, false
	}
	return sh, true
}

func firstOf(params map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(params[k]); v != "" {
			return v
		}
	}
	return ""
}

func (s *Sandbox) itemSearchShop(w http.ResponseWriter, params map[string]string) {
	sh, ok := s.shopOf(w, params)
	if !ok {
		return
	}
	spec, msg := s.searchSpec(params)
	if msg != "" {
		fail(w, codeBadParameter, msg)
		return
	}
	spec.shopID = sh.ID
	s.writeProducts(w, params["q"], spec)
}

func (s *Sandbox) writeProducts(w http.ResponseWriter, q string, spec *searchSpec) {
	hits, total := s.cat.search(spec)
	block := &itemsBlock{Q: q, Page: spec.page, PageSize: spec.pageSize, TotalResults: total,
		PageCount: (total + spec.pageSize - 1) / spec.pageSize, Item: make([]searchItemJSON, 0, len(hits))}
	for _, p := range hits {
		sh := s.cat.shopByID[p.ShopID]
		price := yuan(p.MinFen)
		if p.MaxFen != p.MinFen {
			price += "-" + yuan(p.MaxFen)
		}
		block.Item = append(block.Item, searchItemJSON{
			NumIID: p.NumIID, Title: p.Title, PicURL: p.Images[0], Price: price,
			PromotionPrice: yuan(p.MinFen), Sales: strconv.FormatInt(p.Sales, 10),
			DetailURL: detailURL(p), ShopID: sh.ID, ShopName: sh.Name, SellerNick: sh.Nick,
			ShopURL: sh.URL, Area: sh.Location,
		})
	}
	writeJSON(w, http.StatusOK, reply{Code: codeOK, Message: "success", Items: block})
}

func shopReply(sh *Shop) shopJSON {
	return shopJSON{ShopID: sh.ID, ShopName: sh.Name, SellerNick: sh.Nick, ShopURL: sh.URL,
		PicURL: sh.Logo, Location: sh.Location, ShopType: sh.Type, Created: sh.Since,
		ItemCount: strconv.Itoa(sh.ItemCount), Sales: strconv.FormatInt(sh.Sales, 10), MainProducts: sh.main}
}

func (s *Sandbox) sellerInfo(w http.ResponseWriter, params map[string]string) {
	sh, ok := s.shopOf(w, params)
	if !ok {
		return
	}
	j := shopReply(sh)
	writeJSON(w, http.StatusOK, reply{Code: codeOK, Message: "success", Shop: &j})
}

func (s *Sandbox) shopSearch(w http.ResponseWriter, params map[string]string) {
	if strings.TrimSpace(params["q"]) == "" {
		fail(w, codeBadParameter, "缺少参数: q")
		return
	}
	page, size, msg := paging(params)
	if msg != "" {
		fail(w, codeBadParameter, msg)
		return
	}
	hits, total := s.cat.searchShops(queryTerms(params["q"]), page, size)
	block := &shopsBlock{Q: params["q"], Page: page, PageSize: size, TotalResults: total,
		PageCount: (total + size - 1) / size, Shop: make([]shopJSON, 0, len(hits))}
	for _, sh := range hits {
		block.Shop = append(block.Shop, shopReply(sh))
	}
	writeJSON(w, http.StatusOK, reply{Code: codeOK, Message: "success", Shops: block})
}

// malformedBodies are the replies of the wrong shape the kit's malformed
// fault sends, in turn.
var malformedBodies = []struct{ contentType, body string }{
	{"application/json;charset=UTF-8", `{"code":"200","message":"success","item":{"title":"Apple/苹果 iPhone 15 Pro","price":"6999.00","sku":[{"sku_id":"1","sku_price":`},
	{"application/json;charset=UTF-8", `{"code":"200","message":"success","item":[1,2,3],"items":"none","shop":true}`},
	{"application/json;charset=UTF-8", `{"code":"200","message":"success","item":{"title":"Apple/苹果 iPhone 15","price":"六千九百九十九元","sku":{"sku_id":7}},"items":{"item":{"num_iid":[]}},"shop":{"shop_id":{}},"shops":{"shop":7}}`},
	{"text/html;charset=UTF-8", `<html><head><title>502 Bad Gateway</title></head><body>Tengine</body></html>`},
}

func (s *Sandbox) writeMalformed(w http.ResponseWriter, _ *http.Request) {
	m := malformedBodies[(s.malformed.Add(1)-1)%uint64(len(malformedBodies))]
	w.Header().Set("Content-Type", m.contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(m.body))
}
