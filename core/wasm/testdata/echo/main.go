//go:build wasip1

// Command echo implements the recyclegate WASM ABI v1 by hand, without the
// guest SDK or encoding/json: the proof that the ABI alone is enough, and
// the benchmark of what the runtime itself costs per call. It answers
// describe with a fixed manifest, "fail" with an error, and echoes any
// other operation's payload. The tests build it:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm ./core/wasm/testdata/echo
package main

import "unsafe"

func main() {}

var (
	in  []byte
	out []byte
)

const manifest = `{"id":"echo","name":"echo","version":"1","status":"beta","categories":["phone"],"capabilities":["quote"],"limits":{}}`

//go:wasmexport recyclegate_abi_v1
func abiV1() {}

//go:wasmexport rg_alloc
func alloc(size uint32) uint32 {
	if uint32(cap(in)) < size || cap(in) == 0 {
		in = make([]byte, max(size, 64))
	}
	in = in[:cap(in)]
	return addr(in)
}

//go:wasmexport rg_dispatch
func dispatch(opPtr, opLen, inPtr, inLen uint32, _ int64) uint64 {
	base := addr(in)
	op := string(in[opPtr-base : opPtr-base+opLen])
	payload := in[inPtr-base : inPtr-base+inLen]
	out = out[:0]
	switch op {
	case "describe":
		out = append(append(out, 0), manifest...)
	case "fail":
		out = append(append(out, 1), `{"code":"not_found","message":"nothing here","field":"id"}`...)
	default:
		out = append(append(out, 0), payload...)
	}
	return uint64(addr(out))<<32 | uint64(len(out))
}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))) }
