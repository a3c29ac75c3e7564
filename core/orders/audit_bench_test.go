package orders

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/invoke"
)

// BenchmarkAuditHook is what the audit adds to each provider call: the
// entry is built and handed to the batch writer (its SQLite inserts run
// beside the calls; a writer that falls behind would show here, as the
// buffer fills and the hook waits).
func BenchmarkAuditHook(b *testing.B) {
	for _, c := range []struct {
		name  string
		dir   string
		audit map[string]string
	}{
		{"quote, memory", "", nil},
		{"quote, disk", b.TempDir(), nil},
		{"order with masked detail, disk", b.TempDir(),
			map[string]string{"quote_id": "V1", "customer.name": "张三", "customer.phone": "138****6789"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			o, err := New(Options{Dir: c.dir, Config: Config{PollInterval: -1}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			rec := invoke.Record{Provider: "p", Op: "quote", Tenant: "acme", Audit: c.audit, Start: time.Now(), Latency: time.Millisecond}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o.Observe(rec)
			}
			o.audit.flush(context.Background())
		})
	}
}
