//go:build !wasip1

package sdk

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
	"github.com/recyclegate/recyclegate/sdk/proto/providerv1"
)

// rawPlugin is servedPlugin, the plugin side of sdk.Serve, with a host side
// that hands out the bare gRPC client (the host's own side is sdk/rpc's, and
// sdk's tests cannot import it).
type rawPlugin struct{ servedPlugin }

func (*rawPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return providerv1.NewProviderClient(c), nil
}

// echoProvider answers a quote with the request's item.
type echoProvider struct{}

func (echoProvider) Manifest() Manifest { return Manifest{ID: "echo"} }
func (echoProvider) Quote(_ context.Context, req *QuoteRequest) (*QuoteResponse, error) {
	if req.Item.Model == "missing" {
		return nil, &Error{Code: CodeNotFound, Message: "no such model", Retryable: true, RetryAfter: 2 * time.Second,
			ProviderCode: "404", ProviderMessage: "not listed"}
	}
	it := req.Item
	return &QuoteResponse{Quote: Quote{Provider: "echo", Price: Fen(100), Item: &it, Remark: req.Item.Model}}, nil
}

// What sdk.Serve answers over gRPC: the envelope version it reads, answers
// in the envelope and as JSON, and a provider's error field for field.
func TestServedPluginAnswersOverGRPC(t *testing.T) {
	p := &rawPlugin{servedPlugin{d: newDispatcher(echoProvider{}, nil)}}
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{bridge.PluginName: p})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(bridge.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	c := raw.(providerv1.ProviderClient)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	f, err := c.Features(ctx, &providerv1.FeaturesRequest{})
	if err != nil || f.WireVersion != wireVersion {
		t.Fatalf("Features: %v, %v", f, err)
	}
	req := filled[QuoteRequest](t)
	wire, _ := req.AppendBinary(nil)
	resp, err := c.Invoke(ctx, &providerv1.InvokeRequest{Op: bridge.OpQuote, Payload: wire})
	if err != nil || resp.Error != nil {
		t.Fatalf("quote in the envelope: %v, %v", resp, err)
	}
	var q QuoteResponse
	if err := q.UnmarshalBinary(resp.Payload); err != nil {
		t.Fatal(err)
	}
	equalJSON(t, q.Quote.Item, &req.Item)

	js, _ := json.Marshal(req)
	resp, err = c.Invoke(ctx, &providerv1.InvokeRequest{Op: bridge.OpQuote, Payload: js})
	if err != nil || resp.Error != nil || bridge.IsWire(resp.Payload) {
		t.Fatalf("quote as JSON: %v, %v", resp, err)
	}

	js, _ = json.Marshal(&QuoteRequest{Item: Item{Model: "missing"}})
	resp, err = c.Invoke(ctx, &providerv1.InvokeRequest{Op: bridge.OpQuote, Payload: js})
	want := &providerv1.Error{Code: string(CodeNotFound), Message: "no such model", Retryable: true, RetryAfterMs: 2000,
		ProviderCode: "404", ProviderMessage: "not listed"}
	if err != nil || resp.Error == nil || resp.Error.String() != want.String() {
		t.Fatalf("provider error: got %v (%v), want %v", resp.GetError(), err, want)
	}
}
