package alibaba1688

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
)

// The reply parser is lenient about what the document leaves open (numbers
// sent as strings or as JSON numbers, optional fields, field aliases used by
// other "custom API" gateways) and strict about what would make the answer
// wrong: a field of the wrong JSON type, or an amount that is not a decimal,
// is a provider_error. It never panics (see FuzzParseReply).

// object is a JSON object whose members are kept raw.
type object map[string]json.RawMessage

// asObject decodes raw as a JSON object; null or absent is (nil, nil).
func asObject(raw json.RawMessage) (object, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if t[0] != '{' {
		return nil, fmt.Errorf("want an object, got %s", kindOf(t))
	}
	var o object
	if err := json.Unmarshal(t, &o); err != nil {
		return nil, err
	}
	return o, nil
}

// asArray decodes raw as a JSON array; null or absent is (nil, nil).
func asArray(raw json.RawMessage) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if t[0] != '[' {
		return nil, fmt.Errorf("want an array, got %s", kindOf(t))
	}
	var a []json.RawMessage
	if err := json.Unmarshal(t, &a); err != nil {
		return nil, err
	}
	return a, nil
}

func kindOf(t []byte) string {
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// str returns the first of keys that is present and not empty.
func (o object) str(keys ...string) (string, error) {
	for _, k := range keys {
		s, err := httpkit.Text(o[k])
		if err != nil {
			return "", fmt.Errorf("%s: %w", k, err)
		}
		if s = strings.TrimSpace(s); s != "" {
			return s, nil
		}
	}
	return "", nil
}

// raw returns the first of keys that is present and not null.
func (o object) raw(keys ...string) json.RawMessage {
	for _, k := range keys {
		if v, ok := o[k]; ok && string(bytes.TrimSpace(v)) != "null" {
			return v
		}
	}
	return nil
}

func shapeError(apiName, format string, args ...any) *sdk.Error {
	return &sdk.Error{Code: sdk.CodeProviderError, Provider: ProviderID,
		Message: "1688 " + apiName + ": reply of the wrong shape: " + fmt.Sprintf(format, args...)}
}

// parsePriceText reads a price as the provider writes it: "6999.00", a range
// "12.50-18.00" (also with "~"), "¥6999" or a JSON number. It returns the
// lowest and highest amounts in fen (equal for a single price).
func parsePriceText(s string) (lo, hi int64, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, fmt.Errorf("empty price")
	}
	var parts []string
	for _, sep := range []string{"~", "～", "-", "—", "–"} {
		if i := strings.Index(s, sep); i > 0 {
			parts = []string{s[:i], s[i+len(sep):]}
			break
		}
	}
	if parts == nil {
		parts = []string{s}
	}
	var v [2]int64
	for i, p := range parts {
		f, err := sdk.ParseAmount(p, sdk.UnitYuan)
		if err != nil {
			return 0, 0, fmt.Errorf("price %q is not an amount in yuan", s)
		}
		if f < 0 {
			return 0, 0, fmt.Errorf("price %q is negative", s)
		}
		v[i] = f
	}
	lo, hi = v[0], v[0]
	if len(parts) == 2 {
		lo, hi = min(v[0], v[1]), max(v[0], v[1])
	}
	return lo, hi, nil
}

// parseSales reads a sales figure: 1523, "1523", "2000+", "1.2万", "成交1523件".
// What cannot be read is 0: sales are informative only.
func parseSales(raw json.RawMessage) int64 {
	s, err := httpkit.Text(raw)
	if err != nil {
		return 0
	}
	r := strings.NewReplacer("+", "", ",", "", " ", "", "件", "", "笔", "", "个", "", "台",
		"", "成交", "", "已售", "", "销量", "", "以上", "")
	s = r.Replace(strings.TrimSpace(s))
	if s == "" {
		return 0
	}
	if w, ok := strings.CutSuffix(s, "万"); ok {
		n, err := sdk.ParseAmount(w, 10000)
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n
	}
	if n, err := sdk.ParseAmount(s, 1); err == nil && n >= 0 { // "1523.0", 1.523e3
		return n
	}
	return 0
}

// imageURL makes a protocol-relative image address absolute.
func imageURL(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "//") {
		return "https:" + s
	}
	return s
}

// images reads pic_url and the optional item_imgs list ([{"url": ...}] or
// ["..."]), without duplicates, pic_url first.
func images(o object) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s = imageURL(s); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	pic, err := o.str("pic_url")
	if err != nil {
		return nil, err
	}
	add(pic)
	list, err := asArray(o.raw("item_imgs"))
	if err != nil {
		return nil, fmt.Errorf("item_imgs: %w", err)
	}
	for _, r := range list {
		if u, err := httpkit.Text(r); err == nil {
			add(u)
			continue
		}
		img, err := asObject(r)
		if err != nil {
			return nil, fmt.Errorf("item_imgs: %w", err)
		}
		u, err := img.str("url")
		if err != nil {
			return nil, fmt.Errorf("item_imgs: %w", err)
		}
		add(u)
	}
	return out, nil
}

// shopOf reads the shop fields an item carries.
func shopOf(o object) (*sdk.Shop, error) {
	id, err := o.str("shop_id", "sid", "seller_id")
	if err != nil {
		return nil, err
	}
	name, err := o.str("shop_name", "seller_nick", "nick")
	if err != nil {
		return nil, err
	}
	u, err := o.str("shop_url")
	if err != nil {
		return nil, err
	}
	if id == "" && name == "" && u == "" {
		return nil, nil
	}
	return &sdk.Shop{ID: id, Name: name, URL: u}, nil
}

// product reads the fields a product has in item_get and in search results.
// fallbackID is used when the reply does not repeat num_iid.
func product(apiName string, o object, raw json.RawMessage, fallbackID string) (*sdk.CatalogItem, *sdk.Error) {
	it := &sdk.CatalogItem{Provider: ProviderID, Kind: sdk.KindProduct}
	var err error
	if it.ID, err = o.str("num_iid", "item_id", "offer_id"); err != nil {
		return nil, shapeError(apiName, "%v", err)
	}
	if it.ID == "" {
		it.ID = fallbackID
	}
	if it.ID == "" {
		return nil, shapeError(apiName, "an item has no num_iid")
	}
	if it.Title, err = o.str("title"); err != nil {
		return nil, shapeError(apiName, "%v", err)
	}
	if it.Title == "" {
		return nil, shapeError(apiName, "item %s has no title", it.ID)
	}
	if it.Images, err = images(o); err != nil {
		return nil, shapeError(apiName, "item %s: %v", it.ID, err)
	}
	if it.URL, err = o.str("detail_url"); err != nil {
		return nil, shapeError(apiName, "item %s: %v", it.ID, err)
	}
	if it.URL == "" {
		it.URL = "https://detail.1688.com/offer/" + it.ID + ".html"
	}
	it.URL = imageURL(it.URL)
	it.Sales = parseSales(o["sales"])
	if it.Shop, err = shopOf(o); err != nil {
		return nil, shapeError(apiName, "item %s: %v", it.ID, err)
	}
	price, err := o.str("price", "promotion_price")
	if err != nil {
		return nil, shapeError(apiName, "item %s: %v", it.ID, err)
	}
	if price != "" {
		lo, hi, err := parsePriceText(price)
		if err != nil {
			return nil, shapeError(apiName, "item %s: %v", it.ID, err)
		}
		it.Price = sdk.Fen(lo).Ptr()
		if hi != lo {
			it.PriceMin, it.PriceMax = sdk.Fen(lo).Ptr(), sdk.Fen(hi).Ptr()
		}
	}
	attrs := map[string]string{}
	for key, names := range map[string][]string{
		"location":  {"location", "area"},
		"brand":     {"brand"},
		"category":  {"category", "category_name"},
		"min_order": {"min_num", "min_order"},
		"unit":      {"unit"},
	} {
		if s, err := o.str(names...); err == nil && s != "" {
			attrs[key] = s
		}
	}
	if len(attrs) > 0 {
		it.Attributes = attrs
	}
	it.Raw = compact(raw)
	return it, nil
}

// compact returns raw without insignificant white space, for CatalogItem.Raw.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil
	}
	return b.Bytes()
}

// parseItemGet reads an item_get reply: {"code":"200","item":{...,"sku":[...]}}.
func parseItemGet(top map[string]json.RawMessage, numIID string) (*sdk.CatalogItem, *sdk.Error) {
	const api = "item_get"
	o, err := asObject(top["item"])
	if err != nil {
		return nil, shapeError(api, "item: %v", err)
	}
	if o == nil {
		return nil, shapeError(api, "the reply has no item")
	}
	it, e := product(api, o, top["item"], numIID)
	if e != nil {
		return nil, e
	}
	skus, e := parseSKUs(api, o, it)
	if e != nil {
		return nil, e
	}
	it.SKUs = skus
	if len(skus) > 0 {
		lo, hi := skus[0].Price.Amount, skus[0].Price.Amount
		for _, s := range skus[1:] {
			lo, hi = min(lo, s.Price.Amount), max(hi, s.Price.Amount)
		}
		if it.Price == nil {
			it.Price = sdk.Fen(lo).Ptr()
		}
		if it.PriceMin != nil {
			lo, hi = min(lo, it.PriceMin.Amount), max(hi, it.PriceMax.Amount)
		}
		if lo != hi {
			it.PriceMin, it.PriceMax = sdk.Fen(lo).Ptr(), sdk.Fen(hi).Ptr()
		}
	}
	return it, nil
}

// parseSKUs reads "sku": [...] (or "skus": {"sku": [...]}).
func parseSKUs(api string, o object, it *sdk.CatalogItem) ([]sdk.SKU, *sdk.Error) {
	raw := o.raw("sku")
	if raw == nil {
		if wrap, err := asObject(o.raw("skus")); err == nil && wrap != nil {
			raw = wrap.raw("sku")
		} else if err != nil {
			raw = o.raw("skus") // maybe the list itself
		}
	}
	list, err := asArray(raw)
	if err != nil {
		return nil, shapeError(api, "item %s: sku: %v", it.ID, err)
	}
	out := make([]sdk.SKU, 0, len(list))
	for i, r := range list {
		so, err := asObject(r)
		if err != nil || so == nil {
			return nil, shapeError(api, "item %s: sku %d is not an object", it.ID, i)
		}
		var s sdk.SKU
		if s.ID, err = so.str("sku_id", "skuid", "id"); err != nil {
			return nil, shapeError(api, "item %s: sku %d: %v", it.ID, i, err)
		}
		if s.ID == "" {
			s.ID = fmt.Sprintf("%s:%d", it.ID, i+1)
		}
		if s.Name, err = so.str("sku_name", "properties_name", "name"); err != nil {
			return nil, shapeError(api, "item %s: sku %s: %v", it.ID, s.ID, err)
		}
		p, err := so.str("sku_price", "price")
		if err != nil {
			return nil, shapeError(api, "item %s: sku %s: %v", it.ID, s.ID, err)
		}
		switch {
		case p != "":
			lo, hi, err := parsePriceText(p)
			if err != nil {
				return nil, shapeError(api, "item %s: sku %s: %v", it.ID, s.ID, err)
			}
			if lo != hi {
				return nil, shapeError(api, "item %s: sku %s: a price range %q for one SKU", it.ID, s.ID, p)
			}
			s.Price = sdk.Fen(lo)
		case it.Price != nil && it.PriceMin == nil:
			s.Price = *it.Price // the item's single price applies
		default:
			return nil, shapeError(api, "item %s: sku %s has no sku_price", it.ID, s.ID)
		}
		if q, err := so.str("quantity", "stock", "sku_stock"); err == nil && q != "" {
			if n, err := strconv.ParseInt(q, 10, 64); err == nil && n >= 0 {
				s.Stock = &n
			}
		}
		s.Attributes = skuAttributes(s.Name)
		out = append(out, s)
	}
	return out, nil
}

// searchPage reads the paging block: {"page","page_size","total_results",
// "<list>": [...]}, or the list itself.
func searchPage(api string, block json.RawMessage, listKey string) (list []json.RawMessage, page, size, total int, e *sdk.Error) {
	total = -1
	t := bytes.TrimSpace(block)
	if len(t) > 0 && t[0] == '[' {
		list, err := asArray(block)
		if err != nil {
			return nil, 0, 0, 0, shapeError(api, "%v", err)
		}
		return list, 0, 0, -1, nil
	}
	o, err := asObject(block)
	if err != nil {
		return nil, 0, 0, 0, shapeError(api, "%v", err)
	}
	if o == nil {
		return nil, 0, 0, 0, shapeError(api, "the reply has no result list")
	}
	if list, err = asArray(o.raw(listKey)); err != nil {
		return nil, 0, 0, 0, shapeError(api, "%s: %v", listKey, err)
	}
	num := func(keys ...string) (int, *sdk.Error) {
		s, err := o.str(keys...)
		if err != nil {
			return 0, shapeError(api, "%v", err)
		}
		if s == "" {
			return -1, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, shapeError(api, "%s %q is not a count", keys[0], s)
		}
		return n, nil
	}
	if page, e = num("page"); e != nil {
		return
	}
	if size, e = num("page_size"); e != nil {
		return
	}
	if total, e = num("total_results", "real_total_results"); e != nil {
		return
	}
	return list, page, size, total, nil
}

func pageResponse(items []sdk.CatalogItem, req *sdk.SearchCatalogRequest, page, size, total int) *sdk.SearchCatalogResponse {
	if page <= 0 {
		page = max(req.Page, 1)
	}
	if size <= 0 {
		size = req.PageSize
		if size == 0 {
			size = DefaultPageSize
		}
	}
	if total < 0 {
		total = (page-1)*size + len(items)
	}
	return &sdk.SearchCatalogResponse{Items: items, Total: total, Page: page, PageSize: size}
}

// parseProductPage reads an item_search or item_search_shop reply:
// {"code":"200","items":{"page":1,"page_size":40,"total_results":123,"item":[...]}}.
func parseProductPage(top map[string]json.RawMessage, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	api := "item_search"
	if req.Filters[FilterShopID] != "" || req.Filters[FilterSellerNick] != "" {
		api = "item_search_shop"
	}
	block, ok := top["items"]
	if !ok {
		return nil, shapeError(api, "the reply has no items")
	}
	list, page, size, total, e := searchPage(api, block, "item")
	if e != nil {
		return nil, e
	}
	items := make([]sdk.CatalogItem, 0, len(list))
	for i, r := range list {
		o, err := asObject(r)
		if err != nil || o == nil {
			return nil, shapeError(api, "result %d is not an object", i)
		}
		it, e := product(api, o, r, "")
		if e != nil {
			return nil, e
		}
		items = append(items, *it)
	}
	return pageResponse(items, req, page, size, total), nil
}

// shop reads a shop object of seller_info or shop_search.
func shop(api string, o object, raw json.RawMessage, fallbackID string) (*sdk.CatalogItem, *sdk.Error) {
	it := &sdk.CatalogItem{Provider: ProviderID, Kind: sdk.KindShop}
	var err error
	if it.ID, err = o.str("shop_id", "sid", "id"); err != nil {
		return nil, shapeError(api, "%v", err)
	}
	if it.ID == "" {
		it.ID = fallbackID
	}
	if it.ID == "" {
		return nil, shapeError(api, "a shop has no shop_id")
	}
	nick, err := o.str("seller_nick", "nick")
	if err != nil {
		return nil, shapeError(api, "shop %s: %v", it.ID, err)
	}
	if it.Title, err = o.str("shop_name", "title"); err != nil {
		return nil, shapeError(api, "shop %s: %v", it.ID, err)
	}
	if it.Title == "" {
		it.Title = nick
	}
	if it.Title == "" {
		return nil, shapeError(api, "shop %s has no shop_name", it.ID)
	}
	if it.URL, err = o.str("shop_url"); err != nil {
		return nil, shapeError(api, "shop %s: %v", it.ID, err)
	}
	if it.Images, err = images(o); err != nil {
		return nil, shapeError(api, "shop %s: %v", it.ID, err)
	}
	it.Sales = parseSales(o["sales"])
	it.Shop = &sdk.Shop{ID: it.ID, Name: it.Title, URL: it.URL}
	attrs := map[string]string{}
	if nick != "" {
		attrs["seller_nick"] = nick
	}
	for key, names := range map[string][]string{
		"location":      {"location", "area", "address"},
		"item_count":    {"item_count"},
		"shop_type":     {"shop_type"},
		"created":       {"created"},
		"main_products": {"main_products"},
		"years":         {"years"},
	} {
		if s, err := o.str(names...); err == nil && s != "" {
			attrs[key] = s
		}
	}
	if len(attrs) > 0 {
		it.Attributes = attrs
	}
	it.Raw = compact(raw)
	return it, nil
}

// parseSellerInfo reads a seller_info reply: {"code":"200","shop":{...}}
// ("user" is accepted too).
func parseSellerInfo(top map[string]json.RawMessage, id string) (*sdk.CatalogItem, *sdk.Error) {
	const api = "seller_info"
	raw := top["shop"]
	if raw == nil {
		raw = top["user"]
	}
	o, err := asObject(raw)
	if err != nil {
		return nil, shapeError(api, "shop: %v", err)
	}
	if o == nil {
		return nil, shapeError(api, "the reply has no shop")
	}
	return shop(api, o, raw, id)
}

// parseShopPage reads a shop_search reply:
// {"code":"200","shops":{"page":1,"page_size":40,"total_results":3,"shop":[...]}}.
func parseShopPage(top map[string]json.RawMessage, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	const api = "shop_search"
	block, ok := top["shops"]
	if !ok {
		return nil, shapeError(api, "the reply has no shops")
	}
	list, page, size, total, e := searchPage(api, block, "shop")
	if e != nil {
		return nil, e
	}
	items := make([]sdk.CatalogItem, 0, len(list))
	for i, r := range list {
		o, err := asObject(r)
		if err != nil || o == nil {
			return nil, shapeError(api, "result %d is not an object", i)
		}
		it, e := shop(api, o, r, "")
		if e != nil {
			return nil, e
		}
		items = append(items, *it)
	}
	return pageResponse(items, req, page, size, total), nil
}
