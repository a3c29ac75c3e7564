package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/filltest"
	"github.com/recyclegate/recyclegate/sdk/proto/providerv1"
)

// oldServer is a plugin built before Features existed: gRPC answers
// Features with Unimplemented, and its dispatcher read JSON only.
type oldServer struct {
	providerv1.UnimplementedProviderServer
	impl sdk.Provider
}

func (s *oldServer) Invoke(ctx context.Context, req *providerv1.InvokeRequest) (*providerv1.InvokeResponse, error) {
	if IsWire(req.Payload) {
		return &providerv1.InvokeResponse{Error: errorToProto(&sdk.Error{Code: sdk.CodeInvalidArgument,
			Message: "decoding request: invalid character '\\x00' looking for beginning of value"})}, nil
	}
	out, err := NewDispatcher(s.impl, nil).Invoke(ctx, req.Op, req.Payload)
	if err != nil {
		return &providerv1.InvokeResponse{Error: errorToProto(sdk.AsError(err))}, nil
	}
	return &providerv1.InvokeResponse{Payload: out}, nil
}

type oldPlugin struct{ GRPCPlugin }

func (p *oldPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	providerv1.RegisterProviderServer(s, &oldServer{impl: p.Impl})
	return nil
}

// echoProvider answers a quote with the request's item, so every field
// crosses both ways.
type echoProvider struct{}

func (echoProvider) Manifest() sdk.Manifest { return sdk.Manifest{ID: "echo"} }
func (echoProvider) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	it := req.Item
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "echo", Price: sdk.Fen(100), Item: &it, Remark: req.Item.Model}}, nil
}

func dispense(t *testing.T, p plugin.Plugin) *GRPCClient {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: p})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*GRPCClient)
}

// A plugin built with this SDK gets quotes in the binary envelope; one
// built before the envelope existed keeps getting JSON and still works.
func TestPluginsNegotiateTheEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    plugin.Plugin
		wire int
	}{
		{"current", &GRPCPlugin{Impl: echoProvider{}}, WireVersion},
		{"older", &oldPlugin{GRPCPlugin{Impl: echoProvider{}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := dispense(t, tc.p)
			if inv.WireVersion() != tc.wire {
				t.Fatalf("WireVersion %d, want %d", inv.WireVersion(), tc.wire)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req := filltest.New[sdk.QuoteRequest]()
			resp, err := NewRemote(inv, sdk.Manifest{ID: "echo"}).Quote(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			filltest.EqualJSON(t, resp.Quote.Item, &req.Item)
			batch, err := NewRemote(inv, sdk.Manifest{ID: "echo"}).QuoteBatch(ctx, &sdk.QuoteBatchRequest{Items: []sdk.Item{req.Item}})
			if se := sdk.AsError(err); se == nil || se.Code != sdk.CodeUnsupported || batch != nil {
				t.Fatalf("a batch to a provider without one: %v %v", batch, err)
			}
		})
	}
}
