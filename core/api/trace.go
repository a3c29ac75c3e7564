package api

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core/telemetry"
)

// WithTracing makes a span of each request (the root of its trace, or a
// child of the caller's traceparent), with t, the host's tracing
// (telemetry.Start; the same one core.WithTracing got). Without it a
// caller's traceparent is still read: its trace id is in the request's log
// lines and problem answers.
func WithTracing(t *telemetry.Tracing) Option {
	return func(s *Server) { s.tr = t.Tracer("github.com/recyclegate/recyclegate/core/api") }
}

// traceContext reads the W3C trace context only: a caller's baggage is not
// the host's to trust.
var traceContext propagation.TraceContext

// startSpan starts the request's span, or, with tracing off, takes the
// caller's trace context when it sent one (a map look-up otherwise).
func (s *Server) startSpan(r *http.Request, id string) (*http.Request, trace.Span) {
	if !s.tr.On() {
		if _, ok := r.Header["Traceparent"]; ok {
			return r.WithContext(traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))), nil
		}
		return r, nil
	}
	switch r.URL.Path {
	case "/healthz", "/readyz", "/metrics": // probes and scrapes: a trace each would be noise
		return r, nil
	}
	ctx := r.Context()
	if _, ok := r.Header["Traceparent"]; ok {
		ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	// Its attributes are written once, as it ends (endSpan): one copy, not
	// a start and a regrowth.
	ctx, span := s.tr.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
	return r.WithContext(ctx), span
}

// endSpan names the span after the route the mux matched and ends it with
// its attributes: the request's method, path and id, the route, and the
// answer's status.
func endSpan(span trace.Span, r *http.Request, id string, status int) {
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
		attribute.String("recyclegate.request_id", id))
	if r.Pattern != "" {
		span.SetName(r.Pattern)
		attrs = append(attrs, attribute.String("http.route", r.Pattern))
	}
	span.SetAttributes(append(attrs, attribute.Int("http.response.status_code", status))...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// traceID is the request's trace id for a problem answer, "" when none.
func traceID(ctx context.Context) string { return telemetry.TraceID(ctx) }
