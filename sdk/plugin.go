//go:build !wasip1

package sdk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/recyclegate/recyclegate/sdk/proto/providerv1"
)

// ProtocolVersion is the version of the plugin protocol. The host refuses a
// plugin that speaks another.
const ProtocolVersion = 1

// PluginName is the name the provider is dispensed under.
const PluginName = "provider"

// Handshake is the go-plugin handshake shared by the host and every provider
// plugin. The cookie only guards against running a plugin binary by hand; it
// is not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RECYCLEGATE_PLUGIN",
	MagicCookieValue: "provider-8c1d3f0e5b7a4c29",
}

// Serve runs p as a go-plugin process speaking gRPC. A provider's main is one
// call:
//
//	func main() { sdk.Serve(myprovider.New()) }
//
// Serve returns when the host ends the plugin. Logs written through the
// Logger in ConfigureRequest reach the host's structured log. The process
// exits by itself if the host dies, so no plugin outlives it.
func Serve(p Provider) {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level:       slog.LevelDebug,
		ReplaceAttr: hclogJSON,
	}))
	go exitWithParent(os.Getppid(), 500*time.Millisecond)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: p, Logger: logger}},
		GRPCServer:      plugin.DefaultGRPCServer,
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

// hclogJSON renames slog's JSON keys to hclog's, which go-plugin parses from
// a plugin's stderr and forwards to the host's log.
func hclogJSON(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		a.Key = "@timestamp"
	case slog.LevelKey:
		a.Key = "@level"
		a.Value = slog.StringValue(strings.ToLower(a.Value.String()))
	case slog.MessageKey:
		a.Key = "@message"
	}
	return a
}

// GRPCPlugin is the go-plugin glue for a provider: the plugin side serves
// Impl, the host side gets a *GRPCClient. Hosts and sdktest use it; a
// provider author calls Serve instead.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl   Provider     // plugin side only
	Logger *slog.Logger // plugin side: handed to Configure
}

// GRPCServer registers the provider's gRPC service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	providerv1.RegisterProviderServer(s, &grpcServer{d: NewDispatcher(p.Impl, p.Logger)})
	return nil
}

// GRPCClient returns the host side of the connection. It asks the plugin
// which encodings it reads (Features): a plugin built with this SDK gets
// quotes in the binary envelope, an older one (Unimplemented) or one that
// does not answer in time keeps to JSON.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	client := &GRPCClient{client: providerv1.NewProviderClient(c)}
	fctx, cancel := context.WithTimeout(ctx, featuresTimeout)
	defer cancel()
	if f, err := client.client.Features(fctx, &providerv1.FeaturesRequest{}); err == nil {
		client.wire = int(f.WireVersion)
	}
	return client, nil
}

// featuresTimeout bounds the Features question when a plugin starts.
const featuresTimeout = 5 * time.Second

type grpcServer struct {
	providerv1.UnimplementedProviderServer
	d *Dispatcher
}

func (s *grpcServer) Features(context.Context, *providerv1.FeaturesRequest) (*providerv1.FeaturesResponse, error) {
	return &providerv1.FeaturesResponse{WireVersion: WireVersion}, nil
}

func (s *grpcServer) Invoke(ctx context.Context, req *providerv1.InvokeRequest) (*providerv1.InvokeResponse, error) {
	out, err := s.d.Append(ctx, nil, req.Op, req.Payload)
	if err != nil {
		return &providerv1.InvokeResponse{Error: errorToProto(AsError(err))}, nil
	}
	return &providerv1.InvokeResponse{Payload: out}, nil
}

// GRPCClient is the host's side of a provider plugin: an Invoker over gRPC.
// The caller's deadline travels with every call.
type GRPCClient struct {
	client providerv1.ProviderClient
	wire   int // the binary envelope version the plugin reads, 0 none
}

// WireVersion implements WireInvoker: the binary envelope version the
// plugin said it reads when it started, 0 for JSON only.
func (c *GRPCClient) WireVersion() int { return c.wire }

// Invoke sends one operation to the plugin. A transport failure (the plugin
// died, the connection broke) is unavailable; a passed deadline is
// deadline_exceeded; the provider's own errors come back as they were sent.
func (c *GRPCClient) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	resp, err := c.client.Invoke(ctx, &providerv1.InvokeRequest{Op: op, Payload: payload})
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.Error != nil {
		return nil, errorFromProto(resp.Error)
	}
	return resp.Payload, nil
}

func transportError(ctx context.Context, err error) *Error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return AsError(ctxErr)
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.DeadlineExceeded:
		return &Error{Code: CodeDeadlineExceeded, Message: "plugin call: " + st.Message(), Retryable: true}
	case codes.Canceled:
		return &Error{Code: CodeCanceled, Message: "plugin call canceled"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeDeadlineExceeded, Message: err.Error(), Retryable: true}
	}
	return &Error{Code: CodeUnavailable, Message: "plugin unreachable: " + st.Message(), Retryable: true}
}

func errorToProto(e *Error) *providerv1.Error {
	return &providerv1.Error{
		Code: string(e.Code), Message: e.Message, Field: e.Field, Retryable: e.Retryable,
		RetryAfterMs: e.RetryAfter.Milliseconds(), ProviderCode: e.ProviderCode, ProviderMessage: e.ProviderMessage,
	}
}

func errorFromProto(p *providerv1.Error) *Error {
	code := Code(p.Code)
	if code == "" {
		code = CodeProviderError
	}
	return &Error{
		Code: code, Message: p.Message, Field: p.Field, Retryable: p.Retryable,
		RetryAfter: time.Duration(p.RetryAfterMs) * time.Millisecond, ProviderCode: p.ProviderCode,
		ProviderMessage: p.ProviderMessage,
	}
}

var _ WireInvoker = (*GRPCClient)(nil)
