package alibaba1688

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// ProviderID is the manifest id of this provider.
const ProviderID = "alibaba1688"

// The configuration keys. app_secret is a secret; the others are config.
const (
	KeyBaseURL   = "base_url"
	KeyAppKey    = "app_key"
	KeyAppSecret = "app_secret"
	KeyTimeout   = "timeout"
)

// Defaults and limits.
const (
	// DefaultBaseURL is the provider's production host.
	DefaultBaseURL = "https://open.1688.com"
	// APIPath is the one endpoint every call goes to, under base_url.
	APIPath = "/openapi/portals/1688/1.0/json"
	// DefaultTimeout bounds one call when the configuration does not say.
	DefaultTimeout = 10 * time.Second
	// QPS is the call rate the provider allows one app_key (the sandbox
	// enforces the same figure).
	QPS = 10
	// CatalogCacheTTL is how long a catalog answer may be reused: wholesale
	// listings and prices change a few times a day at most.
	CatalogCacheTTL = 10 * time.Minute
	// MaxPageSize is the largest page_size the provider takes.
	MaxPageSize = 100
	// DefaultPageSize is the provider's page size when none is sent.
	DefaultPageSize = 40
)

// Adapter is the 1688 catalog provider. Create it with New, call Configure
// once, then SearchCatalog and GetCatalogItem from any number of goroutines.
type Adapter struct {
	// HTTPClient sends the calls; nil means http.DefaultClient. Set it
	// before Configure.
	HTTPClient *http.Client
	// Now tells the time stamped on each call; nil means time.Now. Set it
	// before Configure.
	Now func() time.Time

	cfg atomic.Pointer[config]
}

type config struct {
	endpoint  string // base_url + APIPath
	appKey    string
	appSecret string
	timeout   time.Duration
	log       *slog.Logger
}

// New returns an adapter with no configuration: Configure must be called
// before any operation.
func New() *Adapter { return &Adapter{} }

// Manifest describes the provider: its catalog capability, the categories of
// the new devices it sells, its configuration and its limits.
func (a *Adapter) Manifest() sdk.Manifest {
	timeout := DefaultTimeout
	if c := a.cfg.Load(); c != nil {
		timeout = c.timeout
	}
	return sdk.Manifest{
		ID:      ProviderID,
		Name:    "1688 wholesale catalog",
		Version: "0.1.0",
		Status:  sdk.StatusBeta,
		Categories: []sdk.Category{sdk.CategoryPhone, sdk.CategoryTablet, sdk.CategoryLaptop,
			sdk.CategoryEarphones, sdk.CategoryWatch},
		Capabilities: []sdk.Capability{sdk.CapCatalog},
		Config: []sdk.ConfigKey{
			{Name: KeyBaseURL, Type: sdk.TypeURL, Description: "where the 1688 custom API listens; the adapter appends " + APIPath, Default: DefaultBaseURL},
			{Name: KeyAppKey, Description: "the app_key of your 1688 open-platform application", Required: true},
			{Name: KeyTimeout, Type: sdk.TypeDuration, Description: "the longest one call may take, as a Go duration (\"10s\")", Default: DefaultTimeout.String()},
		},
		Secrets: []sdk.ConfigKey{
			{Name: KeyAppSecret, Description: "the app_secret that signs every call (MD5); never sent on the wire", Required: true},
		},
		Limits: sdk.Limits{
			QPS:           QPS,
			QuoteCacheTTL: sdk.Duration(CatalogCacheTTL), // the sdk has no catalog TTL field: this one holds it
			Timeout:       sdk.Duration(timeout),
		},
		Description: "New phones, tablets, laptops, watches, earphones and accessories at wholesale prices " +
			"from 1688 shops (item_get, item_search, item_search_shop, seller_info, shop_search): " +
			"the new-device side of a trade-in and a price reference for recycled stock.",
	}
}

// Configure reads base_url, app_key, app_secret and timeout (from Config or
// Secrets), checks them and returns the manifest in force.
func (a *Adapter) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if req == nil {
		return nil, sdk.InvalidField("config", "is required")
	}
	log := req.LoggerOf()
	known := map[string]bool{KeyBaseURL: true, KeyAppKey: true, KeyAppSecret: true, KeyTimeout: true}
	for _, m := range []map[string]string{req.Config, req.Secrets} {
		for k := range m {
			if !known[k] {
				log.Warn("alibaba1688: ignoring unknown configuration key", "key", k)
			}
		}
	}
	base := strings.TrimSpace(req.Value(KeyBaseURL))
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, configError(KeyBaseURL, "must be an absolute http(s) URL such as %s, got %q", DefaultBaseURL, base)
	}
	endpoint := strings.TrimRight(base, "/")
	if !strings.HasSuffix(endpoint, APIPath) {
		endpoint += APIPath
	}
	c := &config{endpoint: endpoint, log: log, timeout: DefaultTimeout}
	if c.appKey = strings.TrimSpace(req.Value(KeyAppKey)); c.appKey == "" {
		return nil, configError(KeyAppKey, "is required: the app_key of your 1688 application")
	}
	if c.appSecret = req.Value(KeyAppSecret); strings.TrimSpace(c.appSecret) == "" {
		return nil, configError(KeyAppSecret, "is required: the app_secret of your 1688 application (a secret)")
	}
	if t := strings.TrimSpace(req.Value(KeyTimeout)); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, configError(KeyTimeout, "must be a positive duration such as \"10s\", got %q", t)
		}
		c.timeout = d
	}
	a.cfg.Store(c)
	log.Info("alibaba1688: configured", "endpoint", c.endpoint, "app_key", c.appKey, "timeout", c.timeout.String())
	return &sdk.ConfigureResponse{Manifest: a.Manifest()}, nil
}

func configError(key, format string, args ...any) *sdk.Error {
	return &sdk.Error{Code: sdk.CodeInvalidArgument, Field: key, Provider: ProviderID,
		Message: "config " + key + ": " + fmt.Sprintf(format, args...)}
}

func (a *Adapter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// The filters SearchCatalog takes.
const (
	FilterShopID     = "shop_id"     // the shop's id (from a shop result): item_search_shop
	FilterSellerNick = "seller_nick" // the shop's seller nick: item_search_shop
	FilterMinPrice   = "min_price"   // yuan, "5000" or "4999.50": start_price
	FilterMaxPrice   = "max_price"   // yuan: end_price
	FilterSort       = "sort"        // price_asc, price_desc, sales or default
)

// Sort orders SearchCatalog's "sort" filter takes, and the provider's own
// sort values they are sent as (the provider's values are accepted too).
var sortValues = map[string]string{
	"default": "", "": "",
	"price_asc": "bid", "bid": "bid",
	"price_desc": "_bid", "_bid": "_bid",
	"sales": "_sale", "sales_desc": "_sale", "_sale": "_sale",
}

// SearchCatalog searches products (Kind "product" or empty: item_search by
// keyword, or item_search_shop when filtered by shop_id or seller_nick) or
// shops (Kind "shop": shop_search by keyword, or seller_info for a shop_id
// filter). Filters: shop_id, seller_nick, min_price, max_price (yuan), sort
// (price_asc, price_desc, sales, default).
func (a *Adapter) SearchCatalog(ctx context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	if req == nil {
		return nil, sdk.InvalidField("request", "is required")
	}
	if req.Page < 0 {
		return nil, sdk.InvalidField("page", "must be 1 or more, got %d", req.Page)
	}
	if req.PageSize < 0 || req.PageSize > MaxPageSize {
		return nil, sdk.InvalidField("page_size", "must be between 1 and %d, got %d", MaxPageSize, req.PageSize)
	}
	page := req.Page
	if page == 0 {
		page = 1
	}
	params := map[string]string{"page": fmt.Sprint(page)}
	if req.PageSize > 0 {
		params["page_size"] = fmt.Sprint(req.PageSize)
	}
	switch req.Kind {
	case "", sdk.KindProduct:
		return a.searchProducts(ctx, req, params)
	case sdk.KindShop:
		return a.searchShops(ctx, req, params)
	default:
		return nil, sdk.InvalidField("kind", "%s searches kinds %q and %q, not %q", ProviderID, sdk.KindProduct, sdk.KindShop, req.Kind)
	}
}

func (a *Adapter) searchProducts(ctx context.Context, req *sdk.SearchCatalogRequest, params map[string]string) (*sdk.SearchCatalogResponse, error) {
	for k := range req.Filters {
		switch k {
		case FilterShopID, FilterSellerNick, FilterMinPrice, FilterMaxPrice, FilterSort:
		default:
			return nil, sdk.InvalidField("filters."+k, "unknown filter; %s takes %s, %s, %s, %s and %s",
				ProviderID, FilterShopID, FilterSellerNick, FilterMinPrice, FilterMaxPrice, FilterSort)
		}
	}
	shopID, nick := req.Filters[FilterShopID], req.Filters[FilterSellerNick]
	if shopID != "" && nick != "" {
		return nil, sdk.InvalidField("filters."+FilterSellerNick, "give %s or %s, not both", FilterShopID, FilterSellerNick)
	}
	apiName := "item_search"
	switch {
	case strings.TrimSpace(shopID) != "":
		apiName, params["shop_id"] = "item_search_shop", shopID
	case strings.TrimSpace(nick) != "":
		apiName, params["seller_nick"] = "item_search_shop", nick
	case shopID != "":
		return nil, sdk.InvalidField("filters."+FilterShopID, "must not be blank")
	case nick != "":
		return nil, sdk.InvalidField("filters."+FilterSellerNick, "must not be blank")
	case strings.TrimSpace(req.Query) == "":
		return nil, sdk.InvalidField("query", "is required for a product search (a keyword such as \"iPhone 15 Pro\"), unless a shop_id or seller_nick filter is given")
	}
	if strings.TrimSpace(req.Query) != "" {
		params["q"] = req.Query
	}
	var lo, hi int64 = -1, -1
	for _, f := range []struct {
		key, param string
		v          *int64
	}{{FilterMinPrice, "start_price", &lo}, {FilterMaxPrice, "end_price", &hi}} {
		s, ok := req.Filters[f.key]
		if !ok || strings.TrimSpace(s) == "" {
			continue
		}
		fen, err := sdk.ParseAmount(s, sdk.UnitYuan)
		if err != nil || fen < 0 {
			return nil, sdk.InvalidField("filters."+f.key, "must be an amount in yuan such as \"4999.50\", got %q", s)
		}
		*f.v = fen
		params[f.param] = yuanText(fen)
	}
	if lo >= 0 && hi >= 0 && lo > hi {
		return nil, sdk.InvalidField("filters."+FilterMaxPrice, "must not be below %s (%s)", FilterMinPrice, yuanText(lo))
	}
	if s, ok := req.Filters[FilterSort]; ok {
		wire, known := sortValues[strings.ToLower(strings.TrimSpace(s))]
		if !known {
			return nil, sdk.InvalidField("filters."+FilterSort, "must be price_asc, price_desc, sales or default, got %q", s)
		}
		if wire != "" {
			params["sort"] = wire
		}
	}
	top, err := a.call(ctx, apiName, params)
	if err != nil {
		return nil, err
	}
	return parseProductPage(top, req)
}

func (a *Adapter) searchShops(ctx context.Context, req *sdk.SearchCatalogRequest, params map[string]string) (*sdk.SearchCatalogResponse, error) {
	for k := range req.Filters {
		if k != FilterShopID {
			return nil, sdk.InvalidField("filters."+k, "unknown filter for a shop search; %s takes %s", ProviderID, FilterShopID)
		}
	}
	if id := req.Filters[FilterShopID]; strings.TrimSpace(id) != "" {
		got, err := a.getShop(ctx, id)
		if err != nil {
			if sdk.CodeOf(err) == sdk.CodeNotFound {
				return &sdk.SearchCatalogResponse{Items: []sdk.CatalogItem{}, Page: 1, PageSize: 1}, nil
			}
			return nil, err
		}
		return &sdk.SearchCatalogResponse{Items: []sdk.CatalogItem{*got}, Total: 1, Page: 1, PageSize: 1}, nil
	}
	if strings.TrimSpace(req.Query) == "" {
		return nil, sdk.InvalidField("query", "is required for a shop search (a keyword such as \"华强北\"), unless a shop_id filter is given")
	}
	params["q"] = req.Query
	top, err := a.call(ctx, "shop_search", params)
	if err != nil {
		return nil, err
	}
	return parseShopPage(top, req)
}

// GetCatalogItem fetches one product by its offer id (num_iid, item_get) with
// its SKUs, or, with Kind "shop", one shop by its id (seller_info).
func (a *Adapter) GetCatalogItem(ctx context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	if req == nil {
		return nil, sdk.InvalidField("request", "is required")
	}
	if strings.TrimSpace(req.ID) == "" {
		return nil, sdk.InvalidField("id", "is required: a 1688 offer id (num_iid) such as \"610947572360\", or a shop id with kind \"shop\"")
	}
	if len(req.ID) > 256 {
		return nil, sdk.InvalidField("id", "is %d bytes long; a 1688 id is far shorter", len(req.ID))
	}
	switch req.Kind {
	case "", sdk.KindProduct:
		top, err := a.call(ctx, "item_get", map[string]string{"num_iid": req.ID})
		if err != nil {
			return nil, err
		}
		it, perr := parseItemGet(top, req.ID)
		if perr != nil {
			return nil, perr
		}
		return &sdk.GetCatalogItemResponse{Item: *it}, nil
	case sdk.KindShop:
		it, err := a.getShop(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		return &sdk.GetCatalogItemResponse{Item: *it}, nil
	default:
		return nil, sdk.InvalidField("kind", "%s fetches kinds %q and %q, not %q", ProviderID, sdk.KindProduct, sdk.KindShop, req.Kind)
	}
}

func (a *Adapter) getShop(ctx context.Context, id string) (*sdk.CatalogItem, error) {
	top, err := a.call(ctx, "seller_info", map[string]string{"shop_id": id})
	if err != nil {
		return nil, err
	}
	it, perr := parseSellerInfo(top, id)
	if perr != nil {
		return nil, perr
	}
	return it, nil
}

// yuanText writes fen as yuan with two decimals: 499950 is "4999.50".
func yuanText(fen int64) string {
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// Interface guards.
var (
	_ sdk.Provider   = (*Adapter)(nil)
	_ sdk.Configurer = (*Adapter)(nil)
	_ sdk.Cataloger  = (*Adapter)(nil)
)
