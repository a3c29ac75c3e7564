package carvalue

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// Catalog page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// catalogFilters are the filters each kind accepts, and the look-up
// parameter each becomes.
var catalogFilters = map[string]map[string]string{
	sdk.KindCarType: {"brand": "brand", "series": "series", "year": "year"},
	sdk.KindCity:    {"province": "province"},
}

var yearPattern = regexp.MustCompile(`^(19|20)\d{2}$`)

func catalogKind(kind string) (string, error) {
	switch kind {
	case "", sdk.KindCarType:
		return sdk.KindCarType, nil
	case sdk.KindCity:
		return sdk.KindCity, nil
	}
	return "", sdk.InvalidField("kind", "carvalue has kinds %s (the default) and %s, got %q", sdk.KindCarType, sdk.KindCity, kind)
}

func (c *config) lookupPath(kind string) string {
	if kind == sdk.KindCity {
		return c.cityPath
	}
	return c.typePath
}

// SearchCatalog searches car types (kind car_type, the default; filters
// brand, series, year) or cities (kind city; filter province). Query is a
// keyword matched against names. Look-ups are not valuations and are not
// billed as one.
func (a *Adapter) SearchCatalog(ctx context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	cfg, log, err := a.config()
	if err != nil {
		return nil, err
	}
	if req == nil {
		req = &sdk.SearchCatalogRequest{}
	}
	kind, err := catalogKind(req.Kind)
	if err != nil {
		return nil, err
	}
	page, size := req.Page, req.PageSize
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = DefaultPageSize
	}
	if page < 1 {
		return nil, sdk.InvalidField("page", "must be 1 or more, got %d", req.Page)
	}
	if size < 1 || size > MaxPageSize {
		return nil, sdk.InvalidField("page_size", "must be between 1 and %d, got %d", MaxPageSize, req.PageSize)
	}
	params := url.Values{}
	if q := strings.TrimSpace(req.Query); q != "" {
		params.Set("keyword", q)
	}
	allowed := catalogFilters[kind]
	names := make([]string, 0, len(req.Filters))
	for k := range req.Filters {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.TrimSpace(req.Filters[k])
		param, ok := allowed[k]
		if !ok {
			return nil, sdk.InvalidField("filters."+k, "unknown filter for kind %s; use %s", kind, strings.Join(keysOf(allowed), ", "))
		}
		if k == "year" && v != "" && !yearPattern.MatchString(v) {
			return nil, sdk.InvalidField("filters.year", "must be a model year such as 2024, got %q", v)
		}
		if v != "" {
			params.Set(param, v)
		}
	}
	params.Set("page", strconv.Itoa(page))
	params.Set("page_size", strconv.Itoa(size))
	r, err := a.call(ctx, cfg, log, cfg.lookupPath(kind), params)
	if se := sdk.AsError(err); se != nil && se.ProviderCode == "10025" {
		// Some shops answer an empty search with 查无数据: no match, not a failure.
		return &sdk.SearchCatalogResponse{Items: []sdk.CatalogItem{}, Page: page, PageSize: size}, nil
	}
	if err != nil {
		return nil, err
	}
	entries, total, err := lookupEntries(r)
	if err != nil {
		return nil, err
	}
	out := &sdk.SearchCatalogResponse{Items: make([]sdk.CatalogItem, 0, len(entries)), Total: total, Page: page, PageSize: size}
	for _, e := range entries {
		it, err := catalogItem(kind, e)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, it)
	}
	if out.Total < len(out.Items) {
		out.Total = len(out.Items)
	}
	return out, nil
}

// GetCatalogItem fetches one car type (kind car_type, the default) or city
// (kind city) by its id.
func (a *Adapter) GetCatalogItem(ctx context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	cfg, log, err := a.config()
	if err != nil {
		return nil, err
	}
	if req == nil {
		return nil, sdk.InvalidField("id", "is required")
	}
	kind, err := catalogKind(req.Kind)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(req.ID)
	if !idPattern.MatchString(id) {
		return nil, sdk.InvalidField("id", "%q is not a %s id", req.ID, kind)
	}
	params := url.Values{}
	idKey := idParam(kind)
	params.Set(idKey, id)
	r, err := a.call(ctx, cfg, log, cfg.lookupPath(kind), params)
	if err != nil {
		return nil, err
	}
	entries, _, err := lookupEntries(r)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if s, _ := textOf(e[idKey]); strings.TrimSpace(s) == id {
			it, err := catalogItem(kind, e)
			if err != nil {
				return nil, err
			}
			return &sdk.GetCatalogItemResponse{Item: it}, nil
		}
	}
	return nil, sdk.Errorf(sdk.CodeNotFound, "carvalue: no %s with id %s", kind, id)
}

func idParam(kind string) string {
	if kind == sdk.KindCity {
		return "car_city_id"
	}
	return "car_type_id"
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookupEntries reads a look-up reply: retdata is {"total", "page",
// "page_size", "list": [...]}, or the list itself, or a single entry.
func lookupEntries(r *reply) ([]map[string]any, int, error) {
	var list []any
	total := -1
	switch t := r.retdata.(type) {
	case []any:
		list = t
	case map[string]any:
		if l, ok := t["list"]; ok {
			switch lt := l.(type) {
			case []any:
				list = lt
			case map[string]any: // an XML list of one entry not named item
				list = []any{lt}
			case string, nil: // an empty XML list
			default:
				return nil, 0, malformed("retdata.list is not a list")
			}
			if n, ok := intOf(t["total"]); ok {
				total = n
			}
		} else {
			list = []any{t}
		}
	case nil, string:
	default:
		return nil, 0, malformed("retdata is not a list")
	}
	out := make([]map[string]any, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, 0, malformed("retdata entry %d is not an object", i)
		}
		out = append(out, m)
	}
	if total < 0 {
		total = len(out)
	}
	return out, total, nil
}

func str(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := textOf(m[k]); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// catalogItem normalizes a look-up entry.
func catalogItem(kind string, e map[string]any) (sdk.CatalogItem, error) {
	raw, _ := json.Marshal(e)
	it := sdk.CatalogItem{Provider: ProviderID, Kind: kind, Attributes: map[string]string{}, Raw: raw}
	if kind == sdk.KindCity {
		it.ID = str(e, "car_city_id", "id")
		it.Title = str(e, "city_name", "car_areaname", "name")
		if p := str(e, "province"); p != "" {
			it.Attributes["province"] = p
		}
	} else {
		it.ID = str(e, "car_type_id", "id")
		brand, series, year, trim := str(e, "car_brand", "brand"), str(e, "car_series", "series"),
			str(e, "car_year", "year"), str(e, "car_trim", "trim")
		it.Title = str(e, "car_fullname", "name")
		if it.Title == "" {
			var parts []string
			for _, p := range []string{brand, series, yearLabel(year), trim} {
				if p != "" {
					parts = append(parts, p)
				}
			}
			it.Title = strings.Join(parts, " ")
		}
		for k, v := range map[string]string{"brand": brand, "series": series, "year": year, "trim": trim,
			"emission_standard": str(e, "car_EnvirStandard", "emission_standard")} {
			if v != "" {
				it.Attributes[k] = v
			}
		}
		if g, ok := e["car_referprice"]; ok && g != "" && g != nil {
			fen, err := wanAmount(g)
			if err != nil {
				return it, malformed("car_referprice of car type %s: %v", it.ID, err)
			}
			it.Price = sdk.Fen(fen).Ptr()
		}
	}
	if it.ID == "" {
		return it, malformed("a %s entry without an id", kind)
	}
	if len(it.Attributes) == 0 {
		it.Attributes = nil
	}
	return it, nil
}

func yearLabel(y string) string {
	if y == "" {
		return ""
	}
	return y + "款"
}

// Interface guards.
var (
	_ sdk.Provider   = (*Adapter)(nil)
	_ sdk.Configurer = (*Adapter)(nil)
	_ sdk.Quoter     = (*Adapter)(nil)
	_ sdk.Cataloger  = (*Adapter)(nil)
)
