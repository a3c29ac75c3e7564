package wasm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
)

// A Go guest whose init never returns (Go runs the runtime's and the
// packages' initialisation in _initialize) is stopped at InitTimeout and
// refused; Load returns instead of holding up the host's start.
func TestGoGuestWhoseInitLoopsIsRefused(t *testing.T) {
	path, sum := wasmtest.BuildGuest(t, "./testdata/initloop")
	done := make(chan error, 1)
	go func() {
		m, err := wasm.Load(context.Background(), wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir, InitTimeout: time.Second})
		if m != nil {
			m.Close(context.Background())
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "still initialising (_initialize) after 1s") || !strings.Contains(err.Error(), path) {
			t.Fatalf("Load: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Load has not returned after 2 minutes")
	}
}
