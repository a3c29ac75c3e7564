//go:build wasip1

// Command initloop is a guest whose package initialisation never ends (as a
// provider stuck in its init would): the host must stop it and refuse it at
// Config.InitTimeout rather than wait. Its exports only make it look like an
// ABI v1 module; they are never reached. The tests build it:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o initloop.wasm ./core/wasm/testdata/initloop
package main

var spins int

func init() {
	for {
		spins++
	}
}

func main() {}

//go:wasmexport recyclegate_abi_v1
func abiV1() {}

//go:wasmexport rg_alloc
func alloc(size uint32) uint32 { return 0 }

//go:wasmexport rg_dispatch
func dispatch(opPtr, opLen, inPtr, inLen uint32, _ int64) uint64 { return 0 }
