// Package guard holds what stands between a caller and a provider: circuit
// breakers, rate and concurrency limits, daily quotas and cost budgets, the
// quote cache with singleflight, and the retry policy, and Config, a
// provider's guards block in host.yaml. Package invoke builds one set per
// provider from its manifest's limits and that block, and runs every
// provider call through them as the stages of one pipeline:
//
//	cache (quotes, singleflight) -> deadline -> Retrier -> Breaker check
//	  -> Account (quota, budget, tenant quota) -> Breaker
//	  -> Semaphore and Limiter -> the provider
//
// Start with Breaker and Classify (what counts as a provider failure), then
// Account (counters in a store.Store, all or nothing, fail closed), Limiter
// (NewLocal, or NewShared for replicas sharing Redis), Flight and QuoteKey
// (the cache), and Retrier (which errors of which operations are repeated,
// within a retry budget).
//
// Errors the guards return are *sdk.Error with the codes callers already
// branch on: unavailable (breaker open, state store down), quota_exhausted
// (quota or budget spent), rate_limited (no slot before the deadline).
//
// This package does not import package core: the config types are defined
// here, once, and core's host.yaml embeds them.
package guard
