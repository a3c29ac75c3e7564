// Package bridge is what package sdk shares with the packages beside it
// (sdk/rpc, the host's side; sdk/wasm, the WASM guest; sdk/recycle, the
// recycle-order side of the contract) and with no one else: the names both
// sides of a runtime boundary must agree on, the dispatcher that serves a
// provider value, and the operations served from beside sdk.
//
// The dispatcher lives in package sdk, unexported: sdk.Serve needs it, and a
// provider author's view of sdk should hold no transport. sdk registers it
// here when it initializes (before any package importing sdk runs its own
// init). The order operations' types live in sdk/recycle, which imports sdk:
// the dispatcher cannot name them, so sdk/recycle registers here, when it
// initializes, a Binder per operation, which the dispatcher asks for the
// provider's Method. Both are set at run time, once, by an init, and only
// read afterwards. sdk imports this package, so this package cannot name
// sdk's types: a provider is an any here, and sdk/rpc and sdk/wasm, which
// take an sdk.Provider, are the typed doors to it.
//
// It imports only the standard library and builds for every GOOS, wasip1
// included.
package bridge

import (
	"context"
	"log/slog"
)

// The operation names that cross a runtime boundary (gRPC and WASM alike).
// sdk/rpc exports the same names to the host; docs/wasm-abi.md lists them
// for guests in other languages.
const (
	OpDescribe      = "describe"
	OpConfigure     = "configure"
	OpQuote         = "quote"
	OpQuoteBatch    = "quote_batch"
	OpCatalogSearch = "catalog.search"
	OpCatalogGet    = "catalog.get"
	OpOrderCreate   = "order.create"
	OpOrderGet      = "order.get"
	OpOrderTrack    = "order.track"
	OpInspection    = "order.inspection"
	OpSettlement    = "order.settlement"
	OpTradeIn       = "tradein.create"
)

// The binary envelope's header: a payload in it starts with WireMarker (no
// JSON text starts with a zero byte), then WireVersion, the version of the
// envelope this SDK encodes and decodes.
const (
	WireMarker  = 0x00
	WireVersion = 1
)

// IsWire reports whether payload is in the binary envelope (of any version).
func IsWire(payload []byte) bool { return len(payload) > 0 && payload[0] == WireMarker }

// The go-plugin handshake shared by sdk.Serve and the host.
const (
	PluginName       = "provider"
	ProtocolVersion  = 1
	MagicCookieKey   = "RECYCLEGATE_PLUGIN"
	MagicCookieValue = "provider-8c1d3f0e5b7a4c29"
)

// A Dispatcher serves one provider for many calls: it decodes a request,
// calls the capability the provider implements, and encodes the answer. A
// capability the provider does not implement answers unsupported; a panic
// in the provider is recovered into a provider_error. It is safe for
// concurrent use.
type Dispatcher interface {
	// Append runs one encoded operation and appends the answer to dst. On an
	// error dst comes back unchanged.
	Append(ctx context.Context, dst []byte, op string, payload []byte) ([]byte, error)
	// AppendKept is Append for a payload its caller never changes or reuses
	// afterwards: the strings of a request in the binary envelope are not
	// copied but point into payload, which stays in memory while any of
	// them does.
	AppendKept(ctx context.Context, dst []byte, op string, payload []byte) ([]byte, error)
}

// DispatcherFunc makes a Dispatcher for provider, an sdk.Provider; logger is
// handed to its Configure. block > 1 allocates the quote requests it
// decodes block at a time, each block living as long as any request in it
// (for a WASM guest, where every allocation is costly).
type DispatcherFunc func(provider any, logger *slog.Logger, block int) Dispatcher

var newDispatcher DispatcherFunc

// RegisterDispatcher is called once, by package sdk's init.
func RegisterDispatcher(f DispatcherFunc) {
	if newDispatcher != nil {
		panic("bridge: a dispatcher is registered already")
	}
	newDispatcher = f
}

// NewDispatcher returns package sdk's dispatcher for provider, an
// sdk.Provider.
func NewDispatcher(provider any, logger *slog.Logger, block int) Dispatcher {
	return newDispatcher(provider, logger, block)
}

// A Method is an operation served from beside sdk (sdk/recycle serves the
// order operations), bound to one provider. It decodes the request from
// payload with decode (the dispatcher's: JSON, and its error for a request
// that is not), calls the provider and returns its answer, nil (not a nil
// pointer) when the provider returned none.
type Method func(ctx context.Context, payload []byte, decode func(payload []byte, req any) error) (answer any, err error)

// A Binder returns the Method serving its operation for provider, an
// sdk.Provider, or nil when the provider does not implement it.
type Binder func(provider any) Method

var binders = map[string]Binder{}

// RegisterOp makes b the Binder of operation op. It is called once per
// operation, by the init of the package that serves it: a provider whose
// binary does not import that package answers the operation unsupported.
func RegisterOp(op string, b Binder) {
	if binders[op] != nil {
		panic("bridge: operation " + op + " is registered already")
	}
	binders[op] = b
}

// Bind returns the Methods provider implements, by operation; nil when none.
func Bind(provider any) map[string]Method {
	var methods map[string]Method
	for op, b := range binders {
		if m := b(provider); m != nil {
			if methods == nil {
				methods = make(map[string]Method, len(binders))
			}
			methods[op] = m
		}
	}
	return methods
}
