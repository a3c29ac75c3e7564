//go:build race

package main

// raceEnabled: the test binary runs under the race detector, where wazero
// compiles a module in minutes instead of seconds.
const raceEnabled = true
