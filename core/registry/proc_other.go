//go:build !linux

package registry

import "os/exec"

// bindToParent does nothing here: the plugin watches its parent itself
// (sdk.Serve).
func bindToParent(*exec.Cmd) {}
