package alibaba1688

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// The provider's reply codes (the "code" field, a string). See README.md.
const (
	CodeOK              = "200" // success
	CodeBadParameter    = "400" // a parameter is missing or malformed
	CodeBadAppKey       = "401" // app_key missing or unknown
	CodeBadSignature    = "402" // sign missing or wrong
	CodeBadTimestamp    = "403" // timestamp outside the provider's window
	CodeNotFound        = "404" // no such item or shop
	CodeUnknownAPI      = "405" // api_name not offered
	CodeRateLimited     = "429" // too many calls for this app_key
	CodeProviderFailure = "500" // the provider failed
)

// call signs and sends one call and returns the top-level fields of a
// successful reply. Every failure is an *sdk.Error.
func (a *Adapter) call(ctx context.Context, apiName string, callParams map[string]string) (map[string]json.RawMessage, error) {
	c := a.cfg.Load()
	if c == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Provider: ProviderID,
			Message: "alibaba1688 is not configured: call Configure first"}
	}
	params := make(map[string]string, len(callParams)+7)
	for k, v := range callParams {
		params[k] = v
	}
	params["app_key"] = c.appKey
	params["api_name"] = apiName
	params["timestamp"] = strconv.FormatInt(a.now().UnixMilli(), 10)
	params["sign_method"] = signMethod
	params["v"] = apiVersion
	params["format"] = apiFormat
	params["sign"] = Sign(params, c.appSecret)

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+encodeQuery(params), nil)
	if err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidArgument, Provider: ProviderID,
			Message: fmt.Sprintf("building the %s request: %v", apiName, err)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "recyclegate-alibaba1688/0.1")
	start := time.Now()
	resp, err := a.client().Do(req)
	if err != nil {
		e := transportError(ctx, apiName, err)
		c.log.Debug("alibaba1688: call failed", "api_name", apiName, "error", e.Message, "elapsed", time.Since(start))
		return nil, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, transportError(ctx, apiName, err)
	}
	if len(body) > maxBody {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: ProviderID,
			Message: fmt.Sprintf("1688 %s: reply larger than %d bytes", apiName, maxBody)}
	}
	top, e := decodeReply(apiName, resp.StatusCode, body)
	if e != nil {
		e.ProviderMessage = scrub(e.ProviderMessage, c.appSecret)
		e.Message = scrub(e.Message, c.appSecret)
		c.log.Debug("alibaba1688: call refused", "api_name", apiName, "http_status", resp.StatusCode,
			"code", e.ProviderCode, "error", e.Message, "elapsed", time.Since(start))
		return nil, e
	}
	c.log.Debug("alibaba1688: call done", "api_name", apiName, "elapsed", time.Since(start))
	return top, nil
}

// transportError classifies a failure to get a reply at all.
func transportError(ctx context.Context, apiName string, err error) *sdk.Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL holds the signed query: keep it out of messages
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return &sdk.Error{Code: sdk.CodeDeadlineExceeded, Provider: ProviderID, Retryable: true,
			Message: fmt.Sprintf("1688 %s: no reply before the deadline", apiName)}
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return &sdk.Error{Code: sdk.CodeCanceled, Provider: ProviderID,
			Message: fmt.Sprintf("1688 %s: canceled by the caller", apiName)}
	}
	return &sdk.Error{Code: sdk.CodeUnavailable, Provider: ProviderID, Retryable: true,
		Message: fmt.Sprintf("1688 %s: %v", apiName, err)}
}

// decodeReply reads a reply: a JSON object whose "code" (a string, or a
// number from a lenient server) is "200" on success. Anything else becomes
// an *sdk.Error carrying the provider's code and message. It never panics.
func decodeReply(apiName string, status int, body []byte) (map[string]json.RawMessage, *sdk.Error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		if e := httpStatusError(apiName, status, body); e != nil {
			return nil, e
		}
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: ProviderID,
			Message: fmt.Sprintf("1688 %s: the reply is not a JSON object: %s", apiName, snippet(body))}
	}
	code, err := text(top["code"])
	if err != nil || code == "" {
		if e := httpStatusError(apiName, status, body); e != nil {
			return nil, e
		}
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: ProviderID,
			Message: fmt.Sprintf("1688 %s: the reply has no code: %s", apiName, snippet(body))}
	}
	if code == CodeOK {
		return top, nil
	}
	msg := ""
	for _, k := range []string{"message", "msg", "error", "error_msg", "reason"} {
		if s, err := text(top[k]); err == nil && s != "" {
			msg = s
			break
		}
	}
	return nil, codeError(apiName, code, msg)
}

// codeError maps a provider code to an *sdk.Error.
func codeError(apiName, code, msg string) *sdk.Error {
	e := &sdk.Error{Provider: ProviderID, ProviderCode: code, ProviderMessage: msg}
	var what string
	switch code {
	case CodeBadParameter:
		e.Code, what = sdk.CodeInvalidArgument, "a parameter was refused"
	case CodeBadAppKey:
		e.Code, what = sdk.CodeUnauthenticated, "app_key refused (check app_key)"
	case CodeBadSignature:
		e.Code, what = sdk.CodeUnauthenticated, "signature refused (check app_secret)"
	case CodeBadTimestamp:
		e.Code, what = sdk.CodeUnauthenticated, "timestamp refused (check this host's clock)"
	case CodeNotFound:
		e.Code, what = sdk.CodeNotFound, "not found"
	case CodeUnknownAPI:
		e.Code, what = sdk.CodeUnsupported, "the provider does not offer this call"
	case CodeRateLimited:
		e.Code, what = sdk.CodeRateLimited, "too many calls"
		e.RetryAfter = time.Second
	default:
		e.Code, what = sdk.CodeProviderError, "the provider failed"
		if n, err := strconv.Atoi(code); err == nil && n >= 500 && n <= 599 {
			e.Retryable = true
		}
	}
	if e.Code.Retryable() {
		e.Retryable = true
	}
	e.Message = fmt.Sprintf("1688 %s: %s", apiName, what)
	if msg != "" {
		e.Message += ": " + msg
	}
	return e
}

// httpStatusError classifies a reply without a usable code by its HTTP
// status; it returns nil for a 2xx status (the body is then at fault).
func httpStatusError(apiName string, status int, body []byte) *sdk.Error {
	e := &sdk.Error{Provider: ProviderID, ProviderCode: "HTTP " + strconv.Itoa(status)}
	switch {
	case status >= 200 && status <= 299:
		return nil
	case status == http.StatusTooManyRequests:
		e.Code, e.Retryable, e.RetryAfter = sdk.CodeRateLimited, true, time.Second
	case status == http.StatusUnauthorized:
		e.Code = sdk.CodeUnauthenticated
	case status == http.StatusForbidden:
		e.Code = sdk.CodeForbidden
	case status == http.StatusNotFound:
		e.Code = sdk.CodeProviderError
		e.Message = fmt.Sprintf("1688 %s: HTTP 404 for the API path (check base_url): %s", apiName, snippet(body))
		return e
	case status >= 500:
		e.Code, e.Retryable = sdk.CodeUnavailable, true
	default:
		e.Code = sdk.CodeProviderError
	}
	e.Message = fmt.Sprintf("1688 %s: HTTP %d: %s", apiName, status, snippet(body))
	return e
}

// snippet quotes the start of a body for an error message.
func snippet(body []byte) string {
	const max = 120
	s := strings.ToValidUTF8(string(body), "?")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// scrub removes the app secret from a text that came from outside.
func scrub(s, secret string) string {
	if secret == "" || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
