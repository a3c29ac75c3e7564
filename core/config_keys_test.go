package core_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core"
)

// TestProviderConfigKeysCheckedWithTheirLine: a key the provider's manifest
// does not declare, and a value not of its key's type, are refused with
// their host.yaml line before the provider is configured; the plugin
// process is stopped, never configured.
func TestProviderConfigKeysCheckedWithTheirLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "host.yaml")
	yaml := `providers:
  - id: fake
    config:
      app_secret: ${FAKE_SECRET}
      colour: green
      base_url: http://127.0.0.1:1
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_SECRET", testSecret)
	cfg, err := core.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = filepath.Join(dir, "data")
	_, err = core.New(*cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")))
	want := path + `:5: unknown key "colour"; valid keys: base_url, app_secret (secret)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
	if !strings.Contains(err.Error(), "provider describe fake") {
		t.Errorf("the message does not say where the keys are listed: %v", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("the message shows the secret: %v", err)
	}

	// A required secret left out, from a config parsed without a file.
	cfg, err = core.ParseConfig([]byte("providers:\n  - id: fake\n    config:\n      base_url: http://127.0.0.1:1\n      colr: x\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = filepath.Join(dir, "data2")
	_, err = core.New(*cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")))
	for _, want := range []string{"config has 2 problems", "app_secret is required", `line 5: unknown key "colr"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}
