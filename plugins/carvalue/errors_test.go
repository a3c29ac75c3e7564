package carvalue_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// Every status code of the document maps to its sdk error, keeping the
// provider's code and text; the table is the README's.
func TestEveryStatusCodeMapsToItsSDKError(t *testing.T) {
	cases := []struct {
		codeid    int
		message   string
		code      sdk.Code
		retryable bool
	}{
		{10001, "appid必须指定,可以我的应用里面查看", sdk.CodeUnauthenticated, false},
		{10002, "sign值必须指定,加密规则请前往帮助中心查看", sdk.CodeUnauthenticated, false},
		{10003, "sign值验证不通过,加密规则请前往帮助中心查看", sdk.CodeUnauthenticated, false},
		{10004, "时差不能超过10分钟,可以不传递这个参数,注意时间戳单位是秒", sdk.CodeUnauthenticated, false},
		{10005, "appid错误,请检查appid值,前往会员中心->我的应用查看或添加", sdk.CodeUnauthenticated, false},
		{10006, "当前IP地址未授权,请前往用户中心->我的应用添加ip:203.0.113.9", sdk.CodeForbidden, false},
		{10007, "应用被禁用,请联系客服处理", sdk.CodeForbidden, false},
		{10008, "应用内没有该接口,请到我的应用里面添加这个接口", sdk.CodeForbidden, false},
		{10009, "api接口不存在", sdk.CodeNotFound, false},
		{10010, "您没有添加该api接口", sdk.CodeForbidden, false},
		{10011, "api已经到期", sdk.CodeQuotaExhausted, false},
		{10012, "没有订购任何api,请前往购买后再操作", sdk.CodeForbidden, false},
		{10013, "该接口已经暂停使用", sdk.CodeUnavailable, true},
		{10014, "未知的错误,可以联系客服处理", sdk.CodeProviderError, false},
		{10015, "参数个数错误", sdk.CodeInvalidArgument, false},
		{10016, "not in the document", sdk.CodeProviderError, false},
		{10017, "time必须是整型", sdk.CodeInvalidArgument, false},
		{10018, "次数不足", sdk.CodeQuotaExhausted, false},
		{10019, "car_miles格式错误", sdk.CodeInvalidArgument, false},
		{10020, "子接口不存在,可能已经被关闭", sdk.CodeNotFound, false},
		{10021, "服务器发生错误", sdk.CodeUnavailable, true},
		{10022, "帐户余额不足,请充值!", sdk.CodeQuotaExhausted, false},
		{10023, "订单提交成功,等待回调结果", sdk.CodeUnavailable, true},
		{10024, "调试模式数据", sdk.CodeProviderError, false},
		{10025, "查无数据", sdk.CodeNotFound, false},
		{99999, "something new", sdk.CodeProviderError, false},
	}
	for _, c := range cases {
		for _, format := range []string{"json", "xml", "jsonp"} {
			t.Run(fmt.Sprintf("%d/%s", c.codeid, format), func(t *testing.T) {
				body := fmt.Sprintf(`{"codeid":%d,"message":%q,"retdata":[],"time":"1749954600"}`, c.codeid, c.message)
				switch format {
				case "xml":
					body = fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><root><codeid>%d</codeid><message>%s</message><retdata></retdata></root>`, c.codeid, c.message)
				case "jsonp":
					body = "jsonpReturn(" + body + ");"
				}
				s := newStub(t, http.StatusOK, "", body)
				a := s.adapter(t, map[string]string{"format": format})
				_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
				se := sdkErr(t, err)
				if se.Code != c.code || se.Retryable != c.retryable {
					t.Errorf("code %s retryable %v, want %s %v", se.Code, se.Retryable, c.code, c.retryable)
				}
				if se.ProviderCode != strconv.Itoa(c.codeid) || se.ProviderMessage != c.message {
					t.Errorf("provider code/message %q %q", se.ProviderCode, se.ProviderMessage)
				}
				if !strings.Contains(se.Message, strconv.Itoa(c.codeid)) {
					t.Errorf("message %q does not name the status", se.Message)
				}
			})
		}
	}
	// The table covers the whole document: 10001-10025 but the missing 10016.
	for code := 10001; code <= 10025; code++ {
		if _, ok := carvalue.Statuses[code]; !ok && code != 10016 {
			t.Errorf("status %d is not in carvalue.Statuses", code)
		}
	}
}

// The statuses the sandbox produces, end to end through the adapter.
func TestSandboxStatusesThroughTheAdapter(t *testing.T) {
	cases := []struct {
		name     string
		opts     sandbox.Options
		over     map[string]string
		item     sdk.Item
		prepare  func(e *env, a *carvalue.Adapter)
		codeid   string
		code     sdk.Code
		billable bool
	}{
		{name: "wrong secret", over: map[string]string{"secret": "wrongsecret00000000000000000000x"}, codeid: "10003", code: sdk.CodeUnauthenticated},
		{name: "hash mode against an md5 account", over: map[string]string{"sign_mode": "hash"}, codeid: "10003", code: sdk.CodeUnauthenticated},
		{name: "md5 against a hash account", opts: sandbox.Options{Accounts: map[string]sandbox.Account{"h": {Secret: "hsecret", SignMode: "hash"}}},
			over: map[string]string{"appid": "h", "secret": "hsecret"}, codeid: "10003", code: sdk.CodeUnauthenticated},
		{name: "unknown appid", over: map[string]string{"appid": "nobody"}, codeid: "10005", code: sdk.CodeUnauthenticated},
		{name: "clock 11 minutes off", prepare: func(e *env, a *carvalue.Adapter) {
			a.Now = func() time.Time { return testNow.Add(-10*time.Minute - time.Second) }
		}, codeid: "10004", code: sdk.CodeUnauthenticated},
		{name: "IP not allowed", opts: sandbox.Options{Accounts: map[string]sandbox.Account{"rg-sandbox": {Secret: sandbox.DemoSecret, AllowedIPs: []string{"203.0.113.0/24"}}}},
			codeid: "10006", code: sdk.CodeForbidden},
		{name: "application disabled", opts: sandbox.Options{Accounts: map[string]sandbox.Account{"rg-sandbox": {Secret: sandbox.DemoSecret, Disabled: true}}},
			codeid: "10007", code: sdk.CodeForbidden},
		{name: "clock 10 minutes off is still fine", prepare: func(e *env, a *carvalue.Adapter) {
			a.Now = func() time.Time { return testNow.Add(-10 * time.Minute) }
		}},
		{name: "wrong path", over: map[string]string{"path": "/pyi/201/378"}, codeid: "10009", code: sdk.CodeNotFound},
		{name: "out of calls", opts: sandbox.Options{Accounts: map[string]sandbox.Account{"rg-sandbox": {Secret: sandbox.DemoSecret, CallsRemaining: sandbox.Calls(0)}}},
			codeid: "10018", code: sdk.CodeQuotaExhausted},
		{name: "unknown car type", item: carItem(func(c *sdk.Car) { c.TypeID = "999" }), codeid: "10025", code: sdk.CodeNotFound},
		{name: "unknown city", item: carItem(func(c *sdk.Car) { c.CityID = "999999" }), codeid: "10025", code: sdk.CodeNotFound},
		{name: "registered before the model year", item: carItem(func(c *sdk.Car) { c.TypeID = "61" }), codeid: "10025", code: sdk.CodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts)
			a := e.adapter(t, c.over)
			if c.prepare != nil {
				c.prepare(e, a)
			}
			item := c.item
			if item.Car == nil {
				item = carItem(nil)
			}
			_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: item})
			if c.code == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			se := sdkErr(t, err)
			if se.Code != c.code || se.ProviderCode != c.codeid || se.ProviderMessage == "" {
				t.Errorf("got %v, want %s with provider code %s", se, c.code, c.codeid)
			}
			if n := e.sb.Billed("rg-sandbox"); n != 0 {
				t.Errorf("a failed valuation was billed (%d)", n)
			}
		})
	}
}

// Replies of the wrong shape are provider errors (never a panic, never a
// price); HTTP failures without a provider reply map by status.
func TestMalformedRepliesAndHTTPFailures(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		code   sdk.Code
	}{
		{"truncated json", 200, `{"codeid":10000,"message":"返回成功","retdata":{"car_personal":28.1`, sdk.CodeProviderError},
		{"truncated xml", 200, `<?xml version="1.0"?><root><codeid>10000</codeid><retdata><car_personal>28.1`, sdk.CodeProviderError},
		{"truncated jsonp", 200, `jsonpReturn({"codeid":10000,"retdata":`, sdk.CodeProviderError},
		{"html", 200, `<html><body>Bad Gateway</body>`, sdk.CodeProviderError},
		{"empty body", 200, ``, sdk.CodeProviderError},
		{"plain text", 200, `ok`, sdk.CodeProviderError},
		{"no codeid", 200, `{"message":"返回成功","retdata":{}}`, sdk.CodeProviderError},
		{"codeid not a number", 200, `{"codeid":"ok","message":"返回成功"}`, sdk.CodeProviderError},
		{"a list at the top", 200, `[1,2]`, sdk.CodeProviderError},
		{"success without prices", 200, `{"codeid":10000,"message":"返回成功","retdata":{"car_fullname":"x"}}`, sdk.CodeProviderError},
		{"success with retdata a string", 200, `{"codeid":10000,"message":"返回成功","retdata":""}`, sdk.CodeProviderError},
		{"price not a number", 200, `{"codeid":10000,"retdata":{"car_purchase":"abc"}}`, sdk.CodeProviderError},
		{"negative price", 200, `{"codeid":10000,"retdata":{"car_purchase":-1.5}}`, sdk.CodeProviderError},
		{"price an object", 200, `{"codeid":10000,"retdata":{"car_purchase":{"v":1}}}`, sdk.CodeProviderError},
		{"two json values", 200, `{"codeid":10000}{"codeid":10021}`, sdk.CodeProviderError},
		{"HTTP 500 text", 500, `Internal Server Error`, sdk.CodeUnavailable},
		{"HTTP 502 html", 502, `<html>bad gateway</html>`, sdk.CodeUnavailable},
		{"HTTP 429", 429, `slow down`, sdk.CodeRateLimited},
		{"HTTP 404", 404, `not found`, sdk.CodeNotFound},
		{"HTTP 403", 403, `forbidden`, sdk.CodeForbidden},
		{"HTTP 500 with a provider reply", 500, `{"codeid":10021,"message":"服务器发生错误"}`, sdk.CodeUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStub(t, c.status, "", c.body)
			a := s.adapter(t, nil)
			_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
			se := sdkErr(t, err)
			if se.Code != c.code {
				t.Errorf("got %v, want %s", se, c.code)
			}
			if se.Retryable != c.code.Retryable() {
				t.Errorf("retryable %v for %s", se.Retryable, se.Code)
			}
		})
	}
}

// The sandbox's malformed-body fault, in each format, is a provider error.
func TestSandboxMalformedFault(t *testing.T) {
	for _, format := range []string{"json", "xml", "jsonp"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, sandbox.Options{})
			if err := e.sb.Kit().SetFaults(sandboxkit.Faults{MalformedRate: 1}); err != nil {
				t.Fatal(err)
			}
			a := e.adapter(t, map[string]string{"format": format})
			_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
			if se := sdkErr(t, err); se.Code != sdk.CodeProviderError || !strings.Contains(se.Message, "malformed") {
				t.Errorf("got %v", se)
			}
		})
	}
}

// A hung provider ends at the configured timeout; the caller's own
// cancellation is reported as such.
func TestTimeoutAndCancellation(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	if err := e.sb.Kit().SetFaults(sandboxkit.Faults{HangRate: 1}); err != nil {
		t.Fatal(err)
	}
	a := e.adapter(t, map[string]string{"timeout": "50ms"})
	_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
	if se := sdkErr(t, err); se.Code != sdk.CodeDeadlineExceeded || !se.Retryable {
		t.Errorf("timeout: %v", se)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = a.Quote(ctx, &sdk.QuoteRequest{Item: carItem(nil)})
	if se := sdkErr(t, err); se.Code != sdk.CodeCanceled {
		t.Errorf("canceled: %v", se)
	}
}

// In hash mode the sign is the secret and travels in the GET query; a
// transport error must not carry the URL.
func TestSecretNeverInErrors(t *testing.T) {
	const secret = "topsecret0000000000000000000000z"
	s := newStub(t, 200, "", "")
	url := s.srv.URL
	s.srv.Close()
	a := configure(t, map[string]string{"base_url": url, "appid": "1", "secret": secret, "sign_mode": "hash", "method": "GET"}, nil,
		func() time.Time { return testNow })
	_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
	se := sdkErr(t, err)
	if se.Code != sdk.CodeUnavailable || !se.Retryable {
		t.Errorf("got %v, want unavailable", se)
	}
	if strings.Contains(se.Error(), secret) || strings.Contains(se.Error(), "sign=") {
		t.Fatalf("the error carries the secret: %v", se)
	}
}

func TestNotConfigured(t *testing.T) {
	a := carvalue.New()
	_, err := a.Quote(context.Background(), &sdk.QuoteRequest{Item: carItem(nil)})
	if sdk.CodeOf(err) != sdk.CodeUnavailable {
		t.Fatalf("got %v", err)
	}
}
