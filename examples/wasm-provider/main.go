//go:build wasip1

// Command wasm-provider is the tidebox provider (./tidebox) as a WASM
// module. Build it as a WASI reactor and name it in the host's config:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o tidebox.wasm ./examples/wasm-provider
//	sha256sum tidebox.wasm
//
// See README.md for the whole way from nothing to a loaded adapter.
package main

import (
	"github.com/recyclegate/recyclegate/examples/wasm-provider/tidebox"
	"github.com/recyclegate/recyclegate/sdk/wasm"
)

// init, not main: the host calls a reactor's exports after init, and its
// main never runs.
func init() {
	p := tidebox.New()
	p.HTTPClient = wasm.HTTPClient() // a guest has no sockets: HTTP goes through the host
	wasm.Serve(p)
}

func main() {}
