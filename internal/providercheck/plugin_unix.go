//go:build unix

package providercheck

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// startPlugin starts the plugin as the host does (its handshake cookie, no
// other environment), under a shell that stands for the host, so the
// exits-with-host check can end its parent. It reads stdout itself, so the
// lines a plugin prints before its handshake are seen, not a failed start.
func (r *run) startPlugin(ctx context.Context) (*instance, error) {
	// The shell starts the plugin, writes its pid on fd 3 and waits; the
	// plugin's stdout and stderr are the shell's.
	cmd := exec.Command("/bin/sh", "-c", `"$0" & echo $! >&3; wait`, r.opts.Path)
	cmd.Env = []string{
		rpc.Handshake.MagicCookieKey + "=" + rpc.Handshake.MagicCookieValue,
		fmt.Sprintf("PLUGIN_PROTOCOL_VERSIONS=%d", rpc.ProtocolVersion),
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	pidR, pidW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{pidW}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		pidR.Close()
		pidW.Close()
		return nil, fmt.Errorf("starting %s: %w", r.opts.Path, err)
	}
	pidW.Close()
	pgid := cmd.Process.Pid
	shellDone := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(shellDone)
	}()
	inst := &instance{logs: logs, alive: func() bool { return true }}
	var pid int
	if _, err := fmt.Fscan(pidR, &pid); err != nil {
		pidR.Close()
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return nil, fmt.Errorf("starting %s: %w", r.opts.Path, err)
	}
	pidR.Close()
	inst.pid = pid
	var conn *grpc.ClientConn
	var once sync.Once
	inst.stop = func() {
		once.Do(func() {
			if conn != nil {
				_ = conn.Close()
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL) // the shell and the plugin: the group this check made
			if processAlive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL) // the plugin, should it have left the group
			}
			<-shellDone
		})
	}
	inst.alive = func() bool { return processAlive(pid) }
	inst.orphan = func() {
		_ = cmd.Process.Kill() // the shell only: the plugin is orphaned, as when a host dies
		<-shellDone
	}
	inst.exitedWait = func(d time.Duration) bool {
		by := time.Now().Add(d)
		for processAlive(pid) {
			if time.Now().After(by) {
				return false
			}
			time.Sleep(50 * time.Millisecond)
		}
		return true
	}

	// The handshake: CORE|APP|NETWORK|ADDR|PROTOCOL[|CERT], on stdout.
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.NewTimer(15 * time.Second)
	defer timeout.Stop()
	var network, addr string
	for network == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				inst.stop()
				return inst, fmt.Errorf("%s ended without the plugin handshake: is it served with sdk.Serve? Its stderr:\n%s", r.opts.Path, clip(logs.String(), 600))
			}
			parts := strings.Split(line, "|")
			if len(parts) < 5 || parts[0] != "1" {
				inst.noise = append(inst.noise, line)
				continue
			}
			if parts[1] != fmt.Sprint(rpc.ProtocolVersion) {
				inst.stop()
				return inst, fmt.Errorf("the plugin speaks recyclegate plugin protocol %s; this host speaks %d: rebuild it against this host's sdk", parts[1], rpc.ProtocolVersion)
			}
			if parts[4] != "grpc" {
				inst.stop()
				return inst, fmt.Errorf("the plugin serves %s; the host speaks gRPC only (sdk.Serve serves gRPC)", parts[4])
			}
			inst.handshake, network, addr = line, parts[2], parts[3]
		case <-timeout.C:
			inst.stop()
			return inst, fmt.Errorf("no plugin handshake on stdout within 15s")
		case <-ctx.Done():
			inst.stop()
			return inst, ctx.Err()
		}
	}
	inst.took = time.Since(begin)
	go func() { // the rest of stdout (go-plugin takes it over after the handshake)
		for range lines {
		}
	}()
	target := "unix:" + addr
	if network != "unix" {
		target = addr
	}
	conn, err = grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		inst.stop()
		return inst, fmt.Errorf("connecting to the plugin at %s: %w", addr, err)
	}
	raw, err := (&rpc.GRPCPlugin{}).GRPCClient(ctx, nil, conn)
	if err != nil {
		inst.stop()
		return inst, err
	}
	inst.inv = raw.(*rpc.GRPCClient)
	return inst, nil
}

// processAlive reports whether pid runs (a zombie has ended).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: signal 0 said it is there
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
