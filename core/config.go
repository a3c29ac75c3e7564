package core

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/strictyaml"
	"github.com/recyclegate/recyclegate/core/listen"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/sdk"
)

// Provider runtimes.
const (
	RuntimeBuiltin   = registry.RuntimeBuiltin   // linked into the host binary, run as a plugin process by re-executing it
	RuntimePlugin    = registry.RuntimePlugin    // an external go-plugin binary named by path, verified by sha256
	RuntimeWASM      = registry.RuntimeWASM      // a .wasm module on wazero
	RuntimeInProcess = registry.RuntimeInProcess // a Go value registered with WithProvider
)

// Config is the host's configuration, as read from host.yaml. The zero value
// of every field means its documented default.
type Config struct {
	// Listen is the HTTP API's address. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// DataDir holds the embedded store. Default ./data. (A Config built in
	// code and handed to New with DataDir empty keeps orders, idempotency
	// records and the audit log in memory, with a warning.)
	DataDir string `yaml:"data_dir"`
	// Tenants are the API's clients.
	Tenants []TenantConfig `yaml:"tenants"`
	// Providers are the adapters to load, in routing order.
	Providers []ProviderConfig `yaml:"providers"`
	// Policies is the directory of CEL policy files (relative to the working
	// directory), watched and reloaded when they change; see
	// policies/README.md. Empty: the built-in routing by category.
	Policies string `yaml:"policies"`
	// Store is where shared state lives: empty for the embedded store in
	// DataDir, or redis://host:port/db for several replicas (memory keeps
	// it in the process only, for demos). See docs/guards.md.
	Store string `yaml:"store"`
	// Database is where the order side keeps its records (orders,
	// idempotency records, trade-ins, the audit log, the webhook outbox):
	// empty for SQLite in DataDir (one host process), or a PostgreSQL URL,
	// postgres://user:password@host:5432/dbname, that every replica names
	// (docs/deploy.md). Write the password as ${ENV}; it is never logged.
	Database string `yaml:"database"`
	// Replicas is how many host replicas share the store: while Redis
	// cannot be reached each limits a provider to its share of the QPS
	// (qps / replicas), and each takes its share of max_in_flight. Default 1.
	Replicas int `yaml:"replicas"`
	// DebugListen serves Go's profiler (net/http/pprof, /debug/pprof/) on a
	// listener of its own, never the API's: host:port, on loopback unless
	// DebugAllowRemote. Default empty: no profiler.
	DebugListen string `yaml:"debug_listen"`
	// DebugAllowRemote lets DebugListen be an address other than loopback.
	// Default false: a profile shows the process's memory (secrets in it)
	// and a CPU or trace profile can stall it.
	DebugAllowRemote bool `yaml:"debug_allow_remote"`
	// TLS serves the API over TLS 1.2+ (cert_file, key_file), reloaded
	// when the files change; empty: plain HTTP (docs/security.md).
	TLS listen.TLS `yaml:"tls"`
	// Auth slows failed API keys per client address (docs/security.md).
	Auth listen.Auth `yaml:"auth"`
	// Metrics is where /metrics is served: api (default), debug (on
	// debug_listen, beside the profiler) or off.
	Metrics string `yaml:"metrics"`
	// ShutdownTimeout bounds a graceful shutdown. Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Orders tunes polling, webhooks, idempotency and the audit log.
	Orders OrdersConfig `yaml:"orders"`
	// Supervisor tunes how plugin processes are watched: pinged, marked
	// unresponsive, restarted.
	Supervisor SupervisorConfig `yaml:"supervisor"`
	// PolicyLimits bound what the policy directory (and an evaluate
	// request's inline policies) may hold. Zero fields are the defaults.
	PolicyLimits PolicyLimits `yaml:"policy_limits"`
	// Log sets the log's level and format for `host serve`; the
	// RECYCLEGATE_LOG_LEVEL and RECYCLEGATE_LOG_FORMAT environment variables
	// and the --log-level and --log-format flags win over it.
	Log LogConfig `yaml:"log"`
	// Tracing sends OpenTelemetry traces to a collector (docs/tracing.md).
	Tracing telemetry.Config `yaml:"tracing"`
	// AnswerTTL is how long a quote answer is reused for an identical
	// request of the same tenant (same item, providers, strategy, detail),
	// while the policies and the providers' states and breakers are those
	// it was decided with and its quotes are valid: within it a decision
	// may lag what changes with every call (quota left, latency, the time
	// of day). Never for a provider whose quote cache is off, an answer
	// with a provider error, or one with explain. Default 1s; negative
	// turns it off.
	AnswerTTL time.Duration `yaml:"answer_ttl"`
}

// SupervisorConfig tunes how the host watches its plugin processes
// (docs/operations.md). The zero value of each field is its default.
type SupervisorConfig struct {
	// PingInterval is how often each plugin process is pinged (go-plugin's
	// health check). Default 500ms; negative: never.
	PingInterval time.Duration `yaml:"ping_interval"`
	// PingTimeout is how long a ping may take: a plugin that does not
	// answer within it (nor answers a call) is unresponsive, its calls
	// fail at once (unavailable, retryable) and it is not ready. Default
	// 1s: a plugin that stops answering is unresponsive within 1.5s.
	PingTimeout time.Duration `yaml:"ping_timeout"`
	// RestartUnresponsive is how long a plugin may stay unresponsive before
	// it is killed and restarted. Default 10s; negative: never.
	RestartUnresponsive time.Duration `yaml:"restart_unresponsive_after"`
}

// PolicyLimits bound a policy set (policies/README.md): the zero value of
// each is its default.
type PolicyLimits struct {
	// MaxRules across the set's files. Default 5,000.
	MaxRules int `yaml:"max_rules"`
	// MaxFileBytes of one policy file. Default 1 MiB.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// MaxRequestCost is the estimated cost of one request's evaluation
	// across all rules. Default 50,000.
	MaxRequestCost uint64 `yaml:"max_request_cost"`
}

// LogConfig is the log section of host.yaml.
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// TenantConfig is one client of the API.
type TenantConfig struct {
	ID      string   `yaml:"id"`
	APIKeys []string `yaml:"api_keys"`
	// Tier, Categories, Providers, MaxBatch and Attributes are what the
	// policies read of the tenant (policies/README.md); Tier, MaxBatch and
	// Attributes need Policies. Tier: free, standard (default) or
	// enterprise. Categories and Providers: what the tenant may use
	// (empty: all), enforced by the tenant gate with or without policies.
	// MaxBatch: the most items in one batch (0: the tier's, 10, 100 or 1000).
	Tier string `yaml:"tier"`
	// Admin lets the tenant read the policies in force and dry-run them
	// (GET /v1/policies, POST /v1/policies/evaluate): they may name other
	// tenants and their entitlements. Default false.
	Admin      bool              `yaml:"admin"`
	Categories []string          `yaml:"categories"`
	Providers  []string          `yaml:"providers"`
	MaxBatch   int               `yaml:"max_batch"`
	Attributes map[string]string `yaml:"attributes"`
	// WebhookURL receives the tenant's order events, signed with
	// WebhookSecret (a secret: redacted from logs). Optional.
	WebhookURL    string `yaml:"webhook_url"`
	WebhookSecret string `yaml:"webhook_secret"`
	// WebhookPreviousSecrets are secrets being rotated out: every event is
	// signed with each of them too, after WebhookSecret, so a receiver that
	// still checks an old one keeps verifying while it moves to the new
	// one (docs/webhooks.md). Secrets, redacted from logs. Optional.
	WebhookPreviousSecrets []string `yaml:"webhook_previous_secrets"`
	// Quotas bound the provider calls the tenant's requests make a day.
	Quotas *TenantQuotas `yaml:"quotas"`
	// Budget bounds what they cost, per day and month (docs/security.md).
	Budget *TenantBudget `yaml:"budget"`
}

// ProviderConfig is one adapter to load.
type ProviderConfig struct {
	ID      string `yaml:"id"`
	Runtime string `yaml:"runtime"` // builtin (default), plugin, wasm
	// Path is the plugin or wasm file. A relative path is taken from the
	// config file's folder (LoadConfig), or from the working directory
	// (ParseConfig).
	Path   string `yaml:"path"`
	SHA256 string `yaml:"sha256"` // hex digest the file must have
	// Sandbox points a built-in adapter at its own sandbox, started on
	// loopback by the host.
	Sandbox bool `yaml:"sandbox"`
	// Optional lets the host start and serve without this provider when it
	// cannot start: it is shown failed (with its last error) in GET
	// /v1/providers, /readyz and the metrics, and is retried with backoff
	// until it is up. Default false: a provider that cannot start stops the
	// host's start, so a broken deploy fails loudly.
	Optional bool `yaml:"optional"`
	// Timeout of one call to this provider. Default: the provider's own
	// stated timeout, else 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Guards tune the breaker, limits, quota, budget, cache and retries
	// (docs/guards.md). Defaults come from the provider's manifest.
	Guards GuardConfig `yaml:"guards"`
	// Config is handed to the adapter once it fits the keys its manifest
	// declares (recyclegate provider describe ID lists them); keys it lists
	// as secrets are passed as secrets and redacted. ConfigAt is where each
	// key was written ("host.yaml:13"), for messages; set by the parsers.
	Config   map[string]string `yaml:"config"`
	ConfigAt map[string]string `yaml:"-"`

	// Runtime wasm only (docs/wasm-abi.md). AllowedHosts are the hosts the
	// module may reach over HTTP: "host", "host:port" or "*.domain". Default:
	// the hosts of the http and https URLs among its config values (base_url,
	// say), and nothing else.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// MemoryPages caps each instance's memory in 64 KiB pages. Default 1024
	// (64 MiB); at most 65536.
	MemoryPages uint32 `yaml:"memory_pages"`
	// Instances is how many calls run at once, each on its own instance.
	// Default 8.
	Instances int `yaml:"instances"`
	// InitTimeout bounds a module's initialisation (its start function,
	// a Go guest's init): one that runs longer is refused, and a reload to
	// it keeps the old code. Default 5s.
	InitTimeout time.Duration `yaml:"init_timeout"`
}

// DefaultListen is the API's address when none is configured.
const DefaultListen = "127.0.0.1:8080"

// DemoAPIKey is the API key of the demo tenant that sandbox mode creates. The
// host refuses it on a non-loopback address.
const DemoAPIKey = "demo"

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// LoadConfig reads a YAML configuration file strictly: every unknown key
// is an error naming its line, where it is and the keys valid there, and
// ${ENV_VAR} in a value is replaced by the variable (an unset variable is
// an error, so a secret is never silently empty). A provider's relative
// path is taken from the config file's folder, as Prometheus takes its
// rule files, and made absolute, so every message about the file names it
// in full.
func LoadConfig(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := parseConfig(data, os.LookupEnv, abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, err)
	}
	return cfg, nil
}

// ParseConfig decodes a YAML configuration; lookup resolves ${VAR}. A
// provider's relative path is taken from the working directory and made
// absolute.
func ParseConfig(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	return parseConfig(data, lookup, "")
}

func parseConfig(data []byte, lookup func(string) (string, bool), file string) (*Config, error) {
	// First pass: strict structure: every unknown key, with its line.
	if err := strictyaml.Decode(data, &Config{}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// Second pass: expand ${VAR} in scalar values only (never in keys or
	// comments), then decode.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := expandNode(&root, lookup); err != nil {
		return nil, err
	}
	var cfg Config
	if len(root.Content) > 0 {
		if err := root.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %w", strictyaml.Plain(err))
		}
	}
	at := strictyaml.ItemKeyLines(&root, "providers", "config")
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if i < len(at) {
			p.ConfigAt = strictyaml.Places(file, at[i])
		}
		if p.Path == "" || filepath.IsAbs(p.Path) {
			continue
		}
		if file == "" {
			if abs, err := filepath.Abs(p.Path); err == nil {
				p.Path = abs
			}
			continue
		}
		p.Path = filepath.Join(filepath.Dir(file), p.Path)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func expandNode(n *yaml.Node, lookup func(string) (string, bool)) error {
	if n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			if err := expandNode(n.Content[i], lookup); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("config: line %d: environment variable %s is not set", n.Line, strings.Join(missing, ", "))
		}
		return nil
	}
	for _, c := range n.Content {
		if err := expandNode(c, lookup); err != nil {
			return err
		}
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks the configuration and fills documented defaults.
func (c *Config) Validate() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("config: listen %q: want host:port", c.Listen)
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if err := c.validateDebugListen(); err != nil {
		return err
	}
	if err := c.Tracing.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Supervisor.PingTimeout < 0 {
		return fmt.Errorf("config: supervisor.ping_timeout must not be negative")
	}
	seenTenant := map[string]bool{}
	seenKey := map[string]string{}
	for i, t := range c.Tenants {
		if t.ID == "" {
			return fmt.Errorf("config: tenants[%d].id is required", i)
		}
		if seenTenant[t.ID] {
			return fmt.Errorf("config: tenants[%d].id %q is used twice", i, t.ID)
		}
		seenTenant[t.ID] = true
		if len(t.APIKeys) == 0 {
			return fmt.Errorf("config: tenants[%d] (%s): api_keys needs at least one key", i, t.ID)
		}
		for j, k := range t.APIKeys {
			if strings.TrimSpace(k) == "" {
				return fmt.Errorf("config: tenants[%d].api_keys[%d] is empty", i, j)
			}
			if k == DemoAPIKey && !IsLoopback(c.Listen) {
				return fmt.Errorf("config: the demo API key %q is refused on %s: it is for loopback addresses only", DemoAPIKey, c.Listen)
			}
			d, _, err := listen.CheckKey(k, k == DemoAPIKey)
			if err != nil {
				return fmt.Errorf("config: tenants[%d].api_keys[%d] %w", i, j, err)
			}
			if other, ok := seenKey[string(d[:])]; ok {
				return fmt.Errorf("config: tenants[%d].api_keys[%d] is also a key of tenant %s", i, j, other)
			}
			seenKey[string(d[:])] = t.ID
		}
	}
	if err := c.TLS.Validate(); err != nil {
		return err
	}
	if err := listen.CheckMetrics(c.Metrics, c.DebugListen); err != nil {
		return err
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if c.PolicyLimits.MaxRules < 0 || c.PolicyLimits.MaxFileBytes < 0 {
		return fmt.Errorf("config: policy_limits: max_rules and max_file_bytes must not be negative")
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return fmt.Errorf("config: log.format %q: want text or json", c.Log.Format)
	}
	if err := orderstore.CheckDatabaseURL(c.Database); err != nil {
		return fmt.Errorf("config: database: %w", err)
	}
	if err := c.Orders.Validate(); err != nil {
		return err
	}
	if err := c.validateWebhooks(); err != nil {
		return err
	}
	if err := c.validatePolicyTenants(); err != nil {
		return err
	}
	seenProvider := map[string]bool{}
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.ID == "" {
			return fmt.Errorf("config: providers[%d].id is required", i)
		}
		if seenProvider[p.ID] {
			return fmt.Errorf("config: providers[%d].id %q is used twice", i, p.ID)
		}
		seenProvider[p.ID] = true
		if p.Runtime == "" {
			p.Runtime = RuntimeBuiltin
		}
		switch p.Runtime {
		case RuntimeBuiltin:
			if p.Path != "" {
				return fmt.Errorf("config: providers[%d] (%s): path is for runtime plugin or wasm", i, p.ID)
			}
		case RuntimePlugin, RuntimeWASM:
			if p.Path == "" {
				return fmt.Errorf("config: providers[%d] (%s): runtime %s needs path", i, p.ID, p.Runtime)
			}
			if !sha256Hex.MatchString(strings.ToLower(p.SHA256)) {
				return fmt.Errorf("config: providers[%d] (%s): sha256 must be the file's hex SHA-256 digest (sha256sum %s)", i, p.ID, p.Path)
			}
			if p.Sandbox {
				return fmt.Errorf("config: providers[%d] (%s): sandbox is for built-in providers", i, p.ID)
			}
		default:
			return fmt.Errorf("config: providers[%d] (%s): runtime %q: want builtin, plugin or wasm", i, p.ID, p.Runtime)
		}
		if p.Timeout < 0 {
			return fmt.Errorf("config: providers[%d] (%s): timeout must not be negative", i, p.ID)
		}
		if err := p.validateWASM(); err != nil {
			return fmt.Errorf("config: providers[%d] (%s): %w", i, p.ID, err)
		}
	}
	return c.validateGuards()
}

// validateDebugListen checks debug_listen.
func (c *Config) validateDebugListen() error {
	if c.DebugListen == "" {
		if c.DebugAllowRemote {
			return fmt.Errorf("config: debug_allow_remote without debug_listen")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(c.DebugListen); err != nil {
		return fmt.Errorf("config: debug_listen %q: want host:port", c.DebugListen)
	}
	if _, port, _ := net.SplitHostPort(c.DebugListen); c.DebugListen == c.Listen && port != "0" {
		return fmt.Errorf("config: debug_listen %q is the API's listen address: the profiler needs a listener of its own", c.DebugListen)
	}
	if !IsLoopback(c.DebugListen) && !c.DebugAllowRemote {
		return fmt.Errorf("config: debug_listen %q is not a loopback address: the profiler shows the process's memory and can stall it; "+
			"listen on 127.0.0.1 (say 127.0.0.1:6060) and reach it through a tunnel, or set debug_allow_remote: true to serve it there anyway", c.DebugListen)
	}
	return nil
}

// IsLoopback reports whether a host:port address listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateWebhooks checks the tenants' webhooks.
func (c *Config) validateWebhooks() error {
	for i, t := range c.Tenants {
		if t.WebhookURL == "" {
			if t.WebhookSecret != "" || len(t.WebhookPreviousSecrets) > 0 {
				return fmt.Errorf("config: tenants[%d] (%s): webhook_secret or webhook_previous_secrets without webhook_url", i, t.ID)
			}
			continue
		}
		u, err := url.Parse(t.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("config: tenants[%d] (%s): webhook_url %q: want an http or https URL", i, t.ID, t.WebhookURL)
		}
		if len(t.WebhookSecret) < 16 {
			return fmt.Errorf("config: tenants[%d] (%s): webhook_secret is required with webhook_url, at least 16 characters", i, t.ID)
		}
		for j, old := range t.WebhookPreviousSecrets {
			switch {
			case len(old) < 16:
				return fmt.Errorf("config: tenants[%d] (%s): webhook_previous_secrets[%d]: at least 16 characters", i, t.ID, j)
			case old == t.WebhookSecret:
				return fmt.Errorf("config: tenants[%d] (%s): webhook_previous_secrets[%d] is the current webhook_secret", i, t.ID, j)
			}
		}
	}
	return nil
}

// validatePolicyTenants checks the tenants' entitlements: categories and
// providers the tenant gate enforces itself; the others are read by the
// policies, so they need policies.
func (c *Config) validatePolicyTenants() error {
	for i, t := range c.Tenants {
		if (t.Tier != "" || t.MaxBatch != 0 || len(t.Attributes) > 0) && c.Policies == "" {
			return fmt.Errorf("config: tenants[%d] (%s): tier, max_batch and attributes are enforced by policies; set policies: (a directory, as policies/) or remove them", i, t.ID)
		}
		for j, cat := range t.Categories {
			if !sdk.Category(cat).Valid() {
				return fmt.Errorf("config: tenants[%d].categories[%d]: unknown category %q", i, j, cat)
			}
		}
		if t.MaxBatch < 0 {
			return fmt.Errorf("config: tenants[%d].max_batch must not be negative", i)
		}
	}
	return nil
}

// validateGuards checks every guards block and the tenants' quotas.
func (c *Config) validateGuards() error {
	if c.Replicas < 0 {
		return fmt.Errorf("config: replicas must not be negative")
	}
	ids := map[string]bool{}
	for i := range c.Providers {
		ids[c.Providers[i].ID] = true
		if err := c.Providers[i].Guards.Validate(fmt.Sprintf("config: providers[%d] (%s): guards", i, c.Providers[i].ID)); err != nil {
			return err
		}
	}
	var known []string
	if len(c.Providers) > 0 {
		known = slices.Collect(maps.Keys(ids))
	}
	for i, t := range c.Tenants {
		if t.Budget != nil {
			if err := t.Budget.Validate(fmt.Sprintf("config: tenants[%d] (%s): budget", i, t.ID), known); err != nil {
				return err
			}
		}
		if t.Quotas == nil {
			continue
		}
		if t.Quotas.DailyCalls < 0 {
			return fmt.Errorf("config: tenants[%d] (%s): quotas.daily_calls must not be negative", i, t.ID)
		}
		for id, n := range t.Quotas.PerProvider {
			if n < 0 {
				return fmt.Errorf("config: tenants[%d] (%s): quotas.per_provider.%s must not be negative", i, t.ID, id)
			}
			if len(c.Providers) > 0 && !ids[id] {
				return fmt.Errorf("config: tenants[%d] (%s): quotas.per_provider names %q, which is not a configured provider", i, t.ID, id)
			}
		}
	}
	return nil
}

// validateWASM checks the keys for runtime wasm.
func (p *ProviderConfig) validateWASM() error {
	if p.Runtime != RuntimeWASM {
		for key, set := range map[string]bool{"allowed_hosts": len(p.AllowedHosts) > 0,
			"memory_pages": p.MemoryPages != 0, "instances": p.Instances != 0, "init_timeout": p.InitTimeout != 0} {
			if set {
				return fmt.Errorf("%s is for runtime wasm", key)
			}
		}
		return nil
	}
	if p.MemoryPages > 65536 {
		return fmt.Errorf("memory_pages %d is more than 65536 (4 GiB)", p.MemoryPages)
	}
	if p.Instances < 0 || p.InitTimeout < 0 {
		return fmt.Errorf("instances and init_timeout must not be negative")
	}
	for j, h := range p.AllowedHosts {
		if err := wasm.CheckAllowedHost(h); err != nil {
			return fmt.Errorf("allowed_hosts[%d]: %w", j, err)
		}
	}
	return nil
}

// WASM provider defaults (ProviderConfig's zero values).
const (
	DefaultWASMMemoryPages = wasm.DefaultMemoryPages // 64 MiB per instance
	DefaultWASMInstances   = wasm.DefaultInstances   // calls at once
)

// DefaultMaxInFlight is a provider's bound on calls in flight when neither
// its manifest nor the config names one.
const DefaultMaxInFlight = guard.DefaultMaxInFlight
