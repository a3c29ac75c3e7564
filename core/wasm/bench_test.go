package wasm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/testdata/guest/probe"
	"github.com/recyclegate/recyclegate/sdk"
)

// inProcess carries the same envelope as the WASM runtime without leaving
// the process: sdk.Dispatch on the provider value.
type inProcess struct{ p sdk.Provider }

func (i inProcess) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	return sdk.Dispatch(ctx, i.p, op, payload, nil)
}

// BenchmarkQuote1KB: one quote with a 1 KB request and a 1 KB reply, through
// the same provider three ways. go test -run '^$' -bench Quote1KB ./core/wasm
func BenchmarkQuote1KB(b *testing.B) {
	req := &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: strings.Repeat("m", 1024)}}
	ctx := context.Background()
	run := func(b *testing.B, q sdk.Quoter) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := q.Quote(ctx, req)
			if err != nil || len(resp.Quote.Remark) != 1024 {
				b.Fatal(err)
			}
		}
	}
	b.Run("in-process", func(b *testing.B) { run(b, probe.New("probe", "1")) })
	b.Run("in-process-envelope", func(b *testing.B) {
		p := probe.New("probe", "1")
		run(b, sdk.NewRemote(inProcess{p}, p.Manifest()))
	})
	b.Run("wasm", func(b *testing.B) {
		path, sum := buildProbe(b, "1")
		m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close(ctx)
		man, err := sdk.Describe(ctx, m)
		if err != nil {
			b.Fatal(err)
		}
		run(b, sdk.NewRemote(m, man))
	})
}
