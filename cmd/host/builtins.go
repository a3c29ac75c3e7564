package main

import (
	"net/http"

	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/plugins/alibaba1688"
	alibaba1688sandbox "github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	"github.com/recyclegate/recyclegate/plugins/carvalue"
	carvaluesandbox "github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// sandbox is a running provider sandbox as the CLI needs it.
type sandbox interface {
	http.Handler
	Kit() *sandboxkit.Kit
	AdapterConfig(baseURL string) map[string]string
}

// builtin is a provider linked into this binary. cmd/host is the one place
// that names providers: core never does.
type builtin struct {
	id         string
	newAdapter func() sdk.Provider
	newSandbox func(clock sandboxkit.Clock) sandbox
}

var builtins = []builtin{
	{
		id:         "aihuishou",
		newAdapter: func() sdk.Provider { return aihuishou.New() },
		newSandbox: func(c sandboxkit.Clock) sandbox { return aihuishousandbox.New(aihuishousandbox.Options{Clock: c}) },
	},
	{
		id:         "carvalue",
		newAdapter: func() sdk.Provider { return carvalue.New() },
		newSandbox: func(c sandboxkit.Clock) sandbox { return carvaluesandbox.New(carvaluesandbox.Options{Clock: c}) },
	},
	{
		id:         "alibaba1688",
		newAdapter: func() sdk.Provider { return alibaba1688.New() },
		newSandbox: func(c sandboxkit.Clock) sandbox { return alibaba1688sandbox.New(alibaba1688sandbox.Options{Clock: c}) },
	},
}

func builtinByID(id string) (builtin, bool) {
	for _, b := range builtins {
		if b.id == id {
			return b, true
		}
	}
	return builtin{}, false
}

func builtinFactories() map[string]func() sdk.Provider {
	m := map[string]func() sdk.Provider{}
	for _, b := range builtins {
		m[b.id] = b.newAdapter
	}
	return m
}
