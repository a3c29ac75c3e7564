package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childPIDs lists the processes whose parent is ppid, with their command
// names, from /proc.
func childPIDs(t *testing.T, ppid int) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	out := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			out[pid] = string(stat[open+1 : end])
		}
	}
	return out
}

// mutePlugin writes an executable that never says a plugin handshake (it
// sleeps) and returns its path and SHA-256.
func mutePlugin(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mute")
	script := []byte("#!/bin/sh\nexec sleep 600\n")
	if err := os.WriteFile(path, script, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	return path, hex.EncodeToString(sum[:])
}

// TestServeStopsWithinTwoSecondsWhileAPluginHangs: `host serve` with an
// optional plugin that never says its handshake serves the others within
// seconds, and SIGTERM ends it within 2s (rather than waiting out the
// plugin's 15s handshake), leaving no process behind.
func TestServeStopsWithinTwoSecondsWhileAPluginHangs(t *testing.T) {
	bin := hostBinary(t)
	mute, sum := mutePlugin(t)
	cfg := filepath.Join(t.TempDir(), "host.yaml")
	yaml := fmt.Sprintf(`store: memory
tenants:
  - id: demo
    api_keys: [demo]
providers:
  - id: aihuishou
    sandbox: true
  - id: greenbox
    runtime: plugin
    path: %s
    sha256: %s
    optional: true
`, mute, sum)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	h := startHost(t, bin, "--config", cfg)
	status, body, _ := h.post(t, "/v1/quotes", "demo", iphone, 20*time.Second)
	if status != http.StatusOK || len(body["quotes"].([]any)) != 1 {
		t.Fatalf("quote: %d %v", status, body)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Fatalf("first quote %s after the start, want within seconds", took)
	}
	var children map[int]string
	deadline := time.Now().Add(10 * time.Second)
	for {
		children = childPIDs(t, h.cmd.Process.Pid)
		hanging := false
		for _, comm := range children {
			hanging = hanging || comm == "sleep"
		}
		if hanging && len(children) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host's plugins: %v, want the mute one and aihuishou's", children)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("host exit: %v\n%s", err, h.out)
	}
	if took := time.Since(stopped); took > 2*time.Second {
		t.Fatalf("SIGTERM to exit took %s with a plugin in its handshake, want within 2s\n%s", took, h.out)
	} else {
		t.Logf("SIGTERM to exit: %s", took)
	}
	for pid, comm := range children {
		if !gone(pid) {
			t.Errorf("process %d (%s) outlived the host", pid, comm)
		}
	}
}

// TestServeProfilerOnItsOwnListener: with debug_listen, `host serve`
// serves net/http/pprof there, and not on the API's listener.
func TestServeProfilerOnItsOwnListener(t *testing.T) {
	bin := hostBinary(t)
	cfg := filepath.Join(t.TempDir(), "host.yaml")
	yaml := `store: memory
debug_listen: 127.0.0.1:0
tenants:
  - id: demo
    api_keys: [demo]
providers:
  - id: carvalue
    sandbox: true
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, bin, "--config", cfg)
	var debug string
	for _, l := range h.banner {
		if _, after, ok := strings.Cut(l, "profiler (net/http/pprof) on http://"); ok {
			debug = strings.TrimSuffix(after, "/debug/pprof/")
		}
	}
	if debug == "" || debug == h.addr {
		t.Fatalf("no profiler address of its own in %q (API %s)", h.banner, h.addr)
	}
	get := func(addr, path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
		if code := get(debug, path); code != http.StatusOK {
			t.Errorf("debug listener %s: %d", path, code)
		}
		if code := get(h.addr, path); code != http.StatusNotFound {
			t.Errorf("API listener %s: %d, want 404", path, code)
		}
	}
}
