//go:build !wasip1

package sdk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
	"github.com/recyclegate/recyclegate/sdk/proto/providerv1"
)

// Serve runs p as a go-plugin process speaking gRPC. A provider's main is one
// call:
//
//	func main() { sdk.Serve(myprovider.New()) }
//
// Serve returns when the host ends the plugin. Logs written through the
// Logger in ConfigureRequest reach the host's structured log. The process
// exits by itself if the host dies, so no plugin outlives it.
func Serve(p Provider) {
	logger := slog.New(traceLog{slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level:       slog.LevelDebug,
		ReplaceAttr: hclogJSON,
	})})
	go exitWithParent(os.Getppid(), 500*time.Millisecond)
	tr := &pluginTracing{id: p.Manifest().ID, log: logger}
	defer tr.shutdown()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  bridge.ProtocolVersion,
			MagicCookieKey:   bridge.MagicCookieKey,
			MagicCookieValue: bridge.MagicCookieValue,
		},
		Plugins: plugin.PluginSet{bridge.PluginName: &servedPlugin{d: newDispatcher(p, logger), tr: tr}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.StatsHandler(&tr.handler))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Output: os.Stderr, JSONFormat: true, Level: hclog.Warn,
		}),
	})
}

// exitWithParent ends the process when its parent is gone (the process is
// then re-parented, and its parent pid changes).
func exitWithParent(ppid int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			os.Exit(0)
		}
	}
}

// hclogTime is the timestamp layout of hclog's JSON lines.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

// hclogJSON renames slog's JSON keys to hclog's, which go-plugin parses from
// a plugin's stderr and forwards to the host's log.
func hclogJSON(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		// go-plugin reads exactly this layout (microseconds); a line it
		// cannot read reaches the host raw, at debug, its level lost.
		a.Key = "@timestamp"
		a.Value = slog.StringValue(a.Value.Time().Format(hclogTime))
	case slog.LevelKey:
		a.Key = "@level"
		a.Value = slog.StringValue(strings.ToLower(a.Value.String()))
	case slog.MessageKey:
		a.Key = "@message"
	}
	return a
}

// servedPlugin is the plugin side of the go-plugin glue: it serves a
// dispatcher over gRPC. The host's side is sdk/rpc.GRPCPlugin (which serves a
// provider the same way when a test runs one in process).
type servedPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	d  *dispatcher
	tr *pluginTracing
}

// GRPCServer registers the provider's gRPC service.
func (p *servedPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	providerv1.RegisterProviderServer(s, &grpcServer{d: p.d, tr: p.tr})
	return nil
}

// GRPCClient is the host's side, which a plugin process never plays.
func (p *servedPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: the host's side of a plugin is sdk/rpc.GRPCPlugin")
}

// grpcServer answers the host: Features says which envelope the plugin
// reads, Invoke runs one operation.
type grpcServer struct {
	providerv1.UnimplementedProviderServer
	d  *dispatcher
	tr *pluginTracing
}

func (s *grpcServer) Features(context.Context, *providerv1.FeaturesRequest) (*providerv1.FeaturesResponse, error) {
	return &providerv1.FeaturesResponse{WireVersion: wireVersion}, nil
}

func (s *grpcServer) Invoke(ctx context.Context, req *providerv1.InvokeRequest) (*providerv1.InvokeResponse, error) {
	if req.Op == bridge.OpConfigure && s.tr != nil {
		s.tr.configure(ctx)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetName("provider " + req.Op)
		span.SetAttributes(attribute.String(otelkit.BaggageOp, req.Op), attribute.String(otelkit.BaggageProvider, s.tr.id))
	}
	out, err := s.d.Append(ctx, nil, req.Op, req.Payload)
	if err != nil {
		e := AsError(err)
		return &providerv1.InvokeResponse{Error: &providerv1.Error{
			Code: string(e.Code), Message: e.Message, Field: e.Field, Retryable: e.Retryable,
			RetryAfterMs: e.RetryAfter.Milliseconds(), ProviderCode: e.ProviderCode, ProviderMessage: e.ProviderMessage,
		}}, nil
	}
	return &providerv1.InvokeResponse{Payload: out}, nil
}

// pluginTracing is a plugin process's tracing: off until the host's
// configure call carries the settings (a plugin gets no environment, so
// no OTEL_* variable), then a tracer provider of its own that exports the
// process's spans, flushed when Serve returns. Until then its gRPC
// server's stats handler is a nil check.
type pluginTracing struct {
	id      string
	log     *slog.Logger
	handler otelkit.Switch
	once    sync.Once
	tp      atomic.Pointer[sdktrace.TracerProvider]
}

func (t *pluginTracing) configure(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(otelkit.MetadataKey)
	if len(v) == 0 {
		return
	}
	t.once.Do(func() {
		s, err := otelkit.Decode(v[0])
		var tp *sdktrace.TracerProvider
		if err == nil && s.Enabled() {
			if s.ServiceName != "" && t.id != "" {
				s.ServiceName += "." + t.id
			}
			tp, err = s.NewTracerProvider(context.Background(), attribute.String(otelkit.BaggageProvider, t.id))
		}
		if err != nil {
			t.log.Warn("tracing stays off in this plugin", "error", err.Error())
			return
		}
		if tp == nil {
			return
		}
		t.tp.Store(tp)
		t.handler.Set(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp),
			otelgrpc.WithPropagators(otelkit.Propagator),
			otelgrpc.WithFilter(filters.FullMethodName(providerv1.Provider_Invoke_FullMethodName))))
	})
}

// shutdown flushes the spans not yet sent.
func (t *pluginTracing) shutdown() {
	tp := t.tp.Load()
	if tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = tp.Shutdown(ctx)
}

// traceLog adds the trace id to a line a provider logs with the context of
// a traced call (Logger.InfoContext(ctx, ...)), so that the line, carried
// into the host's log, names the request's trace as the host's lines do.
type traceLog struct{ slog.Handler }

func (h traceLog) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceLog) WithAttrs(as []slog.Attr) slog.Handler { return traceLog{h.Handler.WithAttrs(as)} }
func (h traceLog) WithGroup(name string) slog.Handler    { return traceLog{h.Handler.WithGroup(name)} }
