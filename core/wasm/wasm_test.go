package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

func sdkErr(t *testing.T, err error) *sdk.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *sdk.Error, got %T %v", err, err)
	}
	return e
}

func withTimeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	_ = cancel // ends with the deadline
	return ctx
}

func TestDescribeConfigureAndOwnConfig(t *testing.T) {
	l := load(t, wasm.Config{}, map[string]string{"secret": "s3cr3t-value", "base_url": "http://127.0.0.1:1"})
	man, ok := l.mod.Manifest()
	if !ok || man.ID != "probe" || man.Version != "1" || !man.Has(sdk.CapCatalog) {
		t.Fatalf("manifest %+v", man)
	}
	if a := l.mustRun(t, "echo", map[string]string{"text": "héllo"}); a["text"] != "héllo" {
		t.Errorf("echo: %v", a)
	}
	if a := l.mustRun(t, "config", map[string]string{"key": "secret"}); a["value"] != "s3cr3t-value" || a["found"] != "true" {
		t.Errorf("own secret: %v", a)
	}
	if a := l.mustRun(t, "config", map[string]string{"key": "base_url"}); a["value"] != "http://127.0.0.1:1" {
		t.Errorf("own config: %v", a)
	}
	if a := l.mustRun(t, "config", map[string]string{"key": "other_provider_secret"}); a["found"] != "false" {
		t.Errorf("a key it does not have: %v", a)
	}
	// A provider's own error crosses with its code and field.
	_, err := l.run(context.Background(), "no-such-command", nil)
	if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument || se.Field != "query" {
		t.Errorf("provider error: %+v", se)
	}
	// A failed configure leaves the configuration in force.
	_, err = l.remote.Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{"fail": "yes"}})
	if se := sdkErr(t, err); se.Code != sdk.CodeInvalidArgument || se.Field != "fail" {
		t.Errorf("failed configure: %+v", se)
	}
	if a := l.mustRun(t, "config", map[string]string{"key": "secret"}); a["value"] != "s3cr3t-value" {
		t.Errorf("after a failed configure: %v", a)
	}
}

// The guest reads the host's real wall clock and crypto/rand, never
// wazero's defaults (a fake clock fixed in 2022 and a deterministic source).
// A guest's context carries the caller's deadline, and is done once the
// call has returned (a provider that kept it sees it canceled).
func TestGuestContext(t *testing.T) {
	l := load(t, wasm.Config{Instances: 1}, nil)
	a := l.mustRun(t, "deadline", nil) // mustRun gives 30 s
	left, _ := strconv.Atoi(a["left_ms"])
	if a["has_deadline"] != "true" || left <= 0 || left > 30_000 || a["err"] != "<nil>" {
		t.Fatalf("inside the call: %v", a)
	}
	if k := l.mustRun(t, "kept", nil); k["err"] != context.Canceled.Error() || k["done"] != "true" {
		t.Fatalf("the first call's context, after it returned: %v", k)
	}
}

// The guest SDK decodes a quote's strings without copying them (sdk/wasm):
// one a provider keeps beyond its call still reads the same after calls of
// every size have come through the same instance.
func TestKeptRequestStringsOutliveLaterCalls(t *testing.T) {
	l := load(t, wasm.Config{Instances: 1}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quote := func(model string) string {
		t.Helper()
		resp, err := l.remote.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: model}})
		if err != nil {
			t.Fatalf("quote %.20q: %v", model, err)
		}
		return resp.Quote.Remark
	}
	want := "keep:" + strings.Repeat("k", 3000)
	quote(want)
	for i := range 300 {
		m := strings.Repeat(string(rune('a'+i%26)), 1+i*97%20000)
		if got := quote(m); got != m {
			t.Fatalf("quote %d echoed %d bytes, want %d", i, len(got), len(m))
		}
	}
	if got := quote("kept"); got != want {
		t.Fatalf("the kept model changed: %.40q... (%d bytes)", got, len(got))
	}
}

func TestRealClockAndRandomness(t *testing.T) {
	a := load(t, wasm.Config{}, nil)
	b := load(t, wasm.Config{}, nil)
	before := time.Now()
	got := a.mustRun(t, "now", nil)
	after := time.Now()
	for _, k := range []string{"time", "host_now"} {
		ns, err := strconv.ParseInt(got[k], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if tm := time.Unix(0, ns); tm.Before(before.Add(-time.Second)) || tm.After(after.Add(time.Second)) {
			t.Errorf("guest %s = %s, host clock between %s and %s", k, tm, before, after)
		}
	}
	ra, rb := a.mustRun(t, "random", nil), b.mustRun(t, "random", nil)
	for _, k := range []string{"crypto_rand", "host_random"} {
		if len(ra[k]) != 64 || ra[k] == rb[k] || ra[k] == strings.Repeat("0", 64) {
			t.Errorf("%s: two fresh instances drew %s and %s; want distinct secure random bytes", k, ra[k], rb[k])
		}
	}
	if again := a.mustRun(t, "random", nil); again["crypto_rand"] == ra["crypto_rand"] {
		t.Errorf("two draws in one instance are equal")
	}

	// The clock is the host's: an injected clock is what the guest sees.
	fixed := time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)
	c := load(t, wasm.Config{Now: func() time.Time { return fixed }}, nil)
	got = c.mustRun(t, "now", nil)
	if got["time"] != strconv.FormatInt(fixed.UnixNano(), 10) || got["host_now"] != got["time"] {
		t.Errorf("injected clock: guest read %v, want %d", got, fixed.UnixNano())
	}
}

// A guest that loops forever is stopped at the caller's deadline; the next
// call gets a fresh instance.
func TestRunawayGuestIsStoppedAtTheDeadline(t *testing.T) {
	l := load(t, wasm.Config{Instances: 1}, nil)
	first := l.mustRun(t, "echo", nil)["instance"]
	for _, cmd := range []string{"loop", "sleep"} {
		start := time.Now()
		_, err := l.run(withTimeout(300*time.Millisecond), cmd, map[string]string{"d": "1h"})
		elapsed := time.Since(start)
		if se := sdkErr(t, err); se.Code != sdk.CodeDeadlineExceeded || !se.Retryable {
			t.Errorf("%s: got %+v, want deadline_exceeded", cmd, se)
		}
		if elapsed > 20*time.Second {
			t.Errorf("%s: the call returned after %s", cmd, elapsed)
		}
	}
	again := l.mustRun(t, "echo", map[string]string{"text": "alive"})
	if again["text"] != "alive" || again["instance"] == first {
		t.Errorf("after a runaway guest: %v (first instance %s)", again, first)
	}
}

// The watchdog waits for the deadline of the call running, whichever call
// set it going: a runaway call whose deadline comes after an earlier call's
// is stopped at its own deadline, not at the earlier one.
func TestWatchdogStopsEachCallAtItsOwnDeadline(t *testing.T) {
	l := load(t, wasm.Config{Instances: 1}, nil)
	if _, err := l.run(withTimeout(150*time.Millisecond), "echo", nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := l.run(withTimeout(1500*time.Millisecond), "loop", nil)
	elapsed := time.Since(start)
	if se := sdkErr(t, err); se.Code != sdk.CodeDeadlineExceeded {
		t.Fatalf("got %+v, want deadline_exceeded", se)
	}
	if elapsed < 1400*time.Millisecond || elapsed > 20*time.Second {
		t.Errorf("stopped after %s; its deadline was 1.5 s away, the first call's 150 ms", elapsed)
	}
}

// Machine code cannot be preempted: a guest that never left it would hold
// up every garbage collection's stop-the-world, and with it the whole host,
// the timer that stops the guest included. The instrumented guest leaves it
// every few loop headers; here collections run while a guest spins.
func TestRunawayGuestDoesNotBlockTheGarbageCollector(t *testing.T) {
	l := load(t, wasm.Config{Instances: 1}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := l.run(ctx, "loop", nil)
		done <- err
	}()
	gcs := make(chan struct{})
	go func() {
		for range 20 {
			runtime.GC()
		}
		close(gcs)
	}()
	select {
	case <-gcs:
	case err := <-done:
		t.Fatalf("the loop ended by itself: %v", err)
	case <-time.After(time.Minute): // a hang, not a speed: the test would never end
		t.Fatal("garbage collections are stuck behind a spinning guest")
	}
	cancel()
	if se := sdkErr(t, <-done); se.Code != sdk.CodeCanceled {
		t.Errorf("canceled spin: %+v", se)
	}
	if a := l.mustRun(t, "echo", map[string]string{"text": "alive"}); a["text"] != "alive" {
		t.Errorf("after the spin: %v", a)
	}
}

// Closing a module stops the calls still running in it, now rather than at
// their deadlines.
func TestCloseStopsRunningGuests(t *testing.T) {
	l := load(t, wasm.Config{Instances: 2}, nil)
	m := l.mod
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := l.run(context.Background(), "loop", nil) // no deadline at all
		done <- err
	}()
	<-started
	for m.Stats().Busy == 0 {
		runtime.Gosched()
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if se := sdkErr(t, <-done); se.Code != sdk.CodeUnavailable {
		t.Errorf("a call running at Close: %+v", se)
	}
}

// A guest that grows its memory past the cap fails that call; the module
// keeps serving.
func TestMemoryCapFailsTheCall(t *testing.T) {
	l := load(t, wasm.Config{MemoryPages: 512}, nil) // 32 MiB
	_, err := l.run(withTimeout(time.Minute), "grow", nil)
	se := sdkErr(t, err)
	if se.Code != sdk.CodeProviderError || !strings.Contains(se.Message, "out of memory") {
		t.Errorf("got %+v, want a provider_error naming out of memory", se)
	}
	if a := l.mustRun(t, "echo", map[string]string{"text": "still here"}); a["text"] != "still here" {
		t.Errorf("after the memory cap: %v", a)
	}
}

func TestLoadRefusesMemoryCapBelowTheModulesNeed(t *testing.T) {
	path, sum := buildProbe(t, "1")
	_, err := wasm.Load(context.Background(), wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir, MemoryPages: 2})
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("got %v, want an error about memory_pages", err)
	}
}

// A panic in the provider is its error (the instance lives on); a crash or
// an exit of the guest fails that call only and the instance is replaced.
func TestPanicsAndCrashesFailOneCall(t *testing.T) {
	l := load(t, wasm.Config{Instances: 1}, map[string]string{"secret": "crash-secret-1"})
	id := l.mustRun(t, "echo", nil)["instance"]
	_, err := l.run(withTimeout(30*time.Second), "panic", nil)
	if se := sdkErr(t, err); se.Code != sdk.CodeProviderError || !strings.Contains(se.Message, "panicked") {
		t.Errorf("panic: %+v", se)
	}
	if got := l.mustRun(t, "echo", nil)["instance"]; got != id {
		t.Errorf("a recovered panic replaced the instance")
	}
	for cmd, want := range map[string]string{"crash": "crashed: panic: probe crashed in a goroutine", "exit": "exited with code 3"} {
		_, err := l.run(withTimeout(30*time.Second), cmd, nil)
		se := sdkErr(t, err)
		if se.Code != sdk.CodeProviderError || !strings.Contains(se.Message, want) {
			t.Errorf("%s: got %+v, want a provider_error saying %q", cmd, se, want)
		}
		next := l.mustRun(t, "echo", nil)["instance"]
		if next == id {
			t.Errorf("%s: the instance was not replaced", cmd)
		}
		id = next
	}
	// The crash's output reached the log.
	if !strings.Contains(l.logs.String(), "probe crashed in a goroutine") {
		t.Errorf("the guest's crash output is not in the log:\n%s", l.logs.String())
	}
}

// HTTP goes only to the hosts the provider's configuration allows.
func TestHTTPOnlyToAllowedHosts(t *testing.T) {
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write(make([]byte, 2048))
		case "/hang":
			<-r.Context().Done()
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		default:
			w.Header().Set("X-Probe", "yes")
			fmt.Fprintf(w, "hello %s", r.URL.Query().Get("q"))
		}
	}))
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the host not allowed was reached: %s", r.URL)
	}))
	defer other.Close()

	// Default allow-list: the hosts of the provider's URL-valued config.
	l := load(t, wasm.Config{MaxResponseBytes: 1024}, map[string]string{"base_url": allowed.URL + "/api"})
	a := l.mustRun(t, "http", map[string]string{"url": allowed.URL + "/x?q=1"})
	if a["status"] != "200" || a["body"] != "hello 1" || a["header"] != "yes" {
		t.Errorf("allowed request: %v", a)
	}
	ctx := withTimeout(30 * time.Second)
	_, err := l.run(ctx, "http", map[string]string{"url": other.URL + "/secret-path"})
	if se := sdkErr(t, err); se.Code != sdk.CodeForbidden || !strings.Contains(se.Message, "allowed_hosts") {
		t.Errorf("a host not allowed: %+v", se)
	}
	_, err = l.run(ctx, "http", map[string]string{"url": allowed.URL + "/redirect?to=" + other.URL + "/x"})
	if se := sdkErr(t, err); se.Code != sdk.CodeForbidden {
		t.Errorf("a redirect to a host not allowed: %+v", se)
	}
	_, err = l.run(ctx, "http", map[string]string{"url": allowed.URL + "/big"})
	if se := sdkErr(t, err); !strings.Contains(se.Message, "larger than 1024 bytes") {
		t.Errorf("a response over the cap: %+v", se)
	}
	start := time.Now()
	_, err = l.run(withTimeout(300*time.Millisecond), "http", map[string]string{"url": allowed.URL + "/hang"})
	if se := sdkErr(t, err); se.Code != sdk.CodeDeadlineExceeded {
		t.Errorf("a hung host: %+v", se)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the hung request returned after %s", d)
	}
	if a := l.mustRun(t, "echo", map[string]string{"text": "ok"}); a["text"] != "ok" {
		t.Errorf("after the refusals: %v", a)
	}

	// An explicit allow-list replaces the default.
	e := load(t, wasm.Config{AllowedHosts: []string{other.Listener.Addr().String()}},
		map[string]string{"base_url": allowed.URL})
	_, err = e.run(ctx, "http", map[string]string{"url": allowed.URL + "/x"})
	if se := sdkErr(t, err); se.Code != sdk.CodeForbidden {
		t.Errorf("explicit allow-list: %+v", se)
	}
}

// Concurrent calls never share an instance: the probe's "busy" command
// fails if its instance is entered twice at once.
func TestConcurrentCallsNeverShareAnInstance(t *testing.T) {
	const instances, calls = 3, 12
	l := load(t, wasm.Config{Instances: instances}, map[string]string{"secret": "shared-secret"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.run(withTimeout(time.Minute), "busy", map[string]string{"d": "40ms"})
			if err != nil {
				t.Errorf("busy: %v", err)
				return
			}
			c, err := l.run(withTimeout(time.Minute), "config", map[string]string{"key": "secret"})
			if err != nil || c["value"] != "shared-secret" {
				t.Errorf("an instance serves another configuration: %v %v", c, err)
			}
			mu.Lock()
			seen[a["instance"]]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) > instances {
		t.Errorf("%d instances served, more than the cap %d", len(seen), instances)
	}
	if st := l.mod.Stats(); st.Busy != 0 || st.Idle > instances || st.Max != instances {
		t.Errorf("stats %+v", st)
	}
}

// The provider's secrets never reach the log: not in messages, attributes,
// nested groups, nor the guest's stderr; not even while it is being
// configured with them.
func TestSecretsAreRedactedFromTheGuestsLogs(t *testing.T) {
	const secret = "hunter2-very-secret"
	l := load(t, wasm.Config{}, map[string]string{"secret": secret})
	l.mustRun(t, "log", nil)
	logs := l.logs.String()
	if strings.Contains(logs, secret) {
		t.Fatalf("the secret is in the log:\n%s", logs)
	}
	for _, want := range []string{"probe configured with [REDACTED]", "configure stderr [REDACTED]",
		"probe logs its secret [REDACTED]", "nested.s=x[REDACTED]y", "plain warning", "n=7", "stderr line with [REDACTED]"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// One module misbehaving harms neither another module nor the host.
func TestOtherModulesCarryOn(t *testing.T) {
	bad := load(t, wasm.Config{MemoryPages: 512, Instances: 2}, nil)
	good := load(t, wasm.Config{}, nil)
	var wg sync.WaitGroup
	for _, cmd := range []string{"loop", "grow", "crash"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := bad.run(withTimeout(2*time.Second), cmd, nil); err == nil {
				t.Errorf("%s succeeded", cmd)
			}
		}()
	}
	for i := range 20 {
		text := strconv.Itoa(i)
		if a := good.mustRun(t, "echo", map[string]string{"text": text}); a["text"] != text {
			t.Errorf("the good module answered %v", a)
		}
	}
	wg.Wait()
	if a := bad.mustRun(t, "echo", map[string]string{"text": "recovered"}); a["text"] != "recovered" {
		t.Errorf("the bad module after its failures: %v", a)
	}
}

func TestLoadVerifiesTheFile(t *testing.T) {
	path, sum := buildProbe(t, "1")
	ctx := context.Background()
	wrong := strings.Repeat("0", 64)
	if _, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: wrong}); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("wrong digest: %v", err)
	}
	if _, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: "xyz"}); err == nil {
		t.Errorf("malformed digest accepted")
	}
	junk := filepath.Join(t.TempDir(), "junk.wasm")
	os.WriteFile(junk, []byte("not wasm"), 0o644)
	if _, err := wasm.Load(ctx, wasm.Config{Path: junk, SHA256: digest([]byte("not wasm"))}); err == nil {
		t.Errorf("junk accepted")
	}
	if _, err := wasm.Load(ctx, wasm.Config{Path: path + ".missing", SHA256: sum}); err == nil {
		t.Errorf("missing file accepted")
	}
	if _, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, AllowedHosts: []string{"http://x/"}}); err == nil {
		t.Errorf("an allowed_hosts entry with a scheme accepted")
	}
}

// The compiled code lands in the cache directory, so the next start does
// not compile. (The small echo guest: compiling the probe under -race takes
// minutes.)
func TestCompilationCacheOnDisk(t *testing.T) {
	path, sum := wasmtest.BuildGuest(t, "./testdata/echo")
	dir := t.TempDir()
	ctx := context.Background()
	for i := range 2 {
		m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: dir})
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		m.Close(ctx)
		// One compiled module, and the instrumented bytes it was compiled from.
		compiled, instrumented := 0, 0
		filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
			switch {
			case d == nil || d.IsDir():
			case filepath.Base(filepath.Dir(p)) == "instrumented":
				instrumented++
			default:
				compiled++
			}
			return nil
		})
		if compiled != 1 || instrumented != 1 {
			t.Fatalf("load %d: %d compiled and %d instrumented modules in the cache directory, want 1 and 1", i, compiled, instrumented)
		}
	}
}

// The ABI is enough without the SDK: a guest written against it by hand
// (testdata/echo) is a provider like any other.
func TestGuestWithoutTheSDK(t *testing.T) {
	path, sum := wasmtest.BuildGuest(t, "./testdata/echo")
	ctx := context.Background()
	m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir, Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	man, err := rpc.Describe(ctx, m)
	if err != nil || man.ID != "echo" {
		t.Fatalf("describe: %+v %v", man, err)
	}
	for _, n := range []int{0, 10, 1 << 10, 1 << 20} {
		in := []byte(strings.Repeat("x", n))
		out, err := m.Invoke(ctx, "anything", in)
		if err != nil || string(out) != string(in) {
			t.Fatalf("echo of %d bytes: %d bytes back, %v", n, len(out), err)
		}
	}
	_, err = m.Invoke(ctx, "fail", nil)
	if se := sdkErr(t, err); se.Code != sdk.CodeNotFound || se.Field != "id" || se.Message != "nothing here" {
		t.Errorf("error crossing: %+v", se)
	}
	// It does not export the binary envelope's marker: it gets JSON, and a
	// payload in the envelope (a reload can race the caller's look) is
	// refused before the guest sees it, retryably.
	if v := m.WireVersion(); v != 0 {
		t.Errorf("WireVersion of a guest without the marker: %d", v)
	}
	_, err = m.Invoke(ctx, rpc.OpQuote, []byte{0, rpc.WireVersion, 1})
	if se := sdkErr(t, err); se.Code != sdk.CodeUnavailable || !se.Retryable {
		t.Errorf("envelope to a JSON-only guest: %+v", se)
	}
	err = m.CallWire(ctx, rpc.OpQuote, func(b []byte) []byte { return append(b, 0, rpc.WireVersion, 1) },
		func([]byte) error { t.Error("CallWire decoded an answer from a JSON-only guest"); return nil })
	if se := sdkErr(t, err); se.Code != sdk.CodeUnavailable || !se.Retryable {
		t.Errorf("CallWire to a JSON-only guest: %+v", se)
	}
}

// A guest built with sdk/wasm reads quotes in the binary envelope, and
// rpc.Remote sends them so.
func TestSDKGuestSpeaksTheEnvelope(t *testing.T) {
	path, sum := buildProbe(t, "1")
	ctx := context.Background()
	m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if v := m.WireVersion(); v != rpc.WireVersion {
		t.Fatalf("WireVersion %d, want %d", v, rpc.WireVersion)
	}
	model := strings.Repeat("型号", 300)
	resp, err := rpc.NewRemote(m, sdk.Manifest{}).Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: model}})
	if err != nil || resp.Quote.Remark != model || resp.Quote.Price != sdk.Fen(12345) {
		t.Fatalf("quote through the envelope: %+v, %v", resp, err)
	}
}
