package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/recyclegate/recyclegate/core/batch"
	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/redact"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/listen"
	"github.com/recyclegate/recyclegate/core/orders"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/core/quote"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk"
)

// BuiltinArg is the first argument with which the host re-executes its own
// binary to run a built-in provider as a plugin process. A host binary's main
// hands such a call to ServeBuiltin.
const BuiltinArg = "__serve-provider"

// Redacted replaces a secret wherever it would appear in a log line.
const Redacted = redact.Redacted

// Host is the embeddable recyclegate host: it loads providers, routes
// requests to them, and answers with normalized results. Create one with
// New, call its methods from any number of goroutines, and Close it.
//
// Host is a facade: each method hands the request to the layer that owns
// it (quote, batch, orders), which calls providers through invoke.
type Host struct {
	cfg     Config
	log     *slog.Logger
	secrets *redact.Set
	reg     *prometheus.Registry
	now     func() time.Time
	tenants map[[32]byte]*Tenant

	providers *registry.Registry
	gate      *gate.Gate
	invoke    *invoke.Service
	quotes    *quote.Service
	batches   *batch.Service
	orders    *orders.Service

	closeOnce sync.Once
}

// options is what the Options collect before New wires the layers.
type options struct {
	log       *slog.Logger
	now       func() time.Time
	router    Router
	inProcess []registry.Spec
	builtins  map[string]func() (*exec.Cmd, error)
	guards    map[string]GuardConfig
	failpoint func(string)
	tracing   *telemetry.Tracing
}

// Option configures a Host.
type Option func(*options) error

// WithLogger sets the host's logger. Secrets the host knows are redacted from
// everything logged through it, plugins' logs included.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		o.log = l
		return nil
	}
}

// WithClock sets the host's clock (tests move it instead of sleeping).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		o.now = now
		return nil
	}
}

// WithRouter replaces the built-in routing by category (and the policies'
// routing rules).
func WithRouter(r Router) Option {
	return func(o *options) error {
		o.router = r
		return nil
	}
}

// WithProvider registers a provider that runs in the host's own process: a
// Go service embedding the host passes its own sdk.Provider. config is handed
// to its Configure (keys the manifest lists as secrets as secrets). It is
// routed after the providers of the Config, in the order of the options.
func WithProvider(p sdk.Provider, config map[string]string) Option {
	return func(o *options) error {
		if p == nil {
			return errors.New("WithProvider: nil provider")
		}
		m := p.Manifest()
		if err := m.Validate(); err != nil {
			return fmt.Errorf("WithProvider: %w", err)
		}
		o.inProcess = append(o.inProcess, registry.Spec{ID: m.ID, Runtime: RuntimeInProcess, Impl: p, Config: config})
		return nil
	}
}

// WithBuiltin makes a provider linked into this binary available as runtime
// builtin. command returns the command that serves it as a plugin, normally
// the host's own executable with BuiltinArg and the id (see BuiltinCommand).
func WithBuiltin(id string, command func() (*exec.Cmd, error)) Option {
	return func(o *options) error {
		o.builtins[id] = command
		return nil
	}
}

// WithGuards sets the guards of provider id, as a guards block of the
// Config does: for providers registered with WithProvider, or to override
// the Config's.
func WithGuards(id string, g GuardConfig) Option {
	return func(o *options) error {
		if err := g.Validate("guards of " + id); err != nil {
			return fmt.Errorf("WithGuards: %w", err)
		}
		o.guards[id] = g
		return nil
	}
}

// WithFailpoint hooks the host's failpoints (FailpointAfterOrderCreate):
// f is called with the failpoint's name when the host passes it. For crash
// tests only: a test binary kills its own process there.
func WithFailpoint(f func(name string)) Option {
	return func(o *options) error {
		o.failpoint = f
		return nil
	}
}

// WithTracing makes the host's spans (policy, guards, runtime, plugins) with
// t (telemetry.Start); the caller shuts it down after Close. Default: off.
func WithTracing(t *telemetry.Tracing) Option {
	return func(o *options) error { o.tracing = t; return nil }
}

// BuiltinCommand returns a command that re-executes the running binary to
// serve the built-in provider id.
func BuiltinCommand(id string) func() (*exec.Cmd, error) {
	return func() (*exec.Cmd, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the host binary: %w", err)
		}
		return exec.Command(exe, BuiltinArg, id), nil
	}
}

// ServeBuiltin serves a built-in provider when the binary was re-executed
// for it (args[1] == BuiltinArg) and reports whether it did. A host main
// calls it first:
//
//	if core.ServeBuiltin(os.Args, builtins) { return }
func ServeBuiltin(args []string, builtins map[string]func() sdk.Provider) bool {
	if len(args) < 3 || args[1] != BuiltinArg {
		return false
	}
	f, ok := builtins[args[2]]
	if !ok {
		fmt.Fprintf(os.Stderr, "no built-in provider %q in this binary\n", args[2])
		os.Exit(2)
	}
	sdk.Serve(f())
	return true
}

// New loads every provider of cfg and those given as options, configures
// them and returns a ready host. A provider that cannot start fails New: a
// host never starts half configured, unless the provider is optional
// (ProviderConfig.Optional): then New returns without it and it is started
// in the background. Close the host to stop its plugins (within 2s).
//
// The layers are wired here, bottom up: registry (the providers) -> invoke
// (their guards) -> gate (the policies) -> quote, batch and orders.
func New(cfg Config, opts ...Option) (*Host, error) {
	guardsInMemory := cfg.DataDir == "" && cfg.Store == "" // a Config built in code: counters in memory
	// Orders in memory for a Config built in code without data_dir (Config.DataDir).
	ordersInMemory := cfg.DataDir == ""
	wasmCache := registry.WASMCacheDir(cfg.DataDir)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &options{now: time.Now, builtins: map[string]func() (*exec.Cmd, error){}, guards: map[string]GuardConfig{}}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	h := &Host{cfg: cfg, secrets: &redact.Set{}, now: o.now, tenants: map[[32]byte]*Tenant{}}
	h.log = slog.New(telemetry.LogHandler(redact.Handler(o.log.Handler(), h.secrets)))
	h.secrets.Add(o.tracing.Secrets()...)
	h.reg = prometheus.NewRegistry()
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tenants := map[string]*Tenant{}
	attrs := map[string]gate.Tenant{}
	webhooks := map[string]orders.Webhook{}
	quotas := map[string]*guard.TenantQuotas{}
	budgets := map[string]guard.TenantBudget{}
	for _, tc := range cfg.Tenants {
		t := &Tenant{ID: tc.ID, Admin: tc.Admin}
		tenants[tc.ID] = t
		for _, k := range tc.APIKeys {
			d, secret, _ := listen.CheckKey(k, true) // checked by Validate
			h.tenants[d] = t
			if secret && k != DemoAPIKey { // public by design, and the demo tenant's own name
				h.secrets.Add(k)
			}
		}
		attrs[tc.ID] = gate.Tenant{Tier: tc.Tier, Categories: tc.Categories, Providers: tc.Providers, MaxBatch: tc.MaxBatch, Attributes: tc.Attributes}
		if tc.WebhookURL != "" {
			webhooks[tc.ID] = orders.Webhook{URL: tc.WebhookURL, Secret: tc.WebhookSecret, Previous: tc.WebhookPreviousSecrets}
		}
		if tc.Quotas != nil {
			quotas[tc.ID] = tc.Quotas
		}
		if tc.Budget != nil {
			budgets[tc.ID] = *tc.Budget
		}
	}

	g, err := gate.New(gate.Options{Dir: cfg.Policies, Tenants: attrs, Logger: h.log, Now: h.now, Tracing: o.tracing,
		Limits: policy.Options{MaxRules: cfg.PolicyLimits.MaxRules, MaxFileBytes: cfg.PolicyLimits.MaxFileBytes,
			MaxRequestCost: cfg.PolicyLimits.MaxRequestCost}})
	if err != nil {
		return nil, err
	}
	h.gate = g

	specs, guards, err := providerSpecs(cfg, o)
	if err != nil {
		h.Close()
		return nil, err
	}
	restarts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recyclegate_plugin_restarts_total",
		Help: "Times a provider's plugin process was restarted after it ended.",
	}, []string{"provider"})
	unresponsive := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recyclegate_plugin_unresponsive_total",
		Help: "Times a provider's plugin process stopped answering its pings (state unresponsive).",
	}, []string{"provider"})
	h.reg.MustRegister(restarts, unresponsive)
	sv := cfg.Supervisor
	h.providers, err = registry.New(specs, registry.Options{Logger: h.log, Secrets: h.secrets, Now: h.now, WASMCacheDir: wasmCache, Tracing: o.tracing,
		PingInterval: sv.PingInterval, PingTimeout: sv.PingTimeout, RestartUnresponsive: sv.RestartUnresponsive,
		OnRestart:      func(id string) { restarts.WithLabelValues(id).Inc() },
		OnUnresponsive: func(id string) { unresponsive.WithLabelValues(id).Inc() }})
	if err != nil {
		h.Close()
		return nil, err
	}
	if err := h.providers.Start(); err != nil {
		h.Close()
		return nil, err
	}
	invoke.RegisterProviderGauges(h.reg, h.providers)

	st, err := openStore(cfg, h.providers, guards, guardsInMemory, h.now)
	if err != nil {
		h.Close()
		return nil, err
	}
	h.invoke, err = invoke.New(invoke.Options{Registry: h.providers, Guards: guards, Store: st, Replicas: cfg.Replicas,
		Tenants: quotas, Budgets: budgets, Now: h.now, Logger: h.log, Metrics: h.reg, Tracing: o.tracing,
		Observer: func(r invoke.Record) {
			if h.orders != nil {
				h.orders.Observe(r)
			}
		}})
	if err != nil {
		_ = st.Close()
		h.Close()
		return nil, err
	}
	h.gate.SetInvoke(h.invoke)
	h.quotes = quote.New(quote.Options{Invoke: h.invoke, Gate: h.gate, Router: o.router, AnswerTTL: cfg.AnswerTTL,
		Now: h.now, Logger: h.log, Metrics: h.reg})
	h.batches = batch.New(batch.Options{Invoke: h.invoke, Quotes: h.quotes, Pin: h.gate.Set, Now: h.now, Logger: h.log})
	dir := cfg.DataDir
	if ordersInMemory {
		dir = ""
	}
	if cfg.Database != "" {
		if u, err := url.Parse(cfg.Database); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				h.secrets.Add(pw)
			}
		}
	}
	h.orders, err = orders.New(orders.Options{Invoke: h.invoke, Gate: h.gate, Dir: dir, Database: cfg.Database, Config: cfg.Orders, Tenants: tenants,
		Webhooks: webhooks, Revision: revision(h.gate, o.router), Failpoint: o.failpoint, Secrets: h.secrets, Now: h.now, Logger: h.log, Metrics: h.reg})
	if err != nil {
		h.Close()
		return nil, err
	}
	if cfg.Database != "" {
		h.log.Info("order store: PostgreSQL, shared by the replicas that name it", "database", orderstore.RedactURL(cfg.Database), "replica", h.orders.Replica())
	}
	h.orders.RegisterGauges(h.reg)
	h.orders.Start()
	return h, nil
}

// providerSpecs lists the providers to load (the Config's, in order, then
// the in-process ones) and their guards blocks.
func providerSpecs(cfg Config, o *options) ([]registry.Spec, map[string]GuardConfig, error) {
	guards := map[string]GuardConfig{}
	var specs []registry.Spec
	for _, pc := range cfg.Providers {
		specs = append(specs, registry.Spec{ID: pc.ID, Runtime: pc.Runtime, Config: pc.Config, ConfigAt: pc.ConfigAt, Timeout: pc.Timeout,
			Optional: pc.Optional, Command: o.builtins[pc.ID], Path: pc.Path, SHA256: pc.SHA256, AllowedHosts: pc.AllowedHosts,
			MemoryPages: pc.MemoryPages, Instances: pc.Instances, InitTimeout: pc.InitTimeout})
		guards[pc.ID] = pc.Guards
	}
	specs = append(specs, o.inProcess...)
	for id, g := range o.guards {
		found := false
		for _, s := range specs {
			found = found || s.ID == id
		}
		if !found {
			return nil, nil, fmt.Errorf("WithGuards: no provider %q", id)
		}
		guards[id] = g
	}
	return specs, guards, nil
}

// openStore opens the state store of the guards. The embedded store is
// opened only when something must survive a restart (a quota, a budget, a
// tenant's quota); otherwise the counters live in memory and no data
// directory is touched. inMemory (a Config built in code, without data_dir
// or store) keeps them in the process.
func openStore(cfg Config, reg *registry.Registry, guards map[string]GuardConfig, inMemory bool, now func() time.Time) (store.Store, error) {
	kind := cfg.Store
	if kind == "" {
		durable := false
		for _, t := range cfg.Tenants {
			durable = durable || t.Quotas != nil || t.Budget != nil
		}
		for _, p := range reg.All() {
			m := p.Manifest()
			// An optional provider not up yet may state a quota or a cost
			// when it comes: keep its counters where they survive.
			durable = durable || m.ID == "" || guard.AccountSettingsFor(p.ID(), m.Limits, guards[p.ID()]).Durable()
		}
		if inMemory || !durable {
			kind = "memory"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, kind, store.Options{Dir: cfg.DataDir, Now: now})
	if err != nil {
		return nil, fmt.Errorf("opening the state store: %w", err)
	}
	return st, nil
}

// revision is what an audit entry records as the policy revision: the
// set in force, or what an embedder's router that tells one says.
func revision(g *gate.Gate, r Router) func() string {
	return func() string {
		if rev := g.Revision(); rev != "" {
			return rev
		}
		if rr, ok := r.(interface{ Revision() string }); ok {
			return rr.Revision()
		}
		return ""
	}
}

// Close stops the host: the order side's loops end and its store closes,
// then every provider stops (plugin processes end, in-process providers are
// closed) and the guards' store closes. It is safe to call more than once.
func (h *Host) Close() {
	h.closeOnce.Do(func() {
		if h.gate != nil {
			h.gate.Close()
		}
		if h.orders != nil {
			h.orders.Close()
		}
		if h.providers != nil {
			h.providers.Close()
		}
		if h.invoke != nil {
			_ = h.invoke.Close()
		}
	})
}
