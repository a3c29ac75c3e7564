package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

// instance is one instantiation of a module's code: its own memory, its own
// guest runtime. It serves one call at a time; the pool guarantees that.
type instance struct {
	m        *Module
	code     *code
	mod      api.Module
	mem      api.Memory
	alloc    api.Function
	dispatch api.Function
	stop     api.MutableGlobal // instrument's stop flag; nil when built without it
	stopMu   sync.Mutex        // serialises writes to stop
	timer    *time.Timer       // the watchdog: halts the instance at a call's deadline (arm)
	watchMu  sync.Mutex        // guards the three below
	deadline time.Time         // of the call running, zero between calls
	timerAt  time.Time         // when the timer fires, zero when it does not run
	halted   bool              // the watchdog stopped a call
	closing  atomic.Bool       // halted by Module.Close, not by a context
	stderr   *guestOutput

	cfgGen int // the configuration generation it serves; 0 none, -1 unknown

	// The input region from rg_alloc, reused while large enough.
	bufPtr, bufLen uint32
	stack          []uint64
	scratch        []byte // where CallWire encodes a request

	// Per call, read by the host imports on the calling goroutine.
	callCtx    context.Context
	conf       *configState
	pending    []byte
	hasPending bool
}

type instanceKey struct{}

// instanceFrom returns the instance a host import was called from.
func instanceFrom(ctx context.Context) *instance {
	i, _ := ctx.Value(instanceKey{}).(*instance)
	return i
}

// instantiate starts a new instance of c: memory, WASI with the real clock
// and crypto/rand, and the guest's own initialisation (its start function,
// then _initialize), within ctx and Config.InitTimeout. A guest still
// initialising at the deadline is stopped (instrument's checks run in
// both) and the instance refused.
func (m *Module) instantiate(parent context.Context, c *code) (*instance, error) {
	ctx, cancel := context.WithTimeout(parent, m.cfg.InitTimeout)
	defer cancel()
	inst := &instance{m: m, code: c, stack: make([]uint64, 5)}
	inst.stderr = &guestOutput{m: m, inst: inst}
	now := m.cfg.Now
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // _initialize is called below, with a bounded context (and the start function: see startExport)
		WithWalltime(func() (int64, int32) {
			t := now()
			return t.Unix(), int32(t.Nanosecond())
		}, sys.ClockResolution(time.Microsecond)).
		WithSysNanotime().
		WithNanosleep(inst.sleep).
		WithRandSource(rand.Reader).
		WithStdout(inst.stderr).
		WithStderr(inst.stderr).
		// The guest's only environment: a Go guest's garbage collector works
		// harder near the memory cap rather than run into it.
		WithEnv("GOMEMLIMIT", fmt.Sprintf("%dKiB", uint64(m.cfg.MemoryPages)*64*9/10))
	mod, err := m.rt.InstantiateModule(ctx, c.compiled, mc)
	if err != nil {
		return nil, fmt.Errorf("wasm %s: instantiating: %w", m.cfg.Path, err)
	}
	inst.mod = mod
	inst.mem = mod.Memory()
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	inst.dispatch = mod.ExportedFunction(abi.ExportDispatch)
	if inst.mem == nil || inst.alloc == nil || inst.dispatch == nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("wasm %s: instance lacks its memory or exports", m.cfg.Path)
	}
	if c.instrumented {
		g, ok := mod.ExportedGlobal(stopExport).(api.MutableGlobal)
		if !ok {
			_ = mod.Close(ctx)
			return nil, fmt.Errorf("wasm %s: instance lacks its stop flag", m.cfg.Path)
		}
		inst.stop = g
	}
	ictx := context.WithValue(ctx, instanceKey{}, inst)
	for _, name := range []string{startExport, abi.ExportInitialize} {
		f := mod.ExportedFunction(name)
		if f == nil {
			continue
		}
		inst.callCtx = ictx
		a := inst.arm(ictx)
		_, err := f.Call(ictx)
		stopped := inst.disarm(a)
		inst.callCtx = nil
		if err == nil {
			continue
		}
		inst.close()
		what := "its start function"
		if name == abi.ExportInitialize {
			what = abi.ExportInitialize
		}
		switch {
		case stopped && parent.Err() == nil:
			return nil, fmt.Errorf("wasm %s: refused: the guest was still initialising (%s) after %s, the limit (init_timeout; Config.InitTimeout, default %s); it was stopped",
				m.cfg.Path, what, m.cfg.InitTimeout, DefaultInitTimeout)
		case stopped:
			err = fmt.Errorf("stopped: %w", context.Cause(parent))
		}
		headline, _ := inst.stderr.crash()
		return nil, fmt.Errorf("wasm %s: initialising the guest (%s): %v %s", m.cfg.Path, what, firstLine(err.Error()), headline)
	}
	return inst, nil
}

// call runs one operation. healthy is false when the instance must not
// serve again: it trapped, exited, or was stopped at the deadline.
//
// read, when not nil, reads a successful answer where it lies in the
// guest's memory (valid until the instance runs again), and call returns
// read's error; otherwise call returns a copy of the answer.
func (i *instance) call(ctx context.Context, op string, payload []byte, conf *configState, read func([]byte) error) (out []byte, err error, healthy bool) {
	if err := ctx.Err(); err != nil {
		return nil, sdk.AsError(err), true
	}
	var timeout int64
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return nil, sdk.AsError(context.DeadlineExceeded), true
		}
		timeout = int64(left)
	}
	cctx := context.WithValue(ctx, instanceKey{}, i)
	i.callCtx, i.conf = cctx, conf
	i.pending, i.hasPending = nil, false
	defer func() { i.callCtx, i.pending, i.hasPending = nil, nil, false }()

	// From here the guest runs: the context's end stops it.
	a := i.arm(ctx)
	defer func() {
		if i.disarm(a) || i.closing.Load() {
			// Stopped at its next loop, or about to be: either way it must not
			// serve again.
			healthy = false
			if err != nil {
				err = i.stoppedError(ctx)
			}
		}
	}()

	if i.code.trace {
		op = withTraceparent(ctx, op)
	}
	need := uint32(len(op) + len(payload))
	if need > i.bufLen || i.bufPtr == 0 {
		i.stack[0] = uint64(need)
		if err := i.alloc.CallWithStack(cctx, i.stack[:1]); err != nil {
			return nil, i.failure(ctx, err), false
		}
		i.bufPtr, i.bufLen = uint32(i.stack[0]), need
		if i.bufPtr == 0 {
			return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "the guest's rg_alloc returned no memory"}, false
		}
	}
	if !i.mem.WriteString(i.bufPtr, op) || !i.mem.Write(i.bufPtr+uint32(len(op)), payload) {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "the guest's rg_alloc region lies outside its memory"}, false
	}
	s := i.stack[:5]
	s[0], s[1] = uint64(i.bufPtr), uint64(len(op))
	s[2], s[3] = uint64(i.bufPtr+uint32(len(op))), uint64(len(payload))
	s[4] = uint64(timeout)
	if err := i.dispatch.CallWithStack(cctx, s); err != nil {
		return nil, i.failure(ctx, err), false
	}
	ptr, n := abi.Unpack(s[0])
	reply, ok := i.mem.Read(ptr, n)
	if !ok || n == 0 {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "the guest's dispatch answered a region outside its memory"}, false
	}
	switch abi.Status(reply[0]) {
	case abi.StatusOK:
		if read != nil {
			return nil, read(reply[1:]), true
		}
		return bytes.Clone(reply[1:]), nil, true
	case abi.StatusError:
		e := &sdk.Error{}
		if err := json.Unmarshal(reply[1:], e); err != nil || e.Code == "" {
			return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "the guest answered an unreadable error"}, true
		}
		return nil, e, true
	}
	return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: fmt.Sprintf("the guest answered status %d", reply[0])}, true
}

// arm makes the end of ctx stop the instance: the stop flag is set, and
// the guest traps soon after (instrument). disarm reports whether that
// happened (then the instance must not serve again). An instance built
// without the flag (Config.noTermination, benchmarks only) cannot be stopped.
//
// A context with a deadline (every call the host makes has one) is watched
// by the instance's own timer, the watchdog, which is only reset for a
// deadline earlier than the one it waits for: when it fires it stops the
// call running if that call's deadline has passed, and otherwise waits for
// that call's deadline. Calls with deadlines in the same order as their
// starts (a host's are) cost two uncontended locks, not a Reset and a Stop
// of a runtime timer each. Such a call
// canceled before its deadline (its client went away) is not stopped
// mid-run: its guest runs on to its answer or, if it runs away, to the
// deadline, which bounds it either way. A context without a deadline is
// watched with context.AfterFunc, which stops the guest on cancellation
// too and costs a call about a microsecond more.
func (i *instance) arm(ctx context.Context) armed {
	if i.stop == nil || ctx.Done() == nil {
		return armed{}
	}
	if d, ok := ctx.Deadline(); ok {
		i.watchMu.Lock()
		i.deadline = d
		switch {
		case i.timer == nil:
			i.timer = time.AfterFunc(time.Until(d), i.watchdog)
			i.timerAt = d
		case i.timerAt.IsZero() || d.Before(i.timerAt):
			i.timer.Reset(time.Until(d))
			i.timerAt = d
		}
		i.watchMu.Unlock()
		return armed{timer: true}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		i.halt()
		close(fired)
	})
	return armed{stop: stop, fired: fired}
}

// armed is what arm set up for one call.
type armed struct {
	timer bool          // the instance's timer runs
	stop  func() bool   // or context.AfterFunc's stop
	fired chan struct{} // closed once AfterFunc's halt is done
}

// disarm undoes arm and reports whether the instance was halted (or is
// being halted: either way it must not serve again).
func (i *instance) disarm(a armed) bool {
	switch {
	case a.timer:
		i.watchMu.Lock()
		defer i.watchMu.Unlock()
		i.deadline = time.Time{}
		return i.halted
	case a.stop != nil:
		if a.stop() {
			return false
		}
		<-a.fired
		return true
	}
	return false
}

// watchdog is the timer's function: it stops the call running once its
// deadline has passed, and otherwise waits for that deadline.
func (i *instance) watchdog() {
	i.watchMu.Lock()
	defer i.watchMu.Unlock()
	i.timerAt = time.Time{}
	if i.deadline.IsZero() {
		return // between calls: the next arm sets the timer again
	}
	if left := time.Until(i.deadline); left > 0 {
		i.timer.Reset(left)
		i.timerAt = i.deadline
		return
	}
	i.halted = true
	i.halt()
}

// halt sets the stop flag: the guest traps within yieldEvery loop headers.
func (i *instance) halt() {
	if i.stop == nil {
		return
	}
	i.stopMu.Lock()
	i.stop.Set(1)
	i.stopMu.Unlock()
}

// stoppedError is the error of a call whose context ended while the guest
// ran.
func (i *instance) stoppedError(ctx context.Context) *sdk.Error {
	if i.closing.Load() && ctx.Err() == nil {
		return &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true,
			Message: "the WASM module was closed during the call; the guest was stopped"}
	}
	// The watchdog halts the guest at the deadline by its own timer, which
	// may fire before the context's own under load: a context not yet
	// ended whose deadline has passed was stopped by the deadline too.
	dl, hasDeadline := ctx.Deadline()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (ctx.Err() == nil && hasDeadline && !time.Now().Before(dl)) {
		return &sdk.Error{Code: sdk.CodeDeadlineExceeded, Retryable: true,
			Message: "the WASM guest was still running at the deadline and was stopped"}
	}
	return &sdk.Error{Code: sdk.CodeCanceled, Message: "the call was canceled; the WASM guest was stopped"}
}

// failure turns a failed call into the caller's error. The instance is
// thrown away after any of these.
func (i *instance) failure(ctx context.Context, err error) *sdk.Error {
	var exit *sys.ExitError
	errors.As(err, &exit)
	headline, oom := i.stderr.crash()
	switch {
	case oom:
		return &sdk.Error{Code: sdk.CodeProviderError,
			Message: fmt.Sprintf("the WASM guest ran out of memory (memory_pages %d): %s", i.m.cfg.MemoryPages, headline)}
	case exit != nil:
		msg := fmt.Sprintf("the WASM guest exited with code %d", exit.ExitCode())
		if headline != "" {
			msg += ": " + headline
		}
		return &sdk.Error{Code: sdk.CodeProviderError, Message: msg}
	case headline != "":
		return &sdk.Error{Code: sdk.CodeProviderError, Message: "the WASM guest crashed: " + headline}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return sdk.AsError(ctxErr)
	}
	return &sdk.Error{Code: sdk.CodeProviderError, Message: "the WASM guest trapped: " + i.m.redact(firstLine(err.Error()))}
}

// sleep is the guest's nanosleep (WASI poll_oneoff on a clock): a real sleep
// that ends early when the call's context does, so a sleeping guest cannot
// outlive the deadline.
func (i *instance) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	var done <-chan struct{}
	if i.callCtx != nil {
		done = i.callCtx.Done()
	}
	select {
	case <-t.C:
	case <-done:
	}
}

func (i *instance) close() {
	i.watchMu.Lock()
	if i.timer != nil {
		i.timer.Stop()
	}
	i.watchMu.Unlock()
	_ = i.mod.Close(context.Background())
}

func firstLine(s string) string {
	if n := strings.IndexByte(s, '\n'); n >= 0 {
		return s[:n]
	}
	return s
}

// guestOutput takes the guest's stdout and stderr (a Go guest's panics and
// runtime errors land there) into the host's log line by line, redacted,
// and remembers what explains a crash: the first line of a panic or fatal
// error, and whether the guest ran out of memory.
type guestOutput struct {
	m        *Module
	inst     *instance
	mu       sync.Mutex
	buf      []byte
	headline string
	oom      bool
}

const maxLineBytes = 4096

func (g *guestOutput) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, p...)
	for {
		n := bytes.IndexByte(g.buf, '\n')
		if n < 0 {
			if len(g.buf) > maxLineBytes {
				g.emit(g.buf)
				g.buf = g.buf[:0]
			}
			break
		}
		g.emit(g.buf[:n])
		g.buf = g.buf[n+1:]
	}
	return len(p), nil
}

func (g *guestOutput) emit(line []byte) {
	s := strings.TrimRight(string(line), "\r")
	if len(s) > maxLineBytes {
		s = s[:maxLineBytes] + "..."
	}
	if strings.TrimSpace(s) == "" {
		return
	}
	s = g.m.redactWith(g.inst.conf, s)
	if strings.Contains(s, "out of memory") {
		g.oom = true
	}
	if g.headline == "" && (strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "fatal error: ")) {
		g.headline = s
	}
	g.m.log.Warn("wasm guest output", "line", s)
}

// crash returns what the guest wrote about its crash.
func (g *guestOutput) crash() (headline string, oom bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf) > 0 {
		g.emit(g.buf)
		g.buf = g.buf[:0]
	}
	return g.headline, g.oom
}

// withTraceparent appends, to the name of an operation for a guest that
// reads it (abi.ExportTraceMarker), a zero byte and the W3C traceparent of
// the call's span: the host's span of the call, or a caller's trace
// context when the host does not trace. Outside a trace, the name alone.
func withTraceparent(ctx context.Context, op string) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return op
	}
	return op + "\x00" + "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}
