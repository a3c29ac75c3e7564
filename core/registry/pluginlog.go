package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

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
