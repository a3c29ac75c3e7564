package providercheck_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/internal/providercheck"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	alibaba1688sandbox "github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	carvaluesandbox "github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

const mod = "github.com/recyclegate/recyclegate/"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bin builds every provider the tests check, once for the package (one go
// build for the plugins, one for the modules), and returns the path of one.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "providercheck-bin-")
		if buildErr != nil {
			return
		}
		plugins := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			mod+"plugins/aihuishou/cmd/aihuishou-plugin", mod+"plugins/carvalue/cmd/carvalue-plugin",
			mod+"plugins/alibaba1688/cmd/alibaba1688-plugin", mod+"examples/provider-go",
			"./testdata/broken/noisy", "./testdata/broken/wrongmanifest", "./testdata/broken/slowpoke", "./testdata/broken/leaky")
		if out, err := plugins.CombinedOutput(); err != nil {
			buildErr = &buildError{string(out), err}
			return
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// module builds a WASM module once for the process, its machine code
// compiled ahead into wasmtest's cache (wazero's compiler under -race takes
// minutes).
func module(t *testing.T, pkg string) string {
	t.Helper()
	path, _ := wasmtest.BuildGuest(t, mod+pkg)
	return path
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type sandbox interface {
	http.Handler
	AdapterConfig(baseURL string) map[string]string
}

func check(t *testing.T, opts providercheck.Options) *providercheck.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if opts.CacheDir == "" {
		opts.CacheDir = wasmtest.CacheDir()
	}
	rep, err := providercheck.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = rep.Write(&out)
	t.Logf("provider check %s:\n%s", filepath.Base(opts.Path), out.String())
	return rep
}

// TestBrokenProvidersAreCaughtByName feeds the suite providers broken on
// purpose (testdata/broken): each fails the check named for its fault,
// and the checks its fault does not touch pass.
func TestBrokenProvidersAreCaughtByName(t *testing.T) {
	cases := map[string][]string{
		"noisy":         {providercheck.CheckStdout},
		"wrongmanifest": {providercheck.CheckManifest, providercheck.CheckCapabilities},
		"slowpoke":      {providercheck.CheckDeadline},
		"leaky":         {providercheck.CheckSecrets},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			rep := check(t, providercheck.Options{Path: bin(t, name)})
			failing := map[string]bool{}
			for _, res := range rep.Results {
				if res.Status == providercheck.Fail {
					failing[res.Name] = true
				}
			}
			for _, w := range want {
				if !failing[w] {
					t.Errorf("check %s passed", w)
				}
				delete(failing, w)
			}
			for other := range failing {
				t.Errorf("check %s failed too: %s", other, rep.Result(other).Detail)
			}
			if rep.Result(providercheck.CheckHandshake).Status != providercheck.Pass {
				t.Errorf("handshake: %+v", rep.Result(providercheck.CheckHandshake))
			}
		})
	}
	// The leak is shown redacted.
	rep := check(t, providercheck.Options{Path: bin(t, "leaky"), Config: map[string]string{"base_url": "http://127.0.0.1:1", "api_key": "leaked-key-12345"}})
	if d := rep.Result(providercheck.CheckSecrets).Detail; !strings.Contains(d, "[SECRET]") || strings.Contains(d, "leaked-key-12345") {
		t.Errorf("secrets: %s", d)
	}
	var out bytes.Buffer
	_ = rep.Write(&out)
	if !strings.Contains(out.String(), "FAIL  secrets") || !strings.Contains(out.String(), "FAIL: leaky 1.0.0 (plugin ") {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestShippedProvidersPass runs the suite over the three built-in providers
// as plugins (each against its sandbox), carvalue as WASM, and both
// examples: every check passes or does not apply.
func TestShippedProvidersPass(t *testing.T) {
	ahs := aihuishousandbox.New(aihuishousandbox.Options{})
	cv := carvaluesandbox.New(carvaluesandbox.Options{})
	ali := alibaba1688sandbox.New(alibaba1688sandbox.Options{})
	servers := map[string]*httptest.Server{}
	for name, s := range map[string]sandbox{"aihuishou": ahs, "carvalue": cv, "alibaba1688": ali} {
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		servers[name] = srv
	}
	phone := &sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14 Pro", Storage: "256GB", Condition: sdk.ConditionExcellent}
	cases := []struct {
		name string
		opts providercheck.Options
	}{
		{"aihuishou plugin", providercheck.Options{Path: bin(t, "aihuishou-plugin"), Config: ahs.AdapterConfig(servers["aihuishou"].URL), Item: phone}},
		{"carvalue plugin", providercheck.Options{Path: bin(t, "carvalue-plugin"), Config: cv.AdapterConfig(servers["carvalue"].URL)}},
		{"carvalue wasm", providercheck.Options{Path: module(t, "plugins/carvalue/cmd/carvalue-wasm"), Config: cv.AdapterConfig(servers["carvalue"].URL)}},
		{"alibaba1688 plugin", providercheck.Options{Path: bin(t, "alibaba1688-plugin"), Config: ali.AdapterConfig(servers["alibaba1688"].URL)}},
		{"provider-go example", providercheck.Options{Path: bin(t, "provider-go")}},
		{"wasm-provider example", providercheck.Options{Path: module(t, "examples/wasm-provider")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := check(t, c.opts)
			for _, res := range rep.Results {
				if res.Status == providercheck.Fail {
					t.Errorf("%s: %s", res.Name, res.Detail)
				}
			}
		})
	}
}
