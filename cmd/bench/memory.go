package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
)

// rss returns a process's resident set size, from /proc (Linux).
func rss(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// benchMemory builds cmd/host, runs `host serve` in sandbox mode (every
// built-in provider as a plugin process against its sandbox) and reads the
// resident size of the host and of each plugin, idle and under a mixed
// load of quotes and catalog searches.
func benchMemory(o options, log io.Writer) ([]row, error) {
	if runtime.GOOS != "linux" {
		return []row{{what: "memory (RSS)", result: "n/a: reads /proc, Linux only"}}, nil
	}
	base, pid, stop, err := startHostServe()
	if err != nil {
		return nil, err
	}
	defer stop()

	var providers struct {
		Providers []core.ProviderInfo `json:"providers"`
	}
	if err := getJSON(base+"/v1/providers", &providers); err != nil {
		return nil, err
	}
	pids := map[string]int{"host serve": pid}
	for _, p := range providers.Providers {
		if p.PID > 0 {
			pids["plugin "+p.ID] = p.PID
		}
	}
	time.Sleep(time.Second) // settle after start-up
	idle := map[string]int64{}
	for name, pid := range pids {
		idle[name], _ = rss(pid)
	}

	// Load: quotes (cached after the first of each item, so the host works
	// hardest) and catalog searches that reach the plugins.
	peak := map[string]int64{}
	var mu sync.Mutex
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
			for name, pid := range pids {
				if v, err := rss(pid); err == nil {
					mu.Lock()
					peak[name] = max(peak[name], v)
					mu.Unlock()
				}
			}
		}
	}()
	var requests atomic.Int64
	conc := 16
	client := newClient(conc)
	deadline := time.Now().Add(2 * o.duration)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				var req *http.Request
				// 12 workers ask cached quotes (the host's own work), two
				// each search a plugin's catalog (at the provider's QPS).
				switch {
				case w < 12:
					body := fmt.Sprintf(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"%s","condition":"%s"}}`,
						[]string{"128GB", "256GB", "512GB"}[i%3], []string{"good", "excellent", "fair"}[w%3])
					req, _ = http.NewRequest(http.MethodPost, base+"/v1/quotes", strings.NewReader(body))
				case w < 14:
					req, _ = http.NewRequest(http.MethodGet, base+"/v1/catalog/search?"+url.Values{"provider": {"alibaba1688"}, "q": {"iPhone"}}.Encode(), nil)
				default:
					req, _ = http.NewRequest(http.MethodGet, base+"/v1/catalog/search?"+url.Values{"provider": {"aihuishou"}, "q": {"iPhone"}}.Encode(), nil)
				}
				req.Header.Set("Authorization", "Bearer "+core.DemoAPIKey)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				requests.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stopSampling)
	<-sampled
	fmt.Fprintf(log, "  %d requests in %s under load\n", requests.Load(), 2*o.duration)

	names := make([]string, 0, len(pids))
	for n := range pids {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "host serve") != (names[j] == "host serve") {
			return names[i] == "host serve"
		}
		return names[i] < names[j]
	})
	var rows []row
	for _, n := range names {
		rows = append(rows, row{what: "RSS " + n + ": idle / under load", host: mib(idle[n]) + " / " + mib(peak[n]),
			baseline: "-", result: fmt.Sprintf("%+.1f MiB under load", float64(peak[n]-idle[n])/(1<<20))})
	}
	return rows, nil
}

func getJSON(u string, v any) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+core.DemoAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, v)
}

// buildHost builds cmd/host into a new temporary folder named by prefix,
// which the caller removes. root is the module's root.
func buildHost(prefix string) (root, dir, bin string, err error) {
	if root, err = moduleRoot(); err != nil {
		return "", "", "", err
	}
	if dir, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", "", err
	}
	bin = filepath.Join(dir, "host")
	build := exec.Command("go", "build", "-o", bin, "./cmd/host")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", "", fmt.Errorf("go build ./cmd/host: %v\n%s", err, out)
	}
	return root, dir, bin, nil
}

// startHostServe builds cmd/host and runs `host serve` in sandbox mode
// (every built-in provider as a plugin process against its sandbox, the
// shipped policies, the demo key) on a free loopback port. stop ends it.
func startHostServe() (base string, pid int, stop func(), err error) {
	root, dir, bin, err := buildHost("recyclegate-bench-")
	if err != nil {
		return "", 0, nil, err
	}
	// The shipped policies, as `go run ./cmd/host serve` finds them in the
	// repository; its data directory in the temporary one.
	if err := os.Symlink(filepath.Join(root, "policies"), filepath.Join(dir, "policies")); err != nil {
		_ = os.RemoveAll(dir)
		return "", 0, nil, err
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--log-level", "error")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", 0, nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return "", 0, nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = os.RemoveAll(dir)
	}
	addr := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
			addr = after
			break
		}
	}
	if addr == "" {
		stop()
		return "", 0, nil, fmt.Errorf("host serve did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return "http://" + addr, cmd.Process.Pid, stop, nil
}
