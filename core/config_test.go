package core_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigDecodesTheDocumentedShape(t *testing.T) {
	yml := `
listen: 127.0.0.1:9090
data_dir: /var/lib/recyclegate
tenants:
  - id: acme
    api_keys: ["${ACME_KEY}"]
providers:
  - id: recycler
    runtime: builtin
    config:
      base_url: https://api.example.test
      app_id: app-1
      app_secret: ${AHS_SECRET}
      daily_quota: 2000
  - id: myprovider
    runtime: plugin
    path: ./bin/myprovider
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
policies: ./policies
`
	cfg, err := core.ParseConfig([]byte(yml), env(map[string]string{"ACME_KEY": "k-1234567890abcdef", "AHS_SECRET": "s3cr3t: with # chars"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9090" || cfg.Tenants[0].APIKeys[0] != "k-1234567890abcdef" || cfg.Policies != "./policies" {
		t.Fatalf("%+v", cfg)
	}
	p := cfg.Providers[0]
	if p.Config["app_secret"] != "s3cr3t: with # chars" || p.Config["daily_quota"] != "2000" {
		t.Fatalf("config %+v", p.Config)
	}
	if cfg.Providers[1].Runtime != core.RuntimePlugin {
		t.Fatalf("%+v", cfg.Providers[1])
	}
}

func TestConfigErrorsSayWhereAndWhat(t *testing.T) {
	cases := []struct{ name, yml, want string }{
		{"unknown key with its line", "listen: 127.0.0.1:1\nlisten_addr: x\n", `line 2: unknown key "listen_addr"; valid keys: answer_ttl, auth, data_dir,`},
		{"unknown nested key", "providers:\n  - id: a\n    runtim: plugin\n", `line 3: unknown key "runtim" in providers[0] (id a) (did you mean runtime?); valid keys: allowed_hosts,`},
		{"wrong type in plain words", "shutdown_timeout: soon\n", "found !!str `soon` where the file wants a duration such as 30s or 1h"},
		{"unset env var", "tenants:\n  - id: a\n    api_keys: [\"${NOPE}\"]\n", "line 3: environment variable NOPE is not set"},
		{"bad yaml", "listen: [\n", "config:"},
		{"duplicate tenant", "tenants:\n  - {id: a, api_keys: [x-0123456789abcdef]}\n  - {id: a, api_keys: [y-0123456789abcdef]}\n", "tenants[1].id \"a\" is used twice"},
		{"shared key", "tenants:\n  - {id: a, api_keys: [x-0123456789abcdef]}\n  - {id: b, api_keys: [x-0123456789abcdef]}\n", "also a key of tenant a"},
		{"tenant without key", "tenants:\n  - {id: a}\n", "api_keys needs at least one key"},
		{"plugin without sha", "providers:\n  - {id: p, runtime: plugin, path: ./p}\n", "sha256 must be the file's hex SHA-256"},
		{"bad runtime", "providers:\n  - {id: p, runtime: docker}\n", "runtime \"docker\""},
		{"short key", "tenants:\n  - {id: a, api_keys: [abc]}\n", "tenants[0].api_keys[0] is 3 characters: an API key has at least 16"},
		{"bad digest", "tenants:\n  - {id: a, api_keys: [\"sha256:abc\"]}\n", "a digest is sha256:"},
		{"a key and its digest", "tenants:\n  - {id: a, api_keys: [x-0123456789abcdef]}\n  - {id: b, api_keys: [\"sha256:f71609bcb1e359ecd44b550911c8ff9207abc0b403292543c0f96ca0bd1ea878\"]}\n", "also a key of tenant a"},
		{"tls without its key", "tls: {cert_file: c.pem}\n", "cert_file and key_file are both needed"},
		{"metrics on no debug listener", "metrics: debug\n", "debug_listen, which is not set"},
		{"metrics elsewhere", "metrics: everywhere\n", "want api, debug or off"},
		{"demo key off loopback", "listen: 0.0.0.0:8080\ntenants:\n  - {id: demo, api_keys: [demo]}\n", "demo API key"},
		{"bad listen", "listen: nowhere\n", "want host:port"},
		{"profiler off loopback", "debug_listen: 0.0.0.0:6060\n", "debug_listen \"0.0.0.0:6060\" is not a loopback address"},
		{"profiler off loopback says how", "debug_listen: 10.1.2.3:6060\n", "set debug_allow_remote: true"},
		{"profiler on the API", "listen: 127.0.0.1:8080\ndebug_listen: 127.0.0.1:8080\n", "a listener of its own"},
		{"bad debug_listen", "debug_listen: 6060\n", "want host:port"},
		{"negative ping timeout", "supervisor:\n  ping_timeout: -1s\n", "ping_timeout must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := core.ParseConfig([]byte(c.yml), env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestConfigProfilerAndSupervisor(t *testing.T) {
	yml := `
debug_listen: 127.0.0.1:6060
supervisor:
  ping_interval: 250ms
  ping_timeout: 2s
  restart_unresponsive_after: -1s
providers:
  - id: recycler
    optional: true
`
	cfg, err := core.ParseConfig([]byte(yml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	sv := cfg.Supervisor
	if cfg.DebugListen != "127.0.0.1:6060" || sv.PingInterval != 250*time.Millisecond || sv.PingTimeout != 2*time.Second ||
		sv.RestartUnresponsive != -time.Second || !cfg.Providers[0].Optional {
		t.Fatalf("%+v", cfg)
	}
	if _, err := core.ParseConfig([]byte("debug_listen: 0.0.0.0:6060\ndebug_allow_remote: true\n"), env(nil)); err != nil {
		t.Fatalf("a remote profiler, explicitly allowed: %v", err)
	}
}

func TestLoadConfigNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(path, []byte("nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := core.LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("got %v", err)
	}
	if _, err := core.LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("a missing file must be an error")
	}
}

// TestConfigUnknownKeysAreNamedWithTheValidOnes: a misspelt key is named
// with where it is and the keys valid there, every one at once, never a Go
// type.
func TestConfigUnknownKeysAreNamedWithTheValidOnes(t *testing.T) {
	yml := `tenants:
  - id: acme
    api_keys: [k-0123456789abcdef]
    tier: gold
providers:
  - id: carvalue
    runtime: builtin
  - id: greenbox
    runtime: plugin
    path: ./greenbox
    sha265: 3b1f
    guards:
      breaker:
        failurs: 5
`
	_, err := core.ParseConfig([]byte(yml), env(nil))
	if err == nil {
		t.Fatal("unknown keys must be refused")
	}
	msg := err.Error()
	for _, want := range []string{
		"2 unknown keys",
		`line 11: unknown key "sha265" in providers[1] (id greenbox) (did you mean sha256?); valid keys: allowed_hosts, config, guards, id,`,
		", path, runtime, sandbox, sha256, timeout",
		`line 14: unknown key "failurs" in providers[1].guards.breaker (did you mean failures?)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nwant %q", msg, want)
		}
	}
	for _, never := range []string{"core.", "guard.", "not found in type"} {
		if strings.Contains(msg, never) {
			t.Errorf("the message names a Go type (%q): %s", never, msg)
		}
	}
}

// TestLoadConfigTakesPathsFromTheConfigFolder: a plugin's relative path is
// the config file's folder's, whatever the working directory, and is
// absolute from then on.
func TestLoadConfigTakesPathsFromTheConfigFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	yml := "providers:\n  - id: greenbox\n    runtime: plugin\n    path: ./bin/greenbox\n    sha256: " + strings.Repeat("ab", 32) +
		"\n  - id: tidebox\n    runtime: wasm\n    path: /opt/tidebox.wasm\n    sha256: " + strings.Repeat("cd", 32) + "\n"
	path := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	cfg, err := core.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Providers[0].Path, filepath.Join(dir, "bin", "greenbox"); got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	if cfg.Providers[1].Path != "/opt/tidebox.wasm" {
		t.Errorf("an absolute path changed: %s", cfg.Providers[1].Path)
	}
	// From the working directory's folder, the config is named in full.
	if _, err := core.LoadConfig("../nowhere/host.yaml"); err == nil || !filepath.IsAbs(strings.Fields(strings.TrimPrefix(err.Error(), "reading config: open "))[0]) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestEmptyConfigGetsDefaults(t *testing.T) {
	cfg, err := core.ParseConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != core.DefaultListen || cfg.DataDir == "" {
		t.Fatalf("%+v", cfg)
	}
}

func TestLogSectionIsChecked(t *testing.T) {
	cfg, err := core.ParseConfig([]byte("log:\n  level: debug\n  format: json\n"), env(nil))
	if err != nil || cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Fatalf("%v %+v", err, cfg)
	}
	for src, want := range map[string]string{
		"log:\n  level: loud\n": "log.level \"loud\": want debug, info, warn or error",
		"log:\n  format: xml\n": "log.format \"xml\": want text or json",
	} {
		if _, err := core.ParseConfig([]byte(src), env(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

func TestPolicyLimitsAndInitTimeoutAreRead(t *testing.T) {
	src := "policy_limits:\n  max_rules: 3\n  max_request_cost: 900\n"
	cfg, err := core.ParseConfig([]byte(src), env(nil))
	if err != nil || cfg.PolicyLimits.MaxRules != 3 || cfg.PolicyLimits.MaxRequestCost != 900 {
		t.Fatalf("%v %+v", err, cfg)
	}
	bad := "providers:\n  - id: p\n    runtime: builtin\n    init_timeout: 1s\n"
	if _, err := core.ParseConfig([]byte(bad), env(nil)); err == nil || !strings.Contains(err.Error(), "init_timeout is for runtime wasm") {
		t.Errorf("init_timeout on a builtin provider: %v", err)
	}
}

// database: takes ${ENV} like every value; a bad URL is refused saying
// what is wrong, never echoing it (it holds a password).
func TestConfigDatabase(t *testing.T) {
	cfg, err := core.ParseConfig([]byte("database: postgres://rg:${PGPASSWORD}@db.internal:5432/recyclegate?sslmode=require\n"),
		env(map[string]string{"PGPASSWORD": "pw-9Zq"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "postgres://rg:pw-9Zq@db.internal:5432/recyclegate?sslmode=require" {
		t.Fatalf("database %q", cfg.Database)
	}
	for _, c := range []struct{ value, want string }{
		{"mysql://rg:pw-9Zq@db/x", `scheme "mysql"`},
		{"postgres://rg:pw-9Zq@/x", "no host"},
		{"postgres://rg:pw-9Zq@db:5432", "no database name"},
		{"postgres://rg:pw-9Zq@db:5432/x%zz", "not a URL"},
	} {
		_, err := core.ParseConfig([]byte("database: "+c.value+"\n"), env(nil))
		if err == nil || !strings.Contains(err.Error(), "config: database: "+c.want) || strings.Contains(err.Error(), "pw-9Zq") {
			t.Errorf("%s: %v", c.value, err)
		}
	}
}
