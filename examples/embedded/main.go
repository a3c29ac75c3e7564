// Command embedded is a small Go service that embeds the recyclegate host as
// a library: its own in-process provider (a store-credit price list), the
// host's API mounted under /recycle/, and an endpoint of its own that calls
// the host directly.
//
//	go run ./examples/embedded
//	curl -H 'Authorization: Bearer shop-key-0123456789' -H 'Content-Type: application/json' -d '{"item":{"category":"phone","model":"iPhone 13","condition":"good"}}' localhost:8090/recycle/v1/quotes
//	curl 'localhost:8090/credit?model=iPhone%2013&condition=good'
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/sdk"
)

// storeCredit is the service's own provider: it runs in process, no plugin.
type storeCredit struct{ bonusPercent int64 }

func (s *storeCredit) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "storecredit", Name: "Store credit", Version: "1.0.0", Status: sdk.StatusStable,
		Categories: []sdk.Category{sdk.CategoryPhone}, Capabilities: []sdk.Capability{sdk.CapQuote},
		Config: []sdk.ConfigKey{{Name: "bonus_percent", Description: "extra credit over the list price", Default: "10"}}}
}

func (s *storeCredit) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	s.bonusPercent = 10
	if v := req.Value("bonus_percent"); v != "" {
		if _, err := fmt.Sscan(v, &s.bonusPercent); err != nil || s.bonusPercent < 0 || s.bonusPercent > 100 {
			return nil, sdk.InvalidField("bonus_percent", "must be a whole number from 0 to 100, got %q", v)
		}
	}
	return &sdk.ConfigureResponse{Manifest: s.Manifest()}, nil
}

var creditList = map[string]int64{"iphone 13": 250000, "iphone 14 pro": 450000, "iphone 15": 380000}

func (s *storeCredit) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	base, ok := creditList[strings.ToLower(req.Item.Model)]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Field: "item.model", Message: "no store credit for " + req.Item.Model}
	}
	if req.Item.Condition == sdk.ConditionPoor || !req.Item.Working() {
		base /= 2
	}
	price := base * (100 + s.bonusPercent) / 100
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "storecredit", QuoteID: "sc-" + strings.ReplaceAll(strings.ToLower(req.Item.Model), " ", "-"),
		Price: sdk.Fen(price), ValidUntil: time.Now().Add(24 * time.Hour), Channels: []string{sdk.ChannelStore},
		Remark: "paid as store credit"}}, nil
}

var (
	_ sdk.Configurer = (*storeCredit)(nil)
	_ sdk.Quoter     = (*storeCredit)(nil)
)

// newService builds the service: the embedded host and the routes.
func newService(logger *slog.Logger) (http.Handler, func(), error) {
	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "shop", APIKeys: []string{"shop-key-0123456789"}}}}
	h, err := core.New(cfg,
		core.WithLogger(logger),
		core.WithProvider(&storeCredit{}, map[string]string{"bonus_percent": "15"}))
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/recycle/", http.StripPrefix("/recycle", api.New(h)))
	// The service's own endpoint calls the host as a library.
	mux.HandleFunc("GET /credit", func(w http.ResponseWriter, r *http.Request) {
		item := sdk.Item{Category: sdk.CategoryPhone, Model: r.URL.Query().Get("model"), Condition: sdk.Condition(r.URL.Query().Get("condition"))}
		res, err := h.Quote(r.Context(), &core.Tenant{ID: "shop"}, &core.QuoteRequest{Item: item})
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if res.Best == nil {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": res.Errors})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"credit": res.Best.Price, "valid_until": res.Best.ValidUntil})
	})
	return mux, h.Close, nil
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	handler, closeHost, err := newService(logger)
	if err != nil {
		log.Fatal(err)
	}
	defer closeHost()
	logger.Info("listening", "addr", "127.0.0.1:8090")
	srv := &http.Server{Addr: "127.0.0.1:8090", Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("serve", "error", err)
	}
}
