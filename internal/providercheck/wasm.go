package providercheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
)

// startWASM loads the module as the host does, its log kept for the
// secrets check (the host redacts the secrets it knows from a module's
// log; the check looks before it does not).
func (r *run) startWASM(ctx context.Context) (*instance, error) {
	data, err := os.ReadFile(r.opts.Path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	logs := &syncBuffer{}
	allowed := r.opts.AllowedHosts
	if len(allowed) > 0 { // the stand-in upstreams, which the check points url keys at
		allowed = append(allowed[:len(allowed):len(allowed)], r.stub.ln.Addr().String(), r.slow.ln.Addr().String())
	}
	m, err := wasm.Load(ctx, wasm.Config{
		Path:         r.opts.Path,
		SHA256:       hex.EncodeToString(sum[:]),
		CacheDir:     r.opts.CacheDir,
		AllowedHosts: allowed,
		// The check judges the provider, not the machine: a loaded one (a
		// race-detector build) may take longer than the host's 5s to start
		// an instance of a Go guest.
		InitTimeout: 30 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", r.opts.Path, err)
	}
	return &instance{inv: m, logs: logs, alive: func() bool { return true },
		stop: func() { _ = m.Close(context.Background()) }}, nil
}
