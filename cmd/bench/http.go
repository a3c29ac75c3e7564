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
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
)

const benchKey = "bench-key-0123456789"

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
// net/http server that decodes the same request and answers with the
// host's own bytes, rounds interleaved. With wrk on the PATH (Debian's
// wrk) the client is wrk, 2 threads and 32 connections, against `host
// serve` as a newcomer runs it (plugins, sandboxes, the shipped policies):
// a light client, so the servers' own cost decides. Without it, Go's client
// against an in-process host, which shares the CPU with both servers and
// hides part of the difference.
func benchHTTP(o options, log io.Writer) ([]row, error) {
	if _, err := exec.LookPath("wrk"); err == nil {
		return benchHTTPWrk(o, log)
	}
	fmt.Fprintln(log, "  wrk not found: measuring with Go's client against an in-process host (apt-get install wrk for the light client)")
	return benchHTTPGo(o, log)
}

// wrkBody is the cached quote both servers answer (as the outside
// check asked it).
const wrkBody = `{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"},"providers":["aihuishou"]}`

func benchHTTPWrk(o options, log io.Writer) ([]row, error) {
	hostURL, hostPID, stop, err := startHostServe()
	if err != nil {
		return nil, err
	}
	defer stop()
	answer, err := postQuote(hostURL, core.DemoAPIKey, wrkBody)
	if err != nil {
		return nil, err
	}
	bareURL, stopBare, err := serve(bareServer(answer))
	if err != nil {
		return nil, err
	}
	defer stopBare()
	dir, err := os.MkdirTemp("", "recyclegate-wrk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "quote.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = '%s'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer %s\"\n", wrkBody, core.DemoAPIKey)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return nil, err
	}
	if _, err := runWrk(script, hostURL+"/v1/quotes", time.Second); err != nil { // warm up
		return nil, err
	}
	// Besides requests a second, the CPU each server spent a request (from
	// /proc): a measure that other work on the machine disturbs far less.
	// The bare server runs in this process, which does nothing else then.
	var ratios, cpuRatios []float64
	var hosts, bares, hostCPU, bareCPU []float64
	for i := range 3 {
		h0 := cpuTicks(hostPID)
		h, hn, err := runWrkN(script, hostURL+"/v1/quotes", o.duration)
		if err != nil {
			return nil, err
		}
		h1, b0 := cpuTicks(hostPID), cpuTicks(os.Getpid())
		b, bn, err := runWrkN(script, bareURL+"/v1/quotes", o.duration)
		if err != nil {
			return nil, err
		}
		b1 := cpuTicks(os.Getpid())
		hc, bc := ticksPerRequest(h1-h0, hn), ticksPerRequest(b1-b0, bn)
		fmt.Fprintf(log, "  round %d: host %.0f/s (%.1f µs CPU a request), bare %.0f/s (%.1f µs), ratio %.3f, CPU ratio %.3f\n",
			i+1, h, hc, b, bc, h/b, bc/hc)
		hosts, bares, ratios = append(hosts, h), append(bares, b), append(ratios, h/b)
		hostCPU, bareCPU, cpuRatios = append(hostCPU, hc), append(bareCPU, bc), append(cpuRatios, bc/hc)
	}
	for _, s := range [][]float64{ratios, hosts, bares, cpuRatios, hostCPU, bareCPU} {
		sort.Float64s(s)
	}
	ratio := ratios[1] // the median round
	return []row{{
		what:     fmt.Sprintf("cached quotes/s, host serve (wrk 2 threads, 32 conns, %d B answer)", len(answer)),
		host:     fmt.Sprintf("%.0f/s", hosts[1]),
		baseline: fmt.Sprintf("%.0f/s bare net/http", bares[1]),
		result:   fmt.Sprintf("%.0f%%", 100*ratio),
		target:   ">= 90%",
		ok:       yesNo(ratio >= 0.90),
	}, {
		what:     "CPU a cached quote, host serve vs bare (same runs)",
		host:     fmt.Sprintf("%.1f µs", hostCPU[1]),
		baseline: fmt.Sprintf("%.1f µs bare net/http", bareCPU[1]),
		result:   fmt.Sprintf("%.0f%%", 100*cpuRatios[1]),
		target:   ">= 90%",
		ok:       yesNo(cpuRatios[1] >= 0.90),
	}}, nil
}

// cpuTicks is the CPU time a process has used, in clock ticks (user and
// system, /proc/PID/stat); 0 where /proc cannot be read.
func cpuTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // after the command's name
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return u + k
}

// ticksPerRequest is CPU microseconds a request, at Linux's 100 ticks a
// second.
func ticksPerRequest(ticks float64, n int64) float64 {
	if n == 0 {
		return 0
	}
	return ticks * 1e4 / float64(n)
}

// runWrk runs wrk with script against url for d and reads its requests per
// second. A non-2xx answer fails the run.
func runWrk(script, url string, d time.Duration) (float64, error) {
	rps, _, err := runWrkN(script, url, d)
	return rps, err
}

// runWrkN is runWrk, and how many requests wrk made.
func runWrkN(script, url string, d time.Duration) (float64, int64, error) {
	out, err := exec.Command("wrk", "-t2", "-c32", "-d"+strconv.Itoa(max(1, int(d.Seconds())))+"s", "-s", script, url).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return 0, 0, fmt.Errorf("wrk saw answers other than 200:\n%s", out)
	}
	var rps float64
	var n int64
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Requests/sec:"); ok {
			rps, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
		if before, _, ok := strings.Cut(line, " requests in "); ok {
			n, _ = strconv.ParseInt(before, 10, 64)
		}
	}
	if rps == 0 || n == 0 {
		return 0, 0, fmt.Errorf("wrk: no Requests/sec in\n%s", out)
	}
	return rps, n, nil
}

// postQuote asks url's host for a quote and returns its answer's bytes.
func postQuote(url, key, body string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/quotes", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the host answered %d: %s", resp.StatusCode, answer)
	}
	return answer, nil
}

// benchHTTPGo is the measure without wrk: Go's client, an in-process host.
func benchHTTPGo(o options, log io.Writer) ([]row, error) {
	_, hostURL, stop, err := newInProcessHost()
	if err != nil {
		return nil, err
	}
	defer stop()
	conc := 4 * runtime.GOMAXPROCS(0)
	client := newClient(conc)
	// The host's answer, captured once, is what the bare server sends.
	answer, err := postQuote(hostURL, benchKey, string(quoteBody))
	if err != nil {
		return nil, err
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
		what:     fmt.Sprintf("cached quotes/s, HTTP API, Go client (%d clients)", conc),
		host:     fmt.Sprintf("%.0f/s", bestHost.perSecond()),
		baseline: fmt.Sprintf("%.0f/s bare net/http", bestBare.perSecond()),
		result:   fmt.Sprintf("%.0f%%", 100*ratio),
		target:   ">= 90%",
		ok:       yesNo(ratio >= 0.90 && bestHost.failed == 0),
	}}, nil
}
