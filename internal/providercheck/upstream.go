package providercheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// syncBuffer is a buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// upstream is a stand-in for the provider's server on loopback: the stub
// answers 503 at once, the slow one never answers, holding each request
// until its client gives up (or 10s), and notes when each ended.
type upstream struct {
	srv  *http.Server
	ln   net.Listener
	slow bool

	mu     sync.Mutex
	open   int
	total  int
	closed chan struct{} // signalled when a request ends
}

func newUpstream(slow bool) *upstream {
	u := &upstream{slow: slow, closed: make(chan struct{}, 1024)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("provider check: listening on loopback: %v", err))
	}
	u.ln = ln
	u.srv = &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = u.srv.Serve(ln) }()
	return u
}

func (u *upstream) URL() string { return "http://" + u.ln.Addr().String() }

func (u *upstream) serve(w http.ResponseWriter, req *http.Request) {
	if !u.slow {
		http.Error(w, "provider check: a stand-in upstream; give --config to point the provider at its sandbox", http.StatusServiceUnavailable)
		return
	}
	// Read the body: the server notices a client gone only once it has.
	_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
	u.mu.Lock()
	u.open++
	u.total++
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.open--
		u.mu.Unlock()
		select {
		case u.closed <- struct{}{}:
		default:
		}
	}()
	select {
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
		http.Error(w, "provider check: held 10s", http.StatusGatewayTimeout)
	}
}

// waitClosed waits until no request is open or until by; it returns how
// many requests came and how many are still open.
func (u *upstream) waitClosed(by time.Time) (total, open int) {
	for {
		u.mu.Lock()
		total, open = u.total, u.open
		u.mu.Unlock()
		if open == 0 || !time.Now().Before(by) {
			return total, open
		}
		select {
		case <-u.closed:
		case <-time.After(time.Until(by)):
		}
	}
}

func (u *upstream) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := u.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		_ = u.srv.Close()
	}
	_ = u.srv.Close()
}
