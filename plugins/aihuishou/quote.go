package aihuishou

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// API paths. The enterprise API's come from its document; item_get_inquir's
// from its own; the batch and search paths are this project's decision (README).
const (
	pathValuation   = "/api/valuation/get"
	pathOrderCreate = "/api/order/create"
	pathOrderDetail = "/api/order/getDetail"
	pathTrace       = "/api/logistics/getTrace"
	pathInspection  = "/api/order/getInspectionResult"
	pathSettlement  = "/api/settlement/get"
	pathTradeIn     = "/api/tradeIn/create"
	pathInquiry     = "/api/v2/item_get_inquir"
	pathBatch       = "/api/v2/item_get_inquir_batch"
	pathSearch      = "/api/v2/item_search"
)

// inquiryQuotePrefix marks the quote id of a detail inquiry, which cannot be ordered.
const inquiryQuotePrefix = "inquiry:"

// Quote prices one item. Without req.Detail it asks the enterprise valuation
// (an orderable quote valid 48 hours, QuoteID = valuation_id, with a
// deposit); with req.Detail it asks item_get_inquir (a breakdown, recycle
// channels and inspection points, valid 24 hours, not orderable).
func (a *Adapter) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	if req == nil {
		return nil, sdk.InvalidField("item", "is required")
	}
	if req.Detail {
		p, err := a.inquiryParams(&req.Item)
		if err != nil {
			return nil, err
		}
		form := url.Values{}
		for k, v := range p {
			form.Set(k, v)
		}
		r, err := a.open(ctx, pathInquiry, form)
		if err != nil {
			return nil, err
		}
		q, err := a.parseInquiry(pathInquiry, r.data, &req.Item)
		if err != nil {
			return nil, err
		}
		q.Raw = r.raw
		return &sdk.QuoteResponse{Quote: *q}, nil
	}
	p, err := a.valuationParams(&req.Item)
	if err != nil {
		return nil, err
	}
	r, err := a.enterprise(ctx, pathValuation, p)
	if err != nil {
		return nil, err
	}
	q, err := a.parseValuation(r, &req.Item)
	if err != nil {
		return nil, err
	}
	return &sdk.QuoteResponse{Quote: *q}, nil
}

type valuationData struct {
	ValuationID  jstr            `json:"valuation_id"`
	RecyclePrice json.RawMessage `json:"recycle_price"`
	DepositPrice json.RawMessage `json:"deposit_price"`
	ValidTime    jstr            `json:"valid_time"`
	Remark       jstr            `json:"remark"`
	DeviceInfo   *struct {
		Model   jstr `json:"model"`
		Brand   jstr `json:"brand"`
		Storage jstr `json:"storage"`
	} `json:"device_info"`
}

func (a *Adapter) parseValuation(r *reply, asked *sdk.Item) (*sdk.Quote, error) {
	var d valuationData
	if err := decodeData(pathValuation, r, &d); err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(d.ValuationID)) == "" {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no valuation_id", pathValuation)
	}
	price, err := amount(pathValuation, "recycle_price", d.RecyclePrice, true)
	if err != nil {
		return nil, err
	}
	dep, err := amount(pathValuation, "deposit_price", d.DepositPrice, false)
	if err != nil {
		return nil, err
	}
	now := a.now()
	valid, err := timeField(pathValuation, "valid_time", d.ValidTime, now.Add(ValuationValidity))
	if err != nil {
		return nil, err
	}
	item := *asked
	if di := d.DeviceInfo; di != nil {
		if di.Model != "" {
			item.Model = string(di.Model)
		}
		if di.Brand != "" {
			item.Brand = string(di.Brand)
		}
		if di.Storage != "" {
			item.Storage = string(di.Storage)
		}
	}
	return &sdk.Quote{
		Provider:   ID,
		QuoteID:    string(d.ValuationID),
		Price:      *price,
		ValidUntil: valid,
		Orderable:  true,
		Deposit:    dep,
		Remark:     string(d.Remark),
		Item:       &item,
		Channels:   []string{sdk.ChannelMail, sdk.ChannelStore},
		Raw:        r.raw,
	}, nil
}

type inquiryData struct {
	DeviceID   jstr `json:"device_id"`
	Spec       jstr `json:"spec"`
	DeviceInfo *struct {
		DeviceType     jstr `json:"device_type"`
		Brand          jstr `json:"brand"`
		BrandEN        jstr `json:"brand_en"`
		Model          jstr `json:"model"`
		Storage        jstr `json:"storage"`
		RAM            jstr `json:"ram"`
		Condition      jstr `json:"condition"`
		FunctionStatus jstr `json:"function_status"`
	} `json:"device_info"`
	PriceInfo *struct {
		BasePrice         json.RawMessage `json:"base_price"`
		ConditionDiscount json.RawMessage `json:"condition_discount"`
		FunctionDeduction json.RawMessage `json:"function_deduction"`
		MarketCoefficient json.RawMessage `json:"market_coefficient"`
		FinalPrice        json.RawMessage `json:"final_price"`
	} `json:"price_info"`
	RecycleInfo *struct {
		RecycleType    json.RawMessage `json:"recycle_type"`
		ValidTime      jstr            `json:"valid_time"`
		StoreDistance  json.RawMessage `json:"store_distance"`
		DoorTimeWindow jstr            `json:"door_time_window"`
	} `json:"recycle_info"`
	QualityCheck json.RawMessage `json:"quality_check"`
}

// parseInquiry reads an item_get_inquir reply's data.
func (a *Adapter) parseInquiry(path string, data json.RawMessage, asked *sdk.Item) (*sdk.Quote, error) {
	var d inquiryData
	if err := decodeData(path, &reply{data: data}, &d); err != nil {
		return nil, err
	}
	if d.PriceInfo == nil {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no price_info", path)
	}
	pi := d.PriceInfo
	final, err := amount(path, "price_info.final_price", pi.FinalPrice, true)
	if err != nil {
		return nil, err
	}
	bd := &sdk.Breakdown{FinalPrice: final}
	if bd.BasePrice, err = amount(path, "price_info.base_price", pi.BasePrice, false); err != nil {
		return nil, err
	}
	if bd.FunctionDeduction, err = amount(path, "price_info.function_deduction", pi.FunctionDeduction, false); err != nil {
		return nil, err
	}
	bd.ConditionDiscount, _ = factor(pi.ConditionDiscount)
	bd.MarketCoefficient, _ = factor(pi.MarketCoefficient)
	now := a.now()
	valid := now.Add(InquiryValidity)
	var channels []string
	var remark []string
	if ri := d.RecycleInfo; ri != nil {
		if valid, err = timeField(path, "recycle_info.valid_time", ri.ValidTime, valid); err != nil {
			return nil, err
		}
		channels = recycleChannels(ri.RecycleType)
		if w := strings.TrimSpace(string(ri.DoorTimeWindow)); w != "" {
			remark = append(remark, "上门时间窗 "+w)
		}
		if km := strings.Trim(strings.TrimSpace(string(ri.StoreDistance)), `"`); km != "" && km != "null" {
			remark = append(remark, "最近门店 "+km+" km")
		}
	}
	item := *asked
	if di := d.DeviceInfo; di != nil {
		if di.Model != "" {
			item.Model = string(di.Model)
		}
		if di.BrandEN != "" {
			item.Brand = string(di.BrandEN)
		} else if di.Brand != "" {
			item.Brand = string(di.Brand)
		}
		if di.Storage != "" && item.Category != sdk.CategoryCamera {
			item.Storage = string(di.Storage)
		}
		if di.RAM != "" {
			item.RAM = string(di.RAM)
		}
		if c := conditionOf(string(di.Condition)); c != "" {
			item.Condition = c
		}
		if c := categoryOf(string(di.DeviceType)); c != "" {
			item.Category = c
		}
	}
	id := strings.TrimSpace(string(d.DeviceID))
	if id == "" {
		id = strings.TrimSpace(item.Model + " " + item.Storage)
	}
	return &sdk.Quote{
		Provider:   ID,
		QuoteID:    inquiryQuotePrefix + id + "@" + Timestamp(now),
		Price:      *final,
		ValidUntil: valid,
		Orderable:  false,
		Breakdown:  bd,
		Channels:   channels,
		Remark:     strings.Join(remark, "; "),
		Item:       &item,
		Checks:     stringList(d.QualityCheck),
	}, nil
}

// recycleChannels reads recycle_type ("上门/到店/邮寄", one word, or a list).
func recycleChannels(raw json.RawMessage) []string {
	var words []string
	for _, s := range stringList(raw) {
		words = append(words, strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("/、,，;； |", r) })...)
	}
	var out []string
	add := func(c string) {
		for _, x := range out {
			if x == c {
				return
			}
		}
		out = append(out, c)
	}
	for _, w := range words {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "上门", "上门回收", "door":
			add(sdk.ChannelDoor)
		case "到店", "门店", "到店回收", "store":
			add(sdk.ChannelStore)
		case "邮寄", "快递", "邮寄回收", "mail", "express":
			add(sdk.ChannelMail)
		}
	}
	return out
}

// stringList reads a JSON string, a list of strings, or a list of objects
// with a name (name / item / check / title).
func stringList(raw json.RawMessage) []string {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil
		}
		return strings.FieldsFunc(one, func(r rune) bool { return strings.ContainsRune("、,，;；\n", r) })
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, e := range list {
		var s string
		if json.Unmarshal(e, &s) == nil {
			if s != "" {
				out = append(out, s)
			}
			continue
		}
		var o map[string]json.RawMessage
		if json.Unmarshal(e, &o) == nil {
			for _, k := range []string{"name", "item", "check", "title"} {
				if v := rawText(o[k]); v != "" {
					out = append(out, v)
					break
				}
			}
		}
	}
	return out
}

// QuoteBatch prices many items with the batch inquiry
// (/api/v2/item_get_inquir_batch), 50 devices a call, splitting larger sets.
// Every quote is a detail inquiry (not orderable: Quote one item without
// detail to order it). Items the provider cannot take fail alone, before
// any call.
func (a *Adapter) QuoteBatch(ctx context.Context, req *sdk.QuoteBatchRequest) (*sdk.QuoteBatchResponse, error) {
	if req == nil || len(req.Items) == 0 {
		return nil, sdk.InvalidField("items", "at least one item is required")
	}
	results := make([]sdk.BatchResult, 0, len(req.Items))
	type pending struct {
		index  int
		params map[string]string
	}
	var todo []pending
	for i := range req.Items {
		p, err := a.inquiryParams(&req.Items[i])
		if err != nil {
			results = append(results, sdk.BatchResult{Index: i, Error: sdk.AsError(err)})
			continue
		}
		todo = append(todo, pending{i, p})
	}
	var callErr error
	ok := 0
	for start := 0; start < len(todo); start += MaxBatch {
		chunk := todo[start:min(start+MaxBatch, len(todo))]
		devices := make([]map[string]string, len(chunk))
		for i, p := range chunk {
			devices[i] = p.params
		}
		js, err := json.Marshal(devices)
		if err != nil {
			return nil, sdk.Errorf(sdk.CodeInvalidArgument, "aihuishou: encoding devices: %v", err)
		}
		r, err := a.open(ctx, pathBatch, url.Values{"devices": {string(js)}})
		var got map[int]sdk.BatchResult
		if err == nil {
			got, err = a.parseBatch(r, len(chunk), func(i int) *sdk.Item { return &req.Items[chunk[i].index] })
		}
		if err != nil {
			callErr = err
			for _, p := range chunk {
				results = append(results, sdk.BatchResult{Index: p.index, Error: sdk.AsError(err)})
			}
			continue
		}
		for i, p := range chunk {
			res := got[i]
			res.Index = p.index
			if res.Quote != nil {
				ok++
			}
			results = append(results, res)
		}
	}
	if ok == 0 && callErr != nil {
		return nil, callErr
	}
	return &sdk.QuoteBatchResponse{Results: results}, nil
}

type batchData struct {
	Results []struct {
		Index *int            `json:"index"`
		Code  json.RawMessage `json:"code"`
		Msg   json.RawMessage `json:"msg"`
		Data  json.RawMessage `json:"data"`
	} `json:"results"`
}

// parseBatch reads the per-device results, by position in the call.
func (a *Adapter) parseBatch(r *reply, n int, asked func(int) *sdk.Item) (map[int]sdk.BatchResult, error) {
	var d batchData
	if err := decodeData(pathBatch, r, &d); err != nil {
		return nil, err
	}
	out := make(map[int]sdk.BatchResult, n)
	for pos, res := range d.Results {
		i := pos
		if res.Index != nil {
			i = *res.Index
		}
		if i < 0 || i >= n {
			return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: result index %d out of range", pathBatch, i)
		}
		code := rawText(res.Code)
		if code != "0" {
			if code == "" {
				code = "?"
			}
			out[i] = sdk.BatchResult{Error: codeError(pathBatch, code, rawText(res.Msg))}
			continue
		}
		q, err := a.parseInquiry(pathBatch, res.Data, asked(i))
		if err != nil {
			out[i] = sdk.BatchResult{Error: sdk.AsError(err)}
			continue
		}
		out[i] = sdk.BatchResult{Quote: q}
	}
	for i := 0; i < n; i++ {
		if _, ok := out[i]; !ok {
			out[i] = sdk.BatchResult{Error: sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: no result for device %d", pathBatch, i)}
		}
	}
	return out, nil
}
