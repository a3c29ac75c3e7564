// Package redact keeps secret values out of what the host writes: a set of
// the secrets it knows (providers' credentials, API keys, webhook secrets)
// and a slog.Handler that removes them from every record. Start with Set:
// add each secret as it is learned, and wrap the host's handler with
// Handler.
package redact

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// Redacted replaces a secret wherever it would appear.
const Redacted = "[REDACTED]"

// Set is the set of secret values the host knows. The zero value is empty
// and ready; it is safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	values atomic.Pointer[[]string]
}

// Add learns secret values. Values shorter than four bytes are ignored:
// they would redact ordinary words.
func (s *Set) Add(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur []string
	if p := s.values.Load(); p != nil {
		cur = append(cur, *p...)
	}
	for _, v := range vs {
		if len(v) >= 4 {
			cur = append(cur, v)
		}
	}
	s.values.Store(&cur)
}

// Redact replaces every known secret in in.
func (s *Set) Redact(in string) string {
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

// Handler returns a slog.Handler that removes the set's secrets from the
// message and every string attribute before passing the record to next.
func Handler(next slog.Handler, s *Set) slog.Handler {
	return &handler{next: next, secrets: s}
}

type handler struct {
	next    slog.Handler
	secrets *Set
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.secrets.Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.secrets.Redact(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, len(attrs))
		for i, g := range attrs {
			out[i] = h.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.secrets.Redact(err.Error()))
		}
		return slog.String(a.Key, h.secrets.Redact(v.String()))
	}
	return a
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(red), secrets: h.secrets}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), secrets: h.secrets}
}
