// Package bounded keeps the host's in-memory caches to a size: call Trim
// before adding an entry to a map that must stay under max entries.
package bounded

// Trim makes room in m for one more entry under max: when m is full, an
// eighth of its entries go at once (in map order, which is as good as
// random), so the sweep costs O(1) an addition on average.
func Trim[K comparable, V any](m map[K]V, max int) {
	if len(m) < max {
		return
	}
	keep := max - max/8
	for k := range m {
		if len(m) <= keep {
			return
		}
		delete(m, k)
	}
}
