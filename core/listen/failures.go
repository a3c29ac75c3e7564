package listen

import (
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/internal/bounded"
)

// Failures counts the failed API keys of each client address in one-minute
// windows. Past the limit, an address's next failures are answered 429
// with Retry-After (the end of its window). Only failures are counted and
// only they are refused: a request with a valid key is never refused
// because other requests from its address failed.
type Failures struct {
	limit int
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// failureWindow is the window failures are counted in.
const failureWindow = time.Minute

// maxAddresses bounds the addresses remembered.
const maxAddresses = 100000

// NewFailures counts up to limit failures a minute per address (0: no
// limit, Fail never refuses).
func NewFailures(limit int, now func() time.Time) *Failures {
	if now == nil {
		now = time.Now
	}
	return &Failures{limit: limit, now: now, m: map[string]*window{}}
}

// Fail counts a failed key from addr and says how long addr must wait
// when it is past the limit (0: answer 401 as usual).
func (f *Failures) Fail(addr string) (retryAfter time.Duration) {
	if f == nil || f.limit <= 0 {
		return 0
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.m[addr]
	if !ok || now.Sub(w.start) >= failureWindow {
		if !ok {
			bounded.Trim(f.m, maxAddresses)
		}
		w = &window{start: now}
		f.m[addr] = w
	}
	w.n++
	if w.n <= f.limit {
		return 0
	}
	return max(w.start.Add(failureWindow).Sub(now), time.Second)
}
