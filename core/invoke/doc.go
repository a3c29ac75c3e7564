// Package invoke makes one call to one provider. Start with New: it builds,
// once per provider and from its manifest and guards config, the pipeline
// every call walks through; then call the typed methods (Quote,
// SearchCatalog, CreateOrder, ...) with a Call that says who the call is
// for.
//
// The pipeline's stages, outermost first, are declared in one place
// (pipeline.build):
//
//	cache (quotes: a fresh cached quote answers, identical calls share one)
//	  -> deadline (the provider's timeout bounds waits and retries too)
//	  -> retry (safe operations, within a retry budget)
//	  -> available (a provider not ready fails at once)
//	  -> breaker check (an open breaker refuses before anything is reserved)
//	  -> account (quota, budget, tenant quota; refunded when a later guard refuses)
//	  -> breaker (takes a half-open probe, hears the outcome)
//	  -> concurrency (max_in_flight) -> rate (qps)
//	  -> measure (metrics, latency, the audit record)
//	  -> runtime (the adapter: plugin, WASM or in process)
//
// What a call needs travels in its Call value, never in context keys; the
// context carries cancellation, the deadline and the trace. The package
// writes nothing about orders: every call that reached a provider is handed
// to the Observer (the audit log, package orders).
package invoke
