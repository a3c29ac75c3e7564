//go:build wasip1

package wasm

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
	"unsafe"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

var (
	served  sdk.Provider
	logger  = slog.New(&hostHandler{level: slog.LevelDebug})
	inBuf   []byte // the region rg_alloc hands out; the host writes op and payload into it
	outBuf  []byte // the last dispatch reply, kept alive until the next call
	minBuf  = 4096
	noServe = &sdk.Error{Code: sdk.CodeProviderError,
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
var _ = []any{abiVersionMarker, rgAlloc, rgDispatch}

//go:wasmexport recyclegate_abi_v1
func abiVersionMarker() {}

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
		return reply(nil, &sdk.Error{Code: sdk.CodeInvalidArgument,
			Message: "dispatch: the operation and payload must lie in the region rg_alloc returned"})
	}
	if served == nil {
		return reply(nil, noServe)
	}
	ctx := context.Background()
	if timeoutNS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutNS))
		defer cancel()
	}
	out, err := sdk.Dispatch(ctx, served, string(op), in, logger)
	return reply(out, err)
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

func reply(out []byte, err error) uint64 {
	outBuf = outBuf[:0]
	if err != nil {
		b, merr := json.Marshal(sdk.AsError(err))
		if merr != nil {
			b = []byte(`{"code":"provider_error","message":"encoding an error failed"}`)
		}
		outBuf = append(outBuf, byte(abi.StatusError))
		outBuf = append(outBuf, b...)
	} else {
		outBuf = append(outBuf, byte(abi.StatusOK))
		outBuf = append(outBuf, out...)
	}
	return abi.Pack(addr(outBuf), uint32(len(outBuf)))
}

// addr is the linear-memory address of b's first byte.
func addr(b []byte) uint32 {
	if cap(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:1]))))
}
