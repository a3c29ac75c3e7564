// Package listen is what the host's listeners need beside the API's
// routes: TLS served by the host with its certificate reloaded when the
// files change (Certificates), the slowing of failed API keys per client
// address (Failures), the API keys themselves (CheckKey: a key or its
// SHA-256 digest), and the host.yaml sections that set them (TLS, Auth,
// Metrics). Start with the sections; cmd/host and core/api use the rest.
package listen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// TLS is host.yaml's tls section: the API is served over TLS 1.2 or newer
// with this certificate and key (PEM files), reloaded when they change.
// Both empty: plain HTTP (terminate TLS in front: docs/deploy.md).
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Validate checks that both files are named and hold a matching pair.
func (t TLS) Validate() error {
	if !t.Enabled() {
		return nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return fmt.Errorf("config: tls: cert_file and key_file are both needed")
	}
	if _, _, err := loadPair(t); err != nil {
		return fmt.Errorf("config: tls: %w", err)
	}
	return nil
}

// DefaultMaxFailures is how many failed API keys a client address may send
// in a minute before the next are answered 429.
const DefaultMaxFailures = 20

// Auth is host.yaml's auth section.
type Auth struct {
	// MaxFailuresPerMinute is how many requests with a wrong API key one
	// client address may send in a minute; past it they are answered 429
	// with Retry-After until the minute ends. A request with a valid key
	// is never refused for it. Default 20; negative: no limit.
	MaxFailuresPerMinute int `yaml:"max_failures_per_minute"`
}

// Limit is the limit in force (0: none).
func (a Auth) Limit() int {
	switch {
	case a.MaxFailuresPerMinute < 0:
		return 0
	case a.MaxFailuresPerMinute == 0:
		return DefaultMaxFailures
	}
	return a.MaxFailuresPerMinute
}

// Where /metrics is served (host.yaml metrics:).
const (
	MetricsAPI   = "api"   // on the API's listener (the default)
	MetricsDebug = "debug" // on debug_listen only, beside the profiler
	MetricsOff   = "off"   // nowhere
)

// CheckMetrics checks host.yaml's metrics value: api (default, ""),
// debug (which needs debug_listen) or off.
func CheckMetrics(v, debugListen string) error {
	switch v {
	case "", MetricsAPI, MetricsOff:
		return nil
	case MetricsDebug:
		if debugListen == "" {
			return fmt.Errorf("config: metrics: debug serves /metrics on debug_listen, which is not set")
		}
		return nil
	}
	return fmt.Errorf("config: metrics %q: want api, debug or off", v)
}

// MinKeyLength is the shortest API key the host takes.
const MinKeyLength = 16

// DigestPrefix marks an API key given as its SHA-256 digest in host.yaml:
// "sha256:" and 64 hex digits (printf %s "$KEY" | sha256sum).
const DigestPrefix = "sha256:"

// CheckKey returns the SHA-256 digest an API key is recognised by: the
// key's own, or the digest host.yaml gives. secret says the value is the
// key itself (to be redacted from logs). A key shorter than MinKeyLength
// is refused, but for allowShort (the demo key on loopback).
func CheckKey(k string, allowShort bool) (digest [32]byte, secret bool, err error) {
	if hexDigest, ok := strings.CutPrefix(k, DigestPrefix); ok {
		b, err := hex.DecodeString(strings.ToLower(hexDigest))
		if err != nil || len(b) != 32 {
			return digest, false, fmt.Errorf("a digest is %s and the key's 64 hex digits of SHA-256", DigestPrefix)
		}
		copy(digest[:], b)
		return digest, false, nil
	}
	if len(k) < MinKeyLength && !allowShort {
		return digest, true, fmt.Errorf("is %d characters: an API key has at least %d (make one with: openssl rand -hex 24)", len(k), MinKeyLength)
	}
	return sha256.Sum256([]byte(k)), true, nil
}
