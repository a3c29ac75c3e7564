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
