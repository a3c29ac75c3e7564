package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// Health checks of plugin processes (Options): defaults.
const (
	DefaultPingInterval        = 500 * time.Millisecond
	DefaultPingTimeout         = time.Second
	DefaultRestartUnresponsive = 10 * time.Second
)

// ping asks the process whether it serves (go-plugin's health check,
// ClientProtocol.Ping, with a deadline: go-plugin's own Ping has none and
// waits forever on a stopped process).
func (c *process) ping(ctx context.Context) error {
	if g, ok := c.rpc.(*plugin.GRPCClient); ok {
		_, err := grpc_health_v1.NewHealthClient(g.Conn).Check(ctx,
			&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.rpc.Ping() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heard notes that the process answered something (a ping, a call).
func (c *process) heard() { c.lastHeard.Store(int64(time.Since(c.born))) }

// heardWithin reports whether the process answered anything within d.
func (c *process) heardWithin(d time.Duration) bool {
	return time.Since(c.born)-time.Duration(c.lastHeard.Load()) < d
}

// silent is done while the process is unresponsive: the calls in flight to
// it are cut off, and new ones are refused.
func (c *process) silent() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.silence
}

// hush marks the process unresponsive: silent ends.
func (c *process) hush(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hushed(cause)
}

// unhush starts a new silent context: the process answers again.
func (c *process) unhush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.silence, c.hushed = context.WithCancelCause(context.Background())
}

// watch pings the process every PingInterval until it ends. A process that
// does not answer within PingTimeout (nor answered a call meanwhile) is
// unresponsive: its calls fail at once, those in flight are cut off, and
// it is not ready. One that answers again is ready again (revived). One
// that stays silent RestartUnresponsive is killed, and the supervisor
// restarts it.
func (p *Provider) watch(proc *process) {
	o := p.reg.opts
	if o.PingInterval < 0 {
		return
	}
	tick := time.NewTicker(o.PingInterval)
	defer tick.Stop()
	var silentSince time.Time
	for {
		select {
		case <-proc.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(proc.ctx, o.PingTimeout)
		err := proc.ping(ctx)
		cancel()
		switch {
		case proc.ctx.Err() != nil:
			return
		case err == nil:
			proc.heard()
		case proc.heardWithin(o.PingTimeout): // busy, but answering calls
			err = nil
		case proc.client.Exited(): // the supervisor's business
			p.wakeSupervisor()
			return
		}
		if err == nil {
			if !silentSince.IsZero() {
				silentSince = time.Time{}
				p.revive(proc)
			}
			continue
		}
		if silentSince.IsZero() {
			silentSince = time.Now()
			p.unresponsive(proc, fmt.Errorf("plugin unresponsive: it did not answer a ping within %s", o.PingTimeout))
			continue
		}
		if o.RestartUnresponsive >= 0 && time.Since(silentSince) >= o.RestartUnresponsive {
			p.mu.Lock()
			if p.proc == proc {
				p.lastErr = fmt.Sprintf("plugin unresponsive for %s: killed and restarted", o.RestartUnresponsive)
			}
			p.mu.Unlock()
			p.log.Warn("plugin unresponsive too long; killing it to restart it", "pid", proc.pid,
				"unresponsive_for", time.Since(silentSince).Round(time.Millisecond).String())
			proc.kill()
			p.wakeSupervisor()
			return
		}
	}
}

// unresponsive marks the provider unresponsive (its process is proc).
func (p *Provider) unresponsive(proc *process, cause error) {
	p.mu.Lock()
	if p.proc != proc || p.state != StateReady {
		p.mu.Unlock()
		return
	}
	p.state, p.lastErr = StateUnresponsive, cause.Error()
	proc.hush(cause)
	p.mu.Unlock()
	p.changed()
	p.log.Warn("plugin unresponsive: its calls fail at once until it answers again", "pid", proc.pid, "error", cause)
	if f := p.reg.opts.OnUnresponsive; f != nil {
		f(p.id)
	}
}

// revive marks an unresponsive provider ready again: its process answers.
func (p *Provider) revive(proc *process) {
	p.mu.Lock()
	if p.proc != proc || p.state != StateUnresponsive {
		p.mu.Unlock()
		return
	}
	proc.unhush()
	p.state, p.lastErr = StateReady, ""
	p.revivals.Add(1)
	p.mu.Unlock()
	p.changed()
	p.log.Info("plugin answers again", "pid", proc.pid)
}

func (p *Provider) wakeSupervisor() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
