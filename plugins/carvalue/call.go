package carvalue

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
)

// formContentType is the Content-Type the document requires on a POST.
const formContentType = "application/x-www-form-urlencoded;charset=utf-8"

// signedParams adds the public parameters (appid, format, callback for
// jsonp, time) to params and signs them. params is changed in place.
func signedParams(cfg *config, params url.Values, now time.Time) url.Values {
	params.Set("appid", cfg.appID)
	params.Set("format", cfg.format)
	if cfg.format == FormatJSONP {
		params.Set("callback", cfg.callback)
	} else {
		params.Del("callback")
	}
	params.Set("time", strconv.FormatInt(now.Unix(), 10))
	params.Del("sign")
	params.Set("sign", Sign(params, cfg.secret, cfg.signMode))
	return params
}

// buildRequest returns the HTTP request of a call: the parameters in the
// query for GET, in a form body for POST.
func buildRequest(ctx context.Context, cfg *config, path string, params url.Values) (*http.Request, error) {
	endpoint := cfg.endpoint(path)
	enc := params.Encode()
	var req *http.Request
	var err error
	if cfg.method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+enc, nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(enc))
		if req != nil {
			req.Header.Set("Content-Type", formContentType)
		}
	}
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInvalidArgument, "carvalue: building the request to %s: %v", path, err)
	}
	req.Header.Set("Accept", "application/json, text/xml, application/javascript;q=0.9, */*;q=0.1")
	req.Header.Set("User-Agent", "recyclegate-carvalue/"+Version)
	return req, nil
}

// call signs params, sends them to path and decodes the reply. It returns
// the reply only for codeid 10000; every other outcome is an *sdk.Error.
func (a *Adapter) call(ctx context.Context, cfg *config, log *slog.Logger, path string, params url.Values) (*reply, error) {
	start := a.now()
	params = signedParams(cfg, params, start)
	cctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := buildRequest(cctx, cfg, path, params)
	if err != nil {
		return nil, err
	}
	// The URL never reaches a message: it carries the sign, the secret
	// itself in hash mode.
	resp, body, err := httpkit.Do(a.client(), req, httpkit.MaxBody, "carvalue "+path)
	if err != nil {
		return nil, err
	}
	r, derr := decodeReply(body)
	elapsed := time.Since(start)
	if derr != nil {
		log.Warn("call failed", "path", path, "http_status", resp.StatusCode, "error", derr, "elapsed", elapsed)
		if resp.StatusCode != http.StatusOK {
			return nil, httpStatusError(resp, path)
		}
		return nil, derr
	}
	log.Debug("call", "path", path, "http_status", resp.StatusCode, "codeid", r.codeid, "elapsed", elapsed)
	if r.codeid != CodeSuccess {
		return nil, StatusError(r.codeid, r.message)
	}
	if resp.StatusCode != http.StatusOK {
		// Success in the body wins: the call was billed.
		log.Warn("success reply with a non-200 HTTP status", "path", path, "http_status", resp.StatusCode)
	}
	return r, nil
}

// httpStatusError maps an HTTP failure whose body is not a provider reply.
func httpStatusError(resp *http.Response, path string) *sdk.Error {
	msg := fmt.Sprintf("carvalue: %s answered HTTP %d without a provider reply", path, resp.StatusCode)
	var e *sdk.Error
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e = sdk.Errorf(sdk.CodeRateLimited, "%s", msg)
		e.RetryAfter = httpkit.RetryAfter(resp.Header)
	case resp.StatusCode == http.StatusNotFound:
		e = sdk.Errorf(sdk.CodeNotFound, "%s (check the path config keys)", msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e = sdk.Errorf(sdk.CodeForbidden, "%s", msg)
	case resp.StatusCode >= 500:
		e = sdk.Errorf(sdk.CodeUnavailable, "%s", msg)
	default:
		e = sdk.Errorf(sdk.CodeProviderError, "%s", msg)
	}
	e.ProviderCode = "HTTP " + strconv.Itoa(resp.StatusCode)
	return e
}
