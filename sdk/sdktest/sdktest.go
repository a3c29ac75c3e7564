// Package sdktest tests a provider the way the host will call it: over real
// gRPC, in process, without building a plugin binary. A provider author
// starts with Start:
//
//	func TestQuote(t *testing.T) {
//		p := sdktest.Start(t, myprovider.New())
//		sdktest.Configure(t, p, map[string]string{"base_url": srv.URL}, map[string]string{"api_key": "k"})
//		resp, err := p.Quote(ctx, &sdk.QuoteRequest{Item: item})
//		...
//	}
//
// Errors come back as *sdk.Error exactly as the host sees them.
package sdktest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// Start serves p over an in-process gRPC connection through go-plugin's own
// machinery and returns the host's view of it. Everything is closed when the
// test ends.
func Start(t testing.TB, p sdk.Provider) *rpc.Remote {
	t.Helper()
	return StartWithLogger(t, p, slog.New(slog.DiscardHandler))
}

// StartWithLogger is Start with the logger handed to the provider's Configure.
func StartWithLogger(t testing.TB, p sdk.Provider, logger *slog.Logger) *rpc.Remote {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		rpc.PluginName: &rpc.GRPCPlugin{Impl: p, Logger: logger},
	})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(rpc.PluginName)
	if err != nil {
		t.Fatalf("sdktest: dispensing provider: %v", err)
	}
	inv := raw.(*rpc.GRPCClient)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := rpc.Describe(ctx, inv)
	if err != nil {
		t.Fatalf("sdktest: describing provider: %v", err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return rpc.NewRemote(inv, m)
}

// Configure configures the provider and fails the test on error.
func Configure(t testing.TB, r *rpc.Remote, config, secrets map[string]string) sdk.Manifest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.Configure(ctx, &sdk.ConfigureRequest{Config: config, Secrets: secrets})
	if err != nil {
		t.Fatalf("sdktest: configuring provider: %v", err)
	}
	return resp.Manifest
}
