package carvalue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Colors maps the normalized colour names (and the document's Chinese
// names) onto the provider's car_color codes 0-12, as the document lists
// them: 0 米色 beige, 1 白色 white, 2 灰色 grey, 3 红色 red, 4 棕色 brown,
// 5 蓝色 blue, 6 黄色 yellow, 7 紫色 purple, 8 黑色 black, 9 橙色 orange,
// 10 银色 silver, 11 金色 gold, 12 绿色 green.
var Colors = map[string]int{
	"beige": 0, "米色": 0,
	"white": 1, "白色": 1,
	"grey": 2, "gray": 2, "灰色": 2,
	"red": 3, "红色": 3,
	"brown": 4, "棕色": 4,
	"blue": 5, "蓝色": 5,
	"yellow": 6, "黄色": 6,
	"purple": 7, "紫色": 7,
	"black": 8, "黑色": 8,
	"orange": 9, "橙色": 9,
	"silver": 10, "银色": 10,
	"gold": 11, "金色": 11,
	"green": 12, "绿色": 12,
}

const colorNames = "beige, white, grey (gray), red, brown, blue, yellow, purple, black, orange, silver, gold, green, or the provider's code 0-12"

// ColorCode returns the provider's car_color code for a colour name or a
// numeric code "0"-"12".
func ColorCode(color string) (int, bool) {
	c := strings.ToLower(strings.TrimSpace(color))
	if n, ok := Colors[c]; ok {
		return n, true
	}
	if c != "" && len(c) <= 2 && strings.Trim(c, "0123456789") == "" {
		n, _ := strconv.Atoi(c)
		if n <= 12 {
			return n, true
		}
	}
	return 0, false
}

// FormatMiles writes a mileage in kilometres as the provider's car_miles:
// units of 10,000 km, shortest exact decimal (36200 -> "3.62", 2000 ->
// "0.2", 0 -> "0", 150000 -> "15").
func FormatMiles(km int64) string {
	whole, frac := km/10000, km%10000
	s := strconv.FormatInt(whole, 10)
	if frac == 0 {
		return s
	}
	f := strings.TrimRight(fmt.Sprintf("%04d", frac), "0")
	return s + "." + f
}

var idPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// quoteParams validates a car and returns the valuation's business
// parameters (without appid, format, time and sign). Every error is an
// invalid_argument naming the item field, so nothing is sent.
func quoteParams(item *sdk.Item, now time.Time) (url.Values, error) {
	if item.Category != sdk.CategoryCar {
		if item.Category == "" {
			return nil, sdk.InvalidField("item.category", "is required: carvalue values cars only; send category car and item.car")
		}
		return nil, sdk.InvalidField("item.category", "carvalue values cars only, got %q; send category car and item.car", item.Category)
	}
	if err := item.Validate(now); err != nil {
		return nil, err
	}
	c := item.Car
	typeID, cityID := strings.TrimSpace(c.TypeID), strings.TrimSpace(c.CityID)
	if !idPattern.MatchString(typeID) {
		return nil, sdk.InvalidField("item.car.type_id", "%q is not a car type id; find one with a catalog search of kind car_type", c.TypeID)
	}
	if !idPattern.MatchString(cityID) {
		return nil, sdk.InvalidField("item.car.city_id", "%q is not a city id; find one with a catalog search of kind city", c.CityID)
	}
	if strings.TrimSpace(c.Color) == "" {
		return nil, sdk.InvalidField("item.car.color", "is required: one of %s", colorNames)
	}
	color, ok := ColorCode(c.Color)
	if !ok {
		return nil, sdk.InvalidField("item.car.color", "unknown colour %q; one of %s", c.Color, colorNames)
	}
	p := url.Values{}
	p.Set("car_type_id", typeID)
	p.Set("car_city_id", cityID)
	p.Set("car_first_regtime", c.FirstRegistration)
	p.Set("car_miles", FormatMiles(c.MileageKM))
	p.Set("car_transfer", strconv.Itoa(c.Transfers))
	p.Set("car_color", strconv.Itoa(color))
	p.Set("car_accident", strconv.Itoa(*c.Accident))
	p.Set("car_appearance", strconv.Itoa(*c.Appearance))
	p.Set("car_interior", strconv.Itoa(*c.Interior))
	p.Set("car_electrical", strconv.Itoa(*c.Electrical))
	p.Set("car_engine", strconv.Itoa(*c.Engine))
	return p, nil
}

// Quote values a used car. The price is what a dealer pays the seller
// (car_purchase); all four prices are in Tiers. Bad input is refused before
// any (paid) call.
func (a *Adapter) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	cfg, log, err := a.config()
	if err != nil {
		return nil, err
	}
	if req == nil {
		return nil, sdk.InvalidField("item", "is required")
	}
	now := a.now()
	params, err := quoteParams(&req.Item, now)
	if err != nil {
		return nil, err
	}
	r, err := a.call(ctx, cfg, log, cfg.path, params)
	if err != nil {
		return nil, err
	}
	q, err := quoteFromReply(r, &req.Item, params, req.Detail)
	if err != nil {
		log.Warn("billed valuation with an unreadable reply", "error", err)
		return nil, err
	}
	q.ValidUntil = now.Add(cfg.validity)
	return &sdk.QuoteResponse{Quote: *q}, nil
}

// field finds a valuation field in retdata, in retdata.car_calc (an object,
// or an array whose first element is one) or at the top level of the reply.
func (r *reply) field(name string) (any, bool) {
	for _, m := range r.carObjects() {
		if v, ok := m[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (r *reply) carObjects() []map[string]any {
	var out []map[string]any
	obj := func(v any) map[string]any {
		switch t := v.(type) {
		case map[string]any:
			return t
		case []any:
			if len(t) > 0 {
				m, _ := t[0].(map[string]any)
				return m
			}
		}
		return nil
	}
	if rd := obj(r.retdata); rd != nil {
		out = append(out, rd)
		if calc := obj(rd["car_calc"]); calc != nil {
			out = append(out, calc)
		}
	}
	return append(out, r.top)
}

func (r *reply) text(name string) string {
	v, _ := r.field(name)
	s, _ := textOf(v)
	return strings.TrimSpace(s)
}

// quoteFromReply reads the prices of a successful valuation.
func quoteFromReply(r *reply, item *sdk.Item, params url.Values, detail bool) (*sdk.Quote, error) {
	price := func(name string, required bool) (*sdk.Money, error) {
		v, ok := r.field(name)
		if !ok || v == nil || v == "" {
			if required {
				return nil, malformed("codeid 10000 without %s", name)
			}
			return nil, nil
		}
		fen, err := wanAmount(v)
		if err != nil {
			return nil, malformed("%s: %v", name, err)
		}
		m := sdk.Fen(fen)
		return &m, nil
	}
	buy, err := price("car_purchase", true)
	if err != nil {
		return nil, err
	}
	tiers := &sdk.PriceTiers{DealerBuy: buy}
	if tiers.Private, err = price("car_personal", false); err != nil {
		return nil, err
	}
	if tiers.DealerSell, err = price("car_retail", false); err != nil {
		return nil, err
	}
	if tiers.Guide, err = price("car_referprice", false); err != nil {
		return nil, err
	}

	understood := *item
	car := *item.Car
	understood.Car = &car
	if name := r.text("car_fullname"); name != "" {
		understood.Model = name
	}
	q := &sdk.Quote{
		Provider:  ProviderID,
		QuoteID:   providerQuoteID(r),
		Price:     *buy,
		Orderable: false,
		Tiers:     tiers,
		Remark:    remark(r),
		Item:      &understood,
		Raw:       json.RawMessage(r.raw),
	}
	if q.QuoteID == "" {
		q.QuoteID = quoteID(params, r.time)
	}
	if detail {
		q.Breakdown = &sdk.Breakdown{BasePrice: tiers.Guide, FinalPrice: buy}
	}
	return q, nil
}

// providerQuoteID returns an id the provider sent with the valuation, if any
// (the document names none).
func providerQuoteID(r *reply) string {
	for _, k := range []string{"orderid", "order_id", "order_no", "orderno", "serial_no"} {
		if s := r.text(k); s != "" {
			return s
		}
	}
	return ""
}

// quoteID is a stable id of a valuation: a hash of the business parameters
// and the request time, so the same request at the same second has the same
// id.
func quoteID(params url.Values, replyTime string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k == "sign" || k == "time" || k == "format" || k == "callback" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, params.Get(k))
	}
	t := params.Get("time")
	if replyTime != "" {
		t = replyTime
	}
	fmt.Fprintf(h, "time=%s\n", t)
	return "cv-" + hex.EncodeToString(h.Sum(nil))[:24]
}

func remark(r *reply) string {
	var parts []string
	for _, f := range []struct{ key, label string }{
		{"car_fullname", ""}, {"car_areaname", ""}, {"car_EnvirStandard", ""},
		{"car_firstregtime", "上牌 "}, {"car_miles", ""},
	} {
		s := r.text(f.key)
		if s == "" {
			continue
		}
		if f.key == "car_miles" {
			s += "万公里"
		}
		parts = append(parts, f.label+s)
	}
	return strings.Join(parts, " | ")
}
