package rpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
	"github.com/recyclegate/recyclegate/sdk/proto/providerv1"
)

// The go-plugin protocol: the host refuses a plugin that speaks another
// ProtocolVersion, and dispenses the provider under PluginName.
const (
	ProtocolVersion = 1
	PluginName      = "provider"
)

// Handshake is the go-plugin handshake shared by the host and every provider
// plugin (sdk.Serve). The cookie only guards against running a plugin binary
// by hand; it is not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  bridge.ProtocolVersion,
	MagicCookieKey:   bridge.MagicCookieKey,
	MagicCookieValue: bridge.MagicCookieValue,
}

// GRPCPlugin is the go-plugin glue for a provider. The host's side gets a
// *GRPCClient (GRPCPlugin{} is all a host configures). The plugin side
// serves Impl, for a test that runs a provider in process (sdk/sdktest does);
// a provider's own process serves through sdk.Serve instead.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl   sdk.Provider // plugin side only
	Logger *slog.Logger // plugin side: handed to Configure
}

// GRPCServer registers the provider's gRPC service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	providerv1.RegisterProviderServer(s, &server{d: bridge.NewDispatcher(p.Impl, p.Logger, 0)})
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

// server is the plugin side's gRPC service, as sdk.Serve's is.
type server struct {
	providerv1.UnimplementedProviderServer
	d bridge.Dispatcher
}

func (s *server) Features(context.Context, *providerv1.FeaturesRequest) (*providerv1.FeaturesResponse, error) {
	return &providerv1.FeaturesResponse{WireVersion: WireVersion}, nil
}

func (s *server) Invoke(ctx context.Context, req *providerv1.InvokeRequest) (*providerv1.InvokeResponse, error) {
	out, err := s.d.Append(ctx, nil, req.Op, req.Payload)
	if err != nil {
		return &providerv1.InvokeResponse{Error: errorToProto(sdk.AsError(err))}, nil
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

func transportError(ctx context.Context, err error) *sdk.Error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return sdk.AsError(ctxErr)
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.DeadlineExceeded:
		return &sdk.Error{Code: sdk.CodeDeadlineExceeded, Message: "plugin call: " + st.Message(), Retryable: true}
	case codes.Canceled:
		return &sdk.Error{Code: sdk.CodeCanceled, Message: "plugin call canceled"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &sdk.Error{Code: sdk.CodeDeadlineExceeded, Message: err.Error(), Retryable: true}
	}
	return &sdk.Error{Code: sdk.CodeUnavailable, Message: "plugin unreachable: " + st.Message(), Retryable: true}
}

func errorToProto(e *sdk.Error) *providerv1.Error {
	return &providerv1.Error{
		Code: string(e.Code), Message: e.Message, Field: e.Field, Retryable: e.Retryable,
		RetryAfterMs: e.RetryAfter.Milliseconds(), ProviderCode: e.ProviderCode, ProviderMessage: e.ProviderMessage,
	}
}

func errorFromProto(p *providerv1.Error) *sdk.Error {
	code := sdk.Code(p.Code)
	if code == "" {
		code = sdk.CodeProviderError
	}
	return &sdk.Error{
		Code: code, Message: p.Message, Field: p.Field, Retryable: p.Retryable,
		RetryAfter: time.Duration(p.RetryAfterMs) * time.Millisecond, ProviderCode: p.ProviderCode,
		ProviderMessage: p.ProviderMessage,
	}
}

var _ WireInvoker = (*GRPCClient)(nil)
