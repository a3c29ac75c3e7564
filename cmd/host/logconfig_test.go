package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveLogs runs `host serve --config cfg args...` until it listens, stops
// it with SIGINT, and returns what it logged.
func serveLogs(t *testing.T, bin, cfg string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--config", cfg}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), "listening on http") { // http:// or https://
				found = true
				listening <- true
			}
		}
		if !found {
			listening <- false
		}
	}()
	select {
	case ok := <-listening:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("host exited before listening:\n%s", logs.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("host not listening within 60s")
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
	return logs.String()
}

// TestLogSettingsFromConfigEnvironmentAndFlags: host.yaml's log section sets
// the level and format, the environment wins over it, a flag over both.
func TestLogSettingsFromConfigEnvironmentAndFlags(t *testing.T) {
	bin := hostBinary(t)
	cfg := filepath.Join(t.TempDir(), "host.yaml")
	yaml := "data_dir: " + filepath.Join(t.TempDir(), "data") + "\ntenants:\n  - id: t\n    api_keys: [\"key-of-sixteen-chars\"]\nlog:\n  level: info\n  format: json\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	isJSON := func(logs string) bool {
		lines := strings.Split(strings.TrimSpace(logs), "\n")
		for _, l := range lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) != nil {
				return false
			}
		}
		return len(lines) > 0 && lines[0] != ""
	}
	if logs := serveLogs(t, bin, cfg, nil); !isJSON(logs) || !strings.Contains(logs, `"msg":"shutting down"`) {
		t.Errorf("log.format json in host.yaml:\n%s", logs)
	}
	if logs := serveLogs(t, bin, cfg, []string{envLogFormat + "=text", envLogLevel + "=warn"}); isJSON(logs) || strings.Contains(logs, "shutting down") {
		t.Errorf("%s=text and %s=warn over host.yaml's json and info:\n%s", envLogFormat, envLogLevel, logs)
	}
	if logs := serveLogs(t, bin, cfg, []string{envLogFormat + "=text"}, "--log-format", "json"); !isJSON(logs) {
		t.Errorf("--log-format json over %s=text:\n%s", envLogFormat, logs)
	}
}
