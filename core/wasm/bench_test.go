package wasm_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/testdata/guest/probe"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// echoInvoker is the in-process counterpart of the echo guest.
type echoInvoker struct{}

func (echoInvoker) Invoke(_ context.Context, _ string, payload []byte) ([]byte, error) {
	return bytes.Clone(payload), nil
}

// The host calls every provider with a deadline; so do the benchmarks.
func deadlineCtx(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkQuote1KB is one quote with a 1 KB request and a 1 KB reply to
// the same provider (testdata/guest/probe) served three ways: called in
// process, in process through the JSON envelope (what go-plugin carries), and
// as a WASM module (the binary envelope); and from the same provider written
// in C (testdata/cprobe).
//
//	go test -run '^$' -bench Quote1KB ./core/wasm
func BenchmarkQuote1KB(b *testing.B) {
	req := &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: strings.Repeat("m", 1024)}}
	run := func(b *testing.B, q sdk.Quoter) {
		ctx := deadlineCtx(b)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := q.Quote(ctx, req)
			if err != nil || len(resp.Quote.Remark) != 1024 || resp.Quote.Price != sdk.Fen(12345) {
				b.Fatal(err)
			}
		}
	}
	b.Run("in-process", func(b *testing.B) { run(b, probe.New("probe", "1")) })
	b.Run("in-process-envelope", func(b *testing.B) {
		p := probe.New("probe", "1")
		run(b, rpc.NewRemote(rpc.NewDispatcher(p, nil), p.Manifest()))
	})
	b.Run("wasm", func(b *testing.B) {
		path, sum := buildProbe(b, "1")
		run(b, rpc.NewRemote(loadBench(b, path, sum), sdk.Manifest{}))
	})
	// The same quote from testdata/cprobe, written in C against the ABI:
	// what the ABI, the envelope and the runtime cost a guest whose language
	// compiles to compact WebAssembly.
	b.Run("wasm-c-guest", func(b *testing.B) { run(b, rpc.NewRemote(loadCProbe(b), sdk.Manifest{})) })
	// What the deadline checks cost a Go guest (a host never runs without
	// them; the first run compiles the module, seconds).
	b.Run("wasm-without-deadline-checks", func(b *testing.B) {
		path, sum := buildProbe(b, "1")
		ctx := context.Background()
		m, err := wasm.Load(ctx, wasm.WithoutTermination(wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir}))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close(ctx) })
		run(b, rpc.NewRemote(m, sdk.Manifest{}))
	})
}

// BenchmarkInvoke1KB is what the runtime itself costs a call: 1 KB in and
// 1 KB out of a guest that does nothing else (testdata/echo, the ABI by
// hand), against the same echo in process.
//
//	go test -run '^$' -bench Invoke1KB ./core/wasm
func BenchmarkInvoke1KB(b *testing.B) {
	payload := []byte(strings.Repeat("x", 1024))
	run := func(b *testing.B, inv rpc.Invoker, ctx context.Context) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := inv.Invoke(ctx, rpc.OpQuote, payload)
			if err != nil || len(out) != 1024 {
				b.Fatal(err)
			}
		}
	}
	b.Run("in-process", func(b *testing.B) { run(b, echoInvoker{}, deadlineCtx(b)) })
	b.Run("wasm", func(b *testing.B) {
		path, sum := wasmtest.BuildGuest(b, "./testdata/echo")
		run(b, loadBench(b, path, sum), deadlineCtx(b))
	})
	b.Run("wasm-no-deadline", func(b *testing.B) {
		path, sum := wasmtest.BuildGuest(b, "./testdata/echo")
		run(b, loadBench(b, path, sum), context.Background())
	})
}

func loadBench(b *testing.B, path, sum string) *wasm.Module {
	ctx := context.Background()
	m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(ctx) })
	return m
}

// BenchmarkLoadCached is a restart: Load of a module whose compiled code is
// in the cache (verify the digest, read the cached code, start the first
// instance).
//
//	go test -run '^$' -bench LoadCached ./core/wasm
func BenchmarkLoadCached(b *testing.B) {
	path, sum := buildProbe(b, "1")
	ctx := context.Background()
	for b.Loop() {
		m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		m.Close(ctx)
	}
}
