// Package sdk is what a recyclegate provider author imports.
//
// Start here: write a type that implements Provider (its Manifest), then the
// capability interfaces your provider supports, one small interface each:
// Quoter, BatchQuoter, Cataloger. Add Configurer to receive your
// configuration and secrets, and Close (io.Closer) to release what you hold.
// A provider that also takes recycle orders implements the interfaces of
// package sdk/recycle (Orderer, Tracker, Inspector, Settler,
// TradeInCreator); sdk.Serve serves them as it serves these.
// End each implementation file with interface guards:
//
//	var _ sdk.Quoter = (*Adapter)(nil)
//
// Then serve it as a plugin with a main that is one call:
//
//	func main() { sdk.Serve(myprovider.New()) }
//
// and test it over real gRPC, without building a binary, with package
// sdktest. The same provider also runs in process (a Go service registers
// it with the host directly) and, built for GOOS=wasip1 with package
// sdk/wasm, as a WASM adapter (examples/wasm-provider).
//
// Conventions every provider keeps:
//   - Every method is Op(ctx, *OpRequest) (*OpResponse, error). The context
//     carries the caller's deadline; pass it to every HTTP request.
//   - Errors are *Error with a stable Code, Retryable where a retry may help,
//     and the provider's own code and message. Bad input is refused before
//     any provider call with InvalidField.
//   - Money is Money: integer fen and a currency. Parse a provider's amounts
//     with ParseAmount (its text, as the provider wrote it: "6,800.50",
//     "39.88万", a JSON number or string), never through float64.
//   - Provider timestamps are read and written in the provider's zone
//     (ChinaTime for the built-in providers).
//
// Beside it: package recycle is the recycle-order side of the contract
// (sdk/recycle); package httpkit sends a provider's HTTP calls and turns their
// failures into *Error (sdk/httpkit); package sandboxkit helps write the
// sandbox that every provider ships, a faithful stand-in for the provider's
// test environment. The host's side of the contract (the transport) is
// package sdk/rpc, which a provider never imports.
package sdk
