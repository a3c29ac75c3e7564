package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// orderRoutes registers the order side: orders, trade-ins and the audit log.
func (s *Server) orderRoutes() {
	s.handle("POST /v1/orders", true, s.createOrder)
	s.handle("GET /v1/orders", true, s.listOrders)
	s.handle("GET /v1/orders/{id}", true, s.getOrder)
	s.handle("GET /v1/orders/{id}/tracking", true, s.orderTracking)
	s.handle("GET /v1/orders/{id}/inspection", true, s.orderInspection)
	s.handle("GET /v1/orders/{id}/settlement", true, s.orderSettlement)
	s.handle("GET /v1/orders/{id}/webhook-deliveries", true, s.orderWebhookDeliveries)
	s.handle("POST /v1/trade-ins", true, s.createTradeIn)
	s.handle("GET /v1/trade-ins/{id}", true, s.getTradeIn)
	s.handle("GET /v1/audit", true, s.audit)
	s.handle("GET /v1/usage", true, s.usage)
}

// usage is GET /v1/usage: the tenant's calls and spend by provider, today
// and this month; an admin's: every tenant's (or ?tenant=).
func (s *Server) usage(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	u, err := s.host.Orders().Usage(r.Context(), t, r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tenants": u})
}

// ReplayedHeader is set to "true" on an answer replayed for an
// Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

func idempotencyKey(r *http.Request) (string, error) {
	key := strings.TrimSpace(r.Header.Get(core.IdempotencyHeader))
	if key == "" {
		return "", sdk.InvalidField(core.IdempotencyHeader, "the %s header is required: a unique key per request (e.g. a UUID); send the same key to retry safely", core.IdempotencyHeader)
	}
	return key, nil
}

// writeAnswer writes a stored answer as it was first sent.
func writeAnswer(w http.ResponseWriter, status int, body []byte, replayed bool, location string) error {
	w.Header().Set("Content-Type", "application/json")
	if replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	if location != "" && status == http.StatusCreated {
		w.Header().Set("Location", location)
	}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body core.CreateOrderRequest
	if _, err := decodeBody(w, r, &body); err != nil {
		return err
	}
	a, err := s.host.CreateOrder(r.Context(), t, key, &body)
	if err != nil {
		return s.orderProblem(w, r, err)
	}
	loc := ""
	if a.Order != nil {
		loc = "/v1/orders/" + a.Order.ID
	}
	return writeAnswer(w, a.Status, a.Body, a.Replayed, loc)
}

// orderProblem writes the errors of the order side whose status is not the
// code's: an Idempotency-Key used with another body is 422, and a trade-in
// that stopped at a step names it and its id.
func (s *Server) orderProblem(w http.ResponseWriter, r *http.Request, err error) error {
	var ie *core.IdempotencyError
	if errors.As(err, &ie) && ie.Reused {
		s.writeProblemStatus(w, r, ie.Err, http.StatusUnprocessableEntity, nil)
		return nil
	}
	var te *core.TradeInError
	if errors.As(err, &te) {
		s.writeProblemStatus(w, r, te.Unwrap(), 0, map[string]any{"trade_in_id": te.TradeIn.ID, "step": te.Step, "trade_in": te.TradeIn})
		return nil
	}
	return err
}

// writeProblemStatus is writeProblem with the status chosen (0: the
// code's) and extension members.
func (s *Server) writeProblemStatus(w http.ResponseWriter, r *http.Request, err error, status int, ext map[string]any) {
	e := sdk.AsError(err)
	if status == 0 {
		status = StatusOf(e.Code)
	}
	p := Problem{Type: "urn:recyclegate:error:" + string(e.Code), Title: http.StatusText(status), Status: status,
		Detail: e.Message, Instance: s.instance(r), Code: e.Code, Field: e.Field, Provider: e.Provider,
		Retryable: e.Retryable, RequestID: requestID(w), ProvCode: e.ProviderCode, ProvDetail: e.ProviderMessage}
	if status == http.StatusTooManyRequests {
		p.Limit = limitOf(err, e)
	}
	body, _ := json.Marshal(p)
	if len(ext) > 0 {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		for k, v := range ext {
			m[k] = v
		}
		body, _ = json.Marshal(m)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	o, err := s.host.GetOrder(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, sdk.InvalidField(name, "must be an RFC 3339 time such as 2025-01-02T15:04:05+08:00, got %q", v)
	}
	return t, nil
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	q := r.URL.Query()
	f := core.OrderFilter{State: recycle.OrderState(q.Get("state")), Provider: q.Get("provider"), Cursor: q.Get("cursor")}
	var err error
	if f.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(q.Get("until"), "until"); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 1, 200); err != nil {
		return err
	}
	list, err := s.host.ListOrders(r.Context(), t, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

func (s *Server) orderTracking(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	tr, err := s.host.TrackOrder(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"order_id": r.PathValue("id"), "tracking": tr})
}

func (s *Server) orderInspection(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	in, err := s.host.GetInspection(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"order_id": r.PathValue("id"), "inspection": in})
}

func (s *Server) orderSettlement(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	st, err := s.host.GetSettlement(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"order_id": r.PathValue("id"), "settlement": st})
}

func (s *Server) orderWebhookDeliveries(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	l, err := s.host.Orders().WebhookDeliveries(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) createTradeIn(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body core.TradeInRequest
	data, err := decodeBody(w, r, &body)
	if err != nil {
		return err
	}
	if e := requireMileage(data, body.Old.Item, "old.item"); e != nil {
		return e
	}
	a, err := s.host.CreateTradeIn(r.Context(), t, key, &body)
	if err != nil {
		return s.orderProblem(w, r, err)
	}
	loc := ""
	if a.TradeIn != nil {
		loc = "/v1/trade-ins/" + a.TradeIn.ID
	}
	return writeAnswer(w, a.Status, a.Body, a.Replayed, loc)
}

func (s *Server) getTradeIn(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	ti, err := s.host.GetTradeIn(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ti)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	q := r.URL.Query()
	f := core.AuditFilter{Tenant: q.Get("tenant"), Provider: q.Get("provider"), Op: q.Get("op"), Outcome: q.Get("outcome"), Cursor: q.Get("cursor")}
	var err error
	if f.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(q.Get("until"), "until"); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 1, 1000); err != nil {
		return err
	}
	page, err := s.host.Audit(r.Context(), t, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}
