// Command alibaba1688-plugin serves the alibaba1688 adapter as a standalone go-plugin
// binary, for hosts that load it by path (runtime: plugin) rather than as a
// built-in.
//
//	go build -o alibaba1688-plugin ./plugins/alibaba1688/cmd/alibaba1688-plugin
//	sha256sum alibaba1688-plugin
package main

import (
	"github.com/recyclegate/recyclegate/plugins/alibaba1688"
	"github.com/recyclegate/recyclegate/sdk"
)

func main() { sdk.Serve(alibaba1688.New()) }
