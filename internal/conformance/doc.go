// Package conformance runs each provider's conformance suite against every
// runtime that serves it, against the same sandbox: in process (in the
// provider's own tests), as a go-plugin process built from its plugin main,
// and as a WASM module built from its wasm main and run by core/wasm. It is
// the one place that names both core and the providers (as cmd does), so
// it lives outside both.
//
// Run it with:
//
//	go test ./internal/conformance
package conformance
