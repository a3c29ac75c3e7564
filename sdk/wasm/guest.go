//go:build wasip1

package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
	"unsafe"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

var (
	served bridge.Dispatcher
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
	served = bridge.NewDispatcher(p, logger, 16)
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

// The guest reads quotes in the binary envelope, version 1 (bridge.WireVersion).
//
//go:wasmexport recyclegate_wire_v1
func wireVersionMarker() {}

// The guest reads the caller's trace context after the operation's name
// (abi.ExportTraceMarker): TraceParent.
//
//go:wasmexport recyclegate_trace_v1
func traceMarker() {}

// traceparent is the W3C traceparent of the call being served, "" when
// the host sent none.
var traceparent string

// TraceParent is the W3C traceparent of the call being served, as the host
// sent it (the host's span of the call, in the trace of the request), or
// "" outside a trace. The guest's HTTP requests carry it (HTTPClient), so
// a provider that reads trace context sees the request's trace; a provider
// may also log it.
func TraceParent() string { return traceparent }

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
	traceparent = ""
	if k := bytes.IndexByte(op, 0); k >= 0 {
		traceparent, op = string(op[k+1:]), op[:k]
	}
	var ctx context.Context = background
	if timeoutNS > 0 {
		ctx = newCallContext(calls.n, Now().UnixNano()+timeoutNS)
	}
	if cap(outBuf) > maxKeptReply {
		outBuf = nil // a one-off large answer is not kept for the instance's life
	}
	outBuf = append(outBuf[:0], byte(abi.StatusOK))
	var out []byte
	var err error
	if bridge.IsWire(in) {
		out, err = served.AppendKept(ctx, outBuf, opName(op), keep(in))
	} else {
		out, err = served.Append(ctx, outBuf, opName(op), in)
	}
	calls.end()
	if err != nil {
		return replyError(err)
	}
	outBuf = out
	return abi.Pack(addr(outBuf), uint32(len(outBuf)))
}

// Payloads in the binary envelope are copied out of the input region (which
// the host writes again at the next call) into chunks that are never written
// again, and decoded without copying their strings: a heap allocation the
// size of a payload costs a guest more than the rest of a quote, a copy into
// a chunk almost nothing. A chunk stays in memory as long as any string cut
// from it does; sdk/wasm's doc tells authors to clone a request's string
// they keep beyond the call.
const (
	chunkSize    = 64 << 10
	maxChunked   = 8 << 10 // larger payloads get memory of their own
	chunkedAlign = 8
)

var chunk []byte // the free end of the current chunk

func keep(p []byte) []byte {
	if len(p) > maxChunked {
		return bytes.Clone(p)
	}
	n := (len(p) + chunkedAlign - 1) &^ (chunkedAlign - 1)
	if len(chunk) < n {
		chunk = make([]byte, chunkSize)
	}
	kept := chunk[:len(p):len(p)]
	copy(kept, p)
	chunk = chunk[n:]
	return kept
}

// opName is the operation's name, without an allocation for the known ones.
func opName(op []byte) string {
	switch string(op) {
	case bridge.OpQuote:
		return bridge.OpQuote
	case bridge.OpQuoteBatch:
		return bridge.OpQuoteBatch
	case bridge.OpDescribe:
		return bridge.OpDescribe
	case bridge.OpConfigure:
		return bridge.OpConfigure
	}
	return string(op)
}

var background = context.Background()

// callContext is a call's context: the call's number and its deadline, and
// nothing the garbage collector must scan. Contexts are allocated a block
// at a time and never reused (a block lives while any of its contexts
// does): an allocation per call would cost a guest more than the rest of
// the context's work. The timer behind Done starts only when someone asks
// for Done (an HTTP request, a child context): most calls never do, and a
// timer is costly in a guest. The host stops a guest still running at the
// deadline whatever the guest does with its context. Once its call has
// returned, a context is canceled, as one from context.WithTimeout would be.
type callContext struct {
	call     uint64 // which call; calls.n is the one running
	deadline int64  // Unix nanoseconds
}

// calls is the state of the call running now: a guest runs one at a time.
var calls callState

type callState struct {
	n      uint64
	timed  context.Context // made by the first Done of call n
	cancel context.CancelFunc
}

// end ends the running call: its context is canceled.
func (s *callState) end() {
	s.n++
	if s.cancel != nil {
		s.cancel()
		s.timed, s.cancel = nil, nil
	}
}

var contexts []callContext // the unused rest of the current block

func newCallContext(call uint64, deadline int64) *callContext {
	if len(contexts) == 0 {
		contexts = make([]callContext, 256)
	}
	c := &contexts[0]
	contexts = contexts[1:]
	c.call, c.deadline = call, deadline
	return c
}

func (c *callContext) Deadline() (time.Time, bool) { return time.Unix(0, c.deadline), true }
func (c *callContext) Value(key any) any           { return nil }

func (c *callContext) Done() <-chan struct{} {
	if c.call != calls.n {
		return closed
	}
	if calls.timed == nil {
		calls.timed, calls.cancel = context.WithDeadline(background, time.Unix(0, c.deadline))
	}
	return calls.timed.Done()
}

func (c *callContext) Err() error {
	switch {
	case c.call != calls.n:
		return context.Canceled
	case calls.timed != nil:
		return calls.timed.Err()
	case Now().UnixNano() >= c.deadline:
		return context.DeadlineExceeded
	}
	return nil
}

// closed is the Done of a call that has returned.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

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
