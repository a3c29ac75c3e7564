//go:build wasip1

package wasm

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

var (
	served sdk.Provider
	logger = slog.New(&hostHandler{level: slog.LevelDebug})
	inBuf  []byte // the region rg_alloc hands out; the host writes op and payload into it
	outBuf []byte // the last dispatch reply, kept alive until the next call
	minBuf = 4096
	// maxKeptReply is the largest reply buffer kept between calls.
	maxKeptReply = 1 << 20
	noServe      = &sdk.Error{Code: sdk.CodeProviderError,
		Message: "the module serves no provider: call wasm.Serve from an init function (a reactor's main never runs)"}
)

// Serve makes p the provider this module serves. Call it from an init
// function of the main package; the host calls the module only after init.
// It also routes http.DefaultTransport through the host.
func Serve(p sdk.Provider) {
	served = p
	http.DefaultTransport = Transport{}
}

// Logger returns a logger that writes into the host's structured log (the
// same one a provider's Configure receives). The host redacts the provider's
// secrets.
func Logger() *slog.Logger { return logger }

// The exports are called by the host only; this keeps linters aware of it.
var _ = []any{abiVersionMarker, wireVersionMarker, rgAlloc, rgDispatch}

//go:wasmexport recyclegate_abi_v1
func abiVersionMarker() {}

// The guest reads quotes in the binary envelope, sdk.WireVersion.
//
//go:wasmexport recyclegate_wire_v1
func wireVersionMarker() {}

//go:wasmexport rg_alloc
func rgAlloc(size uint32) uint32 {
	n := max(int(size), minBuf)
	if cap(inBuf) < n {
		inBuf = make([]byte, n)
	}
	inBuf = inBuf[:cap(inBuf)]
	return addr(inBuf)
}

//go:wasmexport rg_dispatch
func rgDispatch(opPtr, opLen, inPtr, inLen uint32, timeoutNS int64) uint64 {
	op, okOp := region(opPtr, opLen)
	in, okIn := region(inPtr, inLen)
	if !okOp || !okIn {
		return replyError(&sdk.Error{Code: sdk.CodeInvalidArgument,
			Message: "dispatch: the operation and payload must lie in the region rg_alloc returned"})
	}
	if served == nil {
		return replyError(noServe)
	}
	var ctx context.Context = background
	if timeoutNS > 0 {
		c := &callContext{deadline: Now().Add(time.Duration(timeoutNS))}
		defer c.stop()
		ctx = c
	}
	if cap(outBuf) > maxKeptReply {
		outBuf = nil // a one-off large answer is not kept for the instance's life
	}
	outBuf = append(outBuf[:0], byte(abi.StatusOK))
	out, err := sdk.AppendDispatch(ctx, outBuf, served, opName(op), in, logger)
	if err != nil {
		return replyError(err)
	}
	outBuf = out
	return abi.Pack(addr(outBuf), uint32(len(outBuf)))
}

// opName is the operation's name, without an allocation for the known ones.
func opName(op []byte) string {
	switch string(op) {
	case sdk.OpQuote:
		return sdk.OpQuote
	case sdk.OpQuoteBatch:
		return sdk.OpQuoteBatch
	case sdk.OpDescribe:
		return sdk.OpDescribe
	case sdk.OpConfigure:
		return sdk.OpConfigure
	}
	return string(op)
}

var background = context.Background()

// callContext is a call's context: it carries the caller's deadline, and
// starts the timer behind Done only when someone asks for Done (an HTTP
// request, a child context). Most calls never do, and a timer is costly in
// a guest. The host stops a guest still running at the deadline whatever
// the guest does with its context. Once the call has returned, the context
// is canceled, as one from context.WithTimeout would be.
type callContext struct {
	deadline time.Time
	once     sync.Once
	timed    context.Context
	cancel   context.CancelFunc
	returned bool
}

func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callContext) Value(key any) any           { return nil }

func (c *callContext) Done() <-chan struct{} {
	c.once.Do(func() {
		c.timed, c.cancel = context.WithDeadline(background, c.deadline)
		if c.returned {
			c.cancel()
		}
	})
	return c.timed.Done()
}

func (c *callContext) Err() error {
	if c.timed != nil {
		return c.timed.Err()
	}
	if c.returned {
		return context.Canceled
	}
	if !Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *callContext) stop() {
	c.returned = true
	if c.cancel != nil {
		c.cancel()
	}
}

// region returns the part of inBuf at [ptr, ptr+n), and whether it is one.
func region(ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	base := addr(inBuf)
	if len(inBuf) == 0 || ptr < base || uint64(ptr)+uint64(n) > uint64(base)+uint64(len(inBuf)) {
		return nil, false
	}
	off := ptr - base
	return inBuf[off : off+n], true
}

func replyError(err error) uint64 {
	b, merr := json.Marshal(sdk.AsError(err))
	if merr != nil {
		b = []byte(`{"code":"provider_error","message":"encoding an error failed"}`)
	}
	outBuf = append(append(outBuf[:0], byte(abi.StatusError)), b...)
	return abi.Pack(addr(outBuf), uint32(len(outBuf)))
}

// addr is the linear-memory address of b's first byte.
func addr(b []byte) uint32 {
	if cap(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:1]))))
}
