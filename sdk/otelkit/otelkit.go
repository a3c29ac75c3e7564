//go:build !wasip1

// Package otelkit is the OpenTelemetry glue the host and a provider's
// plugin process share: where spans go (Settings, which the host resolves
// from host.yaml and the OTEL_* environment and hands each plugin when it
// configures it, since a plugin gets no environment), how a trace crosses
// the plugin's gRPC connection (Propagator, ServerHandler) and how a
// provider's HTTP call joins the trace of the call it serves (Transport).
//
// A provider author needs none of it: sdk.Serve and sdk/httpkit use it.
// An embedder starts with the host's tracing section (core/telemetry).
package otelkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"google.golang.org/grpc/stats"
)

// MetadataKey is the gRPC metadata key of the configure call that carries a
// plugin's Settings (JSON). Only the configure call carries it.
const MetadataKey = "recyclegate-tracing"

// The protocols an OTLP exporter speaks.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Baggage members the host sets on a provider call, which a provider's
// HTTP span (Transport) reads for its attributes.
const (
	BaggageProvider = "recyclegate.provider"
	BaggageOp       = "recyclegate.operation"
	BaggageAttempt  = "recyclegate.attempt"
)

// Settings say where a process sends its spans. The zero value sends none.
type Settings struct {
	// Endpoint is the OTLP traces URL: http://host:4317 for grpc,
	// http://host:4318/v1/traces for http/protobuf (https: TLS).
	Endpoint string `json:"endpoint"`
	// Protocol is grpc (default) or http/protobuf.
	Protocol string `json:"protocol,omitempty"`
	// Headers are sent with every export (an API key, say: secrets).
	Headers map[string]string `json:"headers,omitempty"`
	// Ratio is the share of new traces sampled, 0 to 1; a trace a caller
	// started keeps its caller's choice.
	Ratio float64 `json:"ratio"`
	// ServiceName names the process in the spans (service.name).
	ServiceName string `json:"service_name,omitempty"`
}

// Enabled reports whether s sends spans anywhere.
func (s Settings) Enabled() bool { return s.Endpoint != "" }

// Validate checks the endpoint and the protocol.
func (s Settings) Validate() error {
	if !s.Enabled() {
		return nil
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q: want an http or https URL, such as http://127.0.0.1:4317", s.Endpoint)
	}
	switch s.Protocol {
	case "", ProtocolGRPC, ProtocolHTTP:
	default:
		return fmt.Errorf("protocol %q: want grpc or http/protobuf", s.Protocol)
	}
	if s.Ratio < 0 || s.Ratio > 1 {
		return fmt.Errorf("sample ratio %v: want 0 to 1", s.Ratio)
	}
	return nil
}

// NewTracerProvider starts a tracer provider that batches spans to s's
// endpoint; attrs are added to its resource. Shut it down to flush.
func (s Settings) NewTracerProvider(ctx context.Context, attrs ...attribute.KeyValue) (*sdktrace.TracerProvider, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !s.Enabled() {
		return nil, errors.New("otelkit: no endpoint")
	}
	var exp sdktrace.SpanExporter
	var err error
	if s.Protocol == ProtocolHTTP {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(s.Endpoint)}
		if len(s.Headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(s.Headers))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	} else {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(s.Endpoint)}
		if len(s.Headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(s.Headers))
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("starting the OTLP exporter: %w", err)
	}
	name := s.ServiceName
	if name == "" {
		name = "recyclegate"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(append(attrs, attribute.String("service.name", name))...))
	if err != nil {
		res = resource.Default()
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(s.Ratio))),
	), nil
}

// Encode is s as a plugin receives it (MetadataKey).
func (s Settings) Encode() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Decode reads what Encode wrote.
func Decode(v string) (Settings, error) {
	var s Settings
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return Settings{}, fmt.Errorf("decoding the tracing settings: %w", err)
	}
	return s, s.Validate()
}

// Propagator is how a trace crosses a boundary: W3C trace context and
// baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Switch is a gRPC stats.Handler that hands every RPC to the handler set
// last, and costs a nil check while none is: a plugin's server is built
// before the host's configure call says whether it traces.
type Switch struct{ h atomic.Pointer[stats.Handler] }

// Set makes h handle the RPCs from now on.
func (s *Switch) Set(h stats.Handler) { s.h.Store(&h) }

func (s *Switch) get() stats.Handler {
	if p := s.h.Load(); p != nil {
		return *p
	}
	return nil
}

// TagRPC implements stats.Handler.
func (s *Switch) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if h := s.get(); h != nil {
		return h.TagRPC(ctx, info)
	}
	return ctx
}

// HandleRPC implements stats.Handler.
func (s *Switch) HandleRPC(ctx context.Context, st stats.RPCStats) {
	if h := s.get(); h != nil {
		h.HandleRPC(ctx, st)
	}
}

// TagConn implements stats.Handler.
func (s *Switch) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	if h := s.get(); h != nil {
		return h.TagConn(ctx, info)
	}
	return ctx
}

// HandleConn implements stats.Handler.
func (s *Switch) HandleConn(ctx context.Context, st stats.ConnStats) {
	if h := s.get(); h != nil {
		h.HandleConn(ctx, st)
	}
}

// FromContext is a TracerProvider whose tracers start each span with the
// provider of the span in the context they are given: a library (sdk/httpkit)
// that is handed a context joins the trace of whoever made it, in whatever
// process and with whatever provider, and costs nothing where no one traces.
var FromContext trace.TracerProvider = fromContext{}

type fromContext struct{ embedded.TracerProvider }

func (fromContext) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return ctxTracer{name: name, opts: opts}
}

type ctxTracer struct {
	embedded.Tracer
	name string
	opts []trace.TracerOption
}

func (t ctxTracer) Start(ctx context.Context, span string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(t.name, t.opts...).Start(ctx, span, opts...)
}

// CallAttributes are the attributes of a provider call the host put in the
// baggage (provider, operation, attempt), for a span inside the call.
func CallAttributes(ctx context.Context) []attribute.KeyValue {
	b := baggage.FromContext(ctx)
	if b.Len() == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, 0, 3)
	if v := b.Member(BaggageProvider).Value(); v != "" {
		out = append(out, attribute.String(BaggageProvider, v))
	}
	if v := b.Member(BaggageOp).Value(); v != "" {
		out = append(out, attribute.String(BaggageOp, v))
	}
	if v := b.Member(BaggageAttempt).Value(); v != "" {
		n, _ := strconv.Atoi(v)
		out = append(out, attribute.Int(BaggageAttempt, n))
	}
	return out
}

// CallBaggage is the baggage of a provider call: its provider, operation
// and attempt, for the spans of the call beyond a boundary
// (CallAttributes). Put it in the call's context with
// baggage.ContextWithBaggage; a caller may keep it for the next call.
func CallBaggage(provider, op string, attempt int) baggage.Baggage {
	var ms []baggage.Member
	for _, kv := range [...][2]string{{BaggageProvider, provider}, {BaggageOp, op}, {BaggageAttempt, strconv.Itoa(attempt)}} {
		if m, err := baggage.NewMemberRaw(kv[0], kv[1]); err == nil {
			ms = append(ms, m)
		}
	}
	b, _ := baggage.New(ms...)
	return b
}

// SplitWhat splits httpkit's name of a call ("acme /v1/price") into the
// provider's name and its operation.
func SplitWhat(what string) (provider, op string) {
	p, o, _ := strings.Cut(what, " ")
	return p, o
}
