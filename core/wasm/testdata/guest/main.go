//go:build wasip1

// Command guest is the probe provider as a WASM module, for the runtime's
// tests. The tests build it themselves:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags "-X main.version=1" -o probe.wasm ./core/wasm/testdata/guest
package main

import (
	"github.com/recyclegate/recyclegate/core/wasm/testdata/guest/probe"
	"github.com/recyclegate/recyclegate/sdk/wasm"
)

var version = "1"

func init() {
	p := probe.New("probe", version)
	p.HTTPClient = wasm.HTTPClient()
	p.Now, p.Random, p.Config, p.TraceParent = wasm.Now, wasm.Random, wasm.Config, wasm.TraceParent
	wasm.Serve(p)
}

func main() {}
