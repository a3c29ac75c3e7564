// Package rpc is the host's side of the provider contract; provider authors
// never import it. An author imports sdk, implements its interfaces and
// calls sdk.Serve; this package is what the host (core, core/wasm) and the
// test harnesses (sdk/sdktest, internal/conformance) call that provider
// through.
//
// Start here: a provider on the far side of a runtime boundary is an
// Invoker. A plugin process is a *GRPCClient, dispensed by go-plugin with
// Handshake and GRPCPlugin under PluginName; a WASM instance is a
// core/wasm.Module; a Go value served in process is a *Dispatcher. Ask the
// Invoker for its manifest with Describe and wrap it with NewRemote: a Remote
// is an sdk.Provider implementing every capability interface, so the host
// treats every runtime alike.
//
//	inv := raw.(*rpc.GRPCClient) // go-plugin's Dispense(rpc.PluginName)
//	m, err := rpc.Describe(ctx, inv)
//	p := rpc.NewRemote(inv, m)
//	resp, err := p.Quote(ctx, req)
//
// What crosses a boundary is an operation's name (the Op constants) and a
// payload: the JSON of the request or response type (sdk's, or
// sdk/recycle's for the order operations). quote and
// quote_batch cross in the binary envelope instead (WireVersion,
// docs/wasm-abi.md) when the far side says it reads it (WireInvoker). Errors
// cross as *sdk.Error, field for field.
//
// The provider's side (the dispatcher behind sdk.Serve and sdk/wasm) lives in
// package sdk, unexported, and serves the order operations through
// sdk/recycle, which registers them with it; a Dispatcher here serves a
// provider with that same code.
package rpc
