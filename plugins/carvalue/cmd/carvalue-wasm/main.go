//go:build wasip1

// Command carvalue-wasm is the carvalue adapter as a WASM module: the same
// code as the plugin binary in ../carvalue-plugin, sandboxed in the host's
// process. Build it as a WASI reactor, take its SHA-256 and name it in the
// host's config:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o carvalue.wasm ./plugins/carvalue/cmd/carvalue-wasm
//	sha256sum carvalue.wasm
//
//	providers:
//	  - id: carvalue
//	    runtime: wasm
//	    path: ./carvalue.wasm
//	    sha256: <the digest>
//	    config: {base_url: ..., appid: ..., secret: "${CARVALUE_SECRET}"}
//
// The module reaches only the hosts its configuration allows (allowed_hosts;
// by default the hosts of its URL-valued config such as base_url).
package main

import (
	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/sdk/wasm"
)

func init() {
	a := carvalue.New()
	a.HTTPClient = wasm.HTTPClient() // a guest has no sockets: HTTP goes through the host
	wasm.Serve(a)
}

// main never runs: the host calls a reactor's exports after init.
func main() {}
