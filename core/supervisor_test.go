package core_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// flakyBuiltin is the command of built-in provider id that fails to start
// until up is set.
func flakyBuiltin(id string, up *atomic.Bool) func() (*exec.Cmd, error) {
	return func() (*exec.Cmd, error) {
		if !up.Load() {
			return nil, errors.New("its binary is not there yet")
		}
		return core.BuiltinCommand(id)()
	}
}

func providerInfo(t *testing.T, h *core.Host, id string) core.ProviderInfo {
	t.Helper()
	for _, p := range h.Providers() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no provider %s", id)
	return core.ProviderInfo{}
}

// readyz answers GET /readyz of the host's API.
func readyz(t *testing.T, h *core.Host) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	api.New(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("readyz: %v: %s", err, rec.Body)
	}
	return rec.Code, body
}

func TestProviderThatCannotStartStopsTheHost(t *testing.T) {
	var up atomic.Bool
	cfg := core.Config{Providers: []core.ProviderConfig{
		{ID: "fake", Config: map[string]string{"app_secret": "x"}},
		{ID: "other", Config: map[string]string{"app_secret": "x"}},
	}}
	_, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")),
		core.WithBuiltin("other", flakyBuiltin("other", &up)), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil || !strings.Contains(err.Error(), "not there yet") {
		t.Fatalf("a provider that cannot start (not optional): %v, want the host to refuse to start", err)
	}
}

// TestOptionalProviderThatCannotStart: the host starts at once and serves
// the others; the optional provider is failed, with its error, in GET
// /v1/providers, /readyz (ready: it is optional) and the metrics, and the
// host keeps trying until it comes up.
func TestOptionalProviderThatCannotStart(t *testing.T) {
	var up atomic.Bool
	cfg := core.Config{Providers: []core.ProviderConfig{
		{ID: "fake", Config: map[string]string{"app_secret": "x"}},
		{ID: "other", Config: map[string]string{"app_secret": "x"}, Optional: true},
	}}
	h, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")),
		core.WithBuiltin("other", flakyBuiltin("other", &up)), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("an optional provider that cannot start stopped the host: %v", err)
	}
	t.Cleanup(h.Close)
	eventually(t, 10*time.Second, "the optional provider shown failed", func() bool {
		return providerInfo(t, h, "other").State == core.StateFailed
	})
	info := providerInfo(t, h, "other")
	if !info.Optional || !strings.Contains(info.LastError, "not there yet") {
		t.Fatalf("GET /v1/providers: %+v", info.Info)
	}
	if !h.Ready() {
		t.Fatal("not ready without an optional provider")
	}
	code, body := readyz(t, h)
	states, _ := body["providers"].(map[string]any)
	if code != http.StatusOK || body["ready"] != true || states["other"] != core.StateFailed || states["fake"] != core.StateReady {
		t.Fatalf("/readyz %d %v", code, body)
	}
	if v := metric(t, h, "recyclegate_provider_state", map[string]string{"provider": "other", "state": core.StateFailed}); v != 1 {
		t.Fatalf("recyclegate_provider_state{state=failed} %v", v)
	}
	res, err := quote(t, h, "iPhone 14 Pro", 10*time.Second)
	if err != nil || len(res.Quotes) != 1 || res.Quotes[0].Provider != "fake" {
		t.Fatalf("the others serve: %v %+v", err, res)
	}
	// It keeps being retried, and comes up once it can.
	up.Store(true)
	eventually(t, 30*time.Second, "the optional provider up", func() bool {
		return providerInfo(t, h, "other").State == core.StateReady
	})
	if info := providerInfo(t, h, "other"); info.LastError != "" || info.PID == 0 || info.Guards == nil || info.Guards.QPS != 5 {
		t.Fatalf("once up: %+v guards %+v (want its manifest's qps 5)", info.Info, info.Guards)
	}
	if v := metric(t, h, "recyclegate_provider_state", map[string]string{"provider": "other", "state": core.StateReady}); v != 1 {
		t.Fatalf("recyclegate_provider_state{state=ready} %v", v)
	}
	res, err = quote(t, h, "iPhone 15", 10*time.Second)
	if err != nil || len(res.Quotes) != 2 {
		t.Fatalf("both serve: %v %+v", err, res)
	}
}

// muteID is a built-in provider of the test binary that never prints its
// handshake (TestMain): it hangs until killed.
const muteID = "mute"

// childPIDs lists the processes whose parent is ppid, from /proc.
func childPIDs(t *testing.T, ppid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
}

// exists reports whether process pid is still there (a zombie counts:
// nobody reaped it).
func exists(pid int) bool { return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// TestCloseIsBoundedWhileAPluginHangsInItsHandshake: an optional plugin
// that never says its handshake does not hold the host: it serves the
// others within seconds, and Close ends within 2s (rather than waiting
// out the 15s handshake), with no process left.
func TestCloseIsBoundedWhileAPluginHangsInItsHandshake(t *testing.T) {
	before := map[int]bool{}
	for _, pid := range childPIDs(t, os.Getpid()) {
		before[pid] = true
	}
	cfg := core.Config{Providers: []core.ProviderConfig{
		{ID: "fake", Config: map[string]string{"app_secret": "x"}},
		{ID: muteID, Optional: true},
	}}
	began := time.Now()
	h, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")),
		core.WithBuiltin(muteID, core.BuiltinCommand(muteID)), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			h.Close()
		}
	})
	res, err := quote(t, h, "iPhone 14 Pro", 10*time.Second)
	if err != nil || len(res.Quotes) != 1 {
		t.Fatalf("the others serve: %v %+v", err, res)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("the first quote came %s after the start, want within seconds", took)
	}
	if st := providerInfo(t, h, muteID).State; st != core.StateStarting {
		t.Fatalf("the mute plugin is %s, want starting (in its handshake)", st)
	}
	var children []int
	eventually(t, 10*time.Second, "the mute plugin's process", func() bool {
		children = nil
		for _, pid := range childPIDs(t, os.Getpid()) {
			if !before[pid] {
				children = append(children, pid)
			}
		}
		return len(children) == 2 // fake's and mute's
	})
	start := time.Now()
	h.Close()
	closed = true
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %s with a plugin in its handshake, want within 2s", took)
	} else {
		t.Logf("Close took %s", took)
	}
	for _, pid := range children {
		if exists(pid) {
			t.Errorf("plugin process %d outlived Close", pid)
		}
	}
}

func stopProcess(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

func continueProcess(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// TestHungPluginIsUnresponsiveThenRevivedOrRestarted stops the plugin's
// process (SIGSTOP): within seconds it is unresponsive in GET
// /v1/providers, /readyz and the metrics, the call in flight is cut off
// and new calls fail at once (unavailable) instead of waiting out the
// provider's 20s timeout. SIGCONT makes it ready again, the same process;
// left stopped, it is killed and restarted.
func TestHungPluginIsUnresponsiveThenRevivedOrRestarted(t *testing.T) {
	cfg := core.Config{
		Providers: []core.ProviderConfig{{ID: "fake", Config: map[string]string{"app_secret": "x"},
			Timeout: 20 * time.Second, Guards: core.GuardConfig{CacheTTL: -1}}},
		Supervisor: core.SupervisorConfig{RestartUnresponsive: 4 * time.Second},
	}
	h, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	pid := pluginPID(t, h, "fake")

	// A call in flight when the plugin goes silent.
	type answer struct {
		res  *core.QuoteResult
		err  error
		took time.Duration
	}
	inFlight := make(chan answer, 1)
	go func() {
		start := time.Now()
		res, err := quote(t, h, "sleep", 30*time.Second)
		inFlight <- answer{res, err, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	stopProcess(t, pid)
	stopped := time.Now()
	eventually(t, 5*time.Second, "the plugin shown unresponsive", func() bool {
		return providerInfo(t, h, "fake").State == core.StateUnresponsive
	})
	t.Logf("unresponsive %s after SIGSTOP", time.Since(stopped).Round(time.Millisecond))
	a := <-inFlight
	if a.err != nil || len(a.res.Errors) != 1 || a.res.Errors[0].Code != sdk.CodeUnavailable || a.took > 10*time.Second {
		t.Fatalf("the call in flight: %v %+v after %s, want unavailable well before the 20s timeout", a.err, a.res, a.took)
	}
	start := time.Now()
	res, err := quote(t, h, "iPhone 14 Pro", 30*time.Second)
	if err != nil || len(res.Errors) != 1 || res.Errors[0].Code != sdk.CodeUnavailable || !res.Errors[0].Retryable {
		t.Fatalf("a call to the unresponsive plugin: %v %+v", err, res)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a call to the unresponsive plugin took %s, want at once", took)
	}
	if code, body := readyz(t, h); code != http.StatusServiceUnavailable || body["providers"].(map[string]any)["fake"] != core.StateUnresponsive {
		t.Fatalf("/readyz %d %v", code, body)
	}
	if v := metric(t, h, "recyclegate_provider_state", map[string]string{"provider": "fake", "state": core.StateUnresponsive}); v != 1 {
		t.Fatalf("recyclegate_provider_state{state=unresponsive} %v", v)
	}
	if v := metric(t, h, "recyclegate_plugin_unresponsive_total", map[string]string{"provider": "fake"}); v != 1 {
		t.Fatalf("recyclegate_plugin_unresponsive_total %v", v)
	}

	// It answers again: ready, the same process.
	continueProcess(t, pid)
	eventually(t, 5*time.Second, "the plugin ready again", func() bool {
		return providerInfo(t, h, "fake").State == core.StateReady
	})
	if in := providerInfo(t, h, "fake"); in.PID != pid || in.Restarts != 0 {
		t.Fatalf("revived: %+v, want pid %d and no restart", in.Info, pid)
	}
	if res, err := quote(t, h, "iPhone 15", 10*time.Second); err != nil || len(res.Quotes) != 1 {
		t.Fatalf("after SIGCONT: %v %+v", err, res)
	}

	// Silent for good: killed and restarted.
	stopProcess(t, pid)
	eventually(t, 20*time.Second, "the silent plugin restarted", func() bool {
		in := providerInfo(t, h, "fake")
		return in.State == core.StateReady && in.PID != pid
	})
	if in := providerInfo(t, h, "fake"); in.Restarts != 1 {
		t.Fatalf("after the restart: %+v", in.Info)
	}
	eventually(t, 5*time.Second, "the silent process gone", func() bool { return !exists(pid) })
	if res, err := quote(t, h, "iPhone 15 Pro", 10*time.Second); err != nil || len(res.Quotes) != 1 {
		t.Fatalf("after the restart: %v %+v", err, res)
	}
}

// TestRevivedPluginIsProbedAtOnce: a breaker opened by a provider's
// failures does not hold back its plugin once the supervisor has replaced
// it (kill -9, restart) or it answers again (SIGSTOP, SIGCONT): the next
// call probes it (half-open) rather than waiting out open_for (1h here).
func TestRevivedPluginIsProbedAtOnce(t *testing.T) {
	cfg := core.Config{Providers: []core.ProviderConfig{{ID: "fake", Config: map[string]string{"app_secret": "x"},
		Guards: core.GuardConfig{CacheTTL: -1, Retry: core.RetryConfig{Attempts: 1},
			Breaker: core.BreakerConfig{Failures: 2, OpenFor: time.Hour}}}}}
	h, err := core.New(cfg, core.WithBuiltin("fake", core.BuiltinCommand("fake")), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	breaker := func() string { return providerInfo(t, h, "fake").Guards.Breaker }
	open := func() {
		t.Helper()
		for i := range 2 {
			if res, err := quote(t, h, faketest.ModelFail, 5*time.Second); err != nil || len(res.Errors) != 1 {
				t.Fatalf("failure %d: %v %+v", i, err, res)
			}
		}
		res, err := quote(t, h, "iPhone 14 Pro", 5*time.Second)
		if err != nil || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "circuit breaker open") || breaker() != "open" {
			t.Fatalf("the breaker not open: %v %+v (%s)", err, res, breaker())
		}
	}
	probed := func(how string) {
		t.Helper()
		if b := breaker(); b != "half-open" {
			t.Fatalf("%s: breaker %s, want half-open", how, b)
		}
		res, err := quote(t, h, "iPhone 15", 5*time.Second)
		if err != nil || len(res.Quotes) != 1 {
			t.Fatalf("%s: the first call: %v %+v, want a quote", how, err, res)
		}
		if b := breaker(); b != "closed" {
			t.Fatalf("%s: breaker %s after a good probe", how, b)
		}
	}

	open()
	pid := pluginPID(t, h, "fake")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the plugin restarted", func() bool {
		in := providerInfo(t, h, "fake")
		return in.State == core.StateReady && in.PID != pid
	})
	probed("after a restart")

	open()
	pid = pluginPID(t, h, "fake")
	stopProcess(t, pid)
	eventually(t, 5*time.Second, "the plugin unresponsive", func() bool {
		return providerInfo(t, h, "fake").State == core.StateUnresponsive
	})
	continueProcess(t, pid)
	eventually(t, 5*time.Second, "the plugin ready again", func() bool {
		return providerInfo(t, h, "fake").State == core.StateReady
	})
	probed("after SIGSTOP and SIGCONT")
}
