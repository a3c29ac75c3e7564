package sandbox

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Order statuses as the enterprise API writes them, with the Chinese words
// the document uses (待邮寄 / 检测中 / 已完成 ...).
const (
	statusPendingSend = "pending_send" // 待邮寄 (store orders: 待到店)
	statusShipped     = "shipped"      // 已寄出, in transit
	statusReceived    = "received"     // 已签收
	statusInspecting  = "inspecting"   // 检测中
	statusInspected   = "inspected"    // 已检测, price confirmed, settlement pending
	statusCompleted   = "completed"    // 已完成, paid
	statusCancelled   = "cancelled"    // 已取消 (never shipped)
	statusReturned    = "returned"     // 已退回 (the seller declined the inspected price)
)

var statusDesc = map[string]string{
	statusPendingSend: "待邮寄", statusShipped: "运输中", statusReceived: "已签收",
	statusInspecting: "检测中", statusInspected: "已检测", statusCompleted: "已完成",
	statusCancelled: "已取消", statusReturned: "已退回",
}

// The order clock: when each step happens after creation.
const (
	expShipped    = 2 * time.Hour
	expReceived   = 26 * time.Hour
	expInspecting = 27 * time.Hour
	expInspected  = 29 * time.Hour
	expFinal      = 31 * time.Hour // completed (paid) or returned
	expBack       = 55 * time.Hour // the returned device reaches the seller
	storeReceived = 3 * time.Hour
	storeInspect  = 4 * time.Hour
	storeFinal    = 5 * time.Hour
	cancelAfter   = 72 * time.Hour // an order never shipped is cancelled
	// returnBelow: a seller declines an inspected price under 70% of the quote.
	returnBelowPermille = 700
)

type step struct {
	status string
	at     time.Time
}

type storeInfo struct {
	StoreID       string `json:"store_id"`
	StoreName     string `json:"store_name"`
	Address       string `json:"address"`
	Phone         string `json:"phone"`
	BusinessHours string `json:"business_hours"`
}

var stores = []storeInfo{
	{"S0101", "爱回收·北京朝阳大悦城店", "北京市朝阳区朝阳北路101号朝阳大悦城B1", "400-616-1616", "10:00-22:00"},
	{"S0201", "爱回收·上海徐家汇港汇店", "上海市徐汇区虹桥路1号港汇恒隆广场B2", "400-616-1616", "10:00-22:00"},
	{"S0301", "爱回收·深圳华强北店", "深圳市福田区华强北路1019号华强广场1楼", "400-616-1616", "10:00-21:30"},
}

var couriers = []struct{ name, prefix string }{{"圆通快递", "YT"}, {"顺丰速运", "SF"}, {"中通快递", "ZT"}}

type checkResult struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Passed bool   `json:"passed"`
}

type order struct {
	no, app        string
	val            *valuation
	userName       string
	userPhone      string
	userAddress    string
	logistics      string // express | store
	expressNo      string
	expressCompany string
	store          *storeInfo
	created        time.Time
	scenario       string // "", "cancel", "return"
	// the inspection outcome, drawn at creation
	grade      string
	checks     []checkResult
	final      int64
	conclusion string
}

type tradeIn struct {
	no, recycleNo, newNo string
	subsidy              int64
	created              time.Time
}

// timeline is every step of the order, including those still to come.
func (o *order) timeline() []step {
	t := o.created
	s := []step{{statusPendingSend, t}}
	end := statusCompleted
	if o.final*1000 < o.val.price*returnBelowPermille {
		end = statusReturned
	}
	switch {
	case o.scenario == "cancel":
		s = append(s, step{statusCancelled, t.Add(cancelAfter)})
	case o.logistics == "store":
		s = append(s, step{statusReceived, t.Add(storeReceived)}, step{statusInspecting, t.Add(storeReceived)},
			step{statusInspected, t.Add(storeInspect)}, step{end, t.Add(storeFinal)})
	default:
		s = append(s, step{statusShipped, t.Add(expShipped)}, step{statusReceived, t.Add(expReceived)},
			step{statusInspecting, t.Add(expInspecting)}, step{statusInspected, t.Add(expInspected)},
			step{end, t.Add(expFinal)})
	}
	return s
}

// history is the steps that happened by now; the last is the current state.
func (o *order) history(now time.Time) []step {
	var h []step
	for _, s := range o.timeline() {
		if !s.at.After(now) {
			h = append(h, s)
		}
	}
	return h
}

func (o *order) state(now time.Time) step {
	h := o.history(now)
	return h[len(h)-1]
}

func (o *order) reached(now time.Time, status string) (time.Time, bool) {
	for _, s := range o.history(now) {
		if s.status == status {
			return s.at, true
		}
	}
	return time.Time{}, false
}

func (o *order) settlementNo() string { return "STL" + strings.TrimPrefix(o.no, "ORD") }

// depositPaid is the advance paid to the seller once the device is shipped.
func (o *order) depositPaid(now time.Time) int64 {
	if _, ok := o.reached(now, statusShipped); ok {
		return o.val.deposit
	}
	return 0
}

func (s *Sandbox) hash(parts ...string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", s.seed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return mix(h.Sum64())
}

var unmaskedPhone = regexp.MustCompile(`\d{7,}`)

// orderCreate: /api/order/create.
func (s *Sandbox) orderCreate(c *call) (any, *apiError) {
	p := c.params
	if e := required(p, "valuation_id", "user_name", "user_phone", "user_address", "logistics_type"); e != nil {
		return nil, e
	}
	lt := p["logistics_type"]
	if lt != "express" && lt != "store" {
		return nil, fail(http.StatusBadRequest, codeBadValue, "logistics_type 取值错误 %q,可选: express(快递)/store(门店自送)", lt)
	}
	if unmaskedPhone.MatchString(p["user_phone"]) {
		return nil, fail(http.StatusBadRequest, codeBadValue, "user_phone 须脱敏传输(如 138****6789)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.valuations[p["valuation_id"]]
	if v == nil || v.app != c.app {
		return nil, fail(http.StatusNotFound, codeNotFound, "估价不存在: %s", p["valuation_id"])
	}
	if o := s.byValuation[v.id]; o != nil {
		return nil, fail(http.StatusOK, codeAlreadyOrdered, "该估价已下单: %s", o.no)
	}
	if c.now.After(v.validUntil) {
		return nil, fail(http.StatusOK, codeExpired, "估价已过期(有效期至 %s),请重新估价", stamp(v.validUntil))
	}
	seq := s.nextSeq()
	o := &order{no: fmt.Sprintf("ORD%s%06d", c.now.In(cst).Format("20060102"), seq), app: c.app, val: v,
		userName: p["user_name"], userPhone: p["user_phone"], userAddress: p["user_address"],
		logistics: lt, created: c.now}
	switch addr := strings.ToLower(o.userAddress); {
	case strings.Contains(addr, "#cancel"):
		o.scenario = "cancel"
	case strings.Contains(addr, "#return"):
		o.scenario = "return"
	}
	if lt == "express" {
		cr := couriers[s.hash(o.no, "courier")%uint64(len(couriers))]
		o.expressCompany = cr.name
		o.expressNo = fmt.Sprintf("%s%013d", cr.prefix, s.hash(o.no, "express")%10_000_000_000_000)
		s.byExpress[o.expressNo] = o
	} else {
		st := stores[s.hash(o.no, "store")%uint64(len(stores))]
		o.store = &st
	}
	s.inspect(o)
	s.orders[o.no] = o
	s.byValuation[v.id] = o
	return map[string]any{
		"order_no":        o.no,
		"valuation_id":    v.id,
		"express_no":      o.expressNo,
		"express_company": o.expressCompany,
		"store_info":      o.store,
		"create_time":     stamp(o.created),
		"status":          statusPendingSend,
		"recycle_price":   yuan(v.price),
	}, nil
}

// inspect draws the inspection outcome: 60% as described, 30% one grade
// worse, 10% a battery found aged; the #return scenario finds liquid damage.
func (s *Sandbox) inspect(o *order) {
	names := qualityChecks(o.val.model.typ)
	o.checks = make([]checkResult, len(names))
	for i, n := range names {
		o.checks[i] = checkResult{Name: n, Result: "正常", Passed: true}
	}
	failCheck := func(word, result string) {
		for i := range o.checks {
			if strings.Contains(o.checks[i].Name, word) && o.checks[i].Passed {
				o.checks[i].Result, o.checks[i].Passed = result, false
				return
			}
		}
	}
	o.grade, o.final = o.val.grade, o.val.price
	o.conclusion = "成色与功能与描述一致,按估价回收"
	if !o.val.functional {
		failCheck("屏幕", "存在功能异常(与描述一致)")
		o.conclusion = "功能异常与描述一致,按估价回收"
	}
	r := s.hash(o.no, "inspection") % 100
	switch {
	case o.scenario == "return":
		failCheck("进", "发现进水/进液痕迹")
		failCheck("电池", "电池鼓包,需更换")
		o.final = o.val.price * 400 / 1000
		o.conclusion = "检测发现进水与电池鼓包,与描述严重不符,回收价下调"
	case r < 60:
	case r < 90:
		g := lowerGrade(o.val.grade)
		cur, _ := findGrade(o.val.grade)
		failCheck("外", "明显划痕/磕碰")
		o.final = (o.val.price*g.discount + cur.discount/2) / cur.discount
		o.grade = g.name
		o.conclusion = fmt.Sprintf("成色与描述不符: 实际为%s,回收价相应调整", g.name)
	default:
		failCheck("电池", "电池健康度 79%,低于 80%")
		o.final = o.val.price * 920 / 1000
		o.conclusion = "检测发现电池老化,回收价相应调整"
	}
	if o.final < 100 {
		o.final = 100
	}
}

// findOrder finds an order by number (or valuation id) for the calling app.
func (s *Sandbox) findOrder(c *call, orderNo, valuationID string) (*order, *apiError) {
	var o *order
	switch {
	case orderNo != "":
		o = s.orders[orderNo]
	case valuationID != "":
		o = s.byValuation[valuationID]
	default:
		return nil, fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: order_no")
	}
	if o == nil || o.app != c.app {
		if orderNo == "" {
			return nil, fail(http.StatusNotFound, codeNotFound, "该估价没有订单: %s", valuationID)
		}
		return nil, fail(http.StatusNotFound, codeNotFound, "订单不存在: %s", orderNo)
	}
	return o, nil
}

func (o *order) desc(status string) string {
	if status == statusPendingSend && o.logistics == "store" {
		return "待到店"
	}
	return statusDesc[status]
}

// orderDetail: /api/order/getDetail, by order_no or, when the answer to a
// create was lost, by valuation_id.
func (s *Sandbox) orderDetail(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.findOrder(c, c.params["order_no"], c.params["valuation_id"])
	if e != nil {
		return nil, e
	}
	cur := o.state(c.now)
	hist := []map[string]any{}
	for _, st := range o.history(c.now) {
		hist = append(hist, map[string]any{"status": st.status, "status_desc": o.desc(st.status), "time": stamp(st.at)})
	}
	d := map[string]any{
		"order_no":        o.no,
		"valuation_id":    o.val.id,
		"status":          cur.status,
		"status_desc":     o.desc(cur.status),
		"create_time":     stamp(o.created),
		"update_time":     stamp(cur.at),
		"user_name":       o.userName,
		"user_phone":      o.userPhone,
		"user_address":    o.userAddress,
		"logistics_type":  o.logistics,
		"express_no":      o.expressNo,
		"express_company": o.expressCompany,
		"store_info":      o.store,
		"recycle_price":   yuan(o.val.price),
		"deposit_price":   yuan(o.val.deposit),
		"device_info":     map[string]any{"model": o.val.model.name, "brand": o.val.model.brand.english, "storage": o.val.storage},
		"status_history":  hist,
	}
	if o.logistics == "express" {
		d["logistics_status"] = s.trace(o, c.now).status
	}
	if _, ok := o.reached(c.now, statusInspected); ok {
		d["final_price"] = yuan(o.final)
		d["settlement_no"] = o.settlementNo()
		d["inspection_result"] = map[string]any{"conclusion": o.conclusion, "final_price": yuan(o.final), "condition": o.grade}
	}
	return d, nil
}

type traceEvent struct {
	at       time.Time
	location string
	desc     string
}

type traceOut struct {
	status string // pending, in_transit, delivered, returned
	events []traceEvent
}

var cityPattern = regexp.MustCompile(`^(.{2,8}?[市州])`)

// trace builds the shipment's scans up to now.
func (s *Sandbox) trace(o *order, now time.Time) traceOut {
	city := "寄件地"
	if m := cityPattern.FindStringSubmatch(o.userAddress); m != nil {
		city = m[1]
	}
	t := o.created
	all := []traceEvent{}
	if o.scenario != "cancel" {
		all = append(all,
			traceEvent{t.Add(expShipped), city, fmt.Sprintf("【%s】快递员已揽收", city)},
			traceEvent{t.Add(8 * time.Hour), city, fmt.Sprintf("快件已到达【%s转运中心】", city)},
			traceEvent{t.Add(12 * time.Hour), city, fmt.Sprintf("快件已从【%s转运中心】发出,下一站【上海转运中心】", city)},
			traceEvent{t.Add(20 * time.Hour), "上海市", "快件已到达【上海转运中心】"},
			traceEvent{t.Add(23 * time.Hour), "上海市", "快件正在派送中"},
			traceEvent{t.Add(expReceived), "上海市", "已签收,签收人: 爱回收上海质检中心"},
		)
	}
	returned := o.final*1000 < o.val.price*returnBelowPermille
	if returned && o.scenario != "cancel" {
		all = append(all,
			traceEvent{t.Add(expFinal), "上海市", "设备已退回,快件已由爱回收上海质检中心交寄"},
			traceEvent{t.Add(expBack), city, "退回快件已签收(寄件人本人)"},
		)
	}
	out := traceOut{status: "pending"}
	for _, e := range all {
		if e.at.After(now) {
			break
		}
		out.events = append(out.events, e)
		switch {
		case e.at.Equal(t.Add(expReceived)):
			out.status = "delivered"
		case e.at.Equal(t.Add(expFinal)), e.at.Equal(t.Add(expBack)):
			out.status = "returned"
		default:
			out.status = "in_transit"
		}
	}
	return out
}

// logisticsTrace: /api/logistics/getTrace by logistics_no (and logistics_company).
func (s *Sandbox) logisticsTrace(c *call) (any, *apiError) {
	if e := required(c.params, "logistics_no"); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byExpress[c.params["logistics_no"]]
	if o == nil || o.app != c.app {
		return nil, fail(http.StatusNotFound, codeNotFound, "物流单号不存在: %s", c.params["logistics_no"])
	}
	if co := c.params["logistics_company"]; co != "" && co != o.expressCompany {
		return nil, fail(http.StatusBadRequest, codeBadValue, "快递公司与单号不符: %s", co)
	}
	tr := s.trace(o, c.now)
	traces := []map[string]any{}
	for i := len(tr.events) - 1; i >= 0; i-- { // newest first
		e := tr.events[i]
		traces = append(traces, map[string]any{"time": stamp(e.at), "location": e.location, "desc": e.desc})
	}
	return map[string]any{
		"logistics_no":      o.expressNo,
		"logistics_company": o.expressCompany,
		"order_no":          o.no,
		"status":            tr.status,
		"traces":            traces,
	}, nil
}

// inspectionResult: /api/order/getInspectionResult.
func (s *Sandbox) inspectionResult(c *call) (any, *apiError) {
	if e := required(c.params, "order_no"); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.findOrder(c, c.params["order_no"], "")
	if e != nil {
		return nil, e
	}
	at, ok := o.reached(c.now, statusInspected)
	if !ok {
		return nil, fail(http.StatusOK, codeNotInspected, "订单尚未完成检测(当前状态: %s)", o.desc(o.state(c.now).status))
	}
	return map[string]any{
		"order_no":      o.no,
		"inspection_no": "INS" + strings.TrimPrefix(o.no, "ORD"),
		"inspect_time":  stamp(at),
		"conclusion":    o.conclusion,
		"condition":     o.grade,
		"quoted_price":  yuan(o.val.price),
		"final_price":   yuan(o.final),
		"check_count":   len(o.checks),
		"check_items":   o.checks,
	}, nil
}

// settlementGet: /api/settlement/get by order_no (settlement_no optional).
func (s *Sandbox) settlementGet(c *call) (any, *apiError) {
	if e := required(c.params, "order_no"); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.findOrder(c, c.params["order_no"], "")
	if e != nil {
		return nil, e
	}
	if sn := c.params["settlement_no"]; sn != "" && sn != o.settlementNo() {
		return nil, fail(http.StatusNotFound, codeNotFound, "结算单不存在: %s", sn)
	}
	cur := o.state(c.now)
	switch cur.status {
	case statusCancelled, statusReturned:
		return nil, fail(http.StatusOK, codeNoSettlement, "订单%s,无结算", o.desc(cur.status))
	}
	inspected, ok := o.reached(c.now, statusInspected)
	if !ok {
		return nil, fail(http.StatusOK, codeNoSettlement, "订单尚未结算(当前状态: %s)", o.desc(cur.status))
	}
	dep := o.depositPaid(c.now)
	d := map[string]any{
		"settlement_no": o.settlementNo(),
		"order_no":      o.no,
		"settle_amount": yuan(o.final),
		"deposit_price": yuan(dep),
		"pay_amount":    yuan(o.final - dep),
		"status":        "pending",
		"status_desc":   "待打款",
		"pay_method":    "支付宝",
		"create_time":   stamp(inspected),
	}
	if at, ok := o.reached(c.now, statusCompleted); ok {
		d["status"], d["status_desc"], d["pay_time"] = "paid", "已打款", stamp(at)
	}
	return d, nil
}

// tradeInCreate: /api/tradeIn/create links a recycle order to a new-device order.
func (s *Sandbox) tradeInCreate(c *call) (any, *apiError) {
	if e := required(c.params, "recycle_order_no", "new_machine_order_no"); e != nil {
		return nil, e
	}
	if len(c.params["new_machine_order_no"]) > 64 {
		return nil, fail(http.StatusBadRequest, codeBadValue, "new_machine_order_no 最长 64 个字符")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.findOrder(c, c.params["recycle_order_no"], "")
	if e != nil {
		return nil, e
	}
	if t := s.tradeIns[o.no]; t != nil {
		return nil, fail(http.StatusOK, codeTradeInExists, "该回收订单已关联以旧换新: %s", t.no)
	}
	if st := o.state(c.now).status; st == statusCancelled || st == statusReturned {
		return nil, fail(http.StatusOK, codeTradeInState, "回收订单%s,不能以旧换新", o.desc(st))
	}
	// Subsidy: 5% of the recycle price, between 50 and 500 yuan, whole yuan.
	sub := o.val.price * 5 / 100 / 100 * 100
	sub = max(5_000, min(sub, 50_000))
	t := &tradeIn{no: fmt.Sprintf("TI%s%06d", c.now.In(cst).Format("20060102"), s.nextSeq()),
		recycleNo: o.no, newNo: c.params["new_machine_order_no"], subsidy: sub, created: c.now}
	s.tradeIns[o.no] = t
	return map[string]any{
		"trade_in_no":          t.no,
		"recycle_order_no":     t.recycleNo,
		"new_machine_order_no": t.newNo,
		"subsidy_amount":       yuan(t.subsidy),
		"status":               "created",
		"create_time":          stamp(t.created),
	}, nil
}
