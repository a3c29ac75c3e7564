package aihuishou

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// Catalog filters SearchCatalog takes.
const (
	FilterBrand    = "brand"    // Apple, 苹果, Huawei ...
	FilterCategory = "category" // phone, tablet, laptop, camera, watch
)

// SearchCatalog finds device models and the specs they are sold in
// (item_search). Kind is "model" (or empty).
func (a *Adapter) SearchCatalog(ctx context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	if req == nil {
		return nil, sdk.InvalidField("query", "is required")
	}
	if req.Kind != "" && req.Kind != sdk.KindModel {
		return nil, sdk.InvalidField("kind", "Aihuishou's catalog holds device models: send kind %q or nothing, not %q", sdk.KindModel, req.Kind)
	}
	form := url.Values{}
	for k, v := range req.Filters {
		switch k {
		case FilterBrand:
			_, zh := brandNames(v)
			form.Set("brand", zh)
		case FilterCategory:
			t, ok := deviceTypes[sdk.Category(v)]
			if !ok {
				return nil, sdk.InvalidField("filters.category", "Aihuishou lists phone, tablet, laptop, camera and watch, not %q", v)
			}
			form.Set("device_type", t)
		default:
			return nil, sdk.InvalidField("filters."+k, "unknown filter; Aihuishou's search takes %s and %s", FilterBrand, FilterCategory)
		}
	}
	q := strings.TrimSpace(req.Query)
	if q == "" && len(form) == 0 {
		return nil, sdk.InvalidField("query", "is required: a model name such as \"iPhone 14\" (or a brand or category filter)")
	}
	page, size := req.Page, req.PageSize
	if page < 0 || size < 0 {
		return nil, sdk.InvalidField("page", "page and page_size must not be negative")
	}
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = 20
	}
	if size > 50 {
		return nil, sdk.InvalidField("page_size", "Aihuishou returns at most 50 models a page, got %d", size)
	}
	form.Set("keyword", q)
	form.Set("page", strconv.Itoa(page))
	form.Set("page_size", strconv.Itoa(size))
	items, total, err := a.search(ctx, form)
	if err != nil {
		return nil, err
	}
	return &sdk.SearchCatalogResponse{Items: items, Total: total, Page: page, PageSize: size}, nil
}

// GetCatalogItem fetches one model by its device_id (item_search by device_id).
func (a *Adapter) GetCatalogItem(ctx context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	if req == nil || strings.TrimSpace(req.ID) == "" {
		return nil, sdk.InvalidField("id", "is required: a device_id from SearchCatalog")
	}
	if req.Kind != "" && req.Kind != sdk.KindModel {
		return nil, sdk.InvalidField("kind", "Aihuishou's catalog holds device models, not %q", req.Kind)
	}
	items, _, err := a.search(ctx, url.Values{"device_id": {strings.TrimSpace(req.ID)}})
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.ID == strings.TrimSpace(req.ID) {
			return &sdk.GetCatalogItemResponse{Item: it}, nil
		}
	}
	return nil, &sdk.Error{Code: sdk.CodeNotFound, Message: "aihuishou: no model with device_id " + req.ID}
}

type searchData struct {
	Total jstr              `json:"total"`
	Items []json.RawMessage `json:"items"`
}

type searchItem struct {
	DeviceID    jstr            `json:"device_id"`
	DeviceType  jstr            `json:"device_type"`
	Brand       jstr            `json:"brand"`
	BrandEN     jstr            `json:"brand_en"`
	Model       jstr            `json:"model"`
	LaunchDate  jstr            `json:"launch_date"`
	LaunchPrice json.RawMessage `json:"launch_price"`
	Storages    []jstr          `json:"storages"`
	RAMs        []jstr          `json:"rams"`
}

func (a *Adapter) search(ctx context.Context, form url.Values) ([]sdk.CatalogItem, int, error) {
	r, err := a.open(ctx, pathSearch, form)
	if err != nil {
		return nil, 0, err
	}
	var d searchData
	if err := decodeData(pathSearch, r, &d); err != nil {
		return nil, 0, err
	}
	items := make([]sdk.CatalogItem, 0, len(d.Items))
	for _, raw := range d.Items {
		var x searchItem
		if err := decodeData(pathSearch, &reply{data: raw}, &x); err != nil {
			return nil, 0, err
		}
		if x.DeviceID == "" || x.Model == "" {
			return nil, 0, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: a result has no device_id or model", pathSearch)
		}
		attrs := map[string]string{}
		set := func(k string, v jstr) {
			if v != "" {
				attrs[k] = string(v)
			}
		}
		brand := x.BrandEN
		if brand == "" {
			brand = x.Brand
		}
		set("brand", brand)
		set("brand_zh", x.Brand)
		set("device_type", x.DeviceType)
		if c := categoryOf(string(x.DeviceType)); c != "" {
			attrs["category"] = string(c)
		}
		set("launch_date", x.LaunchDate)
		if len(x.LaunchDate) >= 4 {
			attrs["year"] = string(x.LaunchDate[:4])
		}
		if p, err := amount(pathSearch, "launch_price", x.LaunchPrice, false); err == nil && p != nil {
			attrs["launch_price"] = p.String()
		}
		attrs["storages"] = joinJstr(x.Storages)
		if len(x.RAMs) > 0 {
			attrs["rams"] = joinJstr(x.RAMs)
		}
		items = append(items, sdk.CatalogItem{Provider: ID, ID: string(x.DeviceID), Kind: sdk.KindModel,
			Title: strings.TrimSpace(string(brand) + " " + string(x.Model)), Attributes: attrs, Raw: raw})
	}
	total, err := strconv.Atoi(string(d.Total))
	if err != nil {
		total = len(items)
	}
	return items, total, nil
}

func joinJstr(l []jstr) string {
	s := make([]string, len(l))
	for i, x := range l {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}
