package wasm

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// Caps on what a guest may hand the host in one import call.
const (
	maxRequestBytes  = 16 << 20
	maxLogMsgBytes   = 16 << 10
	maxLogAttrsBytes = 64 << 10
	maxRandomBytes   = 1 << 16
)

// instantiateHostModule defines the host imports (module "recyclegate") in
// the module's runtime.
func (m *Module) instantiateHostModule(ctx context.Context) error {
	b := m.rt.NewHostModuleBuilder(abi.ImportModule)
	fn := func(name string, f api.GoModuleFunc, params, results []api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
	}
	fn(abi.ImportHTTPRequest, m.hostHTTPRequest, []api.ValueType{i32, i32}, []api.ValueType{i64})
	fn(abi.ImportConfigGet, m.hostConfigGet, []api.ValueType{i32, i32}, []api.ValueType{i64})
	fn(abi.ImportResultRead, m.hostResultRead, []api.ValueType{i32, i32}, []api.ValueType{i32})
	fn(abi.ImportLog, m.hostLog, []api.ValueType{i32, i32, i32, i32, i32}, nil)
	fn(abi.ImportNow, m.hostNow, nil, []api.ValueType{i64})
	fn(abi.ImportRandom, m.hostRandom, []api.ValueType{i32, i32}, []api.ValueType{i32})
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("wasm: defining host imports: %w", err)
	}
	return nil
}

// readGuest copies n bytes at ptr out of the guest's memory.
func readGuest(mod api.Module, ptr, n uint32) ([]byte, bool) {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

// succeed and fail leave a pending result per the i64 convention.
func (i *instance) succeed(stack []uint64, b []byte) {
	i.pending, i.hasPending = b, true
	stack[0] = uint64(int64(len(b)))
}

func (i *instance) fail(stack []uint64, e *sdk.Error) {
	b, _ := json.Marshal(abi.Error{Code: string(e.Code), Message: i.m.redactWith(i.conf, e.Message), Field: e.Field,
		Retryable: e.Retryable, RetryAfter: int64(e.RetryAfter)})
	i.pending, i.hasPending = b, true
	stack[0] = uint64(-int64(len(b)))
}

// hostInstance returns the calling instance; a host import called outside a
// call (by another module, say) traps.
func hostInstance(ctx context.Context) *instance {
	i := instanceFrom(ctx)
	if i == nil {
		panic("recyclegate host import called outside a call")
	}
	return i
}

func (m *Module) hostResultRead(ctx context.Context, mod api.Module, stack []uint64) {
	i := hostInstance(ctx)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if !i.hasPending {
		stack[0] = uint64(uint32(0xffffffff)) // -1 as i32
		return
	}
	b := i.pending
	if uint32(len(b)) < n {
		n = uint32(len(b))
	}
	if !mod.Memory().Write(ptr, b[:n]) {
		panic("v1_result_read: destination outside the guest's memory")
	}
	i.pending, i.hasPending = nil, false
	stack[0] = uint64(n)
}

func (m *Module) hostNow(_ context.Context, _ api.Module, stack []uint64) {
	stack[0] = uint64(m.cfg.Now().UnixNano())
}

func (m *Module) hostRandom(_ context.Context, mod api.Module, stack []uint64) {
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if n > maxRandomBytes {
		stack[0] = uint64(uint32(0xffffffff))
		return
	}
	dst, ok := mod.Memory().Read(ptr, n) // a view: writing it writes guest memory
	if !ok {
		panic("v1_random: destination outside the guest's memory")
	}
	if _, err := rand.Read(dst); err != nil {
		stack[0] = uint64(uint32(0xffffffff))
		return
	}
	stack[0] = 0
}

func (m *Module) hostConfigGet(ctx context.Context, mod api.Module, stack []uint64) {
	i := hostInstance(ctx)
	key, ok := readGuest(mod, uint32(stack[0]), uint32(stack[1]))
	if !ok {
		panic("v1_config_get: key outside the guest's memory")
	}
	var v string
	found := false
	if i.conf != nil {
		v, found = i.conf.values[string(key)]
	}
	if !found {
		i.fail(stack, &sdk.Error{Code: sdk.CodeNotFound, Message: fmt.Sprintf("no config key %q", key)})
		return
	}
	i.succeed(stack, []byte(v))
}

func (m *Module) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	var conf *configState
	if i := instanceFrom(ctx); i != nil {
		conf = i.conf
	}
	level := slog.Level(int32(uint32(stack[0])))
	msgPtr, msgLen := uint32(stack[1]), uint32(stack[2])
	attrsPtr, attrsLen := uint32(stack[3]), uint32(stack[4])
	msgLen = min(msgLen, maxLogMsgBytes)
	msg, ok := readGuest(mod, msgPtr, msgLen)
	if !ok {
		panic("v1_log: message outside the guest's memory")
	}
	if !m.log.Enabled(ctx, level) {
		return
	}
	var attrs []slog.Attr
	if attrsLen > 0 {
		if attrsLen > maxLogAttrsBytes {
			attrs = append(attrs, slog.String("attrs_dropped", fmt.Sprintf("%d bytes, more than %d", attrsLen, maxLogAttrsBytes)))
		} else if raw, ok := readGuest(mod, attrsPtr, attrsLen); ok {
			var obj map[string]any
			if err := json.Unmarshal(raw, &obj); err != nil {
				attrs = append(attrs, slog.String("attrs", m.redactWith(conf, string(raw))))
			} else {
				attrs = m.attrs(conf, obj)
			}
		}
	}
	m.log.LogAttrs(ctx, level, m.redactWith(conf, string(msg)), attrs...) // the call's: its trace id
}

// attrs turns a decoded JSON object into log attributes, in key order, with
// every string redacted.
func (m *Module) attrs(conf *configState, obj map[string]any) []slog.Attr {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		out = append(out, m.attr(conf, m.redactWith(conf, k), obj[k]))
	}
	return out
}

func (m *Module) attr(conf *configState, k string, v any) slog.Attr {
	switch v := v.(type) {
	case string:
		return slog.String(k, m.redactWith(conf, v))
	case map[string]any:
		as := m.attrs(conf, v)
		args := make([]any, len(as))
		for i, a := range as {
			args[i] = a
		}
		return slog.Group(k, args...)
	case float64:
		return slog.Float64(k, v)
	case bool:
		return slog.Bool(k, v)
	case nil:
		return slog.Any(k, nil)
	default: // arrays: as JSON text
		b, _ := json.Marshal(v)
		return slog.String(k, m.redactWith(conf, string(b)))
	}
}

// redact replaces the provider's secrets in s: those in force, and those of
// a configure call in progress on the instance (conf), if any.
func (m *Module) redact(s string) string { return m.redactWith(nil, s) }

func (m *Module) redactWith(conf *configState, s string) string {
	for _, c := range []*configState{conf, m.conf.Load()} {
		if c == nil {
			continue
		}
		for _, v := range c.secrets {
			if len(v) >= minSecretLen && strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, Redacted)
			}
		}
	}
	return s
}

// Redacted replaces a secret in what a guest logs.
const Redacted = "[REDACTED]"

// minSecretLen: shorter values would redact ordinary words.
const minSecretLen = 4

func (m *Module) hostHTTPRequest(ctx context.Context, mod api.Module, stack []uint64) {
	i := hostInstance(ctx)
	n := uint32(stack[1])
	if n > maxRequestBytes {
		i.fail(stack, &sdk.Error{Code: sdk.CodeInvalidArgument, Message: fmt.Sprintf("HTTP request of %d bytes is more than %d", n, maxRequestBytes)})
		return
	}
	raw, ok := readGuest(mod, uint32(stack[0]), n)
	if !ok {
		panic("v1_http_request: request outside the guest's memory")
	}
	resp, err := m.doHTTP(i.callCtx, i.conf, raw)
	if err != nil {
		i.fail(stack, err)
		return
	}
	out, merr := json.Marshal(resp)
	if merr != nil {
		i.fail(stack, &sdk.Error{Code: sdk.CodeProviderError, Message: "encoding the HTTP response: " + merr.Error()})
		return
	}
	i.succeed(stack, out)
}

// doHTTP sends a guest's request: only to allowed hosts, within the call's
// deadline and the request's own timeout, reading at most MaxResponseBytes.
// Errors never carry the URL (its query may hold a signature or a secret).
func (m *Module) doHTTP(ctx context.Context, conf *configState, raw []byte) (*abi.HTTPResponse, *sdk.Error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var hr abi.HTTPRequest
	if err := json.Unmarshal(raw, &hr); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "decoding the HTTP request: " + err.Error()}
	}
	u, err := url.Parse(hr.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "the HTTP request's url must be an absolute http or https URL"}
	}
	var allowed []string
	if conf != nil {
		allowed = conf.allowed
	}
	if !hostAllowed(allowed, u) {
		m.log.Warn("wasm guest refused an HTTP request to a host it is not allowed", "host", u.Host)
		return nil, &sdk.Error{Code: sdk.CodeForbidden,
			Message: fmt.Sprintf("host %s is not in the provider's allowed_hosts", u.Host)}
	}
	if hr.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(hr.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	method := hr.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if len(hr.Body) > 0 {
		body = strings.NewReader(string(hr.Body))
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "building the HTTP request: " + m.redact(err.Error())}
	}
	for k, vs := range hr.Headers {
		if strings.EqualFold(k, "Host") && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	start := time.Now()
	var span trace.Span
	if m.tr.On() && trace.SpanContextFromContext(ctx).IsSampled() {
		ctx, span = m.tr.Start(ctx, "wasm http "+u.Host+u.Path, trace.WithAttributes(append(otelkit.CallAttributes(ctx),
			attribute.String("recyclegate.call", method+" "+u.Host+u.Path))...))
		req = req.WithContext(ctx)
		defer span.End()
	}
	resp, err := m.client.Do(req)
	if span != nil {
		outcome := "ok"
		if err != nil {
			outcome = string(m.transportError(ctx, u.Host, err).Code)
			span.SetStatus(codes.Error, outcome)
		} else if resp.StatusCode >= 400 {
			outcome = "http_" + strconv.Itoa(resp.StatusCode)
		}
		span.SetAttributes(attribute.String("recyclegate.outcome", outcome))
	}
	if err != nil {
		return nil, m.transportError(ctx, u.Host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, m.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, m.transportError(ctx, u.Host, err)
	}
	if int64(len(b)) > m.cfg.MaxResponseBytes {
		return nil, &sdk.Error{Code: sdk.CodeProviderError,
			Message: fmt.Sprintf("the response from %s is larger than %d bytes", u.Host, m.cfg.MaxResponseBytes)}
	}
	m.log.Debug("wasm guest HTTP request", "method", method, "host", u.Host, "status", resp.StatusCode,
		"elapsed", time.Since(start).String())
	return &abi.HTTPResponse{Status: resp.StatusCode, Headers: resp.Header, Body: b}, nil
}

func (m *Module) transportError(ctx context.Context, host string, err error) *sdk.Error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		e := sdk.AsError(ctxErr)
		return &sdk.Error{Code: e.Code, Retryable: e.Retryable, Message: fmt.Sprintf("HTTP request to %s: %v", host, ctxErr)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the url.Error's text carries the URL
	}
	if errors.Is(err, errRedirectRefused) {
		return &sdk.Error{Code: sdk.CodeForbidden, Message: fmt.Sprintf("HTTP request to %s: %v", host, err)}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &sdk.Error{Code: sdk.CodeDeadlineExceeded, Retryable: true, Message: fmt.Sprintf("HTTP request to %s: no answer in time", host)}
	}
	return &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: fmt.Sprintf("HTTP request to %s: %s", host, m.redact(err.Error()))}
}
