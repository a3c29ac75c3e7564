package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// DigestFile is the file beside a module that states the digest a changed
// module must have: Path + DigestSuffix, in sha256sum's format (the hex
// digest first). Write it with `sha256sum provider.wasm > provider.wasm.sha256`.
const DigestSuffix = ".sha256"

// reloadDebounce lets a copy finish before the file is read.
const reloadDebounce = 150 * time.Millisecond

// Reload loads the module's file again if it changed: the new file must
// match the digest in force (the digest file beside it when there is one,
// else Config.SHA256). The new code is compiled and tried on a fresh
// instance (it must describe the same provider id and accept the
// configuration in force) before it replaces the old; calls in flight finish
// on the old code. It reports whether new code was swapped in. A file that
// fails any check changes nothing.
func (m *Module) Reload(ctx context.Context) (bool, error) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	data, err := os.ReadFile(m.cfg.Path)
	if err != nil {
		return false, fmt.Errorf("wasm %s: reload: %w", m.cfg.Path, err)
	}
	sum := sha256.Sum256(data)
	m.mu.Lock()
	cur, closed := m.code, m.closed
	m.mu.Unlock()
	if closed {
		return false, fmt.Errorf("wasm %s: reload: the module is closed", m.cfg.Path)
	}
	if sum == cur.sum {
		return false, nil
	}
	want, source, err := m.expectedDigest()
	if err != nil {
		return false, err
	}
	if sum != want {
		return false, fmt.Errorf("wasm %s: reload refused: the file's SHA-256 is %x, %s says %x", m.cfg.Path, sum, source, want)
	}
	next, err := m.compile(ctx, data, sum, cur.gen+1)
	if err != nil {
		return false, fmt.Errorf("reload: %w", err)
	}
	inst, err := m.instantiate(ctx, next)
	if err != nil {
		_ = next.compiled.Close(ctx)
		return false, fmt.Errorf("reload: %w", err)
	}
	man, err := m.tryCode(ctx, inst)
	if err != nil {
		inst.close()
		_ = next.compiled.Close(ctx)
		return false, fmt.Errorf("wasm %s: reload refused: %w", m.cfg.Path, err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		inst.close()
		return false, fmt.Errorf("wasm %s: reload: the module is closed", m.cfg.Path)
	}
	old := m.idle
	m.setCode(next)
	m.idle = []*instance{inst}
	m.mu.Unlock()
	for _, i := range old {
		i.close()
	}
	// Safe with calls in flight on the old code: they finish, then their
	// instances are closed on release.
	_ = cur.compiled.Close(ctx)
	m.manifest.Store(&man)
	m.log.Info("wasm module reloaded", "path", m.cfg.Path, "sha256", fmt.Sprintf("%x", sum),
		"version", man.Version, "generation", next.gen)
	if m.cfg.OnReload != nil {
		m.cfg.OnReload(man)
	}
	return true, nil
}

// tryCode describes a new instance, checks it is the same provider, and
// configures it as the running ones are. It returns the manifest in force.
func (m *Module) tryCode(ctx context.Context, inst *instance) (sdk.Manifest, error) {
	var man sdk.Manifest
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err, _ := inst.call(cctx, rpc.OpDescribe, nil, nil, nil)
	if err != nil {
		return man, fmt.Errorf("describing: %w", err)
	}
	if err := json.Unmarshal(out, &man); err != nil {
		return man, fmt.Errorf("describing: %w", err)
	}
	if err := man.Validate(); err != nil {
		return man, err
	}
	if prev, ok := m.Manifest(); ok && prev.ID != man.ID {
		return man, fmt.Errorf("the new file is provider %q, not %q", man.ID, prev.ID)
	}
	if conf := m.conf.Load(); conf != nil {
		out, err, _ := inst.call(cctx, rpc.OpConfigure, conf.payload, conf, nil)
		if err != nil {
			return man, fmt.Errorf("configuring: %w", err)
		}
		var resp sdk.ConfigureResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return man, fmt.Errorf("configuring: %w", err)
		}
		inst.cfgGen = conf.gen
		man = resp.Manifest
	}
	return man, nil
}

// expectedDigest is the digest a changed file must have, and where it was
// read from.
func (m *Module) expectedDigest() ([sha256.Size]byte, string, error) {
	side := m.cfg.Path + DigestSuffix
	b, err := os.ReadFile(side)
	if os.IsNotExist(err) {
		d, err := parseDigest(m.cfg.SHA256)
		return d, "the configuration", err
	}
	if err != nil {
		return [sha256.Size]byte{}, "", fmt.Errorf("wasm %s: reading %s: %w", m.cfg.Path, side, err)
	}
	fields := strings.Fields(string(bytes.TrimSpace(b)))
	if len(fields) == 0 {
		return [sha256.Size]byte{}, "", fmt.Errorf("wasm %s: %s is empty", m.cfg.Path, side)
	}
	d, err := parseDigest(fields[0])
	if err != nil {
		return d, "", fmt.Errorf("wasm %s: %s: %w", m.cfg.Path, side, err)
	}
	return d, side, nil
}

// watch reloads the module when its file or digest file changes. It watches
// the directory, so a file replaced by rename (how deployments write) is
// seen too. It returns the function that stops it.
func (m *Module) watch() (func(), error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("wasm %s: watching: %w", m.cfg.Path, err)
	}
	abs, err := filepath.Abs(m.cfg.Path)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("wasm %s: watching: %w", m.cfg.Path, err)
	}
	names := map[string]bool{abs: true, abs + DigestSuffix: true}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-stop:
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				p, _ := filepath.Abs(ev.Name)
				if !names[p] || ev.Op == fsnotify.Chmod {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(reloadDebounce)
				} else {
					timer.Reset(reloadDebounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				m.log.Warn("wasm module watch", "path", m.cfg.Path, "error", err)
			case <-fire:
				fire = nil
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				if _, err := m.Reload(ctx); err != nil {
					m.log.Error("wasm module not reloaded; the previous code keeps serving", "path", m.cfg.Path, "error", err)
				}
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		_ = w.Close()
		<-done
	}, nil
}
