// Package episode logs a repeated condition once: when it starts and when
// it ends, with how many times it occurred in between. Start with New;
// count occurrences with Start, close them with End. Metrics carry the
// condition in between; the log says it twice, not once per occurrence.
package episode

import (
	"sync"
	"sync/atomic"
	"time"
)

// Set tracks the episodes of one kind of condition, by key (a provider, a
// provider and a lane). Safe for concurrent use; End on a key with no
// episode is a load of one atomic.
type Set struct {
	open atomic.Int64
	mu   sync.Mutex
	eps  map[string]*ep
	now  func() time.Time
}

type ep struct {
	n     int64
	since time.Time
}

// New returns an empty set; now is the clock of the durations reported.
func New(now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	return &Set{eps: map[string]*ep{}, now: now}
}

// Start counts one occurrence of the condition under key; the first of an
// episode calls first (which logs the start).
func (s *Set) Start(key string, first func()) {
	s.mu.Lock()
	e, ok := s.eps[key]
	if !ok {
		e = &ep{since: s.now()}
		s.eps[key] = e
		s.open.Add(1)
	}
	e.n++
	s.mu.Unlock()
	if !ok && first != nil {
		first()
	}
}

// End closes the episode under key, if one is open, and calls last with
// the occurrences it counted and how long it lasted (which logs the end).
func (s *Set) End(key string, last func(n int64, lasted time.Duration)) {
	if s.open.Load() == 0 {
		return
	}
	s.mu.Lock()
	e, ok := s.eps[key]
	if ok {
		delete(s.eps, key)
		s.open.Add(-1)
	}
	s.mu.Unlock()
	if ok && last != nil {
		last(e.n, s.now().Sub(e.since))
	}
}

// Open reports whether an episode is open under key.
func (s *Set) Open(key string) bool {
	if s.open.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.eps[key]
	return ok
}
