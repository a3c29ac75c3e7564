package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// The sandbox's demo account: obviously fake, documented, and what
// AdapterConfig hands the adapter.
const (
	DemoAppID     = "rg-sandbox-app"
	DemoAppSecret = "rg-sandbox-secret-not-real"
	// DemoAccess is the demo account's access tier (daily quota 2000).
	DemoAccess = "commercial"
)

// Daily quotas of the two access tiers, calls a day per app.
const (
	TestQuota       = 100
	CommercialQuota = 2000
)

// Account is one enterprise app the sandbox knows.
type Account struct {
	Secret     string
	DailyQuota int // calls a day, reset 00:00 UTC+8; 0: 2000 (commercial access)
	// Brands limits the enterprise's cooperation scope (数据权限) to these
	// brands (any of their names): valuing another brand is refused with 403
	// forbidden. Empty: every brand.
	Brands []string
	// DenyBatch withholds the batch-inquiry permission (403 forbidden).
	DenyBatch bool
}

// Options configure a sandbox. Zero values are the documented defaults.
type Options struct {
	Clock sandboxkit.Clock // nil: the system clock
	Seed  uint64           // makes prices, order outcomes and fault draws deterministic
	// Accounts by app_id. Nil or empty: the demo account only
	// (DemoAppID / DemoAppSecret, daily quota 2000).
	Accounts map[string]Account
	// QPS is the calls a second allowed per app, measured on the wall clock
	// (not Clock, so tests on a stopped manual clock still get a rate limit
	// that means something). 0: 5, as the document states. Negative: no limit.
	QPS int
}

// Sandbox is the Aihuishou test environment: the enterprise API (/api/...)
// and the open platform (/api/v2/...) on one handler.
type Sandbox struct {
	kit      *sandboxkit.Kit
	clock    sandboxkit.Clock
	seed     uint64
	accounts map[string]Account
	qps      int

	mu          sync.Mutex
	seq         uint64
	calls       map[string][]time.Time // app_id -> recent call times (wall clock)
	quota       map[string]*quotaUse
	valuations  map[string]*valuation
	orders      map[string]*order
	byValuation map[string]*order
	byExpress   map[string]*order
	tradeIns    map[string]*tradeIn // by recycle order no
}

type quotaUse struct {
	day  string
	used int
}

var cst = sdk.ChinaTime

const timeLayout = "2006-01-02 15:04:05"

// New returns a sandbox.
func New(opts Options) *Sandbox {
	s := &Sandbox{clock: opts.Clock, seed: opts.Seed, qps: opts.QPS,
		calls: map[string][]time.Time{}, quota: map[string]*quotaUse{},
		valuations: map[string]*valuation{}, orders: map[string]*order{},
		byValuation: map[string]*order{}, byExpress: map[string]*order{}, tradeIns: map[string]*tradeIn{}}
	if s.clock == nil {
		s.clock = sandboxkit.SystemClock{}
	}
	if s.qps == 0 {
		s.qps = 5
	}
	s.accounts = map[string]Account{}
	for id, a := range opts.Accounts {
		s.accounts[id] = a
	}
	if len(s.accounts) == 0 {
		s.accounts[DemoAppID] = Account{Secret: DemoAppSecret, DailyQuota: CommercialQuota}
	}
	s.kit = sandboxkit.Wrap(http.HandlerFunc(s.serve), s.clock, opts.Seed)
	s.kit.Malformed = malformed
	return s
}

// ServeHTTP serves both APIs behind sandboxkit's faults and admin endpoints.
// The body is read first: net/http notices a client that went away only
// once the body is consumed, and an injected hang must end when it does.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil {
			writeError(w, fail(http.StatusBadRequest, codeMissingParam, "读取请求体失败"))
			return
		}
		if len(body) > maxRequestBody {
			writeError(w, fail(http.StatusBadRequest, codeBadValue, "请求体超过 %d 字节", maxRequestBody))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.kit.ServeHTTP(w, r)
}

const maxRequestBody = 1 << 20

// Kit returns the fault and statistics kit.
func (s *Sandbox) Kit() *sandboxkit.Kit { return s.kit }

// AdapterConfig returns the adapter's config keys that point it at this
// sandbox, listening at baseURL, with the demo account. Both APIs are served
// on one listener, so base_url and open_url are the same.
func (s *Sandbox) AdapterConfig(baseURL string) map[string]string {
	return map[string]string{
		"base_url":   baseURL,
		"open_url":   baseURL,
		"app_id":     DemoAppID,
		"app_secret": DemoAppSecret,
		"access":     DemoAccess,
	}
}

// malformed answers a body of the wrong shape: valid JSON whose data is not
// the documented object, or (every other draw) a truncated body.
func malformed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if len(r.URL.Path)%2 == 0 {
		_, _ = w.Write([]byte(`{"code":0,"msg":"success","data":"<html>维护中</html>"}`))
		return
	}
	_, _ = w.Write([]byte(`{"code":0,"msg":"success","data":{"recycle_price":`))
}

// Provider codes (the "code" of every reply; 0 is success). Documented in
// the plugin README.
const (
	codeOK              = 0
	codeUnreleased      = 20001
	codeCounterfeit     = 20002
	codeExpired         = 30001
	codeAlreadyOrdered  = 30002
	codeNotInspected    = 30003
	codeNoSettlement    = 30004
	codeTradeInExists   = 30005
	codeTradeInState    = 30006
	codeMissingParam    = 40001
	codeTimestampSkew   = 40002
	codeTimestampFormat = 40003
	codeDeviceType      = 40004
	codeBadValue        = 40005
	codeNeedDetail      = 40006
	codeUnknownApp      = 40101
	codeBadSign         = 40102
	codeQuotaExhausted  = 40301
	codePermission      = 40302
	codeNoSuchAPI       = 40401
	codeModelUnlisted   = 40402
	codeNotFound        = 40404
	codeMethod          = 40500
	codeRateLimited     = 42901
	codeInternal        = 50001
	codeOutOfRange      = 50002
)

// apiError is a reply other than success.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func fail(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

type envelope struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
	Data any    `json:"data"`
}

func writeReply(w http.ResponseWriter, status int, env envelope) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(env)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeReply(w, e.status, envelope{Code: e.code, Msg: e.msg})
}

// call is one authenticated request: who, its parameters, the sandbox time.
type call struct {
	app    string
	acct   Account
	params map[string]string
	now    time.Time
}

type handler func(c *call) (any, *apiError)

// enterprise API paths, signed with X-Sign (SHA-256, upper case).
func (s *Sandbox) enterpriseRoutes() map[string]handler {
	return map[string]handler{
		"/api/valuation/get":             s.valuationGet,
		"/api/order/create":              s.orderCreate,
		"/api/order/getDetail":           s.orderDetail,
		"/api/logistics/getTrace":        s.logisticsTrace,
		"/api/order/getInspectionResult": s.inspectionResult,
		"/api/settlement/get":            s.settlementGet,
		"/api/tradeIn/create":            s.tradeInCreate,
	}
}

// open platform paths, form-encoded and signed with HMAC-SHA256 (lower case).
func (s *Sandbox) openRoutes() map[string]handler {
	return map[string]handler{
		"/api/v2/item_get_inquir":       s.inquiry,
		"/api/v2/item_get_inquir_batch": s.inquiryBatch,
		"/api/v2/item_search":           s.itemSearch,
	}
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.enterpriseRoutes()[r.URL.Path]; ok {
		s.handle(w, r, h, s.authEnterprise)
		return
	}
	if h, ok := s.openRoutes()[r.URL.Path]; ok {
		s.handle(w, r, h, s.authOpen)
		return
	}
	writeError(w, fail(http.StatusNotFound, codeNoSuchAPI, "接口不存在: %s", r.URL.Path))
}

func (s *Sandbox) handle(w http.ResponseWriter, r *http.Request, h handler, auth func(*http.Request, []byte) (*call, *apiError)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, fail(http.StatusMethodNotAllowed, codeMethod, "仅支持 POST 请求"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		writeError(w, fail(http.StatusBadRequest, codeMissingParam, "读取请求体失败"))
		return
	}
	c, e := auth(r, body)
	if e != nil {
		if e.code == codeRateLimited {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, e)
		return
	}
	data, e := h(c)
	if e != nil {
		writeError(w, e)
		return
	}
	writeReply(w, http.StatusOK, envelope{Code: codeOK, Msg: "success", Data: data})
}

// authEnterprise checks X-AppId, the rate, X-Sign, the timestamp and the quota.
func (s *Sandbox) authEnterprise(r *http.Request, body []byte) (*call, *apiError) {
	app := strings.TrimSpace(r.Header.Get("X-AppId"))
	acct, e := s.account(app, "X-AppId")
	if e != nil {
		return nil, e
	}
	if e := s.rate(app); e != nil {
		return nil, e
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, fail(http.StatusBadRequest, codeMissingParam, "请求体须为 JSON 对象(UTF-8)")
	}
	params := make(map[string]string, len(raw))
	exact := make(map[string]string, len(raw))
	for k, v := range raw {
		p, x, err := plainJSON(v)
		if err != nil {
			return nil, fail(http.StatusBadRequest, codeMissingParam, "参数 %s 格式错误", k)
		}
		params[k], exact[k] = p, x
	}
	sign := r.Header.Get("X-Sign")
	if sign == "" {
		return nil, fail(http.StatusUnauthorized, codeBadSign, "缺少签名 X-Sign")
	}
	if !hmac.Equal([]byte(sign), []byte(enterpriseSign(params, acct.Secret))) &&
		!hmac.Equal([]byte(sign), []byte(enterpriseSign(exact, acct.Secret))) {
		return nil, fail(http.StatusUnauthorized, codeBadSign, "签名错误")
	}
	return s.admit(app, acct, params, 1)
}

// authOpen checks app_id, the rate, version, sign, the timestamp and the quota.
// The body is form-encoded (or, as the document allows, a flat JSON object).
func (s *Sandbox) authOpen(r *http.Request, body []byte) (*call, *apiError) {
	params := url.Values{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fail(http.StatusBadRequest, codeMissingParam, "请求体须为表单或 JSON 对象")
		}
		for k, v := range raw {
			p, _, err := plainJSON(v)
			if err != nil {
				return nil, fail(http.StatusBadRequest, codeMissingParam, "参数 %s 格式错误", k)
			}
			params.Set(k, p)
		}
	} else {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fail(http.StatusBadRequest, codeMissingParam, "表单参数格式错误(中文参数值须 UTF-8 编码)")
		}
		params = q
	}
	for k := range r.URL.Query() { // query-string parameters count too
		if params.Get(k) == "" {
			params.Set(k, r.URL.Query().Get(k))
		}
	}
	app := strings.TrimSpace(params.Get("app_id"))
	acct, e := s.account(app, "app_id")
	if e != nil {
		return nil, e
	}
	if e := s.rate(app); e != nil {
		return nil, e
	}
	sign := params.Get("sign")
	if sign == "" {
		return nil, fail(http.StatusUnauthorized, codeBadSign, "缺少签名参数 sign")
	}
	if !hmac.Equal([]byte(sign), []byte(openSign(params, acct.Secret))) {
		return nil, fail(http.StatusUnauthorized, codeBadSign, "签名错误")
	}
	flat := make(map[string]string, len(params))
	for k := range params {
		flat[k] = params.Get(k)
	}
	if v := flat["version"]; v != "v2" {
		if v == "" {
			return nil, fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: version")
		}
		return nil, fail(http.StatusBadRequest, codeBadValue, "不支持的接口版本 %q,请使用 v2", v)
	}
	units := 1
	if r.URL.Path == "/api/v2/item_get_inquir_batch" {
		if acct.DenyBatch {
			return nil, fail(http.StatusForbidden, codePermission, "无批量询价权限,请申请开通")
		}
		// A batch spends one call of the quota per device.
		var devs []json.RawMessage
		if json.Unmarshal([]byte(flat["devices"]), &devs) == nil && len(devs) > 1 {
			units = len(devs)
		}
	}
	return s.admit(app, acct, flat, units)
}

func (s *Sandbox) account(app, where string) (Account, *apiError) {
	if app == "" {
		return Account{}, fail(http.StatusUnauthorized, codeUnknownApp, "缺少 %s", where)
	}
	a, ok := s.accounts[app]
	if !ok {
		return Account{}, fail(http.StatusUnauthorized, codeUnknownApp, "app_id 不存在或未开通: %s", app)
	}
	if a.DailyQuota == 0 {
		a.DailyQuota = CommercialQuota
	}
	return a, nil
}

// rate enforces QPS per app on a sliding one-second window of the wall clock.
func (s *Sandbox) rate(app string) *apiError {
	if s.qps < 0 {
		return nil
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := s.calls[app][:0]
	for _, t := range s.calls[app] {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.qps {
		s.calls[app] = recent
		return fail(http.StatusTooManyRequests, codeRateLimited, "请求过于频繁,QPS 上限 %d", s.qps)
	}
	s.calls[app] = append(recent, now)
	return nil
}

// admit checks the timestamp window and spends units of the daily quota.
func (s *Sandbox) admit(app string, acct Account, params map[string]string, units int) (*call, *apiError) {
	now := s.clock.Now()
	ts, ok := params["timestamp"]
	if !ok || ts == "" {
		return nil, fail(http.StatusBadRequest, codeMissingParam, "缺少必填参数: timestamp")
	}
	t, err := time.ParseInLocation(timeLayout, ts, cst)
	if err != nil {
		return nil, fail(http.StatusBadRequest, codeTimestampFormat, "timestamp 格式错误,应为 yyyy-MM-dd HH:mm:ss(UTC+8): %q", ts)
	}
	// Within 5 minutes of the sandbox's clock, or of the wall clock: a
	// sandbox whose clock was moved on (POST /_sandbox/clock, a test's
	// manual clock) still takes the calls of an adapter on real time.
	if d, w := now.Sub(t), time.Since(t); (d > 5*time.Minute || d < -5*time.Minute) && (w > 5*time.Minute || w < -5*time.Minute) {
		return nil, fail(http.StatusBadRequest, codeTimestampSkew, "timestamp 与服务器时间相差超过 5 分钟(服务器时间 %s,UTC+8)", now.In(cst).Format(timeLayout))
	}
	day := now.In(cst).Format("2006-01-02")
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.quota[app]
	if q == nil || q.day != day {
		q = &quotaUse{day: day}
		s.quota[app] = q
	}
	if q.used+units > acct.DailyQuota {
		return nil, fail(http.StatusForbidden, codeQuotaExhausted, "今日调用配额已用完(%d/%d 次),配额于 00:00(UTC+8)重置", q.used, acct.DailyQuota)
	}
	q.used += units
	return &call{app: app, acct: acct, params: params, now: now}, nil
}

// QuotaUsed returns the calls an app has spent today (sandbox clock, UTC+8).
func (s *Sandbox) QuotaUsed(app string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.quota[app]
	if q == nil || q.day != s.clock.Now().In(cst).Format("2006-01-02") {
		return 0
	}
	return q.used
}

// plainJSON turns a JSON value into the text the enterprise signature reads:
// strings raw, booleans true/false, null empty, numbers in their shortest
// decimal form (and, second, as sent), objects and arrays as compact JSON.
func plainJSON(v json.RawMessage) (plain, exact string, err error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return "", "", fmt.Errorf("empty value")
	}
	switch t[0] {
	case '"':
		var s string
		err = json.Unmarshal(t, &s)
		return s, s, err
	case 't', 'f':
		var b bool
		err = json.Unmarshal(t, &b)
		return strconv.FormatBool(b), strconv.FormatBool(b), err
	case 'n':
		return "", "", nil
	case '{', '[':
		var buf bytes.Buffer
		err = json.Compact(&buf, t)
		return buf.String(), buf.String(), err
	}
	var n json.Number
	if err = json.Unmarshal(t, &n); err != nil {
		return "", "", err
	}
	if _, e := strconv.ParseInt(n.String(), 10, 64); e == nil {
		return n.String(), n.String(), nil
	}
	f, e := strconv.ParseFloat(n.String(), 64)
	if e != nil || math.IsInf(f, 0) {
		return "", "", fmt.Errorf("bad number")
	}
	return strconv.FormatFloat(f, 'f', -1, 64), n.String(), nil
}

// enterpriseSign: sorted k=v&k=v + app_secret, SHA-256, hex upper case.
func enterpriseSign(params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&") + secret))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// openSign: non-empty parameters but sign, sorted, k=v&k=v + "&secret=" +
// app_secret, HMAC-SHA256 keyed with app_secret, hex lower case.
func openSign(params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" && params.Get(k) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params.Get(k)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(parts, "&") + "&secret=" + secret))
	return hex.EncodeToString(m.Sum(nil))
}

// yuan is an amount in fen written as a JSON number of yuan with two places.
type yuan int64

// MarshalJSON writes 680000 as 6800.00.
func (y yuan) MarshalJSON() ([]byte, error) {
	v := int64(y)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return []byte(fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)), nil
}

// permille is a factor in thousandths written as a JSON decimal (900 -> 0.9).
type permille int64

// MarshalJSON writes 1037 as 1.037 and 900 as 0.9.
func (p permille) MarshalJSON() ([]byte, error) {
	s := fmt.Sprintf("%d.%03d", int64(p)/1000, int64(p)%1000)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	return []byte(s), nil
}

func (s *Sandbox) nextSeq() uint64 {
	s.seq++
	return s.seq
}

func stamp(t time.Time) string { return t.In(cst).Format(timeLayout) }
