package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/core"
)

// benchSoak runs `host serve` on a data_dir (SQLite orders, the embedded
// guard store) with the three built-in providers on their sandboxes, as
// plugin processes, Aihuishou with its daily quota of 2,000 calls, and
// sends it the mix of issue 24 at a steady rate (-rate, default 50
// requests a second) for -duration: quotes (half of them repeats of a few
// devices), catalog searches, order creates and reads, small NDJSON
// batches. Every -report (default 5 minutes) it reads the host's RSS (and
// its plugins'), goroutines (/metrics), open fds (/proc), the growth of
// data_dir, the p50/p99 of the period's requests, the answers by status,
// the in-doubt keys and Aihuishou's quota, and prints a row.
//
//	go run ./cmd/bench -only soak -duration 30m
//
// It is never part of the default suite (it runs for as long as asked).
// The run stops by itself at -duration; an interrupt stops it early.
func benchSoak(o options, log io.Writer) ([]row, error) {
	if runtime.GOOS != "linux" {
		return []row{{what: "soak", result: "n/a: reads /proc, Linux only"}}, nil
	}
	_, dir, bin, err := buildHost("recyclegate-soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	cfg := fmt.Sprintf(`data_dir: %s
tenants:
  - id: demo
    api_keys: [%s]
    admin: true
providers:
  - id: aihuishou
    runtime: builtin
    sandbox: true
    guards:
      daily_quota: 2000
  - id: carvalue
    runtime: builtin
    sandbox: true
  - id: alibaba1688
    runtime: builtin
    sandbox: true
`, data, core.DemoAPIKey)
	cfgPath := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "host.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--log-level", "info")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stopHost := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	defer stopHost()
	addr := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
			addr = after
			break
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("host serve did not start; its log:\n%s", tail(logPath))
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	base := "http://" + addr
	s := &soak{base: base, client: newClient(64), pid: cmd.Process.Pid, data: data, log: log}
	fmt.Fprintf(log, "bench: soak: host %s (pid %d), %d requests/s for %s, a row every %s\n", base, s.pid, o.soakRate, o.soakDuration, o.soakReport)

	start := time.Now()
	end := start.Add(o.soakDuration)
	var rows []row
	s.sample(&rows, 0, start, true) // the idle figures after start-up
	tick := time.NewTicker(time.Second / time.Duration(max(o.soakRate, 1)))
	defer tick.Stop()
	report := time.NewTicker(o.soakReport)
	defer report.Stop()
	sem := make(chan struct{}, 256) // at most this many requests in flight
	var wg sync.WaitGroup
	for n := 0; ; n++ {
		select {
		case <-tick.C:
		case <-report.C:
			s.sample(&rows, time.Since(start), start, false)
			continue
		}
		if !time.Now().Before(end) {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			s.dropped.Add(1) // the host is this far behind: counted, not queued
			continue
		}
		wg.Add(1)
		go func(n int) {
			defer func() { <-sem; wg.Done() }()
			s.one(n)
		}(n)
	}
	wg.Wait()
	s.sample(&rows, time.Since(start), start, false)
	warns := countLines(logPath, "level=WARN")
	logSize := int64(0)
	if st, err := os.Stat(logPath); err == nil {
		logSize = st.Size()
	}
	rows = append(rows, row{what: "soak: host log", host: fmt.Sprintf("%d lines at WARN, %s in all", warns, kib(logSize)),
		baseline: "-", result: fmt.Sprintf("%d requests dropped by the client (256 in flight)", s.dropped.Load())})
	return rows, nil
}

// soak is the state of a soak run.
type soak struct {
	base    string
	client  *http.Client
	pid     int
	data    string
	log     io.Writer
	dropped atomic.Int64

	mu       sync.Mutex
	lat      map[string][]time.Duration // this period's, by kind
	status   map[int]int                // this period's answers by status
	quoteIDs []string                   // orderable Aihuishou quotes not ordered yet
	seen     map[string]bool            // quote ids kept once (a cached quote repeats its id)
	byKind   map[string]map[int]int     // this period's answers by kind and status
	orderIDs []string                   // orders created
	dataAt0  int64
}

var soakModels = []string{"iPhone 13", "iPhone 14", "iPhone 14 Pro", "iPhone 15", "Mate 60"}

// one sends request n of the mix: of every 20, 9 quotes (half repeats of
// five devices, half a device not asked before), 4 catalog searches, 6
// order reads or creates (one create every 600 requests, from a stock of up
// to 1,000 orderable Aihuishou quotes kept from earlier answers, so orders
// go on after quotes have spent their share: at 50 requests a second the
// quotes spend it in about 5 minutes, having kept some 140 orderable
// quotes, which one create every 12 s lasts until near the end), 1 NDJSON
// batch of 3 quotes.
func (s *soak) one(n int) {
	var kind string
	var req *http.Request
	switch k := n % 20; {
	case k < 9:
		kind = "quote"
		req = jsonReq(http.MethodPost, s.base+"/v1/quotes", s.quoteBody(n))
	case k < 13:
		kind = "catalog"
		p := []string{"aihuishou", "alibaba1688"}[n%2]
		req, _ = http.NewRequest(http.MethodGet, s.base+"/v1/catalog/search?"+url.Values{"provider": {p}, "q": {"iPhone"}}.Encode(), nil)
	case k < 16 && n%600 == 13: // one create every 12 s, from a stock of earlier quotes
		kind = "order create"
		q := s.takeQuote()
		if q == "" {
			// No orderable quote yet: ask Aihuishou for one.
			kind = "quote"
			req = jsonReq(http.MethodPost, s.base+"/v1/quotes", s.quoteBody(n+1))
			break
		}
		req = jsonReq(http.MethodPost, s.base+"/v1/orders", fmt.Sprintf(
			`{"provider":"aihuishou","quote_id":%q,"customer":{"name":"王五","phone":"137****1234","address":"深圳市南山区 3 号"}}`, q))
		req.Header.Set("Idempotency-Key", fmt.Sprintf("soak-%d-%d", s.pid, n))
	case k < 19: // and the create slots left over
		kind = "order read"
		id := s.someOrder()
		u := s.base + "/v1/orders?limit=20"
		if id != "" {
			u = s.base + "/v1/orders/" + id
		}
		req, _ = http.NewRequest(http.MethodGet, u, nil)
	default:
		kind = "batch"
		var b bytes.Buffer
		for i := range 3 {
			b.WriteString(s.quoteBody(n*3 + i))
			b.WriteByte('\n')
		}
		req, _ = http.NewRequest(http.MethodPost, s.base+"/v1/quotes/batch", &b)
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	req.Header.Set("Authorization", "Bearer "+core.DemoAPIKey)
	t0 := time.Now()
	resp, err := s.client.Do(req)
	status := 0
	var body []byte
	if err == nil {
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		status = resp.StatusCode
	}
	took := time.Since(t0)
	if status == http.StatusOK && kind == "quote" {
		s.keepQuotes(body)
	}
	if status == http.StatusCreated && kind == "order create" {
		var o struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &o) == nil && o.ID != "" {
			s.mu.Lock()
			s.orderIDs = append(s.orderIDs, o.ID)
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	if s.lat == nil {
		s.lat, s.status, s.byKind = map[string][]time.Duration{}, map[int]int{}, map[string]map[int]int{}
	}
	if s.byKind[kind] == nil {
		s.byKind[kind] = map[int]int{}
	}
	s.byKind[kind][status]++
	s.lat[kind] = append(s.lat[kind], took)
	s.lat["all"] = append(s.lat["all"], took)
	s.status[status]++
	s.mu.Unlock()
}

// quoteBody: half the quotes repeat five devices, half ask one not asked
// before (a condition score by n).
func (s *soak) quoteBody(n int) string {
	model := soakModels[n%len(soakModels)]
	if n%2 == 0 {
		return fmt.Sprintf(`{"item":{"category":"phone","brand":"Apple","model":%q,"storage":"256GB","condition":"good"}}`, model)
	}
	storage := []string{"128GB", "256GB", "512GB"}[(n/10)%3]
	score := 1 + float64(n%90000)/10000 // 1 to 9.9999: a device not asked before in 30 minutes at 50/s
	return fmt.Sprintf(`{"item":{"category":"phone","brand":"Apple","model":%q,"storage":%q,"condition":"good","condition_score":%.4f}}`, model, storage, score)
}

func jsonReq(method, u, body string) *http.Request {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func (s *soak) keepQuotes(body []byte) {
	var res struct {
		Quotes []struct {
			Provider  string `json:"provider"`
			QuoteID   string `json:"quote_id"`
			Orderable bool   `json:"orderable"`
		} `json:"quotes"`
	}
	if json.Unmarshal(body, &res) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, q := range res.Quotes {
		if q.Provider == "aihuishou" && q.Orderable && q.QuoteID != "" && !s.seen[q.QuoteID] && len(s.quoteIDs) < 1000 {
			s.seen[q.QuoteID] = true
			s.quoteIDs = append(s.quoteIDs, q.QuoteID)
		}
	}
}

func (s *soak) takeQuote() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.quoteIDs) == 0 {
		return ""
	}
	q := s.quoteIDs[len(s.quoteIDs)-1]
	s.quoteIDs = s.quoteIDs[:len(s.quoteIDs)-1]
	return q
}

func (s *soak) someOrder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.orderIDs) == 0 {
		return ""
	}
	return s.orderIDs[rand.IntN(len(s.orderIDs))]
}

var metricLine = regexp.MustCompile(`(?m)^(go_goroutines|recyclegate_orders_in_doubt|recyclegate_poll_quota_used\{provider="aihuishou"\}|recyclegate_quota_used\{provider="aihuishou"\}|recyclegate_orders_settled_total) ([0-9.e+-]+)$`)

// sample adds the row of the period that ends now.
func (s *soak) sample(rows *[]row, at time.Duration, start time.Time, idle bool) {
	s.mu.Lock()
	lat, status, byKind := s.lat, s.status, s.byKind
	s.lat, s.status, s.byKind = nil, nil, nil
	s.mu.Unlock()
	hostRSS, _ := rss(s.pid)
	pluginRSS := int64(0)
	for _, pid := range childPIDs(s.pid) {
		if v, err := rss(pid); err == nil {
			pluginRSS += v
		}
	}
	fds := 0
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid)); err == nil {
		fds = len(ents)
	}
	size := dirSize(s.data)
	if idle {
		s.dataAt0 = size
	}
	m := map[string]string{}
	req, _ := http.NewRequest(http.MethodGet, s.base+"/metrics", nil)
	if resp, err := s.client.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, g := range metricLine.FindAllStringSubmatch(string(b), -1) {
			m[strings.SplitN(g[1], "{", 2)[0]] = g[2]
		}
	}
	what := fmt.Sprintf("soak %s", at.Round(time.Second))
	if idle {
		what = "soak start (idle)"
	}
	all := lat["all"]
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	codes := make([]int, 0, len(status))
	for c := range status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var st []string
	for _, c := range codes {
		st = append(st, fmt.Sprintf("%d:%d", c, status[c]))
	}
	for _, k := range []string{"quote", "catalog", "order create", "order read", "batch"} {
		var ks []string
		for _, c := range codes {
			if n := byKind[k][c]; n > 0 {
				ks = append(ks, fmt.Sprintf("%d:%d", c, n))
			}
		}
		if len(ks) > 0 {
			st = append(st, k+" "+strings.Join(ks, " "))
		}
	}
	r := row{what: what,
		host: fmt.Sprintf("RSS %s (plugins %s), %s goroutines, %d fds, data_dir %s (%+.1f MiB)", mib(hostRSS), mib(pluginRSS), m["go_goroutines"], fds,
			mib(size), float64(size-s.dataAt0)/(1<<20)),
		baseline: fmt.Sprintf("in doubt %s, settled %s, aihuishou quota used %s (polls %s)", m["recyclegate_orders_in_doubt"], m["recyclegate_orders_settled_total"],
			m["recyclegate_quota_used"], m["recyclegate_poll_quota_used"]),
		result: fmt.Sprintf("%d requests: p50 %s p99 %s; %s; %s", len(all), ms(percentile(all, 50)), ms(percentile(all, 99)),
			kindLatencies(lat), strings.Join(st, " "))}
	*rows = append(*rows, r)
	fmt.Fprintf(s.log, "  %s | %s | %s | %s\n", r.what, r.host, r.baseline, r.result)
}

// kindLatencies is each kind's p50/p99 of the period.
func kindLatencies(lat map[string][]time.Duration) string {
	var out []string
	for _, k := range []string{"quote", "catalog", "order create", "order read", "batch"} {
		l := lat[k]
		if len(l) == 0 {
			continue
		}
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		out = append(out, fmt.Sprintf("%s %s/%s", k, ms(percentile(l, 50)), ms(percentile(l, 99))))
	}
	return "p50/p99 " + strings.Join(out, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/1024) }

// childPIDs lists a process's children (its plugin processes), from /proc.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func countLines(path, substr string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(substr))
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
