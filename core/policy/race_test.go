//go:build race

package policy

// raceEnabled: the race detector makes compiling ten times slower.
const raceEnabled = true
