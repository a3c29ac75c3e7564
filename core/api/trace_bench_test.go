package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
)

// BenchmarkTracing is a quote decided and asked of an in-process provider
// at every request (answer_ttl and the quote cache off: the API, the
// shipped policies, the guards and the runtime call all run), without
// tracing and with it, sampling every request: the spans (request, policy,
// provider call, runtime call) go to a batch processor whose exporter
// drops them, so the figure is what the process pays, not the network.
//
//	go test -run '^$' -bench Tracing -benchmem ./core/api/
func BenchmarkTracing(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchTracing(b, nil) })
	b.Run("on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer func() { _ = tp.Shutdown(b.Context()) }()
		benchTracing(b, telemetry.New(tp, otelkit.Settings{}))
	})
}

func benchTracing(b *testing.B, tr *telemetry.Tracing) {
	cfg := core.Config{Policies: filepath.Join("..", "..", "policies"), AnswerTTL: -1,
		Tenants: []core.TenantConfig{{ID: "demo", APIKeys: []string{"demo"}, Admin: true}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))), core.WithTracing(tr),
		core.WithProvider(faketest.New("aihuishou", 282363), map[string]string{"app_secret": "x"}),
		core.WithGuards("aihuishou", core.GuardConfig{QPS: 1e9, MaxInFlight: 1 << 20, CacheTTL: -1}))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := api.New(h, api.WithTracing(tr))
	body := []byte(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"},"providers":["aihuishou"]}`)
	do := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/quotes", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer demo")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	if w := do(); w.Code != http.StatusOK {
		b.Fatalf("%d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		if w := do(); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
	// The process's CPU (every goroutine's: the batch processor's too), a
	// steadier figure than the wall clock on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process spent so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
