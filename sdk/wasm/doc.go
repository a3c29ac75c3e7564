// Package wasm is the guest side of a recyclegate WASM adapter: what a
// provider author imports to build the same provider as a .wasm module
// instead of a plugin binary.
//
// Start here: write the provider exactly as for go-plugin (a type with
// Manifest and the capability interfaces it supports), then give it a main
// package built for GOOS=wasip1 that serves it from init:
//
//	//go:build wasip1
//
//	package main
//
//	import (
//		"example.com/myprovider"
//		"github.com/recyclegate/recyclegate/sdk/wasm"
//	)
//
//	func init() {
//		p := myprovider.New()
//		p.HTTPClient = wasm.HTTPClient() // HTTP goes through the host
//		wasm.Serve(p)
//	}
//
//	func main() {}
//
// and build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o myprovider.wasm ./cmd/myprovider-wasm
//
// The host calls the guest's _initialize once (which runs init, not main: a
// reactor's main never runs), then one exported dispatch per operation.
//
// A guest has no sockets, files or environment. It reaches the outside only
// through the host: HTTP with HTTPClient or Transport (to the hosts its
// configuration allows), its own configuration with Config, the host's log
// through the Logger its Configure receives, the wall clock (time.Now and
// Now are the host's real clock) and random bytes (crypto/rand and Random
// read the host's crypto/rand). http.DefaultTransport is replaced by
// Transport when Serve runs, so code using http.DefaultClient works too.
//
// One thing differs from a plugin, for speed (a Go guest pays several times
// the native price for each allocation): the strings of a quote request are
// not copied out of the memory the request arrived in, which is shared, 64
// KiB at a time, with the requests around it. A provider that keeps such a
// string beyond its call (as a map key, say) keeps that memory alive with
// it, and should keep strings.Clone of it instead.
//
// The ABI underneath is in package abi and docs/wasm-abi.md. Everything but
// this doc comment builds only for GOOS=wasip1.
package wasm
