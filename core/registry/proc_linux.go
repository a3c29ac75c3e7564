//go:build linux

package registry

import (
	"os/exec"
	"syscall"
)

// bindToParent asks the kernel to kill the plugin if the host dies, even by
// SIGKILL. The plugin also watches its parent itself (sdk.Serve), for other
// systems and as a second line.
func bindToParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
