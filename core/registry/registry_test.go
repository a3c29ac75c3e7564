package registry_test

import (
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/sdk"
)

// serveArg re-executes the test binary as a plugin: os.Args[2] names what
// it serves (a fake provider by its id, or a misbehaving mode).
const serveArg = "__registry-test-plugin"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == serveArg {
		sdk.Serve(faketest.New(os.Args[2], 100))
		return
	}
	os.Exit(m.Run())
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
