//go:build !wasip1

// Command carvalue-plugin serves the carvalue adapter as a go-plugin
// process. Build it, take its SHA-256 and name it in the host's config:
//
//	go build -o carvalue-plugin ./plugins/carvalue/cmd/carvalue-plugin
//	sha256sum carvalue-plugin
//
//	providers:
//	  - id: carvalue
//	    runtime: plugin
//	    path: ./carvalue-plugin
//	    sha256: <the digest>
//	    config: {base_url: ..., appid: ..., secret: "${CARVALUE_SECRET}"}
//
// The same adapter builds as a WASM module: see ../carvalue-wasm.
package main

import (
	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/sdk"
)

func main() { sdk.Serve(carvalue.New()) }
