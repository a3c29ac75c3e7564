//go:build !wasip1

package httpkit

import (
	"context"
	"net/http"
	"strconv"
	"sync"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
)

// tracer starts spans with the provider of the span in the call's context
// (the host's, or the plugin process's): httpkit holds no tracing state.
var tracer = otelkit.FromContext.Tracer("github.com/recyclegate/recyclegate/sdk/httpkit")

// traced reports whether ctx is inside a sampled span: only then is a
// call a span, so a host or plugin that does not trace pays a look-up.
func traced(ctx context.Context) bool { return trace.SpanContextFromContext(ctx).IsSampled() }

// transports are the traced transports by the transport they wrap (only
// comparable ones: *http.Transport, or nil for the default).
var transports sync.Map

func tracedTransport(base http.RoundTripper) http.RoundTripper {
	key, ok := base.(*http.Transport)
	if base != nil && !ok {
		return newTracedTransport(base)
	}
	if t, ok := transports.Load(key); ok {
		return t.(http.RoundTripper)
	}
	t, _ := transports.LoadOrStore(key, newTracedTransport(base))
	return t.(http.RoundTripper)
}

func newTracedTransport(base http.RoundTripper) http.RoundTripper {
	// The trace context only: the host's baggage names its own calls and
	// is no business of a provider's.
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(otelkit.FromContext),
		otelhttp.WithPropagators(propagation.TraceContext{}))
}

// doTraced is Do as a span named what, with the provider, the operation,
// the attempt (the host's, from the baggage, where it set them) and the
// outcome: ok, the reply's HTTP status when it is an error, or the error's
// code.
func doTraced(client *http.Client, req *http.Request, limit int64, what string) (*http.Response, []byte, error) {
	prov, op := otelkit.SplitWhat(what)
	attrs := otelkit.CallAttributes(req.Context())
	if len(attrs) == 0 {
		attrs = []attribute.KeyValue{attribute.String(otelkit.BaggageProvider, prov), attribute.String(otelkit.BaggageOp, op),
			attribute.Int(otelkit.BaggageAttempt, 1)}
	}
	attrs = append(attrs, attribute.String("recyclegate.call", what))
	ctx, span := tracer.Start(req.Context(), what, trace.WithAttributes(attrs...))
	defer span.End()
	c := *client
	c.Transport = tracedTransport(client.Transport)
	resp, body, err := do(&c, req.WithContext(ctx), limit, what)
	outcome := "ok"
	switch {
	case err != nil:
		outcome = string(sdk.CodeOf(err))
		span.SetStatus(codes.Error, err.Error())
	case resp.StatusCode >= 400:
		outcome = "http_" + strconv.Itoa(resp.StatusCode)
	}
	span.SetAttributes(attribute.String("recyclegate.outcome", outcome))
	return resp, body, err
}
