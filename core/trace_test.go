package core_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
)

// spanAttr is a span's attribute as text ("" when absent).
func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// A quote of a WASM provider, in a trace (the caller's span stands for the
// API's): the policies' span says which rule routed it; the provider
// call's span holds the runtime call's, whose trace context the guest got
// in its call envelope (it answers it); the guest's HTTP request, made by
// the host, is a span below the runtime call with the provider, the
// operation, the attempt and the outcome, and the provider's server gets
// the trace in its traceparent header. No process boundary: the SDK's
// in-memory recorder sees every span.
func TestTraceFollowsAWASMProviderQuote(t *testing.T) {
	path, sum := wasmtest.BuildGuest(t, "./wasm/testdata/guest", "-ldflags", "-X main.version=1")
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Traceparent"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	policies := t.TempDir()
	if err := os.WriteFile(filepath.Join(policies, "routing.yaml"), []byte(`routing:
  - name: phones-to-probe
    when: request.item.category == 'phone'
    providers: [probe]
    strategy: first
default:
  providers: ["*"]
  strategy: best_price
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg := core.Config{DataDir: wasmDataDir(t), Policies: policies,
		Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}},
		Providers: []core.ProviderConfig{{ID: "probe", Runtime: core.RuntimeWASM, Path: path, SHA256: sum,
			Timeout: 5 * time.Second, Config: map[string]string{"base_url": srv.URL}}}}
	h, err := core.New(cfg, core.WithTracing(telemetry.New(tp, otelkit.Settings{})),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	ctx, root := tp.Tracer("test").Start(context.Background(), "request")
	res, err := h.Quote(ctx, &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone,
		Brand: "Apple", Model: "http:" + srv.URL + "/price", Condition: sdk.ConditionExcellent}})
	root.End()
	if err != nil || len(res.Quotes) != 1 {
		t.Fatalf("quote: %v %+v", err, res)
	}
	traceID := root.SpanContext().TraceID()

	spans := rec.Ended()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("span %q is in another trace", s.Name())
		}
		byName[s.Name()] = s
	}
	get := func(name string) sdktrace.ReadOnlySpan {
		t.Helper()
		s, ok := byName[name]
		if !ok {
			var names []string
			for n := range byName {
				names = append(names, n)
			}
			t.Fatalf("no span %q; got %v", name, names)
		}
		return s
	}
	parentIs := func(child, parent sdktrace.ReadOnlySpan) {
		t.Helper()
		if child.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%q's parent is not %q", child.Name(), parent.Name())
		}
	}
	pol := get("policy")
	parentIs(pol, rootSpan(spans, root))
	if r := spanAttr(pol, "recyclegate.policy.route_rule"); r != "phones-to-probe" {
		t.Errorf("the policy span names rule %q", r)
	}
	call := get("provider probe quote")
	parentIs(call, rootSpan(spans, root))
	runtime := get("call probe quote")
	parentIs(runtime, call)
	if spanAttr(runtime, "recyclegate.runtime") != "wasm" || spanAttr(runtime, "recyclegate.attempt") != "1" {
		t.Errorf("runtime span: %v", runtime.Attributes())
	}
	var httpSpan sdktrace.ReadOnlySpan
	for _, s := range spans {
		if strings.HasPrefix(s.Name(), "wasm http ") {
			httpSpan = s
		}
	}
	if httpSpan == nil {
		t.Fatal("no span of the guest's HTTP request")
	}
	parentIs(httpSpan, runtime)
	for k, want := range map[string]string{"recyclegate.provider": "probe", "recyclegate.operation": "quote",
		"recyclegate.attempt": "1", "recyclegate.outcome": "ok"} {
		if got := spanAttr(httpSpan, k); got != want {
			t.Errorf("HTTP span: %s = %q, want %q", k, got, want)
		}
	}

	// The guest got the runtime call's span in its envelope.
	want := "00-" + traceID.String() + "-" + runtime.SpanContext().SpanID().String() + "-01"
	if got := res.Quotes[0].Remark; got != want {
		t.Errorf("the guest's trace context is %q, want %q", got, want)
	}
	// The provider's server got the trace.
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || !strings.Contains(seen[0], traceID.String()) {
		t.Errorf("the provider got traceparent %q, want one of trace %s", seen, traceID)
	}
}

// rootSpan is the test's own span among the recorded ones.
func rootSpan(spans []sdktrace.ReadOnlySpan, root trace.Span) sdktrace.ReadOnlySpan {
	for _, s := range spans {
		if s.SpanContext().SpanID() == root.SpanContext().SpanID() {
			return s
		}
	}
	return nil
}

// The guards say what they did as events of the provider call's span: the
// quote cache's miss and hit, a retry (with its attempt), a quota's
// refusal.
func TestTraceGuardEvents(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h, err := core.New(core.Config{AnswerTTL: -1, Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}}},
		core.WithTracing(telemetry.New(tp, otelkit.Settings{})), core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithProvider(faketest.New("fake", 100), map[string]string{"app_secret": "x"}),
		core.WithGuards("fake", core.GuardConfig{QPS: 1e9, DailyQuota: 3, Retry: core.RetryConfig{Attempts: 2, Backoff: time.Millisecond}}))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ask := func(model string) {
		t.Helper()
		ctx, root := tp.Tracer("test").Start(context.Background(), "request")
		defer root.End()
		_, _ = h.Quote(ctx, &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone(model)})
	}
	events := func() (out []string) {
		for _, s := range rec.Ended() {
			if s.Name() != "provider fake quote" {
				continue
			}
			for _, e := range s.Events() {
				name := e.Name
				for _, a := range e.Attributes {
					if a.Key == "recyclegate.guard.reason" || a.Key == "recyclegate.attempt" {
						name += " " + a.Value.String()
					}
				}
				out = append(out, name)
			}
		}
		return out
	}
	ask("iPhone 14")        // a miss: the provider is asked (1 of 3)
	ask("iPhone 14")        // a hit
	ask(faketest.ModelFail) // unavailable, retried once (2 and 3 of 3)
	ask("iPhone 15")        // the quota is spent
	want := []string{"cache miss", "cache hit", "retry 2", "cache miss", "guard refused quota", "cache miss"}
	if got := events(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("events %q, want %q", got, want)
	}
	// An in-process provider is a Go call: no runtime span of its own (a
	// plugin's and a WASM module's have one per attempt); the call's span
	// says which runtime answered.
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "call fake quote":
			t.Errorf("a runtime span for an in-process call: %v", s.Attributes())
		case "provider fake quote":
			if got := spanAttr(s, "recyclegate.runtime"); got != "in-process" {
				t.Errorf("the call's span names runtime %q, want in-process", got)
			}
		}
	}
}
