package core_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/wasm"
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

// wasmDataDir is a data directory whose wasm-cache is the tests' shared,
// precompiled cache (compiling under -race takes minutes).
func wasmDataDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.MkdirAll(wasmtest.CacheDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(wasmtest.CacheDir(), filepath.Join(dir, "wasm-cache")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A runtime wasm provider from the config is loaded, verified, configured
// and served like any other: its runaway calls end at the provider's
// timeout, its secrets stay out of the host's log, and a new file is picked
// up without a restart.
func TestWASMProviderInTheHost(t *testing.T) {
	v1, sum1 := wasmtest.BuildGuest(t, "./wasm/testdata/guest", "-ldflags", "-X main.version=1")
	v2, sum2 := wasmtest.BuildGuest(t, "./wasm/testdata/guest", "-ldflags", "-X main.version=2")
	dir := wasmDataDir(t)
	path := filepath.Join(dir, "probe.wasm")
	data1, _ := os.ReadFile(v1)
	if err := os.WriteFile(path, data1, 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "probe-secret-value"
	logs := &syncBuffer{}
	cfg := core.Config{DataDir: dir, Providers: []core.ProviderConfig{{
		ID: "probe", Runtime: core.RuntimeWASM, Path: path, SHA256: sum1,
		Timeout: 2 * time.Second, MemoryPages: 512, Instances: 2, // room for a fresh instance to start after the runaway, under -race on a busy machine
		Config: map[string]string{"secret": secret},
	}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info := h.Providers()[0]
	if info.Runtime != core.RuntimeWASM || info.State != core.StateReady || info.Version != "1" {
		t.Fatalf("provider info %+v", info)
	}
	ctx := context.Background()
	search := func(q string, f map[string]string) (*sdk.SearchCatalogResponse, error) {
		return h.SearchCatalog(ctx, nil, "probe", &sdk.SearchCatalogRequest{Query: q, Filters: f})
	}
	resp, err := search("echo", map[string]string{"text": "via the host"})
	if err != nil || resp.Items[0].Attributes["text"] != "via the host" {
		t.Fatalf("echo through the host: %+v %v", resp, err)
	}
	_, err = search("loop", nil)
	if sdk.CodeOf(err) != sdk.CodeDeadlineExceeded {
		t.Errorf("a runaway call: %v, want deadline_exceeded at the provider's timeout", err)
	}
	if _, err := search("log", nil); err != nil {
		t.Fatal(err)
	}
	if resp, err := search("echo", map[string]string{"text": "alive"}); err != nil || resp.Items[0].Attributes["text"] != "alive" {
		t.Errorf("after the runaway call: %+v %v", resp, err)
	}
	if !h.Ready() {
		t.Errorf("the host is not ready after a runaway call: %+v", h.Providers())
	}
	if strings.Contains(logs.String(), secret) || !strings.Contains(logs.String(), "probe logs its secret [REDACTED]") {
		t.Errorf("the host's log:\n%s", logs.String())
	}

	// A new version with its digest beside it is loaded without a restart.
	data2, _ := os.ReadFile(v2)
	os.WriteFile(path+wasm.DigestSuffix, []byte(sum2+"\n"), 0o644)
	os.WriteFile(path+".new", data2, 0o644)
	os.Rename(path+".new", path)
	deadline := time.Now().Add(2 * time.Minute)
	for h.Providers()[0].Version != "2" {
		if time.Now().After(deadline) {
			t.Fatalf("not reloaded: %+v\n%s", h.Providers()[0], logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err = search("echo", nil)
	if err != nil || resp.Items[0].Attributes["version"] != "2" {
		t.Errorf("after the reload: %+v %v", resp, err)
	}
}

func TestWASMProviderRefusedAtStart(t *testing.T) {
	v1, sum1 := wasmtest.BuildGuest(t, "./wasm/testdata/guest", "-ldflags", "-X main.version=1")
	dir := wasmDataDir(t)
	cases := map[string]core.ProviderConfig{
		"wrong digest":   {ID: "probe", Runtime: core.RuntimeWASM, Path: v1, SHA256: strings.Repeat("a", 64)},
		"another id":     {ID: "other", Runtime: core.RuntimeWASM, Path: v1, SHA256: sum1},
		"failing config": {ID: "probe", Runtime: core.RuntimeWASM, Path: v1, SHA256: sum1, Config: map[string]string{"fail": "1"}},
	}
	for name, pc := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := core.New(core.Config{DataDir: dir, Providers: []core.ProviderConfig{pc}})
			if err == nil {
				h.Close()
				t.Fatal("the host started")
			}
		})
	}
}

func TestWASMConfigKeys(t *testing.T) {
	sum := strings.Repeat("a", 64)
	cases := map[string]struct {
		yaml, want string
	}{
		"memory_pages on a plugin": {"providers:\n- {id: p, runtime: plugin, path: /x, sha256: " + sum + ", memory_pages: 10}\n", "memory_pages is for runtime wasm"},
		"too many pages":           {"providers:\n- {id: p, runtime: wasm, path: /x, sha256: " + sum + ", memory_pages: 70000}\n", "more than 65536"},
		"a scheme in a host":       {"providers:\n- {id: p, runtime: wasm, path: /x, sha256: " + sum + ", allowed_hosts: [\"https://x\"]}\n", "allowed_hosts[0]"},
		"negative instances":       {"providers:\n- {id: p, runtime: wasm, path: /x, sha256: " + sum + ", instances: -1}\n", "instances"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := core.ParseConfig([]byte(c.yaml), func(string) (string, bool) { return "", false })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	cfg, err := core.ParseConfig([]byte("providers:\n- {id: p, runtime: wasm, path: /x, sha256: "+sum+
		", allowed_hosts: [api.example.com, \"*.example.net:443\"], memory_pages: 2048, instances: 4}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Providers[0]; len(p.AllowedHosts) != 2 || p.MemoryPages != 2048 || p.Instances != 4 {
		t.Errorf("parsed %+v", p)
	}
}
