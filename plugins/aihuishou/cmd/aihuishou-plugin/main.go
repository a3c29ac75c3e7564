// Command aihuishou-plugin serves the aihuishou adapter as a standalone go-plugin
// binary, for hosts that load it by path (runtime: plugin) rather than as a
// built-in.
//
//	go build -o aihuishou-plugin ./plugins/aihuishou/cmd/aihuishou-plugin
//	sha256sum aihuishou-plugin
package main

import (
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	"github.com/recyclegate/recyclegate/sdk"
)

func main() { sdk.Serve(aihuishou.New()) }
