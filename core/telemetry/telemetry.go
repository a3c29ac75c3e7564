// Package telemetry is the host's tracing: the tracing section of host.yaml
// (Config), the OpenTelemetry tracer provider it starts (Start), and what
// the layers use of it: a Tracer that costs nothing while tracing is off,
// the trace id in every log line (LogHandler) and on the latency
// histograms (Exemplars).
//
// Start with Start(cfg.Tracing, os.Getenv): tracing is off unless
// host.yaml's tracing.enabled or an OTEL_* variable asks for it
// (docs/tracing.md). Hand the *Tracing to core.WithTracing and
// api.WithTracing, and shut it down after the host has closed, to flush
// the last spans.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/sdk/otelkit"
)

// Config is the tracing section of host.yaml. The OTEL_* environment
// variables of the OpenTelemetry specification win over it, key by key.
type Config struct {
	// Enabled turns tracing on. Default false: no exporter, no goroutine,
	// and a no-op at each span (OTEL_TRACES_EXPORTER=otlp or an
	// OTEL_EXPORTER_OTLP_*ENDPOINT variable turns it on too;
	// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none off).
	Enabled bool `yaml:"enabled"`
	// Endpoint is the OTLP collector's base URL. Default
	// http://localhost:4317 (grpc), http://localhost:4318 (http/protobuf).
	Endpoint string `yaml:"endpoint"`
	// Protocol is grpc (default) or http/protobuf.
	Protocol string `yaml:"protocol"`
	// Headers are sent with every export (secrets: redacted from logs).
	Headers map[string]string `yaml:"headers"`
	// SampleRatio is the share of new traces kept, 0 to 1. Default 1: every
	// request. A caller's traceparent keeps the caller's choice.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is service.name of the host's spans (a plugin's are
	// <service_name>.<provider id>). Default recyclegate.
	ServiceName string `yaml:"service_name"`
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	switch c.Protocol {
	case "", otelkit.ProtocolGRPC, otelkit.ProtocolHTTP:
	default:
		return fmt.Errorf("tracing.protocol %q: want grpc or http/protobuf", c.Protocol)
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("tracing.endpoint %q: want an http or https URL, such as http://127.0.0.1:4317", c.Endpoint)
		}
	}
	if r := c.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		return fmt.Errorf("tracing.sample_ratio %v: want 0 to 1", *r)
	}
	return nil
}

// Resolve merges the section with the environment (getenv, os.Getenv in a
// host) into where spans go: the zero Settings when tracing is off.
func (c Config) Resolve(getenv func(string) string) (otelkit.Settings, error) {
	if err := c.Validate(); err != nil {
		return otelkit.Settings{}, err
	}
	env := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(getenv(k)); v != "" {
				return v
			}
		}
		return ""
	}
	on := c.Enabled || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	switch exp := env("OTEL_TRACES_EXPORTER"); exp {
	case "":
	case "otlp":
		on = true
	case "none":
		on = false
	default:
		return otelkit.Settings{}, fmt.Errorf("OTEL_TRACES_EXPORTER %q: want otlp or none", exp)
	}
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") || !on {
		return otelkit.Settings{}, nil
	}
	s := otelkit.Settings{Protocol: env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
		ServiceName: env("OTEL_SERVICE_NAME"), Ratio: 1, Headers: map[string]string{}}
	if s.Protocol == "" {
		s.Protocol = c.Protocol
	}
	if s.Protocol == "" {
		s.Protocol = otelkit.ProtocolGRPC
	}
	if s.ServiceName == "" {
		s.ServiceName = c.ServiceName
	}
	if s.ServiceName == "" {
		s.ServiceName = "recyclegate"
	}
	// A signal's own endpoint is used as it is; a base endpoint gets the
	// signal's path over HTTP.
	if s.Endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); s.Endpoint == "" {
		base := env("OTEL_EXPORTER_OTLP_ENDPOINT")
		if base == "" {
			base = c.Endpoint
		}
		if base == "" {
			base = "http://localhost:4317"
			if s.Protocol == otelkit.ProtocolHTTP {
				base = "http://localhost:4318"
			}
		}
		s.Endpoint = base
		if s.Protocol == otelkit.ProtocolHTTP {
			s.Endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
		}
	}
	for k, v := range c.Headers {
		s.Headers[k] = v
	}
	for _, kv := range strings.Split(env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if dv, err := url.QueryUnescape(strings.TrimSpace(v)); err == nil {
			v = dv
		}
		s.Headers[strings.TrimSpace(k)] = v
	}
	if c.SampleRatio != nil {
		s.Ratio = *c.SampleRatio
	}
	switch sm := env("OTEL_TRACES_SAMPLER"); sm {
	case "":
	case "always_on", "parentbased_always_on":
		s.Ratio = 1
	case "always_off", "parentbased_always_off":
		s.Ratio = 0
	case "traceidratio", "parentbased_traceidratio":
		s.Ratio = 1
		if a := env("OTEL_TRACES_SAMPLER_ARG"); a != "" {
			r, err := strconv.ParseFloat(a, 64)
			if err != nil || r < 0 || r > 1 {
				return otelkit.Settings{}, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a ratio from 0 to 1", a)
			}
			s.Ratio = r
		}
	default:
		return otelkit.Settings{}, fmt.Errorf("OTEL_TRACES_SAMPLER %q: want always_on, always_off, traceidratio or their parentbased_ forms", sm)
	}
	if err := s.Validate(); err != nil {
		return otelkit.Settings{}, fmt.Errorf("tracing: %w", err)
	}
	return s, nil
}

// Tracing is the host's tracer provider and what its plugins are told. A
// nil *Tracing is tracing off.
type Tracing struct {
	tp     trace.TracerProvider
	owned  *sdktrace.TracerProvider // started by Start: shut down by Shutdown
	plugin otelkit.Settings
}

// Start resolves c with the environment and, when tracing is on, starts a
// tracer provider that exports to the collector. Off, it returns nil:
// nothing started.
func Start(c Config, getenv func(string) string) (*Tracing, error) {
	s, err := c.Resolve(getenv)
	if err != nil || !s.Enabled() {
		return nil, err
	}
	tp, err := s.NewTracerProvider(context.Background())
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return &Tracing{tp: tp, owned: tp, plugin: s}, nil
}

// New is tracing with a provider of the caller's (an embedder's, or a
// test's in-memory one); plugins export to plugin's endpoint (the zero
// Settings: plugins do not trace).
func New(tp trace.TracerProvider, plugin otelkit.Settings) *Tracing {
	return &Tracing{tp: tp, plugin: plugin}
}

// Enabled reports whether spans are made.
func (t *Tracing) Enabled() bool { return t != nil && t.tp != nil }

// Tracer is the tracer named name, the zero Tracer when tracing is off.
func (t *Tracing) Tracer(name string) Tracer {
	if !t.Enabled() {
		return Tracer{}
	}
	return Tracer{t.tp.Tracer(name)}
}

// Provider is the tracer provider, nil when tracing is off.
func (t *Tracing) Provider() trace.TracerProvider {
	if !t.Enabled() {
		return nil
	}
	return t.tp
}

// Plugin is what a plugin process is told of where its spans go.
func (t *Tracing) Plugin() otelkit.Settings {
	if t == nil {
		return otelkit.Settings{}
	}
	return t.plugin
}

// Secrets are the values that must not be logged: the export headers.
func (t *Tracing) Secrets() []string {
	var out []string
	for _, v := range t.Plugin().Headers {
		out = append(out, v)
	}
	return out
}

// Shutdown flushes and stops a provider Start started.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.owned == nil {
		return nil
	}
	return t.owned.Shutdown(ctx)
}

// Tracer starts spans while tracing is on. The zero Tracer is off: call
// Start only when On, so that a request pays one comparison, no
// allocation, where no one traces.
type Tracer struct{ t trace.Tracer }

// On reports whether spans are made.
func (t Tracer) On() bool { return t.t != nil }

// Start starts a span (only when On).
func (t Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return t.t.Start(ctx, name, opts...)
}

// TraceID is the id of the trace ctx is in, "" when none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// Exemplars puts the trace id of a request on the histogram observations
// of one series as their exemplar (shown in the OpenMetrics exposition),
// at most once a second: an exemplar costs a dozen allocations, and
// Prometheus keeps only the last one of each bucket between two scrapes.
// The zero value is ready; keep one per series.
type Exemplars struct{ next atomic.Int64 }

// Observe records v on o, with the trace id as its exemplar when ctx is in
// a sampled trace and the series had none this last second.
func (e *Exemplars) Observe(ctx context.Context, o prometheus.Observer, v float64) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		now, next := time.Now().UnixNano(), e.next.Load()
		if eo, ok := o.(prometheus.ExemplarObserver); ok && now >= next && e.next.CompareAndSwap(next, now+int64(time.Second)) {
			eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
			return
		}
	}
	o.Observe(v)
}

// LogHandler adds trace_id and span_id to each record logged with a
// context that is in a trace (the *Context methods of slog.Logger).
func LogHandler(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
		if sc.HasSpanID() {
			r.AddAttrs(slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
