// Package registry loads the host's providers and keeps them running,
// whatever their runtime: a go-plugin process (built in or an external
// binary, verified by SHA-256 before every start), a WASM module on
// wazero, or a Go value in the host's own process. Start with New and
// Start; Get a Provider and call Current for the value to call.
//
// A plugin gets no environment from the host: its config and secrets
// arrive through its Configure call, and they are added to the host's
// redaction set. A plugin that dies is restarted with backoff; calls to it
// meanwhile fail at once with unavailable. Each plugin process is pinged: one
// that stops answering is unresponsive (its calls fail at once, those in
// flight are cut off) and is restarted if it stays silent. A provider that
// cannot start fails Start unless it is optional: then it is failed and
// retried with backoff. Close is bounded (about 1.5s) whatever the plugins
// do, and plugins end with the host, even when the host is killed.
// Everything of a replaced process (its gRPC connection, broker, pinger) is
// closed with it. Provider.Revivals counts the times a provider's process
// became ready, for whoever judges the provider by its calls (package
// invoke's breakers). The registry knows nothing of guards, policies or
// orders: package invoke puts the guards in front of each provider.
package registry
