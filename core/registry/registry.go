package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/recyclegate/recyclegate/core/internal/redact"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
	"github.com/recyclegate/recyclegate/sdk/proto/providerv1"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// Provider runtimes.
const (
	RuntimeBuiltin   = "builtin"    // linked into the host binary, run as a plugin process by re-executing it
	RuntimePlugin    = "plugin"     // an external go-plugin binary named by path, verified by sha256
	RuntimeWASM      = "wasm"       // a .wasm module on wazero
	RuntimeInProcess = "in-process" // a Go value registered in the host's process
)

// Provider states, as GET /v1/providers shows them.
const (
	StateStarting   = "starting"
	StateReady      = "ready"
	StateRestarting = "restarting"
	// StateUnresponsive: the plugin process is there but does not answer
	// its pings; its calls fail at once until it does, and it is restarted
	// if it stays silent (Options.RestartUnresponsive).
	StateUnresponsive = "unresponsive"
	// StateFailed: the provider's last start failed (LastError says why);
	// the supervisor tries again with backoff. Only an optional provider
	// is failed at the host's start: any other fails the start.
	StateFailed = "failed"
	StateDown   = "down"
)

// States lists every provider state, for metrics.
var States = []string{StateStarting, StateReady, StateUnresponsive, StateRestarting, StateFailed, StateDown}

// DefaultTimeout bounds one call to a provider that states no timeout.
const DefaultTimeout = 10 * time.Second

// Spec is one provider to load.
type Spec struct {
	ID      string
	Runtime string
	// Config is handed to Configure: keys the manifest lists as secrets
	// (or that look like one) as secrets, redacted from every log.
	Config map[string]string
	// ConfigAt is where each Config key was written ("/etc/host.yaml:13"),
	// for the messages about it; a key not in it is named without a place.
	ConfigAt map[string]string
	// Timeout bounds one call. Zero: the manifest's, else DefaultTimeout.
	Timeout time.Duration

	// Command starts the plugin process (runtime builtin). Runtime plugin
	// runs Path.
	Command func() (*exec.Cmd, error)
	// Path and SHA256 name the plugin binary or WASM module and the digest
	// it must have.
	Path   string
	SHA256 string
	// AllowedHosts, MemoryPages, Instances and InitTimeout configure a WASM module
	// (wasm.Config).
	AllowedHosts []string
	MemoryPages  uint32
	Instances    int
	InitTimeout  time.Duration
	// Impl is the Go value of runtime in-process.
	Impl sdk.Provider
	// Optional: a provider that cannot start does not fail Start; it is
	// failed, and the registry keeps trying to start it with backoff.
	Optional bool
}

// Options are what the registry needs from the host.
type Options struct {
	Logger  *slog.Logger
	Secrets *redact.Set
	Now     func() time.Time
	// WASMCacheDir keeps compiled WASM code between starts.
	WASMCacheDir string
	// OnRestart hears each restart of a plugin process.
	OnRestart func(id string)
	// RestartBackoff is the wait before a plugin is restarted, doubled
	// after each restart soon after the last, up to MaxRestartBackoff.
	// Defaults 100ms and 10s.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// StopGrace is how long Close lets plugin processes exit by themselves
	// before it kills them. Default 1s; Close returns within StopGrace and
	// half a second more whatever the plugins are doing (see Close).
	StopGrace time.Duration
	// PingInterval is how often each plugin process is pinged, PingTimeout
	// how long it may take to answer before it is unresponsive, and
	// RestartUnresponsive how long it may stay so before it is killed and
	// restarted. Defaults 500ms, 1s and 10s (DefaultPingInterval, ...): a
	// process that stops answering is unresponsive within 1.5s. A negative
	// PingInterval pings never; a negative RestartUnresponsive never
	// restarts a silent process.
	PingInterval        time.Duration
	PingTimeout         time.Duration
	RestartUnresponsive time.Duration
	// OnUnresponsive hears each time a plugin becomes unresponsive.
	OnUnresponsive func(id string)
	// Tracing, when on, carries each call's trace into the plugin
	// processes (the gRPC connection's stats handler) and WASM calls, and
	// tells each plugin where to send its spans. Nil: off.
	Tracing *telemetry.Tracing
}

// Info is what the host tells about a loaded provider.
type Info struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version"`
	Status  string `json:"status,omitempty"`
	Runtime string `json:"runtime"`
	State   string `json:"state"`
	// Optional: the host serves without it while it cannot start.
	Optional     bool             `json:"optional,omitempty"`
	Capabilities []sdk.Capability `json:"capabilities"`
	Categories   []sdk.Category   `json:"categories"`
	Limits       sdk.Limits       `json:"limits"`
	// Latency is the provider's recent call latency (an exponentially
	// weighted average of its successful calls; 0 until one succeeded).
	Latency   sdk.Duration `json:"latency,omitempty"`
	PID       int          `json:"pid,omitempty"`
	Restarts  int          `json:"restarts"`
	LastError string       `json:"last_error,omitempty"`
}

// Registry holds the loaded providers in their routing order.
type Registry struct {
	epoch     atomic.Uint64 // counts changes of any provider's state or manifest
	opts      Options
	order     []*Provider
	byID      map[string]*Provider
	closing   chan struct{}
	closeOnce sync.Once
	// ctx ends when Close begins: starts in progress are abandoned, and
	// their processes killed.
	ctx    context.Context
	cancel context.CancelFunc
}

// New prepares the providers of specs, in order; Start starts them.
func New(specs []Spec, opts Options) (*Registry, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Secrets == nil {
		opts.Secrets = &redact.Set{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RestartBackoff <= 0 {
		opts.RestartBackoff = 100 * time.Millisecond
	}
	if opts.MaxRestartBackoff <= 0 {
		opts.MaxRestartBackoff = 10 * time.Second
	}
	opts.MaxRestartBackoff = max(opts.MaxRestartBackoff, opts.RestartBackoff)
	if opts.StopGrace <= 0 {
		opts.StopGrace = time.Second
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = DefaultPingTimeout
	}
	if opts.RestartUnresponsive == 0 {
		opts.RestartUnresponsive = DefaultRestartUnresponsive
	}
	r := &Registry{opts: opts, byID: map[string]*Provider{}, closing: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, s := range specs {
		if _, dup := r.byID[s.ID]; dup {
			return nil, fmt.Errorf("provider %s is registered twice", s.ID)
		}
		p := &Provider{id: s.ID, runtime: s.Runtime, spec: s, reg: r, state: StateStarting,
			log: opts.Logger.With("provider", s.ID)}
		if s.Runtime == RuntimeInProcess {
			p.impl = s.Impl
			p.manifest = s.Impl.Manifest()
		}
		r.byID[s.ID] = p
		r.order = append(r.order, p)
	}
	return r, nil
}

// Epoch counts the changes of any provider's state or manifest: two equal
// readings mean nothing a routing decision reads of the registry changed
// between them.
func (r *Registry) Epoch() uint64 { return r.epoch.Load() }

// changed records a change of a provider's state or manifest.
func (p *Provider) changed() { p.reg.epoch.Add(1) }

// Get returns a provider by id.
func (r *Registry) Get(id string) (*Provider, bool) {
	p, ok := r.byID[id]
	return p, ok
}

// All returns every provider, in routing order. Do not change the slice.
func (r *Registry) All() []*Provider { return r.order }

// IDs returns the providers' ids, sorted (for messages).
func (r *Registry) IDs() []string {
	out := make([]string, 0, len(r.order))
	for _, p := range r.order {
		out = append(out, p.id)
	}
	sort.Strings(out)
	return out
}

// Start brings every provider up, plugins and modules in parallel. A
// provider that cannot start fails Start, but for an optional one: a host
// never starts half configured unless told it may. An optional provider
// is started in the background, and retried with backoff until it is up:
// Start does not wait for it. A configuration error (an unknown built-in,
// a malformed digest, an unknown runtime) fails Start whatever the
// provider.
func (r *Registry) Start() error {
	for _, p := range r.order {
		if err := p.prepare(); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.order))
	for i, p := range r.order {
		switch {
		case p.runtime == RuntimeInProcess:
			if err := p.startInProcess(r.ctx); err != nil {
				errs[i] = err
			}
		case p.spec.Optional:
			// The supervisor starts it.
		case p.runtime == RuntimeWASM:
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute) // a first compile takes seconds
				defer cancel()
				errs[i] = p.startWASM(ctx)
			}()
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
				defer cancel()
				errs[i] = p.startPlugin(ctx)
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range r.order {
		switch {
		case p.command != nil:
			p.done = make(chan struct{})
			go p.supervise()
		case p.runtime == RuntimeWASM && p.spec.Optional:
			p.done = make(chan struct{})
			go p.startWASMUntilUp()
		}
	}
	return nil
}

// prepare checks the provider's spec and readies its command.
func (p *Provider) prepare() error {
	switch p.runtime {
	case RuntimeInProcess, RuntimeWASM:
		return nil
	case RuntimeBuiltin:
		if p.spec.Command == nil {
			return fmt.Errorf("provider %s: not a built-in provider of this binary (runtime builtin); name its binary with runtime plugin", p.id)
		}
		p.command = p.spec.Command
	case RuntimePlugin:
		sum, err := decodeSHA256(p.spec.SHA256)
		if err != nil {
			return fmt.Errorf("provider %s: %w", p.id, err)
		}
		p.checksum = sum
		path := p.spec.Path
		p.command = func() (*exec.Cmd, error) { return exec.Command(path), nil }
	default:
		return fmt.Errorf("provider %s: unknown runtime %q", p.id, p.runtime)
	}
	p.wake = make(chan struct{}, 1)
	return nil
}

// Close stops every provider: plugin processes end, modules and
// in-process providers are closed. It is safe to call more than once.
//
// Close is bounded, whatever the plugins are doing: starts in progress are
// abandoned (a plugin in its handshake is killed), every provider stops at
// once, a plugin process that has not exited StopGrace after it was asked
// to is killed, and Close returns half a second after that at the latest.
// No plugin process outlives it.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		deadline := time.Now().Add(r.opts.StopGrace + 500*time.Millisecond)
		close(r.closing)
		r.cancel()
		var wg sync.WaitGroup
		for _, p := range r.order {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p.done != nil {
					<-p.done // its starts are abandoned: it returns at once
				}
				p.stop(r.opts.StopGrace)
			}()
		}
		all := make(chan struct{})
		go func() {
			wg.Wait()
			close(all)
		}()
		select {
		case <-all:
		case <-time.After(time.Until(deadline)):
			r.opts.Logger.Warn("registry: stopping providers took too long; returning without them", "after", (r.opts.StopGrace + 500*time.Millisecond).String())
		}
	})
}

// Provider is one loaded adapter, whatever its runtime.
type Provider struct {
	id      string
	runtime string
	spec    Spec
	reg     *Registry
	log     *slog.Logger
	latency atomic.Int64 // recent call latency in ns, see NoteLatency
	// revivals counts the times a process became ready to serve: started,
	// restarted, or answering again after it was unresponsive.
	revivals atomic.Uint64

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
	proc     *process // the plugin process serving impl
	restarts int
	started  time.Time
	wake     chan struct{}
	done     chan struct{}
}

// ID is the provider's id.
func (p *Provider) ID() string { return p.id }

// Runtime is the provider's runtime.
func (p *Provider) Runtime() string { return p.runtime }

// Current returns the provider to call, or unavailable at once when it is
// not ready: a call to a dead plugin never waits for it.
func (p *Provider) Current() (sdk.Provider, sdk.Manifest, error) {
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

// Manifest is the provider's manifest as its Configure answered it.
func (p *Provider) Manifest() sdk.Manifest {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.manifest
}

// State is the provider's state now.
func (p *Provider) State() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.state
}

// Optional reports whether the host serves without the provider while it
// cannot start.
func (p *Provider) Optional() bool { return p.spec.Optional }

// Ready reports whether the provider serves calls now.
func (p *Provider) Ready() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.state == StateReady
}

// Info describes the provider now.
func (p *Provider) Info() Info {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m := p.manifest
	return Info{ID: p.id, Name: m.Name, Version: m.Version, Status: m.Status, Runtime: p.runtime,
		State: p.state, Optional: p.spec.Optional, Capabilities: m.Capabilities, Categories: m.Categories, Limits: m.Limits,
		PID: p.proc.PID(), Restarts: p.restarts, LastError: p.lastErr, Latency: sdk.Duration(p.latency.Load())}
}

// Revivals counts the times the provider's process became ready to serve:
// it started, was restarted, or answers again after it was unresponsive.
// A change means that whatever failed before may not fail now (package
// invoke lets an open breaker probe it at once).
func (p *Provider) Revivals() uint64 { return p.revivals.Load() }

// Latency is the provider's recent call latency (0 until a call succeeded).
func (p *Provider) Latency() time.Duration { return time.Duration(p.latency.Load()) }

// NoteLatency folds a successful call's duration into the provider's
// recent latency: an exponentially weighted average with weight 1/8, lock
// free (a lost update under contention only drops one sample).
func (p *Provider) NoteLatency(d time.Duration) {
	old := p.latency.Load()
	if old == 0 {
		p.latency.Store(int64(d))
		return
	}
	p.latency.Store(old + (int64(d)-old)/8)
}

// Timeout bounds one call to the provider: the configured one, else the
// manifest's, else DefaultTimeout.
func (p *Provider) Timeout() time.Duration {
	if p.spec.Timeout > 0 {
		return p.spec.Timeout
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if t := p.manifest.Limits.Timeout.D(); t > 0 {
		return t
	}
	return DefaultTimeout
}

// Died reports whether a call's error came from the plugin connection
// itself (the process died or stopped answering) rather than from the
// provider's answer, and wakes the supervisor when the process is gone:
// a dead plugin is restarted at once rather than at the next tick.
func (p *Provider) Died(err error) bool {
	if err == nil {
		return false
	}
	e := sdk.AsError(err)
	if p.wake != nil && e.Code == sdk.CodeUnavailable {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	if e.Code == sdk.CodeUnavailable && strings.HasPrefix(e.Message, "plugin unreachable") {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.proc != nil && p.proc.client.Exited()
}

// configureRequest splits the operator's config into config and secrets by
// the manifest, and registers the secrets for redaction.
func (p *Provider) configureRequest(m sdk.Manifest) *sdk.ConfigureRequest {
	secretNames := map[string]bool{}
	for _, s := range m.Secrets {
		secretNames[s.Name] = true
	}
	req := &sdk.ConfigureRequest{Config: map[string]string{}, Secrets: map[string]string{}}
	var vals []string
	for k, v := range p.spec.Config {
		if secretNames[k] || looksSecret(k) {
			req.Secrets[k] = v
			vals = append(vals, v)
		} else {
			req.Config[k] = v
		}
	}
	p.reg.opts.Secrets.Add(vals...)
	return req
}

// checkConfig checks the operator's config against the keys the manifest
// declares (sdk.Manifest.CheckConfig), before Configure: every problem, each
// with the place in host.yaml where its key was written.
func (p *Provider) checkConfig(m sdk.Manifest) error {
	problems := m.CheckConfig(p.spec.Config)
	if len(problems) == 0 {
		return nil
	}
	lines := make([]string, len(problems))
	for i, pr := range problems {
		lines[i] = pr.Message
		if at := p.spec.ConfigAt[pr.Key]; at != "" {
			lines[i] = at + ": " + pr.Message
		}
	}
	hint := fmt.Sprintf("(recyclegate provider describe %s lists its keys)", p.id)
	if len(lines) == 1 {
		return fmt.Errorf("provider %s: config: %s %s", p.id, lines[0], hint)
	}
	return fmt.Errorf("provider %s: config has %d problems %s:\n  %s", p.id, len(lines), hint, strings.Join(lines, "\n  "))
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
func (p *Provider) startInProcess(ctx context.Context) error {
	m := p.impl.Manifest()
	if err := m.Validate(); err != nil {
		return err
	}
	if err := p.checkConfig(m); err != nil {
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
	p.changed()
	return nil
}

// startPlugin starts the plugin process, checks its manifest and configures
// it. On success the provider is ready.
func (p *Provider) startPlugin(ctx context.Context) error {
	if err := p.verifyDigest(); err != nil {
		return err
	}
	cmd, err := p.command()
	if err != nil {
		return err
	}
	// The process can be killed at any time, even in its handshake (which
	// go-plugin waits out otherwise): when the start is abandoned (the
	// registry closes, the start times out), and at Close.
	procCtx, kill := context.WithCancel(context.Background())
	cmd = withContext(procCtx, cmd)
	abandon := context.AfterFunc(ctx, kill)
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
		GRPCDialOptions:  p.reg.grpcDialOptions(),
	})
	fail := func(err error) error {
		abandon()
		kill()
		client.Kill()
		if ctx.Err() != nil && p.reg.ctx.Err() != nil {
			return fmt.Errorf("plugin %s: not started: the host is stopping", p.id)
		}
		return err
	}
	conn, err := client.Client()
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		if derr := p.verifyDigest(); derr != nil { // the file changed after the check above
			err = derr
		}
	}
	if err != nil {
		return fail(fmt.Errorf("starting plugin %s: %w", p.id, handshakeError(cmd.Path, err)))
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
	if err := p.checkConfig(m); err != nil {
		return fail(err)
	}
	proc := newProcess(procCtx, kill, client, conn)
	remote := rpc.NewRemote(&procInvoker{WireInvoker: inv, proc: proc}, m)
	resp, err := remote.Configure(p.reg.withPluginTracing(cctx), p.configureRequest(m))
	if err != nil {
		return fail(fmt.Errorf("configuring provider %s: %w", p.id, err))
	}
	pid := proc.pid
	p.mu.Lock()
	if !abandon() || p.reg.ctx.Err() != nil { // the registry closed meanwhile
		p.mu.Unlock()
		return fail(ctx.Err())
	}
	p.impl, p.manifest, p.proc = remote, resp.Manifest, proc
	p.state, p.lastErr, p.started = StateReady, "", time.Now()
	p.revivals.Add(1)
	p.mu.Unlock()
	p.changed()
	go p.watch(proc)
	p.log.Info("plugin ready", "pid", pid, "version", resp.Manifest.Version)
	return nil
}

// supervise keeps the plugin running until the registry closes: it starts
// it when it has no process (an optional provider's first start is left
// to it), and restarts it whenever its process ends, with backoff between
// attempts.
func (p *Provider) supervise() {
	defer close(p.done)
	closing := p.reg.closing
	minBackoff, maxBackoff := p.reg.opts.RestartBackoff, p.reg.opts.MaxRestartBackoff
	backoff := minBackoff
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	p.mu.RLock()
	first := p.proc == nil // an optional provider, not started yet
	p.mu.RUnlock()
	for {
		if !first {
			select {
			case <-closing:
				return
			case <-tick.C:
			case <-p.wake:
			}
			p.mu.RLock()
			proc, started := p.proc, p.started
			p.mu.RUnlock()
			if proc != nil && !proc.client.Exited() {
				continue
			}
			if time.Since(started) > 30*time.Second {
				backoff = minBackoff
			}
			p.mu.Lock()
			p.state, p.impl, p.proc = StateRestarting, nil, nil
			if p.lastErr == "" {
				p.lastErr = "plugin process exited"
			}
			p.restarts++
			p.mu.Unlock()
			p.changed()
			proc.closeExited()
			if p.reg.opts.OnRestart != nil {
				p.reg.opts.OnRestart(p.id)
			}
			p.log.Warn("plugin exited; restarting", "backoff", backoff.String())
		}
		for attempt := 0; ; attempt++ {
			if !first || attempt > 0 {
				select {
				case <-closing:
					return
				case <-time.After(backoff):
				}
			}
			ctx, cancel := context.WithTimeout(p.reg.ctx, 30*time.Second)
			err := p.startPlugin(ctx)
			cancel()
			if p.reg.ctx.Err() != nil {
				return
			}
			if err == nil {
				break
			}
			if !first || attempt > 0 {
				backoff = min(backoff*2, maxBackoff)
			}
			p.failed(err, backoff)
		}
		first = false
	}
}

// failed records a failed start: the provider is failed, with the error,
// until a later attempt succeeds.
func (p *Provider) failed(err error, retryIn time.Duration) {
	p.mu.Lock()
	p.state, p.lastErr = StateFailed, err.Error()
	p.mu.Unlock()
	p.changed()
	p.log.Error("provider failed to start; retrying", "error", err, "retry_in", retryIn.String())
}

// startWASMUntilUp loads an optional WASM provider, retrying with backoff
// until it is up or the registry closes.
func (p *Provider) startWASMUntilUp() {
	defer close(p.done)
	backoff := p.reg.opts.RestartBackoff
	for {
		ctx, cancel := context.WithTimeout(p.reg.ctx, 5*time.Minute)
		err := p.startWASM(ctx)
		cancel()
		if err == nil || p.reg.ctx.Err() != nil {
			return
		}
		p.failed(err, backoff)
		select {
		case <-p.reg.closing:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.reg.opts.MaxRestartBackoff)
	}
}

// stop ends the provider: a plugin process is asked to exit and killed
// if it has not within grace; a module or an in-process provider is closed.
func (p *Provider) stop(grace time.Duration) {
	p.mu.Lock()
	proc, impl, m := p.proc, p.impl, p.wasm
	p.state, p.impl, p.proc, p.wasm = StateDown, nil, nil, nil
	p.mu.Unlock()
	p.changed()
	switch {
	case proc != nil:
		proc.stop(grace)
	case m != nil:
		_ = m.Close(context.Background())
	case impl != nil:
		if c, ok := impl.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// secureConfig makes go-plugin verify the binary's SHA-256 before it runs,
// at every start and restart (a fresh hash each time).
func (p *Provider) secureConfig() *plugin.SecureConfig {
	if p.checksum == nil {
		return nil
	}
	return &plugin.SecureConfig{Checksum: p.checksum, Hash: sha256.New()}
}

// verifyDigest checks a runtime plugin binary's SHA-256 before it runs,
// with a message that names the file by its absolute path, the digest the
// configuration gives and the file's own (go-plugin checks it again as it
// starts the process, and says only that they differ).
func (p *Provider) verifyDigest() error {
	if p.checksum == nil {
		return nil
	}
	path, err := filepath.Abs(p.spec.Path)
	if err != nil {
		path = p.spec.Path
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("provider %s: plugin %s: %w", p.id, path, errors.Unwrap(err))
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("provider %s: reading plugin %s: %w", p.id, path, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, p.checksum) {
		return fmt.Errorf("provider %s: plugin %s has SHA-256 %x, but the configuration says sha256: %x; "+
			"if the binary was rebuilt on purpose, put its digest in the configuration (sha256sum %s)", p.id, path, got, p.checksum, path)
	}
	return nil
}

func decodeSHA256(sum string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ToLower(sum))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("sha256 %q is not a hex SHA-256 digest", sum)
	}
	return b, nil
}

// WASMCacheDir is where compiled WASM code is cached: <dataDir>/wasm-cache,
// or, without a data directory, the user's cache directory (a cache only:
// nothing there needs keeping).
func WASMCacheDir(dataDir string) string {
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
func (p *Provider) startWASM(ctx context.Context) error {
	m, err := wasm.Load(ctx, wasm.Config{
		Path:         p.spec.Path,
		SHA256:       p.spec.SHA256,
		CacheDir:     p.reg.opts.WASMCacheDir,
		MemoryPages:  p.spec.MemoryPages,
		Instances:    p.spec.Instances,
		AllowedHosts: p.spec.AllowedHosts,
		InitTimeout:  p.spec.InitTimeout,
		Logger:       p.log,
		Now:          p.reg.opts.Now,
		Watch:        true,
		Tracing:      p.reg.opts.Tracing,
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
	if err := p.checkConfig(man); err != nil {
		return fail(err)
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
	p.changed()
	p.log.Info("wasm provider ready", "version", resp.Manifest.Version, "sha256", m.Digest())
	return nil
}

// wasmReloaded takes the manifest of reloaded code (a reload is not a
// restart: calls went on throughout).
func (p *Provider) wasmReloaded(m sdk.Manifest) {
	p.mu.Lock()
	p.manifest = m
	p.mu.Unlock()
	p.changed()
	p.log.Info("wasm provider reloaded", "version", m.Version)
}

// grpcDialOptions are the plugin connections' options: with tracing on, a
// stats handler that carries the caller's trace (W3C trace context and
// baggage) to the plugin and makes a client span of each call. Off, none.
func (r *Registry) grpcDialOptions() []grpc.DialOption {
	tp := r.opts.Tracing.Provider()
	if tp == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(otelkit.Propagator),
		otelgrpc.WithFilter(filters.FullMethodName(providerv1.Provider_Invoke_FullMethodName))))}
}

// withPluginTracing puts where a plugin sends its spans on its configure
// call (a plugin has no environment to read OTEL_* from).
func (r *Registry) withPluginTracing(ctx context.Context) context.Context {
	s := r.opts.Tracing.Plugin()
	if !s.Enabled() {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, otelkit.MetadataKey, s.Encode())
}
