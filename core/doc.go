// Package core is the recyclegate host, importable as a library.
//
// Start with New: give it a Config (or LoadConfig a host.yaml) and options,
// and call its methods from any number of goroutines; Close it when done.
//
//	h, err := core.New(cfg,
//		core.WithLogger(logger),
//		core.WithProvider(myProvider, map[string]string{"api_key": key}), // in process
//	)
//	defer h.Close()
//	res, err := h.Quote(ctx, tenant, &core.QuoteRequest{Item: item})
//
// Serve it over HTTP with package api: api.New(h) is an http.Handler.
//
// Providers come three ways, and the host treats them alike:
//   - in process: a Go value passed with WithProvider;
//   - runtime builtin: linked into the host binary and run as a separate
//     go-plugin process by re-executing that binary (see WithBuiltin,
//     BuiltinCommand and ServeBuiltin);
//   - runtime plugin: an external plugin binary named in the config and
//     verified by SHA-256 before every start.
//
// A plugin gets no environment from the host: its config and secrets arrive
// through its Configure call, and the host redacts those secrets from every
// log line, the plugin's own included. A plugin that dies is restarted with
// backoff; calls to it meanwhile fail at once with unavailable. Plugins end
// with the host, even when the host is killed.
//
// core never names a provider: cmd/host is where the built-in providers are
// linked in.
//
// The package is a facade over the layers that do the work, each a package
// of its own (docs/ARCHITECTURE.md draws them): quote and batch answer
// quote requests, orders keeps orders, trade-ins, webhooks and the audit
// log, gate decides requests by the policies, invoke makes one call to one
// provider through its guards, registry runs the providers. An embedder
// needs only this package; its types are the layers' own, named here.
package core
