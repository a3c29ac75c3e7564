package core_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// The test binary doubles as the plugin binary: the host re-executes it with
// core.BuiltinArg to run a provider as a real go-plugin process.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == core.BuiltinArg && os.Args[2] == muteID {
		// A plugin that never says its handshake: it hangs until killed.
		time.Sleep(time.Hour)
		return
	}
	if core.ServeBuiltin(os.Args, map[string]func() sdk.Provider{
		"fake":  func() sdk.Provider { return faketest.New("fake", 680000) },
		"other": func() sdk.Provider { return faketest.New("other", 650000) },
		"web":   func() sdk.Provider { return faketest.NewWeb("web") },
	}) {
		return
	}
	os.Exit(m.Run())
}

const testSecret = "s3cr3t-value-that-must-not-leak"

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond until it holds or the limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newPluginHost(t *testing.T, ids ...string) (*core.Host, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "t1", APIKeys: []string{"key-1-0123456789ab"}}}}
	var opts []core.Option
	for _, id := range ids {
		cfg.Providers = append(cfg.Providers, core.ProviderConfig{ID: id, Runtime: core.RuntimeBuiltin,
			Config: map[string]string{"app_secret": testSecret, "base_url": "http://127.0.0.1:1"}})
		opts = append(opts, core.WithBuiltin(id, core.BuiltinCommand(id)))
	}
	opts = append(opts, core.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	h, err := core.New(cfg, opts...)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(h.Close)
	return h, logs
}

func phone(model string) sdk.Item {
	return sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: model, Storage: "256GB", Condition: sdk.ConditionExcellent}
}

func quote(t *testing.T, h *core.Host, model string, timeout time.Duration) (*core.QuoteResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.Quote(ctx, &core.Tenant{ID: "t1"}, &core.QuoteRequest{Item: phone(model)})
}

func pluginPID(t *testing.T, h *core.Host, id string) int {
	t.Helper()
	for _, p := range h.Providers() {
		if p.ID == id {
			return p.PID
		}
	}
	t.Fatalf("no provider %s", id)
	return 0
}

func TestPluginRunsInItsOwnProcess(t *testing.T) {
	h, _ := newPluginHost(t, "fake")
	res, err := quote(t, h, "pid", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Quotes) != 1 || res.Quotes[0].Price != sdk.Fen(680000) {
		t.Fatalf("quotes: %+v errors: %+v", res.Quotes, res.Errors)
	}
	pid, _ := strconv.Atoi(res.Quotes[0].Remark)
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("quote served by pid %d; host is %d", pid, os.Getpid())
	}
	info := h.Providers()[0]
	if info.Runtime != core.RuntimeBuiltin || info.State != core.StateReady || info.PID != pid {
		t.Fatalf("provider info %+v, plugin pid %d", info, pid)
	}
}

func TestPluginGetsNoHostEnvironment(t *testing.T) {
	t.Setenv("RG_TEST_HOST_ONLY", testSecret)
	h, _ := newPluginHost(t, "fake")
	res, err := quote(t, h, "env", 10*time.Second)
	if err != nil || len(res.Quotes) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	env := res.Quotes[0].Remark
	if strings.Contains(env, "RG_TEST_HOST_ONLY") || strings.Contains(env, "PATH") || strings.Contains(env, "HOME") {
		t.Fatalf("plugin inherited the host's environment: %s", env)
	}
}

func TestSecretsAreRedactedFromPluginLogs(t *testing.T) {
	h, logs := newPluginHost(t, "fake")
	_ = h
	eventually(t, 10*time.Second, "plugin's configure log reaches the host log", func() bool {
		return strings.Contains(logs.String(), "configured with secret")
	})
	if strings.Contains(logs.String(), testSecret) {
		t.Fatalf("secret leaked into the host log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), core.Redacted) {
		t.Fatalf("expected a redaction marker:\n%s", logs.String())
	}
}

// TestPluginLogsArriveWithTheirLevel: a plugin's warning reaches a host
// logging at info, as a warning, with its message and attributes, its
// secret redacted.
func TestPluginLogsArriveWithTheirLevel(t *testing.T) {
	logs := &logBuffer{}
	cfg := core.Config{Providers: []core.ProviderConfig{{ID: "fake", Runtime: core.RuntimeBuiltin,
		Config: map[string]string{"app_secret": testSecret, "base_url": "http://127.0.0.1:1"}}}}
	h, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")),
		core.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var warning map[string]any
	eventually(t, 10*time.Second, "the plugin's warning in the host's log", func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "a fake provider, for tests only" {
				warning = m
				return true
			}
		}
		return false
	})
	if warning["level"] != "WARN" || warning["mode"] != "test" || warning["provider"] != "fake" || warning["app_secret"] != core.Redacted {
		t.Errorf("the plugin's warning as the host logged it: %v", warning)
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("secret leaked:\n%s", logs)
	}
}

func TestKilledPluginIsRestartedAndCallsFailFast(t *testing.T) {
	h, _ := newPluginHost(t, "fake")
	pid := pluginPID(t, h, "fake")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Calls made while the plugin is down answer at once, never hang.
	killed := time.Now()
	up := func() float64 {
		return metric(t, h, "recyclegate_provider_up", map[string]string{"provider": "fake", "runtime": core.RuntimeBuiltin})
	}
	sawDown := false
	for {
		res, err := quote(t, h, "iPhone 14 Pro", 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Quotes) == 1 {
			break
		}
		if code := res.Errors[0].Code; code != sdk.CodeUnavailable {
			t.Fatalf("while the plugin is down: code %s (%s), want unavailable", code, res.Errors[0].Message)
		}
		sawDown = sawDown || up() == 0
		if time.Since(killed) > 10*time.Second {
			t.Fatal("plugin not back within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("plugin back %s after kill -9", time.Since(killed))
	info := h.Providers()[0]
	if info.PID == pid || info.Restarts != 1 || info.State != core.StateReady {
		t.Fatalf("after restart: %+v (old pid %d)", info, pid)
	}
	// The up gauge is read at each scrape: 0 while the plugin was down, 1 again.
	if !sawDown || up() != 1 {
		t.Fatalf("recyclegate_provider_up: never 0 while down (%v), or %v after the restart", !sawDown, up())
	}
}

func TestCrashInsideACallIsAnErrorAndThePluginComesBack(t *testing.T) {
	h, _ := newPluginHost(t, "fake")
	res, err := quote(t, h, faketest.ModelCrash, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Code != sdk.CodeUnavailable {
		t.Fatalf("a crash mid-call: %+v", res.Errors)
	}
	eventually(t, 10*time.Second, "plugin restarted", func() bool {
		res, err := quote(t, h, "ok", 2*time.Second)
		return err == nil && len(res.Quotes) == 1
	})
}

func TestCloseLeavesNoPluginProcess(t *testing.T) {
	h, _ := newPluginHost(t, "fake", "other")
	pids := []int{pluginPID(t, h, "fake"), pluginPID(t, h, "other")}
	h.Close()
	for _, pid := range pids {
		eventually(t, 5*time.Second, "plugin process gone", func() bool {
			return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
		})
	}
}

func TestDeadlineReachesThePlugin(t *testing.T) {
	h, _ := newPluginHost(t, "fake")
	start := time.Now()
	res, err := quote(t, h, faketest.ModelSleep, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Code != sdk.CodeDeadlineExceeded {
		t.Fatalf("errors %+v", res.Errors)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the call outlived its deadline: %s", time.Since(start))
	}
}

func TestBestPriceAcrossPluginsWithPartialFailure(t *testing.T) {
	h, _ := newPluginHost(t, "fake", "other")
	res, err := quote(t, h, "iPhone 14 Pro", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Quotes) != 2 || res.Best == nil || res.Best.Provider != "fake" || res.Quotes[0].Provider != "fake" {
		t.Fatalf("want both quotes, fake best: %+v", res)
	}
}

func TestExternalPluginWithWrongChecksumNeverRuns(t *testing.T) {
	exe, _ := os.Executable()
	cfg := core.Config{Providers: []core.ProviderConfig{{ID: "fake", Runtime: core.RuntimePlugin, Path: exe,
		SHA256: strings.Repeat("ab", 32), Config: map[string]string{"app_secret": "x"}}}}
	_, err := core.New(cfg)
	// The message names the file in full, the digest configured and the file's.
	data, _ := os.ReadFile(exe)
	sum := sha256.Sum256(data)
	for _, want := range []string{"plugin " + exe + " has SHA-256 " + hex.EncodeToString(sum[:]), "the configuration says sha256: " + strings.Repeat("ab", 32)} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q, got %v", want, err)
		}
	}
}

func TestUnknownBuiltinIsAClearError(t *testing.T) {
	_, err := core.New(core.Config{Providers: []core.ProviderConfig{{ID: "nope"}}})
	if err == nil || !strings.Contains(err.Error(), "not a built-in provider") {
		t.Fatalf("got %v", err)
	}
}
