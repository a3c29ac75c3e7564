//go:build wasip1

package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

// Transport is an http.RoundTripper that sends each request through the
// host (v1_http_request). The host reaches only the hosts the provider's
// configuration allows, caps the response size, and bounds the request by
// the caller's deadline and the request context's own deadline.
type Transport struct{}

// HTTPClient returns an *http.Client that sends through the host. Hand it to
// a provider whose HTTP client is injectable; it behaves as a client on a
// native build does, within the host's limits.
func HTTPClient() *http.Client { return &http.Client{Transport: Transport{}} }

// RoundTrip implements http.RoundTripper.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("wasm transport: reading the request body: %w", err)
		}
		body = b
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hr := abi.HTTPRequest{Method: req.Method, URL: req.URL.String(), Headers: req.Header, Body: body}
	if hr.Method == "" {
		hr.Method = http.MethodGet
	}
	if req.Host != "" && req.Host != req.URL.Host {
		hr.Headers = req.Header.Clone()
		if hr.Headers == nil {
			hr.Headers = http.Header{}
		}
		hr.Headers["Host"] = []string{req.Host}
	}
	if traceparent != "" && req.Header.Get("Traceparent") == "" {
		// The call's trace goes with the request (the host replaces it with
		// its own span of the request when it traces).
		h := http.Header(hr.Headers).Clone()
		if h == nil {
			h = http.Header{}
		}
		h["Traceparent"] = []string{traceparent}
		hr.Headers = h
	}
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		hr.TimeoutMS = max(1, int64((left+time.Millisecond-1)/time.Millisecond))
	}
	enc, err := json.Marshal(&hr)
	if err != nil {
		return nil, fmt.Errorf("wasm transport: encoding the request: %w", err)
	}
	out, err := pending(hostHTTPRequest(ptrOf(enc), uint32(len(enc))))
	if err != nil {
		return nil, hostError(err)
	}
	var resp abi.HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("wasm transport: decoding the host's answer: %w", err)
	}
	return &http.Response{
		Status:        strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status),
		StatusCode:    resp.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header(resp.Headers),
		Body:          io.NopCloser(bytes.NewReader(resp.Body)),
		ContentLength: int64(len(resp.Body)),
		Request:       req,
	}, nil
}

// transportError is an error of the host's HTTP import: an *sdk.Error (so
// sdk.AsError keeps its code) that also matches context.DeadlineExceeded or
// context.Canceled when that is what happened, as a native transport's
// error would.
type transportError struct {
	e     *sdk.Error
	cause error
}

func (t *transportError) Error() string { return t.e.Error() }

func (t *transportError) Unwrap() []error {
	if t.cause != nil {
		return []error{t.e, t.cause}
	}
	return []error{t.e}
}

func hostError(err error) error {
	e := sdk.AsError(err)
	t := &transportError{e: e}
	switch e.Code {
	case sdk.CodeDeadlineExceeded:
		t.cause = context.DeadlineExceeded
	case sdk.CodeCanceled:
		t.cause = context.Canceled
	}
	return t
}

var _ http.RoundTripper = Transport{}
