package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
)

// BenchmarkCachedQuote is the host's own work for a cached quote, as `host
// serve` does it (the shipped policies, a decision log at info level,
// three providers), without the network: what the API, the policies, the
// guards and the answer's encoding cost a request.
//
//	go test -run '^$' -bench CachedQuote -benchmem ./core/api/
//
// "reused" answers from the answer kept for an identical request
// (answer_ttl); "decided" decides every request again (answer_ttl off) and
// answers from the quote cache.
func BenchmarkCachedQuote(b *testing.B) {
	b.Run("reused", func(b *testing.B) { benchCachedQuote(b, 0) })
	b.Run("decided", func(b *testing.B) { benchCachedQuote(b, -1) })
}

func benchCachedQuote(b *testing.B, answerTTL time.Duration) {
	cfg := core.Config{Policies: filepath.Join("..", "..", "policies"), AnswerTTL: answerTTL,
		Tenants: []core.TenantConfig{{ID: "demo", APIKeys: []string{"demo"}, Admin: true}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))),
		core.WithProvider(faketest.New("aihuishou", 282363), map[string]string{"app_secret": "x"}),
		core.WithProvider(faketest.New("carvalue", 1), map[string]string{"app_secret": "x"}),
		core.WithProvider(faketest.New("alibaba1688", 1), map[string]string{"app_secret": "x"}))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := api.New(h)
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
	for range b.N {
		if w := do(); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
