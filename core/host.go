package core

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// BuiltinArg is the first argument with which the host re-executes its own
// binary to run a built-in provider as a plugin process. A host binary's main
// hands such a call to ServeBuiltin.
const BuiltinArg = "__serve-provider"

// Host is the embeddable recyclegate host: it loads providers, routes
// requests to them, and answers with normalized results. Create one with
// New, call its methods from any number of goroutines, and Close it.
type Host struct {
	cfg      Config
	log      *slog.Logger
	secrets  *secrets
	metrics  *metrics
	memo     *quoteMemo // decoded quotes this host cached
	now      func() time.Time
	router   Router
	closing  chan struct{}
	closeMu  sync.Once
	order    []*provider
	byID     map[string]*provider
	tenants  map[[32]byte]*Tenant
	builtins map[string]func() (*exec.Cmd, error)
	pol      *policySide // CEL policies (policy_hook.go)
	guards   *hostGuards // breakers, limits, quotas, cache (guards.go)
	ord      *orderSide  // orders, idempotency, webhooks, audit (orders.go)

	wasmCache string // compiled WASM code (wasmprovider.go)
}

// Tenant is an authenticated client of the host.
type Tenant struct {
	ID    string `json:"id"`
	Admin bool   `json:"admin,omitempty"` // may read and dry-run the policies
}

// Option configures a Host.
type Option func(*Host) error

// WithLogger sets the host's logger. Secrets the host knows are redacted from
// everything logged through it, plugins' logs included.
func WithLogger(l *slog.Logger) Option {
	return func(h *Host) error {
		h.log = l
		return nil
	}
}

// WithClock sets the host's clock (tests move it instead of sleeping).
func WithClock(now func() time.Time) Option {
	return func(h *Host) error {
		h.now = now
		return nil
	}
}

// WithRouter replaces the built-in routing by category.
func WithRouter(r Router) Option {
	return func(h *Host) error {
		h.router = r
		return nil
	}
}

// WithProvider registers a provider that runs in the host's own process: a
// Go service embedding the host passes its own sdk.Provider. config is handed
// to its Configure (keys the manifest lists as secrets as secrets). It is
// routed after the providers of the Config, in the order of the options.
func WithProvider(p sdk.Provider, config map[string]string) Option {
	return func(h *Host) error {
		if p == nil {
			return errors.New("WithProvider: nil provider")
		}
		m := p.Manifest()
		if err := m.Validate(); err != nil {
			return fmt.Errorf("WithProvider: %w", err)
		}
		if _, dup := h.byID[m.ID]; dup {
			return fmt.Errorf("WithProvider: provider %s is registered twice", m.ID)
		}
		pr := &provider{id: m.ID, runtime: RuntimeInProcess, impl: p, manifest: m, state: StateStarting,
			cfg: ProviderConfig{ID: m.ID, Runtime: RuntimeInProcess, Config: config}}
		h.byID[m.ID] = pr
		h.order = append(h.order, pr)
		return nil
	}
}

// WithBuiltin makes a provider linked into this binary available as runtime
// builtin. command returns the command that serves it as a plugin, normally
// the host's own executable with BuiltinArg and the id (see BuiltinCommand).
func WithBuiltin(id string, command func() (*exec.Cmd, error)) Option {
	return func(h *Host) error {
		h.builtins[id] = command
		return nil
	}
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
// host never starts half configured. Close the host to stop its plugins.
func New(cfg Config, opts ...Option) (*Host, error) {
	guardsInMemory := cfg.DataDir == "" && cfg.Store == "" // a Config built in code: counters in memory
	// Orders in memory for a Config built in code without data_dir (Config.DataDir).
	ordersInMemory := cfg.DataDir == ""
	wasmCache := wasmCacheDir(cfg.DataDir)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Host{
		cfg:      cfg,
		secrets:  &secrets{},
		metrics:  newMetrics(),
		memo:     newQuoteMemo(10000),
		now:      time.Now,
		closing:  make(chan struct{}),
		byID:     map[string]*provider{},
		tenants:  map[[32]byte]*Tenant{},
		builtins: map[string]func() (*exec.Cmd, error){},
	}
	h.wasmCache = wasmCache
	// Providers from the config come first, in their order.
	for _, pc := range cfg.Providers {
		pr := &provider{id: pc.ID, runtime: pc.Runtime, cfg: pc, state: StateStarting}
		h.byID[pc.ID] = pr
		h.order = append(h.order, pr)
	}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = slog.New(&redactHandler{next: h.log.Handler(), secrets: h.secrets})
	if h.router == nil {
		h.router = CategoryRouter{}
	}
	if err := h.startPolicies(); err != nil {
		return nil, err
	}
	for _, tc := range cfg.Tenants {
		t := &Tenant{ID: tc.ID, Admin: tc.Admin}
		for _, k := range tc.APIKeys {
			h.tenants[sha256.Sum256([]byte(k))] = t
			if k != DemoAPIKey { // public by design, and the demo tenant's own name
				h.secrets.add(k)
			}
		}
	}
	if err := h.start(); err != nil {
		h.Close()
		return nil, err
	}
	if err := h.setupGuards(guardsInMemory); err != nil {
		h.Close()
		return nil, err
	}
	if err := h.startOrders(ordersInMemory); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// start brings every provider up, plugins in parallel.
func (h *Host) start() error {
	var wg sync.WaitGroup
	errs := make([]error, len(h.order))
	for i, p := range h.order {
		p.host = h
		p.log = h.log.With("provider", p.id)
		switch p.runtime {
		case RuntimeInProcess:
			if err := p.startInProcess(context.Background()); err != nil {
				return err
			}
			continue
		case RuntimeBuiltin:
			cmd, ok := h.builtins[p.id]
			if !ok {
				return fmt.Errorf("provider %s: not a built-in provider of this binary (runtime builtin); name its binary with runtime plugin", p.id)
			}
			p.command = cmd
		case RuntimePlugin:
			sum, err := decodeSHA256(p.cfg.SHA256)
			if err != nil {
				return fmt.Errorf("provider %s: %w", p.id, err)
			}
			p.checksum = sum
			path := p.cfg.Path
			p.command = func() (*exec.Cmd, error) { return exec.Command(path), nil }
		case RuntimeWASM:
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a first compile takes seconds
				defer cancel()
				errs[i] = p.startWASM(ctx)
			}()
			continue
		}
		p.wake = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs[i] = p.startPlugin(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range h.order {
		if p.wake != nil {
			p.done = make(chan struct{})
			go p.supervise()
		}
		// Read at each scrape, not written at each request.
		h.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "recyclegate_provider_up",
			Help:        "1 when the provider is ready to serve, else 0.",
			ConstLabels: prometheus.Labels{"provider": p.id, "runtime": p.runtime},
		}, func() float64 {
			if p.info().State == StateReady {
				return 1
			}
			return 0
		}))
	}
	h.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "recyclegate_providers_ready", Help: "Providers ready to serve.",
	}, func() float64 {
		n := 0
		for _, p := range h.order {
			if p.info().State == StateReady {
				n++
			}
		}
		return float64(n)
	}))
	return nil
}

// Close stops every provider: plugin processes end, in-process providers are
// closed. It is safe to call more than once.
func (h *Host) Close() {
	h.closeMu.Do(func() {
		close(h.closing)
		h.stopPolicies()
		h.stopOrders()
		for _, p := range h.order {
			if p.done != nil {
				<-p.done
			}
		}
		for _, p := range h.order {
			p.stop()
		}
		h.closeGuards()
	})
}

// Config returns the configuration the host runs with.
func (h *Host) Config() Config { return h.cfg }

// Logger returns the host's (redacting) logger.
func (h *Host) Logger() *slog.Logger { return h.log }

// Metrics returns the host's Prometheus registry.
func (h *Host) Metrics() prometheus.Gatherer { return h.metrics.reg }

// Authenticate returns the tenant an API key belongs to.
func (h *Host) Authenticate(apiKey string) (*Tenant, bool) {
	t, ok := h.tenants[sha256.Sum256([]byte(apiKey))]
	return t, ok
}

// Providers describes every loaded provider, in routing order.
func (h *Host) Providers() []ProviderInfo {
	out := make([]ProviderInfo, len(h.order))
	for i, p := range h.order {
		out[i] = p.info()
		out[i].Guards = h.guardInfo(p.id)
	}
	return out
}

// Ready reports whether every provider is ready.
func (h *Host) Ready() bool {
	for _, p := range h.order {
		if p.info().State != StateReady {
			return false
		}
	}
	return true
}

func (h *Host) provider(id string) (*provider, error) {
	p, ok := h.byID[id]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Message: fmt.Sprintf("no provider %q", id), Field: "provider"}
	}
	return p, nil
}

// SearchCatalog searches one provider's catalog.
func (h *Host) SearchCatalog(ctx context.Context, providerID string, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	p, err := h.provider(providerID)
	if err != nil {
		return nil, err
	}
	return call(ctx, h, p, rpc.OpCatalogSearch, sdk.CapCatalog, func(ctx context.Context, impl sdk.Provider) (*sdk.SearchCatalogResponse, error) {
		c, ok := impl.(sdk.Cataloger)
		if !ok {
			return nil, unsupportedImpl(p.id, sdk.CapCatalog)
		}
		return c.SearchCatalog(ctx, req)
	})
}

// GetCatalogItem fetches one entry of a provider's catalog.
func (h *Host) GetCatalogItem(ctx context.Context, providerID string, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	p, err := h.provider(providerID)
	if err != nil {
		return nil, err
	}
	return call(ctx, h, p, rpc.OpCatalogGet, sdk.CapCatalog, func(ctx context.Context, impl sdk.Provider) (*sdk.GetCatalogItemResponse, error) {
		c, ok := impl.(sdk.Cataloger)
		if !ok {
			return nil, unsupportedImpl(p.id, sdk.CapCatalog)
		}
		return c.GetCatalogItem(ctx, req)
	})
}
