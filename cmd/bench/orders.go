package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/core/orderstore/pgtest"
	"github.com/recyclegate/recyclegate/internal/roundrobin"
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// benchOrders measures order creation against the Aihuishou sandbox (in
// this process, no rate limit): the adapter called directly (the
// baseline), one `host serve` on SQLite (data_dir), and three on one
// PostgreSQL (fsync on) and one redis-server behind a round-robin proxy.
// Latency is one client creating orders one after another; throughput is
// 16 clients creating as fast as they can for the run's duration.
func benchOrders(o options, log io.Writer) ([]row, error) {
	_, dir, bin, err := buildHost("recyclegate-bench-orders-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server is not installed (scripts/test.sh installs it)")
	}

	sb := aihuishousandbox.New(aihuishousandbox.Options{QPS: -1, Seed: 1, Accounts: map[string]aihuishousandbox.Account{
		aihuishousandbox.DemoAppID: {Secret: aihuishousandbox.DemoAppSecret, DailyQuota: 10_000_000}}})
	srv, err := sandboxkit.Listen("127.0.0.1:0", sb)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	adapterCfg := sb.AdapterConfig(srv.URL)
	ad := aihuishou.New()
	if _, err := ad.Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{"base_url": adapterCfg["base_url"],
		"open_url": adapterCfg["open_url"], "access": adapterCfg["access"]},
		Secrets: map[string]string{"app_id": adapterCfg["app_id"], "app_secret": adapterCfg["app_secret"]}}); err != nil {
		return nil, fmt.Errorf("configuring the adapter: %w", err)
	}
	samples := 1000
	if o.quick {
		samples = 300
	}
	quotes := &quotePool{ad: ad}

	// The baseline: the adapter's own create, one after another.
	fmt.Fprintf(log, "bench: orders: %d direct creates\n", samples)
	direct := make([]time.Duration, 0, samples)
	for range samples {
		q, err := quotes.take()
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if _, err := ad.CreateOrder(context.Background(), &recycle.CreateOrderRequest{QuoteID: q, Customer: benchCustomer, Logistics: recycle.LogisticsExpress}); err != nil {
			return nil, fmt.Errorf("direct create: %w", err)
		}
		direct = append(direct, time.Since(start))
	}
	sort.Slice(direct, func(i, j int) bool { return direct[i] < direct[j] })

	var adapter strings.Builder
	for k, v := range adapterCfg {
		fmt.Fprintf(&adapter, "      %s: %q\n", k, v)
	}
	config := func(i int, extra string) string {
		path := filepath.Join(dir, fmt.Sprintf("host%d.yaml", i))
		yaml := fmt.Sprintf(`data_dir: %s
%stenants:
  - id: bench
    api_keys: [bench-key-012345]
providers:
  - id: aihuishou
    runtime: builtin
    guards:
      qps: 100000
      max_in_flight: 64
      daily_quota: 10000000
      cache_ttl: -1s
    config:
%s`, filepath.Join(dir, fmt.Sprintf("data%d", i)), extra, adapter.String())
		_ = os.WriteFile(path, []byte(yaml), 0o600)
		return path
	}

	// One replica on SQLite.
	fmt.Fprintln(log, "bench: orders: one replica on SQLite")
	one, err := startBenchHost(bin, dir, config(0, ""))
	if err != nil {
		return nil, err
	}
	oneQuotes, err := quotes.through(one.url, samples+20+rateQuotes)
	if err != nil {
		one.stop()
		return nil, err
	}
	oneLat, err := createLatency(one.url, oneQuotes, samples)
	if err != nil {
		one.stop()
		return nil, err
	}
	oneRate, err := createRate(one.url, oneQuotes, o.duration)
	one.stop()
	if err != nil {
		return nil, err
	}

	// Three replicas on PostgreSQL and Redis behind a round-robin proxy.
	fmt.Fprintln(log, "bench: orders: three replicas on PostgreSQL (fsync on) and Redis")
	pg, err := pgtest.NewServer(true)
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	db, err := pg.CreateDatabase("bench")
	if err != nil {
		return nil, err
	}
	redis, err := startBenchRedis(dir)
	if err != nil {
		return nil, err
	}
	defer redis.stop()
	var hosts []*benchHost
	defer func() {
		for _, h := range hosts {
			h.stop()
		}
	}()
	var backends []string
	for i := 1; i <= 3; i++ {
		h, err := startBenchHost(bin, dir, config(i, fmt.Sprintf("database: %s\nstore: %s\nreplicas: 3\n", db, redis.url)))
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
		backends = append(backends, h.url)
	}
	lb, err := roundrobin.New(backends)
	if err != nil {
		return nil, err
	}
	front := httptest.NewServer(lb)
	defer front.Close()
	// Quotes asked through the proxy, so each replica handed out some: a
	// quote is bound to its tenant in Redis, and any replica orders it.
	fleetQuotes, err := quotes.through(front.URL, samples+20+2*rateQuotes)
	if err != nil {
		return nil, err
	}
	fleetLat, err := createLatency(hosts[0].url, fleetQuotes, samples)
	if err != nil {
		return nil, err
	}
	fleetRate, err := createRate(front.URL, fleetQuotes, o.duration)
	if err != nil {
		return nil, err
	}

	d50, d99 := percentile(direct, 50), percentile(direct, 99)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	added := func(lat []time.Duration) (time.Duration, time.Duration) {
		return percentile(lat, 50) - d50, percentile(lat, 99) - d99
	}
	o50, o99 := added(oneLat)
	f50, f99 := added(fleetLat)
	ratio := fleetRate / oneRate
	return []row{
		{what: "order create, added p50/p99 (1 replica, SQLite)", host: ms(percentile(oneLat, 50)) + " / " + ms(percentile(oneLat, 99)),
			baseline: ms(d50) + " / " + ms(d99) + " direct", result: "+" + ms(o50) + " / +" + ms(o99)},
		{what: "order create, added p50/p99 (3 replicas, PostgreSQL)", host: ms(percentile(fleetLat, 50)) + " / " + ms(percentile(fleetLat, 99)),
			baseline: ms(d50) + " / " + ms(d99) + " direct", result: "+" + ms(f50) + " / +" + ms(f99), target: "p50 <= +2 ms", ok: yesNo(f50 <= 2*time.Millisecond)},
		{what: "orders/s, 16 clients (3 on PostgreSQL vs 1 on SQLite)", host: fmt.Sprintf("%.0f/s", fleetRate), baseline: fmt.Sprintf("%.0f/s", oneRate),
			result: fmt.Sprintf("%.2fx", ratio), target: ">= 2x", ok: yesNo(ratio >= 2)},
	}, nil
}

// rateQuotes is how many quotes are asked before a throughput run, so
// that quoting does not share its clock (the pool asks for more if a run
// outlasts them).
const rateQuotes = 1500

var benchCustomer = recycle.Customer{Name: "张三", Phone: "138****6789", Address: "上海市徐汇区漕溪北路 88 号"}

// quotePool hands out orderable quotes, made untimed, 32 at a time: by the
// adapter at the sandbox (the direct baseline), or, when base is set,
// through that host's POST /v1/quotes, since a host orders only the quotes
// it handed to the same tenant.
type quotePool struct {
	ad   *aihuishou.Adapter
	base string
	mu   sync.Mutex
	ids  []string
	n    int
}

// through is a pool of quotes asked through the host at base, filled with
// n of them before any create is timed.
func (p *quotePool) through(base string, n int) (*quotePool, error) {
	h := &quotePool{ad: p.ad, base: base}
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.ids) < n {
		if err := h.refill(); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (p *quotePool) take() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		if err := p.refill(); err != nil {
			return "", err
		}
	}
	q := p.ids[len(p.ids)-1]
	p.ids = p.ids[:len(p.ids)-1]
	return q, nil
}

// refill asks for 32 quotes at once (p.mu held).
func (p *quotePool) refill() error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 32 {
		p.n++
		storage := []string{"128GB", "256GB", "512GB"}[p.n%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := p.quote(storage)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
				return
			}
			p.ids = append(p.ids, id)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("quoting: %w", firstErr)
	}
	return nil
}

func (p *quotePool) quote(storage string) (string, error) {
	item := sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: "iPhone 14 Pro", Storage: storage, Condition: sdk.ConditionGood}
	if p.base == "" {
		r, err := p.ad.Quote(context.Background(), &sdk.QuoteRequest{Item: item})
		if err != nil {
			return "", err
		}
		return r.Quote.QuoteID, nil
	}
	body, _ := json.Marshal(map[string]any{"item": item})
	req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/quotes", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench-key-012345")
	req.Header.Set("Content-Type", "application/json")
	resp, err := benchClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Quotes []struct {
			QuoteID string `json:"quote_id"`
		} `json:"quotes"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil || len(out.Quotes) == 0 {
		return "", fmt.Errorf("POST /v1/quotes: %d %s", resp.StatusCode, raw)
	}
	return out.Quotes[0].QuoteID, nil
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
var keySeq atomic.Int64

// createOne posts one order with a new key.
func createOne(base, quote string) error {
	body := fmt.Sprintf(`{"quote_id":%q,"customer":{"name":%q,"phone":%q,"address":%q}}`, quote, benchCustomer.Name, benchCustomer.Phone, benchCustomer.Address)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench-key-012345")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d", os.Getpid(), keySeq.Add(1)))
	resp, err := benchClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /v1/orders: %d %s", resp.StatusCode, raw)
	}
	return nil
}

func createLatency(base string, quotes *quotePool, n int) ([]time.Duration, error) {
	for range 20 { // warm the connections and the pools
		q, err := quotes.take()
		if err != nil {
			return nil, err
		}
		if err := createOne(base, q); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, 0, n)
	for range n {
		q, err := quotes.take()
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if err := createOne(base, q); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// createRate is orders a second from 16 clients for d.
func createRate(base string, quotes *quotePool, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				q, err := quotes.take()
				if err == nil {
					err = createOne(base, q)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

type benchHost struct {
	cmd *exec.Cmd
	url string
}

func (h *benchHost) stop() {
	_ = h.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = h.cmd.Process.Kill()
		<-done
	}
}

func startBenchHost(bin, dir, config string) (*benchHost, error) {
	cmd := exec.Command(bin, "serve", "--config", config, "--listen", "127.0.0.1:0", "--log-level", "error")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, addr, ok := strings.Cut(sc.Text(), "listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &benchHost{cmd: cmd, url: addr}, nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("host %s did not start", config)
}

type benchRedis struct {
	cmd *exec.Cmd
	url string
}

func (r *benchRedis) stop() { _ = r.cmd.Process.Kill(); _ = r.cmd.Wait() }

func startBenchRedis(dir string) (*benchRedis, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return &benchRedis{cmd: cmd, url: "redis://" + addr + "/0"}, nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("redis-server did not start on %s", addr)
}
