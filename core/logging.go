package core

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// Redacted replaces a secret wherever it would appear in a log line.
const Redacted = "[REDACTED]"

// secrets is the set of secret values the host knows (providers' credentials,
// API keys). Every log record passes through it.
type secrets struct {
	mu     sync.Mutex
	values atomic.Pointer[[]string]
}

func (s *secrets) add(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur []string
	if p := s.values.Load(); p != nil {
		cur = append(cur, *p...)
	}
	for _, v := range vs {
		if len(v) >= 4 { // shorter values would redact ordinary words
			cur = append(cur, v)
		}
	}
	s.values.Store(&cur)
}

func (s *secrets) redact(in string) string {
	p := s.values.Load()
	if p == nil {
		return in
	}
	for _, v := range *p {
		if strings.Contains(in, v) {
			in = strings.ReplaceAll(in, v, Redacted)
		}
	}
	return in
}

// redactHandler is a slog.Handler that removes known secret values from the
// message and every string attribute before passing the record on.
type redactHandler struct {
	next    slog.Handler
	secrets *secrets
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.secrets.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.secrets.redact(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, len(attrs))
		for i, g := range attrs {
			out[i] = h.redactAttr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.secrets.redact(err.Error()))
		}
		return slog.String(a.Key, h.secrets.redact(v.String()))
	}
	return a
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.redactAttr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(red), secrets: h.secrets}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// hclogBridge turns go-plugin's hclog output (JSON lines: the plugin's own
// log, forwarded from its stderr) into records of the host's slog logger.
type hclogBridge struct {
	logger *slog.Logger
	mu     sync.Mutex
	buf    bytes.Buffer
}

func newPluginLogger(logger *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Output:     &hclogBridge{logger: logger},
		JSONFormat: true,
		Level:      hclog.Debug,
	})
}

func (b *hclogBridge) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	for {
		line, err := b.buf.ReadBytes('\n')
		if err != nil { // no full line yet: keep it
			b.buf.Reset()
			b.buf.Write(line)
			break
		}
		b.emit(bytes.TrimSpace(line))
	}
	return len(p), nil
}

func (b *hclogBridge) emit(line []byte) {
	if len(line) == 0 {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		b.logger.Info(string(line))
		return
	}
	msg, _ := m["@message"].(string)
	lvl := slog.LevelInfo
	switch m["@level"] {
	case "trace", "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	attrs := make([]slog.Attr, 0, len(m))
	for k, v := range m {
		switch k {
		case "@message", "@level", "@timestamp", "@module", "@caller":
			continue
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	b.logger.LogAttrs(context.Background(), lvl, msg, attrs...)
}
