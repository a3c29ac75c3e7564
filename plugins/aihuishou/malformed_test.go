package aihuishou

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// Valid replies, one per operation, as the documents shape them.
var validReplies = []struct {
	name string
	body string
	call func(a *Adapter) error
}{
	{"valuation", `{"code":0,"msg":"success","data":{"valuation_id":"VAL1","recycle_price":6800.00,"deposit_price":50.00,"valid_time":"2024-08-30 15:30:00","remark":"r","device_info":{"model":"iPhone 15 Pro","brand":"Apple","storage":"256GB"}}}`,
		func(a *Adapter) error {
			_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: iphone})
			return err
		}},
	{"inquiry", `{"code":0,"msg":"success","data":{"device_id":"D1","spec":"256GB","device_info":{"model":"iPhone 14 Pro","brand":"苹果","condition":"九成新","device_type":"手机"},"price_info":{"base_price":5000,"condition_discount":0.9,"function_deduction":0,"market_coefficient":1.02,"final_price":"4590.00"},"recycle_info":{"recycle_type":["上门","邮寄"],"valid_time":"2025-12-31 14:00:00","store_distance":2.5,"door_time_window":"10:00-12:00"},"quality_check":[{"name":"屏幕"},"指纹"]}}`,
		func(a *Adapter) error {
			_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: iphone, Detail: true})
			return err
		}},
	{"batch", `{"code":0,"msg":"success","data":{"results":[{"index":0,"code":0,"data":{"price_info":{"final_price":100}}},{"index":1,"code":40402,"msg":"型号未收录"}]}}`,
		func(a *Adapter) error {
			_, err := a.QuoteBatch(context.Background(), &sdk.QuoteBatchRequest{Items: []sdk.Item{iphone, iphone}})
			return err
		}},
	{"search", `{"code":0,"msg":"success","data":{"total":1,"items":[{"device_id":"D1","model":"iPhone 14","brand":"苹果","brand_en":"Apple","device_type":"手机","launch_date":"2022-09","launch_price":5999,"storages":["128GB"],"rams":[]}]}}`,
		func(a *Adapter) error {
			_, err := a.SearchCatalog(context.Background(), &sdk.SearchCatalogRequest{Query: "iPhone"})
			return err
		}},
	{"order", `{"code":0,"msg":"success","data":{"order_no":"ORD1","valuation_id":"VAL1","status":"inspected","create_time":"2024-08-28 15:35:00","user_name":"张三","user_phone":"138****6789","express_no":"YT1","express_company":"圆通快递","store_info":{"store_name":"s"},"recycle_price":6800,"final_price":"6500.50","settlement_no":"STL1","status_history":[{"status":"pending_send","time":"2024-08-28 15:35:00"}],"inspection_result":{"conclusion":"ok","final_price":6500.5}}}`,
		func(a *Adapter) error {
			_, err := a.GetOrder(context.Background(), &recycle.GetOrderRequest{OrderID: "ORD1"})
			return err
		}},
	{"create", `{"code":0,"msg":"success","data":{"order_no":"ORD1","express_no":"YT1","express_company":"圆通快递","store_info":null,"create_time":"2024-08-28 15:35:00","status":"pending_send"}}`,
		func(a *Adapter) error {
			_, err := a.CreateOrder(context.Background(), &recycle.CreateOrderRequest{QuoteID: "VAL1", Customer: recycle.Customer{Name: "a", Phone: "138****6789", Address: "b"}})
			return err
		}},
	{"trace", `{"code":0,"msg":"success","data":{"logistics_no":"YT1","logistics_company":"圆通快递","status":"in_transit","traces":[{"time":"2024-08-28 18:00:00","location":"上海","desc":"已揽收"}]}}`,
		func(a *Adapter) error {
			_, err := a.TrackOrder(context.Background(), &recycle.TrackOrderRequest{TrackingNo: "YT1"})
			return err
		}},
	{"inspection", `{"code":0,"msg":"success","data":{"order_no":"ORD1","inspect_time":"2024-08-29 10:00:00","conclusion":"ok","condition":"九成新","quoted_price":6800,"final_price":6500,"check_items":[{"name":"屏幕","result":"正常","passed":true}]}}`,
		func(a *Adapter) error {
			_, err := a.GetInspection(context.Background(), &recycle.GetInspectionRequest{OrderID: "ORD1"})
			return err
		}},
	{"settlement", `{"code":0,"msg":"success","data":{"settlement_no":"STL1","order_no":"ORD1","settle_amount":6500,"deposit_price":50,"status":"paid","pay_method":"支付宝","pay_time":"2024-08-29 12:00:00"}}`,
		func(a *Adapter) error {
			_, err := a.GetSettlement(context.Background(), &recycle.GetSettlementRequest{OrderID: "ORD1"})
			return err
		}},
	{"trade-in", `{"code":0,"msg":"success","data":{"trade_in_no":"TI1","recycle_order_no":"ORD1","new_machine_order_no":"N1","subsidy_amount":100,"status":"created","create_time":"2024-08-29 12:00:00"}}`,
		func(a *Adapter) error {
			_, err := a.CreateTradeIn(context.Background(), &recycle.CreateTradeInRequest{RecycleOrderID: "ORD1", NewOrderID: "N1"})
			return err
		}},
}

// weird values replace every leaf of a valid reply in turn.
var weird = []any{nil, "", "x", -1, 1e300, true, []any{}, map[string]any{}, "2024-13-45 99:99:99", "-5.00", "1e999"}

// mutations returns the reply with each leaf replaced by each weird value,
// plus truncations.
func mutations(body string) []string {
	var root any
	if err := json.Unmarshal([]byte(body), &root); err != nil {
		panic(err)
	}
	var out []string
	var walk func(v any, set func(any))
	walk = func(v any, set func(any)) {
		for _, w := range weird {
			set(w)
			b, _ := json.Marshal(root)
			out = append(out, string(b))
			set(v)
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], func(n any) { x[k] = n })
			}
		case []any:
			for i := range x {
				walk(x[i], func(n any) { x[i] = n })
			}
		}
	}
	walk(root, func(n any) { root = n })
	for i := 0; i < len(body); i += 11 {
		out = append(out, body[:i])
	}
	return out
}

// TestMalformedRepliesNeverPanic feeds every operation its reply with each
// field broken in turn: the adapter answers a result or an *sdk.Error with a
// known code, never a panic.
func TestMalformedRepliesNeverPanic(t *testing.T) {
	var body atomic.Value
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		fmt.Fprint(w, body.Load().(string))
	}))
	defer srv.Close()
	a := New()
	configure(t, a, map[string]string{"base_url": srv.URL, "open_url": srv.URL, "app_id": "a", "app_secret": "s"})
	known := map[sdk.Code]bool{}
	for _, c := range sdk.Codes {
		known[c] = true
	}
	n := 0
	for _, r := range validReplies {
		status.Store(200)
		body.Store(r.body)
		if err := r.call(a); err != nil {
			t.Fatalf("%s: the valid reply fails: %v", r.name, err)
		}
		for _, st := range []int64{200, 400, 403, 429, 500} {
			status.Store(st)
			for _, m := range mutations(r.body) {
				if st != 200 && len(m)%3 != 0 {
					continue // fewer cases for error statuses
				}
				body.Store(m)
				n++
				err := func() (err error) {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("%s: panic on %q: %v", r.name, m, p)
						}
					}()
					return r.call(a)
				}()
				if err == nil {
					continue
				}
				var se *sdk.Error
				if !asError(err, &se) || !known[se.Code] {
					t.Fatalf("%s: %q gave %T %v, want an *sdk.Error", r.name, m, err, err)
				}
				if st == 200 && se.Code == sdk.CodeInvalidArgument && se.ProviderCode == "" {
					t.Fatalf("%s: a bad reply blamed the caller: %v", r.name, err)
				}
			}
		}
	}
	t.Logf("%d malformed replies", n)
}

func asError(err error, target **sdk.Error) bool {
	e, ok := err.(*sdk.Error)
	*target = e
	return ok
}

// FuzzDecodeReply: any status and body decode to data or an *sdk.Error.
func FuzzDecodeReply(f *testing.F) {
	for _, r := range validReplies {
		f.Add(200, []byte(r.body))
	}
	f.Add(403, []byte(`{"code":40301,"msg":"今日调用配额已用完"}`))
	f.Add(429, []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := decodeReply("/x", status, http.Header{"Retry-After": {"2"}}, body)
		if err != nil {
			if _, ok := err.(*sdk.Error); !ok {
				t.Fatalf("%T", err)
			}
			return
		}
		a := New()
		_, _ = a.parseInquiry("/x", r.data, &iphone)
		_, _ = a.parseValuation(r, &iphone)
		_, _ = a.parseOrder("/x", r, "o")
		_, _ = a.parseBatch(r, 2, func(int) *sdk.Item { return &iphone })
	})
}
