package conformance_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// BenchmarkCarvalueQuote is one carvalue valuation against its sandbox on
// loopback (sign, HTTP, parse the reply), the adapter in process and as a
// WASM module:
//
//	go test -run '^$' -bench CarvalueQuote ./internal/conformance
func BenchmarkCarvalueQuote(b *testing.B) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.AdapterConfig(srv.URL)
	secrets := map[string]string{"secret": cfg["secret"]}
	delete(cfg, "secret")
	one := 1
	req := &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryCar, Car: &sdk.Car{TypeID: "52", CityID: "101100",
		FirstRegistration: "2022-01", MileageKM: 36200, Transfers: 1, Color: "grey",
		Accident: &one, Appearance: &one, Interior: &one, Electrical: &one, Engine: &one}}}
	run := func(b *testing.B, p sdk.Provider) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		if _, err := p.(sdk.Configurer).Configure(ctx, &sdk.ConfigureRequest{Config: cfg, Secrets: secrets}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.(sdk.Quoter).Quote(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("in-process", func(b *testing.B) { run(b, carvalue.New()) })
	b.Run("wasm", func(b *testing.B) {
		path, sum := wasmtest.BuildGuest(b, "../../plugins/carvalue/cmd/carvalue-wasm")
		ctx := context.Background()
		m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: wasmtest.CacheDir(),
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close(ctx)
		man, err := rpc.Describe(ctx, m)
		if err != nil {
			b.Fatal(err)
		}
		run(b, rpc.NewRemote(m, man))
	})
}
