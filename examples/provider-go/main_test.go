package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

func TestQuoteOverGRPC(t *testing.T) {
	p := sdktest.Start(t, New())
	sdktest.Configure(t, p, nil, map[string]string{"api_key": "k"})
	resp, err := p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone,
		Model: "iPhone 14 Pro", Storage: "256GB", Condition: sdk.ConditionGood, FunctionalIssues: []string{sdk.IssueBatteryAged}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := sdk.Fen(520000*800/1000 - 30000); resp.Quote.Price != want {
		t.Fatalf("price %v, want %v", resp.Quote.Price, want)
	}
	_, err = p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "Nokia 3310", Condition: sdk.ConditionGood}})
	if e := sdk.AsError(err); e.Code != sdk.CodeNotFound || e.Field != "item.model" {
		t.Fatalf("got %+v", e)
	}
}

// TestLoadedByTheHostWithoutRebuild builds this provider as its own binary
// and has an unchanged host load it from the config, checksum and all.
func TestLoadedByTheHostWithoutRebuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "greenbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	cfg := core.Config{Providers: []core.ProviderConfig{{ID: "greenbox", Runtime: core.RuntimePlugin, Path: bin,
		SHA256: hex.EncodeToString(sum[:]), Config: map[string]string{"api_key": "example-key"}}}}
	h, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info := h.Providers()[0]
	if info.Runtime != core.RuntimePlugin || info.State != core.StateReady || info.PID == 0 {
		t.Fatalf("%+v", info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.Quote(ctx, nil, &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "iPhone 13", Storage: "128GB", Condition: sdk.ConditionExcellent}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best == nil || res.Best.Provider != "greenbox" || res.Best.Price != sdk.Fen(260000*880/1000) {
		t.Fatalf("%+v", res)
	}

	// A changed binary is refused before it runs.
	cfg.Providers[0].SHA256 = hex.EncodeToString(make([]byte, 32))
	if _, err := core.New(cfg); err == nil {
		t.Fatal("a binary whose checksum does not match must not load")
	}
}

// TestStandaloneModuleRecipe follows README.md's "Your own module" with a
// local clone (this repository): a module of its own, the host's module
// replaced by the clone, builds the provider.
func TestStandaloneModuleRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"go mod init example.com/greenbox",
		"go mod edit -require=github.com/recyclegate/recyclegate@v0.0.0 \\\n            -replace=github.com/recyclegate/recyclegate=../recyclegate",
		"go mod tidy", "providers: [aihuishou, greenbox]"} {
		if !strings.Contains(string(readme), step) {
			t.Fatalf("README.md lacks %q", step)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"main.go", "provider.go"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum")) // the clone's sums: no download needed
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"mod", "init", "example.com/greenbox"},
		{"mod", "edit", "-require=github.com/recyclegate/recyclegate@v0.0.0", "-replace=github.com/recyclegate/recyclegate=" + root},
		// go mod tidy as the README has it would also fetch the test
		// dependencies of every dependency; offline, build resolves what
		// the build needs from the clone's requirements.
		{"build", "-o", "greenbox", "."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "greenbox")); err != nil {
		t.Fatal(err)
	}
}
