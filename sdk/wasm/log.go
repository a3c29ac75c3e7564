//go:build wasip1

package wasm

import (
	"bytes"
	"context"
	"log/slog"
)

// hostHandler is a slog.Handler writing into the host's log through v1_log.
// It formats attributes with slog's JSON handler (groups and WithAttrs as
// usual) and sends the message and level beside them.
type hostHandler struct {
	level slog.Leveler
	inner slog.Handler
	buf   *bytes.Buffer
}

func (h *hostHandler) init() {
	if h.inner != nil {
		return
	}
	h.buf = &bytes.Buffer{}
	h.inner = slog.NewJSONHandler(h.buf, &slog.HandlerOptions{Level: h.level, ReplaceAttr: dropBuiltins})
}

func dropBuiltins(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
		return slog.Attr{}
	}
	return a
}

func (h *hostHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *hostHandler) Handle(ctx context.Context, r slog.Record) error {
	h.init()
	h.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	attrs := bytes.TrimSpace(h.buf.Bytes())
	if string(attrs) == "{}" {
		attrs = nil
	}
	hostLog(int32(r.Level), strPtr(r.Message), uint32(len(r.Message)), ptrOf(attrs), uint32(len(attrs)))
	return nil
}

func (h *hostHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.init()
	return &hostHandler{level: h.level, inner: h.inner.WithAttrs(attrs), buf: h.buf}
}

func (h *hostHandler) WithGroup(name string) slog.Handler {
	h.init()
	return &hostHandler{level: h.level, inner: h.inner.WithGroup(name), buf: h.buf}
}
