package alibaba1688

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
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
	resp, body, err := httpkit.Do(a.HTTPClient, req, httpkit.MaxBody, "1688 "+apiName)
	if err != nil {
		e := sdk.AsError(err)
		e.Provider = ProviderID
		c.log.Debug("alibaba1688: call failed", "api_name", apiName, "error", e.Message, "elapsed", time.Since(start))
		return nil, e
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
			Message: fmt.Sprintf("1688 %s: the reply is not a JSON object: %s", apiName, httpkit.Snippet(body))}
	}
	code, err := httpkit.Text(top["code"])
	if err != nil || code == "" {
		if e := httpStatusError(apiName, status, body); e != nil {
			return nil, e
		}
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: ProviderID,
			Message: fmt.Sprintf("1688 %s: the reply has no code: %s", apiName, httpkit.Snippet(body))}
	}
	if code == CodeOK {
		return top, nil
	}
	msg := ""
	for _, k := range []string{"message", "msg", "error", "error_msg", "reason"} {
		if s, err := httpkit.Text(top[k]); err == nil && s != "" {
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
		e.Message = fmt.Sprintf("1688 %s: HTTP 404 for the API path (check base_url): %s", apiName, httpkit.Snippet(body))
		return e
	case status >= 500:
		e.Code, e.Retryable = sdk.CodeUnavailable, true
	default:
		e.Code = sdk.CodeProviderError
	}
	e.Message = fmt.Sprintf("1688 %s: HTTP %d: %s", apiName, status, httpkit.Snippet(body))
	return e
}

// scrub removes the app secret from a text that came from outside.
func scrub(s, secret string) string {
	if secret == "" || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
