// Package sandboxkit holds what every provider sandbox needs beside its own
// logic: a clock tests can move, fault injection (latency, errors, malformed
// bodies, hangs) that can be switched at run time, call counting, and a
// loopback listener. A sandbox author starts with Wrap: it puts the faults and
// counters in front of the sandbox's own http.Handler and serves the admin
// endpoints under /_sandbox/.
//
// The admin endpoints, for people and tests driving a running sandbox:
//
//	GET  /_sandbox/faults   the faults in force
//	PUT  /_sandbox/faults   replace them: {"latency":"200ms","error_rate":0.5,"error_status":500,
//	                        "malformed_rate":0.1,"hang_rate":0,"paths":["/api/valuation/get"]}
//	GET  /_sandbox/stats    calls received, by path, and faults injected
//	POST /_sandbox/clock    {"advance":"2h"} or {"set":"2025-01-02T15:04:05+08:00"} on a manual clock
//
// It uses the standard library only.
package sandboxkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time. Sandboxes read time only through a Clock so tests can
// move it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a clock that moves only when told. Safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// OffsetClock is a clock that runs with the wall clock plus an offset that
// can be moved: a running sandbox's orders can be fast-forwarded while time
// still passes.
type OffsetClock struct {
	offset atomic.Int64
}

// Now returns the wall clock plus the offset.
func (c *OffsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *OffsetClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Faults are the failures a sandbox injects. Each rate is a probability in
// [0, 1] drawn per request. Zero values inject nothing.
type Faults struct {
	Latency       Duration `json:"latency,omitempty"`        // added before every answer
	ErrorRate     float64  `json:"error_rate,omitempty"`     // answer ErrorStatus instead
	ErrorStatus   int      `json:"error_status,omitempty"`   // default 500
	MalformedRate float64  `json:"malformed_rate,omitempty"` // answer a body of the wrong shape
	HangRate      float64  `json:"hang_rate,omitempty"`      // never answer (until the client gives up)
	Paths         []string `json:"paths,omitempty"`          // only these paths; all when empty
}

// Validate checks the rates and status.
func (f Faults) Validate() error {
	for name, r := range map[string]float64{"error_rate": f.ErrorRate, "malformed_rate": f.MalformedRate, "hang_rate": f.HangRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, r)
		}
	}
	if f.ErrorStatus != 0 && (f.ErrorStatus < 400 || f.ErrorStatus > 599) {
		return fmt.Errorf("error_status must be a 4xx or 5xx status, got %d", f.ErrorStatus)
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency must not be negative")
	}
	return nil
}

func (f Faults) applies(path string) bool {
	if len(f.Paths) == 0 {
		return true
	}
	for _, p := range f.Paths {
		if p == path {
			return true
		}
	}
	return false
}

// Duration is a time.Duration written in JSON as text ("200ms").
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads text such as "200ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want text such as \"200ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Stats counts what a sandbox received.
type Stats struct {
	Calls     int64            `json:"calls"`       // requests that reached the provider logic
	ByPath    map[string]int64 `json:"by_path"`     // of those, by path
	Injected  int64            `json:"injected"`    // requests answered by a fault instead
	MaxPerSec int64            `json:"max_per_sec"` // most provider calls seen in one wall-clock second
}

// Kit wraps a sandbox handler with faults, counters and the admin endpoints.
type Kit struct {
	next  http.Handler
	clock Clock
	// Malformed writes a body of the wrong shape for the path; a sandbox
	// sets it to match its provider's content type. Defaults to truncated JSON.
	Malformed func(w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	faults   Faults
	rng      *rand.Rand
	byPath   map[string]int64
	calls    int64
	injected int64
	secStart int64
	secCount int64
	maxSec   int64
}

// Wrap returns a Kit serving next behind faults and counters. seed makes the
// fault draws repeatable. clock may be nil (the system clock).
func Wrap(next http.Handler, clock Clock, seed uint64) *Kit {
	if clock == nil {
		clock = SystemClock{}
	}
	return &Kit{next: next, clock: clock, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), byPath: map[string]int64{}}
}

// SetFaults replaces the faults in force.
func (k *Kit) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	k.mu.Lock()
	k.faults = f
	k.mu.Unlock()
	return nil
}

// Faults returns the faults in force.
func (k *Kit) Faults() Faults {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.faults
}

// Stats returns a copy of the counters.
func (k *Kit) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := Stats{Calls: k.calls, Injected: k.injected, MaxPerSec: k.maxSec, ByPath: make(map[string]int64, len(k.byPath))}
	for p, n := range k.byPath {
		s.ByPath[p] = n
	}
	return s
}

// Calls returns the number of requests that reached the provider logic.
func (k *Kit) Calls() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// ResetStats zeroes the counters.
func (k *Kit) ResetStats() {
	k.mu.Lock()
	k.calls, k.injected, k.maxSec, k.secCount, k.secStart = 0, 0, 0, 0, 0
	k.byPath = map[string]int64{}
	k.mu.Unlock()
}

type decision int

const (
	pass decision = iota
	injectError
	injectMalformed
	injectHang
)

func (k *Kit) draw(path string) (Faults, decision) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.faults
	d := pass
	if f.applies(path) {
		switch {
		case f.HangRate > 0 && k.rng.Float64() < f.HangRate:
			d = injectHang
		case f.ErrorRate > 0 && k.rng.Float64() < f.ErrorRate:
			d = injectError
		case f.MalformedRate > 0 && k.rng.Float64() < f.MalformedRate:
			d = injectMalformed
		}
	}
	if d == pass {
		k.calls++
		k.byPath[path]++
		sec := time.Now().Unix()
		if sec != k.secStart {
			k.secStart, k.secCount = sec, 0
		}
		k.secCount++
		if k.secCount > k.maxSec {
			k.maxSec = k.secCount
		}
	} else {
		k.injected++
	}
	return f, d
}

// ServeHTTP serves the admin endpoints, injects faults, and passes the rest on.
func (k *Kit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		k.admin(w, r)
		return
	}
	f, d := k.draw(r.URL.Path)
	if f.Latency > 0 && f.applies(r.URL.Path) {
		t := time.NewTimer(time.Duration(f.Latency))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch d {
	case injectHang:
		// Read the body first: net/http notices a client that went away
		// only once the body is consumed, and a hang must end when the
		// client gives up.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		<-r.Context().Done()
		return
	case injectError:
		status := f.ErrorStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		http.Error(w, http.StatusText(status)+" (injected by sandbox)", status)
		return
	case injectMalformed:
		if k.Malformed != nil {
			k.Malformed(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"code": 0, "data": {"unexpected": [1, 2`))
		return
	}
	k.next.ServeHTTP(w, r)
}

func (k *Kit) admin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/_sandbox/faults" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(k.Faults())
	case r.URL.Path == "/_sandbox/faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "faults: " + err.Error()})
			return
		}
		if err := k.SetFaults(f); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "faults: " + err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(f)
	case r.URL.Path == "/_sandbox/stats" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(k.Stats())
	case r.URL.Path == "/_sandbox/stats" && r.Method == http.MethodDelete:
		k.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_sandbox/clock" && r.Method == http.MethodPost:
		var body struct {
			Advance Duration  `json:"advance"`
			Set     time.Time `json:"set"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "clock: " + err.Error()})
			return
		}
		switch c := k.clock.(type) {
		case *ManualClock:
			if !body.Set.IsZero() {
				c.Set(body.Set)
			}
			c.Advance(time.Duration(body.Advance))
		case *OffsetClock:
			if !body.Set.IsZero() {
				c.Advance(time.Until(body.Set))
			}
			c.Advance(time.Duration(body.Advance))
		default:
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "clock: this sandbox runs on the system clock"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]time.Time{"now": k.clock.Now()})
	default:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "no such sandbox admin endpoint"})
	}
}

// Server is a sandbox listening on a loopback address.
type Server struct {
	URL string // http://127.0.0.1:port
	srv *http.Server
	ln  net.Listener
}

// Listen serves h on addr, which must be a loopback address ("127.0.0.1:0"
// picks a free port). Sandboxes never listen beyond the machine.
func Listen(addr string, h http.Handler) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("sandbox address %q: sandboxes listen on loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox listen %s: %w", addr, err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server, ending hung requests.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	return err
}
