// Package store keeps the state the host's guards share: counters that reset
// each day or month in China Standard Time (daily quotas, cost budgets), a
// cache of provider answers, and, for several replicas, a shared rate window.
//
// Start with Open: "" opens the embedded store (SQLite, pure Go) in a data
// directory, so counters survive a restart; "redis://host:port/db" opens the
// Redis store that several host replicas share; "memory" keeps everything in
// the process (tests, sandbox demos).
//
// Counters are spent with Spend, all or nothing: either every counter of a
// call stays within its limit and all are added, or none is and the first
// that would pass its limit is named in a *LimitError. The Redis store does
// this in one Lua script and takes the time from Redis TIME, so every replica
// agrees on what "today" is. A store that cannot be reached answers an error
// wrapping ErrUnavailable; callers fail closed on it.
//
// This package does not import package core; core converts its config.
package store
