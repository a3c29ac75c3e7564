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

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
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
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level:       slog.LevelDebug,
		ReplaceAttr: hclogJSON,
	}))
	go exitWithParent(os.Getppid(), 500*time.Millisecond)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  bridge.ProtocolVersion,
			MagicCookieKey:   bridge.MagicCookieKey,
			MagicCookieValue: bridge.MagicCookieValue,
		},
		Plugins:    plugin.PluginSet{bridge.PluginName: &servedPlugin{d: newDispatcher(p, logger)}},
		GRPCServer: plugin.DefaultGRPCServer,
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
	d *dispatcher
}

// GRPCServer registers the provider's gRPC service.
func (p *servedPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	providerv1.RegisterProviderServer(s, &grpcServer{d: p.d})
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
	d *dispatcher
}

func (s *grpcServer) Features(context.Context, *providerv1.FeaturesRequest) (*providerv1.FeaturesResponse, error) {
	return &providerv1.FeaturesResponse{WireVersion: wireVersion}, nil
}

func (s *grpcServer) Invoke(ctx context.Context, req *providerv1.InvokeRequest) (*providerv1.InvokeResponse, error) {
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
