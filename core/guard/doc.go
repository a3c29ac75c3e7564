// Package guard holds what stands between a caller and a provider: circuit
// breakers, rate and concurrency limits, daily quotas and cost budgets, the
// quote cache with singleflight, and the retry policy. The host (package
// core) builds one set per provider from its manifest's limits and the
// operator's config, and runs every provider call through them in this order:
//
//	cache (quotes, singleflight) -> Account (quota, budget, tenant quota)
//	  -> Breaker -> Semaphore and Limiter -> deadline -> the provider
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
// This package does not import package core; core converts its config into
// the Settings types here.
package guard
