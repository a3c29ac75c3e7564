package api

import (
	"net/http"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/orders"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

func (s *Server) policyRoutes() {
	s.handle("GET /v1/policies", true, s.policiesStatus)
	s.handle("POST /v1/policies/evaluate", true, s.policiesEvaluate)
	s.handle("POST /v1/policies/replay", true, s.policiesReplay)
	s.handle("GET /v1/policies/decisions", true, s.policiesDecisions)
}

// policiesStatus is GET /v1/policies: the revision in force, its files and
// rules, and the last refused change (with file:line:col) if not fixed since.
func (s *Server) policiesStatus(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	st, ok := s.host.PolicyStatus()
	if !ok {
		return writeJSON(w, http.StatusOK, map[string]any{"enabled": false, "revision": core.BuiltinRevision,
			"routing": "every provider that quotes the item's category, best price first (no policies: set policies: in host.yaml)"})
	}
	return writeJSON(w, http.StatusOK, struct {
		Enabled bool `json:"enabled"`
		policy.Status
	}{true, st})
}

// policiesEvaluate is POST /v1/policies/evaluate: a dry run that calls no
// provider.
func (s *Server) policiesEvaluate(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	var body core.PolicyEvaluation
	data, err := decodeBody(w, r, &body)
	if err != nil {
		return err
	}
	if e := requireMileage(data, &body.Request.Item, "request.item"); e != nil {
		return e
	}
	d, err := s.host.EvaluatePolicy(r.Context(), t, &body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// policiesReplay is POST /v1/policies/replay: candidate policies evaluated
// on the decisions the host recorded, and what they would change.
func (s *Server) policiesReplay(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	var body orders.ReplayRequest
	if _, err := decodeBody(w, r, &body); err != nil {
		return err
	}
	rep, err := s.host.Orders().ReplayPolicies(r.Context(), t, &body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// policiesDecisions is GET /v1/policies/decisions: the newest recorded
// decisions, masked as recorded, for a dry run to start from.
func (s *Server) policiesDecisions(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 1, 200)
	if err != nil {
		return err
	}
	ds, err := s.host.Orders().RecordedDecisions(r.Context(), t, q.Get("tenant"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"decisions": ds})
}

// requireAdmin refuses a tenant that is not an admin: policy files may name
// other tenants and their entitlements.
func requireAdmin(t *core.Tenant) error {
	if t == nil || !t.Admin {
		return &sdk.Error{Code: sdk.CodeForbidden, Field: "Authorization",
			Message: "the policies are for admin tenants only (tenants[].admin: true in the host config)"}
	}
	return nil
}
