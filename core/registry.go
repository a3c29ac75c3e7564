package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// Provider states, as GET /v1/providers shows them.
const (
	StateStarting   = "starting"
	StateReady      = "ready"
	StateRestarting = "restarting"
	StateDown       = "down"
)

// ProviderInfo is what the host tells about a loaded provider.
type ProviderInfo struct {
	ID           string           `json:"id"`
	Name         string           `json:"name,omitempty"`
	Version      string           `json:"version"`
	Status       string           `json:"status,omitempty"`
	Runtime      string           `json:"runtime"`
	State        string           `json:"state"`
	Capabilities []sdk.Capability `json:"capabilities"`
	Categories   []sdk.Category   `json:"categories"`
	Limits       sdk.Limits       `json:"limits"`
	// Latency is the provider's recent call latency (an exponentially
	// weighted average of its successful calls; 0 until one succeeded).
	Latency   sdk.Duration `json:"latency,omitempty"`
	PID       int          `json:"pid,omitempty"`
	Restarts  int          `json:"restarts"`
	LastError string       `json:"last_error,omitempty"`
	// Guards: breaker state, calls in flight, quota used and left, budget
	// spent.
	Guards *GuardInfo `json:"guards,omitempty"`
}

// provider is one loaded adapter, whatever its runtime.
type provider struct {
	id      string
	runtime string
	cfg     ProviderConfig
	log     *slog.Logger
	host    *Host
	latency atomic.Int64 // recent call latency in ns, see noteLatency

	// set for runtime wasm
	wasm *wasm.Module

	// set for runtime builtin and plugin
	command  func() (*exec.Cmd, error)
	checksum []byte // the plugin file's SHA-256, verified before every start

	mu       sync.RWMutex
	impl     sdk.Provider
	manifest sdk.Manifest
	state    string
	lastErr  string
	client   *plugin.Client
	pid      int
	restarts int
	started  time.Time
	wake     chan struct{}
	done     chan struct{}
}

// current returns the provider to call, or unavailable at once when it is
// not ready: a call to a dead plugin never waits for it.
func (p *provider) current() (sdk.Provider, sdk.Manifest, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.state != StateReady || p.impl == nil {
		msg := fmt.Sprintf("provider %s is %s", p.id, p.state)
		if p.lastErr != "" {
			msg += ": " + p.lastErr
		}
		return nil, p.manifest, &sdk.Error{Code: sdk.CodeUnavailable, Message: msg, Retryable: true, Provider: p.id}
	}
	return p.impl, p.manifest, nil
}

func (p *provider) info() ProviderInfo {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m := p.manifest
	return ProviderInfo{ID: p.id, Name: m.Name, Version: m.Version, Status: m.Status, Runtime: p.runtime,
		State: p.state, Capabilities: m.Capabilities, Categories: m.Categories, Limits: m.Limits,
		PID: p.pid, Restarts: p.restarts, LastError: p.lastErr, Latency: sdk.Duration(p.latency.Load())}
}

// noteLatency folds a successful call's duration into the provider's recent
// latency: an exponentially weighted average with weight 1/8, lock free (a
// lost update under contention only drops one sample).
func (p *provider) noteLatency(d time.Duration) {
	old := p.latency.Load()
	if old == 0 {
		p.latency.Store(int64(d))
		return
	}
	p.latency.Store(old + (int64(d)-old)/8)
}

func (p *provider) timeout() time.Duration {
	if p.cfg.Timeout > 0 {
		return p.cfg.Timeout
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if t := p.manifest.Limits.Timeout.D(); t > 0 {
		return t
	}
	return 10 * time.Second
}

// configureRequest splits the operator's config into config and secrets by
// the manifest, and registers the secrets for redaction.
func (p *provider) configureRequest(m sdk.Manifest) *sdk.ConfigureRequest {
	secretNames := map[string]bool{}
	for _, s := range m.Secrets {
		secretNames[s.Name] = true
	}
	req := &sdk.ConfigureRequest{Config: map[string]string{}, Secrets: map[string]string{}}
	var vals []string
	for k, v := range p.cfg.Config {
		if secretNames[k] || looksSecret(k) {
			req.Secrets[k] = v
			vals = append(vals, v)
		} else {
			req.Config[k] = v
		}
	}
	p.host.secrets.add(vals...)
	return req
}

// looksSecret keeps a key out of plain config even when a manifest forgot to
// list it as a secret.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"secret", "password", "token", "private_key", "api_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// startInProcess configures an in-process provider.
func (p *provider) startInProcess(ctx context.Context) error {
	m := p.impl.Manifest()
	if err := m.Validate(); err != nil {
		return err
	}
	req := p.configureRequest(m)
	req.Logger = p.log
	if c, ok := p.impl.(sdk.Configurer); ok {
		resp, err := c.Configure(ctx, req)
		if err != nil {
			return fmt.Errorf("configuring provider %s: %w", p.id, err)
		}
		m = resp.Manifest
	}
	p.mu.Lock()
	p.manifest, p.state, p.started = m, StateReady, time.Now()
	p.mu.Unlock()
	return nil
}

// startPlugin starts the plugin process, checks its manifest and configures
// it. On success the provider is ready.
func (p *provider) startPlugin(ctx context.Context) error {
	cmd, err := p.command()
	if err != nil {
		return err
	}
	// The plugin gets no environment from the host: its config and secrets
	// arrive through Configure only.
	cmd.Env = []string{}
	bindToParent(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  rpc.Handshake,
		Plugins:          plugin.PluginSet{rpc.PluginName: &rpc.GRPCPlugin{}},
		Cmd:              cmd,
		SecureConfig:     p.secureConfig(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		Logger:           newPluginLogger(p.log),
		StartTimeout:     15 * time.Second,
	})
	fail := func(err error) error {
		client.Kill()
		return err
	}
	conn, err := client.Client()
	if err != nil {
		return fail(fmt.Errorf("starting plugin %s: %w", p.id, err))
	}
	raw, err := conn.Dispense(rpc.PluginName)
	if err != nil {
		return fail(fmt.Errorf("plugin %s: %w", p.id, err))
	}
	inv, ok := raw.(*rpc.GRPCClient)
	if !ok {
		return fail(fmt.Errorf("plugin %s: unexpected client %T", p.id, raw))
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	m, err := rpc.Describe(cctx, inv)
	if err != nil {
		return fail(fmt.Errorf("plugin %s: describing: %w", p.id, err))
	}
	if err := m.Validate(); err != nil {
		return fail(fmt.Errorf("plugin %s: %w", p.id, err))
	}
	if m.ID != p.id {
		return fail(fmt.Errorf("plugin %s: the binary is provider %q", p.id, m.ID))
	}
	remote := rpc.NewRemote(inv, m)
	resp, err := remote.Configure(cctx, p.configureRequest(m))
	if err != nil {
		return fail(fmt.Errorf("configuring provider %s: %w", p.id, err))
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	p.mu.Lock()
	p.impl, p.manifest, p.client, p.pid = remote, resp.Manifest, client, pid
	p.state, p.lastErr, p.started = StateReady, "", time.Now()
	p.mu.Unlock()
	p.log.Info("plugin ready", "pid", pid, "version", resp.Manifest.Version)
	return nil
}

// supervise restarts the plugin whenever its process ends, with backoff,
// until the host closes.
func (p *provider) supervise() {
	defer close(p.done)
	backoff := 100 * time.Millisecond
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.host.closing:
			return
		case <-tick.C:
		case <-p.wake:
		}
		p.mu.RLock()
		client, started := p.client, p.started
		p.mu.RUnlock()
		if client != nil && !client.Exited() {
			continue
		}
		if time.Since(started) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		p.mu.Lock()
		p.state, p.impl, p.client, p.pid = StateRestarting, nil, nil, 0
		if p.lastErr == "" {
			p.lastErr = "plugin process exited"
		}
		p.restarts++
		p.mu.Unlock()
		p.host.metrics.restarts.WithLabelValues(p.id).Inc()
		p.log.Warn("plugin exited; restarting", "backoff", backoff.String())
		for {
			select {
			case <-p.host.closing:
				return
			case <-time.After(backoff):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := p.startPlugin(ctx)
			cancel()
			if err == nil {
				break
			}
			p.mu.Lock()
			p.lastErr = err.Error()
			p.mu.Unlock()
			p.log.Error("plugin restart failed", "error", err)
			backoff = min(backoff*2, 10*time.Second)
		}
	}
}

// noticeFailure wakes the supervisor after a transport failure, so a dead
// plugin is restarted at once rather than at the next tick.
func (p *provider) noticeFailure(err error) {
	if p.wake == nil || sdk.CodeOf(err) != sdk.CodeUnavailable {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *provider) stop() {
	p.mu.Lock()
	client, impl := p.client, p.impl
	p.state, p.impl, p.client = StateDown, nil, nil
	p.mu.Unlock()
	if client != nil {
		client.Kill()
	}
	if client == nil && impl != nil {
		if c, ok := impl.(io.Closer); ok {
			_ = c.Close()
		}
	}
	p.stopWASM()
}

// secureConfig makes go-plugin verify the binary's SHA-256 before it runs,
// at every start and restart (a fresh hash each time).
func (p *provider) secureConfig() *plugin.SecureConfig {
	if p.checksum == nil {
		return nil
	}
	return &plugin.SecureConfig{Checksum: p.checksum, Hash: sha256.New()}
}

func decodeSHA256(sum string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ToLower(sum))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("sha256 %q is not a hex SHA-256 digest", sum)
	}
	return b, nil
}
