package registry

import (
	"context"
	"sync/atomic"

	"github.com/hashicorp/go-plugin"

	"github.com/recyclegate/recyclegate/sdk"
)

// process is one plugin process and the host's connections to it. A
// restart replaces the whole process value: nothing of an old process is
// reused, and everything of it is closed.
type process struct {
	client *plugin.Client
	rpc    plugin.ClientProtocol // client's gRPC connection, broker and controller
	pid    int
	// ended is set once the registry has let the process go: an error of a
	// call still on its way is then the process's end, not the provider's.
	ended atomic.Bool
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
}

// procInvoker is the host's side of one process's provider.
type procInvoker struct {
	sdk.WireInvoker
	proc *process
}

// Invoke sends one operation to the process. When the process has ended
// meanwhile, the call's error (its connection closed under it) says so:
// unavailable, retryable, as a call to a dead plugin is.
func (c *procInvoker) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	out, err := c.WireInvoker.Invoke(ctx, op, payload)
	if err != nil && ctx.Err() == nil && c.proc.ended.Load() {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: "plugin unreachable: its process ended", Retryable: true}
	}
	return out, err
}
