package api

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/listen"
)

// Debug returns the handler of the debug listener (host.yaml debug_listen):
// Go's profiler, net/http/pprof, under /debug/pprof/, and h's /metrics
// when host.yaml says metrics: debug (h nil: the profiler alone). It is never mounted
// on the API's handler: a profile shows the process's memory and a CPU or
// trace profile can stall it, so it is served on a listener of its own,
// loopback unless the operator says otherwise.
func Debug(h *core.Host) http.Handler {
	mux := http.NewServeMux()
	if h != nil && h.Config().Metrics == listen.MetricsDebug {
		mux.Handle("GET /metrics", promhttp.HandlerFor(h.Metrics(), promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
