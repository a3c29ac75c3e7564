package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/plugins/carvalue/carvaluetest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// The carvalue adapter as a go-plugin process, built from its plugin main:
// the binary the host runs with runtime plugin.
func TestCarvaluePluginBinary(t *testing.T) {
	bin := buildPlugin(t, "../../plugins/carvalue/cmd/carvalue-plugin")
	carvaluetest.Conformance(t, func(t *testing.T, _ func() time.Time) sdk.Provider {
		return startPlugin(t, bin)
	})
}

// The same adapter as a WASM module, built from its wasm main and run by
// core/wasm: the module the host runs with runtime wasm.
func TestCarvalueWASM(t *testing.T) {
	path, sum := wasmtest.BuildGuest(t, "../../plugins/carvalue/cmd/carvalue-wasm")
	carvaluetest.Conformance(t, func(t *testing.T, now func() time.Time) sdk.Provider {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: wasmtest.CacheDir(), Now: now, Instances: 4})
		if err != nil {
			t.Fatalf("loading the module: %v", err)
		}
		t.Cleanup(func() { _ = m.Close(context.Background()) })
		man, err := rpc.Describe(ctx, m)
		if err != nil {
			t.Fatalf("describing: %v", err)
		}
		return rpc.NewRemote(m, man)
	})
}

var (
	pluginOnce sync.Once
	pluginBin  string
	pluginErr  error
)

func buildPlugin(t *testing.T, pkg string) string {
	t.Helper()
	pluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conformance-")
		if err != nil {
			pluginErr = err
			return
		}
		pluginBin = filepath.Join(dir, "plugin")
		cmd := exec.Command("go", "build", "-o", pluginBin, pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			pluginErr = &buildError{err, string(out)}
		}
	})
	if pluginErr != nil {
		t.Fatalf("building %s: %v", pkg, pluginErr)
	}
	return pluginBin
}

type buildError struct {
	err error
	out string
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if pluginBin != "" {
		os.RemoveAll(filepath.Dir(pluginBin))
	}
	os.Exit(code)
}

// startPlugin runs the binary as the host does (go-plugin over gRPC, no
// environment) and returns the host's view of it; the process ends with the
// test.
func startPlugin(t *testing.T, bin string) sdk.Provider {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  rpc.Handshake,
		Plugins:          plugin.PluginSet{rpc.PluginName: &rpc.GRPCPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(client.Kill)
	conn, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin: %v", err)
	}
	raw, err := conn.Dispense(rpc.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	inv := raw.(*rpc.GRPCClient)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	man, err := rpc.Describe(ctx, inv)
	if err != nil {
		t.Fatalf("describing: %v", err)
	}
	return rpc.NewRemote(inv, man)
}
