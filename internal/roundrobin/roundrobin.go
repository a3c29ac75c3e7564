// Package roundrobin is a tiny round-robin HTTP load balancer for demos and
// tests of a fleet of host replicas on one machine (scripts/fleet.sh, the
// fleet tests). Start with New: it hands each request to the next backend
// in turn; a backend that refuses the connection (a replica down) is
// skipped for that request, which goes to the next one. It is not a
// production load balancer: no health checks, no TLS, no timeouts of its
// own.
package roundrobin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
)

// maxBody is the largest request body kept to try another backend.
const maxBody = 1 << 20

// Balancer is an http.Handler that spreads requests over backends.
type Balancer struct {
	backends []*url.URL
	next     atomic.Uint64
	proxy    *httputil.ReverseProxy
}

type ctxKey struct{}

// New returns a balancer over backends, base URLs as http://127.0.0.1:8081.
func New(backends []string) (*Balancer, error) {
	if len(backends) == 0 {
		return nil, errors.New("roundrobin: no backends")
	}
	b := &Balancer{}
	for _, s := range backends {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("roundrobin: backend %q: want a base URL such as http://127.0.0.1:8081", s)
		}
		b.backends = append(b.backends, u)
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(r.In.Context().Value(ctxKey{}).(*attempt).backend)
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, syscall.ECONNREFUSED) {
				r.Context().Value(ctxKey{}).(*attempt).refused = true // nothing written: ServeHTTP tries the next
				return
			}
			http.Error(w, "roundrobin: "+err.Error(), http.StatusBadGateway)
		},
	}
	return b, nil
}

// attempt is one try of a request at one backend.
type attempt struct {
	backend *url.URL
	refused bool
}

// ServeHTTP sends the request to the next backend, and to the one after
// when it refuses the connection.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			http.Error(w, "roundrobin: request body unreadable or over 1 MiB", http.StatusBadRequest)
			return
		}
	}
	start := b.next.Add(1)
	for i := range len(b.backends) {
		u := b.backends[(start+uint64(i))%uint64(len(b.backends))]
		a := &attempt{backend: u}
		req := r.Clone(context.WithValue(r.Context(), ctxKey{}, a))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		b.proxy.ServeHTTP(w, req)
		if !a.refused {
			return
		}
	}
	http.Error(w, "roundrobin: every backend refused the connection", http.StatusBadGateway)
}
