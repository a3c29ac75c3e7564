package rpc

import (
	"context"
	"log/slog"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
)

// A Dispatcher serves a provider value in process: it is an Invoker whose
// far side is the provider, run by the same code that serves it behind
// sdk.Serve and in a WASM guest (it decodes the request, calls the
// capability the provider implements, encodes the answer; a capability it
// does not implement answers unsupported, and a panic in it is recovered
// into a provider_error). It reads the binary envelope but does not say so
// (it is no WireInvoker): a Remote over it speaks JSON, as it would to a
// plugin built before the envelope. It is safe for concurrent use.
type Dispatcher struct {
	d bridge.Dispatcher
}

// NewDispatcher returns a Dispatcher serving p; logger is handed to its
// Configure (nil discards).
func NewDispatcher(p sdk.Provider, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{d: bridge.NewDispatcher(p, logger, 0)}
}

// Invoke runs one encoded operation and returns the encoded answer.
func (d *Dispatcher) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	return d.d.Append(ctx, nil, op, payload)
}

var _ Invoker = (*Dispatcher)(nil)
