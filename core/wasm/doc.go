// Package wasm runs recyclegate providers compiled to WebAssembly, in the
// host's process and sandboxed, on wazero. A loaded Module is an
// rpc.Invoker: wrap it in rpc.NewRemote and the host treats it exactly like a
// go-plugin provider (same envelope, same errors, same guards).
//
// Start with Load:
//
//	m, err := wasm.Load(ctx, wasm.Config{Path: "carvalue.wasm", SHA256: sum, CacheDir: "data/wasm-cache"})
//	manifest, err := rpc.Describe(ctx, m)
//	p := rpc.NewRemote(m, manifest)
//	p.Configure(ctx, &sdk.ConfigureRequest{Config: cfg, Secrets: secrets})
//	resp, err := p.Quote(ctx, req)
//	...
//	m.Close(ctx)
//
// What Load gives:
//   - The module is compiled ahead of time (wazero's compiler), with the
//     compiled code cached on disk in CacheDir, so a restart loads it in
//     milliseconds. Its file is verified against SHA256 before it is used.
//   - A pool of instances: concurrent calls never share one (an instance is
//     single-threaded). Each new instance is configured like the others
//     before its first call.
//   - Limits: each instance's memory is capped (MemoryPages); the caller's
//     deadline stops a runaway guest (an instance is closed when its call's
//     context ends), and InitTimeout one that never finishes initialising
//     (its start function and _initialize); a trap, a crash or an exit in
//     the guest fails that call only, and the instance is thrown away and
//     replaced. A module importing what the host does not provide is
//     refused with every such import named.
//   - Host imports under one versioned module (see package
//     sdk/wasm/abi and docs/wasm-abi.md): HTTP to allowed hosts only, with a
//     response cap and the caller's deadline; the provider's own config and
//     secrets; the real wall clock and crypto/rand (never wazero's fake
//     clock and fixed random source); logging into the host's log with the
//     provider's secrets redacted.
//   - Reload: with Watch set, a changed file is verified, compiled, tried on
//     a fresh instance and swapped in without a restart; calls in flight
//     finish on the old code.
//
// The guest side, for authors, is package sdk/wasm.
package wasm
