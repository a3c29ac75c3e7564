package registry

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// process is one plugin process and the host's connections to it. A
// restart replaces the whole process value: nothing of an old process is
// reused, and everything of it is closed.
type process struct {
	client *plugin.Client
	rpc    plugin.ClientProtocol // client's gRPC connection, broker and controller
	pid    int
	kill   context.CancelFunc // kills the process (SIGKILL), at any time
	ctx    context.Context    // ends with kill
	// ended is set once the registry has let the process go: an error of a
	// call still on its way is then the process's end, not the provider's.
	ended atomic.Bool

	born      time.Time
	lastHeard atomic.Int64 // since born: the last answer (health.go)

	mu      sync.Mutex
	silence context.Context         // done while unresponsive (health.go)
	hushed  context.CancelCauseFunc // ends silence
}

func newProcess(ctx context.Context, kill context.CancelFunc, client *plugin.Client, rpc plugin.ClientProtocol) *process {
	c := &process{client: client, rpc: rpc, kill: kill, ctx: ctx, born: time.Now()}
	c.silence, c.hushed = context.WithCancelCause(context.Background())
	if rc := client.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	return c
}

// PID is the process id, 0 for none.
func (c *process) PID() int {
	if c == nil {
		return 0
	}
	return c.pid
}

// closeExited releases what the host held of a process that ended by
// itself: its gRPC connection (and the goroutines gRPC keeps for it), the
// broker and the controller's client. The process is gone, so nothing is
// asked of it. Without this every restart left them behind for good.
func (c *process) closeExited() {
	c.ended.Store(true)
	_ = c.rpc.Close()
	c.kill() // releases the process's context
}

// stop asks the process to exit (go-plugin's Kill: it closes the
// connection and waits for the process), and kills it if it has not
// exited within grace: a plugin that hangs, or is stopped (SIGSTOP), never
// holds the host's shutdown.
func (c *process) stop(grace time.Duration) {
	c.ended.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.client.Kill()
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.kill()
		<-done // the process is gone: go-plugin's Kill returns
	}
	c.kill()
}

// handshakeError says what a failed handshake means in the host's terms:
// go-plugin's own words ("Unrecognized remote plugin message", "Incompatible
// API version") name neither the binary nor the cause.
func handshakeError(path string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		// A go-plugin binary whose magic cookie is not ours exits at once,
		// printing nothing on stdout; so does a program that is no plugin.
		return fmt.Errorf("%s is not a recyclegate provider plugin for this host: it ended without the plugin handshake "+
			"(a plugin of another program, or built for another recyclegate plugin protocol, does that; so does a program that is no plugin)", path)
	case strings.Contains(strings.ToLower(msg), "incompatible api version with plugin"):
		theirs := "another version"
		if _, v, ok := strings.Cut(msg, "Plugin version: "); ok {
			theirs = "version " + strings.TrimSpace(strings.SplitN(v, ",", 2)[0])
		}
		return fmt.Errorf("%s is built for recyclegate plugin protocol %s; this host speaks version %d: rebuild it against this host's sdk",
			path, theirs, rpc.ProtocolVersion)
	}
	return err
}

// withContext returns cmd as if made by exec.CommandContext(ctx, ...): the
// process is killed when ctx ends.
func withContext(ctx context.Context, cmd *exec.Cmd) *exec.Cmd {
	if cmd.Err != nil {
		return cmd // starting it fails with that error
	}
	c := exec.CommandContext(ctx, cmd.Path)
	c.Args, c.Env, c.Dir = cmd.Args, cmd.Env, cmd.Dir
	c.Stdin, c.Stdout, c.Stderr, c.ExtraFiles = cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.ExtraFiles
	c.SysProcAttr = cmd.SysProcAttr
	return c
}

// procInvoker is the host's side of one process's provider.
type procInvoker struct {
	rpc.WireInvoker
	proc *process
}

// Invoke sends one operation to the process. When the process has ended
// meanwhile, the call's error (its connection closed under it) says so:
// unavailable, retryable, as a call to a dead plugin is. A process that
// stops answering (unresponsive) cuts its calls in flight off with the same
// error, and refuses new ones at once.
func (c *procInvoker) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	silent := c.proc.silent()
	if silent.Err() != nil {
		return nil, unreachable(context.Cause(silent))
	}
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(silent, cancel)
	out, err := c.WireInvoker.Invoke(cctx, op, payload)
	stop()
	cancel()
	switch {
	case err == nil:
		c.proc.heard()
	case ctx.Err() != nil:
	case c.proc.ended.Load():
		return nil, unreachable(errors.New("its process ended"))
	case silent.Err() != nil:
		return nil, unreachable(context.Cause(silent))
	default:
		switch sdk.CodeOf(err) {
		case sdk.CodeUnavailable, sdk.CodeDeadlineExceeded, sdk.CodeCanceled:
		default:
			c.proc.heard() // the provider's own answer
		}
	}
	return out, err
}

// unreachable is the error of a call the process cannot answer. Its
// message starts "plugin unreachable", which the pipeline reads as the
// process's failure rather than the provider's (Provider.Died).
func unreachable(cause error) error {
	msg := strings.TrimPrefix(cause.Error(), "plugin unreachable: ")
	msg = strings.TrimPrefix(msg, "plugin unresponsive: ")
	return &sdk.Error{Code: sdk.CodeUnavailable, Message: "plugin unreachable: " + msg, Retryable: true}
}
