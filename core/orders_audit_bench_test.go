package core

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkAuditHook is what the audit adds to each provider call: the
// entry is built and handed to the batch writer (its SQLite inserts run
// beside the calls; a writer that falls behind would show here, as the
// buffer fills and the hook waits).
func BenchmarkAuditHook(b *testing.B) {
	for _, c := range []struct {
		name string
		dir  string
		ctx  context.Context
	}{
		{"quote, memory", "", withCall(context.Background(), "acme", nil)},
		{"quote, disk", b.TempDir(), withCall(context.Background(), "acme", nil)},
		{"order with masked detail, disk", b.TempDir(), withCall(context.Background(), "acme",
			map[string]string{"quote_id": "V1", "customer.name": "张三", "customer.phone": "138****6789"})},
	} {
		b.Run(c.name, func(b *testing.B) {
			h, err := New(Config{DataDir: c.dir, Orders: OrdersConfig{PollInterval: -1}}, WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			start := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.audit(c.ctx, "p", "quote", start, nil)
			}
			h.ord.audit.flush(context.Background())
		})
	}
}
