package invoke

import (
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/internal/bounded"
	"github.com/recyclegate/recyclegate/sdk"
)

// quoteMemo keeps the decoded quotes this host put in the cache, so a hit on
// this replica costs a map look-up instead of decoding JSON. The store stays
// the source of truth: an entry lives exactly as long as the one this host
// wrote, and hits on entries another replica wrote go to the store.
type quoteMemo struct {
	mu  sync.RWMutex
	m   map[string]memoEntry
	max int
}

type memoEntry struct {
	resp    *sdk.QuoteResponse
	expires time.Time
}

func newQuoteMemo(max int) *quoteMemo {
	return &quoteMemo{m: make(map[string]memoEntry), max: max}
}

// get returns a copy of the memoized answer, or false when there is none
// still valid at now.
func (q *quoteMemo) get(key string, now time.Time) (*sdk.QuoteResponse, bool) {
	q.mu.RLock()
	e, ok := q.m[key]
	q.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	c := *e.resp // callers may change the struct, not the shared slices
	return &c, true
}

// put memoizes an answer until expires. When full, an eighth of the
// entries go at once (the store still has them), so the sweep costs O(1) a
// put on average.
func (q *quoteMemo) put(key string, resp *sdk.QuoteResponse, expires time.Time) {
	c := *resp
	q.mu.Lock()
	defer q.mu.Unlock()
	bounded.Trim(q.m, q.max)
	q.m[key] = memoEntry{resp: &c, expires: expires}
}
