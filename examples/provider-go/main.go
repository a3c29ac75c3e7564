// Command provider-go is a complete recyclegate provider built as its own
// plugin binary, outside the host: the proof that a new provider needs no
// rebuild of the host. It prices devices from a fixed trade-in price list
// ("greenbox", an imaginary recycler) and needs one secret, api_key.
//
// Build it, take its SHA-256, and name it in the host's config:
//
//	go build -o greenbox ./examples/provider-go
//	sha256sum greenbox
//
//	providers:
//	  - id: greenbox
//	    runtime: plugin
//	    path: ./greenbox
//	    sha256: <the digest>
//	    config: {api_key: "${GREENBOX_KEY}"}
package main

import "github.com/recyclegate/recyclegate/sdk"

func main() { sdk.Serve(New()) }
