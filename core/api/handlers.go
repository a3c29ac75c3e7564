package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *core.Tenant) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is 200 when every provider is ready but for optional ones (the
// host serves without them), else 503. Either way it lists every
// provider's state, and the optional providers. It names every part that
// is not ready in not_ready: "providers", and "order_store" when the order
// store does not answer. The order store alone does not make it 503: every
// replica shares it, so a load balancer that dropped the replicas for it
// would stop the quotes too, which work without it; the order routes
// answer 503 themselves meanwhile.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *core.Tenant) error {
	states := map[string]string{}
	var optional []string
	for _, p := range s.host.Providers() {
		states[p.ID] = p.State
		if p.Optional {
			optional = append(optional, p.ID)
		}
	}
	notReady := []string{}
	status := http.StatusOK
	if !s.host.Ready() {
		status = http.StatusServiceUnavailable
		notReady = append(notReady, "providers")
	}
	kind, err := s.host.Orders().StoreKind(), s.host.Orders().Ping(r.Context())
	store := map[string]any{"kind": kind, "ready": err == nil}
	if err != nil {
		notReady = append(notReady, "order_store")
	}
	body := map[string]any{"ready": status == http.StatusOK, "not_ready": notReady, "replica": s.host.Orders().Replica(),
		"providers": states, "order_store": store}
	if len(optional) > 0 {
		body["optional"] = optional
	}
	return writeJSON(w, status, body)
}

func (s *Server) providers(w http.ResponseWriter, _ *http.Request, _ *core.Tenant) error {
	return writeJSON(w, http.StatusOK, map[string]any{"providers": s.host.Providers()})
}

// quotes answers POST /v1/quotes: the request id, then the result's
// fields, as {"request_id": ..., "quotes": [...], ...}. The result's JSON
// comes from the result (an answer reused for an identical request was
// encoded once).
func (s *Server) quotes(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	res, err := s.host.QuoteBody(r.Context(), t, body, func(req *core.QuoteRequest) error {
		if e := decodeStrict(body, req); e != nil {
			return e
		}
		if e := requireMileage(body, &req.Item, "item"); e != nil {
			return e
		}
		return nil
	})
	if err != nil {
		return err
	}
	id, err := json.Marshal(requestID(w))
	if err != nil {
		return err
	}
	out := append(append(make([]byte, 0, 2048), `{"request_id":`...), id...)
	mark := len(out)
	if out, err = res.AppendJSON(out); err != nil {
		return err
	}
	out[mark] = ',' // the result's own '{' continues the answer's object
	setQuoteRetryAfter(w, res)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(out, '\n'))
	return err
}

// catalogSearch is GET /v1/catalog/search?q=...&provider=...&kind=...&page=...&page_size=...
// Every other query parameter is passed to the provider as a filter.
func (s *Server) catalogSearch(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	q := r.URL.Query()
	provider := q.Get("provider")
	if provider == "" {
		return sdk.InvalidField("provider", "is required: the provider whose catalog to search")
	}
	if len(provider) > MaxIDLength {
		return sdk.InvalidField("provider", "is longer than %d characters", MaxIDLength)
	}
	req := &sdk.SearchCatalogRequest{Query: q.Get("q"), Kind: q.Get("kind"), Filters: map[string]string{}}
	var err error
	if req.Page, err = intParam(q.Get("page"), "page", 1, 10000); err != nil {
		return err
	}
	if req.PageSize, err = intParam(q.Get("page_size"), "page_size", 1, 200); err != nil {
		return err
	}
	for k, v := range q {
		switch k {
		case "q", "provider", "kind", "page", "page_size":
			continue
		}
		req.Filters[k] = strings.Join(v, ",")
	}
	resp, err := s.host.SearchCatalog(r.Context(), t, provider, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) catalogItem(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	req := &sdk.GetCatalogItemRequest{ID: r.PathValue("id"), Kind: r.URL.Query().Get("kind")}
	resp, err := s.host.GetCatalogItem(r.Context(), t, r.PathValue("provider"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

func intParam(v, name string, lo, hi int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, sdk.InvalidField(name, "must be a whole number from %d to %d, got %q", lo, hi, v)
	}
	return n, nil
}

// setQuoteRetryAfter sets Retry-After on a quote answer without quotes
// whose providers said when to come back (a rate slot past max_wait, a
// breaker's probe): the soonest of them.
func setQuoteRetryAfter(w http.ResponseWriter, res *core.QuoteResult) {
	if len(res.Quotes) > 0 {
		return
	}
	var soonest time.Duration
	for _, e := range res.Errors {
		if e.RetryAfter > 0 && (soonest == 0 || e.RetryAfter < soonest) {
			soonest = e.RetryAfter
		}
	}
	if soonest > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((soonest+time.Second-1)/time.Second)))
	}
}
