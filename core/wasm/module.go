package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

// Defaults of Config's zero values.
const (
	// DefaultMemoryPages caps an instance's memory at 64 MiB (1024 pages of
	// 64 KiB).
	DefaultMemoryPages = 1024
	// DefaultInstances is how many instances, so how many concurrent calls,
	// one module runs at most.
	DefaultInstances = 8
	// DefaultMaxResponseBytes caps the body of one HTTP response a guest
	// receives.
	DefaultMaxResponseBytes = 8 << 20
	// DefaultInitTimeout bounds an instance's instantiation: its start
	// function and _initialize (a Go guest's runtime and package init).
	// A Go guest initialises in tens of milliseconds; 5 s leaves room for
	// a loaded machine, and a guest that never finishes holds up a host's
	// start, a reload or a call waiting for a new instance by 5 s at most.
	DefaultInitTimeout = 5 * time.Second
	// maxPages is wazero's (and WebAssembly 1.0's) most pages per memory.
	maxPages = 65536
)

// Config says which module to load and how to run it. The zero value of
// every field but Path and SHA256 means its documented default.
type Config struct {
	// Path is the .wasm file.
	Path string
	// SHA256 is the file's hex SHA-256 digest; a file with another digest is
	// refused. Required.
	SHA256 string
	// CacheDir holds compiled code between runs. Empty: no disk cache (every
	// start compiles, which takes seconds for a Go guest).
	CacheDir string
	// MemoryPages caps each instance's linear memory, in 64 KiB pages.
	// Default DefaultMemoryPages (64 MiB); at most 65536 (4 GiB).
	MemoryPages uint32
	// Instances is the most instances run at once (and so concurrent calls;
	// more wait for a free instance within their deadline). Default
	// DefaultInstances.
	Instances int
	// AllowedHosts are the hosts the guest may reach over HTTP: "host",
	// "host:port", or "*.example.com" for any subdomain. Empty: the hosts of
	// the http and https URLs among the provider's configuration values
	// (base_url, for example), so a provider reaches what its operator
	// pointed it at and nothing else.
	AllowedHosts []string
	// MaxResponseBytes caps one HTTP response body. Default
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// InitTimeout bounds the instantiation of each instance: the module's
	// start function and its _initialize export, whatever the caller's
	// context allows (calls' deadlines do not cover it). A guest still
	// initialising then is stopped and the instance refused: Load fails
	// naming the file and the limit, a Reload keeps the code in force, and
	// a call waiting for a new instance fails unavailable. Default
	// DefaultInitTimeout (5s).
	InitTimeout time.Duration
	// Logger receives the guest's log records and its stderr, with the
	// provider's secrets redacted. Default slog.Default().
	Logger *slog.Logger
	// Now is the wall clock the guest reads (time.Now in a Go guest, and
	// v1_now). Default time.Now. Tests inject a clock here.
	Now func() time.Time
	// Transport carries the guest's HTTP requests. Default: a transport of
	// the module's own.
	Transport http.RoundTripper
	// Tracing, when on, makes a span of each HTTP request of the guest's
	// (and carries the trace to the provider), and hands a guest that reads
	// it the call's trace context (docs/wasm-abi.md). Nil: off.
	Tracing *telemetry.Tracing
	// Watch reloads the module when its file (or its digest file, Path +
	// ".sha256") changes. See Module.Reload.
	Watch bool
	// OnReload is called after a reload has swapped in new code, with the
	// manifest the new code answers (after configure, when the module was
	// configured).
	OnReload func(sdk.Manifest)

	// noTermination loads the module without the checks that let a deadline
	// stop a running guest (instrument). Benchmarks only (export_test.go):
	// it measures what the checks cost; a host never runs without them.
	noTermination bool
}

// Module is a loaded WASM provider: an rpc.Invoker over a pool of instances.
// Its methods are safe for concurrent use.
type Module struct {
	cfg     Config
	log     *slog.Logger
	tr      telemetry.Tracer
	rt      wazero.Runtime
	client  *http.Client
	allowed []string // Config.AllowedHosts, normalised

	tokens chan struct{} // one per instance that may run

	mu     sync.Mutex
	code   *code
	idle   []*instance
	busy   map[*instance]struct{} // serving a call: Close stops them
	closed bool

	wire atomic.Int32 // the code in force's binary envelope version (rpc.WireVersion), 0 none

	conf     atomic.Pointer[configState]
	manifest atomic.Pointer[sdk.Manifest] // the last manifest described or configured

	reloadMu  sync.Mutex // one reload at a time
	stopWatch func()
	bg        sync.WaitGroup
}

// code is one compiled version of the module.
type code struct {
	compiled wazero.CompiledModule
	sum      [sha256.Size]byte
	gen      int
	wire     int32 // the binary envelope version it decodes (its export marker), 0 none
	trace    bool  // it reads a traceparent after the operation's name (abi.ExportTraceMarker)

	instrumented bool // it has instrument's stop flag
}

// configState is the configuration in force: what the last successful
// configure call carried.
type configState struct {
	gen     int
	payload []byte
	values  map[string]string // config and secrets: what v1_config_get answers
	secrets []string          // values to redact from the guest's logs
	allowed []string          // the hosts the guest may reach
}

// Load reads, verifies and compiles the module, starts its first instance
// and returns it ready for calls. Close it when done.
func Load(ctx context.Context, cfg Config) (*Module, error) {
	if cfg.Path == "" {
		return nil, errors.New("wasm: Config.Path is required")
	}
	want, err := parseDigest(cfg.SHA256)
	if err != nil {
		return nil, fmt.Errorf("wasm %s: %w", cfg.Path, err)
	}
	if cfg.MemoryPages == 0 {
		cfg.MemoryPages = DefaultMemoryPages
	}
	if cfg.MemoryPages > maxPages {
		return nil, fmt.Errorf("wasm %s: memory_pages %d is more than %d (4 GiB)", cfg.Path, cfg.MemoryPages, maxPages)
	}
	if cfg.Instances <= 0 {
		cfg.Instances = DefaultInstances
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	allowed, err := normaliseHosts(cfg.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("wasm %s: %w", cfg.Path, err)
	}
	data, sum, err := readVerified(cfg.Path, want)
	if err != nil {
		return nil, err
	}
	rc := runtimeConfig().WithMemoryLimitPages(cfg.MemoryPages)
	if cfg.CacheDir != "" {
		cache, err := compilationCache(cfg.CacheDir)
		if err != nil {
			return nil, err
		}
		rc = rc.WithCompilationCache(cache)
	}
	m := &Module{
		cfg:     cfg,
		log:     cfg.Logger,
		rt:      wazero.NewRuntimeWithConfig(ctx, rc),
		allowed: allowed,
		tokens:  make(chan struct{}, cfg.Instances),
		busy:    map[*instance]struct{}{},
		tr:      cfg.Tracing.Tracer("github.com/recyclegate/recyclegate/core/wasm"),
	}
	m.client = newHTTPClient(m)
	fail := func(err error) (*Module, error) {
		_ = m.rt.Close(context.Background())
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
		return fail(fmt.Errorf("wasm: instantiating WASI: %w", err))
	}
	if err := m.instantiateHostModule(ctx); err != nil {
		return fail(err)
	}
	c, err := m.compile(ctx, data, sum, 1)
	if err != nil {
		return fail(err)
	}
	m.setCode(c)
	// The first instance proves the module runs, and serves the first call.
	inst, err := m.instantiate(ctx, c)
	if err != nil {
		return fail(err)
	}
	m.idle = append(m.idle, inst)
	if cfg.Watch {
		stop, err := m.watch()
		if err != nil {
			_ = m.Close(ctx)
			return nil, err
		}
		m.stopWatch = stop
	}
	return m, nil
}

// compile compiles data and checks it is a recyclegate ABI v1 reactor.
func (m *Module) compile(ctx context.Context, data []byte, sum [sha256.Size]byte, gen int) (*code, error) {
	instrumented := !m.cfg.noTermination
	original := data
	cached := false
	if instrumented {
		var err error
		if data, cached, err = instrumentCached(original, sum, m.cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm %s: adding the deadline checks: %w", m.cfg.Path, err)
		}
	}
	compiled, err := m.rt.CompileModule(ctx, data)
	if err != nil && cached {
		// A damaged cache entry: instrument afresh, and replace it.
		if data, err = instrumentFresh(original, instrumentedPath(m.cfg.CacheDir, sum)); err == nil {
			compiled, err = m.rt.CompileModule(ctx, data)
		}
	}
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "memory") && strings.Contains(msg, "limit") {
			return nil, fmt.Errorf("wasm %s: the module needs more memory than memory_pages %d allows: %v", m.cfg.Path, m.cfg.MemoryPages, err)
		}
		return nil, fmt.Errorf("wasm %s: compiling: %w", m.cfg.Path, err)
	}
	exports := compiled.ExportedFunctions()
	var missing []string
	for _, name := range []string{abi.ExportVersionMarker, abi.ExportAlloc, abi.ExportDispatch} {
		if _, ok := exports[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		_ = compiled.Close(ctx)
		hint := "build a Go guest with sdk/wasm and -buildmode=c-shared"
		return nil, fmt.Errorf("wasm %s: not a recyclegate ABI v%d module: it does not export %s (%s)",
			m.cfg.Path, abi.Version, strings.Join(missing, ", "), hint)
	}
	if _, ok := exports["_start"]; ok {
		if _, ok := exports[abi.ExportInitialize]; !ok {
			_ = compiled.Close(ctx)
			return nil, fmt.Errorf("wasm %s: the module is a WASI command (it exports _start): build it as a reactor with -buildmode=c-shared", m.cfg.Path)
		}
	}
	if _, ok := compiled.ExportedMemories()[abi.ExportMemory]; !ok {
		_ = compiled.Close(ctx)
		return nil, fmt.Errorf("wasm %s: the module exports no memory named %q", m.cfg.Path, abi.ExportMemory)
	}
	if missing := m.missingImports(compiled, data); len(missing) > 0 {
		_ = compiled.Close(ctx)
		return nil, fmt.Errorf("wasm %s: the module imports %d thing(s) the host does not provide: %s (the host provides the %s functions of WASI preview 1 and the %s functions of docs/wasm-abi.md)",
			m.cfg.Path, len(missing), strings.Join(missing, "; "), wasiModule, abi.ImportModule)
	}
	c := &code{compiled: compiled, sum: sum, gen: gen, instrumented: instrumented}
	if _, ok := exports[abi.ExportWireMarker]; ok {
		c.wire = rpc.WireVersion
	}
	_, c.trace = exports[abi.ExportTraceMarker]
	return c, nil
}

// wasiModule is the name WASI preview 1's functions are imported from.
const wasiModule = "wasi_snapshot_preview1"

// missingImports lists every import of the module the host does not
// provide, each with why: a module or function the host does not define, a
// function of another signature, or a memory, table or global (the host
// provides functions only). wazero would name the first one only, when
// the first instance starts.
func (m *Module) missingImports(compiled wazero.CompiledModule, data []byte) []string {
	var missing []string
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		host := m.rt.Module(mod)
		var def api.FunctionDefinition
		if host != nil {
			def = host.ExportedFunctionDefinitions()[name]
		}
		switch {
		case host == nil:
			missing = append(missing, fmt.Sprintf("%s.%s (no module %q)", mod, name, mod))
		case def == nil:
			missing = append(missing, fmt.Sprintf("%s.%s (no such function)", mod, name))
		case !sameSignature(def, f):
			missing = append(missing, fmt.Sprintf("%s.%s (as %s; the host's is %s)", mod, name, signature(f), signature(def)))
		}
	}
	imports, err := otherImports(data)
	if err != nil {
		return append(missing, "(the import section cannot be read: "+err.Error()+")")
	}
	return append(missing, imports...)
}

func sameSignature(a, b api.FunctionDefinition) bool {
	return slices.Equal(a.ParamTypes(), b.ParamTypes()) && slices.Equal(a.ResultTypes(), b.ResultTypes())
}

// signature writes a function's type as (i32, i32) -> i64.
func signature(f api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return strings.Join(out, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", names(f.ParamTypes()), names(f.ResultTypes()))
}

// setCode makes c the code in force; the caller holds m.mu or has not
// shared m yet.
func (m *Module) setCode(c *code) {
	m.code = c
	m.wire.Store(c.wire)
}

// WireVersion implements rpc.WireInvoker: the binary envelope version the
// code in force decodes, 0 when it speaks JSON only.
func (m *Module) WireVersion() int { return int(m.wire.Load()) }

// Invoke runs one operation on a free instance: it implements rpc.Invoker.
// A configure call is remembered and replayed on every instance started
// later, so all instances serve the same configuration.
func (m *Module) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	if op == rpc.OpConfigure {
		return m.configure(ctx, payload)
	}
	inst, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if rpc.IsWire(payload) && inst.code.wire != rpc.WireVersion {
		m.release(inst, true)
		return nil, errWireGone()
	}
	out, err, healthy := inst.call(ctx, op, payload, m.conf.Load(), nil)
	m.release(inst, healthy)
	if err == nil && op == rpc.OpDescribe {
		m.remember(out, false)
	}
	return out, err
}

// errWireGone is the answer to a call in the binary envelope that finds a
// module without it: a reload swapped it in between the caller's look at
// WireVersion and the call. The caller's retry sends JSON.
func errWireGone() error {
	return &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true,
		Message: "the WASM module was reloaded with one that does not read the binary envelope; retry"}
}

// maxScratch is the largest request buffer an instance keeps between calls.
const maxScratch = 1 << 20

// CallWire implements rpc.WireCaller: the request is encoded into a buffer
// the instance keeps, and the answer decoded where the guest left it in its
// memory, two copies of the payload fewer than Invoke.
func (m *Module) CallWire(ctx context.Context, op string, enc func([]byte) []byte, dec func([]byte) error) error {
	inst, err := m.acquire(ctx)
	if err != nil {
		return err
	}
	if inst.code.wire != rpc.WireVersion {
		m.release(inst, true)
		return errWireGone()
	}
	payload := enc(inst.scratch[:0])
	if cap(payload) <= maxScratch {
		inst.scratch = payload[:0]
	}
	_, err, healthy := inst.call(ctx, op, payload, m.conf.Load(), dec)
	m.release(inst, healthy)
	return err
}

// configure runs a configure call and, when it succeeds, makes its payload
// the configuration every instance serves.
func (m *Module) configure(ctx context.Context, payload []byte) ([]byte, error) {
	next, err := newConfigState(payload, m.allowed)
	if err != nil {
		return nil, err
	}
	inst, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if cur := m.conf.Load(); cur != nil {
		next.gen = cur.gen + 1
	} else {
		next.gen = 1
	}
	m.mu.Unlock()
	out, err, healthy := inst.call(ctx, rpc.OpConfigure, payload, next, nil)
	if err != nil {
		// The instance may hold half of a configuration that failed: it is
		// configured afresh (or thrown away) before it serves again.
		inst.cfgGen = -1
		m.release(inst, healthy)
		return nil, err
	}
	m.mu.Lock()
	if cur := m.conf.Load(); cur == nil || cur.gen < next.gen {
		m.conf.Store(next)
	}
	m.mu.Unlock()
	inst.cfgGen = next.gen
	m.release(inst, healthy)
	m.remember(out, true)
	return out, nil
}

// remember keeps the manifest of a describe or configure answer.
func (m *Module) remember(out []byte, configured bool) {
	var man sdk.Manifest
	if configured {
		var resp sdk.ConfigureResponse
		if json.Unmarshal(out, &resp) != nil {
			return
		}
		man = resp.Manifest
	} else if json.Unmarshal(out, &man) != nil {
		return
	}
	m.manifest.Store(&man)
}

func newConfigState(payload []byte, allowed []string) (*configState, error) {
	var req sdk.ConfigureRequest
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "decoding configure request: " + err.Error()}
		}
	}
	st := &configState{payload: bytes.Clone(payload), values: map[string]string{}}
	for k, v := range req.Config {
		st.values[k] = v
	}
	for k, v := range req.Secrets {
		st.values[k] = v
		st.secrets = append(st.secrets, v)
	}
	st.allowed = allowed
	if len(allowed) == 0 {
		st.allowed = hostsOfURLs(req.Config)
	}
	return st, nil
}

// acquire takes a free instance (starting one if none is idle), waiting
// within ctx when every instance is busy. The instance serves the
// configuration in force.
func (m *Module) acquire(ctx context.Context) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, sdk.AsError(err)
	}
	select {
	case m.tokens <- struct{}{}: // a free instance, most calls: no select on the context
	default:
		select {
		case m.tokens <- struct{}{}:
		case <-ctx.Done():
			return nil, &sdk.Error{Code: sdk.CodeDeadlineExceeded, Retryable: true,
				Message: fmt.Sprintf("all %d WASM instances stayed busy until the deadline", m.cfg.Instances)}
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.tokens
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: "the WASM module is closed", Retryable: true}
	}
	cur := m.code
	var inst *instance
	for len(m.idle) > 0 && inst == nil {
		i := m.idle[len(m.idle)-1]
		m.idle = m.idle[:len(m.idle)-1]
		if i.code == cur {
			inst = i
			m.busy[inst] = struct{}{}
		} else {
			i.close()
		}
	}
	m.mu.Unlock()
	if inst == nil {
		var err error
		if inst, err = m.startInstance(ctx, cur); err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.busy[inst] = struct{}{}
		m.mu.Unlock()
	}
	if conf := m.conf.Load(); conf != nil && inst.cfgGen != conf.gen {
		if _, err, healthy := inst.call(ctx, rpc.OpConfigure, conf.payload, conf, nil); err != nil {
			inst.cfgGen = -1
			m.release(inst, healthy)
			return nil, fmt.Errorf("configuring a new WASM instance: %w", err)
		}
		inst.cfgGen = conf.gen
	}
	return inst, nil
}

// startInstance starts an instance for a caller holding a token. If the
// caller's context ends first, the instance still starts (in the
// background) and waits idle for the next call; the caller gets its
// context's error at once.
func (m *Module) startInstance(ctx context.Context, c *code) (*instance, error) {
	type result struct {
		inst *instance
		err  error
	}
	done := make(chan result, 1)
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		ictx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		inst, err := m.instantiate(ictx, c)
		done <- result{inst, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			<-m.tokens
			return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "starting a WASM instance: " + r.err.Error()}
		}
		return r.inst, nil
	case <-ctx.Done():
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			if r := <-done; r.inst != nil {
				m.release(r.inst, true)
			} else {
				<-m.tokens
			}
		}()
		return nil, sdk.AsError(ctx.Err())
	}
}

// release returns an instance to the pool, or throws it away when it is
// broken, stale (older code) or the module is closed.
func (m *Module) release(inst *instance, healthy bool) {
	m.mu.Lock()
	delete(m.busy, inst)
	keep := healthy && !m.closed && inst.code == m.code
	if keep {
		m.idle = append(m.idle, inst)
	}
	m.mu.Unlock()
	if !keep {
		inst.close()
	}
	<-m.tokens
}

// Manifest returns the manifest the module last answered to describe or
// configure, and whether it answered one yet.
func (m *Module) Manifest() (sdk.Manifest, bool) {
	if p := m.manifest.Load(); p != nil {
		return *p, true
	}
	return sdk.Manifest{}, false
}

// Digest returns the hex SHA-256 of the code in force.
func (m *Module) Digest() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return hex.EncodeToString(m.code.sum[:])
}

// Stats tells how many instances exist and how many are busy.
type Stats struct {
	Idle, Busy, Max int
	Generation      int // 1 for the code loaded first, +1 per reload
}

// Stats returns the pool's state.
func (m *Module) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Idle: len(m.idle), Busy: len(m.tokens), Max: m.cfg.Instances, Generation: m.code.gen}
}

// Close stops watching the file, closes every instance (calls in flight
// fail) and releases the compiled code. It is safe to call more than once.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	idle := m.idle
	m.idle = nil
	stop := m.stopWatch
	for i := range m.busy {
		// A call in progress ends now (unavailable), not at its deadline.
		i.closing.Store(true)
		i.halt()
	}
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	for _, i := range idle {
		i.close()
	}
	m.bg.Wait()
	return m.rt.Close(ctx)
}

func parseDigest(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	b, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(s)))
	if err != nil || len(b) != sha256.Size {
		return out, fmt.Errorf("sha256 %q is not a hex SHA-256 digest", s)
	}
	copy(out[:], b)
	return out, nil
}

// readVerified reads path and checks its SHA-256 is want.
func readVerified(path string, want [sha256.Size]byte) ([]byte, [sha256.Size]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, [sha256.Size]byte{}, fmt.Errorf("wasm: reading module: %w", err)
	}
	sum := sha256.Sum256(data)
	if sum != want {
		return nil, sum, fmt.Errorf("wasm %s: SHA-256 is %x, the configuration says %x: refusing to load it", path, sum, want)
	}
	return data, sum, nil
}

var (
	cachesMu sync.Mutex
	caches   = map[string]wazero.CompilationCache{}
)

// compilationCache returns the process's one cache for dir: every module
// (and every host in the process) shares it.
func compilationCache(dir string) (wazero.CompilationCache, error) {
	cachesMu.Lock()
	defer cachesMu.Unlock()
	if c, ok := caches[dir]; ok {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wasm: compilation cache: %w", err)
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wasm: compilation cache in %s: %w", dir, err)
	}
	caches[dir] = c
	return c, nil
}

var _ rpc.Invoker = (*Module)(nil)

// runtimeConfig is the wazero configuration every module runs on. Its
// deadline checks are instrument's: wazero's own (WithCloseOnContextDone)
// would cost a Go guest four times its speed.
func runtimeConfig() wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().WithCloseOnContextDone(false)
}

// Precompile compiles the module at path into the compilation cache in
// cacheDir, so a later Load with that CacheDir skips compiling. It neither
// verifies a digest nor runs the module.
func Precompile(ctx context.Context, path, cacheDir string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("wasm: reading module: %w", err)
	}
	cache, err := compilationCache(cacheDir)
	if err != nil {
		return err
	}
	// The same code as Load compiles: instrumented, on a runtime without
	// wazero's own checks (the cache is keyed by both).
	if data, _, err = instrumentCached(data, sha256.Sum256(data), cacheDir); err != nil {
		return fmt.Errorf("wasm %s: adding the deadline checks: %w", path, err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig().WithCompilationCache(cache))
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, data)
	if err != nil {
		return fmt.Errorf("wasm %s: compiling: %w", path, err)
	}
	return compiled.Close(ctx)
}
