package wasm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// buildProbe builds the probe guest (testdata/guest) with the given version
// string, once per test binary, and precompiles it into the shared cache.
func buildProbe(t testing.TB, version string) (path, sum string) {
	t.Helper()
	return wasmtest.BuildGuest(t, "./testdata/guest", "-ldflags", "-X main.version="+version)
}

var cacheDir = wasmtest.CacheDir()

// logBuffer collects log records as text, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type loaded struct {
	mod    *wasm.Module
	remote *rpc.Remote
	logs   *logBuffer
}

// load loads the probe (version 1 unless cfg.Path is set) and configures it
// with config (its key "secret" as a secret).
func load(t *testing.T, cfg wasm.Config, config map[string]string) *loaded {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path, cfg.SHA256 = buildProbe(t, "1")
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := wasm.Load(ctx, cfg)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	man, err := rpc.Describe(ctx, m)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	r := rpc.NewRemote(m, man)
	req := &sdk.ConfigureRequest{Config: map[string]string{}, Secrets: map[string]string{}}
	for k, v := range config {
		if k == "secret" {
			req.Secrets[k] = v
		} else {
			req.Config[k] = v
		}
	}
	if _, err := r.Configure(ctx, req); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return &loaded{mod: m, remote: r, logs: logs}
}

// run sends a probe command and returns the answer's attributes.
func (l *loaded) run(ctx context.Context, cmd string, filters map[string]string) (map[string]string, error) {
	resp, err := l.remote.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: cmd, Filters: filters})
	if err != nil {
		return nil, err
	}
	return resp.Items[0].Attributes, nil
}

func (l *loaded) mustRun(t *testing.T, cmd string, filters map[string]string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := l.run(ctx, cmd, filters)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return a
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
