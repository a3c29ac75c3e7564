package sandbox

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// The demo account every sandbox has. The secret is fake, 32 characters like
// a real one, and public: it is in this file and the README.
const (
	DemoAppID  = "rg-sandbox"
	DemoSecret = "rgsandboxsecret000000000000000ab"
)

// DefaultPath is the valuation API's path; the look-ups are beside it.
const DefaultPath = "/pyi/201/377"

// TimeWindow is how far the time parameter may be from the sandbox's clock.
const TimeWindow = 10 * time.Minute

// Sign modes of an account.
const (
	SignMD5  = "md5"
	SignHash = "hash"
)

// Account is an application (appid) of the provider.
type Account struct {
	Secret   string // the application secret
	SignMode string // "md5" (default) or "hash" (the secret itself is the sign)
	// CallsRemaining is how many billed valuations the account has left;
	// nil means unlimited. At zero, valuations answer 10018.
	CallsRemaining *int64
	// AllowedIPs is the account's IP allow-list (addresses or CIDRs). Empty:
	// every address, loopback included, may call. When set, only those
	// (list 127.0.0.1 to keep loopback) may; others get 10006.
	AllowedIPs []string
	// Disabled answers 10007 to every call.
	Disabled bool
}

// Calls returns a pointer to n, for Account.CallsRemaining.
func Calls(n int64) *int64 { return &n }

// Options configure a sandbox. Zero values are the documented defaults.
type Options struct {
	Clock sandboxkit.Clock // nil: the system clock
	Seed  uint64           // fixes the market noise of prices and the fault draws
	// Accounts by appid, beside the demo account (which an entry named
	// DemoAppID replaces).
	Accounts map[string]Account
	// Path of the valuation API (default DefaultPath); CityPath and TypePath
	// of the look-ups (default Path+"/cities" and Path+"/types").
	Path, CityPath, TypePath string
}

// Sandbox behaves like the provider: signature, time window, IP allow-list,
// billing per successful valuation, the document's status codes, and
// valuations from a catalogue of car types and cities.
type Sandbox struct {
	clock                    sandboxkit.Clock
	seed                     uint64
	path, cityPath, typePath string
	kit                      *sandboxkit.Kit

	mu       sync.Mutex
	accounts map[string]*account
}

type account struct {
	Account
	billed int64
	nets   []*net.IPNet
}

// New returns a sandbox. It panics on an account with a bad sign mode or IP
// allow-list entry: options are written by the programmer.
func New(opts Options) *Sandbox {
	s := &Sandbox{clock: opts.Clock, seed: opts.Seed, accounts: map[string]*account{}}
	if s.clock == nil {
		s.clock = sandboxkit.SystemClock{}
	}
	s.path = strings.TrimRight(opts.Path, "/")
	if s.path == "" {
		s.path = DefaultPath
	}
	s.cityPath, s.typePath = opts.CityPath, opts.TypePath
	if s.cityPath == "" {
		s.cityPath = s.path + "/cities"
	}
	if s.typePath == "" {
		s.typePath = s.path + "/types"
	}
	if err := s.PutAccount(DemoAppID, Account{Secret: DemoSecret, SignMode: SignMD5}); err != nil {
		panic(err)
	}
	for id, a := range opts.Accounts {
		if err := s.PutAccount(id, a); err != nil {
			panic(err)
		}
	}
	s.kit = sandboxkit.Wrap(http.HandlerFunc(s.serve), s.clock, opts.Seed)
	s.kit.Malformed = malformedReply
	return s
}

// PutAccount adds or replaces an account (keeping its billed count).
func (s *Sandbox) PutAccount(appid string, a Account) error {
	if appid == "" {
		return fmt.Errorf("sandbox account: appid is required")
	}
	if a.Secret == "" {
		return fmt.Errorf("sandbox account %s: secret is required", appid)
	}
	switch a.SignMode {
	case "":
		a.SignMode = SignMD5
	case SignMD5, SignHash:
	default:
		return fmt.Errorf("sandbox account %s: sign mode must be md5 or hash, got %q", appid, a.SignMode)
	}
	acc := &account{Account: a}
	if a.CallsRemaining != nil {
		acc.CallsRemaining = Calls(*a.CallsRemaining)
	}
	acc.AllowedIPs = append([]string(nil), a.AllowedIPs...)
	for _, e := range a.AllowedIPs {
		if !strings.Contains(e, "/") {
			if ip := net.ParseIP(e); ip != nil && ip.To4() != nil {
				e += "/32"
			} else {
				e += "/128"
			}
		}
		_, n, err := net.ParseCIDR(e)
		if err != nil {
			return fmt.Errorf("sandbox account %s: allowed IP %q is neither an address nor a CIDR", appid, e)
		}
		acc.nets = append(acc.nets, n)
	}
	s.mu.Lock()
	if old, ok := s.accounts[appid]; ok {
		acc.billed = old.billed
	}
	s.accounts[appid] = acc
	s.mu.Unlock()
	return nil
}

// SetCallsRemaining sets an account's remaining calls (nil: unlimited).
func (s *Sandbox) SetCallsRemaining(appid string, n *int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[appid]
	if !ok {
		return false
	}
	a.CallsRemaining = nil
	if n != nil {
		a.CallsRemaining = Calls(*n)
	}
	return true
}

// CallsRemaining returns an account's remaining calls; ok is false when the
// account is unlimited or unknown.
func (s *Sandbox) CallsRemaining(appid string) (n int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.accounts[appid]
	if !found || a.CallsRemaining == nil {
		return 0, false
	}
	return *a.CallsRemaining, true
}

// Billed returns the number of billed valuations (codeid 10000) of an
// account.
func (s *Sandbox) Billed(appid string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[appid]; ok {
		return a.billed
	}
	return 0
}

// Kit returns the fault injection and call counters in front of the sandbox.
func (s *Sandbox) Kit() *sandboxkit.Kit { return s.kit }

// AdapterConfig returns the adapter's config keys and secret that point it
// at this sandbox, listening at baseURL, with the demo account.
func (s *Sandbox) AdapterConfig(baseURL string) map[string]string {
	s.mu.Lock()
	mode := s.accounts[DemoAppID].SignMode
	secret := s.accounts[DemoAppID].Secret
	s.mu.Unlock()
	cfg := map[string]string{
		"base_url":  strings.TrimRight(baseURL, "/"),
		"path":      s.path,
		"appid":     DemoAppID,
		"secret":    secret,
		"sign_mode": mode,
	}
	if s.cityPath != s.path+"/cities" {
		cfg["city_path"] = s.cityPath
	}
	if s.typePath != s.path+"/types" {
		cfg["type_path"] = s.typePath
	}
	return cfg
}

// ServeHTTP serves the provider's API behind the sandbox kit (faults,
// counters, /_sandbox/ admin) and the account admin under /_sandbox/accounts.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sandbox/accounts" || strings.HasPrefix(r.URL.Path, "/_sandbox/accounts/") {
		s.admin(w, r)
		return
	}
	// Read the form now: a POST body left unread keeps net/http from
	// noticing that a client gave up, and an injected hang would then never
	// end.
	if !strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		_, _ = params(r)
	}
	s.kit.ServeHTTP(w, r)
}

// The document's status texts.
var statusText = map[int]string{
	10000: "返回成功",
	10001: "appid必须指定,可以我的应用里面查看",
	10002: "sign值必须指定,加密规则请前往帮助中心查看",
	10003: "sign值验证不通过,加密规则请前往帮助中心查看",
	10004: "时差不能超过10分钟,可以不传递这个参数,注意时间戳单位是秒",
	10005: "appid错误,请检查appid值,前往会员中心->我的应用查看或添加",
	10006: "当前IP地址未授权,请前往用户中心->我的应用添加ip",
	10007: "应用被禁用,请联系客服处理",
	10008: "应用内没有该接口,请到我的应用里面添加这个接口",
	10009: "api接口不存在",
	10010: "您没有添加该api接口",
	10011: "api已经到期",
	10012: "没有订购任何api,请前往购买后再操作",
	10013: "该接口已经暂停使用",
	10014: "未知的错误,可以联系客服处理",
	10015: "参数个数错误",
	10017: "time必须是整型",
	10018: "次数不足",
	10020: "子接口不存在,可能已经被关闭",
	10021: "服务器发生错误",
	10022: "帐户余额不足,请充值!",
	10023: "订单提交成功,等待回调结果",
	10024: "调试模式数据",
	10025: "查无数据",
}

// outcome is what a call answers.
type outcome struct {
	code    int
	message string
	retdata any
}

func status(code int) outcome { return outcome{code: code, message: statusText[code]} }

// info is 10019, whose text is the detail ({@info}).
func info(format string, args ...any) outcome {
	return outcome{code: 10019, message: fmt.Sprintf(format, args...)}
}

var callbackPattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$`)

// params reads a request's parameters: the query, and the form body of a
// POST; the first value of a key counts.
func params(r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

// serve is the provider's logic, behind the kit.
func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	nowText := strconv.FormatInt(now.Unix(), 10)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		body, ct := encode(formatJSON, "", envelope(10014, statusText[10014], nil, nowText))
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write(body)
		return
	}
	p, err := params(r)
	if err != nil {
		write(w, formatJSON, "", envelope(10015, statusText[10015], nil, nowText))
		return
	}
	format := strings.ToLower(p.Get("format"))
	callback := p.Get("callback")
	switch format {
	case "":
		format = formatJSON
	case formatJSON, formatXML:
	case formatJSONP:
		if callback == "" {
			callback = defaultCallback
		}
		if !callbackPattern.MatchString(callback) {
			write(w, formatJSON, "", envelope(10019, "callback参数格式错误", nil, nowText))
			return
		}
	default:
		write(w, formatJSON, "", envelope(10019, "format参数错误,支持json,xml,jsonp", nil, nowText))
		return
	}
	replyTime := nowText
	if t := p.Get("time"); t != "" {
		if _, err := strconv.ParseInt(t, 10, 64); err == nil {
			replyTime = t
		}
	}
	out := s.handle(r, p, now)
	write(w, format, callback, envelope(out.code, out.message, out.retdata, replyTime))
}

func (s *Sandbox) handle(r *http.Request, p url.Values, now time.Time) outcome {
	var api func(p url.Values, now time.Time, appid string) outcome
	switch r.URL.Path {
	case s.path:
		api = s.valuate
	case s.cityPath:
		api = s.searchCities
	case s.typePath:
		api = s.searchTypes
	default:
		return status(10009)
	}
	appid := p.Get("appid")
	if appid == "" {
		return status(10001)
	}
	sign := p.Get("sign")
	if sign == "" {
		return status(10002)
	}
	s.mu.Lock()
	acc, ok := s.accounts[appid]
	var a account
	if ok {
		a = *acc
	}
	s.mu.Unlock()
	if !ok {
		return status(10005)
	}
	if a.Disabled {
		return status(10007)
	}
	if ip := remoteIP(r); !a.allows(ip) {
		o := status(10006)
		o.message += ":" + ip.String()
		return o
	}
	if t := p.Get("time"); t != "" {
		sec, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return status(10017)
		}
		skew := now.Unix() - sec
		if skew < 0 {
			skew = -skew
		}
		if skew > int64(TimeWindow/time.Second) {
			return status(10004)
		}
	}
	if !verify(p, a.Secret, a.SignMode) {
		return status(10003)
	}
	return api(p, now, appid)
}

func remoteIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

func (a *account) allows(ip net.IP) bool {
	if len(a.nets) == 0 {
		return true
	}
	for _, n := range a.nets {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// expectedSign computes the sign the provider expects.
func expectedSign(p url.Values, secret, mode string) string {
	if mode == SignHash {
		return secret
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if v := p.Get(k); v != "" {
			b.WriteString(k + v)
		}
	}
	b.WriteString(secret)
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func verify(p url.Values, secret, mode string) bool {
	want := expectedSign(p, secret, mode)
	return subtle.ConstantTimeCompare([]byte(p.Get("sign")), []byte(want)) == 1
}

// malformedReply is the kit's malformed body: a reply cut short, in the
// format the request asked for.
func malformedReply(w http.ResponseWriter, r *http.Request) {
	p, _ := params(r)
	switch strings.ToLower(p.Get("format")) {
	case formatXML:
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
			`<root><codeid>10000</codeid><message>返回成功</message><retdata><car_personal>28.1`))
	case formatJSONP:
		cb := p.Get("callback")
		if !callbackPattern.MatchString(cb) {
			cb = defaultCallback
		}
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
		_, _ = w.Write([]byte(cb + `({"codeid":10000,"message":"返回成功","retdata":{"car_personal":28.1`))
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`{"codeid":10000,"message":"返回成功","retdata":{"car_personal":28.1`))
	}
}
