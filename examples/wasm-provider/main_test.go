//go:build !wasip1

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoadedByTheHost builds this directory as a WASM module, writes the
// README's host.yaml for it, and quotes through an unchanged host: the
// steps of the README, end to end.
func TestLoadedByTheHost(t *testing.T) {
	// Step 4 of the README: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
	module, sum := wasmtest.BuildGuest(t, ".")

	// Tidebox's rates service, which the module reaches through the host.
	var gotKey string
	rates := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey = r.Header.Get("X-Api-Key")
		fmt.Fprint(w, `{"factor": 1.05}`)
	}))
	defer rates.Close()

	dir := t.TempDir()
	// The host caches compiled code in <data_dir>/wasm-cache; the tests
	// share one, compiled ahead (compiling under -race takes minutes).
	os.MkdirAll(wasmtest.CacheDir(), 0o700)
	if err := os.Symlink(wasmtest.CacheDir(), filepath.Join(dir, "wasm-cache")); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
data_dir: %s
tenants:
  - id: demo
    api_keys: [demo-key-for-tests]
providers:
  - id: tidebox
    runtime: wasm
    path: %s
    sha256: %s
    memory_pages: 1024
    instances: 4
    config:
      rates_url: %s/rates
      api_key: ${TIDEBOX_KEY}
`, dir, module, sum, rates.URL)
	const key = "tidebox-example-key"
	cfg, err := core.ParseConfig([]byte(yaml), func(name string) (string, bool) {
		return key, name == "TIDEBOX_KEY"
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	h, err := core.New(*cfg, core.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info := h.Providers()[0]
	if info.ID != "tidebox" || info.Runtime != core.RuntimeWASM || info.State != core.StateReady {
		t.Fatalf("provider %+v", info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Quote(ctx, nil, &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone,
		Model: "Pixel 8", Condition: sdk.ConditionGood}})
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Fen(229300) // 2800.00 list, good 78%: 2184.00, market 1.05: 2293.20, whole yuan
	if res.Best == nil || res.Best.Provider != "tidebox" || res.Best.Price != want || !strings.HasPrefix(res.Best.QuoteID, "tb-") {
		t.Fatalf("quote %+v, want %v from tidebox", res, want)
	}
	if until := time.Until(res.Best.ValidUntil); until < 47*time.Hour || until > 49*time.Hour {
		t.Errorf("valid until %s: the module must read the real clock", res.Best.ValidUntil)
	}
	if gotKey != key {
		t.Errorf("the rates service got key %q", gotKey)
	}
	if strings.Contains(logs.String(), key) || !strings.Contains(logs.String(), "tidebox configured") {
		t.Errorf("the host's log:\n%s", logs.String())
	}
}
