// Package httpkit is the part of a provider's HTTP client that every
// provider writes alike: send a call and read its reply within a size limit,
// every failure an *sdk.Error of the right code; read a reply's JSON without
// losing a number's digits; quote a reply in an error message; honour
// Retry-After. What is a provider's own stays with it: signing, its reply
// envelope, the table of its codes.
//
// Start with Do, one call per provider call, with a request built on the
// caller's context:
//
//	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
//	...
//	resp, body, err := httpkit.Do(a.HTTPClient, req, httpkit.MaxBody, "acme /v1/price")
//	if err != nil {
//		return nil, err // an *sdk.Error, with the call named and the URL left out
//	}
//	var reply acmeReply
//	if err := httpkit.DecodeJSON(body, &reply); err != nil {
//		return nil, sdk.Errorf(sdk.CodeProviderError, "acme /v1/price: %v", err)
//	}
//
// It builds for a WASM guest too (where sdk/wasm's HTTPClient is the
// client). Outside one, a call made within a traced call is a span of its
// own, with the HTTP request's span (otelhttp) below it, and carries the
// trace to the provider in a traceparent header.
package httpkit

import (
	"bytes"
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
	"unicode/utf8"

	"github.com/recyclegate/recyclegate/sdk"
)

// MaxBody is the reply size a provider reads at most unless it knows better:
// 4 MiB, far above any answer the built-in providers give.
const MaxBody = 4 << 20

// Do sends req with client (http.DefaultClient when nil) and reads the
// reply's whole body, at most limit bytes, and closes it. what names the
// call in error messages ("acme /v1/price").
//
// Every failure is an *sdk.Error. No reply at all (or a body cut off) is
// deadline_exceeded when req's context passed its deadline, canceled when
// it was canceled, the transport's own *sdk.Error when it gave one (as
// sdk/wasm's does: forbidden for a host the provider may not reach), and
// unavailable otherwise; deadline_exceeded and unavailable are retryable. Its message never holds the request's URL, which may carry a
// signature or a secret in its query. A body over limit is a
// provider_error. A reply of any status is no error: the status is the
// caller's to read, with the body.
func Do(client *http.Client, req *http.Request, limit int64, what string) (*http.Response, []byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if traced(req.Context()) {
		return doTraced(client, req, limit, what)
	}
	return do(client, req, limit, what)
}

// do is Do without a span.
func do(client *http.Client, req *http.Request, limit int64, what string) (*http.Response, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, transportError(req.Context(), what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, transportError(req.Context(), what, err)
	}
	if int64(len(body)) > limit {
		return nil, nil, sdk.Errorf(sdk.CodeProviderError, "%s: reply larger than %d bytes", what, limit)
	}
	return resp, body, nil
}

// transportError classifies a failure to get a reply.
func transportError(ctx context.Context, what string, err error) *sdk.Error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return sdk.Errorf(sdk.CodeDeadlineExceeded, "%s: no reply before the deadline", what)
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return sdk.Errorf(sdk.CodeCanceled, "%s: canceled by the caller", what)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is known to the caller, and may hold a signed query
	}
	// A transport that speaks sdk has judged already: a WASM guest's, whose
	// host refuses a host the configuration does not allow as forbidden.
	if se := (*sdk.Error)(nil); errors.As(err, &se) && se.Code != sdk.CodeProviderError {
		e := *se
		e.Message = what + ": " + se.Message
		return &e
	}
	return sdk.Errorf(sdk.CodeUnavailable, "%s: %v", what, err)
}

// DecodeJSON decodes data, which must hold one JSON value, into v, keeping
// numbers that land in an any as json.Number: their digits intact, for
// sdk.ParseAmount.
func DecodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// Text reads a JSON value that a provider sends as a string or as a number
// (codes, ids, counts): the string, or the number's literal text; null or
// absent is "". An object, an array or a boolean is an error.
func Text(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	switch {
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", err
		}
		return s, nil
	case t[0] == '-' || (t[0] >= '0' && t[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(t, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
	return "", fmt.Errorf("want a string or a number, got %s", Snippet(t))
}

// RetryAfter is how long a reply asks to wait before the next call, from
// its Retry-After header (seconds, or an HTTP date), at least a second; 0
// when it asks nothing readable.
func RetryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return max(time.Duration(n)*time.Second, time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), time.Second)
	}
	return 0
}

// snippetMax is how much of a body Snippet quotes.
const snippetMax = 120

// Snippet quotes the start of a reply for an error message: trimmed, cut
// after 120 bytes on a character's boundary, invalid UTF-8 replaced.
func Snippet(b []byte) string {
	s := strings.ToValidUTF8(strings.TrimSpace(string(b)), "\uFFFD")
	if len(s) > snippetMax {
		cut := snippetMax
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}
