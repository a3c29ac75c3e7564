package rpc

import (
	"context"
	"fmt"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
)

// The operation names that cross a runtime boundary (gRPC and WASM alike).
// The host also keys its guards and metrics on them. They are the
// bridge's, the one place both sides of the contract take them from.
const (
	OpDescribe      = bridge.OpDescribe
	OpConfigure     = bridge.OpConfigure
	OpQuote         = bridge.OpQuote
	OpQuoteBatch    = bridge.OpQuoteBatch
	OpCatalogSearch = bridge.OpCatalogSearch
	OpCatalogGet    = bridge.OpCatalogGet
	OpOrderCreate   = bridge.OpOrderCreate
	OpOrderGet      = bridge.OpOrderGet
	OpOrderTrack    = bridge.OpOrderTrack
	OpInspection    = bridge.OpInspection
	OpSettlement    = bridge.OpSettlement
	OpTradeIn       = bridge.OpTradeIn
)

// WireVersion is the version of the binary envelope this SDK encodes and
// decodes (sdk's AppendBinary and UnmarshalBinary on the quote messages). A
// change to the layout of any message is a new version.
const WireVersion = 1

// IsWire reports whether payload is in the binary envelope (of any version).
func IsWire(payload []byte) bool { return bridge.IsWire(payload) }

// Invoker carries one encoded operation across a boundary and brings back the
// encoded answer or an error (an *sdk.Error for a provider's failure).
type Invoker interface {
	Invoke(ctx context.Context, op string, payload []byte) ([]byte, error)
}

// WireInvoker is an Invoker whose far side decodes the binary envelope:
// WireVersion reports the version it speaks, 0 for none. Remote sends quote
// and quote_batch in the envelope when it matches this package's WireVersion,
// and JSON otherwise. The WASM runtime implements it for a guest that
// exports the envelope's marker (sdk/wasm does), GRPCClient for a plugin
// that answers Features.
type WireInvoker interface {
	Invoker
	WireVersion() int
}

// A WireCaller is a WireInvoker that encodes a request in the binary
// envelope and decodes the answer next to the far side's memory: enc
// appends the request to a buffer the WireCaller keeps, and dec reads the
// answer where the far side left it (the bytes are valid during dec only).
// That is two copies of the payload fewer than Invoke. Remote uses it for
// quote and quote_batch when the far side speaks the envelope; the WASM
// runtime implements it.
type WireCaller interface {
	WireInvoker
	CallWire(ctx context.Context, op string, enc func([]byte) []byte, dec func(answer []byte) error) error
}

// Unsupported is the error for an operation the provider does not offer, as
// the provider's side answers it.
func Unsupported(provider string, c sdk.Capability) *sdk.Error {
	return &sdk.Error{Code: sdk.CodeUnsupported, Provider: provider,
		Message: fmt.Sprintf("provider %s does not support %s", provider, c)}
}
