package sandbox

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// valuation is an enterprise quote; an order is created from it.
type valuation struct {
	id         string
	app        string
	model      *model
	storage    string
	grade      string // the open platform's grade the valuation's condition stands for
	functional bool   // functional_status normal
	price      int64  // fen
	deposit    int64  // fen
	created    time.Time
	validUntil time.Time
}

// Valuation conditions of the enterprise API, with their discounts and the
// grade an inspection expects for them.
var valuationConditions = map[string]struct {
	discount int64
	grade    string
	remark   string
}{
	"good":   {900, "九成新", "屏幕无划痕、无拆修可维持此价格"},
	"normal": {800, "八成新", "轻微划痕、无磕碰,以检测结果为准"},
	"poor":   {600, "六成新", "明显磕碰或划痕,以检测结果为准"},
}

var valuationConditionWords = map[string]string{"good": "good", "良好": "good",
	"normal": "normal", "一般": "normal", "poor": "poor", "较差": "poor"}

func required(p map[string]string, names ...string) *apiError {
	for _, n := range names {
		if strings.TrimSpace(p[n]) == "" {
			return fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: %s", n)
		}
	}
	return nil
}

// lookup resolves brand + model and applies the enterprise's brand scope.
func (s *Sandbox) lookup(c *call, brandName, modelName string) (*model, *apiError) {
	m, err := lib.find(brandName, modelName, c.now)
	if err != nil {
		le := err.(*lookupError)
		switch le.kind {
		case "unreleased":
			return nil, fail(http.StatusOK, codeUnreleased, "%s", le.msg)
		case "counterfeit", "mismatch":
			return nil, fail(http.StatusOK, codeCounterfeit, "%s", le.msg)
		}
		return nil, fail(http.StatusNotFound, codeModelUnlisted, "%s", le.msg)
	}
	if len(c.acct.Brands) > 0 {
		ok := false
		for _, b := range c.acct.Brands {
			if lib.findBrand(b) == m.brand {
				ok = true
			}
		}
		if !ok {
			return nil, fail(http.StatusForbidden, codePermission, "无权限: %s 不在贵企业的合作范围内", m.brand.chinese)
		}
	}
	return m, nil
}

func (s *Sandbox) storageOf(m *model, storage, ram string) (tier, int, *apiError) {
	t, ok := m.tier(storage)
	if !ok {
		return tier{}, 0, fail(http.StatusBadRequest, codeBadValue, "%s 无此存储规格 %q,可选: %s", m.name, storage, m.tierLabels())
	}
	ri, ok := m.ramIndex(ram)
	if !ok {
		if len(m.rams) == 0 {
			ri = 0 // phones: the RAM is informative only
		} else {
			return tier{}, 0, fail(http.StatusBadRequest, codeBadValue, "%s 无此内存规格 %q,可选: %s", m.name, ram, strings.Join(m.rams, "/"))
		}
	}
	return t, ri, nil
}

// valuationGet: /api/valuation/get.
func (s *Sandbox) valuationGet(c *call) (any, *apiError) {
	p := c.params
	if e := required(p, "device_model", "brand", "condition", "functional_status", "storage"); e != nil {
		return nil, e
	}
	m, e := s.lookup(c, p["brand"], p["device_model"])
	if e != nil {
		return nil, e
	}
	cond, ok := valuationConditionWords[strings.ToLower(strings.TrimSpace(p["condition"]))]
	if !ok {
		return nil, fail(http.StatusBadRequest, codeBadValue, "condition 取值错误 %q,可选: good(良好)/normal(一般)/poor(较差)", p["condition"])
	}
	var deduct int64
	switch strings.ToLower(strings.TrimSpace(p["functional_status"])) {
	case "normal", "正常":
	case "abnormal", "异常":
		deduct += abnormalDeduction
	default:
		return nil, fail(http.StatusBadRequest, codeBadValue, "functional_status 取值错误 %q,可选: normal/abnormal", p["functional_status"])
	}
	switch strings.ToLower(p["is_original"]) {
	case "", "true", "1":
	case "false", "0":
		deduct += repairDeduction
	default:
		return nil, fail(http.StatusBadRequest, codeBadValue, "is_original 取值错误 %q,应为 true/false", p["is_original"])
	}
	t, ri, e := s.storageOf(m, p["storage"], p["ram"])
	if e != nil {
		return nil, e
	}
	vc := valuationConditions[cond]
	pr := price(m.basePrice(t, ri, c.now), vc.discount, deduct, marketCoefficient(s.seed, m, c.now))
	s.mu.Lock()
	v := &valuation{id: fmt.Sprintf("VAL%s%06d", c.now.In(cst).Format("20060102"), s.nextSeq()),
		app: c.app, model: m, storage: t.label, grade: vc.grade, functional: deduct < abnormalDeduction,
		price: pr.final, deposit: deposit(pr.final), created: c.now, validUntil: c.now.Add(48 * time.Hour)}
	s.valuations[v.id] = v
	s.mu.Unlock()
	remark := vc.remark
	if !v.functional {
		remark = "功能异常,以检测结果为准"
	}
	return map[string]any{
		"valuation_id":  v.id,
		"recycle_price": yuan(v.price),
		"deposit_price": yuan(v.deposit),
		"valid_time":    stamp(v.validUntil),
		"remark":        remark,
		"device_info": map[string]any{
			"model":       m.name,
			"brand":       m.brand.english,
			"storage":     t.label,
			"device_id":   m.id,
			"device_type": string(m.typ),
		},
	}, nil
}

// inquiryDevice is one device of an inquiry, as the open platform names its fields.
type inquiryDevice struct {
	DeviceType      string `json:"device_type"`
	Brand           string `json:"brand"`
	Model           string `json:"model"`
	Storage         string `json:"storage"`
	RAM             string `json:"ram"`
	Condition       string `json:"condition"`
	FunctionStatus  string `json:"function_status"`
	RepairHistory   string `json:"repair_history"`
	PurchaseChannel string `json:"purchase_channel"`
}

func (d inquiryDevice) params() map[string]string {
	return map[string]string{"device_type": d.DeviceType, "brand": d.Brand, "model": d.Model,
		"storage": d.Storage, "ram": d.RAM, "condition": d.Condition, "function_status": d.FunctionStatus,
		"repair_history": d.RepairHistory, "purchase_channel": d.PurchaseChannel}
}

// inquiry: /api/v2/item_get_inquir.
func (s *Sandbox) inquiry(c *call) (any, *apiError) { return s.inquire(c, c.params) }

func (s *Sandbox) inquire(c *call, p map[string]string) (any, *apiError) {
	if e := required(p, "device_type", "brand", "model", "storage", "condition", "function_status"); e != nil {
		return nil, e
	}
	dt, ok := deviceTypeWords[strings.ToLower(strings.TrimSpace(p["device_type"]))]
	if !ok {
		return nil, fail(http.StatusBadRequest, codeDeviceType, "不支持的设备类型 %q,支持: 手机/平板/笔记本/相机/手表", p["device_type"])
	}
	if dt == typeLaptop && strings.TrimSpace(p["ram"]) == "" {
		return nil, fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: ram(电脑必填)")
	}
	m, e := s.lookup(c, p["brand"], p["model"])
	if e != nil {
		return nil, e
	}
	if m.typ != dt {
		return nil, fail(http.StatusBadRequest, codeBadValue, "设备类型与型号不符: %s 属于 %s", m.name, m.typ)
	}
	for _, w := range scrapWords {
		if strings.Contains(strings.ToLower(p["condition"]), w) {
			return nil, fail(http.StatusInternalServerError, codeOutOfRange, "参数值超出范围: 成色不能为 %s(报废设备不回收)", p["condition"])
		}
	}
	g, ok := findGrade(p["condition"])
	if !ok {
		return nil, fail(http.StatusBadRequest, codeBadValue, "condition 取值错误 %q,可选: %s", p["condition"], gradeNames())
	}
	fs, err := parseFunction(p["function_status"])
	if err != nil {
		return nil, fail(http.StatusBadRequest, codeNeedDetail, "%s", err.Error())
	}
	t, ri, e := s.storageOf(m, p["storage"], p["ram"])
	if e != nil {
		return nil, e
	}
	var deduct int64
	items := []map[string]any{}
	base := m.basePrice(t, ri, c.now)
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		deduct += f.deduction
		names = append(names, f.name)
		items = append(items, map[string]any{"item": f.name, "amount": yuan(base * f.deduction / 1000)})
	}
	if repaired(p["repair_history"]) {
		deduct += repairDeduction
		items = append(items, map[string]any{"item": "维修史:" + p["repair_history"], "amount": yuan(base * repairDeduction / 1000)})
	}
	coef := marketCoefficient(s.seed, m, c.now)
	pr := price(base, g.discount, deduct, coef)
	dist := s.storeDistance(c.app, m)
	var types []string
	if dist <= 30 {
		types = append(types, "到店") // 3 km or closer: the store first
	}
	if pr.final >= 100_000 {
		types = append(types, "上门")
	}
	if dist > 30 && dist <= 50 {
		types = append(types, "到店")
	}
	types = append(types, "邮寄")
	fn := "正常"
	if len(names) > 0 {
		fn = strings.Join(names, "、")
	}
	spec := t.label
	ram := ""
	if len(m.rams) > 0 {
		ram = m.rams[ri]
	} else if p["ram"] != "" {
		ram = normStorage(p["ram"])
	}
	if ram != "" {
		spec += " " + ram
	}
	window := c.now.Unix() / 600 * 600
	return map[string]any{
		"device_id": m.id,
		"spec":      spec,
		"device_info": map[string]any{
			"device_type":     string(m.typ),
			"brand":           m.brand.chinese,
			"brand_en":        m.brand.english,
			"model":           m.name,
			"storage":         t.label,
			"ram":             ram,
			"condition":       g.name,
			"condition_score": json.Number(strconv.FormatFloat(float64(g.discount)/100, 'f', 1, 64)),
			"function_status": fn,
			"launch_date":     fmt.Sprintf("%d-%02d", m.launchY, m.launchM),
		},
		"price_info": map[string]any{
			"base_price":         yuan(pr.base),
			"condition_discount": permille(pr.discount),
			"function_deduction": yuan(pr.deduction),
			"market_coefficient": permille(pr.coef),
			"final_price":        yuan(pr.final),
			"deduction_items":    items,
			"price_update_time":  stamp(time.Unix(window, 0)),
		},
		"recycle_info": map[string]any{
			"recycle_type":     strings.Join(types, "/"),
			"valid_time":       stamp(c.now.Add(24 * time.Hour)),
			"store_distance":   json.Number(fmt.Sprintf("%d.%d", dist/10, dist%10)),
			"door_time_window": doorWindow(c.now),
		},
		"quality_check": qualityChecks(m.typ),
	}, nil
}

// storeDistance is the distance to the nearest store in tenths of a km,
// fixed per app and model (the sandbox has no real location).
func (s *Sandbox) storeDistance(app string, m *model) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s", s.seed, app, m.id)
	return 5 + int64(mix(h.Sum64())%116) // 0.5 - 12.0 km
}

// doorWindow is the next two-hour collection slot between 09:00 and 21:00.
func doorWindow(now time.Time) string {
	c := now.In(cst)
	h := c.Hour() + 2
	if h < 9 {
		h = 9
	}
	if h > 19 {
		return "次日 09:00-11:00"
	}
	return fmt.Sprintf("%02d:00-%02d:00", h, h+2)
}

// inquiryBatch: /api/v2/item_get_inquir_batch, devices = a JSON array of up
// to 50 devices with the single inquiry's private fields.
func (s *Sandbox) inquiryBatch(c *call) (any, *apiError) {
	raw := c.params["devices"]
	if strings.TrimSpace(raw) == "" {
		return nil, fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: devices(JSON 数组)")
	}
	var devs []inquiryDevice
	if err := json.Unmarshal([]byte(raw), &devs); err != nil {
		return nil, fail(http.StatusBadRequest, codeBadValue, "devices 须为设备对象的 JSON 数组: %v", err)
	}
	if len(devs) == 0 || len(devs) > 50 {
		return nil, fail(http.StatusBadRequest, codeBadValue, "devices 须含 1-50 台设备,收到 %d 台", len(devs))
	}
	results := make([]map[string]any, len(devs))
	ok := 0
	for i, d := range devs {
		data, e := s.inquire(c, d.params())
		if e != nil {
			results[i] = map[string]any{"index": i, "code": e.code, "msg": e.msg, "data": nil}
			continue
		}
		ok++
		results[i] = map[string]any{"index": i, "code": 0, "msg": "success", "data": data}
	}
	return map[string]any{"total": len(devs), "success": ok, "results": results}, nil
}

// itemSearch: /api/v2/item_search. keyword, brand, device_type, device_id,
// page (from 1), page_size (default 20, at most 50). Unreleased models are
// not listed.
func (s *Sandbox) itemSearch(c *call) (any, *apiError) {
	p := c.params
	kw := normalize(p["keyword"])
	if kw == "" && p["brand"] == "" && p["device_type"] == "" && p["device_id"] == "" {
		return nil, fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: keyword(或 brand/device_type/device_id)")
	}
	page, size := 1, 20
	if v := p["page"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fail(http.StatusBadRequest, codeBadValue, "page 须为正整数")
		}
		page = n
	}
	if v := p["page_size"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return nil, fail(http.StatusBadRequest, codeBadValue, "page_size 须为 1-50")
		}
		size = n
	}
	var wantBrand *brand
	if p["brand"] != "" {
		if wantBrand = lib.findBrand(p["brand"]); wantBrand == nil {
			return map[string]any{"total": 0, "page": page, "page_size": size, "items": []any{}}, nil
		}
	}
	var wantType deviceType
	if p["device_type"] != "" {
		t, ok := deviceTypeWords[strings.ToLower(p["device_type"])]
		if !ok {
			return nil, fail(http.StatusBadRequest, codeDeviceType, "不支持的设备类型 %q,支持: 手机/平板/笔记本/相机/手表", p["device_type"])
		}
		wantType = t
	}
	type hit struct {
		m     *model
		exact bool
	}
	var hits []hit
	for _, m := range lib.models {
		if !m.released(c.now) || (wantBrand != nil && m.brand != wantBrand) || (wantType != "" && m.typ != wantType) ||
			(p["device_id"] != "" && m.id != p["device_id"]) {
			continue
		}
		if kw == "" {
			hits = append(hits, hit{m: m})
			continue
		}
		full := normalize(m.brand.english + m.name)
		key := m.brand.modelKey(p["keyword"])
		exact, match := false, strings.Contains(full, kw) || strings.Contains(normalize(m.brand.chinese+m.name), kw)
		for _, k := range m.keys {
			if k == key {
				exact, match = true, true
			}
			if strings.Contains(k, key) || strings.Contains(k, kw) {
				match = true
			}
		}
		if match {
			hits = append(hits, hit{m, exact})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].exact != hits[j].exact {
			return hits[i].exact
		}
		a, b := hits[i].m, hits[j].m
		if a.launchY != b.launchY || a.launchM != b.launchM {
			return a.launchY > b.launchY || (a.launchY == b.launchY && a.launchM > b.launchM)
		}
		return a.name < b.name
	})
	items := []map[string]any{}
	for i := (page - 1) * size; i < len(hits) && i < page*size; i++ {
		m := hits[i].m
		storages := make([]string, len(m.tiers))
		for j, t := range m.tiers {
			storages[j] = t.label
		}
		rams := m.rams
		if rams == nil {
			rams = []string{}
		}
		items = append(items, map[string]any{
			"device_id":    m.id,
			"device_type":  string(m.typ),
			"brand":        m.brand.chinese,
			"brand_en":     m.brand.english,
			"model":        m.name,
			"launch_date":  fmt.Sprintf("%d-%02d", m.launchY, m.launchM),
			"launch_price": yuan(m.tiers[0].price),
			"storages":     storages,
			"rams":         rams,
		})
	}
	return map[string]any{"total": len(hits), "page": page, "page_size": size, "items": items}, nil
}
