// Command precompile compiles WASM modules to machine code into a wazero
// compilation cache directory, so a host (or a test built with -race, where
// compiling is slow) loads them from the cache:
//
//	go run ./core/wasm/wasmtest/precompile -cache data/wasm-cache provider.wasm ...
//
// The cache is the one core/wasm reads (Config.CacheDir; the host uses
// <data_dir>/wasm-cache).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/recyclegate/recyclegate/core/wasm"
)

func main() {
	cache := flag.String("cache", "", "compilation cache directory (required)")
	flag.Parse()
	if *cache == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: precompile -cache DIR module.wasm ...")
		os.Exit(2)
	}
	for _, path := range flag.Args() {
		if err := wasm.Precompile(context.Background(), path, *cache); err != nil {
			fmt.Fprintln(os.Stderr, "precompile:", err)
			os.Exit(1)
		}
	}
}
