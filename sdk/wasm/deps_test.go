//go:build !wasip1

package wasm_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/sdk/rpc"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

// A guest's build stays light: the guest SDK, built for GOOS=wasip1, pulls
// in neither go-plugin nor gRPC nor protobuf (sdk/plugin.go is !wasip1) nor
// the host's side, sdk/rpc, nor the recycle-order side, sdk/recycle (a guest
// whose provider takes orders imports it itself).
func TestGuestBuildPullsInNoPluginMachinery(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "github.com/recyclegate/recyclegate/sdk/wasm")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := string(out)
	if !strings.Contains(deps, "github.com/recyclegate/recyclegate/sdk\n") {
		t.Fatalf("the guest SDK does not build on sdk:\n%s", deps)
	}
	for _, heavy := range []string{"github.com/hashicorp/go-plugin", "google.golang.org/grpc", "google.golang.org/protobuf",
		"github.com/recyclegate/recyclegate/sdk/proto", "github.com/recyclegate/recyclegate/sdk/rpc",
		"github.com/recyclegate/recyclegate/sdk/recycle"} {
		if strings.Contains(deps, heavy) {
			t.Errorf("a GOOS=wasip1 build of sdk/wasm pulls in %s", heavy)
		}
	}
}

// The marker export names the envelope version the SDK encodes.
func TestWireMarkerNamesTheSDKsVersion(t *testing.T) {
	if want := fmt.Sprintf("recyclegate_wire_v%d", rpc.WireVersion); abi.ExportWireMarker != want {
		t.Fatalf("abi.ExportWireMarker is %q; rpc.WireVersion %d wants %q", abi.ExportWireMarker, rpc.WireVersion, want)
	}
	src, err := os.ReadFile("guest.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "//go:wasmexport "+abi.ExportWireMarker+"\n") {
		t.Fatalf("guest.go does not export %s", abi.ExportWireMarker)
	}
}
