package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"

	"github.com/recyclegate/recyclegate/core/api/apitest"
)

// collector is an OTLP/gRPC trace receiver on loopback: what a
// collector (Jaeger, the OpenTelemetry Collector) would get.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []gotSpan
}

// gotSpan is a span as it arrived.
type gotSpan struct {
	service, name             string
	traceID, spanID, parentID string
	attrs                     map[string]string
	events                    []string
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := attrMap(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				g := gotSpan{service: service, name: sp.Name, traceID: hex.EncodeToString(sp.TraceId),
					spanID: hex.EncodeToString(sp.SpanId), parentID: hex.EncodeToString(sp.ParentSpanId), attrs: attrMap(sp.Attributes)}
				for _, e := range sp.Events {
					g.events = append(g.events, e.Name)
				}
				c.spans = append(c.spans, g)
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (c *collector) trace(id string) []gotSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []gotSpan
	for _, s := range c.spans {
		if s.traceID == id {
			out = append(out, s)
		}
	}
	return out
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			m[kv.Key] = v.GetStringValue()
		default:
			b, _ := json.Marshal(v.GetIntValue())
			m[kv.Key] = string(b)
		}
	}
	return m
}

// One quote through `host serve` with every built-in provider as a plugin
// process on its sandbox, and tracing on through the OTEL_* environment
// alone: the collector gets one trace, the caller's, holding the host's
// spans (the API request, the provider call, its runtime call and gRPC
// client span), the plugin process's span of the call, a child of the
// host's gRPC span across the process boundary, and below it the
// provider's HTTP call with its provider, operation, attempt and outcome.
// The trace id is in the request's log lines, in a problem answer, and an
// exemplar of the latency histogram.
func TestTraceFollowsAQuoteIntoThePluginAndOutToTheProvider(t *testing.T) {
	col := startCollector(t)
	h := startHostEnv(t, hostBinary(t), []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + col.addr, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"RECYCLEGATE_LOG_LEVEL=debug", "RECYCLEGATE_LOG_FORMAT=json"})
	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	traceparent := "00-" + traceID + "-" + callerSpan + "-01"

	send := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+h.addr+"/v1/quotes", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer demo")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", traceparent)
		resp, err := apitest.Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("not JSON: %s", data)
		}
		return resp.StatusCode, m
	}
	status, body := send(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"},"providers":["aihuishou"]}`)
	if status != http.StatusOK {
		t.Fatalf("quote: %d %v", status, body)
	}
	status, body = send(`{"item":{"category":"phone"}}`)
	if status != http.StatusBadRequest || body["trace_id"] != traceID {
		t.Fatalf("a problem answer names the caller's trace: %d, trace_id %v", status, body["trace_id"])
	}

	// The latency histograms carry the trace as an exemplar.
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.addr+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, series := range []string{"recyclegate_http_request_duration_seconds_bucket", "recyclegate_provider_call_duration_seconds_bucket"} {
		if !hasExemplar(string(metrics), series, traceID) {
			t.Errorf("no exemplar with trace_id %s on %s", traceID, series)
		}
	}

	// Stop the host: it and its plugins flush their spans as they end.
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("host did not stop")
	}

	spans := col.trace(traceID)
	byID := map[string]gotSpan{}
	for _, s := range spans {
		byID[s.spanID] = s
	}
	find := func(service, name string) gotSpan {
		t.Helper()
		for _, s := range spans {
			if s.service == service && s.name == name {
				return s
			}
		}
		var got []string
		for _, s := range spans {
			got = append(got, s.service+": "+s.name)
		}
		t.Fatalf("no span %q of %s in the trace; got:\n%s", name, service, strings.Join(got, "\n"))
		return gotSpan{}
	}
	// isAbove reports whether a is b or one of its ancestors.
	isAbove := func(a, b gotSpan) bool {
		for s, ok := b, true; ok; s, ok = byID[s.parentID] {
			if s.spanID == a.spanID {
				return true
			}
		}
		return false
	}
	apiSpan := find("recyclegate", "POST /v1/quotes")
	if apiSpan.parentID != callerSpan {
		t.Errorf("the API span's parent is %s, want the caller's %s", apiSpan.parentID, callerSpan)
	}
	call := find("recyclegate", "provider aihuishou quote")
	runtime := find("recyclegate", "call aihuishou quote")
	client := find("recyclegate", "recyclegate.provider.v1.Provider/Invoke")
	plugin := find("recyclegate.aihuishou", "provider quote")
	for _, pair := range [][2]gotSpan{{apiSpan, call}, {call, runtime}, {runtime, client}} {
		if !isAbove(pair[0], pair[1]) {
			t.Errorf("%q is not below %q", pair[1].name, pair[0].name)
		}
	}
	if plugin.parentID != client.spanID {
		t.Errorf("the plugin's span's parent is %s, want the host's gRPC client span %s", plugin.parentID, client.spanID)
	}
	if !strings.Contains(strings.Join(call.events, ","), "cache") {
		t.Errorf("the provider call's span has no cache event: %v", call.events)
	}
	if runtime.attrs["recyclegate.attempt"] != "1" || runtime.attrs["recyclegate.runtime"] != "builtin" {
		t.Errorf("runtime span attributes: %v", runtime.attrs)
	}
	var httpSpan gotSpan
	for _, s := range spans {
		if s.service == "recyclegate.aihuishou" && s.attrs["recyclegate.call"] != "" {
			httpSpan = s
		}
	}
	if httpSpan.spanID == "" || !isAbove(plugin, httpSpan) {
		t.Fatalf("no provider HTTP span below the plugin's span: %+v", httpSpan)
	}
	for k, want := range map[string]string{"recyclegate.provider": "aihuishou", "recyclegate.operation": "quote",
		"recyclegate.attempt": "1", "recyclegate.outcome": "ok"} {
		if httpSpan.attrs[k] != want {
			t.Errorf("provider HTTP span %q: %s = %q, want %q", httpSpan.name, k, httpSpan.attrs[k], want)
		}
	}
	wire := false
	for _, s := range spans {
		wire = wire || (s.parentID == httpSpan.spanID && s.attrs["http.request.method"] != "")
	}
	if !wire {
		t.Errorf("no otelhttp span below the provider HTTP span %q", httpSpan.name)
	}

	// The request's log lines carry the trace id.
	n := 0
	for _, line := range strings.Split(h.out.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"path":"/v1/quotes"`) {
			n++
			if !strings.Contains(line, `"trace_id":"`+traceID+`"`) {
				t.Errorf("a request's log line without its trace id: %s", line)
			}
		}
	}
	if n == 0 {
		t.Errorf("no request log line:\n%s", h.out.String())
	}
}

// hasExemplar reports whether an OpenMetrics exposition has a series of
// name with an exemplar of trace id.
func hasExemplar(exposition, name, traceID string) bool {
	for _, line := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(line, name) && strings.Contains(line, `# {trace_id="`+traceID+`"}`) {
			return true
		}
	}
	return false
}
