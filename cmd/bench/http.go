package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
)

const benchKey = "bench-key"

var quoteBody = []byte(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"}}`)

// newInProcessHost is a host with the echo provider in process, serving
// its API on loopback.
func newInProcessHost(opts ...core.Option) (*core.Host, string, func(), error) {
	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "bench", APIKeys: []string{benchKey}}}}
	opts = append([]core.Option{core.WithLogger(slog.New(slog.DiscardHandler)), core.WithProvider(&echo{id: idInProcess}, nil)}, opts...)
	h, err := core.New(cfg, opts...)
	if err != nil {
		return nil, "", nil, err
	}
	url, stop, err := serve(api.New(h))
	if err != nil {
		h.Close()
		return nil, "", nil, err
	}
	return h, url, func() { stop(); h.Close() }, nil
}

// serve runs handler on a loopback port.
func serve(handler http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// bareServer answers every request with the same bytes after reading and
// decoding its JSON body, as little as a server can do for the same job.
func bareServer(answer []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req core.QuoteRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
}

// loadResult is what one throughput run measured.
type loadResult struct {
	ok, failed int64
	elapsed    time.Duration
}

func (l loadResult) perSecond() float64 { return float64(l.ok) / l.elapsed.Seconds() }

// load posts body to url from conc goroutines for d.
func load(client *http.Client, url string, body []byte, conc int, d time.Duration) loadResult {
	var ok, failed atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+benchKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return loadResult{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
}

func newClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, IdleConnTimeout: time.Minute}}
}

// benchHTTP: cached quotes per second through the API against a bare
// net/http server answering the same JSON, same client, rounds
// interleaved, the best round of each kept.
func benchHTTP(o options, log io.Writer) ([]row, error) {
	_, hostURL, stop, err := newInProcessHost()
	if err != nil {
		return nil, err
	}
	defer stop()
	conc := 4 * runtime.GOMAXPROCS(0)
	client := newClient(conc)
	// The host's answer, captured once, is what the bare server sends.
	req, _ := http.NewRequest(http.MethodPost, hostURL+"/v1/quotes", bytes.NewReader(quoteBody))
	req.Header.Set("Authorization", "Bearer "+benchKey)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	answer, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the host answered %d: %s", resp.StatusCode, answer)
	}
	bareURL, stopBare, err := serve(bareServer(answer))
	if err != nil {
		return nil, err
	}
	defer stopBare()

	var bestHost, bestBare loadResult
	rounds := 2
	for i := range rounds {
		b := load(client, bareURL+"/v1/quotes", quoteBody, conc, o.duration)
		h := load(client, hostURL+"/v1/quotes", quoteBody, conc, o.duration)
		fmt.Fprintf(log, "  round %d: bare %.0f/s (%d failed), host %.0f/s (%d failed)\n", i+1, b.perSecond(), b.failed, h.perSecond(), h.failed)
		if b.perSecond() > bestBare.perSecond() || bestBare.elapsed == 0 {
			bestBare = b
		}
		if h.perSecond() > bestHost.perSecond() || bestHost.elapsed == 0 {
			bestHost = h
		}
	}
	ratio := bestHost.perSecond() / bestBare.perSecond()
	return []row{{
		what:     fmt.Sprintf("cached quotes/s, HTTP API (%d clients)", conc),
		host:     fmt.Sprintf("%.0f/s", bestHost.perSecond()),
		baseline: fmt.Sprintf("%.0f/s bare net/http", bestBare.perSecond()),
		result:   fmt.Sprintf("%.0f%%", 100*ratio),
		target:   ">= 70%",
		ok:       yesNo(ratio >= 0.70 && bestHost.failed == 0),
	}}, nil
}
