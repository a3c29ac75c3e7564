package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// WASM provider defaults (ProviderConfig's zero values).
const (
	DefaultWASMMemoryPages = wasm.DefaultMemoryPages // 64 MiB per instance
	DefaultWASMInstances   = wasm.DefaultInstances   // calls at once
)

// wasmCacheDir is where compiled WASM code is cached: <data_dir>/wasm-cache,
// or, for a Config built in code without a data directory, the user's cache
// directory (a cache only: nothing there needs keeping).
func wasmCacheDir(dataDir string) string {
	if dataDir != "" {
		return filepath.Join(dataDir, "wasm-cache")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "recyclegate", "wasm-cache")
	}
	return filepath.Join(os.TempDir(), "recyclegate-wasm-cache")
}

// startWASM loads a runtime wasm provider, checks its manifest and
// configures it. The module watches its file and reloads it when it changes
// (see wasm.Module.Reload); a WASM provider has no process to supervise.
func (p *provider) startWASM(ctx context.Context) error {
	h := p.host
	m, err := wasm.Load(ctx, wasm.Config{
		Path:         p.cfg.Path,
		SHA256:       p.cfg.SHA256,
		CacheDir:     h.wasmCache,
		MemoryPages:  p.cfg.MemoryPages,
		Instances:    p.cfg.Instances,
		AllowedHosts: p.cfg.AllowedHosts,
		Logger:       p.log,
		Now:          h.now,
		Watch:        true,
		OnReload:     p.wasmReloaded,
	})
	if err != nil {
		return fmt.Errorf("provider %s: %w", p.id, err)
	}
	fail := func(err error) error {
		_ = m.Close(context.Background())
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	man, err := rpc.Describe(cctx, m)
	if err != nil {
		return fail(fmt.Errorf("provider %s: describing: %w", p.id, err))
	}
	if err := man.Validate(); err != nil {
		return fail(fmt.Errorf("provider %s: %w", p.id, err))
	}
	if man.ID != p.id {
		return fail(fmt.Errorf("provider %s: the module is provider %q", p.id, man.ID))
	}
	remote := rpc.NewRemote(m, man)
	resp, err := remote.Configure(cctx, p.configureRequest(man))
	if err != nil {
		return fail(fmt.Errorf("configuring provider %s: %w", p.id, err))
	}
	p.mu.Lock()
	p.impl, p.manifest, p.wasm = remote, resp.Manifest, m
	p.state, p.lastErr, p.started = StateReady, "", time.Now()
	p.mu.Unlock()
	p.log.Info("wasm provider ready", "version", resp.Manifest.Version, "sha256", m.Digest())
	return nil
}

// wasmReloaded takes the manifest of reloaded code (a reload is not a
// restart: calls went on throughout).
func (p *provider) wasmReloaded(m sdk.Manifest) {
	p.mu.Lock()
	p.manifest = m
	p.mu.Unlock()
	p.log.Info("wasm provider reloaded", "version", m.Version)
}

// stopWASM closes the module; calls in flight fail.
func (p *provider) stopWASM() {
	p.mu.Lock()
	m := p.wasm
	p.wasm = nil
	p.mu.Unlock()
	if m != nil {
		_ = m.Close(context.Background())
	}
}

// validateWASM checks the keys for runtime wasm.
func (p *ProviderConfig) validateWASM() error {
	if p.Runtime != RuntimeWASM {
		for key, set := range map[string]bool{"allowed_hosts": len(p.AllowedHosts) > 0,
			"memory_pages": p.MemoryPages != 0, "instances": p.Instances != 0} {
			if set {
				return fmt.Errorf("%s is for runtime wasm", key)
			}
		}
		return nil
	}
	if p.MemoryPages > 65536 {
		return fmt.Errorf("memory_pages %d is more than 65536 (4 GiB)", p.MemoryPages)
	}
	if p.Instances < 0 {
		return fmt.Errorf("instances must not be negative")
	}
	for j, h := range p.AllowedHosts {
		if err := wasm.CheckAllowedHost(h); err != nil {
			return fmt.Errorf("allowed_hosts[%d]: %w", j, err)
		}
	}
	return nil
}
