package registry_test

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// serveArg re-executes the test binary as a plugin: os.Args[2] names what
// it serves (a fake provider by its id, or a misbehaving mode).
const serveArg = "__registry-test-plugin"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == serveArg {
		switch os.Args[2] {
		case wrongCookie: // a go-plugin binary of another program
			servePlugin(goplugin.HandshakeConfig{ProtocolVersion: rpc.ProtocolVersion, MagicCookieKey: "OTHER_PROGRAM_PLUGIN", MagicCookieValue: "other"})
		case nextProtocol: // a recyclegate plugin built for another protocol version
			hs := rpc.Handshake
			hs.ProtocolVersion = rpc.ProtocolVersion + 1
			servePlugin(hs)
		default:
			sdk.Serve(faketest.New(os.Args[2], 100))
		}
		return
	}
	os.Exit(m.Run())
}

// Plugins of the test binary that are not for this host.
const (
	wrongCookie  = "wrong-cookie"
	nextProtocol = "next-protocol"
)

func servePlugin(hs goplugin.HandshakeConfig) {
	goplugin.Serve(&goplugin.ServeConfig{HandshakeConfig: hs, GRPCServer: goplugin.DefaultGRPCServer,
		Plugins: goplugin.PluginSet{rpc.PluginName: &rpc.GRPCPlugin{Impl: faketest.New("fake", 100)}}})
}

// plugin is the spec of provider id served by the test binary.
func plugin(id string) registry.Spec {
	return registry.Spec{ID: id, Runtime: registry.RuntimeBuiltin, Config: map[string]string{"app_secret": "x"},
		Command: func() (*exec.Cmd, error) {
			exe, err := os.Executable()
			if err != nil {
				return nil, err
			}
			return exec.Command(exe, serveArg, id), nil
		}}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func start(t *testing.T, opts registry.Options, specs ...registry.Spec) *registry.Registry {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	r, err := registry.New(specs, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// eventually polls cond until it holds or the limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func info(t *testing.T, r *registry.Registry, id string) registry.Info {
	t.Helper()
	p, ok := r.Get(id)
	if !ok {
		t.Fatalf("no provider %s", id)
	}
	return p.Info()
}

// kill9 kills the provider's plugin process and waits for the supervisor to
// bring up another.
func kill9(t *testing.T, r *registry.Registry, id string) {
	t.Helper()
	pid := info(t, r, id).PID
	if pid == 0 {
		t.Fatalf("provider %s has no process: %+v", id, info(t, r, id))
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "plugin restarted", func() bool {
		in := info(t, r, id)
		return in.State == registry.StateReady && in.PID != 0 && in.PID != pid
	})
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestRestartsLeakNothing restarts a plugin 50 times (kill -9, then the
// supervisor's restart): the host's goroutines and open files come back to
// what they were, rather than growing with every restart (each replaced
// process used to leave its gRPC connection and broker behind).
func TestRestartsLeakNothing(t *testing.T) {
	r := start(t, registry.Options{RestartBackoff: time.Millisecond, MaxRestartBackoff: time.Millisecond}, plugin("fake"))
	// Warm up: the first restarts start what lives once per process
	// (gRPC's and the runtime's own goroutines).
	for range 3 {
		kill9(t, r, "fake")
	}
	settle := func() (int, int) {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine(), openFDs(t)
	}
	baseG, baseFD := settle()
	const restarts = 50
	for range restarts {
		kill9(t, r, "fake")
	}
	// A constant slack: a restart in progress, a goroutine on its way out.
	const slack = 8
	var g, fd int
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fd = settle()
		if g <= baseG+slack && fd <= baseFD+slack {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("after %d restarts: %d goroutines (baseline %d), %d open files (baseline %d)\n%s",
				restarts, g, baseG, fd, baseFD, buf[:n])
		}
	}
	t.Logf("after %d restarts: %d goroutines (baseline %d), %d open files (baseline %d)", restarts, g, baseG, fd, baseFD)
	if in := info(t, r, "fake"); in.Restarts != restarts+3 {
		t.Fatalf("restarts %d, want %d", in.Restarts, restarts+3)
	}
}

// TestAPluginOfAnotherHostIsNamed: a binary that is not a recyclegate
// plugin for this host (another program's magic cookie, or another
// protocol version) is named, with what it is, rather than go-plugin's
// "Unrecognized remote plugin message"; at the default log level when the
// provider is optional.
func TestAPluginOfAnotherHostIsNamed(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ mode, want string }{
		{wrongCookie, "is not a recyclegate provider plugin for this host"},
		{nextProtocol, "is built for recyclegate plugin protocol version 2; this host speaks version 1"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			spec := plugin(c.mode)
			r, err := registry.New([]registry.Spec{spec}, registry.Options{Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Start()
			r.Close()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), exe) ||
				strings.Contains(err.Error(), "Unrecognized remote plugin message") {
				t.Fatalf("start: %v\nwant %q naming %s", err, c.want, exe)
			}
			t.Logf("start: %v", err)

			// Optional: the host starts, and says it in its log at the
			// default level (info).
			var logs bytes.Buffer
			spec.Optional = true
			r = start(t, registry.Options{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))}, spec)
			eventually(t, 20*time.Second, "the provider failed", func() bool {
				return info(t, r, c.mode).State == registry.StateFailed
			})
			r.Close()
			if in := info(t, r, c.mode); !strings.Contains(in.LastError, c.want) {
				t.Fatalf("last error %q", in.LastError)
			}
			if !strings.Contains(logs.String(), c.want) || !strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("log:\n%s", logs.String())
			}
		})
	}
}

// syncWriter serializes writes to w (the registry logs from many
// goroutines).
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
