package aihuishou

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
)

// Provider codes the sandbox documents (plugins/aihuishou/README.md); other
// codes are mapped by their HTTP-like prefix or become provider_error.
const (
	pcUnreleased     = "20001"
	pcCounterfeit    = "20002"
	pcExpired        = "30001"
	pcTimestampSkew  = "40002"
	pcTimestampBad   = "40003"
	pcQuotaExhausted = "40301"
)

// reply is a decoded provider answer: its data and the body as sent.
type reply struct {
	data json.RawMessage
	raw  json.RawMessage
}

// enterprise calls the enterprise API: a JSON POST signed in X-Sign.
func (a *Adapter) enterprise(ctx context.Context, path string, params map[string]any) (*reply, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	body := make(map[string]any, len(params)+1)
	for k, v := range params {
		body[k] = v
	}
	body["timestamp"] = Timestamp(a.now())
	sign, err := SignEnterprise(body, c.secret)
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInvalidArgument, "aihuishou %s: %v", path, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return nil, sdk.Errorf(sdk.CodeInvalidArgument, "aihuishou %s: encoding the body: %v", path, err)
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, &buf)
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInvalidArgument, "aihuishou %s: %v", path, err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-AppId", c.appID)
	req.Header.Set("X-Sign", sign)
	return a.send(c, path, req)
}

// open calls the open platform: a form POST signed with HMAC-SHA256 in "sign".
func (a *Adapter) open(ctx context.Context, path string, params url.Values) (*reply, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			form.Set(k, vs[0])
		}
	}
	form.Set("app_id", c.appID)
	form.Set("timestamp", Timestamp(a.now()))
	form.Set("version", "v2")
	form.Set("sign", SignOpen(form, c.secret))
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.openURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInvalidArgument, "aihuishou %s: %v", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	return a.send(c, path, req)
}

func (a *Adapter) send(c *config, path string, req *http.Request) (*reply, error) {
	start := time.Now()
	resp, body, err := httpkit.Do(a.HTTPClient, req, httpkit.MaxBody, "aihuishou "+path)
	if err != nil {
		return nil, err
	}
	r, err := decodeReply(path, resp.StatusCode, resp.Header, body)
	c.log.Debug("aihuishou call", "path", path, "status", resp.StatusCode, "took", time.Since(start), "ok", err == nil)
	return r, err
}

// envelope is {"code": 0, "msg": "success", "data": {...}}. code may come as a
// number or a string; some error bodies say "message" instead of "msg".
type envelope struct {
	Code    json.RawMessage `json:"code"`
	Msg     json.RawMessage `json:"msg"`
	Message json.RawMessage `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// rawText reads a string or a number as text; anything else is "".
func rawText(r json.RawMessage) string {
	s, _ := httpkit.Text(r)
	return s
}

// decodeReply turns a status and body into data or an *sdk.Error.
func decodeReply(path string, status int, h http.Header, body []byte) (*reply, error) {
	var env envelope
	envErr := json.Unmarshal(body, &env)
	code := rawText(env.Code)
	msg := rawText(env.Msg)
	if msg == "" {
		msg = rawText(env.Message)
	}
	if status != http.StatusOK {
		if envErr != nil || msg == "" {
			msg = httpkit.Snippet(body)
		}
		return nil, statusError(path, status, code, msg, h)
	}
	if envErr != nil {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply is not the documented JSON envelope: %s", path, httpkit.Snippet(body))
	}
	if code == "" {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no code", path)
	}
	if code != "0" {
		return nil, codeError(path, code, msg)
	}
	d := bytes.TrimSpace(env.Data)
	if len(d) == 0 || d[0] != '{' {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply data is not an object: %s", path, httpkit.Snippet(d))
	}
	return &reply{data: d, raw: json.RawMessage(body)}, nil
}

// statusError maps an HTTP status onto an sdk code.
func statusError(path string, status int, code, msg string, h http.Header) *sdk.Error {
	e := &sdk.Error{ProviderCode: code, ProviderMessage: msg}
	if e.ProviderCode == "" {
		e.ProviderCode = strconv.Itoa(status)
	}
	switch status {
	case http.StatusBadRequest:
		e.Code = sdk.CodeInvalidArgument
		if isTimestampProblem(code, msg) {
			e.Message = fmt.Sprintf("aihuishou %s: the provider refused the request timestamp (it allows 5 minutes of skew, UTC+8): check the host's clock", path)
		} else {
			e.Message = fmt.Sprintf("aihuishou %s: the provider refused the request: %s", path, msg)
		}
	case http.StatusUnauthorized:
		e.Code = sdk.CodeUnauthenticated
		e.Message = fmt.Sprintf("aihuishou %s: credentials or signature refused (check app_id and app_secret, and the IP allow-list): %s", path, msg)
	case http.StatusForbidden:
		if isQuotaProblem(code, msg) {
			e.Code = sdk.CodeQuotaExhausted
			e.Message = fmt.Sprintf("aihuishou %s: the daily quota is spent (it resets at 00:00 UTC+8): %s", path, msg)
		} else {
			e.Code = sdk.CodeForbidden
			e.Message = fmt.Sprintf("aihuishou %s: not permitted for this account: %s", path, msg)
		}
	case http.StatusNotFound:
		e.Code = sdk.CodeNotFound
		e.Message = fmt.Sprintf("aihuishou %s: not found (model not listed, unknown order, or wrong path): %s", path, msg)
	case http.StatusTooManyRequests:
		e.Code = sdk.CodeRateLimited
		e.RetryAfter = max(httpkit.RetryAfter(h), time.Second)
		e.Message = fmt.Sprintf("aihuishou %s: rate limited (5 calls a second): %s", path, msg)
	case http.StatusInternalServerError:
		e.Code = sdk.CodeProviderError
		e.Retryable = true
		e.Message = fmt.Sprintf("aihuishou %s: provider fault: %s", path, msg)
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		e.Code = sdk.CodeUnavailable
		e.Message = fmt.Sprintf("aihuishou %s: provider unavailable (HTTP %d): %s", path, status, msg)
	default:
		e.Code = sdk.CodeProviderError
		e.Retryable = status >= 500
		e.Message = fmt.Sprintf("aihuishou %s: unexpected HTTP %d: %s", path, status, msg)
	}
	if e.Code.Retryable() {
		e.Retryable = true
	}
	return e
}

// codeError maps a non-zero code of an HTTP 200 reply.
func codeError(path, code, msg string) *sdk.Error {
	e := &sdk.Error{ProviderCode: code, ProviderMessage: msg}
	switch {
	case code == pcUnreleased:
		e.Code = sdk.CodeNotFound
		e.Message = fmt.Sprintf("aihuishou %s: no price: the model is not released yet: %s", path, msg)
	case code == pcCounterfeit:
		e.Code = sdk.CodeNotFound
		e.Message = fmt.Sprintf("aihuishou %s: no price: counterfeit model or brand/model mismatch: %s", path, msg)
	case code == pcExpired:
		e.Code = sdk.CodeInvalidArgument
		e.Message = fmt.Sprintf("aihuishou %s: the valuation has expired; quote again: %s", path, msg)
	case strings.HasPrefix(code, "300") && len(code) == 5:
		e.Code = sdk.CodeConflict
		e.Message = fmt.Sprintf("aihuishou %s: not possible in the order's current state: %s", path, msg)
	case len(code) == 5 && code[0] >= '4' && code[0] <= '5':
		status, _ := strconv.Atoi(code[:3])
		return statusError(path, status, code, msg, http.Header{})
	default:
		e.Code = sdk.CodeProviderError
		e.Message = fmt.Sprintf("aihuishou %s: provider error %s: %s", path, code, msg)
	}
	return e
}

func isTimestampProblem(code, msg string) bool {
	if code == pcTimestampSkew || code == pcTimestampBad {
		return true
	}
	l := strings.ToLower(msg)
	return strings.Contains(l, "timestamp") || strings.Contains(msg, "时间戳")
}

func isQuotaProblem(code, msg string) bool {
	if code == pcQuotaExhausted {
		return true
	}
	l := strings.ToLower(msg)
	for _, w := range []string{"quota", "配额", "次数", "额度", "limit exceeded"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// jstr reads a JSON string, or a number as its text, or null as "".
type jstr string

// UnmarshalJSON accepts a string, a number or null.
func (s *jstr) UnmarshalJSON(b []byte) error {
	v, err := httpkit.Text(b)
	*s = jstr(v)
	return err
}

// decodeData decodes a reply's data into v; a wrong shape is a provider_error.
func decodeData(path string, r *reply, v any) error {
	if err := httpkit.DecodeJSON(r.data, v); err != nil {
		return sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply data is not the documented shape: %v", path, err)
	}
	return nil
}

// amount parses a yuan amount (number or text) into fen; required says
// whether a missing one is an error.
func amount(path, field string, raw json.RawMessage, required bool) (*sdk.Money, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" || t == `""` {
		if required {
			return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: reply has no %s", path, field)
		}
		return nil, nil
	}
	fen, err := sdk.ParseAmount(string(raw), sdk.UnitYuan)
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: %s: %v", path, field, err)
	}
	if fen < 0 {
		return nil, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: %s is negative", path, field)
	}
	m := sdk.Fen(fen)
	return &m, nil
}

// timeField parses a provider timestamp (UTC+8); missing gives def.
func timeField(path, field string, v jstr, def time.Time) (time.Time, error) {
	if strings.TrimSpace(string(v)) == "" {
		return def, nil
	}
	t, err := ParseTimestamp(string(v))
	if err != nil {
		return time.Time{}, sdk.Errorf(sdk.CodeProviderError, "aihuishou %s: %s %q is not yyyy-MM-dd HH:mm:ss", path, field, string(v))
	}
	return t, nil
}

// factor parses a discount or coefficient (a JSON number or text).
func factor(raw json.RawMessage) (float64, bool) {
	t := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if t == "" || t == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f > 100 {
		return 0, false
	}
	return f, true
}
