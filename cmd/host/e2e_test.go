package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/api/apitest"
)

// hostBinary builds this command once per test run.
func hostBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "host")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runningHost is `host serve` in its own process.
type runningHost struct {
	cmd    *exec.Cmd
	addr   string
	out    *bytes.Buffer
	banner []string // what it printed up to "listening on"
	// said is all it printed on its standard output.
	mu   sync.Mutex
	said []string
	// unchecked: post does not check its exchanges against the OpenAPI
	// document (a load test, whose timing the checks would disturb: the
	// sandbox it hammers shares the test's process).
	unchecked bool
}

func startHost(t *testing.T, bin string, args ...string) *runningHost {
	t.Helper()
	return startHostEnv(t, bin, nil, args...)
}

// startHostEnv is startHost with env added to the test's environment.
func startHostEnv(t *testing.T, bin string, env []string, args ...string) *runningHost {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Dir = t.TempDir() // the default data_dir is relative: keep it out of the tree
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &runningHost{cmd: cmd, out: logs}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(60 * time.Second)
	for h.addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("host exited before listening:\n%s", logs)
			}
			h.banner = append(h.banner, l)
			h.mu.Lock()
			h.said = append(h.said, l)
			h.mu.Unlock()
			if _, after, found := strings.Cut(l, "listening on http://"); found {
				h.addr = after
			}
		case <-timeout:
			t.Fatalf("host not listening within 60s:\n%s", logs)
		}
	}
	go func() {
		for l := range lines { // keep the pipe drained
			h.mu.Lock()
			h.said = append(h.said, l)
			h.mu.Unlock()
		}
	}()
	return h
}

func (h *runningHost) post(t *testing.T, path, key, body string, timeout time.Duration) (int, map[string]any, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+h.addr+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	client := apitest.Client(t)
	if h.unchecked {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("POST %s: not JSON (%v): %s", path, err, data)
	}
	return resp.StatusCode, m, resp.Header
}

// get sends GET path and answers the status and the body.
func (h *runningHost) get(t *testing.T, path, key string) (int, string) {
	t.Helper()
	return h.do(t, http.MethodGet, path, key, "", "")
}

// do sends a request with a body of the content type given, checked
// against the document.
func (h *runningHost) do(t *testing.T, method, path, key, contentType, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://"+h.addr+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func (h *runningHost) providerPID(t *testing.T, id string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.addr+"/v1/providers", nil)
	req.Header.Set("Authorization", "Bearer demo")
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Providers []struct {
			ID    string `json:"id"`
			PID   int    `json:"pid"`
			State string `json:"state"`
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, p := range body.Providers {
		if p.ID == id {
			return p.PID
		}
	}
	t.Fatalf("no provider %s", id)
	return 0
}

const iphone = `{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"}}`

func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

func waitGone(t *testing.T, pid int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %s", pid, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeEndToEnd is the newcomer's path: `host serve` with no config, a
// quote with the demo key, the errors a client makes, a killed plugin, and a
// clean stop.
func TestServeEndToEnd(t *testing.T) {
	bin := hostBinary(t)
	h := startHost(t, bin)

	status, body, hdr := h.post(t, "/v1/quotes", "demo", iphone, 20*time.Second)
	if status != http.StatusOK {
		t.Fatalf("quote: %d %v", status, body)
	}
	if hdr.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	quotes := body["quotes"].([]any)
	if len(quotes) != 1 {
		t.Fatalf("want one quote from aihuishou: %v", body)
	}
	q := quotes[0].(map[string]any)
	price := q["price"].(map[string]any)
	amount, ok := price["amount"].(float64)
	if q["provider"] != "aihuishou" || !ok || amount <= 0 || amount != float64(int64(amount)) || price["currency"] != "CNY" {
		t.Fatalf("quote %v", q)
	}

	t.Run("the curl the host suggests works as printed", func(t *testing.T) {
		// sandbox mode: try
		//   curl -H 'Authorization: Bearer demo' -H 'Content-Type: application/json' -d '{...}' http://127.0.0.1:port/v1/quotes
		var line string
		for deadline := time.Now().Add(10 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			h.mu.Lock()
			for _, l := range h.said {
				if strings.HasPrefix(strings.TrimSpace(l), "curl ") {
					line = strings.TrimSpace(l)
				}
			}
			h.mu.Unlock()
		}
		args := regexp.MustCompile(`'[^']*'|\S+`).FindAllString(line, -1)
		if len(args) < 2 {
			h.mu.Lock()
			defer h.mu.Unlock()
			t.Fatalf("no curl suggested:\n%s", strings.Join(h.said, "\n"))
		}
		req, _ := http.NewRequest(http.MethodGet, args[len(args)-1], nil)
		for i := 1; i < len(args)-1; i++ {
			v := strings.Trim(args[i+min(1, len(args)-2-i)], "'")
			switch args[i] {
			case "-H":
				k, val, _ := strings.Cut(v, ": ")
				req.Header.Set(k, val)
				i++
			case "-d":
				req.Method, req.Body = http.MethodPost, io.NopCloser(strings.NewReader(v))
				if req.Header.Get("Content-Type") == "" { // what curl -d sends
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				i++
			}
		}
		resp, err := apitest.Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"quotes":[{`) {
			t.Fatalf("%s\n-> %d %s", line, resp.StatusCode, data)
		}
	})

	t.Run("no key is 401", func(t *testing.T) {
		status, body, _ := h.post(t, "/v1/quotes", "", iphone, 5*time.Second)
		if status != http.StatusUnauthorized || body["code"] != "unauthenticated" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("bad input is 400 naming the field", func(t *testing.T) {
		for _, c := range []struct{ body, field string }{
			{`{"item":`, "body"},
			{`{"item":{"category":"spaceship","model":"x","condition":"good"}}`, "item.category"},
			{`{"item":{"category":"phone","condition":"good"}}`, "item.model"},
			{`{"item":{"category":"phone","model":"x","condition":"good","storage":256}}`, "item.storage"},
			{`{"item":{"category":"phone","model":"x","condition":"good"},"colour":"red"}`, "colour"},
		} {
			status, body, hdr := h.post(t, "/v1/quotes", "demo", c.body, 5*time.Second)
			if status != http.StatusBadRequest || body["field"] != c.field || hdr.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %v", c.body, status, body)
			}
		}
	})

	t.Run("every other operation a newcomer tries matches the document", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/providers", "/v1/policies",
			"/v1/catalog/search?provider=carvalue&kind=car_type&q=" + url.QueryEscape("奥迪"),
			"/v1/catalog/items/carvalue/52?kind=car_type"} {
			if status, data := h.get(t, path, "demo"); status != http.StatusOK {
				t.Errorf("GET %s: %d %s", path, status, data)
			}
		}
		// The document's own example of a dry run, a car as the README writes it.
		status, body, _ := h.post(t, "/v1/policies/evaluate", "demo", `{"request":{"item":{"category":"car","car":{"type_id":"52",
			"city_id":"101100","first_registration":"2022-01","mileage_km":36200,"color":"white","accident":0,"appearance":1,
			"interior":1,"electrical":0,"engine":0}}},"quotes":[{"provider":"carvalue","quote_id":"c1",
			"price":{"amount":0,"currency":"CNY"},"valid_until":"2030-01-01T08:00:00+08:00","orderable":false}]}`, 5*time.Second)
		if status != http.StatusOK {
			t.Errorf("dry run: %d %v", status, body)
		}
		// The wrong method and the wrong body format say what to do.
		if status, data := h.do(t, "DELETE", "/v1/quotes", "demo", "", ""); status != http.StatusMethodNotAllowed || !strings.Contains(data, "it takes POST") {
			t.Errorf("DELETE /v1/quotes: %d %s", status, data)
		}
		if status, data := h.do(t, "POST", "/v1/quotes", "demo", "application/x-www-form-urlencoded", iphone); status != http.StatusUnsupportedMediaType ||
			!strings.Contains(data, "send Content-Type: application/json") {
			t.Errorf("a form body: %d %s", status, data)
		}
	})

	t.Run("kill -9 of the plugin", func(t *testing.T) {
		pid := h.providerPID(t, "aihuishou")
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		for {
			status, body, _ := h.post(t, "/v1/quotes", "demo", iphone, 3*time.Second)
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, body)
			}
			if len(body["quotes"].([]any)) == 1 {
				break
			}
			if time.Since(killed) > 10*time.Second {
				t.Fatalf("plugin not back: %v", body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("quotes again %s after kill -9", time.Since(killed))
	})

	t.Run("stopping the host leaves no plugin", func(t *testing.T) {
		// A plugin the host is restarting (after the kill above) has no
		// process yet: wait for each to run.
		var pids []int
		for _, id := range []string{"aihuishou", "carvalue", "alibaba1688"} {
			pid, deadline := h.providerPID(t, id), time.Now().Add(10*time.Second)
			for pid == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				pid = h.providerPID(t, id)
			}
			if pid == 0 {
				t.Fatalf("provider %s has no process after 10s", id)
			}
			pids = append(pids, pid)
		}
		if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := h.cmd.Wait(); err != nil {
			t.Fatalf("host exit: %v\n%s", err, h.out)
		}
		for _, pid := range pids {
			waitGone(t, pid, 5*time.Second)
		}
	})
}

// TestPluginsDieWithAKilledHost: a host killed with SIGKILL can clean up
// nothing, so its plugins must notice by themselves.
func TestPluginsDieWithAKilledHost(t *testing.T) {
	bin := hostBinary(t)
	h := startHost(t, bin)
	pid := h.providerPID(t, "aihuishou")
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = h.cmd.Wait()
	waitGone(t, pid, 5*time.Second)
}

func TestDemoKeyRefusedOffLoopback(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"serve", "--listen", "0.0.0.0:0"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "demo API key") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"serve", "--log-level", "loud"}, {"catalog"}, {"plugins"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, os.Stderr); code != 0 || !strings.Contains(out.String(), "recyclegate host") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}
