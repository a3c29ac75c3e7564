package telemetry_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func ratio(r float64) *float64 { return &r }

// Tracing is off unless asked; the OTEL_* variables of the specification
// win over host.yaml key by key, and a signal's own endpoint over the base.
func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  telemetry.Config
		env  func(string) string
		want otelkit.Settings
	}{
		{"off by default", telemetry.Config{Endpoint: "http://c:4317"}, env(), otelkit.Settings{}},
		{"on in host.yaml", telemetry.Config{Enabled: true, Endpoint: "http://c:4317", SampleRatio: ratio(0.25)}, env(),
			otelkit.Settings{Endpoint: "http://c:4317", Protocol: "grpc", Ratio: 0.25, ServiceName: "recyclegate", Headers: map[string]string{}}},
		{"default endpoint over http", telemetry.Config{Enabled: true, Protocol: "http/protobuf"}, env(),
			otelkit.Settings{Endpoint: "http://localhost:4318/v1/traces", Protocol: "http/protobuf", Ratio: 1, ServiceName: "recyclegate", Headers: map[string]string{}}},
		{"an endpoint variable turns it on", telemetry.Config{}, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://e:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
			"OTEL_SERVICE_NAME", "buyback", "OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x=1"),
			otelkit.Settings{Endpoint: "http://e:4318/v1/traces", Protocol: "http/protobuf", Ratio: 1, ServiceName: "buyback",
				Headers: map[string]string{"api-key": "s=cret", "x": "1"}}},
		{"the traces endpoint as it is", telemetry.Config{Enabled: true, Endpoint: "http://yaml:4317"},
			env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:4317", "OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0.1"),
			otelkit.Settings{Endpoint: "http://env:4317", Protocol: "grpc", Ratio: 0.1, ServiceName: "recyclegate", Headers: map[string]string{}}},
		{"none wins over host.yaml", telemetry.Config{Enabled: true}, env("OTEL_TRACES_EXPORTER", "none"), otelkit.Settings{}},
		{"the SDK disabled", telemetry.Config{Enabled: true}, env("OTEL_SDK_DISABLED", "true"), otelkit.Settings{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.Resolve(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got.Encode() != tc.want.Encode() {
				t.Fatalf("got %s\nwant %s", got.Encode(), tc.want.Encode())
			}
		})
	}
}

// A bad value is an error naming the key.
func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  telemetry.Config
		env  func(string) string
		want string
	}{
		{telemetry.Config{Protocol: "udp"}, env(), "tracing.protocol"},
		{telemetry.Config{Endpoint: "c:4317"}, env(), "tracing.endpoint"},
		{telemetry.Config{SampleRatio: ratio(2)}, env(), "tracing.sample_ratio"},
		{telemetry.Config{}, env("OTEL_TRACES_EXPORTER", "zipkin"), "OTEL_TRACES_EXPORTER"},
		{telemetry.Config{Enabled: true}, env("OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "x"), "OTEL_TRACES_SAMPLER_ARG"},
		{telemetry.Config{}, env("OTEL_EXPORTER_OTLP_ENDPOINT", "e:4317"), "endpoint"},
	} {
		if _, err := tc.cfg.Resolve(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", tc.cfg, err, tc.want)
		}
	}
}

// Off, Start starts nothing and the tracer is off.
func TestStartOff(t *testing.T) {
	tr, err := telemetry.Start(telemetry.Config{}, env())
	if err != nil || tr != nil || tr.Enabled() || tr.Tracer("x").On() {
		t.Fatalf("Start off: %v %v", tr, err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A line logged with a context in a trace carries the trace and span ids.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil))).With("k", "v")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	log.InfoContext(ctx, "in a trace")
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"`) {
		t.Errorf("line in a trace: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("line outside a trace: %s", lines[1])
	}
}
