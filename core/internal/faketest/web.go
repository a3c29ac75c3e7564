package faketest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// Web is a provider that asks a real HTTP server for its prices: the guard
// tests run it as a plugin process against a Sandbox, whose sandboxkit
// faults (errors, hangs, malformed bodies) and counters they drive.
type Web struct {
	ID      string
	baseURL string
	client  *http.Client
}

// NewWeb returns the web provider with the id; its base_url comes with
// Configure.
func NewWeb(id string) *Web { return &Web{ID: id, client: &http.Client{}} }

// WebCost is what one call to the web provider costs, in fen.
const WebCost = 10

// Manifest implements sdk.Provider.
func (w *Web) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: w.ID, Name: "Web " + w.ID, Version: "0.1.0", Status: sdk.StatusStable,
		Categories:   []sdk.Category{sdk.CategoryPhone},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapCatalog},
		Config:       []sdk.ConfigKey{{Name: "base_url", Description: "the sandbox", Required: true}},
		Limits: sdk.Limits{QuoteCacheTTL: sdk.Duration(10 * time.Minute), Timeout: sdk.Duration(5 * time.Second),
			CostPerCall: sdk.Fen(WebCost).Ptr()}}
}

// Configure implements sdk.Configurer.
func (w *Web) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	u := req.Config["base_url"]
	if _, err := url.Parse(u); err != nil || u == "" {
		return nil, sdk.InvalidField("base_url", "is required")
	}
	w.baseURL = u
	return &sdk.ConfigureResponse{Manifest: w.Manifest()}, nil
}

// Quote implements sdk.Quoter: GET /quote?model=...
func (w *Web) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	var body struct {
		Price      *int64    `json:"price"`
		ValidUntil time.Time `json:"valid_until"`
	}
	if err := w.get(ctx, "/quote?model="+url.QueryEscape(req.Item.Model), &body); err != nil {
		return nil, err
	}
	if body.Price == nil {
		return nil, sdk.Errorf(sdk.CodeProviderError, "the reply has no price")
	}
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: w.ID, QuoteID: w.ID + ":" + req.Item.Model, Price: sdk.Fen(*body.Price),
		ValidUntil: body.ValidUntil}}, nil
}

// SearchCatalog implements sdk.Cataloger: GET /search?q=...
func (w *Web) SearchCatalog(ctx context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	var body struct {
		Titles []string `json:"titles"`
	}
	if err := w.get(ctx, "/search?q="+url.QueryEscape(req.Query), &body); err != nil {
		return nil, err
	}
	out := &sdk.SearchCatalogResponse{Page: 1, PageSize: 20, Total: len(body.Titles)}
	for i, t := range body.Titles {
		out.Items = append(out.Items, sdk.CatalogItem{Provider: w.ID, ID: strconv.Itoa(i), Kind: sdk.KindModel, Title: t})
	}
	return out, nil
}

// GetCatalogItem implements sdk.Cataloger.
func (w *Web) GetCatalogItem(context.Context, *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	return nil, sdk.Errorf(sdk.CodeNotFound, "no items")
}

func (w *Web) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.baseURL+path, nil)
	if err != nil {
		return sdk.Errorf(sdk.CodeInvalidArgument, "%v", err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return &sdk.Error{Code: sdk.CodeDeadlineExceeded, Message: "web: " + err.Error(), Retryable: true}
		}
		return &sdk.Error{Code: sdk.CodeUnavailable, Message: "web: " + err.Error(), Retryable: true}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &sdk.Error{Code: sdk.CodeUnavailable, Message: "web: " + err.Error(), Retryable: true}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &sdk.Error{Code: sdk.CodeRateLimited, Message: "web: too many requests", Retryable: true,
			RetryAfter: time.Duration(ra) * time.Second, ProviderCode: "429"}
	case resp.StatusCode == http.StatusNotFound:
		return &sdk.Error{Code: sdk.CodeNotFound, Message: "web: not found", ProviderCode: "404"}
	case resp.StatusCode >= 500:
		return &sdk.Error{Code: sdk.CodeProviderError, Message: "web: server error", Retryable: true, ProviderCode: strconv.Itoa(resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return &sdk.Error{Code: sdk.CodeInvalidArgument, Message: "web: refused", ProviderCode: strconv.Itoa(resp.StatusCode)}
	}
	if err := json.Unmarshal(data, into); err != nil {
		return &sdk.Error{Code: sdk.CodeProviderError, Message: "web: malformed reply: " + err.Error()}
	}
	return nil
}

// Sandbox is the web provider's server: it prices every model at Price fen,
// behind sandboxkit's faults and counters. Status, when set, answers that
// status instead (429 with a Retry-After of one second).
type Sandbox struct {
	Price  atomic.Int64
	Status atomic.Int64
	kit    *sandboxkit.Kit
	srv    *sandboxkit.Server
}

// StartSandbox serves a sandbox on a loopback port until Close.
func StartSandbox(price int64) (*Sandbox, error) {
	s := &Sandbox{}
	s.Price.Store(price)
	s.kit = sandboxkit.Wrap(http.HandlerFunc(s.serve), nil, 1)
	srv, err := sandboxkit.Listen("127.0.0.1:0", s.kit)
	if err != nil {
		return nil, err
	}
	s.srv = srv
	return s, nil
}

// URL is where the sandbox listens.
func (s *Sandbox) URL() string { return s.srv.URL }

// Kit is the sandbox's faults and counters.
func (s *Sandbox) Kit() *sandboxkit.Kit { return s.kit }

// Received counts every request that arrived: answered, or failed by an
// injected fault.
func (s *Sandbox) Received() int64 {
	st := s.kit.Stats()
	return st.Calls + st.Injected
}

// Close stops the server, ending hung requests.
func (s *Sandbox) Close() error { return s.srv.Close() }

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) {
	if st := s.Status.Load(); st != 0 {
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, http.StatusText(int(st)), int(st))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/quote":
		_, _ = fmt.Fprintf(w, `{"price": %d, "valid_until": %q}`, s.Price.Load(), time.Now().Add(time.Hour).Format(time.RFC3339))
	case "/search":
		_, _ = fmt.Fprintf(w, `{"titles": [%q]}`, "Model "+r.URL.Query().Get("q"))
	default:
		http.NotFound(w, r)
	}
}

var (
	_ sdk.Configurer = (*Web)(nil)
	_ sdk.Quoter     = (*Web)(nil)
	_ sdk.Cataloger  = (*Web)(nil)
)
