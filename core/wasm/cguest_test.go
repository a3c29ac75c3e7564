package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

//go:generate clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -o testdata/cprobe/probe.wasm testdata/cprobe/probe.c
//go:generate sh -c "cd testdata/cprobe && sha256sum probe.wasm > probe.wasm.sha256"

// loadCProbe loads testdata/cprobe, the provider written in C against the
// ABI alone, verified by the digest committed beside it.
func loadCProbe(t testing.TB) *wasm.Module {
	t.Helper()
	digest, err := os.ReadFile("testdata/cprobe/probe.wasm.sha256")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := wasm.Load(ctx, wasm.Config{Path: "testdata/cprobe/probe.wasm", SHA256: strings.Fields(string(digest))[0],
		CacheDir: cacheDir, Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(ctx) })
	return m
}

// A guest in another language, written from docs/wasm-abi.md: the host
// describes, configures and quotes it through the binary envelope like a Go
// guest, and its refusals arrive as errors.
func TestGuestInC(t *testing.T) {
	m := loadCProbe(t)
	ctx := context.Background()
	if m.WireVersion() != rpc.WireVersion {
		t.Fatalf("WireVersion %d", m.WireVersion())
	}
	r := rpc.NewRemote(m, sdk.Manifest{})
	conf, err := r.Configure(ctx, &sdk.ConfigureRequest{})
	if err != nil || conf.Manifest.ID != "cprobe" || conf.Manifest.Capabilities[0] != sdk.CapQuote {
		t.Fatalf("configure: %+v, %v", conf, err)
	}
	score, yes, three := 8.5, true, 3
	for _, item := range []sdk.Item{
		{Category: sdk.CategoryPhone, Model: "iPhone 13"},
		{Category: sdk.CategoryPhone, Brand: "华为", Model: strings.Repeat("型号", 2000), Storage: "1TB", RAM: "12GB",
			Color: "black", Condition: sdk.ConditionGood, ConditionScore: &score, FunctionalIssues: []string{"battery", "face_id"},
			RepairHistory: "screen", PurchaseChannel: "official", Original: &yes,
			Car: &sdk.Car{TypeID: "52", CityID: "101100", FirstRegistration: "2022-01", MileageKM: 36200, Accident: &three}},
	} {
		resp, err := r.Quote(ctx, &sdk.QuoteRequest{Item: item, Detail: true})
		if err != nil {
			t.Fatalf("quote of %.20q: %v", item.Model, err)
		}
		q := resp.Quote
		if q.Provider != "cprobe" || q.QuoteID != "q1" || q.Price != sdk.Fen(12345) || q.Remark != item.Model {
			t.Errorf("quote of %.20q: %+v", item.Model, q)
		}
	}
	_, err = r.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryLaptop, Model: "x"}})
	if se := sdkErr(t, err); se.Code != sdk.CodeUnsupported || se.Field != "item.category" {
		t.Errorf("a laptop: %+v", se)
	}
	_, err = m.Invoke(ctx, rpc.OpQuote, []byte{0, rpc.WireVersion, 1, 0x05, 'p'})
	if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument {
		t.Errorf("a cut message: %+v", se)
	}
	_, err = r.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "x"})
	if se := sdkErr(t, err); se.Code != sdk.CodeUnsupported {
		t.Errorf("catalog: %+v", se)
	}
}

// A module's instrumented bytes are kept beside the compiled code, so a
// restart does not instrument again; a damaged entry is replaced.
func TestInstrumentedModulesAreCached(t *testing.T) {
	digest, err := os.ReadFile("testdata/cprobe/probe.wasm.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Fields(string(digest))[0]
	dir := t.TempDir()
	load := func() {
		t.Helper()
		ctx := context.Background()
		m, err := wasm.Load(ctx, wasm.Config{Path: "testdata/cprobe/probe.wasm", SHA256: sum, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		resp, err := rpc.NewRemote(m, sdk.Manifest{}).Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "x"}})
		if err != nil || resp.Quote.Remark != "x" {
			t.Fatalf("quote: %+v %v", resp, err)
		}
	}
	load()
	entries, _ := filepath.Glob(filepath.Join(dir, "instrumented", sum+"-v*.wasm"))
	if len(entries) != 1 {
		t.Fatalf("instrumented cache entries: %v", entries)
	}
	if err := os.WriteFile(entries[0], []byte("not a module"), 0o600); err != nil {
		t.Fatal(err)
	}
	load()
	if b, err := os.ReadFile(entries[0]); err != nil || string(b[:4]) != "\x00asm" {
		t.Fatalf("the damaged entry was not replaced: %q %v", b, err)
	}
}
